/**
 * Stateful search with sleep sets (footprint dependence, each state remembering the sleep set
 * it was first reached with) must reach every kind of outcome that stateful search without
 * them reaches: the same sets of finding classes, on the stop protocol of several kernels and
 * on kdump, in fewer executions. On 2 CPUs both equal the full stateless search's.
 */
import { describe, expect, it } from 'vitest';

import { prepareRun } from '../../../src/api/run.js';
import { scenarioTarget, withCpus } from '../../../src/api/index.js';
import { explore } from '../../../src/explore/explore.js';
import type { ExploreOptions } from '../../../src/explore/explore.js';

interface Case {
  readonly scenario: string;
  readonly kernel?: string;
  readonly cpus: number;
}

/** The distinct sets of finding classes one search reaches (findings never stop it). */
function classSets(c: Case, opts: Omit<ExploreOptions, 'seed' | 'strategy'>): { sets: string[]; executions: number; complete: boolean; stored: number } {
  const p = prepareRun({ scenario: c.scenario, ...(c.kernel !== undefined ? { kernel: c.kernel } : {}) });
  const target = scenarioTarget(p.scenario, withCpus(p.spec, c.cpus));
  const sets = new Set<string>();
  const d = explore((ctx) => {
    const ex = target(ctx);
    sets.add([...new Set(ex.findings.map((f) => f.class))].sort().join(',') || '(none)');
    return { ...ex, findings: [] };
  }, { seed: 7, strategy: 'exhaustive', ...opts });
  return { sets: [...sets].sort(), executions: d.executions, complete: d.complete, stored: d.stateStore?.stored ?? 0 };
}

describe('stateful search with sleep sets', () => {
  const cases: (Case & { readonly expected: string[] })[] = [
    { scenario: 'kexec-linux-6.18', kernel: 'mutant-no-kexec-wbinvd', cpus: 3, expected: ['cpu-still-running,seamcall-after-flush,silent-corruption', 'seamcall-after-flush,silent-corruption'] },
    { scenario: 'kexec-linux-6.18', kernel: 'linux-6.6', cpus: 3, expected: ['(none)', 'cpu-still-running'] },
    { scenario: 'kexec-linux-6.18', cpus: 3, expected: ['(none)', 'cpu-still-running'] },
    { scenario: 'kdump', cpus: 3, expected: ['(none)'] },
  ];
  for (const c of cases) {
    it(`${c.scenario}${c.kernel !== undefined ? ` on ${c.kernel}` : ''}, ${c.cpus} CPUs: the same finding classes as without sleep sets, in fewer executions`, () => {
      const without = classSets(c, { stateful: true, sleepSets: false });
      const withSleep = classSets(c, { stateful: true, sleepSets: true });
      expect(without.complete).toBe(true);
      expect(withSleep.complete).toBe(true);
      expect(withSleep.sets).toEqual(c.expected);
      expect(without.sets).toEqual(c.expected);
      expect(withSleep.executions).toBeLessThan(without.executions);
    });
  }

  it('kexec-linux-6.18, 2 CPUs: the finding classes of the full stateless search', () => {
    const c = { scenario: 'kexec-linux-6.18', cpus: 2 };
    const full = classSets(c, { sleepSets: false, symmetry: false });
    const withSleep = classSets(c, { stateful: true, sleepSets: true });
    expect(full.complete).toBe(true);
    expect(full.sets).toEqual(['(none)', 'cpu-still-running']);
    expect(withSleep.sets).toEqual(full.sets);
  });
});
