/**
 * The module release catalogue: cited facts per release, the old names as aliases, version-line
 * evidence resolved to a release or a stated range, and TDH.SYS.DISABLE on the variants that
 * implement it.
 */
import { describe, expect, it } from 'vitest';

import { checkModuleName } from '../../../src/api/profileNames.js';
import { parseDmesg } from '../../../src/tools/parse/dmesg.js';
import { createModuleMachine, seamcallSync } from '../../../src/machine/moduleMachine.js';
import { SYS_STATE_NAME } from '../../../src/module/globalState.js';
import { LEAF } from '../../../src/module/leafNumbers.js';
import {
  describeReleases,
  features0Diff,
  hasFeature,
  MODULE_PROFILE_NAMES,
  moduleProfile,
  releasesFor,
  resolveModuleProfile,
  TDX_FEATURES0_BITS,
} from '../../../src/module/profiles.js';
import type { ModuleProfileName } from '../../../src/module/profiles.js';
import { preset } from '../../../src/platform/presets.js';
import { seamRegs } from '../../../src/platform/Seam.js';

describe('release facts (intel/tdx-module-binaries mapping_file.json, BUILD.md)', () => {
  it('TDX_FEATURES0, build and minimum update version per release', () => {
    const rows = MODULE_PROFILE_NAMES.map((n) => {
      const p = moduleProfile(n);
      return [n, `0x${p.tdxFeatures0.toString(16)}`, p.buildNum?.value ?? null, p.buildDate?.value ?? null, p.minUpdateFrom?.value ?? null];
    });
    expect(rows).toEqual([
      ['1.0', '0x0', null, null, null],
      ['1.5.01', '0xf0fbf', 595, 20231008, '1.5.01'],
      ['1.5.05', '0x1f0fbf', 698, 20240129, '1.5.01'],
      ['1.5.06', '0x2e1f0fbf', 744, 20240407, '1.5.01'],
      ['1.5.08', '0x22e1f0fbf', 784, 20240725, '1.5.01'],
      ['1.5.09', '0x26f1f0fbf', 813, 20240912, '1.5.01'],
      ['1.5.13', '0x226f1f0fbf', 864, 20250207, '1.5.01'],
      ['1.5.16', '0x226f3f0fbf', 869, 20250219, '1.5.01'],
      ['1.5.28', '0x226f3f0fbf', 989, 20251126, null],
      ['1.5.34', '0x226f3f0fbf', 1024, 20260330, null],
      ['2.0.02', '0x22e1f0fbf', 786, 20240814, '2.0.02'],
      ['2.0.04', '0x12af1f0fbf', 859, 20250109, '2.0.04'],
      ['2.0.05', '0x226f3f0fbf', 863, 20250123, '2.0.04'],
      ['2.0.08', '0x32a71f0fbf', 882, 20250325, '2.0.04'],
      ['2.0.16', '0x32a71f0fbf', 994, 20251204, null],
      ['2.0.18', '0x32a71f0fbf', 1013, 20260211, null],
    ]);
  });

  it('a value no source gives is marked: assumed TDX_FEATURES0, unknown 1.0 build', () => {
    expect(MODULE_PROFILE_NAMES.filter((n) => !moduleProfile(n).tdxFeatures0Known)).toEqual(['1.5.28', '1.5.34', '2.0.16', '2.0.18']);
    expect(moduleProfile('1.5.28').tdxFeatures0Source).toContain("the model assumes 1.5.16's value");
    expect(moduleProfile('1.0').buildNum).toBeUndefined();
  });

  it('MAX_VCPUS_PER_TD and TDH.VP.INIT v1 from 1.5.05; TOPOLOGY_ENUM from 1.5.05; Dynamic PAMT bit in 2.0.04 and 2.0.08', () => {
    expect(moduleProfile('1.5.01').extraFields).not.toContain('MAX_VCPUS_PER_TD');
    expect(moduleProfile('1.5.05').extraFields).toContain('MAX_VCPUS_PER_TD');
    expect(moduleProfile('1.5.01').versionedLeaves.get(LEAF.TDH_VP_INIT)).toBeUndefined();
    expect(moduleProfile('1.5.05').versionedLeaves.get(LEAF.TDH_VP_INIT)).toBe(1);
    expect(hasFeature(moduleProfile('1.5.01'), TDX_FEATURES0_BITS.TOPOLOGY_ENUM)).toBe(false);
    expect(hasFeature(moduleProfile('1.5.05'), TDX_FEATURES0_BITS.TOPOLOGY_ENUM)).toBe(true);
    expect(MODULE_PROFILE_NAMES.filter((n) => hasFeature(moduleProfile(n), TDX_FEATURES0_BITS.DYNAMIC_PAMT))).toEqual(['2.0.04', '2.0.08', '2.0.16', '2.0.18']);
    expect(MODULE_PROFILE_NAMES.filter((n) => hasFeature(moduleProfile(n), TDX_FEATURES0_BITS.SYS_DISABLE))).toEqual([]);
    // The Dynamic PAMT leaves (58, 59) are known where the source's dispatcher has them: 1.5.34 and
    // 2.0.08 (not 2.0.04, whose dispatcher lacks them although the mapping file gives it bit 36).
    const pamtAdd = (n: string): boolean => moduleProfile(n).knownLeaves.has(LEAF.TDH_PHYMEM_PAMT_ADD) && moduleProfile(n).knownLeaves.has(LEAF.TDH_PHYMEM_PAMT_REMOVE);
    expect(MODULE_PROFILE_NAMES.filter(pamtAdd)).toEqual(['1.5.34', '2.0.08']);
    expect(LEAF.TDH_PHYMEM_PAMT_ADD).toBe(58);
    expect(LEAF.TDH_PHYMEM_PAMT_REMOVE).toBe(59);
    expect(features0Diff(moduleProfile('1.5.05'), moduleProfile('1.5.06'))).toEqual({ added: [25, 26, 27, 29], dropped: [] });
  });

  it('every release from 1.5.01 has a +sys-disable variant that enumerates bit 53 and knows leaf 69', () => {
    const v = moduleProfile('2.0.08+sys-disable');
    expect(v.release).toBe('2.0.08');
    expect(hasFeature(v, TDX_FEATURES0_BITS.SYS_DISABLE)).toBe(true);
    expect(v.knownLeaves.has(LEAF.TDH_SYS_DISABLE)).toBe(true);
    expect(moduleProfile('2.0.08').knownLeaves.has(LEAF.TDH_SYS_DISABLE)).toBe(false);
    expect(resolveModuleProfile('1.0+sys-disable')).toBeUndefined();
  });
});

