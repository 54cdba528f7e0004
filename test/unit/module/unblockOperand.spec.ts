/**
 * TDH.MEM.RANGE.UNBLOCK before TDH.MEM.TRACK in a RUNNABLE TD: TDX_TLB_TRACKING_NOT_DONE with the
 * release's operand id, SEPT_TREE (146) in 1.5.01 and RCX (1) from 1.5.05 on; PAGE.REMOVE reports
 * RCX in both. Through the SEAMCALL server on the `ref` preset, one machine per release.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mem_range_unblock.c
 * @see intel/tdx-module 1.5.05 (e98d9639), niooss-ledger/tdx-module f99767b
 *   src/vmm_dispatcher/api_calls/tdh_mem_range_unblock.c
 * @see intel/tdx-module 2.0.08 (1666adc4) src/vmm_dispatcher/api_calls/tdh_mem_range_unblock.c
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MODULE_PROFILE_NAMES, moduleProfile } from '../../../src/module/profiles.js';
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
const X = { BLOCK: 7n, MR_FINALIZE: 17n, REMOVE: 29n, TRACK: 38n, UNBLOCK: 39n } as const;
const s = (o: CallOut): string => `0x${o.status.toString(16)}`;

/**
 * S5, a RUNNABLE TD (HKID 33, one VCPU) with GPA 0x2000 AUGed as a 4 KiB page and blocked; then
 * UNBLOCK and PAGE.REMOVE before TRACK, and UNBLOCK after it: the three statuses.
 */
async function unblockUntracked(h: Host): Promise<string[]> {
  await h.boot('S5');
  const ok = async (lp: number, regs: Parameters<Host['call']>[1]): Promise<void> => {
    expect(s(await h.call(lp, regs))).toBe('0x0');
  };
  await h.initTd(TDR);
  for (const [i, level] of [3, 2, 1].entries()) {
    await ok(0, { rax: L.MEM_SEPT_ADD, rcx: BigInt(level), rdx: TDR, r8: 0x40010000n + BigInt(i * 0x1000) });
  }
  await ok(0, { rax: L.VP_CREATE, rcx: TDVPR, rdx: TDR });
  for (let i = 0; i < 5; i++) {
    await ok(0, { rax: L.VP_ADDCX, rcx: 0x4000b000n + BigInt(i * 0x1000), rdx: TDVPR });
  }
  await ok(0, { rax: L.VP_INIT, rcx: TDVPR, rdx: 0x1000n });
  await ok(0, { rax: X.MR_FINALIZE, rcx: TDR });
  await ok(0, { rax: L.MEM_PAGE_AUG, rcx: 0x2000n, rdx: TDR, r8: 0x40015000n });
  await ok(0, { rax: X.BLOCK, rcx: 0x2000n, rdx: TDR });
  const unblock = s(await h.call(0, { rax: X.UNBLOCK, rcx: 0x2000n, rdx: TDR }));
  const remove = s(await h.call(0, { rax: X.REMOVE, rcx: 0x2000n, rdx: TDR }));
  await ok(0, { rax: X.TRACK, rcx: TDR });
  const tracked = s(await h.call(0, { rax: X.UNBLOCK, rcx: 0x2000n, rdx: TDR }));
  return [unblock, remove, tracked];
}

const SEPT_TREE = '0xc0000b0800000092';
const RCX = '0xc0000b0800000001';

describe('TDH.MEM.RANGE.UNBLOCK: the TLB_TRACKING_NOT_DONE operand per release', () => {
  for (const [module, unblock] of [
    ['1.5.01', SEPT_TREE],
    ['1.5.05', RCX],
    ['1.5.06', RCX],
    ['2.0.08', RCX],
  ] as const) {
    it(`${module}: UNBLOCK before TRACK ${unblock === RCX ? 'RCX' : 'SEPT_TREE'}, PAGE.REMOVE RCX, UNBLOCK after TRACK succeeds`, () =>
      Host.using(client, async (h) => expect(await unblockUntracked(h)).toEqual([unblock, RCX, '0x0']), { module }));
  }

  it('every release names its operand and where it comes from (read, or assumed between releases read)', () => {
    const rows = MODULE_PROFILE_NAMES.map((n) => {
      const p = moduleProfile(n).unblockTlbOperand;
      return [n, p.value, p.source.startsWith('not read') ? 'assumed' : 'read'];
    });
    expect(rows).toEqual([
      ['1.0', 'SEPT_TREE', 'read'],
      ['1.5.01', 'SEPT_TREE', 'read'],
      ['1.5.05', 'RCX', 'read'],
      ['1.5.06', 'RCX', 'assumed'],
      ['1.5.08', 'RCX', 'assumed'],
      ['1.5.09', 'RCX', 'assumed'],
      ['1.5.13', 'RCX', 'assumed'],
      ['1.5.16', 'RCX', 'assumed'],
      ['1.5.28', 'RCX', 'assumed'],
      ['1.5.34', 'RCX', 'read'],
      ['2.0.02', 'RCX', 'read'],
      ['2.0.04', 'RCX', 'assumed'],
      ['2.0.05', 'RCX', 'assumed'],
      ['2.0.08', 'RCX', 'read'],
      ['2.0.16', 'RCX', 'assumed'],
      ['2.0.18', 'RCX', 'read'],
    ]);
  });
});
