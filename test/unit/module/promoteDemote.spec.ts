/**
 * TDH.MEM.PAGE.PROMOTE (23) and TDH.MEM.PAGE.DEMOTE (15) through the SEAMCALL server on the `ref`
 * preset (release 1.5.01): a 2 MiB PAGE.AUG demoted to 512 4 KiB mappings and promoted back, the
 * check order where two errors are present at once, and the PAMT_2M entry each holds exclusive
 * while it rewrites the 512 child entries (a 4 KiB walk in that range meanwhile gets
 * OPERAND_BUSY|RCX and succeeds afterwards).
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mem_page_promote.c,
 *   tdh_mem_page_demote.c, src/common/memory_handlers/pamt_manager.c pamt_promote(), pamt_demote(),
 *   sept_manager.c set_arch_septe_details_in_vmm_regs()
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

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
const SEPT_L1 = 0x40042000n; // the Secure EPT page DEMOTE adds (and PROMOTE frees)
const PAGE_2M = 0x20200000n; // host pages of GPA 0x200000..0x3fffff
const GPA_2M = 0x200000n;
const X = { DEMOTE: 15n, PROMOTE: 23n, REMOVE: 29n, SEPT_RD: 25n, BLOCK: 7n, TRACK: 38n, MR_FINALIZE: 17n } as const;
const TDVPR = 0x4000a000n;

const OPERAND_INVALID_RAX = 0xc000010000000000n;
const OPERAND_INVALID_RCX = 0xc000010000000001n;
const OPERAND_INVALID_RDX = 0xc000010000000002n;
const PAGE_METADATA_INCORRECT_RDX = 0xc000030000000002n;
const PAGE_METADATA_INCORRECT_R8 = 0xc000030000000008n;
const EPT_ENTRY_STATE_INCORRECT_RCX = 0xc0000b0d00000001n;
const EPT_INVALID_PROMOTE_CONDITIONS_RCX = 0xc0000b0900000001n;
const EPT_WALK_FAILED_RCX = 0xc0000b0000000001n;
const BUSY_RCX = 0x8000020000000001n;
const BUSY_R8 = 0x8000020000000008n;
const NULL_PA = 0xffffffffffffffffn;
const GPA_RANGE_NOT_BLOCKED_RCX = 0xc0000b0600000001n;
const TLB_TRACKING_NOT_DONE_RCX = 0xc0000b0800000001n;

const s = (o: CallOut): string => `0x${o.status.toString(16)}`;
/** CHLDCNT of the (only) TD, from machine.state. */
async function chldcnt(h: Host): Promise<number> {
  const tds = ((await h.state())['module'] as { tds: { chldcnt: number }[] }).tds;
  return (tds[0] as { chldcnt: number }).chldcnt;
}
const hx = (v: bigint): string => `0x${v.toString(16)}`;

/** S5, a TD initialized with HKID 33, SEPT pages for GPA 0-1 GiB (levels 3 and 2), and GPA 2M..4M AUGed as one 2 MiB page. */
async function tdWith2m(h: Host): Promise<void> {
  await h.boot('S5');
  const ok = async (lp: number, regs: Parameters<Host['call']>[1]): Promise<void> => {
    expect(s(await h.call(lp, regs))).toBe('0x0');
  };
  await h.initTd(TDR);
  await ok(0, { rax: L.MEM_SEPT_ADD, rcx: 3n, rdx: TDR, r8: 0x40040000n });
  await ok(0, { rax: L.MEM_SEPT_ADD, rcx: 2n, rdx: TDR, r8: 0x40041000n });
  await ok(0, { rax: L.MEM_PAGE_AUG, rcx: GPA_2M | 1n, rdx: TDR, r8: PAGE_2M });
}

const withHost = (fn: (h: Host) => Promise<void>): Promise<void> => Host.using(client, fn);

