/** A run's stats.simulatedNs is the latest time it reached: no finding happens after it. */
import { describe, expect, it } from 'vitest';

import { run } from '../../../src/api/index.js';

describe('stats.simulatedNs', () => {
  it('kexec-mutant: the stale write-backs after the jump are not later than the run\'s simulated time', () => {
    const r = run({ scenario: 'kexec-mutant' });
    const m = r.runs[0];
    expect(m?.findings.length).toBeGreaterThan(0);
    const last = Math.max(...(m?.findings ?? []).map((f) => f.t));
    expect(m?.stats['simulatedNs']).toBe(last);
  });
});