describe('names', () => {
  it('old names are aliases with a one-line notice', () => {
    expect(resolveModuleProfile('tdx-1.0')).toEqual({ name: '1.0', notice: 'module profile "tdx-1.0" is now called "1.0" (a TDX 1.0 module)' });
    expect(resolveModuleProfile('tdx-1.5')?.name).toBe('1.5.01');
    expect(resolveModuleProfile('tdx-1.5-late')).toEqual({ name: '1.5.06', notice: 'module profile "tdx-1.5-late" now means TDX module 1.5.06 (build 744, 20240407)' });
    expect(resolveModuleProfile('__proto__')).toBeUndefined();
    expect(resolveModuleProfile('toString')).toBeUndefined();
  });

  it('an unknown release is bad input with the known names and the closest one', () => {
    const err = (n: string): string => {
      try {
        checkModuleName(n);
      } catch (e) {
        return `${(e as { code: string }).code}: ${(e as Error).message}`;
      }
      return 'no error';
    };
    expect(err('1.5.6')).toMatch(/^TDXSIM_UNKNOWN_PROFILE: --module: unknown module release "1\.5\.6" \(known: 1\.0, 1\.5\.01, .*\); did you mean "1\.5\.06"\?$/);
    expect(err('2.0.8')).toMatch(/did you mean "2\.0\.08"\?$/);
    expect(err('tdx-1.5-lat')).toMatch(/did you mean "tdx-1\.5-late"\?$/);
  });

  it('describeReleases collapses runs of the catalogue', () => {
    expect(describeReleases(MODULE_PROFILE_NAMES.slice(2))).toBe('1.5.05 or later');
    expect(describeReleases(['1.5.05', '1.5.06', '1.5.08', '2.0.08'])).toBe('1.5.05 to 1.5.08, 2.0.08');
    expect(describeReleases(['1.0'])).toBe('1.0');
  });
});

