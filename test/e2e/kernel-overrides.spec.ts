import { describe, expect, it } from 'vitest';

import { namedScenario, run } from '../../src/api/index.js';
import { tdxsim, tempFile } from '../__test-helpers__/cli.js';

/** An embedded scenario with kernel overrides. */
function withOverrides(name: string, kernelOverrides: Record<string, unknown>): Record<string, unknown> {
  return { ...(namedScenario(name) as Record<string, unknown>), kernelOverrides };
}

const classes = (r: ReturnType<typeof run>): string[] => [...new Set(r.findings.map((f) => f.class))].sort();

describe('kernel-profile overrides in scenarios ("6.18 plus my change")', () => {
  it('linux-6.18 without its early flush and stop_this_cpu() WBINVD corrupts the new kernel; with them it passes', () => {
    const plain = run({ scenario: 'kexec-linux-6.18' });
    expect(plain.verdict).toBe('pass');
    expect(plain.kernel).toBe('linux-6.18');
    const r = run({ scenarioObject: withOverrides('kexec-linux-6.18', { earlyFlush: false, stopThisCpuWbinvd: 'never' }) });
    expect(r.kernel).toBe('linux-6.18 with overrides: stopThisCpuWbinvd=never, earlyFlush=false');
    expect(r.verdict).toBe('fail');
    expect(classes(r)).toEqual(['seamcall-after-flush', 'silent-corruption']);
    // Removing only the early flush is not enough: stop_this_cpu() still flushes the flagged CPU.
    expect(classes(run({ scenarioObject: withOverrides('kexec-linux-6.18', { earlyFlush: false }) }))).toEqual([]);
  });

  it('vice versa: the mutant kernel with stop_this_cpu() flushing flagged CPUs again has no finding', () => {
    const mutant = run({ scenario: 'kexec-mutant' });
    expect(classes(mutant)).toEqual(['seamcall-after-flush', 'silent-corruption']);
    const fixed = run({ scenarioObject: { ...withOverrides('kexec-mutant', { stopThisCpuWbinvd: 'flag', relocateWbinvd: 'flag' }), expect: { findings: [] } } });
    expect(classes(fixed)).toEqual([]);
    expect(fixed.verdict).toBe('pass');
  });

  it('the flag cleared before the WBINVD, or never, changes no outcome of the plain kexec', () => {
    for (const flagClear of ['before-wbinvd', 'never']) {
      expect(classes(run({ scenarioObject: withOverrides('kexec-linux-6.18', { flagClear }) })), flagClear).toEqual([]);
    }
  });

  it('no NMI fallback: a CPU that takes the REBOOT IPI late is still running at the jump', () => {
    const base = namedScenario('kexec-race-2cpu') as Record<string, unknown> & { steps: Record<string, unknown>[] };
    const late = { ...base, steps: [...base.steps.slice(0, -1), { op: 'kexec', lateRebootIpi: [1], lateByMs: 5000 }] };
    const withNmi = run({ scenarioObject: late });
    expect(classes(withNmi)).toEqual([]);
    expect(withNmi.runs[0]!.dmesg.some((l) => l.includes('Shutting down cpus with NMI'))).toBe(true);
    const r = run({ scenarioObject: { ...late, kernelOverrides: { nmiFallback: false } } });
    expect(classes(r)).toEqual(['cpu-still-running']);
    expect(r.runs[0]!.dmesg.some((l) => l.includes('Shutting down cpus with NMI'))).toBe(false);
  });

  it('a longer REBOOT wait: the late CPU (1001 ms) stops within it, so no NMI is sent', () => {
    const nmi = (r: ReturnType<typeof run>): boolean => r.runs[0]!.dmesg.some((l) => l.includes('Shutting down cpus with NMI'));
    expect(nmi(run({ scenario: 'kexec-race-2cpu' }))).toBe(true);
    const longer = run({ scenarioObject: withOverrides('kexec-race-2cpu', { stopRebootWaitMs: 2000 }) });
    expect(nmi(longer)).toBe(false);
    expect(classes(longer)).toEqual([]);
  });

  it('run prints the kernel with its overrides; an unknown name exits 2 naming the closest', () => {
    const f = tempFile('o.json', JSON.stringify(withOverrides('kexec-linux-6.18', { earlyFlush: false, stopThisCpuWbinvd: 'never' })));
    const ok = tdxsim(['run', f]);
    expect(ok.status).toBe(1);
    expect(ok.stdout.split('\n')[0]).toBe('-- kernel: linux-6.18 with overrides: stopThisCpuWbinvd=never, earlyFlush=false');
    const bad = tempFile('b.json', JSON.stringify(withOverrides('kexec-linux-6.18', { stopThisCpuWbind: 'never' })));
    const r = tdxsim(['run', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`tdxsim: ${bad}: kernelOverrides.stopThisCpuWbind: unknown kernel behaviour point (did you mean "stopThisCpuWbinvd"?)`);
    const badValue = tempFile('v.json', JSON.stringify(withOverrides('kexec-linux-6.18', { relocateWbinvd: 'sometimes' })));
    const v = tdxsim(['run', badValue]);
    expect(v.status).toBe(2);
    expect(v.stderr).toContain('kernelOverrides.relocateWbinvd');
  });
});
