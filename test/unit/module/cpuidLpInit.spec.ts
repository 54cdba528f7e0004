/**
 * Module audit row 25: TDH.SYS.LP.INIT's CPUID comparison (compare_cpuid_configuration()). A
 * platform's `cpuidOverrides` make CPUID bits read differently on one CPU; LP.INIT compares each
 * lookup entry's VERIFY_SAME bits with what TDH.SYS.INIT's LP reported, in table order, and fails
 * TDX_INCONSISTENT_CPUID_FIELD with RCX = subleaf:leaf, RDX = VERIFY_SAME EBX:EAX, R8 = EDX:ECX;
 * after the early MSRs and BOOT_NT4, before IA32_TSC_ADJUST, with the package check at leaf 0x1F
 * subleaf 0. In-process.
 * The table is the release's (1.5.01: 64 entries, 1.5.05: 68), or for a release whose table was not
 * transcribed the nearest older one.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_sys_lp_init.c,
 *   include/auto_gen/cpuid_configurations.c cpuid_lookup[]
 * @see niooss-ledger/tdx-module f99767b (1.5.05) include/auto_gen/cpuid_configurations.c
 */
import { describe, expect, it } from 'vitest';

import type { ModuleMachine } from '../../../src/machine/moduleMachine.js';
import { CPUID_LOOKUP_1_5_01, CPUID_LOOKUP_1_5_05, CPUID_LOOKUP_1_5_06, CPUID_LOOKUP_2_0_08, cpuidLookup } from '../../../src/module/cpuidLookup.js';
import { MODULE_PROFILE_NAMES, moduleProfile } from '../../../src/module/profiles.js';
import type { ModuleProfileName } from '../../../src/module/profiles.js';
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
function mk(s: PlatformSpec, lpPackage?: number[], module?: ModuleProfileName): ModuleMachine {
  return vmxModuleMachine(s, { ...(lpPackage === undefined ? {} : { sysinfo: { lpPackage } }), ...(module === undefined ? {} : { module }) });
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

describe('the CPUID lookup table per release (1.5.01: 64 entries, 1.5.05: 68, 1.5.06: 69 valid of 73, 2.0.08: 79)', () => {
  const leaf1a: Override[] = [{ cpu: 1, leaf: '0x1a', reg: 'eax', xor: '0x1' }];

  it('leaf 0x1A is in 1.5.05\'s table only: a difference there fails LP.INIT on 1.5.05, passes on 1.5.01', () => {
    expect(lpInit(mk(spec(leaf1a), undefined, '1.5.01'), 1)).toEqual(OK);
    expect(lpInit(mk(spec(leaf1a), undefined, '1.5.05'), 1)).toEqual([CPUID_FIELD, '0xffffffff0000001a', '0xffffffffffffffff', '0xffffffffffffffff']);
    for (const module of ['1.5.06', '1.5.16', '2.0.02', '2.0.08', '2.0.18'] as const) {
      expect(lpInit(mk(spec(leaf1a), undefined, module), 1)).toEqual([CPUID_FIELD, '0xffffffff0000001a', '0xffffffffffffffff', '0xffffffffffffffff']);
    }
    // 1.0 uses 1.5.01's table.
    expect(lpInit(mk(spec(leaf1a), undefined, '1.0'), 1)).toEqual(OK);
  });

  it('leaf 0xB subleaves 0-2 are in 1.5.05\'s table without VERIFY_SAME bits: a difference passes on both', () => {
    for (const module of ['1.5.01', '1.5.05'] as const) {
      expect(lpInit(mk(spec([{ cpu: 3, leaf: '0xb', subleaf: '0x1', reg: 'edx', xor: '0xffffffff' }]), undefined, module), 3)).toEqual(OK);
    }
  });

  it('leaf 7 subleaf 0 ECX bit 15: compared up to 1.5.05, not from 1.5.06 on (VERIFY_SAME 0xBFC1FF6F, then 0xBFC17F6F)', () => {
    const bit15: Override[] = [{ cpu: 2, leaf: '0x7', subleaf: '0x0', reg: 'ecx', xor: '0x8000' }];
    for (const module of ['1.5.01', '1.5.05'] as const) {
      expect(lpInit(mk(spec(bit15), undefined, module), 2)).toEqual([CPUID_FIELD, '0x7', '0xfffffffbffffffff', '0xffebffffbfc1ff6f']);
    }
    for (const module of ['1.5.06', '1.5.09', '2.0.08'] as const) {
      expect(lpInit(mk(spec(bit15), undefined, module), 2)).toEqual(OK);
    }
    // Bit 14 is still compared, with 1.5.06's masks in RDX/R8.
    expect(lpInit(mk(spec([{ cpu: 2, leaf: '0x7', subleaf: '0x0', reg: 'ecx', xor: '0x4000' }]), undefined, '1.5.06'), 2)).toEqual([CPUID_FIELD, '0x7', '0xfffffffbffffffff', '0xffebffffbfc17f6f']);
  });

  it('leaves 0x2, 0x18 and 0x80000002 (1.5.06, 2.0.08) carry no VERIFY_SAME bits: a difference passes', () => {
    for (const [leaf, subleaf] of [['0x2', undefined], ['0x18', '0x3'], ['0x80000002', undefined]] as const) {
      const o: Override = { cpu: 1, leaf, reg: 'eax', xor: '0xffffffff', ...(subleaf === undefined ? {} : { subleaf }) };
      expect(lpInit(mk(spec([o]), undefined, '2.0.08'), 1)).toEqual(OK);
    }
  });

  it('1.5.05 keeps 1.5.01\'s 64 entries in place and adds four after them; each release names its table and why', () => {
    expect([CPUID_LOOKUP_1_5_01.length, CPUID_LOOKUP_1_5_05.length]).toEqual([64, 68]);
    expect(CPUID_LOOKUP_1_5_05.slice(0, 64)).toEqual(CPUID_LOOKUP_1_5_01);
    expect(CPUID_LOOKUP_1_5_05.slice(64).map(([l, sl]) => `${l.toString(16)}:${sl.toString(16)}`)).toEqual(['b:0', 'b:1', 'b:2', '1a:ffffffff']);
    const key = (e: readonly [number, number, unknown]): string => `${e[0].toString(16)}:${e[1].toString(16)}`;
    expect([CPUID_LOOKUP_1_5_06.length, CPUID_LOOKUP_2_0_08.length]).toEqual([69, 79]);
    expect(CPUID_LOOKUP_1_5_06.slice(68).map(key)).toEqual(['2:ffffffff']);
    expect(CPUID_LOOKUP_2_0_08.slice(68).map(key)).toEqual(['18:0', '18:1', '18:2', '18:3', '2:ffffffff', '18:4', '18:5', '18:6', '18:7', '18:8', '80000002:ffffffff']);
    // 1.5.06 and 2.0.08 agree on every entry both have; 1.5.06 differs from 1.5.05 at index 5 only.
    expect(CPUID_LOOKUP_2_0_08.filter((e) => !CPUID_LOOKUP_1_5_06.some((f) => key(f) === key(e) && JSON.stringify(f) === JSON.stringify(e))).map(key)).toEqual(['18:0', '18:1', '18:2', '18:3', '18:4', '18:5', '18:6', '18:7', '18:8', '80000002:ffffffff']);
    expect(CPUID_LOOKUP_1_5_06.slice(0, 68).flatMap((e, i) => (JSON.stringify(e) === JSON.stringify(CPUID_LOOKUP_1_5_05[i]) ? [] : [i]))).toEqual([5]);
    const rows = MODULE_PROFILE_NAMES.map((n) => {
      const p = moduleProfile(n);
      return [n, p.cpuidTable.value, cpuidLookup(p).length, p.cpuidTable.source.startsWith('not transcribed')];
    });
    expect(rows).toEqual([
      ['1.0', '1.5.01', 64, true],
      ['1.5.01', '1.5.01', 64, false],
      ['1.5.05', '1.5.05', 68, false],
      ['1.5.06', '1.5.06', 69, false],
      ...['1.5.08', '1.5.09', '1.5.13', '1.5.16', '1.5.28', '1.5.34'].map((n) => [n, '1.5.06', 69, true]),
      ['2.0.02', '1.5.06', 69, false],
      ['2.0.04', '2.0.08', 79, false],
      ['2.0.05', '2.0.08', 79, true],
      ['2.0.08', '2.0.08', 79, false],
      ['2.0.16', '2.0.08', 79, true],
      ['2.0.18', '2.0.08', 79, true],
    ]);
  });
});
