/**
 * compat(): every cell is a simulated bring-up. The expected values are what the model does,
 * checked against the sources cited in docs/kernel.md and docs/module.md (1.0 has no TDH.SYS.RD
 * and answers TDX_SYS_NOT_READY before SYS_READY; 1.5.01 has no MAX_VCPUS_PER_TD, which 6.16+
 * read; 1.5.05 adds it and TOPOLOGY_ENUM).
 */
import { describe, expect, it } from 'vitest';

import { compat } from '../../../src/tools/compat.js';
import type { CompatCell, CompatResult } from '../../../src/tools/compat.js';
import { isTdxsimError } from '../../../src/api/errors.js';
import { KERNEL_PROFILE_NAMES } from '../../../src/kernel/profiles.js';
import { describeReleases, MODULE_PROFILE_NAMES } from '../../../src/module/profiles.js';
import { presetInput } from '../../../src/platform/presets.js';

function cell(r: CompatResult, kernel: string, module: string): CompatCell {
  const c = r.cells.find((x) => x.kernel === kernel && x.module === module);
  if (c === undefined) {
    throw new Error(`no cell ${kernel} × ${module}`);
  }
  return c;
}

describe('compat: the default matrix', () => {
  const r = compat();

  it('covers every kernel profile and every release, without the +sys-disable variants, on small-2s', () => {
    expect(r.platform).toBe('small-2s');
    expect(r.kernels).toEqual([...KERNEL_PROFILE_NAMES]);
    expect(r.modules).toEqual([...MODULE_PROFILE_NAMES]);
    expect(r.cells).toHaveLength(KERNEL_PROFILE_NAMES.length * MODULE_PROFILE_NAMES.length);
    expect(r.modules.some((m) => m.includes('+'))).toBe(false);
  });

  it('linux-6.18 × 1.5.01 fails at TDH.SYS.RD of MAX_VCPUS_PER_TD with TDX_METADATA_FIELD_ID_INCORRECT', () => {
    const c = cell(r, 'linux-6.18', '1.5.01');
    expect(c.verdict).toBe('fail');
    expect(c.initialized).toBe(false);
    expect(c.kvmTdx).toBe(false);
    expect(c.failingSeamcall).toEqual({
      leaf: 34,
      leafName: 'TDH.SYS.RD',
      status: '0xc0000c0000000000',
      statusName: 'TDX_METADATA_FIELD_ID_INCORRECT',
      fieldId: '0x9900000100000008',
      fieldName: 'MAX_VCPUS_PER_TD',
    });
    expect(c.firstFailingLine).toBe('virt/tdx: SEAMCALL (0x0000000000000022) failed: 0xc0000c0000000000');
    expect(c.reason).toBe(
      'linux-6.18 reads MAX_VCPUS_PER_TD (0x9900000100000008) with TDH.SYS.RD, a field TDX module 1.5.01 does not have (TDX_METADATA_FIELD_ID_INCORRECT); with linux-6.18 use TDX module 1.5.05 or later',
    );
  });

  it('linux-6.18 × 1.5.06 initializes at kvm.load and KVM keeps TDX', () => {
    const c = cell(r, 'linux-6.18', '1.5.06');
    expect(c).toMatchObject({ verdict: 'ok', initialized: true, initializedAt: 'kvm.load', kvmTdx: true, firstFailingLine: null, failingSeamcall: null, reason: null, featuresAssumed: false });
  });

  it('linux-6.18 × 1.0 fails at its first metadata read, TDH.SYS.RD of TDX_FEATURES0, with TDX_SYS_NOT_READY', () => {
    const c = cell(r, 'linux-6.18', '1.0');
    expect(c.verdict).toBe('fail');
    expect(c.failingSeamcall).toEqual({ leaf: 34, leafName: 'TDH.SYS.RD', status: '0xc000050500000000', statusName: 'TDX_SYS_NOT_READY', fieldId: '0x0a00000300000008', fieldName: 'TDX_FEATURES0' });
    expect(c.reason).toBe(
      'linux-6.18 reads TDX_FEATURES0 (0x0a00000300000008) with TDH.SYS.RD, a leaf TDX module 1.0 does not have (it answers TDX_SYS_NOT_READY); with linux-6.18 use TDX module 1.5.05 or later',
    );
  });

  it('ubuntu-6.8-intel × 1.0 fails at TDH.SYS.RD of MAX_TDMRS with TDX_SYS_NOT_READY; 1.5.01 and later work', () => {
    const c = cell(r, 'ubuntu-6.8-intel', '1.0');
    expect(c.failingSeamcall).toMatchObject({ leafName: 'TDH.SYS.RD', statusName: 'TDX_SYS_NOT_READY', fieldId: '0x9100000100000008', fieldName: 'MAX_TDMRS' });
    expect(c.reason).toMatch(/; with ubuntu-6\.8-intel use TDX module 1\.5\.01 or later$/);
    expect(cell(r, 'ubuntu-6.8-intel', '1.5.01').verdict).toBe('ok');
  });

  it('tdx-host-rfc × 1.0 initializes (TDH.SYS.INFO era)', () => {
    expect(cell(r, 'tdx-host-rfc', '1.0')).toMatchObject({ verdict: 'ok', initialized: true, kvmTdx: true });
  });

  it('tdx-host-v8 initializes with no release: it never runs TDH.SYS.INIT/LP.INIT, so TDH.SYS.INFO fails', () => {
    const row = r.cells.filter((c) => c.kernel === 'tdx-host-v8');
    expect(row.every((c) => c.verdict === 'fail')).toBe(true);
    expect(cell(r, 'tdx-host-v8', '1.5.06').failingSeamcall).toEqual({ leaf: 32, leafName: 'TDH.SYS.INFO', status: '0xc000050200000000', statusName: 'TDX_SYS_LP_INIT_NOT_DONE' });
    const reason = 'tdx-host-v8 calls TDH.SYS.INFO without having run TDH.SYS.INIT and TDH.SYS.LP.INIT, and the module answers TDX_SYS_LP_INIT_NOT_DONE; no module release in this matrix brings TDX up with tdx-host-v8';
    expect(r.reasons.find((x) => x.reason === reason)?.cells).toHaveLength(MODULE_PROFILE_NAMES.length);
  });

  it('groups cells by reason and marks the releases whose TDX_FEATURES0 is assumed', () => {
    expect(r.reasons.map((x) => x.cells.length).reduce((a, b) => a + b, 0)).toBe(r.cells.filter((c) => c.verdict !== 'ok').length);
    expect(r.cells.filter((c) => c.featuresAssumed && c.kernel === 'linux-6.18').map((c) => c.module)).toEqual(['1.5.28', '1.5.34', '2.0.16', '2.0.18']);
    expect(r.footnotes).toHaveLength(2);
    expect(r.footnotes[0]).toMatch(/^1\.5\.28, 1\.5\.34: TDX_FEATURES0 unknown .*the model assumes 1\.5\.16's value \(0x226f3f0fbf\); the verdicts in these columns rest on that assumed value$/);
  });
});

describe('compat: choices and checks', () => {
  it('runs only the named pairs, resolving aliases, and a named +sys-disable variant', () => {
    const r = compat({ kernels: ['linux-6.18'], modules: ['tdx-1.5', '2.0.08+sys-disable'] });
    expect(r.cells.map((c) => `${c.kernel} ${c.module} ${c.verdict}`)).toEqual(['linux-6.18 1.5.01 fail', 'linux-6.18 2.0.08+sys-disable ok']);
    expect(cell(r, 'linux-6.18', '1.5.01').reason).toMatch(/; with linux-6\.18 use TDX module 2\.0\.08\+sys-disable$/);
  });

  it('records KVM\'s checks: MAX_VCPUS_PER_TD below the CPU count, TOPOLOGY_ENUM missing', () => {
    const p = presetInput('small-2s');
    if (p === undefined) {
      throw new Error('no preset');
    }
    const r = compat({ kernels: ['linux-6.18', 'ubuntu-6.8-intel'], modules: ['1.5.01', '1.5.06'], platform: { ...p, tdxModule: { ...p.tdxModule, overrides: { MAX_VCPUS_PER_TD: 1 } } } });
    const c = cell(r, 'linux-6.18', '1.5.06');
    expect(c).toMatchObject({ verdict: 'kvm', initialized: true, kvmTdx: false, failingSeamcall: null });
    expect(c.firstFailingLine).toBe('kvm_intel: Disable TDX: MAX_VCPU_PER_TD (1) smaller than number of logical CPUs (4).');
    expect(c.reason).toBe("the module initialized, but linux-6.18's KVM refuses TDX module 1.5.06: MAX_VCPUS_PER_TD (1) is smaller than the number of logical CPUs (4); no module release in this matrix brings TDX up with linux-6.18");
    const t = cell(r, 'linux-6.18', '1.5.01');
    expect(t.verdict).toBe('kvm');
    expect(t.firstFailingLine).toBeNull();
    expect(t.reason).toMatch(/KVM refuses TDX module 1\.5\.01: TDX_FEATURES0 lacks TOPOLOGY_ENUM \(bit 20\);/);
    expect(cell(r, 'ubuntu-6.8-intel', '1.5.01').verdict).toBe('ok');
  });

  it('a module without NO_RBP_MOD fails linux-6.18\'s check_features(), not ubuntu-6.8-intel', () => {
    const p = presetInput('small-2s');
    if (p === undefined) {
      throw new Error('no preset');
    }
    const r = compat({ kernels: ['linux-6.18', 'ubuntu-6.8-intel'], modules: ['1.5.06'], platform: { ...p, tdxModule: { ...p.tdxModule, overrides: { TDX_FEATURES0: 0x100000 } } } });
    expect(cell(r, 'linux-6.18', '1.5.06')).toMatchObject({
      verdict: 'fail',
      failingSeamcall: null,
      firstFailingLine: 'virt/tdx: frame pointer (RBP) clobber bug present, upgrade TDX module',
      reason: 'linux-6.18 refuses TDX module 1.5.06: its TDX_FEATURES0 lacks NO_RBP_MOD (bit 18) ("frame pointer (RBP) clobber bug present"); no module release in this matrix brings TDX up with linux-6.18',
    });
    expect(cell(r, 'ubuntu-6.8-intel', '1.5.06').verdict).toBe('ok');
    expect(r.footnotes).toEqual(['the platform overrides module metadata in every column: TDX_FEATURES0=0x100000']);
  });

  it('a platform without TDX gives "-" cells with an honest reason', () => {
    const r = compat({ kernels: ['linux-6.18'], modules: ['1.5.06'], platform: 'amd-sme-2s' });
    expect(cell(r, 'linux-6.18', '1.5.06')).toMatchObject({
      verdict: 'none',
      initialized: false,
      reason: 'not initialized: linux-6.18 found no usable TDX on this platform (kvm_intel: VMX not supported by CPU 0)',
    });
  });

  it('bad names and platforms are TdxsimErrors with the closest name', () => {
    const err = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect(isTdxsimError(e)).toBe(true);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(err(() => compat({ kernels: ['linux-6.19'] }))).toMatch(/unknown kernel "linux-6\.19" .*did you mean "linux-6\.18"\?$/);
    expect(err(() => compat({ modules: ['1.5.6'] }))).toMatch(/did you mean "1\.5\.06"\?$/);
    expect(err(() => compat({ platform: 'nope' }))).toMatch(/unknown platform preset "nope"/);
  });
});

describe('describeReleases, as compat uses it', () => {
  it('collapses catalogue runs and keeps +sys-disable variants after them', () => {
    expect(describeReleases(['1.5.05', '1.5.06', '1.5.08', '2.0.08+sys-disable'])).toBe('1.5.05 to 1.5.08, 2.0.08+sys-disable');
    expect(describeReleases(MODULE_PROFILE_NAMES.slice(2))).toBe('1.5.05 or later');
  });
});
