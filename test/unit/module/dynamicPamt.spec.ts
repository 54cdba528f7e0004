/**
 * Dynamic PAMT on release 2.0.08 through the SEAMCALL server (`ref` preset, TDH.SYS.CONFIG R8 bit
 * 16 set): the 4 KiB PAMT entries of a 2 MiB range exist only after TDH.PHYMEM.PAMT.ADD (58) gave
 * it a page pair, so 4 KiB pages of a range without one fail TDX_MISSING_PAMT_PAGE_PAIR with the
 * operand's id; PAMT.REMOVE (59) returns the pair once the range is empty; DEMOTE takes a pair in
 * R12/R13 and PROMOTE gives it back there; the check order of both leaves where two errors are
 * present at once; and the exclusive PAMT_2M entry PAMT.ADD holds against a 4 KiB walk.
 * @see intel/tdx-module 2.0.08 (1666adc4) src/vmm_dispatcher/api_calls/tdh_phymem_pamt_add.c,
 *   tdh_phymem_pamt_remove.c, tdh_sys_config.c, tdh_mem_page_demote.c, tdh_mem_page_promote.c,
 *   src/common/helpers/helpers.c non_shared_hpa_metadata_check_and_lock(); pamt_manager.c
 *   pamt_walk(), pamt_demote(), pamt_promote() of the Dynamic PAMT trees
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Host, L, ServerClient } from './serverClient.js';
import type { CallOut, Regs } from './serverClient.js';

let client: ServerClient;
beforeAll(() => {
  client = new ServerClient();
});
afterAll(async () => {
  await client.close();
});

const TDR = 0x40000000n;
const X = { DEMOTE: 15n, PROMOTE: 23n, REMOVE: 29n, PAMT_ADD: 58n, PAMT_REMOVE: 59n } as const;
const DYNAMIC = 32n | (1n << 16n);

const OPERAND_INVALID_RAX = 0xc000010000000000n;
const OPERAND_INVALID_RCX = 0xc000010000000001n;
const OPERAND_INVALID_RDX = 0xc000010000000002n;
const OPERAND_INVALID_R12 = 0xc00001000000000cn;
const ADDR_RANGE_ERROR_RDX = 0xc000010100000002n;
const PAGE_METADATA_INCORRECT_RCX = 0xc000030000000001n;
const PAGE_NOT_FREE_RDX = 0xc000030300000002n;
const PAGE_NOT_FREE_R8 = 0xc000030300000008n;
const HPA_RANGE_NOT_FREE_RCX = 0xc000030400000001n;
const NO_PAMT_PAGE_PAIR_RCX = 0xc000030500000001n;
const PAMT_PAGE_NOT_EMPTY_0 = 0xc000030600000000n;
const MISSING_PAMT_PAGE_PAIR_RCX = 0x8000030800000001n;
const MISSING_PAMT_PAGE_PAIR_R8 = 0x8000030800000008n;
const BUSY_RCX = 0x8000020000000001n;

const hx = (v: bigint): string => `0x${v.toString(16)}`;
const st = (o: CallOut): string => hx(o.status);

async function withHost(module: string, configR8: bigint, fn: (h: Host) => Promise<void>): Promise<void> {
  const h = await Host.create(client, { module });
  try {
    await h.boot('S5', configR8);
    await fn(h);
  } finally {
    await h.destroy();
  }
}

/** A TD (HKID 33) whose control pages and SEPT pages lie in the 2 MiB range at TDR, given a pair first. */
async function td(h: Host): Promise<void> {
  const ok = async (lp: number, regs: Regs): Promise<void> => {
    expect(st(await h.call(lp, regs))).toBe('0x0');
  };
  // The pair lies inside the range it describes (such pages are not walked, only marked in the bitmap).
  await ok(0, { rax: X.PAMT_ADD, rcx: TDR | 1n, rdx: TDR + 0x100000n, r8: TDR + 0x101000n });
  await h.initTd(TDR);
  await ok(0, { rax: L.MEM_SEPT_ADD, rcx: 3n, rdx: TDR, r8: 0x40040000n });
  await ok(0, { rax: L.MEM_SEPT_ADD, rcx: 2n, rdx: TDR, r8: 0x40041000n });
  await ok(0, { rax: L.MEM_SEPT_ADD, rcx: 0x1n, rdx: TDR, r8: 0x40043000n });
}

