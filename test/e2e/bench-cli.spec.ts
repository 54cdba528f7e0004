/** The benchmark runner refuses a filter that matches nothing (and keeps the previous results); --help lists the benchmarks. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BENCH = join(ROOT, 'dist/bench/main.js');

describe('bench runner', () => {
  it('a filter that matches no benchmark is exit 2 and writes no results file', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tdxsim-bench-'));
    const r = spawnSync(process.execPath, [BENCH, 'no-such-bench'], { cwd, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^no benchmark matches "no-such-bench" \(benchmarks: platform\.build-8s-12t, /);
    expect(existsSync(join(cwd, 'bench-results'))).toBe(false);
  });

  it('--help lists the benchmarks and runs none', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tdxsim-bench-'));
    const r = spawnSync(process.execPath, [BENCH, '--help'], { cwd, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('tools.diagnose-failure-lines');
    expect(existsSync(join(cwd, 'bench-results'))).toBe(false);
  });
});
