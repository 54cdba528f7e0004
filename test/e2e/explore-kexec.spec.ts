import { describe, expect, it } from 'vitest';

import { exploreScenario, formatTimeline, replayScenario } from '../../src/api/index.js';

const now = (): number => Number(process.hrtime.bigint() / 1_000_000n);

describe('tdxsim explore on kexec (issue 6)', () => {
  for (const kernel of ['linux-6.18', 'tdx-host-v8']) {
    it(`finds the stop race from scratch on 2 CPUs under ${kernel}, shrinks it and replays it`, () => {
      const r = exploreScenario({ scenario: 'kexec-race-2cpu', kernel, strategy: 'random', budget: 300, seed: 1, now, failOn: ['cpu-still-running'] });
      const cx = r.details.counterexample!;
      expect(r.details.outcome).toBe('failed');
      expect(cx.finding.class).toBe('cpu-still-running');
      expect(cx.replayed).toBe(true);
      // 6.18: the 6.5+ hole (REBOOT taken late, then the NMI re-runs stop_this_cpu). v8 (pre-6.5
      // num_online_cpus() wait): CPU 0 goes on as soon as CPU 1 is offline, mid-stop_this_cpu.
      expect(formatTimeline(cx.timeline).join('\n')).toMatch(kernel === 'linux-6.18' ? /take REBOOT[\s\S]*send NMI to CPU 1[\s\S]*kexec jump/ : /send NMI to CPU 1[\s\S]*stop_this_cpu: run 1[\s\S]*kexec jump/);
      // Under v8 the default schedule already shows it: the shrunk path is empty (printed "").
      expect(r.replay).toBe(`tdxsim replay kexec-race-2cpu --seed 1 --path ${cx.path === '' ? '""' : cx.path} --kernel ${kernel}`);
      const again = replayScenario({ scenario: 'kexec-race-2cpu', kernel, path: cx.path });
      expect(again.execution.findings.map((f) => f.class)).toContain('cpu-still-running');
    });
  }

  for (const cpus of [2, 3]) {
    it(`exhaustive search finds the mutant's corruption on ${cpus} CPUs`, () => {
      const r = exploreScenario({ scenario: 'kexec-mutant', strategy: 'exhaustive', cpus, now });
      expect(r.details.outcome).toBe('failed');
      expect(['silent-corruption', 'seamcall-after-flush']).toContain(r.details.counterexample!.finding.class);
      expect(r.details.counterexample!.replayed).toBe(true);
    });
  }

  it('linux-6.18 with the REBOOT IPI in time: exhaustive search over 3 CPUs proves no finding and counts executions', () => {
    const r = exploreScenario({ scenario: 'kexec-intime', strategy: 'exhaustive', cpus: 3, now });
    expect(r.details.outcome).toBe('passed');
    expect(r.details.complete).toBe(true);
    expect(r.details.executions).toBeGreaterThan(10);
  });

  it('concurrent tdx_enable from 3 CPUs with faults: initialized at most once, losers see 0 or -EINVAL', () => {
    const r = exploreScenario({ scenario: 'tdx-enable-concurrent', strategy: 'random', budget: 40, faults: 'swarm', seed: 7, now });
    expect(r.details.counterexample?.finding.class).not.toBe('invariant');
    expect(r.details.counterexample?.finding.class).not.toBe('liveness');
  });

  it('--check-determinism: every execution twice, same trace hash', () => {
    const r = exploreScenario({ scenario: 'kexec-intime', strategy: 'random', budget: 10, cpus: 2, checkDeterminism: true, now });
    expect(r.details.nondeterminism).toBeUndefined();
    expect(r.details.outcome).toBe('interrupted');
  });
});