describe('Dynamic PAMT (2.0.08, TDH.SYS.CONFIG R8 bit 16)', () => {
  it('4 KiB pages need their range\'s PAMT page pair: MISSING_PAMT_PAGE_PAIR with the operand id; 2 MiB pages do not; the pair pages themselves are refused', () =>
    withHost('2.0.08', DYNAMIC, async (h) => {
      expect(hx((await h.call(0, { rax: L.MNG_CREATE, rcx: TDR, rdx: 33n })).status)).toBe(hx(MISSING_PAMT_PAGE_PAIR_RCX));
      await td(h);
      // A page in use as a PAMT page: PAGE_METADATA_INCORRECT (the PAMT_PAGE_BITMAP check).
      expect(hx((await h.call(0, { rax: L.MNG_CREATE, rcx: TDR + 0x100000n, rdx: 34n })).status)).toBe(hx(PAGE_METADATA_INCORRECT_RCX));
      expect(hx((await h.call(0, { rax: L.MEM_PAGE_AUG, rcx: 0x1000n, rdx: TDR, r8: 0x20401000n })).status)).toBe(hx(MISSING_PAMT_PAGE_PAIR_R8));
      expect(st(await h.call(0, { rax: L.MEM_PAGE_AUG, rcx: 0x200000n | 1n, rdx: TDR, r8: 0x20200000n }))).toBe('0x0');
      expect(st(await h.call(0, { rax: X.PAMT_ADD, rcx: 0x20400000n | 1n, rdx: 0x30002000n, r8: 0x30003000n }))).toBe('0x0');
      expect(st(await h.call(0, { rax: L.MEM_PAGE_AUG, rcx: 0x1000n, rdx: TDR, r8: 0x20401000n }))).toBe('0x0');
      // PAMT.REMOVE of a range with a 4 KiB page in its first 1 MiB: PAMT_PAGE_NOT_EMPTY with operand id 0 (page 0 of the pair).
      expect(hx((await h.call(0, { rax: X.PAMT_REMOVE, rcx: 0x20400000n | 1n })).status)).toBe(hx(PAMT_PAGE_NOT_EMPTY_0));
      const rm = await h.call(0, { rax: X.REMOVE, rcx: 0x1000n, rdx: TDR });
      expect([st(rm), hx(rm.rcx)]).toEqual(['0x0', '0x20401000']);
      const out = await h.call(0, { rax: X.PAMT_REMOVE, rcx: 0x20400000n | 1n });
      expect([st(out), hx(out.rdx), hx(out.r8)]).toEqual(['0x0', '0x30002000', '0x30003000']);
      expect(hx((await h.call(0, { rax: X.PAMT_REMOVE, rcx: 0x20400000n | 1n })).status)).toBe(hx(NO_PAMT_PAGE_PAIR_RCX));
      // The pages are free again: a new pair may use them.
      expect(st(await h.call(0, { rax: X.PAMT_ADD, rcx: 0x20600000n | 1n, rdx: 0x30002000n, r8: 0x30003000n }))).toBe('0x0');
      const state = (await h.state())['module'] as { dynamicPamt: unknown };
      expect(state.dynamicPamt).toEqual([
        { range: '0x40000000', hpa0: '0x40100000', hpa1: '0x40101000' },
        { range: '0x20600000', hpa0: '0x30002000', hpa1: '0x30003000' },
      ]);
    }));

  it('PAMT.ADD check order: RCX, then RDX (format, block), then R8, then the range, then the pages, then the bitmap', () =>
    withHost('2.0.08', DYNAMIC, async (h) => {
      await td(h);
      const add = (rcx: bigint, rdx: bigint, r8: bigint): Promise<CallOut> => h.call(0, { rax: X.PAMT_ADD, rcx, rdx, r8 });
      expect(hx((await add(0x20400000n, 0x30000800n, 0x30001800n)).status)).toBe(hx(OPERAND_INVALID_RCX)); // level 0 and both pages misaligned
      expect(hx((await add(0x20400000n | 1n, 0x30000800n, 0x30001800n)).status)).toBe(hx(OPERAND_INVALID_RDX));
      expect(hx((await add(0x20400000n | 1n, 0x90000000n, 0x30001800n)).status)).toBe(hx(ADDR_RANGE_ERROR_RDX)); // 2-4 GiB is no TDMR
      // The range already has a pair, and hpa0 is a PT_TDR page: the range wins.
      expect(hx((await add(TDR | 1n, TDR, 0x30001000n)).status)).toBe(hx(HPA_RANGE_NOT_FREE_RCX));
      expect(hx((await add(0x20400000n | 1n, TDR, 0x30001000n)).status)).toBe(hx(PAGE_NOT_FREE_RDX));
      // The same page twice: the second bitmap bit is taken (and the first given back).
      expect(hx((await add(0x20400000n | 1n, 0x30000000n, 0x30000000n)).status)).toBe(hx(PAGE_NOT_FREE_R8));
      expect(hx((await add(0x20400000n | 1n, TDR + 0x100000n, 0x30000000n)).status)).toBe(hx(PAGE_NOT_FREE_RDX));
      expect(st(await add(0x20400000n | 1n, 0x30000000n, 0x30001000n))).toBe('0x0');
      // A 2 MiB leaf is not a free range.
      expect(st(await h.call(0, { rax: L.MEM_PAGE_AUG, rcx: 0x200000n | 1n, rdx: TDR, r8: 0x20200000n }))).toBe('0x0');
      expect(hx((await add(0x20200000n | 1n, 0x30002000n, 0x30003000n)).status)).toBe(hx(HPA_RANGE_NOT_FREE_RCX));
    }));

  it('PAGE.AUG: the Secure EPT walk and the entry state are checked before the page, so they win over a missing pair (tdh_mem_page_aug.c order)', () =>
    withHost('2.0.08', DYNAMIC, async (h) => {
      await td(h);
      // GPA 1 GiB: no level-2 SEPT page there, the walk stops at level 2.
      const walk = await h.call(0, { rax: L.MEM_PAGE_AUG, rcx: 0x40000000n, rdx: TDR, r8: 0x20401000n });
      expect([hx(walk.status), hx(walk.rdx)]).toEqual([hx(0xc0000b0000000001n), '0x2']);
      expect(st(await h.call(0, { rax: X.PAMT_ADD, rcx: 0x20600000n | 1n, rdx: 0x30000000n, r8: 0x30001000n }))).toBe('0x0');
      expect(st(await h.call(0, { rax: L.MEM_PAGE_AUG, rcx: 0x1000n, rdx: TDR, r8: 0x20601000n }))).toBe('0x0');
      // GPA 0x1000 is now PENDING: EPT_ENTRY_STATE_INCORRECT|RCX before the page's missing pair.
      expect(hx((await h.call(0, { rax: L.MEM_PAGE_AUG, rcx: 0x1000n, rdx: TDR, r8: 0x20401000n })).status)).toBe(hx(0xc0000b0d00000001n));
    }));

  it('PAMT.REMOVE check order: RCX format, then the TDMR block, then the node; a non-empty second page is PAMT_PAGE_NOT_EMPTY with operand id 1', () =>
    withHost('2.0.08', DYNAMIC, async (h) => {
      await td(h);
      const remove = (rcx: bigint): Promise<CallOut> => h.call(0, { rax: X.PAMT_REMOVE, rcx });
      // Level 1 but not 2 MiB aligned, in a range without a pair: the format wins.
      expect(hx((await remove(0x20401000n | 1n)).status)).toBe(hx(OPERAND_INVALID_RCX));
      expect(hx((await remove(0x90000000n | 1n)).status)).toBe(hx(0xc000010100000001n)); // 2-4 GiB is no TDMR
      expect(st(await h.call(0, { rax: L.MEM_PAGE_AUG, rcx: 0x200000n | 1n, rdx: TDR, r8: 0x20200000n }))).toBe('0x0');
      expect(hx((await remove(0x20200000n | 1n)).status)).toBe(hx(NO_PAMT_PAGE_PAIR_RCX)); // a 2 MiB leaf is no PT_PAMT node
      expect(st(await h.call(0, { rax: X.PAMT_ADD, rcx: 0x20400000n | 1n, rdx: 0x30000000n, r8: 0x30001000n }))).toBe('0x0');
      // A page in the second 1 MiB of the range: its entry lives in page 1 of the pair.
      expect(st(await h.call(0, { rax: L.MEM_PAGE_AUG, rcx: 0x1000n, rdx: TDR, r8: 0x20500000n }))).toBe('0x0');
      expect(hx((await remove(0x20400000n | 1n)).status)).toBe(hx(PAMT_PAGE_NOT_EMPTY_0 + 1n));
    }));

  it('DEMOTE takes the new 4 KiB PAMT pair in R12/R13 (checked after the new SEPT page); PROMOTE returns it in R12/R13', () =>
    withHost('2.0.08', DYNAMIC, async (h) => {
      await td(h);
      expect(st(await h.call(0, { rax: L.MEM_PAGE_AUG, rcx: 0x200000n | 1n, rdx: TDR, r8: 0x20200000n }))).toBe('0x0');
      const demote = (r12: bigint, r13: bigint): Promise<CallOut> => h.call(0, { rax: X.DEMOTE, rcx: 0x200000n | 1n, rdx: TDR, r8: 0x40042000n, r12, r13 });
      expect(hx((await demote(1n, 0x30005000n)).status)).toBe(hx(OPERAND_INVALID_R12));
      expect(st(await demote(0x30004000n, 0x30005000n))).toBe('0x0');
      const md = await h.call(1, { rax: L.PHYMEM_PAGE_RDMD, rcx: 0x20201000n });
      expect([st(md), md.rcx, md.r8]).toEqual(['0x0', 3n, 0n]);
      const p = await h.call(0, { rax: X.PROMOTE, rcx: 0x200000n | 1n, rdx: TDR });
      expect([st(p), hx(p.rcx), hx(p.r12), hx(p.r13)]).toEqual(['0x0', '0x40042000', '0x30004000', '0x30005000']);
      // The pair is free again.
      expect(st(await h.call(0, { rax: X.PAMT_ADD, rcx: 0x20400000n | 1n, rdx: 0x30004000n, r8: 0x30005000n }))).toBe('0x0');
    }));

  it('PAMT.ADD holds the PAMT_2M entry exclusive: a 4 KiB walk in the range gets OPERAND_BUSY|RCX until it completes; a 4 KiB AUG in flight makes PAMT.REMOVE busy', () =>
    withHost('2.0.08', DYNAMIC, async (h) => {
      await td(h);
      const add = await h.begin(0, { rax: X.PAMT_ADD, rcx: 0x20400000n | 1n, rdx: 0x30000000n, r8: 0x30001000n });
      expect(hx((await h.call(1, { rax: L.PHYMEM_PAGE_RDMD, rcx: 0x20401000n })).status)).toBe(hx(BUSY_RCX));
      expect(hx((await h.call(2, { rax: X.PAMT_ADD, rcx: 0x20400000n | 1n, rdx: 0x30002000n, r8: 0x30003000n })).status)).toBe(hx(BUSY_RCX));
      expect(st(await h.end(add))).toBe('0x0');
      expect(st(await h.call(1, { rax: L.PHYMEM_PAGE_RDMD, rcx: 0x20401000n }))).toBe('0x0');
      const aug = await h.begin(1, { rax: L.MEM_PAGE_AUG, rcx: 0x1000n, rdx: TDR, r8: 0x20401000n });
      expect(hx((await h.call(0, { rax: X.PAMT_REMOVE, rcx: 0x20400000n | 1n })).status)).toBe(hx(BUSY_RCX));
      expect(st(await h.end(aug))).toBe('0x0');
      expect(hx((await h.call(0, { rax: X.PAMT_REMOVE, rcx: 0x20400000n | 1n })).status)).toBe(hx(PAMT_PAGE_NOT_EMPTY_0));
    }));

  it('without R8 bit 16 at SYS.CONFIG the leaves answer OPERAND_INVALID|RAX and 4 KiB pages need no pair; on 1.5.01 bit 16 is a reserved bit', async () => {
    await withHost('2.0.08', 32n, async (h) => {
      expect(hx((await h.call(0, { rax: X.PAMT_ADD, rcx: TDR | 1n, rdx: 0x30000000n, r8: 0x30001000n })).status)).toBe(hx(OPERAND_INVALID_RAX));
      expect(hx((await h.call(0, { rax: X.PAMT_REMOVE, rcx: TDR | 1n })).status)).toBe(hx(OPERAND_INVALID_RAX));
      expect(st(await h.call(0, { rax: L.MNG_CREATE, rcx: TDR, rdx: 33n }))).toBe('0x0');
    });
    const h = await Host.create(client, {});
    try {
      await h.boot('S2');
      await h.writeCfgA();
      expect(hx((await h.config(DYNAMIC)).status)).toBe(hx(0xc000010000000008n));
    } finally {
      await h.destroy();
    }
  });
});
