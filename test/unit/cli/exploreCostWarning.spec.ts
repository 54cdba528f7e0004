/** `tdxsim explore` on a large platform warns about the cost up front, unless --time bounds it. */
import { describe, expect, it } from 'vitest';

import { cpuCostWarning, MANY_CPUS } from '../../../src/cli/commands/explore.js';
import { tdxsim } from '../../__test-helpers__/cli.js';

describe('explore cost warning for large platforms', () => {
  it('--cpus above the threshold warns, naming the CPU count, the budget and --time', () => {
    expect(MANY_CPUS).toBe(64);
    expect(cpuCostWarning('kexec-race-2cpu', { cpus: 1000 })).toBe(
      'explore: warning: 1000 logical CPUs: every CPU takes part in every execution, so executions are long and the default budget of 1000 executions may run for minutes; bound the run with --time SECONDS\n',
    );
    expect(cpuCostWarning('kexec-race-2cpu', { cpus: 65, strategy: 'exhaustive' })).toContain('65 logical CPUs: every CPU takes part in every execution, so executions are long and an exhaustive search may run');
    expect(cpuCostWarning('kexec-race-2cpu', { cpus: 65, budget: 5 })).toContain('and --budget 5 may run');
  });

  it('no warning at or below the threshold, or with --time', () => {
    expect(cpuCostWarning('kexec-race-2cpu', { cpus: 64 })).toBeUndefined();
    expect(cpuCostWarning('kexec-race-2cpu', {})).toBeUndefined();
    expect(cpuCostWarning('kexec-race-2cpu', { cpus: 1000, time: 30 })).toBeUndefined();
  });

  it('a large preset warns without --cpus (gnr-2s-2t: 2 packages x 128 cores x 2 threads)', () => {
    expect(cpuCostWarning('kexec-race-2cpu', { platform: 'gnr-2s-2t' })).toMatch(/^explore: warning: 512 logical CPUs: /);
    expect(cpuCostWarning('kexec-race-2cpu', { platform: 'small-2s' })).toBeUndefined();
  });

  it('the CLI prints it once on stderr before the search', () => {
    const r = tdxsim(['explore', 'kexec-race-2cpu', '--cpus', '80', '--budget', '1']);
    expect(r.status).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('explore: warning:'));
    expect(lines).toEqual(['explore: warning: 80 logical CPUs: every CPU takes part in every execution, so executions are long and --budget 1 may run for minutes; bound the run with --time SECONDS']);
  });
});