describe('TDH.MEM.PAGE.DEMOTE and PROMOTE (1.5.01)', () => {
  it('a 2 MiB PENDING page demoted to 512 4 KiB pages and promoted back: SEPT, PAMT, CHLDCNT, RCX', () =>
    withHost(async (h) => {
      await tdWith2m(h);
      // 6 TDCX + 2 SEPT pages + 512 pages of the 2 MiB leaf.
      expect(await chldcnt(h)).toBe(520);
      const d = await h.call(0, { rax: X.DEMOTE, rcx: GPA_2M | 1n, rdx: TDR, r8: SEPT_L1, r9: 0x1234n });
      // RCX/RDX zeroed; R9-R11 come back as given.
      expect([s(d), d.rcx, d.rdx, d.r9]).toEqual(['0x0', 0n, 0n, 0x1234n]);
      // The 2 MiB entry is now NL_MAPPED (RCX masked to 0x7, RDX state 132); a child is PENDING (2) at level 0.
      const nl = await h.call(0, { rax: X.SEPT_RD, rcx: GPA_2M | 1n, rdx: TDR });
      expect([s(nl), hx(nl.rcx), hx(nl.rdx)]).toEqual(['0x0', '0x7', '0x8401']);
      const child = await h.call(0, { rax: X.SEPT_RD, rcx: GPA_2M + 0x5000n, rdx: TDR });
      expect([s(child), hx(child.rdx)]).toEqual(['0x0', '0x200']);
      // The PAMT: a 4 KiB PT_REG page of the TD (RCX = PT_REG, RDX = owner TDR, R8 = PT_4KB); the new SEPT page PT_EPT (8).
      const md = await h.call(1, { rax: L.PHYMEM_PAGE_RDMD, rcx: PAGE_2M + 0x5000n });
      expect([s(md), md.rcx, hx(md.rdx), md.r8]).toEqual(['0x0', 3n, hx(TDR), 0n]);
      const sp = await h.call(1, { rax: L.PHYMEM_PAGE_RDMD, rcx: SEPT_L1 });
      expect([s(sp), sp.rcx, sp.r8]).toEqual(['0x0', 8n, 0n]);
      expect(await chldcnt(h)).toBe(521);

      const p = await h.call(0, { rax: X.PROMOTE, rcx: GPA_2M | 1n, rdx: TDR });
      expect([s(p), hx(p.rcx), p.rdx]).toEqual(['0x0', hx(SEPT_L1), 0n]);
      const leaf = await h.call(0, { rax: X.SEPT_RD, rcx: GPA_2M | 1n, rdx: TDR });
      expect([s(leaf), hx(leaf.rdx)]).toEqual(['0x0', '0x201']);
      const md2 = await h.call(1, { rax: L.PHYMEM_PAGE_RDMD, rcx: PAGE_2M + 0x5000n });
      expect([s(md2), md2.rcx, md2.r8]).toEqual(['0x0', 3n, 1n]);
      const freed = await h.call(1, { rax: L.PHYMEM_PAGE_RDMD, rcx: SEPT_L1 });
      expect([s(freed), freed.rcx]).toEqual(['0x0', 0n]);
      expect(await chldcnt(h)).toBe(520);
    }));

  it('PROMOTE version 2: R9-R11 set to NULL_PA and RCX/RDX zeroed before OPERAND_INVALID|RAX, which wins over a bad TDR', () =>
    withHost(async (h) => {
      await tdWith2m(h);
      const o = await h.call(0, { rax: X.PROMOTE | (2n << 16n), rcx: GPA_2M | 1n, rdx: 0x12345000n, r9: 1n, r10: 2n, r11: 3n });
      expect([hx(o.status), o.rcx, o.rdx, o.r9, o.r10, o.r11]).toEqual([hx(OPERAND_INVALID_RAX), 0n, 0n, NULL_PA, NULL_PA, NULL_PA]);
      // Version 1 of a promotion that fails later also returns NULL_PA in R9-R11.
      const v1 = await h.call(0, { rax: X.PROMOTE | (1n << 16n), rcx: GPA_2M | 1n, rdx: TDR, r9: 1n });
      expect([hx(v1.status), v1.r9]).toEqual([hx(EPT_ENTRY_STATE_INCORRECT_RCX), NULL_PA]);
    }));

  it('check order: the TDR before the level, the level before the walk, the entry state before the new page', () =>
    withHost(async (h) => {
      await tdWith2m(h);
      // PROMOTE: a page that is not a TDR and level 0: PAGE_METADATA_INCORRECT|RDX wins.
      expect(hx((await h.call(0, { rax: X.PROMOTE, rcx: GPA_2M, rdx: PAGE_2M })).status)).toBe(hx(PAGE_METADATA_INCORRECT_RDX));
      // PROMOTE level 0 (only 1 and 2 may be promoted): OPERAND_INVALID|RCX.
      expect(hx((await h.call(0, { rax: X.PROMOTE, rcx: GPA_2M, rdx: TDR })).status)).toBe(hx(OPERAND_INVALID_RCX));
      // PROMOTE of the 2 MiB leaf: EPT_ENTRY_STATE_INCORRECT|RCX with the leaf's details (PENDING, level 1).
      const pl = await h.call(0, { rax: X.PROMOTE, rcx: GPA_2M | 1n, rdx: TDR });
      expect([hx(pl.status), hx(pl.rdx)]).toEqual([hx(EPT_ENTRY_STATE_INCORRECT_RCX), '0x201']);
      // DEMOTE: RDX bit 1 (reserved) and RCX level 0: the TD handle is checked first.
      expect(hx((await h.call(0, { rax: X.DEMOTE, rcx: GPA_2M, rdx: TDR | 2n, r8: SEPT_L1 })).status)).toBe(hx(OPERAND_INVALID_RDX));
      // DEMOTE with RDX bit 0 (L2_SEPT_ADD_MODE) set is accepted; a GPA whose level-1 walk stops at a FREE level-2 entry fails the walk.
      const wf = await h.call(0, { rax: X.DEMOTE, rcx: 0x40000000n | 1n, rdx: TDR | 1n, r8: SEPT_L1 });
      expect([hx(wf.status), hx(wf.rdx)]).toEqual([hx(EPT_WALK_FAILED_RCX), '0x2']);
      // DEMOTE with a TDCX page as the new SEPT page: PAGE_METADATA_INCORRECT|R8; with the TDR itself,
      // which this call holds shared, the exclusive walk of R8 fails first: OPERAND_BUSY|R8.
      expect(hx((await h.call(0, { rax: X.DEMOTE, rcx: GPA_2M | 1n, rdx: TDR, r8: TDR + 0x1000n })).status)).toBe(hx(PAGE_METADATA_INCORRECT_R8));
      expect(hx((await h.call(0, { rax: X.DEMOTE, rcx: GPA_2M | 1n, rdx: TDR, r8: TDR })).status)).toBe(hx(BUSY_R8));
      expect(hx((await h.call(0, { rax: X.DEMOTE, rcx: GPA_2M | 1n, rdx: TDR, r8: SEPT_L1 })).status)).toBe('0x0');
      // Demoted again: the entry is non-leaf now, and that wins over an unusable new page.
      const again = await h.call(0, { rax: X.DEMOTE, rcx: GPA_2M | 1n, rdx: TDR, r8: TDR });
      expect([hx(again.status), hx(again.rcx), hx(again.rdx)]).toEqual([hx(EPT_ENTRY_STATE_INCORRECT_RCX), '0x7', '0x8401']);
    }));

  it('PROMOTE of a range with a hole: EPT_INVALID_PROMOTE_CONDITIONS|RCX, the non-leaf entry in RCX/RDX (audit row 15)', () =>
    withHost(async (h) => {
      await tdWith2m(h);
      expect(s(await h.call(0, { rax: X.DEMOTE, rcx: GPA_2M | 1n, rdx: TDR, r8: SEPT_L1 }))).toBe('0x0');
      // In INITIALIZED a page may be removed without BLOCK/TRACK.
      const rm = await h.call(0, { rax: X.REMOVE, rcx: GPA_2M + 0x7000n, rdx: TDR });
      expect([s(rm), hx(rm.rcx)]).toEqual(['0x0', hx(PAGE_2M + 0x7000n)]);
      const p = await h.call(0, { rax: X.PROMOTE, rcx: GPA_2M | 1n, rdx: TDR });
      expect([hx(p.status), hx(p.rcx), hx(p.rdx)]).toEqual([hx(EPT_INVALID_PROMOTE_CONDITIONS_RCX), '0x7', '0x8401']);
    }));
});

