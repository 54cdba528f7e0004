/**
 * Checks 1.5.05 added to TDH.VP.INIT and TDH.SYS.INIT, per release (`ModuleProfile.vpInit`,
 * `sysInitMsrChecks`), with two errors at once to show the order. In-process, on the ref preset.
 *
 * VP.INIT version 1 (R8 = x2APIC ID): the leaf refuses a version above 1 (OPERAND_INVALID|RAX), an
 * ID above 32 bits (OPERAND_INVALID|R8, index given back) and an ID a lower VCPU index already has
 * (TDX_X2APIC_ID_NOT_UNIQUE|ID: 1.5.05 keeps the index taken, 2.0.08 gives it back); 2.0.08
 * compares IA32_TSC_ADJUST first, 1.5.05 last. 1.5.01's dispatcher refuses version 1.
 * SYS.INIT: from 1.5.05 IA32_MISC_ENABLE needs PERFMON_AVAILABLE (bit 7) set and BTS_UNAVAILABLE
 * (11) clear, after the boot-NT4 bit; IA32_VMX_PROCBASED_CTLS3 must allow 0xAE (1.5.01) or 0x2E
 * (1.5.05), plus bit 7 when CPUID.(7,2):EDX.DDPD is set (1.5.05); after the CPUID checks, before
 * the TME/KeyID ones.
 * @see intel/tdx-module 72d8cff (1.5.01), e98d9639 (1.5.05), 1666adc4 (2.0.08)
 *   src/vmm_dispatcher/api_calls/tdh_vp_init.c, tdh_sys_init.c; niooss-ledger/tdx-module f99767b
 */
import { describe, expect, it } from 'vitest';

import { cpuId } from '../../../src/base/ids.js';
import type { ModuleMachine } from '../../../src/machine/moduleMachine.js';
import type { ModuleProfileName } from '../../../src/module/profiles.js';
import { describeStatus } from '../../../src/module/status.js';
import { presetInput } from '../../../src/platform/presets.js';
import { parsePlatformSpec } from '../../../src/platform/spec.js';
import type { PlatformSpec } from '../../../src/platform/spec.js';
import { explainStatus } from '../../../src/tools/explain.js';
import { seamcallRegs as call, vmxModuleMachine } from '../../__test-helpers__/moduleMachine.js';
import { configureCfgA, tdParams } from './cfgA.js';

const TDR = 0x40000000;
const HKID = 33;
const L = { MNG_ADDCX: 1n, VP_ADDCX: 4n, MNG_KEY_CONFIG: 8n, MNG_CREATE: 9n, VP_CREATE: 10n, MNG_INIT: 21n, VP_INIT: 22n, SYS_INIT: 33n } as const;
/** TDH.VP.INIT version 1 (RAX bits 23:16). */
const VP_INIT_V1 = L.VP_INIT | (1n << 16n);
const VP_INIT_V2 = L.VP_INIT | (2n << 16n);

const SUCCESS = '0x0';
const OPERAND_INVALID = '0xc000010000000000';
const OPERAND_INVALID_R8 = '0xc000010000000008';
const OPERAND_INVALID_RCX = '0xc000010000000001';
const INCONSISTENT_TSC_ADJUST = '0xc00009200000003b';
const NOT_UNIQUE = (id: number): string => `0x${(0xc000_0621_0000_0000n | BigInt(id)).toString(16)}`;
const INCORRECT_MISC_ENABLE = '0xc0000921000001a0';
const INCORRECT_CTLS3 = '0xc000092100000492';
const INCORRECT_TME_ACTIVATE = '0xc000092100000982';
const LIMIT_CPUID_MAXVAL_SET = '0xc000090100000000';

const hx = (v: bigint): string => `0x${v.toString(16)}`;

type MsrOverride = { cpu: number; msr: string; value: string };
type CpuidOverride = { cpu: number; leaf: string; subleaf?: string; reg: 'eax' | 'ebx' | 'ecx' | 'edx'; xor: string };
function spec(msrOverrides: MsrOverride[] = [], cpuidOverrides: CpuidOverride[] = []): PlatformSpec {
  const r = parsePlatformSpec({ ...presetInput('ref'), msrOverrides, cpuidOverrides });
  if (!r.ok) {
    throw new Error(JSON.stringify(r.problems));
  }
  return r.spec;
}

