/**
 * Secure EPT entries are stored in their SEPT pages as the module stores them: after each leaf
 * that changes an entry, the 8 bytes at index (gpa >> (12 + 9 level)) & 511 of the page that
 * holds it (the SEPT root in TDCS page 3 at level 3, else the page the parent points to), read
 * back through the TD's HKID, are the module's encoding; the store is a cached one (a dirty line
 * under the HKID in the LP's cache); the host reads zeros through KeyID 0 and poison through a
 * wrong private KeyID.
 *
 * Expected values, derived from the source by hand (not from the model's encoder):
 * - bits: R/W/X 0-2, MT 5:3 (WB = 6 → 0x30), IPAT 6, PS 7, TDEL 11, TDB 55, TDP 56, SVE 63
 *   (x86_defs.h SEPT_ENTRY_*_BIT_POSITION);
 * - state masks (SEPT_STATE_ENC_TO_MASK of sept_state_lookup.h): FREE 0xE → bits 53-55,
 *   MAPPED 0x60 → IPAT|PS = 0xC0, PENDING 0x70 → 0xC0|TDP, BLOCKED 0x68 → 0xC0|TDB,
 *   PENDING_BLOCKED 0x78 → 0xC0|TDB|TDP, NL_MAPPED 0 → 0;
 * - FREE = SEPTE_INIT_VALUE = 0x80E0000000000000; a MAPPED leaf (sept_set_leaf_no_lock_internal()
 *   with RWX) = HPA | 0x80000000000000F7; PENDING (AUG, no permissions) = HPA | 0x81000000000000F0;
 *   BLOCKED (block_sept_entry(): RWX cleared, TDB) = HPA | 0x80800000000000F0; PENDING_BLOCKED =
 *   HPA | 0x81800000000000F0; NL_MAPPED (sept_set_mapped_non_leaf()) = HPA | 0x8000000000000007.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/common/memory_handlers/sept_manager.h/.c,
 *   include/auto_gen/sept_state_lookup.h, src/common/x86_defs/x86_defs.h, and the leaves in
 *   src/vmm_dispatcher/api_calls/ (tdh_mem_sept_add.c, tdh_mem_page_add.c, tdh_mem_page_aug.c,
 *   tdh_mem_range_block.c, tdh_mem_range_unblock.c, tdh_mem_page_remove.c, tdh_mem_sept_remove.c, tdh_mem_page_promote.c,
 *   tdh_mem_page_demote.c) and src/td_dispatcher/vm_exits/tdg_mem_page_accept.c
 */
import { describe, expect, it } from 'vitest';

import { cpuId, LINE_SIZE } from '../../../src/base/ids.js';
import type { ModuleMachine } from '../../../src/machine/moduleMachine.js';
import { encodeGuestProgram, GUEST_OP } from '../../../src/module/guest.js';
import type { SeamRegs } from '../../../src/platform/Seam.js';
import { preset } from '../../../src/platform/presets.js';
import { seamcallRegs as call, vmxModuleMachine } from '../../__test-helpers__/moduleMachine.js';
import type { SeamRegsIn } from '../../__test-helpers__/moduleMachine.js';
import { CFG_A, cfgA, encodeTdmrInfo, encodeU64s, tdParams } from './cfgA.js';

const TDR = 0x40000000;
const HKID = 33;
/** TDCS page 3 (the 4th ADDCX page): the SEPT root. */
const ROOT = TDR + 4 * 0x1000;
const TDVPR = 0x4000a000;
/** SEPT pages: level-2 entries (PDPT), level-1 entries (PD), level-0 entries for GPA 0 and 2 MiB. */
const PDPT = 0x40010000;
const PD = 0x40011000;
const PT0 = 0x40012000;
const PT1 = 0x40013000;
/** The image page (PAGE.ADD at GPA 0x1000), an AUGed page (GPA 0x2000), DEMOTE's new SEPT page. */
const IMAGE = 0x40014000;
const AUGED = 0x40015000;
const NEW_PT = 0x40016000;
/** 2 MiB of contiguous pages at GPA 2 MiB. */
const BIG = 0x40200000;
const SRC = 0x10005000;