describe('PROMOTE/DEMOTE in a RUNNABLE TD: blocked, then tracked (TLB tracking op_state)', () => {
  it('DEMOTE and PROMOTE need RANGE.BLOCK and TRACK first; the block check wins over an unusable new page; the split children are unblocked', () =>
    withHost(async (h) => {
      await tdWith2m(h);
      expect(s(await h.call(0, { rax: L.VP_CREATE, rcx: TDVPR, rdx: TDR }))).toBe('0x0');
      for (let i = 0; i < 5; i++) {
        expect(s(await h.call(0, { rax: L.VP_ADDCX, rcx: 0x4000b000n + BigInt(i * 0x1000), rdx: TDVPR }))).toBe('0x0');
      }
      expect(s(await h.call(0, { rax: L.VP_INIT, rcx: TDVPR, rdx: 0x1000n }))).toBe('0x0');
      expect(s(await h.call(0, { rax: X.MR_FINALIZE, rcx: TDR }))).toBe('0x0');
      // Not blocked (and R8 a TDCX page): GPA_RANGE_NOT_BLOCKED|RCX with the PENDING 2 MiB leaf's details.
      const nb = await h.call(0, { rax: X.DEMOTE, rcx: GPA_2M | 1n, rdx: TDR, r8: TDR + 0x1000n });
      expect([hx(nb.status), hx(nb.rdx)]).toEqual([hx(GPA_RANGE_NOT_BLOCKED_RCX), '0x201']);
      expect(s(await h.call(0, { rax: X.BLOCK, rcx: GPA_2M | 1n, rdx: TDR }))).toBe('0x0');
      expect(hx((await h.call(0, { rax: X.DEMOTE, rcx: GPA_2M | 1n, rdx: TDR, r8: SEPT_L1 })).status)).toBe(hx(TLB_TRACKING_NOT_DONE_RCX));
      expect(s(await h.call(0, { rax: X.TRACK, rcx: TDR }))).toBe('0x0');
      expect(s(await h.call(0, { rax: X.DEMOTE, rcx: GPA_2M | 1n, rdx: TDR, r8: SEPT_L1 }))).toBe('0x0');
      // PENDING_BLOCKED split into PENDING children.
      expect(hx((await h.call(0, { rax: X.SEPT_RD, rcx: GPA_2M + 0x1000n, rdx: TDR })).rdx)).toBe('0x200');
      // PROMOTE of the NL_MAPPED entry: block and track it first.
      const pnb = await h.call(0, { rax: X.PROMOTE, rcx: GPA_2M | 1n, rdx: TDR });
      expect([hx(pnb.status), hx(pnb.rcx), hx(pnb.rdx)]).toEqual([hx(GPA_RANGE_NOT_BLOCKED_RCX), '0x7', '0x8401']);
      expect(s(await h.call(0, { rax: X.BLOCK, rcx: GPA_2M | 1n, rdx: TDR }))).toBe('0x0');
      // NL_BLOCKED reads back as RCX 0 (RWX cleared) and state 129.
      const nl = await h.call(0, { rax: X.SEPT_RD, rcx: GPA_2M | 1n, rdx: TDR });
      expect([hx(nl.rcx), hx(nl.rdx)]).toEqual(['0x0', '0x8101']);
      expect(hx((await h.call(0, { rax: X.PROMOTE, rcx: GPA_2M | 1n, rdx: TDR })).status)).toBe(hx(TLB_TRACKING_NOT_DONE_RCX));
      expect(s(await h.call(0, { rax: X.TRACK, rcx: TDR }))).toBe('0x0');
      const p = await h.call(0, { rax: X.PROMOTE, rcx: GPA_2M | 1n, rdx: TDR });
      expect([s(p), hx(p.rcx)]).toEqual(['0x0', hx(SEPT_L1)]);
      expect(hx((await h.call(0, { rax: X.SEPT_RD, rcx: GPA_2M | 1n, rdx: TDR })).rdx)).toBe('0x201');
    }));
});

