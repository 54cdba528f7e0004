/**
 * docs/api.md's examples (examples/library.ts) compile under strict TypeScript against the
 * built package, importing it by name ('tdxsim', 'tdxsim/web') as a user would, and run.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

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
    expect(r.stdout).toContain('bad input: TDXSIM_UNKNOWN_SCENARIO');
    expect(r.stdout).toContain('replay: cpu-still-running');
    expect(r.stdout).toContain('report: true true');
    expect(r.stdout).toContain('explain: TDX_SYS_INIT_NOT_PENDING');
    expect(r.stdout).toContain('seamcall: ok TDX_SUCCESS');
    expect(r.stdout).toContain('memory: 01020304');
  });
});
