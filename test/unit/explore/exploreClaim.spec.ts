/**
 * A search result says what it shows: `proved` only for a complete exhaustive search of the
 * whole space; `not-proved` for a random search that spent its budget (no finding is not a
 * proof); `proved-in-shard` for one complete shard, `proved` again once every shard is merged.
 */
import { describe, expect, it } from 'vitest';

import { exploreScenario, mergeExploreResults } from '../../../src/api/index.js';
import { exploreClaim } from '../../../src/explore/explore.js';
import { formatExplore } from '../../../src/cli/commands/explore.js';

describe('explore results distinguish a proof from no finding within the budget', () => {
  it('random search within its budget: not-proved, and the text says it is not a proof', () => {
    const r = exploreScenario({ scenario: 'kexec-intime', strategy: 'random', budget: 5 });
    expect([r.details.outcome, r.details.complete, r.details.claim]).toEqual(['interrupted', false, 'not-proved']);
    expect(formatExplore(r).split('\n')[1]).toBe('not a proof: a random search tries only the schedules it draws; only a complete exhaustive search (--strategy exhaustive) proves there is no finding');
  });

  it('complete exhaustive search: proved; one shard: proved-in-shard; the merged shards: proved', () => {
    const whole = exploreScenario({ scenario: 'kexec-intime', strategy: 'exhaustive', cpus: 2 });
    expect([whole.details.outcome, whole.details.complete, whole.details.claim]).toEqual(['passed', true, 'proved']);
    expect(formatExplore(whole)).toMatch(/^PASSED \(proved\): kexec-intime: exhaustive search complete, no finding on any schedule: /);
    const shards = [0, 1].map((index) => exploreScenario({ scenario: 'kexec-intime', strategy: 'exhaustive', cpus: 2, shard: { index, count: 2 } }));
    expect(shards.map((s) => s.details.claim)).toEqual(['proved-in-shard', 'proved-in-shard']);
    expect(mergeExploreResults(shards).details.claim).toBe('proved');
  });

  it('a finding is a counterexample; a bit-state table or an unfinished exhaustive search is not a proof', () => {
    expect(exploreScenario({ scenario: 'kexec-race-2cpu', strategy: 'random', budget: 50 }).details.claim).toBe('counterexample');
    const base = { outcome: 'passed', strategy: 'exhaustive', seed: 1, executions: 1, redundant: 0, states: 1, maxDepth: 1, elapsedMs: 1, complete: true } as const;
    expect(exploreClaim(base)).toBe('proved');
    expect(exploreClaim({ ...base, stateStore: { stored: 1, bytes: 1, kind: 'bitstate', revisits: 0 } })).toBe('not-proved');
    expect(exploreClaim({ ...base, outcome: 'interrupted', complete: false, stopped: 'time' })).toBe('not-proved');
    expect(exploreClaim({ ...base, outcome: 'interrupted', complete: false, stopped: 'refused' })).toBe('refused');
  });
});