const LEAF = {
  VP_ENTER: 0n,
  MNG_ADDCX: 1n,
  PAGE_ADD: 2n,
  SEPT_ADD: 3n,
  VP_ADDCX: 4n,
  PAGE_AUG: 6n,
  RANGE_BLOCK: 7n,
  MNG_KEY_CONFIG: 8n,
  MNG_CREATE: 9n,
  VP_CREATE: 10n,
  DEMOTE: 15n,
  MR_FINALIZE: 17n,
  MNG_INIT: 21n,
  VP_INIT: 22n,
  PROMOTE: 23n,
  SEPT_RD: 25n,
  PAGE_REMOVE: 29n,
  SEPT_REMOVE: 30n,
  RANGE_UNBLOCK: 39n,
} as const;

const FREE = 0x80e0_0000_0000_0000n;
const mapped = (pa: number): bigint => BigInt(pa) | 0x8000_0000_0000_00f7n;
const pending = (pa: number): bigint => BigInt(pa) | 0x8100_0000_0000_00f0n;
const blocked = (pa: number): bigint => BigInt(pa) | 0x8080_0000_0000_00f0n;
const pendingBlocked = (pa: number): bigint => BigInt(pa) | 0x8180_0000_0000_00f0n;
const nlMapped = (pa: number): bigint => BigInt(pa) | 0x8000_0000_0000_0007n;
/** TDEL (bit 11): the entry lock PROMOTE leaves set in the merged page. */
const TDEL = 0x800n;

function ok(m: ModuleMachine, lp: number, r: SeamRegsIn): SeamRegs {
  const out = call(m, lp, r);
  expect(`0x${out.rax.toString(16)}`).toBe('0x0');
  return out;
}

/** The REF preset booted to S5 (as in tdLayout.spec.ts), a TD created, keyed, its TDCS added and MNG.INIT run. */
function tdInitialized(): ModuleMachine {
  const spec = preset('ref');
  if (spec === undefined) {
    throw new Error('no ref preset');
  }
  const m = vmxModuleMachine(spec);
  const host = (pa: number, b: Uint8Array): void => m.platform.store(m.platform.cpu(cpuId(0)), pa, b, 0, 'host');
  ok(m, 0, { rax: 33n });
  for (let lp = 0; lp < 4; lp++) {
    ok(m, lp, { rax: 35n });
  }
  const [t0, t1] = cfgA();
  host(CFG_A.info0, encodeTdmrInfo(t0));
  host(CFG_A.info1, encodeTdmrInfo(t1));
  host(CFG_A.array, encodeU64s([0x10000000n, 0x10000200n]));
  ok(m, 0, { rax: 45n, rcx: 0x10001000n, rdx: 2n, r8: 32n });
  ok(m, 0, { rax: 31n });
  ok(m, 2, { rax: 31n });
  for (let i = 0; i < 512; i++) {
    call(m, 0, { rax: 36n, rcx: 0n });
  }
  for (let i = 0; i < 1024; i++) {
    call(m, 0, { rax: 36n, rcx: 0x100000000n });
  }
  ok(m, 0, { rax: LEAF.MNG_CREATE, rcx: BigInt(TDR), rdx: BigInt(HKID) });
  ok(m, 0, { rax: LEAF.MNG_KEY_CONFIG, rcx: BigInt(TDR) });
  ok(m, 2, { rax: LEAF.MNG_KEY_CONFIG, rcx: BigInt(TDR) });
  for (let i = 1; i <= 6; i++) {
    ok(m, 0, { rax: LEAF.MNG_ADDCX, rcx: BigInt(TDR + i * 0x1000), rdx: BigInt(TDR) });
  }
  host(0x10004000, tdParams());
  ok(m, 0, { rax: LEAF.MNG_INIT, rcx: BigInt(TDR), rdx: 0x10004000n });
  return m;
}

