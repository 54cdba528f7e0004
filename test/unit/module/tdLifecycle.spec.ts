/**
 * A TD from TDH.MNG.CREATE to RUNNABLE (MR.EXTEND, MR.FINALIZE), entered (VP.ENTER with a guest
 * VMCALL exit, then migrated to another LP after VP.FLUSH), its memory released with
 * BLOCK/TRACK/REMOVE, its metadata read, and torn down, through the SEAMCALL server on the `ref`
 * preset. Every status is asserted; where two errors are present at once the test says which
 * wins, as the source orders its checks.
 * @see intel/tdx-module 1.5.01 (72d8cff) tdh_mr_extend.c, tdh_mr_finalize.c, tdh_vp_enter.c,
 *   tdh_mem_range_block.c, tdh_mem_track.c, tdh_mem_range_unblock.c, tdh_mem_page_remove.c,
 *   tdh_mem_sept_remove.c, tdh_mem_sept_rd.c, tdh_mng_rd_wr.c, tdh_vp_rd_wr.c
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeGuestProgram, GUEST_OP } from '../../../src/module/guest.js';
import { Host, L, ServerClient } from './serverClient.js';
import type { CallOut } from './serverClient.js';

let client: ServerClient;
beforeAll(() => {
  client = new ServerClient();
});
afterAll(async () => {
  await client.close();
});

const TDR = 0x40000000n;
const TDVPR = 0x4000a000n;
const TDCX = [0, 1, 2, 3, 4].map((i) => 0x4000b000n + BigInt(i * 0x1000));
/** SEPT pages for levels 3 (PDPT), 2 (PD), 1 (PT) over GPA 0. */
const SEPT = [0x40010000n, 0x40011000n, 0x40012000n];
const IMAGE = 0x40014000n; // GPA 0x1000, PAGE.ADD (the guest program)
const AUGED = 0x40015000n; // GPA 0x2000, PAGE.AUG
const SRC = 0x10005000;

const X = {
  MEM_RANGE_BLOCK: 7n,
  MNG_RD: 11n,
  MNG_WR: 13n,
  MR_EXTEND: 16n,
  MR_FINALIZE: 17n,
  MEM_SEPT_RD: 25n,
  VP_RD: 26n,
  MEM_PAGE_REMOVE: 29n,
  MEM_SEPT_REMOVE: 30n,
  MEM_TRACK: 38n,
  MEM_RANGE_UNBLOCK: 39n,
  VP_ENTER: 0n,
} as const;

const SUCCESS = '0x0000000000000000';
const st = (o: CallOut): string => `0x${o.status.toString(16).padStart(16, '0')}`;

const withHost = (fn: (h: Host) => Promise<void>): Promise<void> => Host.using(client, fn);

/** MNG.CREATE .. MNG.INIT, SEPT pages over GPA 0, the image page (PAGE.ADD) and an AUGed page. */
async function tdBuilt(h: Host): Promise<void> {
  await h.boot('S5');
  await h.initTd(TDR);
  for (const [i, level] of [3, 2, 1].entries()) {
    expect(st(await h.call(0, { rax: L.MEM_SEPT_ADD, rcx: BigInt(level), rdx: TDR, r8: SEPT[i]! }))).toBe(SUCCESS);
  }
  const program = encodeGuestProgram([
    [GUEST_OP.ACCEPT, 0x2000, 0x1000],
    [GUEST_OP.STORE, 0x2000, 0x1000, 0xa5 | (1 << 8)],
    [GUEST_OP.VMCALL, 0x10001, 0x42],
    [GUEST_OP.END, 0],
  ]);
  const page = new Uint8Array(4096);
  page.set(program);
  await h.write(SRC, page);
  expect(st(await h.call(0, { rax: L.MEM_PAGE_ADD, rcx: 0x1000n, rdx: TDR, r8: IMAGE, r9: BigInt(SRC) }))).toBe(SUCCESS);
  expect(st(await h.call(0, { rax: L.MEM_PAGE_AUG, rcx: 0x2000n, rdx: TDR, r8: AUGED }))).toBe(SUCCESS);
}

async function vcpuReady(h: Host, lp: number): Promise<void> {
  expect(st(await h.call(0, { rax: L.VP_CREATE, rcx: TDVPR, rdx: TDR }))).toBe(SUCCESS);
  for (const pa of TDCX) {
    expect(st(await h.call(0, { rax: L.VP_ADDCX, rcx: pa, rdx: TDVPR }))).toBe(SUCCESS);
  }
  // RDX = the guest's initial RCX: where the guest model finds its program.
  expect(st(await h.call(lp, { rax: L.VP_INIT, rcx: TDVPR, rdx: 0x1000n }))).toBe(SUCCESS);
}

