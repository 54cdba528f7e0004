/**
 * Long `run` and `report` say what they are doing off a terminal (a progress line on stderr,
 * every 10 s by default; TDXSIM_PROGRESS_MS shortens it here), and SIGINT/SIGTERM stop them with
 * a summary of how far they got, no partial output, and exit 130/143.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { tdxsim } from '../__test-helpers__/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Start the CLI, wait for a progress line naming a step, send `signal`, collect everything. */
async function interrupt(args: string[], signal: 'SIGINT' | 'SIGTERM'): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), ...args], { cwd: ROOT, env: { ...process.env, TDXSIM_PROGRESS_MS: '100' } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (/: step \d+ of \d+ \(/.test(err)) {
        resolve();
      }
    });
  });
  child.kill(signal);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, out, err };
}

describe('long run and report: progress and signals', () => {
  it('run off a terminal prints progress lines naming the step; SIGINT prints where it stopped, nothing on stdout, exit 130', async () => {
    // 8s-12t: 480 CPUs, a run of several seconds.
    const r = await interrupt(['run', '--platform', '8s-12t'], 'SIGINT');
    expect(r.err).toMatch(/^run: default: (preparing \(reading and checking the scenario and platform\)|step \d of 5 \([a-z.]+\)), \d+s elapsed$/m);
    expect(r.err).toMatch(/^run: SIGINT after \d+s at default: step \d of 5 \([a-z.]+\); stopped, nothing printed \(a run prints its result only once it has finished\)$/m);
    expect(r.out).toBe('');
    expect(r.code).toBe(130);
  }, 60_000);

  it('report: SIGTERM leaves the previous file intact, exit 143', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tdxsim-progress-'));
    const html = join(dir, 'r.html');
    writeFileSync(html, 'OLD');
    const r = await interrupt(['report', 'default', '--platform', '8s-12t', '-o', html], 'SIGTERM');
    expect(r.err).toContain(`stopped, ${html} not written (a previous file is left intact)`);
    expect(r.err).toMatch(/^report: SIGTERM after \d+s at default: step \d of 5/m);
    expect(readFileSync(html, 'utf8')).toBe('OLD');
    expect(existsSync(join(dir, 'r.html.tmp'))).toBe(false);
    expect(r.code).toBe(143);
  }, 60_000);

  it('a short run off a terminal prints no progress line: stderr stays empty', () => {
    const r = tdxsim(['run']);
    expect([r.status, r.stderr]).toEqual([0, '']);
  });

  it('bad input found in the worker is still bad input (exit 2, no internal error)', () => {
    const r = tdxsim(['run', '--scenario', 'toString']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^tdxsim: unknown scenario "toString"/);
  });
});
