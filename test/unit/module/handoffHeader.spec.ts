/**
 * Module audit row 24: NUM_HANDOFF_PAGES and the handoff header fields of TDH.SYS.RD, as the
 * module source and Intel's published SIGSTRUCTs determine them, read on a fresh module, in the
 * module that finds its predecessor's TDH.SYS.SHUTDOWN header, and after TDH.SYS.UPDATE; and
 * TDH.SYS.INIT's check of NUM_HANDOFF_PAGES against TDX_MIN_HANDOFF_PAGES. In-process.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/common/metadata_handlers/metadata_sys.c,
 *   tdh_sys_shutdown.c, tdh_sys_update.c, tdh_sys_init.c check_module_build_time_defs(),
 *   src/common/helpers/helpers.c prepare_handoff_data()
 */
import { describe, expect, it } from 'vitest';

import type { ModuleMachine } from '../../../src/machine/moduleMachine.js';
import type { ModuleProfileName } from '../../../src/module/profiles.js';
import { preset } from '../../../src/platform/presets.js';
import type { PlatformSpec } from '../../../src/platform/spec.js';
import { cpuId } from '../../../src/base/ids.js';
import { seamcallRegs as call, vmxModuleMachine } from '../../__test-helpers__/moduleMachine.js';
import { CFG_A, cfgA, encodeTdmrInfo, encodeU64s } from './cfgA.js';

const NUM_HANDOFF_PAGES = 0x8900000100000003n;
const HANDOFF_DATA_VALID = 0x8900000000000004n;
const HANDOFF_DATA_HV = 0x8900000100000005n;
const HANDOFF_DATA_SIZE = 0x8900000200000006n;
const FIELDS = [NUM_HANDOFF_PAGES, HANDOFF_DATA_VALID, HANDOFF_DATA_HV, HANDOFF_DATA_SIZE] as const;

function mk(profile: ModuleProfileName, overrides?: Record<string, number>): ModuleMachine {
  const ref = preset('ref') as PlatformSpec;
  const spec: PlatformSpec = overrides === undefined ? ref : { ...ref, tdxModule: { ...ref.tdxModule, overrides } };
  return vmxModuleMachine(spec, { module: profile });
}
const hx = (v: bigint): string => `0x${v.toString(16)}`;
/** SYS.INIT and LP.INIT on every LP (enough for TDH.SYS.RD and TDH.SYS.UPDATE). */
function initLps(m: ModuleMachine): void {
  expect(hx(call(m, 0, { rax: 33n }).rax)).toBe('0x0');
  for (const lp of [0, 1, 2, 3]) {
    expect(hx(call(m, lp, { rax: 35n }).rax)).toBe('0x0');
  }
}
/** From LP.INIT to SYS_READY: CONFIG (the cfgA TDMRs), KEY.CONFIG on both packages, TDMR.INIT of both TDMRs. */
function ready(m: ModuleMachine): void {
  const [a, b] = cfgA();
  const cpu0 = m.platform.cpu(cpuId(0));
  m.platform.store(cpu0, CFG_A.info0, encodeTdmrInfo(a), 0, 'host');
  m.platform.store(cpu0, CFG_A.info1, encodeTdmrInfo(b), 0, 'host');
  m.platform.store(cpu0, CFG_A.array, encodeU64s([0x10000000n, 0x10000200n]), 0, 'host');
  expect(hx(call(m, 0, { rax: 45n, rcx: 0x10001000n, rdx: 2n, r8: 32n }).rax)).toBe('0x0');
  expect(hx(call(m, 0, { rax: 31n }).rax)).toBe('0x0');
  expect(hx(call(m, 2, { rax: 31n }).rax)).toBe('0x0');
  for (const [base, n] of [
    [0n, 512],
    [0x100000000n, 1024],
  ] as const) {
    for (let i = 0; i < n; i++) {
      expect(call(m, 0, { rax: 36n, rcx: base }).rax).toBe(0n);
    }
  }
}
/** [status, value] of the four handoff fields, in FIELDS order. */
function readHandoff(m: ModuleMachine): string[][] {
  return FIELDS.map((id) => {
    const o = call(m, 0, { rax: 34n, rdx: id });
    return [hx(o.rax), hx(o.r8)];
  });
}

