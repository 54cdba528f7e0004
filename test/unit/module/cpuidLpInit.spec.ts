/**
 * Module audit row 25: TDH.SYS.LP.INIT's CPUID comparison (compare_cpuid_configuration()). A
 * platform's `cpuidOverrides` make CPUID bits read differently on one CPU; LP.INIT compares each
 * lookup entry's VERIFY_SAME bits with what TDH.SYS.INIT's LP reported, in table order, and fails
 * TDX_INCONSISTENT_CPUID_FIELD with RCX = subleaf:leaf, RDX = VERIFY_SAME EBX:EAX, R8 = EDX:ECX;
 * after the early MSRs and BOOT_NT4, before IA32_TSC_ADJUST, with the package check at leaf 0x1F
 * subleaf 0. In-process.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_sys_lp_init.c,
 *   include/auto_gen/cpuid_configurations.c cpuid_lookup[]
 */
import { describe, expect, it } from 'vitest';

import type { ModuleMachine } from '../../../src/machine/moduleMachine.js';
import { parsePlatformSpec } from '../../../src/platform/spec.js';
import type { PlatformSpec } from '../../../src/platform/spec.js';
import { presetInput } from '../../../src/platform/presets.js';
import { seamcallRegs as call, vmxModuleMachine } from '../../__test-helpers__/moduleMachine.js';

type Override = { cpu: number; leaf: string; subleaf?: string; reg: 'eax' | 'ebx' | 'ecx' | 'edx'; xor: string };

function spec(cpuidOverrides: Override[], msrOverrides: { cpu: number; msr: string; value: string }[] = []): PlatformSpec {
  const r = parsePlatformSpec({ ...presetInput('ref'), cpuidOverrides, msrOverrides });
  if (!r.ok) {
    throw new Error(JSON.stringify(r.problems));
  }
  return r.spec;
}
function mk(s: PlatformSpec, lpPackage?: number[]): ModuleMachine {
  return vmxModuleMachine(s, lpPackage === undefined ? {} : { sysinfo: { lpPackage } });
}
const hx = (v: bigint): string => `0x${v.toString(16)}`;
/** SYS.INIT on LP 0, then LP.INIT on `lp`: [RAX, RCX, RDX, R8]. */
function lpInit(m: ModuleMachine, lp: number): string[] {
  expect(hx(call(m, 0, { rax: 33n }).rax)).toBe('0x0');
  const o = call(m, lp, { rax: 35n });
  return [o.rax, o.rcx, o.rdx, o.r8].map(hx);
}
const OK = ['0x0', '0x0', '0x0', '0x0'];
const CPUID_FIELD = '0xc000090200000000';

describe('module audit row 25: LP.INIT compares CPUID with SYS.INIT\'s LP', () => {
  it('leaf 7 subleaf 0: EBX bit 2 is outside VERIFY_SAME (passes), bit 0 is inside (fails with the leaf and masks)', () => {
    expect(lpInit(mk(spec([{ cpu: 1, leaf: '0x7', subleaf: '0x0', reg: 'ebx', xor: '0x4' }])), 1)).toEqual(OK);
    expect(lpInit(mk(spec([{ cpu: 1, leaf: '0x7', subleaf: '0x0', reg: 'ebx', xor: '0x1' }])), 1)).toEqual([CPUID_FIELD, '0x7', '0xfffffffbffffffff', '0xffebffffbfc1ff6f']);
  });

  it('leaf 1 (no subleaf): RCX carries subleaf 0xFFFFFFFF; EAX bit 12 passes, bit 14 fails', () => {
    expect(lpInit(mk(spec([{ cpu: 2, leaf: '0x1', reg: 'eax', xor: '0x1000' }])), 2)).toEqual(OK);
    expect(lpInit(mk(spec([{ cpu: 2, leaf: '0x1', reg: 'eax', xor: '0x4000' }])), 2)).toEqual([CPUID_FIELD, '0xffffffff00000001', '0xfffff000c000', '0xfffffffff7ffff9f']);
  });

  it('a difference on SYS.INIT\'s LP: that LP passes, every other one fails; a leaf outside the table is not compared', () => {
    const m = mk(spec([{ cpu: 0, leaf: '0xd', subleaf: '0x1', reg: 'ecx', xor: '0x80000000' }]));
    expect(lpInit(m, 0)).toEqual(OK);
    const o = call(m, 3, { rax: 35n });
    expect([o.rax, o.rcx, o.rdx, o.r8].map(hx)).toEqual([CPUID_FIELD, '0x10000000d', '0xffffffff', '0xffffffffffffffff']);
    expect(lpInit(mk(spec([{ cpu: 1, leaf: '0xb', subleaf: '0x0', reg: 'eax', xor: '0xff' }])), 1)).toEqual(OK);
  });

  it('check order: the early MSRs first, then CPUID (table order), the package check at leaf 0x1F, then IA32_TSC_ADJUST', () => {
    // IA32_CORE_CAPABILITIES differs too: INCONSISTENT_MSR|0xCF wins.
    expect(lpInit(mk(spec([{ cpu: 1, leaf: '0x4', subleaf: '0x0', reg: 'eax', xor: '0x1' }], [{ cpu: 1, msr: '0xcf', value: '0x20' }])), 1)).toEqual(['0xc0000920000000cf', '0x0', '0x0', '0x0']);
    // IA32_TSC_ADJUST differs too: the CPUID field wins.
    expect(lpInit(mk(spec([{ cpu: 1, leaf: '0x4', subleaf: '0x0', reg: 'eax', xor: '0x1' }], [{ cpu: 1, msr: '0x3b', value: '0x10' }])), 1)).toEqual([CPUID_FIELD, '0x4', '0xffffffffffffffff', '0xffffffffffffffff']);
    // Two leaves differ: the lower table index (leaf 0x4 subleaf 0 at 1) before leaf 0x7 (5).
    expect(lpInit(mk(spec([{ cpu: 1, leaf: '0x7', subleaf: '0x0', reg: 'eax', xor: '0x1' }, { cpu: 1, leaf: '0x4', subleaf: '0x0', reg: 'eax', xor: '0x1' }])), 1)[1]).toBe('0x4');
    // LP 1 in package 9 (>= MAX_PKGS 8): a leaf before 0x1F (index 5) fails first; one after it
    // (0x1F subleaf 1, index 47) comes after INVALID_PKG_ID|9.
    const pkgs = [0, 9, 1, 1];
    expect(lpInit(mk(spec([{ cpu: 1, leaf: '0x7', subleaf: '0x0', reg: 'eax', xor: '0x1' }]), pkgs), 1)[0]).toBe(CPUID_FIELD);
    expect(lpInit(mk(spec([{ cpu: 1, leaf: '0x1f', subleaf: '0x1', reg: 'eax', xor: '0x1' }]), pkgs), 1)).toEqual(['0xc000090600000009', '0x0', '0x0', '0x0']);
    expect(lpInit(mk(spec([{ cpu: 1, leaf: '0x1f', subleaf: '0x1', reg: 'eax', xor: '0x1' }])), 1)).toEqual([CPUID_FIELD, '0x10000001f', '0xffffffffffffffff', '0xffffffff']);
  });

  it('the platform description names a bad override', () => {
    const r = parsePlatformSpec({ ...presetInput('ref'), cpuidOverrides: [{ cpu: 9, leaf: '0x7', reg: 'ebx', xor: '0x1' }] });
    expect(r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`)).toEqual(['cpuidOverrides[0].cpu: CPU 9 does not exist']);
  });
});
