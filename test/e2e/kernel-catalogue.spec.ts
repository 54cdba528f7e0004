/**
 * The kernel catalogue end to end: the 2026 kexec kernel with and without a module that has
 * TDH.SYS.DISABLE, 7.1's boot-time init, 6.6 without host code, the old names as aliases, and
 * real Ubuntu 6.8 logs (test/fixtures/corpus, provenance in its INDEX.md) reproduced with the
 * release their version line names.
 */
import { describe, expect, it } from 'vitest';

import { diagnose, plan, run } from '../../src/api/index.js';
import { tdxsim } from '../__test-helpers__/cli.js';

const CORPUS = 'test/fixtures/corpus';
const tdxLines = (d: readonly string[]): string[] => d.filter((l) => /^(?:virt\/tdx|kvm|kexec_core|kvm_intel): /.test(l));

describe('linux-7.2: the old kernel disables the module on kexec', () => {
  it('with a module that has TDH.SYS.DISABLE, the kexec\'d kernel initializes TDX again from scratch', () => {
    const r = run({ scenario: 'default', kernel: 'linux-7.2', module: '1.5.16+sys-disable' });
    expect(r.verdict).toBe('pass');
    expect(r.findings).toEqual([]);
    expect(tdxLines(r.runs[0]!.dmesg)).toEqual([
      'virt/tdx: BIOS enabled: private KeyID range [16, 64)',
      'virt/tdx: Disable ACPI S3. Turn off TDX in the BIOS to use ACPI S3.',
      'virt/tdx: Module version: 1.5.16',
      'virt/tdx: 24636 KB allocated for PAMT',
      'virt/tdx: TDX-Module initialized',
      'kvm: exiting hardware virtualization',
      'kexec_core: Starting new kernel',
      'virt/tdx: BIOS enabled: private KeyID range [16, 64)',
      'virt/tdx: Disable ACPI S3. Turn off TDX in the BIOS to use ACPI S3.',
      'virt/tdx: Module version: 1.5.16',
      'virt/tdx: 24636 KB allocated for PAMT',
      'virt/tdx: TDX-Module initialized',
    ]);
    expect(r.runs[0]!.notes).toContain('kvm.load: 0');
  });

  it('with a release that lacks it (every published one), one line, kexec goes on, and the next kernel fails at TDH.SYS.INIT as before', () => {
    const r = run({ scenario: 'default', kernel: 'linux-7.2', module: '1.5.16' });
    const d = tdxLines(r.runs[0]!.dmesg);
    expect(d.slice(5, 8)).toEqual(['kvm: exiting hardware virtualization', 'virt/tdx: TDH.SYS.DISABLE failed: 0xc000010000000000', 'kexec_core: Starting new kernel']);
    expect(d[d.length - 1]).toBe('virt/tdx: SEAMCALL (0x0000000000000021) failed: 0xc000050000000000');
    expect(r.findings).toEqual([]);
  });

  it('kdump: the crashing CPU disables the module, and the crash kernel initializes TDX in its own memory', () => {
    const r = run({ scenario: 'kdump', kernel: 'linux-7.2', module: '2.0.08+sys-disable' });
    expect(r.findings).toEqual([]);
    const d = tdxLines(r.runs[0]!.dmesg);
    expect(d.filter((l) => l === 'virt/tdx: TDX-Module initialized')).toHaveLength(2);
    expect(d).toContain('virt/tdx: 4108 KB allocated for PAMT');
  });

  it('linux-7.1 (no TDH.SYS.DISABLE yet): the kexec\'d kernel finds the module initialized, whatever the module', () => {
    const r = run({ scenario: 'default', kernel: 'linux-7.1', module: '1.5.16+sys-disable' });
    const d = tdxLines(r.runs[0]!.dmesg);
    expect(d).not.toContain('virt/tdx: TDH.SYS.DISABLE failed: 0xc000010000000000');
    expect(d[d.length - 1]).toBe('virt/tdx: SEAMCALL (0x0000000000000021) failed: 0xc000050000000000');
  });

  it('linux-7.2 allows kexec on an erratum platform, where 6.18 and 7.1 refuse', () => {
    const refused = run({ scenario: 'kexec-erratum' });
    expect(refused.runs[0]!.notes).toContain('kexec_load failed: Operation not supported');
    const allowed = run({ scenario: 'kexec-erratum', kernel: 'linux-7.2', module: '1.5.16+sys-disable' });
    expect(allowed.runs[0]!.notes).not.toContain('kexec_load failed: Operation not supported');
    expect(allowed.runs[0]!.dmesg).toContain('kexec_core: Starting new kernel');
  });
});

