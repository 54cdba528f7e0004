/**
 * A scenario file whose inline platform makes CPUID differ on one CPU (`cpuidOverrides`, module
 * audit row 25): Linux 6.18's TDX bring-up fails at that CPU's TDH.SYS.LP.INIT with
 * TDX_INCONSISTENT_CPUID_FIELD, and a bad override is bad input (exit 2, the field named).
 */
import { describe, expect, it } from 'vitest';

import { presetInput } from '../../src/platform/presets.js';
import { tdxsim, tempFile } from '../__test-helpers__/cli.js';

const scenario = (cpuidOverrides: unknown[]): string =>
  JSON.stringify({
    name: 'cpuid-mismatch',
    platform: { ...presetInput('small-2s'), name: 'small-2s-cpuid', cpuidOverrides },
    kernel: 'linux-6.18',
    steps: [{ op: 'boot' }, { op: 'kvm.load' }],
    expect: { findings: [] },
  });

describe('tdxsim run: a platform whose CPUID differs on one CPU', () => {
  it('leaf 7 EBX bit 0 on CPU 2: LP.INIT fails there, KVM init -EIO; bit 2 (not compared) boots', () => {
    const bad = tdxsim(['run', tempFile('s.json', scenario([{ cpu: 2, leaf: '0x7', subleaf: '0x0', reg: 'ebx', xor: '0x1' }])), '--seamcalls']);
    expect(bad.status).toBe(0);
    const lines = bad.stdout.split('\n');
    expect(lines.filter((l) => l.includes('TDH.SYS.LP.INIT') && !l.includes('TDX_SUCCESS')).map((l) => l.replace(/^.*\] /, ''))).toEqual(['CPU 2 TDH.SYS.LP.INIT -> TDX_INCONSISTENT_CPUID_FIELD']);
    expect(lines.filter((l) => l.includes('virt/tdx: SEAMCALL')).map((l) => l.replace(/^\[[^\]]*\] /, ''))).toEqual(['virt/tdx: SEAMCALL (0x0000000000000023) failed: 0xc000090200000000']);
    expect(lines).toContain('-- note: kvm.load: -5 (EIO)');
    const fine = tdxsim(['run', tempFile('s.json', scenario([{ cpu: 2, leaf: '0x7', subleaf: '0x0', reg: 'ebx', xor: '0x4' }]))]);
    expect(fine.stdout.split('\n')).toContain('-- note: kvm.load: 0 (success)');
  });

  it('an override on a CPU the platform does not have is bad input', () => {
    const r = tdxsim(['run', tempFile('s.json', scenario([{ cpu: 7, leaf: '0x7', reg: 'ebx', xor: '0x1' }]))]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('cpuidOverrides[0].cpu: CPU 7 does not exist');
    expect(r.stderr).not.toContain('    at ');
  });
});
