/**
 * TDH.SYS.TDMR.INIT (leaf 36): initialize the next 4 MiB worth of one TDMR's PAMT. RDX returns
 * the next-to-initialize address rounded down to 1 GiB.
 *
 * Memory effects of one call, through the global private KeyID, in the source's order (module
 * audit row 21):
 * - the call's 1024 PAMT_4K entries, MOVDIR64B a line at a time (pamt_4kb_init()); with Dynamic
 *   PAMT the call's 1024 bitmap bits (128 bytes) instead, zeroed with MOVDIR64B and then stored
 *   again a quadword at a time with ordinary stores (pamt_4kb_bitmap_init());
 * - the call's own two PAMT_2M entries (pamt_nodes_init() over the call's chunk; pamt_2mb_p
 *   points at the chunk's first 2 MiB): an entry on a line boundary first gets its line zeroed
 *   (zero_cacheline(), a MOVDIR64B), then every entry's page type is set with an ordinary store;
 * - the PAMT_1G entry of a GiB, the same way, by the GiB's last (256th) call only: pamt_nodes_init()
 *   writes entries [start / 1 GiB, end / 1 GiB) of the call's chunk, empty unless the chunk ends
 *   the GiB.
 * The ordinary stores leave dirty lines under the module's KeyID in the calling LP's cache (one
 * PAMT_2M line per two calls, one PAMT_1G line per four GiB, two bitmap lines per call with
 * Dynamic PAMT), which a host that kexecs without flushing caches carries into the next kernel.
 * Stored contents are all zero (PT_NDA = 0 on a zeroed line; reserved pages' PT_RSVD and bitmap
 * bits are not in the modelled bytes, the PAMT state is in pamt.ts), so each call's stores to
 * one line are one whole-line cached store (nothing runs between them), and they share the
 * version of the MOVDIR64Bs around them (Platform.sharedVersion) so that the PAMT stays one
 * memory range: a 12 TiB host makes 3 million calls.
 * @see TDX module ABI sections 3.8, 7.4; intel/tdx-module 1.5.01 (72d8cff)
 *   src/vmm_dispatcher/api_calls/tdh_sys_tdmr_init.c (pamt_block pointers, then pamt_init()),
 *   src/common/memory_handlers/pamt_manager.c pamt_init(), pamt_4kb_init(), pamt_nodes_init();
 *   src/common/helpers/helpers.h zero_cacheline() (fill_cachelines(): MOVDIR64B);
 *   src/common/memory_handlers/pamt_manager.h PT_NDA = 0, PAMT_ENTRY_SIZE_IN_BYTES 16
 * @see intel/tdx-module 2.0.08 (1666adc4) src/common/memory_handlers/pamt_manager.c
 *   pamt_4kb_bitmap_init() (Dynamic PAMT)
 */
import type { U64 } from '../../base/u64.js';
import type { Prog, Step } from '../../platform/Exec.js';
import type { SeamEnv, SeamRegs, SeamRepeat } from '../../platform/Seam.js';
import type { ModuleState, TdmrRow } from '../globalState.js';
import { MAX_PA } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { OPERAND_ID, TDX_OPERAND_BUSY, TDX_OPERAND_INVALID, TDX_SUCCESS, TDX_TDMR_ALREADY_INITIALIZED, withOperand } from '../status.js';

/** PAMT_4K entries initialized per call (TDMR_4K_PAMT_INIT_COUNT). */
export const TDMR_4K_PAMT_INIT_COUNT = 1024;
/** TDMR bytes covered per call. */
export const TDMR_INIT_CHUNK = TDMR_4K_PAMT_INIT_COUNT * 4096;
const SZ_1G = 0x4000_0000;
const SZ_2M = 0x20_0000;
const LINE = 64;
const WRITER = 'tdx-module';

function movdirLines(env: SeamEnv, start: number, len: number, hkid: number): void {
  const s = start - (start % LINE);
  const e = start + len;
  const end = e % LINE === 0 ? e : e + (LINE - (e % LINE));
  env.movdir64b(s, end - s, hkid, 0, WRITER);
}

/**
 * Write the PAMT entries of the call covering [off, off + 4 MiB) of `t`, as pamt_init() does
 * (see the file comment).
 * @see intel/tdx-module 1.5.01 pamt_manager.c pamt_init(); 2.0.08 pamt_4kb_bitmap_init()
 */
export function writePamtSlice(env: SeamEnv, t: TdmrRow, off: number, hkid: number, dynamicPamt = false): void {
  const e = t.entrySizes;
  if (dynamicPamt) {
    // One bit per 4 KiB page; the call's 1024 bits are two whole lines.
    const pa = t.pamt4k.base + off / 4096 / 8;
    env.movdir64b(pa, TDMR_4K_PAMT_INIT_COUNT / 8, hkid, 0, WRITER);
    env.fill(pa, TDMR_4K_PAMT_INIT_COUNT / 8, 0, hkid, WRITER, true);
  } else {
    movdirLines(env, t.pamt4k.base + (off / 4096) * e[0], TDMR_4K_PAMT_INIT_COUNT * e[0], hkid);
  }
  const end = off + TDMR_INIT_CHUNK;
  initNodes(env, t.pamt2m.base, e[1], Math.floor(off / SZ_2M), Math.floor(end / SZ_2M), hkid);
  initNodes(env, t.pamt1g.base, e[2], Math.floor(off / SZ_1G), Math.floor(end / SZ_1G), hkid);
}

