/**
 * Exploration and kexec benchmarks (issues 5, 6 and 14): executions and states per second on
 * the 2-, 3- and 4-CPU kexec scenarios, the 3-CPU exhaustive proof, time to find the stop race
 * (tuned, and from the untuned scenario on 2 to 8 CPUs), the stop-protocol proof side by side
 * with SPIN on 2 to 7 CPUs, and a kexec of a big host whose TDs touched 64 GiB.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

/** Seconds allowed per proof run (each side). */
const PROOF_LIMIT_S = 300;

/** Whether a command is on PATH. */
function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/**
 * SPIN 6.5 on its hand-written model of the same protocol (bench/spin/stop_cpus.pml, from the
 * shared anchors), as anchors/spin/run.sh runs it: safety, no race assertion (RACE=0). Seconds
 * of the verifier run (compilation apart), or undefined when spin/gcc are missing.
 */
function spinProof(n: number): { seconds: number; states: number; errors: number; completed: boolean } | undefined {
  if (!has('spin') || !has('gcc')) {
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tdxsim-spin-'));
  try {
    copyFileSync(join(process.cwd(), 'bench/spin/stop_cpus.pml'), join(dir, 'stop_cpus.pml'));
    spawnSync('spin', ['-a', `-DN=${n}`, '-DRACE=0', 'stop_cpus.pml'], { cwd: dir });
    spawnSync('gcc', ['-O2', '-DSAFETY', '-DMEMLIM=8000', '-o', 'pan', 'pan.c'], { cwd: dir });
    const t0 = process.hrtime.bigint();
    const r = spawnSync('./pan', ['-m1000000'], { cwd: dir, encoding: 'utf8', timeout: PROOF_LIMIT_S * 1000, maxBuffer: 2 ** 26 });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const out = r.stdout ?? '';
    const errors = Number(/errors: (\d+)/.exec(out)?.[1] ?? -1);
    const states = Number(/(\d+) states, stored/.exec(out)?.[1] ?? 0);
    // pan stops early with "reached -DMEMLIM bound" (or out of memory) and still says errors: 0.
    return { seconds, states, errors, completed: r.status === 0 && errors === 0 && !/out of memory|MEMLIM bound/i.test(`${out}${r.stderr ?? ''}`) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The stop-protocol proof on linux-6.18 with arbitrary REBOOT IPI latency (nominal, after the
 * 1 s wait, never): stateful exhaustive search of the plain kexec scenario (which also covers
 * KVM's syscore flush before the stop), failing only on silent corruption (the stop race itself
 * is allowed), side by side with SPIN in the same run. ratio = tdxsim seconds / SPIN seconds.
 */
function proofVsSpin(n: number): Bench {
  return {
    name: `explore.stop-proof-${n}cpu-vs-spin`,
    target: n <= 6 ? 'complete, no slower than SPIN (ratio <= 1)' : 'completes',
    run() {
      const spin = spinProof(n);
      const r = exploreScenario({ scenario: 'kexec-linux-6.18', strategy: 'exhaustive', stateful: true, cpus: n, failOn: ['silent-corruption'], timeSec: PROOF_LIMIT_S, force: true, now });
      const d = r.details;
      const s = d.elapsedMs / 1000;
      const ok = d.complete && d.outcome === 'passed';
      return {
        metrics: {
          tdxsimSeconds: s,
          tdxsimComplete: ok ? 1 : 0,
          tdxsimStates: d.stateStore?.stored ?? d.states,
          tdxsimStoreMb: (d.stateStore?.bytes ?? 0) / 2 ** 20,
          executions: d.executions,
          ...(spin !== undefined ? { spinSeconds: spin.seconds, spinComplete: spin.completed ? 1 : 0, spinStates: spin.states, ratio: s / Math.max(spin.seconds, 0.001) } : {}),
        },
        pass: ok && (n > 6 || spin === undefined || !spin.completed || s <= spin.seconds),
      };
    },
  };
}

/**
 * Dynamic partial-order reduction against the label-based sleep sets, on the stop protocol
 * with the REBOOT IPI in time (kexec-intime, 4 CPUs, symmetry on in both): executions and
 * seconds of each, complete searches.
 */
const dporIntime4: Bench = {
  name: 'explore.dpor-vs-sleep-sets-intime-4cpu',
  target: 'both complete; DPOR fewer executions',
  run() {
    const a = exploreScenario({ scenario: 'kexec-intime', strategy: 'exhaustive', cpus: 4, dpor: true, now });
    const b = exploreScenario({ scenario: 'kexec-intime', strategy: 'exhaustive', cpus: 4, now });
    return {
      metrics: { dporExecutions: a.details.executions, dporSeconds: a.details.elapsedMs / 1000, sleepExecutions: b.details.executions, sleepSeconds: b.details.elapsedMs / 1000 },
      pass: a.details.complete && b.details.complete && a.details.executions < b.details.executions,
    };
  },
};

/** The stop race from the plain (untuned) kexec scenario, by random search: time to find it. */
function raceUntuned(n: number): Bench {
  return {
    name: `explore.stop-race-untuned-${n}cpu`,
    target: '< 1 s',
    run() {
      const { ms, value } = timeMs(() => exploreScenario({ scenario: 'kexec-linux-6.18', strategy: 'random', timeSec: 10, cpus: n, seed: 1, now, failOn: ['cpu-still-running'] }));
      return { metrics: { ms, executions: value.details.executions, found: value.details.counterexample === undefined ? 0 : 1 }, pass: value.details.counterexample !== undefined && ms < 1000 };
    },
  };
}

/** Exploration and kexec benchmarks. */
export const exploreBenches: Bench[] = [
  rate(2, 5000),
  rate(3, undefined),
  rate(4, undefined),
  proof3,
  dporIntime4,
  race,
  ...[2, 3, 4, 5, 6, 7, 8].map(raceUntuned),
  ...[2, 3, 4, 5, 6, 7].map(proofVsSpin),
  bigKexec,
];
