import { describe, expect, it } from 'vitest';

import { explore, replayPath } from '../../../src/explore/explore.js';
import type { ExecutionContext, ExploreTarget } from '../../../src/explore/explore.js';
import { PlanFaults } from '../../../src/explore/faults.js';
import { parsePath } from '../../../src/sim/choices/path.js';
import { Scheduler } from '../../../src/sim/Scheduler.js';
import type { Prog } from '../../../src/platform/Exec.js';
import { Platform } from '../../../src/platform/Platform.js';
import { preset } from '../../../src/platform/presets.js';

/** N CPUs each add 1 to a shared counter, as read / yield / write unless `atomic`. */
function counterTarget(cpus: number, atomic: boolean): ExploreTarget {
  return (ctx: ExecutionContext) => {
    const p = new Platform(preset('small-2s')!);
    p.faults = new PlanFaults(ctx.faults, ctx.choices, ctx.exhaustiveFaults);
    const s = new Scheduler(p, ctx.choices, 'free');
    s.preemptOnTick = false;
    const shared = { n: 0 };
    for (let c = 0; c < cpus; c++) {
      s.spawn(p.cpu(c), (function* (): Prog {
        // A label names what the CPU does when it resumes from that point.
        yield { op: 'yield', label: 'local:prepare' };
        yield { op: 'tick', ns: 5 };
        yield { op: 'yield', label: 'counter' };
        if (atomic) {
          shared.n++;
          yield { op: 'yield', label: 'local:done' };
        } else {
          const v = shared.n;
          yield { op: 'yield', label: 'counter' };
          shared.n = v + 1;
        }
      })());
    }
    s.run();
    const findings = shared.n === cpus ? [] : [{ class: 'model-bug' as const, message: `lost update: ${shared.n} of ${cpus}`, t: 0, seed: 0, path: '', details: {} }];
    return { findings, traceHash: `${p.tracer.hash}:${shared.n}`, steps: s.stats.steps, timeline: [{ t: 0, cpu: 0, kind: 'mark', label: `final ${shared.n}`, fields: {} }], dmesgTail: [] };
  };
}

describe('explore', () => {
  it('exhaustive search finds the lost update, shrinks it and replays it', () => {
    const t = counterTarget(2, false);
    const r = explore(t, { strategy: 'exhaustive', seed: 1 });
    expect(r.outcome).toBe('failed');
    const cx = r.counterexample!;
    expect(cx.finding.message).toBe('lost update: 1 of 2');
    expect(cx.replayed).toBe(true);
    expect(parsePath(cx.path)!.length).toBeLessThanOrEqual(parsePath(cx.originalPath)!.length);
    const again = replayPath(t, parsePath(cx.path)!, { sites: new Map() }, false, true);
    expect(again.findings.map((f) => f.message)).toEqual(['lost update: 1 of 2']);
  });

  it('exhaustive search proves the atomic version and counts executions; reductions prune', () => {
    const plain = explore(counterTarget(2, true), { strategy: 'exhaustive', seed: 1, sleepSets: false, symmetry: false });
    const reduced = explore(counterTarget(2, true), { strategy: 'exhaustive', seed: 1 });
    expect(plain).toMatchObject({ outcome: 'passed', complete: true, executions: 70 });
    expect(reduced).toMatchObject({ outcome: 'passed', complete: true });
    // Sleep sets and symmetry explore strictly fewer complete executions than plain DFS.
    expect(reduced.executions - reduced.redundant).toBeLessThan(plain.executions);
    const three = explore(counterTarget(3, true), { strategy: 'exhaustive', seed: 1 });
    expect(three).toMatchObject({ outcome: 'passed', complete: true });
    expect(three.executions).toBeLessThan(34650);
  });

  it('random and PCT strategies find the race with a seed', () => {
    for (const strategy of ['random', 'pct'] as const) {
      const r = explore(counterTarget(3, false), { strategy, seed: 7, budget: 500, cpus: 3 });
      expect(r.outcome, strategy).toBe('failed');
      expect(r.counterexample!.replayed, strategy).toBe(true);
    }
  });

  it('--check-determinism passes for a deterministic target and catches a non-deterministic one', () => {
    const ok = explore(counterTarget(2, true), { strategy: 'random', seed: 3, budget: 20, checkDeterminism: true });
    expect(ok.outcome).toBe('interrupted');
    expect(ok.nondeterminism).toBeUndefined();
    let flip = 0;
    const bad: ExploreTarget = () => ({ findings: [], traceHash: String(flip++), steps: 1 });
    const r = explore(bad, { strategy: 'random', seed: 3, budget: 5, checkDeterminism: true });
    expect(r.nondeterminism).toBe('non-determinism detected at execution 1: trace hash 0 then 1 (path )');
  });

  it('a time limit without a budget runs until the time is up; without either, random stops at 1,000', () => {
    const quiet: ExploreTarget = () => ({ findings: [], traceHash: 'h', steps: 1 });
    // A fake clock that advances 1 ms each time the explorer reads it.
    let ms = 0;
    const r = explore(quiet, { strategy: 'random', seed: 1, timeMs: 2500, now: () => ms++ });
    expect(r.outcome).toBe('interrupted');
    expect(r.executions).toBeGreaterThan(1000);
    expect(r.elapsedMs).toBeGreaterThanOrEqual(2500);
    expect(explore(quiet, { strategy: 'random', seed: 1 }).executions).toBe(1000);
    expect(explore(quiet, { strategy: 'random', seed: 1, budget: 7, timeMs: 2500, now: () => 0 }).executions).toBe(7);
  });
});