/**
 * pamt_nodes_init(): entries [first, end) of a PAMT_2M or PAMT_1G array. A line-aligned entry
 * zeroes its line (MOVDIR64B) before the page-type store; the stores to one line are one.
 */
function initNodes(env: SeamEnv, base: number, entrySize: number, first: number, end: number, hkid: number): void {
  let stored = -1;
  for (let i = first; i < end; i++) {
    const pa = base + i * entrySize;
    if (pa % LINE === 0) {
      env.movdir64b(pa, LINE, hkid, 0, WRITER);
    }
    const line = pa - (pa % LINE);
    if (line !== stored) {
      env.fill(line, LINE, 0, hkid, WRITER, true);
      stored = line;
    }
  }
}

/** TDH.SYS.TDMR.INIT. */
export function* tdhSysTdmrInit(ctx: LeafCtx): Prog<U64> {
  const { m, regs: r } = ctx;
  const rcx = r.rcx;
  r.rdx = 0n as U64;
  // 1 GiB aligned, below 2^52, no HKID bits (below 2^52 the value is exact as a number).
  const base = rcx < MAX_PA ? Number(rcx) : -1;
  if (base < 0 || base % SZ_1G !== 0 || base >= m.hkidUnit) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
  }
  // Calls come in long runs on one TDMR: try the row the last call used before searching.
  let t: TdmrRow | undefined = m.tdmrs[m.tdmrInitHint];
  if (t?.base !== base) {
    t = undefined;
    for (let i = 0; i < m.tdmrs.length; i++) {
      const row = m.tdmrs[i] as TdmrRow;
      if (row.base === base) {
        t = row;
        m.tdmrInitHint = i;
        break;
      }
    }
  }
  if (t === undefined) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
  }
  if (!ctx.hold(t.mutex, 'exclusive')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.RCX);
  }
  if (t.nextInit >= t.base + t.size) {
    return TDX_TDMR_ALREADY_INITIALIZED;
  }
  // The cost of initializing 1024 entries, with the TDMR mutex held.
  yield ctx.tickStep;
  writePamtSlice(ctx.env, t, t.nextInit - t.base, m.hkid, m.pamt.dynamic);
  t.nextInit += TDMR_INIT_CHUNK;
  const done = t.nextInit - (t.nextInit % SZ_1G);
  if (done !== t.rdxNum) {
    // RDX changes once per 1 GiB (every 256 calls): convert to a bigint only then.
    t.rdxNum = done;
    t.rdx = BigInt(done) as U64;
  }
  r.rdx = t.rdx;
  return TDX_SUCCESS;
}

/** The Step a TDMR.INIT call yields (one object per module, not per call). */
export function tdmrInitStep(ns: number): Step {
  return { op: 'tick', ns, label: 'TDH.SYS.TDMR.INIT' };
}

/**
 * Up to `n` TDH.SYS.TDMR.INIT calls on the TDMR at `rcx`, issued back to back from one LP (the
 * kernel's init_tdmr() loop), taken in one go when each would pass every check of the leaf
 * above: RCX a TDMR's base, no LP inside a SEAMCALL (so the TDMR's mutex is free and each call
 * takes and drops it), and the TDMR not yet fully initialized. The calls vouched for are those
 * left until it is (at most `n`). Each then yields `tick` and writes its PAMT slice as the
 * single call does; the k-th returns RDX = the next-to-initialize address after it, rounded
 * down to 1 GiB. The lookup hint moves to the row as the single call's search moves it.
 * @returns undefined when a call could fail or be busy: issue them one by one
 * @see the checks of tdhSysTdmrInit() above (intel/tdx-module 1.5.01 (72d8cff)
 *   src/vmm_dispatcher/api_calls/tdh_sys_tdmr_init.c)
 */
export function tdhSysTdmrInitRepeat(m: ModuleState, env: SeamEnv, rcx: bigint, n: number, tick: Step): SeamRepeat | undefined {
  const base = rcx < MAX_PA ? Number(rcx) : -1;
  if (n < 1 || base < 0 || base % SZ_1G !== 0 || base >= m.hkidUnit) {
    return undefined;
  }
  const i = m.tdmrs.findIndex((row) => row.base === base);
  const t = m.tdmrs[i];
  if (t === undefined || t.nextInit >= t.base + t.size || m.lpBusy.some((busy) => busy)) {
    return undefined;
  }
  const first = t.nextInit;
  const count = Math.min(n, Math.ceil((t.base + t.size - first) / TDMR_INIT_CHUNK));
  const hkid = m.hkid;
  const dynamic = m.pamt.dynamic;
  const rdxAfter = (k: number): number => {
    const next = first + (k + 1) * TDMR_INIT_CHUNK;
    return next - (next % SZ_1G);
  };
  return {
    steps: [tick],
    count,
    apply: (k: number): void => {
      if (k === 0 && m.tdmrs[m.tdmrInitHint]?.base !== base) {
        m.tdmrInitHint = i;
      }
      writePamtSlice(env, t, t.nextInit - t.base, hkid, dynamic);
      t.nextInit += TDMR_INIT_CHUNK;
      const done = t.nextInit - (t.nextInit % SZ_1G);
      if (done !== t.rdxNum) {
        t.rdxNum = done;
        t.rdx = BigInt(done) as U64;
      }
    },
    out: (k: number, regs: SeamRegs): void => {
      regs.rdx = BigInt(rdxAfter(k)) as U64;
    },
  };
}
