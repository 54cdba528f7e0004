/**
 * TDH.SYS.TDMR.INIT (leaf 36): initialize the next 4 MiB worth of one TDMR's PAMT. The memory
 * effect is one MOVDIR64B range operation per call over that call's PAMT_4K slice through the
 * global KeyID (plus the 2M/1G entries of a 1 GiB block when the call starts one). RDX returns
 * the next-to-initialize address rounded down to 1 GiB.
 *
 * Known difference (module audit row 21, confirmed, not changed): in the source each call writes
 * only its own *two* PAMT_2M entries (pamt_block.pamt_2mb_p points at the call's chunk,
 * tdh_sys_tdmr_init.c lines 108-116; pamt_nodes_init() loops from entries_start to entries_end),
 * zeroing the line when the entry is line-aligned (MOVDIR64B) and then storing its pt with an
 * ordinary store; the PAMT_1G entry is written by the GiB's last call (the one whose chunk end
 * crosses the GiB). The model writes the GiB's 512 PAMT_2M entries and its PAMT_1G entry with
 * MOVDIR64B at the first call. The ordinary stores would leave dirty PAMT lines under the global
 * KeyID in the LP's cache, which changes exploration findings after a kexec; that change needs
 * its own review.
 * @see TDX module ABI sections 3.8, 7.4; intel/tdx-module 1.5.01 (72d8cff)
 *   src/vmm_dispatcher/api_calls/tdh_sys_tdmr_init.c, src/common/memory_handlers/pamt_manager.c
 *   pamt_init(), pamt_nodes_init()
 */
import type { U64 } from '../../base/u64.js';
import type { Prog, Step } from '../../platform/Exec.js';
import type { SeamEnv } from '../../platform/Seam.js';
import type { TdmrRow } from '../globalState.js';
import { MAX_PA } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { OPERAND_ID, TDX_OPERAND_BUSY, TDX_OPERAND_INVALID, TDX_SUCCESS, TDX_TDMR_ALREADY_INITIALIZED, withOperand } from '../status.js';

/** PAMT_4K entries initialized per call (TDMR_4K_PAMT_INIT_COUNT). */
export const TDMR_4K_PAMT_INIT_COUNT = 1024;
/** TDMR bytes covered per call. */
export const TDMR_INIT_CHUNK = TDMR_4K_PAMT_INIT_COUNT * 4096;
const SZ_1G = 0x4000_0000;
const LINE = 64;
const WRITER = 'tdx-module';

function movdirLines(env: SeamEnv, start: number, len: number, hkid: number): void {
  const s = start - (start % LINE);
  const e = start + len;
  const end = e % LINE === 0 ? e : e + (LINE - (e % LINE));
  env.movdir64b(s, end - s, hkid, 0, WRITER);
}

/**
 * Write the PAMT entries covering [off, off + 4 MiB) of `t` (module-internal MOVDIR64B). With
 * Dynamic PAMT the PAMT_4K area is a bitmap: the call zeroes its 1024 bits (128 bytes) instead of
 * 1024 entries (the bits of reserved pages are then set with ordinary stores, not modelled).
 * @see intel/tdx-module pamt_manager.c pamt_init(), pamt_4kb_bitmap_init() of the Dynamic PAMT trees
 */
export function writePamtSlice(env: SeamEnv, t: TdmrRow, off: number, hkid: number, dynamicPamt = false): void {
  const e = t.entrySizes;
  const e4 = e[0];
  const e2 = e[1];
  const e1 = e[2];
  if (dynamicPamt) {
    movdirLines(env, t.pamt4k.base + off / 4096 / 8, TDMR_4K_PAMT_INIT_COUNT / 8, hkid);
  } else {
    movdirLines(env, t.pamt4k.base + (off / 4096) * e4, TDMR_4K_PAMT_INIT_COUNT * e4, hkid);
  }
  if (off % SZ_1G === 0) {
    const block = off / SZ_1G;
    movdirLines(env, t.pamt2m.base + block * 512 * e2, 512 * e2, hkid);
    movdirLines(env, t.pamt1g.base + block * e1, e1, hkid);
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
