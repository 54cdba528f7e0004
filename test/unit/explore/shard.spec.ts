/** Sharded search: the shards of one search, merged, report what one run reports. */
import { describe, expect, it } from 'vitest';

import { exploreScenario, mergeExploreResults } from '../../../src/api/index.js';
import type { ExploreRequest } from '../../../src/api/index.js';
import { mergeDetails } from '../../../src/explore/merge.js';

const now = (): number => Number(process.hrtime.bigint() / 1_000_000n);

function shards(req: ExploreRequest, n: number): ReturnType<typeof exploreScenario>[] {
  return Array.from({ length: n }, (_, i) => exploreScenario({ ...req, shard: { index: i, count: n } }));
}

describe('explore --shard I/N and explore merge', () => {
  for (const splitDepth of [2, 6]) {
    it(`exhaustive kexec-intime on 3 CPUs: 1, 2, 3 and 5 shards (split depth ${splitDepth}) merge to the same counts as one run`, () => {
      const req: ExploreRequest = { scenario: 'kexec-intime', strategy: 'exhaustive', cpus: 3, now, splitDepth };
      const one = exploreScenario(req).details;
      expect(one.complete).toBe(true);
      for (const n of [1, 2, 3, 5]) {
        const m = mergeExploreResults(shards(req, n)).details;
        expect({ outcome: m.outcome, complete: m.complete, executions: m.executions, redundant: m.redundant, states: m.states, maxDepth: m.maxDepth }).toEqual({
          outcome: one.outcome,
          complete: one.complete,
          executions: one.executions,
          redundant: one.redundant,
          states: one.states,
          maxDepth: one.maxDepth,
        });
      }
    });
  }

  it('exhaustive with a finding: the merged counterexample is the one a single run meets first', () => {
    const req: ExploreRequest = { scenario: 'kexec-mutant', strategy: 'exhaustive', cpus: 2, now, splitDepth: 1 };
    const one = exploreScenario(req).details;
    const m = mergeExploreResults(shards(req, 3)).details;
    expect(m.outcome).toBe('failed');
    expect(m.counterexample?.originalPath).toBe(one.counterexample?.originalPath);
    expect(m.counterexample?.path).toBe(one.counterexample?.path);
  });

  it('random search with a budget: shards take every n-th run, so together they run exactly the budget', () => {
    const req: ExploreRequest = { scenario: 'kexec-intime', strategy: 'random', cpus: 2, budget: 30, seed: 5, now };
    const one = exploreScenario(req).details;
    const m = mergeExploreResults(shards(req, 4)).details;
    expect(m.executions).toBe(one.executions);
    expect(m.outcome).toBe(one.outcome);
  });

  it('refuses shards of different campaigns, repeated or missing shards', () => {
    const a = exploreScenario({ scenario: 'kexec-intime', strategy: 'exhaustive', cpus: 2, now, shard: { index: 0, count: 2 } });
    const b = exploreScenario({ scenario: 'kexec-intime', strategy: 'exhaustive', cpus: 3, now, shard: { index: 1, count: 2 } });
    expect(() => mergeExploreResults([a, b])).toThrow(/different campaigns/);
    expect(mergeDetails([a.details])).toMatch(/missing shard/);
    expect(mergeDetails([a.details, a.details])).toMatch(/given twice/);
  });
});
