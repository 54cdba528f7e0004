/**
 * docs/api.md's examples (examples/library.ts) compile under strict TypeScript against the
 * built package, importing it by name ('tdxsim', 'tdxsim/web') as a user would, and run.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { run, runJson } from '../../src/api/index.js';
import { tdxsim } from '../__test-helpers__/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the library examples', () => {
  it('compile (strict, exactOptionalPropertyTypes, skipLibCheck false) and run', () => {
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'examples'], { cwd: ROOT, encoding: 'utf8' });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
    const r = spawnSync(process.execPath, [join(ROOT, 'examples/.build/library.js')], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/run: pass silent-corruption/);
    expect(r.stdout).toContain('run json: pass 1 true');
    expect(r.stdout).toContain('bad input: TDXSIM_UNKNOWN_SCENARIO');
    expect(r.stdout).toContain('replay: cpu-still-running');
    expect(r.stdout).toContain('report verdict: pass');
    expect(r.stdout).toContain('report: true true');
    expect(r.stdout).toContain('explain: TDX_SYS_INIT_NOT_PENDING');
    expect(r.stdout).toContain('seamcall: ok TDX_SUCCESS');
    expect(r.stdout).toContain('memory: 01020304');
  });

  it('run --json prints exactly runJson(run(req)) of the library, with one machine and with variants', () => {
    for (const scenario of ['default', 'cache-alias']) {
      const cli = tdxsim(['run', '--scenario', scenario, '--json']);
      expect(JSON.parse(cli.stdout)).toEqual(JSON.parse(JSON.stringify(runJson(run({ scenario })))));
    }
    const variants = runJson(run({ scenario: 'cache-alias' }));
    expect(variants.runs.map((m) => m.name)).toEqual(['cpu0-then-cpu1', 'cpu1-then-cpu0']);
    expect(Object.keys(variants.stats)).toEqual(['cpu0-then-cpu1', 'cpu1-then-cpu0']);
  });
});
