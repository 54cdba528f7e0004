/**
 * The CLI's contract: printed replay commands reproduce their findings (quoted for the shell,
 * with every option that shaped the run), bad input and environment errors are exit 2 with a
 * message naming the path, output files are written atomically, size limits hold for every kind
 * of file, names are looked up as own properties, stdin `-` and `-o -` work, and SIGINT prints a
 * summary.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { shellQuote } from '../../src/api/shell.js';
import { namedScenario } from '../../src/scenario/scenarios/index.js';
import { presetInput } from '../../src/platform/presets.js';
import { tdxsim } from '../__test-helpers__/cli.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');

/** Run a printed `tdxsim ...` command line through the shell, as a user pasting it would. */
function paste(line: string, cwd: string): { status: number; stdout: string; stderr: string } {
  const cmd = line.replace(/^tdxsim /, `${shellQuote(process.execPath)} ${shellQuote(CLI)} `);
  const r = spawnSync('/bin/sh', ['-c', cmd], { cwd, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'tdxsim-contract-'));
}

describe('printed replay commands reproduce their findings', () => {
  it('run keeps --kernel (and the other machine options) in its replay line', () => {
    const r = tdxsim(['run', '--kernel', 'mutant-no-kexec-wbinvd']);
    expect(r.status).toBe(1);
    const line = /replay: (.*)/.exec(r.stdout)?.[1] ?? '';
    expect(line).toContain('--kernel mutant-no-kexec-wbinvd');
    const again = paste(line, ROOT);
    expect(again.status).toBe(1);
    expect(again.stdout).toContain('silent-corruption');
  });

  it('a scenario path with spaces and shell syntax is quoted: the command runs, and nothing else', () => {
    const dir = join(scratch(), 'a b;$(touch PWNED)');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'race.json');
    writeFileSync(file, JSON.stringify(namedScenario('kexec-race-2cpu')));
    const r = tdxsim(['explore', file, '--budget', '50']);
    expect(r.status).toBe(1);
    const line = /^replay: (.*)$/m.exec(r.stdout)?.[1] ?? '';
    const cwd = scratch();
    const again = paste(line, cwd);
    expect(again.stderr).toBe('');
    expect(again.status).toBe(1);
    expect(again.stdout).toContain('cpu-still-running');
    expect(existsSync(join(cwd, 'PWNED'))).toBe(false);
  });

  it('explore prints a report command next to its replay line; pasted, it draws the same finding (every option kept)', () => {
    const r = tdxsim(['explore', 'kexec-race-2cpu', '--faults', 'swarm', '--no-latency', '--cpus', '3', '--kernel', 'linux-6.18', '--budget', '200']);
    expect(r.status).toBe(1);
    const replay = /^replay: (.*)$/m.exec(r.stdout)?.[1] ?? '';
    const report = /^report: (.*)$/m.exec(r.stdout)?.[1] ?? '';
    // The report line follows the replay line and carries the same arguments.
    expect(r.stdout.split('\n').slice(0, 2)).toEqual([`replay: ${replay}`, `report: ${report}`]);
    expect(report).toBe(`${replay.replace(/^tdxsim replay /, 'tdxsim report ')} --replay -o kexec-race-2cpu-counterexample.html`);
    expect(report).toContain('--faults ');
    expect(report).toContain(' --cpus 3 --kernel linux-6.18 --no-latency ');
    const cwd = scratch();
    const again = paste(report, cwd);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^wrote kexec-race-2cpu-counterexample\.html \(\d+ bytes\): replay: 1 finding\(s\)\n$/);
    const html = readFileSync(join(cwd, 'kexec-race-2cpu-counterexample.html'), 'utf8');
    const classes = [...html.matchAll(/"findings":\[\{"class":"([a-z-]+)"/g)].map((m) => m[1]);
    expect(classes).toEqual(['cpu-still-running']);
    expect(/^finding \[([a-z-]+)\]/m.exec(r.stdout)?.[1]).toBe('cpu-still-running');
  });

  it('a finding of one variant replays that variant (--variant)', () => {
    const r = tdxsim(['run', '--scenario', 'cache-alias']);
    const line = /replay: (.*)/.exec(r.stdout)?.[1] ?? '';
    expect(line).toMatch(/--variant \S+/);
    const again = paste(line, ROOT);
    expect(again.stdout).toContain('silent-corruption');
  });

  it('a --path that does not fit the scenario is bad input, not a model bug', () => {
    for (const args of [
      ['replay', 'kexec-race-2cpu', '--path', '9.9.9'],
      ['replay', 'kexec-intime', '--path', '999999999999999999999'],
      ['run', '--scenario', 'kexec-race-2cpu', '--path', '9.9.9'],
    ]) {
      const r = tdxsim(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/--path .*does not fit this scenario/);
      expect(r.stdout).not.toContain('model-bug');
    }
  });
});

