/**
 * `tdxsim explore` as a campaign: progress off a terminal, SIGINT summary, refusal of a search
 * that cannot finish in time, --shard/--out and `explore merge`, --jobs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { tdxsim } from '../__test-helpers__/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('tdxsim explore campaigns', () => {
  it('off a terminal: a progress line every 10 s on stderr; SIGINT stops with a summary of what was done and what remains', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'explore', 'kexec-intime', '--strategy', 'exhaustive', '--cpus', '5'], { cwd: ROOT });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const progressed = new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (/explore: \d+ executions/.test(err)) {
          resolve();
        }
      });
    });
    await progressed;
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(err).toMatch(/explore: \d+ executions, \d+ states, \d+s elapsed, [\d.]+% done, about .* remaining/);
    expect(err).toMatch(/SIGINT, stopping the search/);
    expect(out).toMatch(/^interrupted by a signal: kexec-intime, strategy exhaustive, seed 1: \d+ executions .*, \d+ states, .*% of the tree done, about .* remaining/m);
    expect(code).toBe(130);
  }, 60_000);

  it('refuses an exhaustive search its estimate says cannot finish within --time, unless --force', () => {
    const r = tdxsim(['explore', 'kexec-intime', '--strategy', 'exhaustive', '--cpus', '5', '--time', '20']);
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/^REFUSED: kexec-intime: exhaustive search estimated at .*more than --time; pass --force/);
  }, 60_000);

  it('--shard I/N --out FILE, then explore merge: the same report as one run, and as --jobs 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tdxsim-shards-'));
    const args = ['explore', 'kexec-intime', '--strategy', 'exhaustive', '--cpus', '3'];
    const one = tdxsim([...args, '--json']);
    const files = [0, 1, 2].map((i) => {
      const f = join(dir, `shard-${i}.json`);
      expect(tdxsim([...args, '--shard', `${i}/3`, '--out', f]).status).toBe(0);
      return f;
    });
    const merged = tdxsim(['explore', 'merge', ...files, '--json']);
    const jobs = tdxsim([...args, '--jobs', '2', '--json']);
    const pick = (s: string): unknown => {
      const j = JSON.parse(s) as Record<string, unknown>;
      return { outcome: j['outcome'], complete: j['complete'], executions: j['executions'], states: j['states'], redundant: j['redundant'], campaign: j['campaign'] };
    };
    expect(pick(merged.stdout)).toEqual(pick(one.stdout));
    expect(pick(jobs.stdout)).toEqual(pick(one.stdout));
    expect(JSON.parse(readFileSync(files[1] as string, 'utf8'))).toMatchObject({ format: 'tdxsim-explore/1', shard: { index: 1, count: 3 } });
    const bad = tdxsim(['explore', 'merge', files[0] as string]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/missing shard\(s\) 1\/3, 2\/3/);
  }, 120_000);
});