/** SYS.INIT on LP 0 of `module` on the ref preset with these overrides: the status. */
function sysInit(module: ModuleProfileName, msrs: MsrOverride[], cpuid: CpuidOverride[] = [], rcx = 0n): string {
  return hx(call(vmxModuleMachine(spec(msrs, cpuid), { module }), 0, { rax: L.SYS_INIT, rcx }).rax);
}

/** The ref preset booted to S5 on `module`, then a TD created and initialized (MAX_VCPUS 8). */
function tdInitialized(module: ModuleProfileName): ModuleMachine {
  const m = vmxModuleMachine(spec(), { module });
  const host = (pa: number, b: Uint8Array): void => m.platform.store(m.platform.cpu(cpuId(0)), pa, b, 0, 'host');
  expect(call(m, 0, { rax: L.SYS_INIT }).rax).toBe(0n);
  for (let lp = 0; lp < 4; lp++) {
    expect(call(m, lp, { rax: 35n }).rax).toBe(0n);
  }
  configureCfgA(m);
  expect(call(m, 0, { rax: L.MNG_CREATE, rcx: BigInt(TDR), rdx: BigInt(HKID) }).rax).toBe(0n);
  expect(call(m, 0, { rax: L.MNG_KEY_CONFIG, rcx: BigInt(TDR) }).rax).toBe(0n);
  expect(call(m, 2, { rax: L.MNG_KEY_CONFIG, rcx: BigInt(TDR) }).rax).toBe(0n);
  for (let i = 1; i <= 6; i++) {
    expect(call(m, 0, { rax: L.MNG_ADDCX, rcx: BigInt(TDR + i * 0x1000), rdx: BigInt(TDR) }).rax).toBe(0n);
  }
  host(0x10004000, tdParams());
  expect(call(m, 0, { rax: L.MNG_INIT, rcx: BigInt(TDR), rdx: 0x10004000n }).rax).toBe(0n);
  return m;
}

/** TDVPR of VCPU `n` (0, 1, 2, …): six pages each from TDR + 0xa000. */
const tdvpr = (n: number): bigint => BigInt(TDR + 0xa000 + n * 0x6000);
/** VP.CREATE and the five VP.ADDCX of VCPU `n`. */
function vcpu(m: ModuleMachine, n: number): bigint {
  const pa = tdvpr(n);
  expect(call(m, 0, { rax: L.VP_CREATE, rcx: pa, rdx: BigInt(TDR) }).rax).toBe(0n);
  for (let i = 1; i <= 5; i++) {
    expect(call(m, 0, { rax: L.VP_ADDCX, rcx: pa + BigInt(i * 0x1000), rdx: pa }).rax).toBe(0n);
  }
  return pa;
}
const vpInit = (m: ModuleMachine, lp: number, rax: bigint, pa: bigint, r8 = 0n): string => hx(call(m, lp, { rax, rcx: pa, r8 }).rax);
const numVcpus = (m: ModuleMachine): number => m.module.state.tds.get(TDR)?.numVcpus ?? -1;
/** IA32_TSC_ADJUST on `lp` made to differ from what SYS.INIT latched (a host WRMSR after boot). */
function skewTscAdjust(m: ModuleMachine, lp: number): void {
  m.platform.cpus[lp]?.msrs.set(0x3b, 0x10n);
}