describe('a version line resolves to a release or a stated range', () => {
  const ev = (line: string) => {
    const f = parseDmesg([line], 't', false);
    const e = f.boots[0]?.tdx.find((t) => t.kind === 'module-version');
    if (e === undefined || e.kind !== 'module-version') {
      throw new Error(`no version event in ${line}`);
    }
    return releasesFor(e);
  };

  it('Ubuntu 6.8 (TDH.SYS.INFO): the build number names the release', () => {
    const m = ev('[    8.222925] virt/tdx: TDX module: attributes 0x0, vendor_id 0x8086, major_version 1, minor_version 5, build_date 20240129, build_num 698');
    expect(m).toMatchObject({ candidates: ['1.5.05'], exact: true, modelled: '1.5.05' });
    expect(ev('virt/tdx: TDX module: attributes 0x0, vendor_id 0x8086, major_version 1, minor_version 5, build_date 20240725, build_num 784').modelled).toBe('1.5.08');
    expect(ev('virt/tdx: TDX module: attributes 0x0, vendor_id 0x8086, major_version 1, minor_version 5, build_date 20231008, build_num 595').modelled).toBe('1.5.01');
  });

  it('Ubuntu 6.14: release, build and the hex build date', () => {
    const m = ev('virt/tdx: TDX module 2.0.08.00, build number 882, build date 0134fed5');
    expect(m).toMatchObject({ candidates: ['2.0.08'], exact: true, modelled: '2.0.08' });
  });

  it('7.1+: `Module version:` (and the patch example `TDX module version:`), known or not', () => {
    expect(ev('virt/tdx: Module version: 1.5.16')).toMatchObject({ candidates: ['1.5.16'], exact: true });
    const u = ev('virt/tdx: TDX module version: 1.5.24');
    expect(u).toEqual({ candidates: [], exact: false, modelled: '1.5.16', why: 'release 1.5.24 is not in the catalogue; modelled by the nearest older release, 1.5.16' });
  });

  it('the MVP and v8 forms; a 1.0 build no source names', () => {
    const mvp = ev('tdx: TDX module: vendor_id 0x8086, major_version 1, minor_version 5, build_date 20230323, build_num 481');
    expect(mvp.candidates).toEqual([]);
    expect(mvp.modelled).toBe('1.5.01');
    expect(mvp.why).toBe('build 481 falls before 1.5.01 (build 595), where the catalogue has no release (a pre-release or unlisted build); modelled by 1.5.01');
    const v8 = ev('tdx: TDX module: atributes 0x0, vendor_id 0x8086, major_version 1, minor_version 0, build_date 20230206, build_num 457');
    expect(v8).toMatchObject({ candidates: ['1.0'], exact: true, modelled: '1.0' });
  });

  it('a build between two known ones is a release between them', () => {
    expect(releasesFor({ major: 1, minor: 5, buildNum: 720 }).why).toBe('build 720 falls after 1.5.05 (build 698) and before 1.5.06 (build 744), where the catalogue has no release (a pre-release or unlisted build); modelled by 1.5.05');
    expect(releasesFor({ major: 1, minor: 5 })).toMatchObject({ exact: false, modelled: '1.5.34' });
    expect(releasesFor({ major: 3, minor: 0, update: 1 })).toMatchObject({ candidates: [], modelled: '2.0.18' });
  });
});

describe('TDH.SYS.DISABLE (leaf 69)', () => {
  function machine(module: string) {
    const spec = preset('small-2s')!;
    const mm = createModuleMachine(spec, { module: module as ModuleProfileName });
    const call = (lp: number, leaf: number, regs: Partial<Record<'rcx' | 'rdx' | 'r8', bigint>> = {}): bigint => {
      const r = seamcallSync(mm, lp, seamRegs({ rax: BigInt(leaf), ...regs }));
      if (r.kind !== 'ok') {
        throw new Error(r.kind);
      }
      return r.regs.rax;
    };
    for (const c of mm.platform.cpus) {
      c.vmx = true;
    }
    return { mm, call };
  }

  it('a release without it: an unknown leaf (TDX_SYS_NOT_READY before SYS_READY; the kexec test sees OPERAND_INVALID once ready)', () => {
    const { call } = machine('1.5.16');
    expect(call(0, LEAF.TDH_SYS_INIT)).toBe(0n);
    expect(call(0, LEAF.TDH_SYS_DISABLE)).toBe(0xc000050500000000n);
  });

  it('the +sys-disable variant puts the module back to SYSINIT_PENDING, and TDH.SYS.INIT succeeds again', () => {
    const { mm, call } = machine('1.5.16+sys-disable');
    expect(call(0, LEAF.TDH_SYS_INIT)).toBe(0n);
    expect(call(0, LEAF.TDH_SYS_INIT)).toBe(0xc000050000000000n);
    expect(call(0, LEAF.TDH_SYS_DISABLE)).toBe(0n);
    expect(SYS_STATE_NAME[mm.module.state.sysState]).toBe('SYSINIT_PENDING');
    expect(call(0, LEAF.TDH_SYS_INIT)).toBe(0n);
  });
});
