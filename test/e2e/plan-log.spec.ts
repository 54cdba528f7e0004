/**
 * `plan` on a real log: the log's own kernel and module by default (inferred as diagnose infers
 * them), what current kernels would do beside it, warnings instead of refusals, and a healthy
 * host never reported as failing because of a default.
 */
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { diagnose } from '../../src/tools/diagnose.js';
import { plan } from '../../src/tools/plan.js';
import { tdxsim, tempFile } from '../__test-helpers__/cli.js';

const DIR = 'test/fixtures/corpus';
const LOG16 = `${DIR}/16-ubuntu68-1006-emr-success-after-fix.log`;

describe('plan defaults to the log\'s own kernel and module', () => {
  it('corpus 16 (Ubuntu 6.8.0-1006-intel, module build 698): ubuntu-6.8-intel and 1.5.05, ok, 1050644 KB, with linux-6.18 and linux-7.2 beside it', () => {
    const p = plan({ input: LOG16 });
    expect(p.kernel).toBe('ubuntu-6.8-intel');
    expect(p.module).toBe('1.5.05');
    expect(p.inferred.kernel).toEqual({ profile: 'ubuntu-6.8-intel', from: 'log', why: 'Linux 6.8.0-1006-intel (line 1, BOOT_IMAGE=), Canonical\'s linux-intel', line: 1, release: '6.8.0-1006-intel' });
    expect(p.inferred.module).toEqual({ profile: '1.5.05', from: 'input', why: 'module version line (line 5): build 698 is release 1.5.05 (intel/tdx-module BUILD.md at e98d9639 (1.5.05))', line: 5 });
    expect(p.outcome).toBe('ok');
    expect(p.pamtKb).toBe(1050644);
    expect(p.holes).toBe('cmrs');
    expect(p.dmesg.slice(-2)).toEqual(['virt/tdx: 1050644 KB allocated for PAMT', 'virt/tdx: module initialized']);
    expect(p.current.map((c) => [c.kernel, c.module, c.outcome, c.pamtKb])).toEqual([
      ['linux-6.18', '1.5.05', 'ok', 1050644],
      ['linux-7.2', '1.5.05', 'ok', 1050644],
    ]);
    expect(p.warnings).toEqual([]);
    expect(p.logSaysOk).toBeNull();
  });

  it('--kernel still overrides, and then no comparison is added', () => {
    const p = plan({ input: LOG16, kernel: 'linux-6.16' });
    expect(p.kernel).toBe('linux-6.16');
    expect(p.inferred.kernel.from).toBe('option');
    expect(p.module).toBe('1.5.05');
    expect(p.current).toEqual([]);
  });

  it('a log that shows "module initialized" never gets a FAIL for its own kernel', () => {
    // The same log with a version line that names a 1.0 module: the plan core would fail the
    // metadata reads, but the log shows the machine came up.
    const text = readFileSync(LOG16, 'utf8').replace('minor_version 5, build_date 20240129, build_num 698', 'minor_version 0, build_date 20230206, build_num 457');
    const p = plan({ text, name: 'edited' });
    expect(p.module).toBe('1.0');
    expect(p.outcome).toBe('ok');
    expect(p.failure).toBeNull();
    expect(p.logSaysOk?.line).toBe(12);
    expect(p.logSaysOk?.modelFailure.reason).toBe('version-skew');
    expect(p.notes[0]).toMatch(/^the log shows "virt\/tdx: module initialized" \(line 12\): ubuntu-6\.8-intel initialised TDX on this machine; the plan's failure \(version-skew: /);
    // Asked for explicitly, the module's failure stands.
    expect(plan({ text, name: 'edited', module: '1.0' }).outcome).toBe('fail');
  });

  it('the CLI says what it inferred and from which line, and its exit code follows the log\'s kernel', () => {
    const r = tdxsim(['plan', LOG16]);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[2]).toBe('kernel: ubuntu-6.8-intel, inferred from the log: Linux 6.8.0-1006-intel (line 1, BOOT_IMAGE=), Canonical\'s linux-intel (--kernel overrides)');
    expect(lines[3]).toBe('module: 1.5.05, from the input: module version line (line 5): build 698 is release 1.5.05 (intel/tdx-module BUILD.md at e98d9639 (1.5.05))');
    expect(r.stdout).toContain('current kernels, same machine and module 1.5.05:\n  linux-6.18  ok: 1050644 KB of PAMT (262661 pages) for 5 TDMR(s)\n  linux-7.2   ok: 1050644 KB of PAMT (262661 pages) for 5 TDMR(s)\n');
    // With a 1.5.01 module the log's 6.8 kernel is fine, current kernels are not: exit 0.
    const skew = tempFile('skew.log', readFileSync(LOG16, 'utf8').replace('build_date 20240129, build_num 698', 'build_date 20230908, build_num 560'));
    const s = tdxsim(['plan', skew, '--json']);
    expect(s.status).toBe(0);
    const j = JSON.parse(s.stdout) as { kernel: string; module: string; outcome: string; current: { kernel: string; outcome: string; failure: { reason: string } | null }[] };
    expect([j.kernel, j.module, j.outcome]).toEqual(['ubuntu-6.8-intel', '1.5.01', 'ok']);
    expect(j.current.map((c) => [c.kernel, c.outcome, c.failure?.reason ?? null])).toEqual([
      ['linux-6.18', 'fail', 'version-skew'],
      ['linux-7.2', 'fail', 'version-skew'],
    ]);
    expect(tdxsim(['plan', skew, '--kernel', 'linux-6.18']).status).toBe(1);
  });
});

