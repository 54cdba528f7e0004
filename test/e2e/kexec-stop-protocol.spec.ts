/**
 * Audit row 1: before 6.5 native_stop_other_cpus() waited `while (num_online_cpus() > 1 &&
 * timeout--)` and stop_this_cpu() went offline before its WBINVD, so the kexec-ing CPU could
 * jump while a remote WBINVD still ran. Since 6.5 (cpus_stop_mask) a CPU counts as stopped only
 * after its WBINVD.
 * @see linux arch/x86/kernel/smp.c native_stop_other_cpus() (v6.1 and v6.5+), commit
 *      1f5e7eb7868e "x86/smp: Make stop_other_cpus() more robust"
 */
import { describe, expect, it } from 'vitest';

import { exploreScenario, replayScenario } from '../../src/api/index.js';

const now = (): number => Number(process.hrtime.bigint() / 1_000_000n);

describe('kexec stop protocol: num_online_cpus() (drafts) against cpus_stop_mask (6.5+)', () => {
  it('tdx-host-v8: the jump overtakes CPU 1\'s stop_this_cpu WBINVD and the C-bit alias corrupts the new kernel; the same schedule is safe on linux-6.18', () => {
    const r = exploreScenario({ scenario: 'kexec-amd-sme', kernel: 'tdx-host-v8', strategy: 'random', budget: 200, seed: 1, now, failOn: ['silent-corruption'] });
    expect(r.details.outcome).toBe('failed');
    const cx = r.details.counterexample!;
    expect(cx.finding.class).toBe('silent-corruption');
    expect(cx.finding.details).toMatchObject({ staleKeyId: 1, fromCpu: 1, overwrittenKeyId: 0 });
    expect(cx.replayed).toBe(true);
    const v8 = replayScenario({ scenario: 'kexec-amd-sme', kernel: 'tdx-host-v8', path: cx.path });
    expect(v8.execution.findings.map((f) => f.class)).toContain('silent-corruption');
    expect(v8.execution.findings.map((f) => f.class)).toContain('cpu-still-running');
    const l618 = replayScenario({ scenario: 'kexec-amd-sme', kernel: 'linux-6.18', path: cx.path });
    expect(l618.execution.findings).toEqual([]);
  });

  it('linux-6.18: no schedule of the same scenario corrupts (exhaustive, 2 CPUs)', () => {
    // Exploration now also chooses the REBOOT IPI's latency (after the 1 s wait, never), so the
    // 6.5+ stop race (cpu-still-running) is reachable here too; what must not exist is corruption.
    const r = exploreScenario({ scenario: 'kexec-amd-sme', kernel: 'linux-6.18', strategy: 'exhaustive', cpus: 2, now, failOn: ['silent-corruption'] });
    expect(r.details.outcome).toBe('passed');
    expect(r.details.complete).toBe(true);
  });
});