/** SEPT.ADD of the PDPT, PD and PT over GPA 0, and (`pt1`) a second PT for GPA 2 MiB. */
function septPages(m: ModuleMachine, pt1 = true): void {
  ok(m, 0, { rax: LEAF.SEPT_ADD, rcx: 3n, rdx: BigInt(TDR), r8: BigInt(PDPT) });
  ok(m, 0, { rax: LEAF.SEPT_ADD, rcx: 2n, rdx: BigInt(TDR), r8: BigInt(PD) });
  ok(m, 0, { rax: LEAF.SEPT_ADD, rcx: 1n, rdx: BigInt(TDR), r8: BigInt(PT0) });
  if (pt1) {
    ok(m, 0, { rax: LEAF.SEPT_ADD, rcx: 0x200000n | 1n, rdx: BigInt(TDR), r8: BigInt(PT1) });
  }
}

/** The 8-byte entry `index` of the SEPT page at `page`, read through `key` (throws on poison). */
function entry(m: ModuleMachine, page: number, index: number, key = HKID): bigint {
  const r = m.platform.load(m.platform.cpu(cpuId(1)), page + 8 * index, 8, key);
  if (!r.ok) {
    throw new Error(`poison at 0x${r.poisonPa.toString(16)}`);
  }
  return new DataView(r.bytes.buffer, r.bytes.byteOffset, 8).getBigUint64(0, true);
}
/** All 512 entries of a SEPT page through the TD's HKID. */
function page(m: ModuleMachine, pa: number): bigint[] {
  return [...Array(512).keys()].map((i) => entry(m, pa, i));
}
/** The line holding `pa` in LP `lp`'s cache under `key`: dirty or not, or absent. */
function cached(m: ModuleMachine, lp: number, pa: number, key: number): 'dirty' | 'clean' | 'absent' {
  const l = m.platform.cpu(cpuId(lp)).cache.lookup(key, Math.floor(pa / LINE_SIZE));
  return l === undefined ? 'absent' : l.seg.dirty ? 'dirty' : 'clean';
}
const hx = (v: bigint): string => `0x${v.toString(16)}`;

