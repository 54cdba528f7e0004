/** Stateful exhaustive search: never a state twice; the stop protocol at 5 CPUs. */
import { describe, expect, it } from 'vitest';

import { exploreScenario } from '../../src/api/index.js';
import { AdaptiveStore, BitStateStore, HashSetStore } from '../../src/sim/stateStore.js';

const now = (): number => Number(process.hrtime.bigint() / 1_000_000n);

describe('stateful exhaustive search', () => {
  it('kexec-intime on 5 CPUs: complete, where stateless search with sleep sets does not finish in minutes', () => {
    const r = exploreScenario({ scenario: 'kexec-intime', strategy: 'exhaustive', cpus: 5, stateful: true, now });
    expect(r.details.outcome).toBe('passed');
    expect(r.details.complete).toBe(true);
    expect(r.details.stateStore).toMatchObject({ kind: 'exact' });
    expect(r.details.stateStore!.stored).toBeGreaterThan(0);
    expect(r.details.stateStore!.revisits).toBeGreaterThan(0);
  });

  it('kexec-linux-6.18 with every REBOOT latency on 3 CPUs: no silent corruption on any schedule (the stop race itself is allowed)', () => {
    const r = exploreScenario({ scenario: 'kexec-linux-6.18', strategy: 'exhaustive', cpus: 3, stateful: true, failOn: ['silent-corruption'], now });
    expect(r.details.outcome).toBe('passed');
    expect(r.details.complete).toBe(true);
    expect(r.details.claim).toBe('proved');
    // With sleep sets and the REBOOT and stop-NMI handlers' entry steps taken alone (they touch
    // nothing shared, or read only what is final by then): 275 executions, 785 states. The
    // table alone needed 1,314 executions for 1,364 states; sleep sets alone 507 for 1,221.
    expect(r.details.executions).toBe(275);
    expect(r.details.stateStore).toMatchObject({ stored: 785, kind: 'exact', revisits: 88, reopened: 58 });
  });

  it('finds the mutant\'s corruption and the 6.18 stop race, and the counterexample replays', () => {
    const m = exploreScenario({ scenario: 'kexec-mutant', strategy: 'exhaustive', cpus: 3, stateful: true, now });
    expect(m.details.counterexample?.replayed).toBe(true);
    const race = exploreScenario({ scenario: 'kexec-linux-6.18', strategy: 'exhaustive', cpus: 3, stateful: true, failOn: ['cpu-still-running'], now });
    expect(race.details.counterexample?.finding.class).toBe('cpu-still-running');
    expect(race.details.counterexample?.replayed).toBe(true);
  });

  it('stores: exact, bit-state, and the adaptive store turning bit-state past its limit keeps every state', () => {
    const keys = Array.from({ length: 2000 }, (_, i) => `state ${i}`);
    for (const store of [new HashSetStore(), new BitStateStore(1 << 20)]) {
      expect(keys.every((k) => store.add(k))).toBe(true);
      expect(keys.some((k) => store.add(k))).toBe(false);
      expect(store.size).toBe(2000);
    }
    // Past 64 KiB the table turns bit-state: every state recorded stays recorded; a new one may
    // (rarely) collide and be taken for seen, which is why a bit-state search is no proof.
    const a = new AdaptiveStore(64 * 1024);
    const fresh = keys.filter((k) => a.add(k)).length;
    expect(a.kind).toBe('bitstate');
    expect(a.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(fresh).toBeGreaterThan(1990);
    expect(keys.some((k) => a.add(k))).toBe(false);
  });
});