describe('TDH.VP.INIT version 1: the x2APIC ID in R8 (1.5.05)', () => {
  it('1.5.01: the dispatcher refuses version 1 (OPERAND_INVALID, no index taken); version 0 succeeds', () => {
    const m = tdInitialized('1.5.01');
    const a = vcpu(m, 0);
    expect(vpInit(m, 1, VP_INIT_V1, a, 5n)).toBe(OPERAND_INVALID);
    expect(numVcpus(m)).toBe(0);
    expect(vpInit(m, 1, L.VP_INIT, a)).toBe(SUCCESS);
    expect(numVcpus(m)).toBe(1);
  });

  it('1.5.05: a duplicate ID fails with the ID in bits 31:0 and keeps the index it took; an index left that way reads ID 0', () => {
    const m = tdInitialized('1.5.05');
    const [a, b, c] = [vcpu(m, 0), vcpu(m, 1), vcpu(m, 2)];
    expect(vpInit(m, 1, VP_INIT_V1, a, 5n)).toBe(SUCCESS);
    expect(m.module.state.tds.get(TDR)?.x2apicIds.get(0)).toBe(5);
    expect(vpInit(m, 1, VP_INIT_V1, b, 5n)).toBe(NOT_UNIQUE(5));
    expect(numVcpus(m)).toBe(2);
    // B's try took index 1 and stored no ID there: x2apic_ids[1] is the TDCS's zero.
    expect(vpInit(m, 1, VP_INIT_V1, b, 0n)).toBe(NOT_UNIQUE(0));
    expect(numVcpus(m)).toBe(3);
    expect(vpInit(m, 1, VP_INIT_V1, b, 0x1_0000_0000n)).toBe(OPERAND_INVALID_R8);
    expect(numVcpus(m)).toBe(3);
    expect(vpInit(m, 1, VP_INIT_V1, b, 7n)).toBe(SUCCESS);
    expect(m.module.state.tds.get(TDR)?.vcpus.get(Number(b))?.vcpuIndex).toBe(3);
    expect(vpInit(m, 1, VP_INIT_V1, c, 0xffff_ffffn)).toBe(SUCCESS);
    expect(numVcpus(m)).toBe(5);
  });

  it('tdxsim explain decodes the duplicate ID from bits 31:0', () => {
    expect(describeStatus(0xc000_0621_0000_0005n).display).toBe('TDX_X2APIC_ID_NOT_UNIQUE|0x5');
    expect(explainStatus(0xc000_0621_0000_0005n).operand?.text).toBe("x2APIC ID 0x5, already another VCPU's");
  });

  it('2.0.08: a duplicate ID gives the index back', () => {
    const m = tdInitialized('2.0.08');
    const [a, b] = [vcpu(m, 0), vcpu(m, 1)];
    expect(vpInit(m, 1, VP_INIT_V1, a, 5n)).toBe(SUCCESS);
    expect(vpInit(m, 1, VP_INIT_V1, b, 5n)).toBe(NOT_UNIQUE(5));
    expect(numVcpus(m)).toBe(1);
    expect(vpInit(m, 1, VP_INIT_V1, b, 0n)).toBe(SUCCESS);
    expect(m.module.state.tds.get(TDR)?.vcpus.get(Number(b))?.vcpuIndex).toBe(1);
  });

  it('version 2 and IA32_TSC_ADJUST changed at once: 1.5.05 to 2.0.02 refuse the version, 2.0.04 and 2.0.08 the MSR, 1.5.01 in the dispatcher', () => {
    const want: [ModuleProfileName, string][] = [
      ['1.5.01', OPERAND_INVALID],
      ['1.5.05', OPERAND_INVALID],
      ['1.5.06', OPERAND_INVALID],
      ['2.0.02', OPERAND_INVALID],
      ['2.0.04', INCONSISTENT_TSC_ADJUST],
      ['2.0.08', INCONSISTENT_TSC_ADJUST],
    ];
    for (const [rel, status] of want) {
      const m = tdInitialized(rel);
      const a = vcpu(m, 0);
      skewTscAdjust(m, 1);
      expect([rel, vpInit(m, 1, VP_INIT_V2, a, 5n)]).toEqual([rel, status]);
      expect([rel, numVcpus(m)]).toEqual([rel, 0]);
    }
  });

  it('a duplicate ID and IA32_TSC_ADJUST changed at once: 1.5.05 reports the ID, 2.0.08 the MSR', () => {
    for (const [rel, status] of [['1.5.05', NOT_UNIQUE(5)], ['2.0.08', INCONSISTENT_TSC_ADJUST]] as const) {
      const m = tdInitialized(rel);
      const [a, b] = [vcpu(m, 0), vcpu(m, 1)];
      expect(vpInit(m, 0, VP_INIT_V1, a, 5n)).toBe(SUCCESS);
      skewTscAdjust(m, 1);
      expect([rel, vpInit(m, 1, VP_INIT_V1, b, 5n)]).toEqual([rel, status]);
    }
  });

  it('1.5.05: a call that stores its ID and then fails on IA32_TSC_ADJUST leaves the ID taken; 2.0.08 fails before taking it', () => {
    const m = tdInitialized('1.5.05');
    const b = vcpu(m, 0);
    skewTscAdjust(m, 1);
    expect(vpInit(m, 1, VP_INIT_V1, b, 9n)).toBe(INCONSISTENT_TSC_ADJUST);
    expect(vpInit(m, 0, VP_INIT_V1, b, 9n)).toBe(NOT_UNIQUE(9));
    expect(numVcpus(m)).toBe(2);
    const n = tdInitialized('2.0.08');
    const b2 = vcpu(n, 0);
    skewTscAdjust(n, 1);
    expect(vpInit(n, 1, VP_INIT_V1, b2, 9n)).toBe(INCONSISTENT_TSC_ADJUST);
    expect(vpInit(n, 0, VP_INIT_V1, b2, 9n)).toBe(SUCCESS);
    expect(numVcpus(n)).toBe(1);
  });
});