describe('the other catalogue kernels', () => {
  it('linux-7.1 initializes TDX at boot, before kvm_intel loads', () => {
    const r = run({ scenarioObject: { platform: 'small-2s', kernel: 'linux-7.1', steps: [{ op: 'boot' }] } });
    expect(tdxLines(r.runs[0]!.dmesg)).toEqual([
      'virt/tdx: BIOS enabled: private KeyID range [16, 64)',
      'virt/tdx: Disable ACPI S3. Turn off TDX in the BIOS to use ACPI S3.',
      'virt/tdx: Module version: 1.5.16',
      'virt/tdx: 24636 KB allocated for PAMT',
      'virt/tdx: TDX-Module initialized',
    ]);
  });

  it('linux-6.6 has no TDX host code: nothing detected, kvm_intel ignores tdx=1', () => {
    const r = run({ scenario: 'bringup', kernel: 'linux-6.6' });
    expect(r.runs[0]!.dmesg.filter((l) => l.includes('tdx') && !l.startsWith('Linux version'))).toEqual(["kvm_intel: unknown parameter 'tdx' ignored"]);
  });

  it('ubuntu-6.8-intel prints TDH.SYS.INFO\'s identity and CMR lines, and KVM\'s own failure line', () => {
    const r = run({ scenario: 'bringup', kernel: 'ubuntu-6.8-intel', module: '1.0' });
    expect(tdxLines(r.runs[0]!.dmesg).slice(2)).toEqual([
      'virt/tdx: TDX module: attributes 0x0, vendor_id 0x8086, major_version 1, minor_version 0, build_date 0, build_num 0',
      'virt/tdx: CMR: [0x0, 0x7c000000)',
      'virt/tdx: CMR: [0x100000000, 0x200000000)',
      'virt/tdx: SEAMCALL (0x0000000000000022) failed: 0xc000050500000000',
      'virt/tdx: RCX 0x0000000000000000 RDX 0x9100000100000008 R08 0x0000000000000000',
      'virt/tdx: R09 0x0000000000000000 R10 0x0000000000000000 R11 0x0000000000000000',
      'virt/tdx: module initialization failed (-5)',
      'kvm_intel: Failed to initialize TDX module.',
    ]);
  });

  it('old names keep working with a one-line notice on stderr', () => {
    const r = tdxsim(['run', '--scenario', 'bringup', '--kernel', 'linux-6.8', '--module', 'tdx-1.5-late']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(
      [
        'tdxsim: notice: kernel profile "linux-6.8" now means ubuntu-6.8-intel (mainline 6.8 has no KVM TDX, so nothing initializes the module; the KVM bring-up this profile modelled is Canonical\'s linux-intel 6.8)',
        'tdxsim: notice: module profile "tdx-1.5-late" now means TDX module 1.5.06 (build 744, 20240407)',
        '',
      ].join('\n'),
    );
    expect(r.stdout).toContain('Linux version 6.8.0-1028-intel');
  });

  it('an unknown kernel is exit 2 with the known names and the closest one', () => {
    const r = tdxsim(['run', '--kernel', 'linux-7.3']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^tdxsim: --kernel: unknown kernel "linux-7\.3" \(known: linux-6\.18, linux-6\.6, ubuntu-6\.8-intel, linux-6\.16, linux-7\.1, linux-7\.2, tdx-host-v8, tdx-host-rfc; old names: linux-6\.8, cmr-holes\); did you mean "linux-7\.\d"\?\n$/);
  });
});

describe('real Ubuntu 6.8 logs reproduce with the release their version line names', () => {
  it('canonical/tdx #135 (6.8.0-1006-intel, build 698 = 1.5.05): plans and boots on ubuntu-6.8-intel and on linux-6.18', () => {
    const f = `${CORPUS}/16-ubuntu68-1006-emr-success-after-fix.log`;
    const d = diagnose({ file: f });
    expect(d.classification.class).toBe('success');
    expect(d.era.kernel).toBe('ubuntu-6.8-intel');
    expect(d.era.module).toBe('1.5.05');
    expect(d.reproduction.matches).toBe(true);
    expect(d.reproduction.compared).toEqual({ log: 9, sim: 9, same: 9 });
    for (const kernel of ['ubuntu-6.8-intel', 'linux-6.18'] as const) {
      const p = plan({ input: f, kernel });
      expect(p.module).toBe('1.5.05');
      expect(p.outcome).toBe('ok');
      // The PAMT the real kernel allocated, exactly.
      expect(p.pamtKb).toBe(1050644);
    }
    const boot = run({ scenarioObject: { platform: plan({ input: f }).platform as never, kernel: 'linux-6.18', module: '1.5.05', steps: [{ op: 'boot' }, { op: 'kvm.load' }] } });
    expect(boot.runs[0]!.dmesg).toContain('virt/tdx: 1050644 KB allocated for PAMT');
    expect(boot.runs[0]!.dmesg).toContain('virt/tdx: module initialized');
  });

  it('canonical/tdx #385 (6.8.0-1028-intel, build 784 = 1.5.08) and #285 (build 698): line for line', () => {
    const a = diagnose({ file: `${CORPUS}/13-ubuntu68-1028-success-8GB-pamt.log` });
    expect([a.era.kernel, a.era.module, a.reproduction.matches]).toEqual(['ubuntu-6.8-intel', '1.5.08', true]);
    const b = diagnose({ file: `${CORPUS}/09-ubuntu68-spr-success-tdpmmu-warning.log` });
    expect([b.era.kernel, b.era.module, b.reproduction.matches]).toEqual(['ubuntu-6.8-intel', '1.5.05', true]);
  });

  it('canonical/tdx #331 (6.8.0-1015-intel, a TDX 1.0 module): version skew at TDH.SYS.RD of MAX_TDMRS', () => {
    const d = diagnose({ file: `${CORPUS}/01-ubuntu68-1015-tdx10-seamcall22.log` });
    expect(d.classification.class).toBe('version-skew');
    expect([d.era.kernel, d.era.module]).toEqual(['ubuntu-6.8-intel', '1.0']);
  });
});

describe('tdxsim kernels / modules', () => {
  it('list every name with its source; --json carries the facts', () => {
    const k = tdxsim(['kernels']);
    expect(k.status).toBe(0);
    expect(k.stdout).toMatch(/^linux-7\.2 +7\.2\.0 +at boot +yes, TDH\.SYS\.DISABLE +1\.5\.16 /m);
    expect(k.stdout).toContain('  linux-6.8 -> ubuntu-6.8-intel\n');
    const m = JSON.parse(tdxsim(['modules', '--json']).stdout) as { modules: { name: string; buildNum: number | null; tdxFeatures0: string; tdxFeatures0Known: boolean }[] };
    expect(m.modules.find((x) => x.name === '1.5.05')).toMatchObject({ buildNum: 698, tdxFeatures0: '0x1f0fbf', tdxFeatures0Known: true });
    expect(m.modules.find((x) => x.name === '1.0')).toMatchObject({ buildNum: null });
    expect(tdxsim(['modules']).stdout).toMatch(/^1\.5\.28 +0x226f3f0fbf \(assumed\) +989 +20251126 +unknown /m);
    // UNBLOCK's operand, LP.INIT's CPUID table and the configurable CPUID leaves per release, read or assumed.
    const rows = tdxsim(['modules']).stdout.split('\n');
    expect(rows.find((l) => l.startsWith('1.5.01 '))).toMatch(/ TLB_TRACKING_NOT_DONE\|SEPT_TREE +1\.5\.01 +12 \(1\.5\.01\)$/);
    expect(rows.find((l) => l.startsWith('1.5.06 '))).toMatch(/ TLB_TRACKING_NOT_DONE\|RCX \(assumed\) +1\.5\.06 +18 \(1\.5\.06\)$/);
    expect(rows.find((l) => l.startsWith('2.0.16 '))).toMatch(/ TLB_TRACKING_NOT_DONE\|RCX \(assumed\) +2\.0\.08 \(assumed\) +28 \(2\.0\.08\)$/);
    const j = JSON.parse(tdxsim(['modules', '--json']).stdout) as { modules: { name: string; unblockTlbOperand: unknown; cpuidTable: unknown; cpuidConfig: unknown }[] };
    expect(j.modules.find((x) => x.name === '1.5.05')).toMatchObject({
      unblockTlbOperand: { value: 'RCX', assumed: false },
      cpuidTable: { value: '1.5.05', source: expect.stringContaining('niooss-ledger/tdx-module f99767b') as unknown, assumed: false },
    });
    expect(j.modules.find((x) => x.name === '2.0.05')).toMatchObject({
      cpuidConfig: { value: '2.0.04', leaves: 28, source: expect.stringContaining('not read for this release') as unknown, assumed: true },
    });
  });
});

describe('tdxsim scenarios / presets --json', () => {
  it('list what is embedded as JSON', () => {
    const s = JSON.parse(tdxsim(['scenarios', '--json']).stdout) as { name: string; kernel: string | null; platform: string | null }[];
    expect(s.find((x) => x.name === 'kexec-linux-6.8')).toMatchObject({ kernel: 'linux-6.16', platform: 'small-2s' });
    expect(s.find((x) => x.name === 'bringup')).toMatchObject({ kernel: null, platform: 'small-2s' });
    expect(JSON.parse(tdxsim(['presets', '--json']).stdout)).toEqual(['small-2s', 'ref', 'spr-2s-256g', 'emr-2s-1t', 'gnr-2s-2t', '8s-12t', 'amd-sme-2s']);
  });
});
