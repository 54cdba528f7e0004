/**
 * PAMT walks lock the 1G and 2M parents (module audit row 13): every walk takes the PAMT_1G entry
 * shared, then the PAMT_2M entry shared, promoted to exclusive for a 2M leaf (promote_sharex_lock_hp
 * needs a single reader), then the PAMT_4K entry. So a 2 MiB TDH.MEM.PAGE.AUG fails
 * OPERAND_BUSY|R8 while a 4K operation in that 2 MiB range is in flight, and a 4K operation fails
 * OPERAND_BUSY|operand while a 2 MiB AUG of its range is in flight. Interleaved SEAMCALLs through
 * the server's seamcall.begin/end.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/common/memory_handlers/pamt_manager.c pamt_walk(),
 *   src/common/helpers/tdx_locks.h promote_sharex_lock_hp()
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
const SUCCESS = '0x0000000000000000';
const BUSY_RCX = '0x8000020000000001';
const BUSY_R8 = '0x8000020000000008';
const PAGE_METADATA_INCORRECT_R8 = '0xc000030000000008';
const st = (o: CallOut): string => `0x${o.status.toString(16).padStart(16, '0')}`;

/** S5, a TD initialized with HKID 33, and SEPT pages for GPA 0-1 GiB (levels 3 and 2). */
async function tdWithSept(h: Host): Promise<void> {
  await h.boot('S5');
  await h.initTd(TDR);
  expect(st(await h.call(0, { rax: L.MEM_SEPT_ADD, rcx: 3n, rdx: TDR, r8: 0x40040000n }))).toBe(SUCCESS);
  expect(st(await h.call(0, { rax: L.MEM_SEPT_ADD, rcx: 2n, rdx: TDR, r8: 0x40041000n }))).toBe(SUCCESS);
}

const withHost = (fn: (h: Host) => Promise<void>): Promise<void> => Host.using(client, fn);

describe('PAMT 1G/2M parent locks (audit row 13)', () => {
  it('a 2M PAGE.AUG fails OPERAND_BUSY|R8 while MNG.CREATE of a 4K page in that 2M range is in flight', () =>
    withHost(async (h) => {
      await tdWithSept(h);
      const create = await h.begin(0, { rax: L.MNG_CREATE, rcx: 0x20201000n, rdx: 34n });
      expect(st(await h.call(1, { rax: L.MEM_PAGE_AUG, rcx: 0x200000n | 1n, rdx: TDR, r8: 0x20200000n }))).toBe(BUSY_R8);
      // A 2M AUG of another 2 MiB range in the same 1 GiB proceeds (the 1G entry is shared by both).
      expect(st(await h.call(1, { rax: L.MEM_PAGE_AUG, rcx: 0x400000n | 1n, rdx: TDR, r8: 0x20400000n }))).toBe(SUCCESS);
      expect(st(await h.end(create))).toBe(SUCCESS);
      // Afterwards the range holds a PT_TDR page, so the AUG fails on the PAMT check, not the lock.
      expect(st(await h.call(1, { rax: L.MEM_PAGE_AUG, rcx: 0x200000n | 1n, rdx: TDR, r8: 0x20200000n }))).toBe(PAGE_METADATA_INCORRECT_R8);
    }));
  it('4K walks (RDMD, MNG.CREATE, PAGE.WBINVD) in a 2 MiB range fail OPERAND_BUSY|RCX while a 2M PAGE.AUG of it is in flight', () =>
    withHost(async (h) => {
      await tdWithSept(h);
      const aug = await h.begin(0, { rax: L.MEM_PAGE_AUG, rcx: 0x200000n | 1n, rdx: TDR, r8: 0x20200000n });
      expect(st(await h.call(1, { rax: L.PHYMEM_PAGE_RDMD, rcx: 0x20201000n }))).toBe(BUSY_RCX);
      expect(st(await h.call(1, { rax: L.MNG_CREATE, rcx: 0x20202000n, rdx: 34n }))).toBe(BUSY_RCX);
      expect(st(await h.call(2, { rax: L.PHYMEM_PAGE_WBINVD, rcx: 0x201ff000n + 0x4000n }))).toBe(BUSY_RCX);
      // The neighbouring 2 MiB range is not locked.
      expect(st(await h.call(1, { rax: L.PHYMEM_PAGE_RDMD, rcx: 0x20401000n }))).toBe(SUCCESS);
      expect(st(await h.end(aug))).toBe(SUCCESS);
      // After the AUG: the 4K page reads as part of a 2M PT_REG leaf (RCX = PT_REG, R8 = PT_2MB).
      const md = await h.call(1, { rax: L.PHYMEM_PAGE_RDMD, rcx: 0x20201000n });
      expect([st(md), md.rcx, md.r8]).toEqual([SUCCESS, 3n, 1n]);
    }));
  it('two 4K walks in one 2 MiB range run at once (the 2M entry is shared by both)', () =>
    withHost(async (h) => {
      await tdWithSept(h);
      const create = await h.begin(0, { rax: L.MNG_CREATE, rcx: 0x20201000n, rdx: 34n });
      // (A second MNG.CREATE would meet the KOT lock: OPERAND_BUSY|KOT; RDMD and WBINVD do not take it.)
      expect(st(await h.call(1, { rax: L.PHYMEM_PAGE_RDMD, rcx: 0x20202000n }))).toBe(SUCCESS);
      expect(st(await h.call(2, { rax: L.PHYMEM_PAGE_WBINVD, rcx: 0x20203000n }))).toBe(SUCCESS);
      expect(st(await h.end(create))).toBe(SUCCESS);
    }));
});
