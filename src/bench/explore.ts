/**
 * Exploration and kexec benchmarks (issues 5 and 6): executions and states per second on the
 * 2-, 3- and 4-CPU kexec scenarios, the 3-CPU exhaustive proof, time to find the stop race,
 * and a kexec of a big host whose TDs touched 64 GiB.
 */
import { exploreScenario, run } from '../api/index.js';
import type { Bench } from './types.js';
import { gc, rssMb, timeMs } from './types.js';

const now = (): number => Number(process.hrtime.bigint() / 1_000_000n);

/**
 * Executions per second of random exploration of the kexec scenario on `cpus` CPUs: first a
 * cold run of 2,000 executions (JIT warm-up included), then a sustained run of 3 seconds with
 * another seed, as `tdxsim explore --time 3` runs. The target applies to the sustained rate.
 */
function rate(cpus: number, target: number | undefined): Bench {
  return {
    name: `explore.kexec-${cpus}cpu-rate`,
    target: target === undefined ? 'report executions/s and states/s' : `>= ${target} executions/s sustained`,
    run() {
      const cold = exploreScenario({ scenario: 'kexec-intime', strategy: 'random', budget: 2000, cpus, seed: 3, now });
      const r = exploreScenario({ scenario: 'kexec-intime', strategy: 'random', timeSec: 3, cpus, seed: 4, now });
      const s = r.details.elapsedMs / 1000;
      const execPerSec = r.details.executions / s;
      return {
        metrics: {
          coldExecutionsPerSec: Math.round(cold.details.executions / (cold.details.elapsedMs / 1000)),
          executions: r.details.executions,
          seconds: s,
          executionsPerSec: Math.round(execPerSec),
          statesPerSec: Math.round(r.details.states / s),
        },
        pass: target === undefined || execPerSec >= target,
      };
    },
  };
}

const proof3: Bench = {
  name: 'explore.kexec-3cpu-exhaustive-proof',
  target: '< 60 s',
  run() {
    const r = exploreScenario({ scenario: 'kexec-intime', strategy: 'exhaustive', cpus: 3, now });
    const s = r.details.elapsedMs / 1000;
    return { metrics: { seconds: s, executions: r.details.executions, pruned: r.details.redundant, states: r.details.states, complete: r.details.complete ? 1 : 0, executionsPerSec: Math.round(r.details.executions / s) }, pass: r.details.complete && r.details.outcome === 'passed' && s < 60 };
  },
};

const race: Bench = {
  name: 'explore.stop-race-found',
  target: '< 1 s',
  run() {
    const { ms, value } = timeMs(() => exploreScenario({ scenario: 'kexec-race-2cpu', strategy: 'random', budget: 2000, seed: 1, now, failOn: ['cpu-still-running'] }));
    return { metrics: { ms, executions: value.details.executions, found: value.details.counterexample === undefined ? 0 : 1 }, pass: value.details.counterexample !== undefined && ms < 1000 };
  },
};

const bigKexec: Bench = {
  name: 'kexec.emr-2s-1t-8tds-64g',
  target: '< 2 s and < 300 MB',
  run() {
    gc();
    const before = rssMb();
    const steps = [{ op: 'boot' }, { op: 'kvm.load' }, ...Array.from({ length: 8 }, (_, i) => ({ op: 'td.create', count: 1, memMiB: 8192, cpu: 2 + 4 * i })), { op: 'kexec' }];
    const { ms, value } = timeMs(() => run({ scenarioObject: { name: 'big-kexec', platform: 'emr-2s-1t', steps } }));
    const grow = rssMb() - before;
    return { metrics: { ms, rssGrowthMb: grow, findings: value.findings.length, tds: Number(value.runs[0]?.stats['tds'] ?? 0) }, pass: ms < 2000 && grow < 300 && value.findings.length === 0 };
  },
};

/** Exploration and kexec benchmarks. */
export const exploreBenches: Bench[] = [rate(2, 5000), rate(3, undefined), rate(4, undefined), proof3, race, bigKexec];