describe('module audit row 24: handoff metadata', () => {
  it('1.5.01: NUM_HANDOFF_PAGES 13; header zero, then 1/0/53386 from SYS.SHUTDOWN, then 0/0/0 after SYS.UPDATE', () => {
    const m = mk('1.5.01');
    initLps(m);
    ready(m);
    expect(readHandoff(m)).toEqual([
      ['0x0', '0xd'],
      ['0x0', '0x0'],
      ['0x0', '0x0'],
      ['0x0', '0x0'],
    ]);
    expect(hx(call(m, 0, { rax: 52n, rcx: 0n }).rax)).toBe('0x0');
    // The shut-down module answers nothing but LP.SHUTDOWN: TDX_SYS_SHUTDOWN.
    expect(hx(call(m, 0, { rax: 34n, rdx: HANDOFF_DATA_SIZE }).rax)).toBe('0xc000050600000000');
    m.module.installUpdate();
    initLps(m);
    // 53386 = 0xd08a bytes after the 8-byte header (KOT + WBT + TDMR table + 10 bytes).
    expect(readHandoff(m)).toEqual([
      ['0x0', '0xd'],
      ['0x0', '0x1'],
      ['0x0', '0x0'],
      ['0x0', '0xd08a'],
    ]);
    expect(hx(call(m, 0, { rax: 53n }).rax)).toBe('0x0');
    expect(readHandoff(m)).toEqual([
      ['0x0', '0xd'],
      ['0x0', '0x0'],
      ['0x0', '0x0'],
      ['0x0', '0x0'],
    ]);
    // A second update without a SYS.SHUTDOWN finds the cleared header: INVALID_HANDOFF.
    m.module.installUpdate();
    initLps(m);
    expect(hx(call(m, 0, { rax: 53n }).rax)).toBe('0xc000050900000000');
  });

  it('per release: NUM_HANDOFF_PAGES from the SIGSTRUCT, HANDOFF_DATA_SIZE from the handoff code (0 where unknown)', () => {
    const seen = (['1.5.06', '1.5.16', '1.5.28', '2.0.08', '2.0.18'] as const).map((p) => {
      const m = mk(p);
      initLps(m);
      ready(m);
      expect(hx(call(m, 0, { rax: 52n, rcx: 0n }).rax)).toBe('0x0');
      m.module.installUpdate();
      initLps(m);
      const [pages, valid, , size] = readHandoff(m).map(([, v]) => v);
      return [p, pages, valid, size];
    });
    expect(seen).toEqual([
      ['1.5.06', '0xd', '0x1', '0xd08a'],
      ['1.5.16', '0xd', '0x1', '0x0'],
      ['1.5.28', '0x0', '0x1', '0xdff8'],
      ['2.0.08', '0x18', '0x1', '0x0'],
      ['2.0.18', '0x0', '0x1', '0x0'],
    ]);
  });

  it('SYS.INIT: NUM_HANDOFF_PAGES + 1 below TDX_MIN_HANDOFF_PAGES (14) is TDX_SYS_INCOMPATIBLE_SIGSTRUCT, checked after the state', () => {
    const m = mk('1.5.01', { NUM_HANDOFF_PAGES: 12 });
    expect(hx(call(m, 0, { rax: 33n }).rax)).toBe('0xc000050a00000000');
    expect(m.module.state.sysState).toBe(0);
    expect(hx(call(m, 0, { rax: 33n, rcx: 1n }).rax)).toBe('0xc000010000000001'); // reserved attributes first
    const ok = mk('1.5.01', { NUM_HANDOFF_PAGES: 13 });
    expect(hx(call(ok, 0, { rax: 33n }).rax)).toBe('0x0');
    // 2.0.08 has no known minimum in the model: no check.
    const two = mk('2.0.08', { NUM_HANDOFF_PAGES: 0 });
    expect(hx(call(two, 0, { rax: 33n }).rax)).toBe('0x0');
  });
});
