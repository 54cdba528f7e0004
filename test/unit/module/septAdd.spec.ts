/**
 * TDH.MEM.SEPT.ADD (3) as the 1.5.01 source runs it (module audit rows 16, 17, 18, 22): RDX is a
 * TD handle with ALLOW_EXISTING in bit 0 and reserved bits 11:1 and 63:52; version 1 writes R8-R11
 * back on exit; a version above 1 passes the dispatcher and is refused by the leaf after RCX/RDX
 * were zeroed; a new Secure EPT page holds SEPTE_INIT_VALUE (0x80E0000000000000) entries.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mem_sept_add.c,
 *   src/vmm_dispatcher/tdx_vmm_dispatcher.c, sept_manager.h SEPTE_INIT_VALUE
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
const NULL_PA = 0xffffffffffffffffn;
const BIT63 = 1n << 63n;
const OPERAND_INVALID_RAX = 0xc000010000000000n;
const OPERAND_INVALID_RCX = 0xc000010000000001n;
const OPERAND_INVALID_RDX = 0xc000010000000002n;
const OPERAND_INVALID_R8 = 0xc000010000000008n;
const OPERAND_INVALID_R9 = 0xc000010000000009n;
const EPT_ENTRY_STATE_INCORRECT_RCX = 0xc0000b0d00000001n;
const PAGE_METADATA_INCORRECT_RDX = 0xc000030000000002n;

const hx = (v: bigint): string => `0x${v.toString(16)}`;
const st = (o: CallOut): string => hx(o.status);

async function withTd(fn: (h: Host) => Promise<void>): Promise<void> {
  const h = await Host.create(client, {});
  try {
    await h.boot('S5');
    await h.initTd(TDR);
    await fn(h);
  } finally {
    await h.destroy();
  }
}

describe('TDH.MEM.SEPT.ADD (1.5.01)', () => {
  it('version 2 passes the dispatcher; the leaf zeroes RCX/RDX, then OPERAND_INVALID|RAX, leaving R8-R11 (row 18)', () =>
    withTd(async (h) => {
      const o = await h.call(0, { rax: L.MEM_SEPT_ADD | (2n << 16n), rcx: 3n, rdx: TDR | 2n, r8: 0x40040000n, r9: 5n });
      expect([hx(o.status), o.rcx, o.rdx, hx(o.r8), o.r9]).toEqual([hx(OPERAND_INVALID_RAX), 0n, 0n, '0x40040000', 5n]);
      // A version on an unversioned leaf is still refused by the dispatcher, registers untouched.
      const u = await h.call(0, { rax: L.MEM_PAGE_AUG | (1n << 16n), rcx: 3n, rdx: TDR });
      expect([hx(u.status), u.rcx, hx(u.rdx)]).toEqual([hx(OPERAND_INVALID_RAX), 3n, hx(TDR)]);
    }));

  it('RDX: reserved bits 11:1 before the TDR; bit 52 likewise; a non-TDR page after (row 17)', () =>
    withTd(async (h) => {
      expect(hx((await h.call(0, { rax: L.MEM_SEPT_ADD, rcx: 0n, rdx: TDR | 0x800n, r8: 0x40040000n })).status)).toBe(hx(OPERAND_INVALID_RDX));
      expect(hx((await h.call(0, { rax: L.MEM_SEPT_ADD, rcx: 0n, rdx: TDR | (1n << 52n), r8: 0x40040000n })).status)).toBe(hx(OPERAND_INVALID_RDX));
      expect(hx((await h.call(0, { rax: L.MEM_SEPT_ADD, rcx: 0n, rdx: 0x40001000n, r8: 0x40040000n })).status)).toBe(hx(PAGE_METADATA_INCORRECT_RDX));
      // Level 0 is not a SEPT.ADD level.
      expect(hx((await h.call(0, { rax: L.MEM_SEPT_ADD, rcx: 0n, rdx: TDR, r8: 0x40040000n })).status)).toBe(hx(OPERAND_INVALID_RCX));
    }));

  it('ALLOW_EXISTING (RDX bit 0): an existing SEPT page is accepted and the new page left unused; without it EPT_ENTRY_STATE_INCORRECT|RCX with the NL_MAPPED entry', () =>
    withTd(async (h) => {
      expect(st(await h.call(0, { rax: L.MEM_SEPT_ADD, rcx: 3n, rdx: TDR | 1n, r8: 0x40040000n }))).toBe('0x0');
      const again = await h.call(0, { rax: L.MEM_SEPT_ADD, rcx: 3n, rdx: TDR, r8: 0x40041000n });
      expect([hx(again.status), hx(again.rcx), hx(again.rdx)]).toEqual([hx(EPT_ENTRY_STATE_INCORRECT_RCX), '0x7', '0x8403']);
      expect(st(await h.call(0, { rax: L.MEM_SEPT_ADD, rcx: 3n, rdx: TDR | 1n, r8: 0x40041000n }))).toBe('0x0');
      // Version 1: the unused page comes back with bit 63 set, R9-R11 as given (NULL_PA).
      const v1 = await h.call(0, { rax: L.MEM_SEPT_ADD | (1n << 16n), rcx: 3n, rdx: TDR | 1n, r8: 0x40041000n, r9: NULL_PA, r10: NULL_PA, r11: NULL_PA });
      expect([st(v1), hx(v1.r8), v1.r9, v1.r10, v1.r11]).toEqual(['0x0', hx(0x40041000n | BIT63), NULL_PA, NULL_PA, NULL_PA]);
      // The page was not consumed: it can become the level-2 SEPT page.
      const used = await h.call(0, { rax: L.MEM_SEPT_ADD | (1n << 16n), rcx: 2n, rdx: TDR, r8: 0x40041000n, r9: NULL_PA, r10: NULL_PA, r11: NULL_PA });
      expect([st(used), used.r8]).toEqual(['0x0', NULL_PA]);
    }));

  it('version 1: R8 = NULL_PA needs an existing page (version 0: OPERAND_INVALID|R8); an L2 page for a TD without L2 VMs is OPERAND_INVALID|R9 (row 16)', () =>
    withTd(async (h) => {
      expect(hx((await h.call(0, { rax: L.MEM_SEPT_ADD, rcx: 3n, rdx: TDR, r8: NULL_PA })).status)).toBe(hx(OPERAND_INVALID_R8));
      const none = await h.call(0, { rax: L.MEM_SEPT_ADD | (1n << 16n), rcx: 3n, rdx: TDR, r8: NULL_PA, r9: NULL_PA, r10: NULL_PA, r11: NULL_PA });
      expect([hx(none.status), hx(none.rdx)]).toEqual([hx(EPT_ENTRY_STATE_INCORRECT_RCX), '0x3']);
      const l2 = await h.call(0, { rax: L.MEM_SEPT_ADD | (1n << 16n), rcx: 3n, rdx: TDR, r8: 0x40040000n, r9: 0x40041000n, r10: NULL_PA, r11: NULL_PA });
      // The error path writes R8-R11 back too (R8 unchanged: the page was not consumed).
      expect([hx(l2.status), hx(l2.r8), hx(l2.r9)]).toEqual([hx(OPERAND_INVALID_R9), '0x40040000', '0x40041000']);
    }));

  it('a new Secure EPT page holds SEPTE_INIT_VALUE entries under the TD KeyID (row 22)', () =>
    withTd(async (h) => {
      expect(st(await h.call(0, { rax: L.MEM_SEPT_ADD, rcx: 3n, rdx: TDR, r8: 0x40040000n }))).toBe('0x0');
      const bytes = await h.read(0x40040000, 16, 33);
      expect(Buffer.from(bytes).toString('hex')).toBe('000000000000e080000000000000e080');
      // The host (KeyID 0) sees TD-owned memory as zeros.
      expect(Buffer.from(await h.read(0x40040000, 8, 0)).toString('hex')).toBe('0000000000000000');
    }));
});
