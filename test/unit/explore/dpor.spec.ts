/**
 * Dynamic partial-order reduction (footprints + race analysis) must not lose behaviour: on
 * small scenarios DPOR reaches exactly the distinct outcomes (findings, notes, dmesg and the
 * machine state at the jump: scheduler fingerprint with CPU ids kept and a memory digest) that
 * the full exhaustive search (no sleep sets, no symmetry) reaches, in fewer executions. A
 * seeded random sample on 3 CPUs (seed in the title) stays inside DPOR's outcomes too.
 */
import { describe, expect, it } from 'vitest';

import { prepareRun } from '../../../src/api/run.js';
import { exploreScenario, scenarioTarget, withCpus } from '../../../src/api/index.js';
import { explore } from '../../../src/explore/explore.js';
import type { ExploreOptions, ExploreTarget } from '../../../src/explore/explore.js';

interface Case {
  readonly scenario: string;
  readonly kernel?: string;
  readonly cpus: number;
}

function targetOf(c: Case): ExploreTarget {
  const p = prepareRun({ scenario: c.scenario, ...(c.kernel !== undefined ? { kernel: c.kernel } : {}) });
  return scenarioTarget(p.scenario, withCpus(p.spec, c.cpus), { finalState: true });
}

/** Every distinct final state one search reaches (findings never stop it). */
function outcomes(target: ExploreTarget, opts: Omit<ExploreOptions, 'seed'>): { states: Set<string>; executions: number; complete: boolean } {
  const states = new Set<string>();
  const d = explore((ctx) => {
    const ex = target(ctx);
    states.add(ex.finalState ?? '(none)');
    return { ...ex, findings: [] };
  }, { seed: 7, ...opts });
  return { states, executions: d.executions, complete: d.complete };
}

const FULL = { strategy: 'exhaustive', sleepSets: false, symmetry: false } as const;
const DPOR = { strategy: 'exhaustive', dpor: true, symmetry: false } as const;

describe('DPOR against full exhaustive search', () => {
  const cases: (Case & { readonly fewer: boolean; readonly symmetry?: boolean })[] = [
    // 6.5+ stop protocol, every REBOOT latency (the stop race is among the outcomes). On 2
    // CPUs every pair of steps conflicts (the timeout and the jump observe everything).
    { scenario: 'kexec-linux-6.18', cpus: 2, fewer: false },
    // The REBOOT IPI within the second: the remote CPUs' stops commute.
    { scenario: 'kexec-intime', cpus: 3, fewer: true },
    // Both with symmetry reduction (DPOR's backtrack entries go to the representative CPU).
    { scenario: 'kexec-intime', cpus: 3, fewer: true, symmetry: true },
    // kdump: NMI shootdown without WBINVD.
    { scenario: 'kdump', cpus: 2, fewer: false },
  ];
  for (const c of cases) {
    it(`${c.scenario}, ${c.cpus} CPUs${c.symmetry === true ? ', with symmetry' : ''}: the same outcomes${c.fewer ? ', fewer executions' : ''}`, () => {
      const t = targetOf(c);
      const sym = { symmetry: c.symmetry === true };
      const full = outcomes(t, { ...FULL, ...sym });
      const dpor = outcomes(t, { ...DPOR, ...sym });
      expect(full.complete).toBe(true);
      expect(dpor.complete).toBe(true);
      expect([...dpor.states].sort()).toEqual([...full.states].sort());
      if (c.fewer) {
        expect(dpor.executions).toBeLessThan(full.executions / 10);
      } else {
        expect(dpor.executions).toBeLessThanOrEqual(full.executions);
      }
    });
  }

  it('kexec-linux-6.18, 2 CPUs: 36 distinct outcomes; with sleep sets the same; a random sample (seed 7) stays inside', () => {
    const t = targetOf({ scenario: 'kexec-linux-6.18', cpus: 2 });
    const dpor = outcomes(t, { ...DPOR, sleepSets: true });
    const noSleep = outcomes(t, { ...DPOR, sleepSets: false });
    expect(dpor.complete).toBe(true);
    expect(dpor.states.size).toBe(36);
    expect([...dpor.states].sort()).toEqual([...noSleep.states].sort());
    const sample = outcomes(t, { strategy: 'random', budget: 300 });
    expect([...sample.states].filter((s) => !dpor.states.has(s))).toEqual([]);
  });

  it('kexec-intime, 3 CPUs: a random sample (seed 7, 300 runs) reaches nothing DPOR misses', () => {
    const t = targetOf({ scenario: 'kexec-intime', cpus: 3 });
    const dpor = outcomes(t, DPOR);
    const sample = explore((ctx) => {
      const ex = t(ctx);
      return { ...ex, findings: dpor.states.has(ex.finalState ?? '') ? [] : [{ class: 'invariant', message: 'outcome DPOR missed', t: 0, seed: 7, path: '', details: {} }] };
    }, { seed: 7, strategy: 'random', budget: 300 });
    expect(sample.counterexample?.originalPath).toBeUndefined();
    expect(sample.executions).toBe(300);
  });
});

describe('--dpor through the library', () => {
  // 8, not 4: KVM's kexec shutdown now VP.FLUSHes the TD's vCPU on CPU 1 (tdx_disable_virtualization_cpu()),
  // a SEAMCALL, and every SEAMCALL's footprint writes the module, so its order against the other
  // CPUs' module accesses is explored.
  it('kexec-intime on 3 CPUs: complete in 8 executions (sleep sets and symmetry on)', () => {
    const r = exploreScenario({ scenario: 'kexec-intime', strategy: 'exhaustive', cpus: 3, dpor: true });
    expect(r.details.outcome).toBe('passed');
    expect(r.details.complete).toBe(true);
    expect(r.details.executions).toBe(8);
    expect(r.campaign).toContain('"dpor"');
  });

  it('tdx-host-v8 on 2 CPUs: finds the jump overtaking a remote WBINVD, and the counterexample replays', () => {
    const r = exploreScenario({ scenario: 'kexec-linux-6.18', kernel: 'tdx-host-v8', strategy: 'exhaustive', cpus: 2, dpor: true, failOn: ['cpu-still-running'], failIf: (f) => String(f.details.pausedAt).startsWith('stop_this_cpu:wbinvd') });
    expect(r.details.counterexample?.finding.class).toBe('cpu-still-running');
    expect(r.details.counterexample?.replayed).toBe(true);
  });
});
