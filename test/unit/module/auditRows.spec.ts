/**
 * Module audit rows 24 and 25 (docs: the audit of December 2026, rows fixed on this branch):
 * TDH.SYS.RD's HANDOFF_DATA_VALID and HANDOFF_DATA_HV read the live handoff header a module finds
 * in its data region after a TD-preserving update, and TDH.SYS.LP.INIT compares
 * IA32_CORE_CAPABILITIES (0xCF) first of its MSRs.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/common/metadata_handlers/metadata_sys.c,
 *   src/vmm_dispatcher/api_calls/tdh_sys_update.c, tdh_sys_lp_init.c check_msrs()
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Host, L, ServerClient } from './serverClient.js';

let client: ServerClient;
beforeAll(() => {
  client = new ServerClient();
});
afterAll(async () => {
  await client.close();
});

const HANDOFF_DATA_VALID = 0x8900000000000004n;
const HANDOFF_DATA_HV = 0x8900000100000005n;
const hx = (v: bigint): string => `0x${v.toString(16)}`;

const withHost = (fn: (h: Host) => Promise<void>): Promise<void> => Host.using(client, fn);

describe('module audit rows 24 and 25', () => {
  it('row 24: HANDOFF_DATA_VALID/HV are 0 on a fresh module, 1/hv in the module that inherits SYS.SHUTDOWN\'s handoff data, 0 after SYS.UPDATE', () =>
    withHost(async (h) => {
      await h.boot('S5');
      const rd = async (id: bigint): Promise<[string, string]> => {
        const o = await h.call(0, { rax: L.SYS_RD, rdx: id });
        return [hx(o.status), hx(o.r8)];
      };
      expect(await rd(HANDOFF_DATA_VALID)).toEqual(['0x0', '0x0']);
      expect(hx((await h.call(0, { rax: L.SYS_SHUTDOWN, rcx: 0n })).status)).toBe('0x0');
      await h.client.call('module.update', { machine: h.machine });
      expect(hx((await h.call(0, { rax: L.SYS_INIT })).status)).toBe('0x0');
      for (let lp = 0; lp < 4; lp++) {
        expect(hx((await h.call(lp, { rax: L.SYS_LP_INIT })).status)).toBe('0x0');
      }
      // The new module answers SYS.RD before SYS_READY (once its LP is initialized).
      expect(await rd(HANDOFF_DATA_VALID)).toEqual(['0x0', '0x1']);
      expect(await rd(HANDOFF_DATA_HV)).toEqual(['0x0', '0x0']);
      expect(hx((await h.call(0, { rax: L.SYS_UPDATE })).status)).toBe('0x0');
      expect(await rd(HANDOFF_DATA_VALID)).toEqual(['0x0', '0x0']);
    }));

  it('row 25: LP.INIT with IA32_CORE_CAPABILITIES and IA32_ARCH_CAPABILITIES both differing from SYS.INIT\'s LP: INCONSISTENT_MSR|0xCF wins', () =>
    withHost(async (h) => {
      await h.boot('S1');
      await h.client.call('lp.set', { machine: h.machine, lp: 1, msrs: { '0xcf': '0x20', '0x10a': '0x1' } });
      expect(hx((await h.call(1, { rax: L.SYS_LP_INIT })).status)).toBe(hx(0xc0000920000000cfn));
      await h.client.call('lp.set', { machine: h.machine, lp: 2, msrs: { '0x10a': '0x1' } });
      expect(hx((await h.call(2, { rax: L.SYS_LP_INIT })).status)).toBe(hx(0xc00009200000010an));
    }));
});