describe('TDH.SYS.INIT: IA32_MISC_ENABLE and IA32_VMX_PROCBASED_CTLS3 (1.5.05)', () => {
  const misc = (value: string): MsrOverride => ({ cpu: 0, msr: '0x1a0', value });
  const ctls3 = (value: string): MsrOverride => ({ cpu: 0, msr: '0x492', value });
  const ddpd: CpuidOverride = { cpu: 0, leaf: '0x7', subleaf: '0x2', reg: 'edx', xor: '0x8' };

  it('the default platform passes every release', () => {
    for (const rel of ['1.0', '1.5.01', '1.5.05', '1.5.06', '2.0.08'] as const) {
      expect([rel, sysInit(rel, [])]).toEqual([rel, SUCCESS]);
    }
  });

  it('IA32_MISC_ENABLE without PERFMON_AVAILABLE, or with BTS_UNAVAILABLE: 1.5.01 passes, 1.5.05 and later fail', () => {
    for (const v of ['0x0', '0x880']) {
      expect(sysInit('1.5.01', [misc(v)])).toBe(SUCCESS);
      for (const rel of ['1.5.05', '1.5.06', '2.0.02', '2.0.08'] as const) {
        expect([rel, v, sysInit(rel, [misc(v)])]).toEqual([rel, v, INCORRECT_MISC_ENABLE]);
      }
    }
  });

  it('order: RCX before the MSRs; boot-NT4 before PERFMON_AVAILABLE; IA32_MISC_ENABLE before CTLS3; CTLS3 before IA32_TME_ACTIVATE', () => {
    expect(sysInit('1.5.05', [misc('0x0')], [], 1n)).toBe(OPERAND_INVALID_RCX);
    expect(sysInit('1.5.05', [misc('0x400000')])).toBe(LIMIT_CPUID_MAXVAL_SET);
    expect(sysInit('1.5.05', [misc('0x0'), ctls3('0x0')])).toBe(INCORRECT_MISC_ENABLE);
    expect(sysInit('1.5.01', [misc('0x0'), ctls3('0x0')])).toBe(INCORRECT_CTLS3);
    const tmeOff: MsrOverride = { cpu: 0, msr: '0x982', value: '0x0' };
    expect(sysInit('1.5.05', [ctls3('0x0'), tmeOff])).toBe(INCORRECT_CTLS3);
    expect(sysInit('1.5.05', [tmeOff])).toBe(INCORRECT_TME_ACTIVATE);
  });

  it('CTLS3 without bit 7 (VIRTUALIZE_IA32_SPEC_CTRL): 1.5.01 fails; 1.5.05 and 2.0.08 only when the CPU enumerates DDPD', () => {
    expect(sysInit('1.5.01', [ctls3('0x2e')])).toBe(INCORRECT_CTLS3);
    expect(sysInit('1.5.05', [ctls3('0x2e')])).toBe(SUCCESS);
    expect(sysInit('2.0.08', [ctls3('0x2e')])).toBe(SUCCESS);
    expect(sysInit('1.5.05', [ctls3('0x2e')], [ddpd])).toBe(INCORRECT_CTLS3);
    expect(sysInit('2.0.08', [ctls3('0x2e')], [ddpd])).toBe(INCORRECT_CTLS3);
    expect(sysInit('1.5.05', [], [ddpd])).toBe(SUCCESS);
    // Bit 3 (the L2 VMCS's GUEST_PAGING_VERIFICATION) missing fails every release.
    for (const rel of ['1.5.01', '1.5.05', '2.0.08'] as const) {
      expect([rel, sysInit(rel, [ctls3('0xa6')])]).toEqual([rel, INCORRECT_CTLS3]);
    }
  });
});