describe('bad input and environment errors are exit 2 naming the path and the problem', () => {
  it('a directory given as a file, a missing directory, a directory or a full device as -o', () => {
    const d = scratch();
    const dirJson = join(d, 'd.json');
    mkdirSync(dirJson);
    const cases: [string[], RegExp][] = [
      [['run', dirJson], /scenario file .*d\.json: is a directory/],
      [['run', '--platform', dirJson], /platform file .*d\.json: is a directory/],
      [['report', 'default', '-o', '/nonexistent/dir/x.html'], /cannot write \/nonexistent\/dir\/x\.html: no such directory \/nonexistent\/dir/],
      [['report', 'default', '-o', d], /cannot write .*: is a directory/],
      [['report', 'default', '-o', '/dev/full'], /cannot write \/dev\/full: no space left on the device/],
    ];
    for (const [args, msg] of cases) {
      const r = tdxsim(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).not.toMatch(/internal error|bug in the model/);
    }
  });

  it('a model assertion is never reported as bad input: such inputs are refused before the run', () => {
    const d = scratch();
    const dup = join(d, 'dup.json');
    writeFileSync(dup, JSON.stringify({ steps: [{ op: 'boot' }, { op: 'tdx.enable', cpus: [1, 1] }] }));
    const big = join(d, 'big.json');
    writeFileSync(big, JSON.stringify({ platform: 'small-2s', steps: [{ op: 'load', cpu: 0, pa: '0x0', len: '0x10000000000' }, { op: 'store', cpu: 0, pa: '0xffffffffffffffff', fill: 1 }, { op: 'fault', site: 'nope' }] }));
    const r1 = tdxsim(['run', dup]);
    expect([r1.status, r1.stderr]).toEqual([2, `tdxsim: ${dup}: steps[1].cpus (tdx.enable): lists a CPU twice (1, 1)\n`]);
    const r2 = tdxsim(['run', big]);
    expect(r2.status).toBe(2);
    expect(r2.stderr.split('\n').filter((l) => l !== '')).toHaveLength(3);
    expect(r2.stderr).toContain('unknown fault site "nope"');
  });

  it('unknown tdxModule.overrides are refused as the server refuses them; JSON errors name the right line and column', () => {
    const d = scratch();
    const plat = join(d, 'ov.json');
    writeFileSync(plat, JSON.stringify({ ...presetInput('small-2s'), tdxModule: { overrides: { BOGUS_FIELD: 1 } } }));
    const r = tdxsim(['run', '--platform', plat]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('tdxModule.overrides: unknown metadata field "BOGUS_FIELD"');
    const long = join(d, 'long.json');
    writeFileSync(long, `{"name": ${'1'.repeat(500)},\n "cpuModel": "x",,\n}`);
    const j = tdxsim(['run', long]);
    expect(j.status).toBe(2);
    expect(j.stderr).toContain('invalid JSON at line 2, column 18');
  });

  it('option errors carry the tdxsim prefix; a value past 2^53 says it is too large', () => {
    const o = tdxsim(['presets', '--bogus']);
    expect([o.status, o.stderr]).toEqual([2, "tdxsim: unknown option '--bogus' (see tdxsim help COMMAND)\n"]);
    const plat = join(scratch(), 'huge.json');
    const p = presetInput('small-2s') as { memory: { e820: { size: unknown }[] } };
    (p.memory.e820[p.memory.e820.length - 1] as { size: unknown }).size = '0x1000000000000000';
    writeFileSync(plat, JSON.stringify(p));
    const r = tdxsim(['run', '--platform', plat]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/size: 0x1000000000000000 is too large: values must be below 2\^53/);
  });

  it('preset, scenario and platform names are looked up as own properties', () => {
    for (const args of [
      ['presets', '__proto__'],
      ['presets', 'constructor'],
      ['run', '--platform', 'hasOwnProperty'],
      ['run', '--scenario', 'toString'],
      ['run', '--scenario', '__proto__'],
      ['report', 'valueOf', '-o', join(scratch(), 'x.html')],
      ['explore', 'constructor'],
    ]) {
      const r = tdxsim(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/unknown|neither an embedded scenario/);
    }
  });
});

describe('output files, stdin and size limits', () => {
  it('report -o is atomic: a failed write (file-size limit) leaves the previous report intact', () => {
    const d = scratch();
    const out = join(d, 'r.html');
    writeFileSync(out, 'OLD\n');
    const r = spawnSync('/bin/sh', ['-c', `ulimit -f 16; exec ${shellQuote(process.execPath)} ${shellQuote(CLI)} report default -o ${shellQuote(out)}`], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`cannot write ${out}: file too large`);
    expect(readFileSync(out, 'utf8')).toBe('OLD\n');
    const ok = tdxsim(['report', 'default', '-o', out]);
    expect(ok.status).toBe(0);
    expect(ok.stderr).toBe(`wrote ${out} (${readFileSync(out).length} bytes): verdict pass (expected: none; found: none)\n`);
  });

  it('-o - writes the report to stdout; - reads a scenario or statuses from stdin', () => {
    const r = tdxsim(['report', 'default', '-o', '-']);
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith('<!doctype html>')).toBe(true);
    expect(r.stderr).toBe('');
    const s = tdxsim(['run', '-'], JSON.stringify(namedScenario('bringup')));
    expect(s.status).toBe(0);
    expect(s.stdout).toContain('verdict: pass');
    const e = tdxsim(['explain', '-'], '0xc000050000000000\n0x8000020200000000\n');
    expect(e.status).toBe(0);
    expect(e.stdout).toContain('TDX_SYS_INIT_NOT_PENDING');
    expect(e.stdout).toContain('TDX_SYS_BUSY');
  });

  it('size limits hold for devices and FIFOs, not only regular files', () => {
    const t0 = Date.now();
    for (const args of [
      ['plan', '/dev/zero'],
      ['diagnose', '/dev/zero'],
      ['run', '/dev/zero'],
    ]) {
      const r = tdxsim(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/too large \(more than \d+ bytes\)/);
    }
    const d = scratch();
    const fifo = join(d, 'p.json');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const writer = spawn('/bin/sh', ['-c', `head -c 40000000 /dev/zero > ${shellQuote(fifo)}`]);
    writer.on('error', () => undefined);
    const r = tdxsim(['run', '--platform', fifo]);
    writer.kill();
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/platform file .*p\.json is too large/);
    expect(Date.now() - t0).toBeLessThan(60_000);
  });
});

describe('long runs', () => {
  // Progress off a terminal and the SIGINT summary: test/e2e/cli-explore-campaign.spec.ts.

  it('--time counts from the start, setup included', () => {
    const t0 = Date.now();
    // --force: an exhaustive search its estimate says cannot finish in 2 s is otherwise refused.
    const r = tdxsim(['explore', 'tdx-enable-concurrent', '--strategy', 'exhaustive', '--time', '2', '--force', '--json']);
    const wall = Date.now() - t0;
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { stoppedBy: string; elapsedMs: number };
    expect(j.stoppedBy).toBe('time');
    expect(j.elapsedMs).toBeGreaterThanOrEqual(2000);
    // Node start-up and one execution past the deadline, at most.
    expect(wall - j.elapsedMs).toBeLessThan(15_000);
  });
});
