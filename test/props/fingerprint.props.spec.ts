/**
 * The state fingerprint of stateful search (Scheduler.fingerprint) covers everything that can
 * affect the future: random executions of the kexec scenario meet the same fingerprint through
 * different choice prefixes (interleavings of the same per-CPU steps); from both, the same
 * random continuation must behave the same (same findings, same fingerprints at every later
 * choice point). Seeded; the seed is in the title.
 */
import { describe, expect, it } from 'vitest';

import { prepareRun } from '../../src/api/run.js';
import { scenarioTarget, withCpus } from '../../src/api/index.js';
import type { ChoiceSource, SchedAction } from '../../src/base/choice.js';
import { actionKey } from '../../src/sim/choices/ExhaustiveChoices.js';
import { Prng } from '../../src/base/prng.js';
import { NO_FAULTS } from '../../src/explore/faults.js';
import type { ExploreTarget } from '../../src/explore/explore.js';

/** Replays `prefix`, then draws from `prng`; logs the fingerprint at every scheduler choice point. */
class Probe implements ChoiceSource {
  readonly path: number[] = [];
  readonly prints: { at: number; fp: string }[] = [];
  constructor(
    private readonly prefix: readonly number[],
    private readonly prng: Prng,
  ) {}
  choose(n: number): number {
    if (n <= 1) {
      return 0;
    }
    const i = this.path.length;
    const k = i < this.prefix.length ? (this.prefix[i] as number) : this.prng.int(n);
    this.path.push(k);
    return k;
  }
  /**
   * Scheduler choices of the continuation are drawn over the actions sorted by what they are
   * (the scheduler lists them in an order that depends on history, not on the state).
   */
  chooseAction(actions: readonly SchedAction[]): number {
    const n = actions.length;
    if (n <= 1) {
      return 0;
    }
    const i = this.path.length;
    let k: number;
    if (i < this.prefix.length) {
      k = this.prefix[i] as number;
    } else {
      const order = actions.map((a, j) => ({ key: actionKey(a), j })).sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
      k = (order[this.prng.int(n)] as { j: number }).j;
    }
    this.path.push(k);
    return k;
  }
  visitState(fingerprint: (canonical?: boolean) => string): boolean {
    this.prints.push({ at: this.path.length, fp: fingerprint(false) });
    return true;
  }
}

function run(target: ExploreTarget, prefix: readonly number[], prng: Prng): { probe: Probe; findings: string[] } {
  const probe = new Probe(prefix, prng);
  const ex = target({ choices: probe, faults: NO_FAULTS, exhaustiveFaults: false, record: false });
  return { probe, findings: ex.findings.map((f) => `${f.class}:${JSON.stringify(f.details)}`).sort() };
}

const SEED = 20261205;

describe(`state fingerprints (seed ${SEED})`, () => {
  for (const [kernel, cpus] of [['linux-6.18', 3], ['tdx-host-v8', 3], ['linux-6.18', 4]] as const) {
    it(`${kernel}, ${cpus} CPUs: states with one fingerprint behave the same on random continuations`, () => {
      const p = prepareRun({ scenario: 'kexec-linux-6.18', kernel });
      const target = scenarioTarget(p.scenario, withCpus(p.spec, cpus));
      const root = new Prng(SEED);
      const firstSeen = new Map<string, number[]>();
      const pairs: [number[], number[]][] = [];
      for (let i = 0; i < 300 && pairs.length < 40; i++) {
        const { probe } = run(target, [], root.fork(`explore${i}`));
        for (const { at, fp } of probe.prints) {
          const prefix = probe.path.slice(0, at);
          const other = firstSeen.get(fp);
          if (other === undefined) {
            firstSeen.set(fp, prefix);
          } else if (other.join('.') !== prefix.join('.')) {
            pairs.push([other, prefix]);
          }
        }
      }
      expect(pairs.length).toBeGreaterThan(10);
      for (const [j, [a, b]] of pairs.entries()) {
        for (let c = 0; c < 3; c++) {
          const seed = `cont${j}.${c}`;
          const ra = run(target, a, root.fork(seed));
          const rb = run(target, b, root.fork(seed));
          const after = (r: { probe: Probe }, n: number): string[] => r.probe.prints.filter((x) => x.at >= n).map((x) => x.fp);
          expect(ra.findings, `prefixes ${a.join('.')} and ${b.join('.')}, continuation ${seed}`).toEqual(rb.findings);
          expect(after(ra, a.length)).toEqual(after(rb, b.length));
        }
      }
    });
  }
});