describe('kernel inference for logs without a version line', () => {
  it.each([
    ['11-ubuntu68-runtime-reclaim-quote-stress.log', 2],
    ['12-ubuntu68-runtime-reclaim-td-termination.log', null],
    ['22-ubuntu68-runtime-demote-tlb-tracking-redacted.log', 1],
  ])('%s: KVM\'s one-line SEAMCALL form is Ubuntu 6.8\'s out-of-tree KVM', (f, line) => {
    const d = diagnose({ file: `${DIR}/${f}`, reproduce: false });
    expect(d.inferred.kernel.profile).toBe('ubuntu-6.8-intel');
    expect(d.inferred.kernel.why).toMatch(/^the one-line "SEAMCALL \(0x\.\.\) failed: 0x\.\. RCX \.\. R11 \.\." without a prefix \(line \d+\), which only the out-of-tree KVM of Ubuntu's linux-intel 6\.8 prints$/);
    if (line !== null) {
      expect(d.inferred.kernel.why).toContain(`(line ${line})`);
    }
  });

  it('the Ubuntu 6.14 version line means an Ubuntu 6.14 kernel, modelled by the closest profile, and says so', () => {
    const d = diagnose({ file: `${DIR}/08-ubuntu614-gnr-reserved-areas-exhausted.log`, reproduce: false });
    expect(d.inferred.kernel.profile).toBe('linux-6.16');
    expect(d.inferred.kernel.why).toBe(
      'the "TDX module X.Y.ZZ.NN, build number N, build date H" line (line 3) of Ubuntu\'s linux-intel 6.14 (25.04): there is no Ubuntu 6.14 profile; modelled by the closest, linux-6.16 (KVM TDX from the series merged in 6.16, holes from the memory list, no CMR lines)',
    );
    expect(d.inferred.module.profile).toBe('2.0.08');
  });
});

describe('the reproduction explains every difference', () => {
  it('a kexec\'d kernel whose profile has no kexec: could not reproduce, and no pairs for a state problem', () => {
    const text = readFileSync('test/fixtures/dmesg/kexec-not-initial-state.dmesg', 'utf8').replace('Linux version 6.18.0-1-generic', 'Linux version 6.8.0-1028-intel');
    const d = diagnose({ text, name: 'kexecd' });
    expect(d.classification.class).toBe('module-not-in-initial-state');
    expect(d.reproduction.kernel).toBe('ubuntu-6.8-intel');
    expect(d.reproduction.why).toBe('could not reproduce: ubuntu-6.8-intel has no kexec (INTEL_TDX_HOST depends on !KEXEC_CORE); the log\'s kernel evidently had it');
    expect(d.reproduction.matches).toBeNull();
    expect(d.reproduction.dmesg).toEqual([]);
    expect(d.alternatives).toEqual([]);
    expect(d.remedy.join('\n')).not.toMatch(/pairs|upgrade to TDX module/);
    // The same log from a kernel with kexec (6.18) still has no pair list: a cold boot fixes it.
    expect(diagnose({ file: 'test/fixtures/dmesg/kexec-not-initial-state.dmesg', reproduce: false }).alternatives).toEqual([]);
  });

  it('corpus 14: a cut-off line and a kernel build that took another path, each said', () => {
    const r = diagnose({ file: `${DIR}/14-ubuntu68-1004-emr-init-failed-truncated.log` }).reproduction;
    expect(r.compared).toEqual({ log: 8, sim: 9, same: 7 });
    expect(r.explained).toBe(false);
    expect(r.diff.filter((x) => x.op !== 'same').map((x) => [x.op, x.reason?.kind])).toEqual([
      ['extra', 'diverged'],
      ['extra', 'diverged'],
      ['missing', 'cut-short'],
    ]);
    expect(r.diff.find((x) => x.op === 'missing')?.reason?.text).toBe('the log\'s line 11 is cut off, so it cannot equal a whole line');
    expect(r.diff.find((x) => x.op === 'extra')?.reason?.text).toBe(
      'the simulated ubuntu-6.8-intel initialises TDX where the log\'s kernel 6.8.0-1004-intel failed (reserved areas exhausted): ubuntu-6.8-intel takes holes from the CMRs (as 6.8.0-1006-intel and later do), so it needs fewer reserved areas than a build that took them from the memory list',
    );
  });

  it('a value the rebuilt machine cannot know, and a line one kernel does not print, never count against a healthy host', () => {
    const text = readFileSync(LOG16, 'utf8').replace('1050644 KB allocated', '1050700 KB allocated').replace(/^.*Disable ACPI S3.*\n/m, '');
    const d = diagnose({ text, name: 'edited' });
    const r = d.reproduction;
    expect(d.classification.class).toBe('success');
    expect(r.matches).toBe(false);
    expect(r.explained).toBe(true);
    expect(r.diff.filter((x) => x.op !== 'same').map((x) => [x.op, x.log ?? x.sim, x.reason?.kind])).toEqual([
      ['extra', 'virt/tdx: Disable ACPI S3. Turn off TDX in the BIOS to use ACPI S3.', 'not-printed'],
      ['extra', 'virt/tdx: 1050644 KB allocated for PAMT', 'unknown-value'],
      ['missing', 'virt/tdx: 1050700 KB allocated for PAMT', 'unknown-value'],
    ]);
    expect(r.diff.find((x) => x.op === 'missing')?.reason?.text).toBe(
      'a value the rebuilt machine cannot know: the PAMT follows the TDMRs, which the rebuilt machine computes from the CMR lines only (no memory map in the log) and the CMRs the log prints, with holes inside them that no line shows',
    );
  });
});

describe('version-skew remedies come from the simulated alternatives and the catalogues', () => {
  it('a 1.5.01 module under Linux 6.18: upgrade to 1.5.05 or later, because 6.16+ read MAX_VCPUS_PER_TD; never a 2022 draft', () => {
    const d = diagnose({ file: 'test/fixtures/dmesg/version-skew-6.18-tdx1.5.dmesg' });
    expect(d.remedy).toEqual([
      'Upgrade to TDX module 1.5.05 or later (your 1.5.01 lacks MAX_VCPUS_PER_TD, which kernels from 6.16 read), by a BIOS/firmware update or the OS SEAM loader, to keep Linux 6.18 (or 6.19/7.0)',
      'or keep module 1.5.01 and run Ubuntu 24.04 linux-intel 6.8 (6.8.0-1006-intel or later)',
    ]);
    expect(d.remedy.join('\n')).not.toMatch(/tdx-host|2022|TDH\.SYS\.INFO/);
  });

  it('a 1.0 module under Ubuntu 6.8: the lacking leaf, and the first kernel that needs it', () => {
    const d = diagnose({ file: 'test/fixtures/dmesg/version-skew-6.8-tdx1.0.dmesg' });
    expect(d.remedy).toEqual([
      'Upgrade to TDX module 1.5.01 or later (your 1.0 lacks TDH.SYS.RD, which kernels from 6.8 use to read the module\'s metadata), by a BIOS/firmware update or the OS SEAM loader, to keep Ubuntu 24.04 linux-intel 6.8 (6.8.0-1006-intel or later)',
    ]);
  });
});