describe('Secure EPT entries in their SEPT pages', () => {
  it('SEPT.ADD: the root (TDCS page 3) and each SEPT page hold NL_MAPPED entries, stored through the HKID and left dirty on the LP', () => {
    const m = tdInitialized();
    expect(page(m, ROOT).every((e) => e === FREE)).toBe(true);
    septPages(m);
    // Level 3 for GPA 0: root index 0; level 2: PDPT index 0; level 1: PD indices 0 and 1.
    expect([entry(m, ROOT, 0), entry(m, PDPT, 0), entry(m, PD, 0), entry(m, PD, 1)].map(hx)).toEqual([nlMapped(PDPT), nlMapped(PD), nlMapped(PT0), nlMapped(PT1)].map(hx));
    expect(hx(nlMapped(PDPT))).toBe('0x8000000040010007');
    // The rest of those pages stays FREE; the new PT is all FREE.
    expect(page(m, ROOT).slice(1).every((e) => e === FREE)).toBe(true);
    expect(page(m, PD).slice(2).every((e) => e === FREE)).toBe(true);
    expect(page(m, PT0).every((e) => e === FREE)).toBe(true);
    // A cached store on LP 0 through the TD's HKID; nothing under KeyID 0.
    expect([cached(m, 0, ROOT, HKID), cached(m, 0, PD, HKID), cached(m, 0, ROOT, 0)]).toEqual(['dirty', 'dirty', 'absent']);
  });

  it('PAGE.ADD, AUG, BLOCK, UNBLOCK, PAGE.REMOVE, SEPT.REMOVE: the entries at their indices, SEPT.RD their architectural view', () => {
    const m = tdInitialized();
    septPages(m);
    ok(m, 0, { rax: LEAF.PAGE_ADD, rcx: 0x1000n, rdx: BigInt(TDR), r8: BigInt(IMAGE), r9: BigInt(SRC) });
    expect(hx(entry(m, PT0, 1))).toBe(hx(mapped(IMAGE)));
    ok(m, 0, { rax: LEAF.PAGE_AUG, rcx: 0x2000n, rdx: BigInt(TDR), r8: BigInt(AUGED) });
    expect([entry(m, PT0, 0), entry(m, PT0, 1), entry(m, PT0, 2), entry(m, PT0, 3)].map(hx)).toEqual([FREE, mapped(IMAGE), pending(AUGED), FREE].map(hx));
    expect([hx(mapped(IMAGE)), hx(pending(AUGED))]).toEqual(['0x80000000400140f7', '0x81000000400150f0']);
    // SEPT.RD: the entry masked with SEPT_ARCH_ENTRY_LEAF_MASK (TDP dropped), RDX = state << 8 | level.
    const rdMapped = ok(m, 0, { rax: LEAF.SEPT_RD, rcx: 0x1000n, rdx: BigInt(TDR) });
    const rdPending = ok(m, 0, { rax: LEAF.SEPT_RD, rcx: 0x2000n, rdx: BigInt(TDR) });
    expect([hx(rdMapped.rcx), hx(rdMapped.rdx), hx(rdPending.rcx), hx(rdPending.rdx)]).toEqual(['0x80000000400140f7', '0x400', '0x80000000400150f0', '0x200']);
    // BLOCK of the mapped and of the pending leaf (INITIALIZED: no TLB tracking needed). Each
    // entry is checked right after its leaf: both share a line, and the model stores whole lines.
    ok(m, 0, { rax: LEAF.RANGE_BLOCK, rcx: 0x1000n, rdx: BigInt(TDR) });
    expect([entry(m, PT0, 1), entry(m, PT0, 2)].map(hx)).toEqual([blocked(IMAGE), pending(AUGED)].map(hx));
    ok(m, 0, { rax: LEAF.RANGE_BLOCK, rcx: 0x2000n, rdx: BigInt(TDR) });
    expect([entry(m, PT0, 1), entry(m, PT0, 2)].map(hx)).toEqual([blocked(IMAGE), pendingBlocked(AUGED)].map(hx));
    expect(hx(blocked(IMAGE))).toBe('0x80800000400140f0');
    // UNBLOCK restores RWX and MT (sept_unblock()); REMOVE leaves SEPTE_INIT_VALUE.
    ok(m, 0, { rax: LEAF.RANGE_UNBLOCK, rcx: 0x1000n, rdx: BigInt(TDR) });
    expect([entry(m, PT0, 1), entry(m, PT0, 2)].map(hx)).toEqual([mapped(IMAGE), pendingBlocked(AUGED)].map(hx));
    ok(m, 0, { rax: LEAF.PAGE_REMOVE, rcx: 0x2000n, rdx: BigInt(TDR) });
    expect([entry(m, PT0, 1), entry(m, PT0, 2)].map(hx)).toEqual([mapped(IMAGE), FREE].map(hx));
    // SEPT.REMOVE of the empty PT for GPA 2 MiB: its PD entry back to SEPTE_INIT_VALUE.
    const sr = ok(m, 0, { rax: LEAF.SEPT_REMOVE, rcx: 0x200000n | 1n, rdx: BigInt(TDR) });
    expect([hx(sr.rcx), hx(entry(m, PD, 0)), hx(entry(m, PD, 1))]).toEqual([hx(BigInt(PT1)), hx(nlMapped(PT0)), hx(FREE)]);
    // The host: zeros through KeyID 0, poison through another private KeyID.
    expect(entry(m, PT0, 1, 0)).toBe(0n);
    expect(() => entry(m, PT0, 1, HKID + 1)).toThrow(`poison at 0x${(PT0 + 8).toString(16)}`);
  });

  it('PROMOTE: the 2 MiB leaf in the PD; the merged page keeps its 512 entries locked; DEMOTE: the new page by MOVDIR64B', () => {
    const m = tdInitialized();
    septPages(m);
    for (let i = 0; i < 512; i++) {
      ok(m, 0, { rax: LEAF.PAGE_AUG, rcx: BigInt(0x200000 + i * 0x1000), rdx: BigInt(TDR), r8: BigInt(BIG + i * 0x1000) });
    }
    expect(hx(entry(m, PT1, 511))).toBe(hx(pending(BIG + 511 * 0x1000)));
    const p = ok(m, 0, { rax: LEAF.PROMOTE, rcx: 0x200000n | 1n, rdx: BigInt(TDR) });
    expect(hx(p.rcx)).toBe(hx(BigInt(PT1)));
    expect(hx(entry(m, PD, 1))).toBe('0x81000000402000f0');
    expect(page(m, PT1).map(hx)).toEqual([...Array(512).keys()].map((i) => hx(pending(BIG + i * 0x1000) | TDEL)));
    // DEMOTE into a new page: 512 PENDING children (unlocked), written directly (no cached line).
    ok(m, 0, { rax: LEAF.DEMOTE, rcx: 0x200000n | 1n, rdx: BigInt(TDR), r8: BigInt(NEW_PT) });
    expect(hx(entry(m, PD, 1))).toBe(hx(nlMapped(NEW_PT)));
    expect(page(m, NEW_PT).map(hx)).toEqual([...Array(512).keys()].map((i) => hx(pending(BIG + i * 0x1000))));
    expect([cached(m, 0, NEW_PT, HKID), cached(m, 0, NEW_PT + 4032, HKID), cached(m, 0, PD, HKID)]).toEqual(['absent', 'absent', 'dirty']);
  });

  it('the guest ACCEPTs the 512 demoted PENDING pages: MAPPED in the page, stored on the LP that ran the VCPU', () => {
    const m = tdInitialized();
    septPages(m, false);
    const image = new Uint8Array(4096);
    image.set(encodeGuestProgram([[GUEST_OP.ACCEPT, 0x200000, 0x200000], [GUEST_OP.END, 0]]));
    m.platform.store(m.platform.cpu(cpuId(0)), SRC, image, 0, 'host');
    ok(m, 0, { rax: LEAF.PAGE_ADD, rcx: 0x1000n, rdx: BigInt(TDR), r8: BigInt(IMAGE), r9: BigInt(SRC) });
    ok(m, 0, { rax: LEAF.PAGE_AUG, rcx: 0x200000n | 1n, rdx: BigInt(TDR), r8: BigInt(BIG) });
    ok(m, 0, { rax: LEAF.DEMOTE, rcx: 0x200000n | 1n, rdx: BigInt(TDR), r8: BigInt(NEW_PT) });
    ok(m, 0, { rax: LEAF.VP_CREATE, rcx: BigInt(TDVPR), rdx: BigInt(TDR) });
    for (let i = 1; i <= 5; i++) {
      ok(m, 0, { rax: LEAF.VP_ADDCX, rcx: BigInt(TDVPR + i * 0x1000), rdx: BigInt(TDVPR) });
    }
    ok(m, 1, { rax: LEAF.VP_INIT, rcx: BigInt(TDVPR), rdx: 0x1000n });
    ok(m, 0, { rax: LEAF.MR_FINALIZE, rcx: BigInt(TDR) });
    const exit = call(m, 1, { rax: LEAF.VP_ENTER, rcx: BigInt(TDVPR) });
    // TDG.VP.VMCALL<HLT> after the accept: exit reason TDCALL (77), R11 = HLT (12).
    expect([exit.rax, exit.r11]).toEqual([77n, 12n]);
    expect(page(m, NEW_PT).map(hx)).toEqual([...Array(512).keys()].map((i) => hx(mapped(BIG + i * 0x1000))));
    expect([cached(m, 1, NEW_PT, HKID), cached(m, 1, NEW_PT + 4032, HKID)]).toEqual(['dirty', 'dirty']);
    expect(entry(m, NEW_PT, 0, 0)).toBe(0n);
  });
});