describe('PROMOTE/DEMOTE hold the PAMT_2M entry of the range exclusive (seamcall.begin)', () => {
  it('while DEMOTE rewrites the 512 entries, a 4 KiB walk in the range gets OPERAND_BUSY|RCX; afterwards it succeeds', () =>
    withHost(async (h) => {
      await tdWith2m(h);
      const demote = await h.begin(0, { rax: X.DEMOTE, rcx: GPA_2M | 1n, rdx: TDR, r8: SEPT_L1 });
      expect(hx((await h.call(1, { rax: L.PHYMEM_PAGE_RDMD, rcx: PAGE_2M + 0x3000n })).status)).toBe(hx(BUSY_RCX));
      expect(hx((await h.call(2, { rax: L.PHYMEM_PAGE_WBINVD, rcx: PAGE_2M + 0x1ff000n })).status)).toBe(hx(BUSY_RCX));
      // The next 2 MiB range is not locked.
      expect(s(await h.call(1, { rax: L.PHYMEM_PAGE_RDMD, rcx: PAGE_2M + 0x200000n }))).toBe('0x0');
      expect(s(await h.end(demote))).toBe('0x0');
      const md = await h.call(1, { rax: L.PHYMEM_PAGE_RDMD, rcx: PAGE_2M + 0x3000n });
      expect([s(md), md.rcx, md.r8]).toEqual(['0x0', 3n, 0n]);
    }));
  it('while PROMOTE merges the range, a 4 KiB walk in it gets OPERAND_BUSY|RCX; afterwards it sees the 2 MiB leaf', () =>
    withHost(async (h) => {
      await tdWith2m(h);
      expect(s(await h.call(0, { rax: X.DEMOTE, rcx: GPA_2M | 1n, rdx: TDR, r8: SEPT_L1 }))).toBe('0x0');
      const promote = await h.begin(0, { rax: X.PROMOTE, rcx: GPA_2M | 1n, rdx: TDR });
      expect(hx((await h.call(1, { rax: L.PHYMEM_PAGE_RDMD, rcx: PAGE_2M + 0x3000n })).status)).toBe(hx(BUSY_RCX));
      // A second PROMOTE of the same range meets the Secure EPT page's PAMT entry first: OPERAND_BUSY|RCX.
      expect(hx((await h.call(2, { rax: X.PROMOTE, rcx: GPA_2M | 1n, rdx: TDR })).status)).toBe(hx(BUSY_RCX));
      const p = await h.end(promote);
      expect([s(p), hx(p.rcx)]).toEqual(['0x0', hx(SEPT_L1)]);
      const md = await h.call(1, { rax: L.PHYMEM_PAGE_RDMD, rcx: PAGE_2M + 0x3000n });
      expect([s(md), md.rcx, md.r8]).toEqual(['0x0', 3n, 1n]);
    }));
  it('DEMOTE whose new page lies in a 2 MiB range a PAGE.AUG holds exclusive gets OPERAND_BUSY|R8; after the AUG the page is part of a 2 MiB leaf', () =>
    withHost(async (h) => {
      await tdWith2m(h);
      const aug = await h.begin(1, { rax: L.MEM_PAGE_AUG, rcx: 0x400000n | 1n, rdx: TDR, r8: 0x20400000n });
      expect(hx((await h.call(0, { rax: X.DEMOTE, rcx: GPA_2M | 1n, rdx: TDR, r8: 0x20401000n })).status)).toBe(hx(BUSY_R8));
      expect(s(await h.end(aug))).toBe('0x0');
      expect(hx((await h.call(0, { rax: X.DEMOTE, rcx: GPA_2M | 1n, rdx: TDR, r8: 0x20401000n })).status)).toBe(hx(PAGE_METADATA_INCORRECT_R8));
      expect(s(await h.call(0, { rax: X.DEMOTE, rcx: GPA_2M | 1n, rdx: TDR, r8: SEPT_L1 }))).toBe('0x0');
    }));
});