describe('a TD from MNG.CREATE to RUNNABLE, entered, migrated and torn down (server)', () => {
  it('MR.EXTEND/FINALIZE, VP.ENTER with a VMCALL exit, VP.FLUSH + VP.ENTER on another LP, BLOCK/TRACK/REMOVE, teardown', () =>
    withHost(async (h) => {
      await tdBuilt(h);
      // MR.EXTEND of the PENDING page: the walk does not end on a present leaf. RCX is the entry
      // masked with SEPT_ARCH_ENTRY_LEAF_MASK: SVE | HPA | PS | IPAT | MT=WB, RWX clear
      // (sept_manager.c set_arch_septe_details_in_vmm_regs(), sept_set_leaf_no_lock_internal()).
      const pend = await h.call(0, { rax: X.MR_EXTEND, rcx: 0x2000n, rdx: TDR });
      expect([st(pend), pend.rcx, pend.rdx]).toEqual(['0xc0000b0300000001', 0x80000000400150f0n, 0x200n]);
      // Two errors: GPA not 256-aligned and TDR not a TDR: the TDR check comes first.
      expect(st(await h.call(0, { rax: X.MR_EXTEND, rcx: 0x1010n, rdx: IMAGE }))).toBe('0xc000030000000002');
      expect(st(await h.call(0, { rax: X.MR_EXTEND, rcx: 0x1010n, rdx: TDR }))).toBe('0xc000010000000001');
      for (let off = 0n; off < 0x1000n; off += 0x100n) {
        expect(st(await h.call(0, { rax: X.MR_EXTEND, rcx: 0x1000n + off, rdx: TDR }))).toBe(SUCCESS);
      }
      // No VCPU yet: TDX_NO_VCPUS. VP.ENTER needs a VCPU whose TD is RUNNABLE.
      expect(st(await h.call(0, { rax: X.MR_FINALIZE, rcx: TDR }))).toBe('0xc000060900000000');
      await vcpuReady(h, 0);
      // Not RUNNABLE yet: OP_STATE_INCORRECT comes before the association check (LP1 ≠ LP0).
      expect(st(await h.call(1, { rax: X.VP_ENTER, rcx: TDVPR }))).toBe('0xc000060800000000');
      expect(st(await h.call(0, { rax: X.MR_FINALIZE, rcx: TDR }))).toBe(SUCCESS);
      expect(st(await h.call(0, { rax: X.MR_FINALIZE, rcx: TDR }))).toBe('0xc000060800000000');
      expect(st(await h.call(0, { rax: X.MR_EXTEND, rcx: 0x1000n, rdx: TDR }))).toBe('0xc000060800000000');
      const op = await h.call(0, { rax: X.MNG_RD, rcx: TDR, rdx: 0x9010000200000004n });
      expect([st(op), op.r8]).toEqual([SUCCESS, 2n]); // OP_STATE = RUNNABLE
      // Entered on LP1 while associated with LP0 (VP.INIT): TDX_VCPU_ASSOCIATED.
      expect(st(await h.call(1, { rax: X.VP_ENTER, rcx: TDVPR }))).toBe('0x8000070100000000');
      // On LP0: the guest accepts GPA 0x2000, writes it, and exits with TDG.VP.VMCALL: RAX = 77.
      const e1 = await h.call(0, { rax: X.VP_ENTER, rcx: TDVPR });
      expect([e1.status, e1.rcx, e1.r10, e1.r11]).toEqual([77n, 0x1c00n, 0n, 0x10001n]);
      // Migrate: VP.FLUSH on LP0, then enter on LP1; the guest halts (VMCALL<HLT>, R11 = 12).
      expect(st(await h.call(0, { rax: L.VP_FLUSH, rcx: TDVPR }))).toBe(SUCCESS);
      const e2 = await h.call(1, { rax: X.VP_ENTER, rcx: TDVPR });
      expect([e2.status, e2.r11]).toEqual([77n, 12n]);
      const lpid = await h.call(1, { rax: X.VP_RD, rcx: TDVPR, rdx: 0xa020000200000004n });
      expect([st(lpid), lpid.r8]).toEqual([SUCCESS, 1n]); // ASSOC_LPID
      // VP.RD from LP0 would associate the VCPU with LP0: refused.
      expect(st(await h.call(0, { rax: X.VP_RD, rcx: TDVPR, rdx: 0xa020000200000004n }))).toBe('0x8000070100000000');
      // A guest register of a non-debug TD: not readable; an unknown field: FIELD_ID_INCORRECT.
      expect(st(await h.call(1, { rax: X.VP_RD, rcx: TDVPR, rdx: 0x1020000300000000n }))).toBe('0xc0000c0200000000');
      expect(st(await h.call(0, { rax: X.MNG_RD, rcx: TDR, rdx: 0x9010000200000077n }))).toBe('0xc0000c0000000000');
      // SEPT.RD of the accepted page: MAPPED (4) at level 0.
      const sr = await h.call(0, { rax: X.MEM_SEPT_RD, rcx: 0x2000n, rdx: TDR });
      expect([st(sr), sr.rcx & 0xfffff000n, sr.rdx]).toEqual([SUCCESS, AUGED, 0x400n]);
      // RUNNABLE: PAGE.REMOVE needs BLOCK then TRACK.
      const nb = await h.call(0, { rax: X.MEM_PAGE_REMOVE, rcx: 0x2000n, rdx: TDR });
      expect([st(nb), nb.rdx]).toEqual(['0xc0000b0600000001', 0x400n]);
      expect(st(await h.call(0, { rax: X.MEM_RANGE_BLOCK, rcx: 0x2000n, rdx: TDR }))).toBe(SUCCESS);
      expect(st(await h.call(0, { rax: X.MEM_RANGE_BLOCK, rcx: 0x2000n, rdx: TDR }))).toBe('0x00000b0700000001');
      expect(st(await h.call(0, { rax: X.MEM_PAGE_REMOVE, rcx: 0x2000n, rdx: TDR }))).toBe('0xc0000b0800000001');
      // UNBLOCK before TRACK reports TLB_TRACKING_NOT_DONE with operand SEPT_TREE (146), not RCX
      // (1.5.01, the default release; RCX from 1.5.05 on: unblockOperand.spec.ts).
      expect(st(await h.call(0, { rax: X.MEM_RANGE_UNBLOCK, rcx: 0x2000n, rdx: TDR }))).toBe('0xc0000b0800000092');
      expect(st(await h.call(0, { rax: X.MEM_TRACK, rcx: TDR }))).toBe(SUCCESS);
      const rm = await h.call(0, { rax: X.MEM_PAGE_REMOVE, rcx: 0x2000n, rdx: TDR });
      expect([st(rm), rm.rcx]).toEqual([SUCCESS, AUGED]);
      // The PT still maps GPA 0x1000: blocked and tracked, SEPT.REMOVE finds the page not free.
      expect(st(await h.call(0, { rax: X.MEM_RANGE_BLOCK, rcx: 0x1n, rdx: TDR }))).toBe(SUCCESS);
      expect(st(await h.call(0, { rax: X.MEM_TRACK, rcx: TDR }))).toBe(SUCCESS);
      expect(st(await h.call(0, { rax: X.MEM_SEPT_REMOVE, rcx: 0x1n, rdx: TDR }))).toBe('0xc0000b0e00000001');
      // Teardown: flush LP1, release the HKID, reclaim everything.
      expect(st(await h.call(0, { rax: L.MNG_VPFLUSHDONE, rcx: TDR }))).toBe('0x8000082400000000');
      expect(st(await h.call(1, { rax: L.VP_FLUSH, rcx: TDVPR }))).toBe(SUCCESS);
      expect(st(await h.call(0, { rax: L.MNG_VPFLUSHDONE, rcx: TDR }))).toBe(SUCCESS);
      // TD_BLOCKED: the memory leaves now answer TD_KEYS_NOT_CONFIGURED.
      expect(st(await h.call(0, { rax: X.MEM_PAGE_REMOVE, rcx: 0x1000n, rdx: TDR }))).toBe('0x8000081000000000');
      expect(st(await h.call(0, { rax: L.PHYMEM_CACHE_WB, rcx: 0n }))).toBe(SUCCESS);
      expect(st(await h.call(2, { rax: L.PHYMEM_CACHE_WB, rcx: 0n }))).toBe(SUCCESS);
      expect(st(await h.call(0, { rax: L.MNG_KEY_FREEID, rcx: TDR }))).toBe(SUCCESS);
      // The removed page is PT_NDA: reclaiming it is the canonical 0xc000030000000001 (RCX/RDX/R8 0).
      const again = await h.call(0, { rax: L.PHYMEM_PAGE_RECLAIM, rcx: AUGED });
      expect([st(again), again.rcx, again.rdx, again.r8]).toEqual(['0xc000030000000001', 0n, 0n, 0n]);
      for (const pa of [IMAGE, ...SEPT, ...TDCX, TDVPR, ...[1, 2, 3, 4, 5, 6].map((i) => TDR + BigInt(i * 0x1000)), TDR]) {
        expect(st(await h.call(0, { rax: L.PHYMEM_PAGE_RECLAIM, rcx: pa })), `reclaim 0x${pa.toString(16)}`).toBe(SUCCESS);
      }
      expect(st(await h.call(0, { rax: L.PHYMEM_PAGE_WBINVD, rcx: 0x0008000040000000n }))).toBe(SUCCESS);
      expect(((await h.state())['module'] as { tds: unknown[] }).tds).toEqual([]);
    }), 60_000);
});
