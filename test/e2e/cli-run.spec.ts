import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { tdxsim, tempFile } from '../__test-helpers__/cli.js';

describe('tdxsim run: the first run (default scenario)', () => {
  it('notes name their return codes and the next kernel\'s dmesg has a header; --json keeps the raw notes', () => {
    const r = tdxsim(['run']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('-- note: ') && !l.startsWith('-- note: kexec:'))).toEqual([
      '-- note: kvm.load: 0 (success)',
      '-- note: td.create: 0 (success)',
      '-- note: kvm.load: -5 (EIO)',
    ]);
    // The kexec'd kernel's dmesg stands apart, with its TDH.SYS.INIT failure.
    const lines = r.stdout.split('\n');
    const k2 = lines.indexOf('-- kernel 2 (started by the jump):');
    expect(lines[k2 - 1]).toBe('[    0.028080] kexec_core: Starting new kernel');
    expect(lines[k2 + 1]).toBe('[    0.000000] Linux version 6.18.0 (tdxsim) #2 SMP');
    expect(lines.filter((l) => l.startsWith('-- kernel '))).toHaveLength(1);
    expect(lines.slice(k2).find((l) => l.includes('SEAMCALL'))).toBe('[    0.001044] virt/tdx: SEAMCALL (0x0000000000000021) failed: 0xc000050000000000');
    const j = JSON.parse(tdxsim(['run', '--json']).stdout) as { notes: string[] };
    expect(j.notes.filter((n) => !n.startsWith('kexec:'))).toEqual(['kvm.load: 0', 'td.create: 0', 'kvm.load: -5']);
  });
});

describe('tdxsim run kexec-rfc-td (an embedded scenario by name)', () => {
  it('runs the embedded scenario and prints where each stale line was dirtied (the cause)', () => {
    const r = tdxsim(['run', 'kexec-rfc-td']);
    expect(r.status).toBe(0);
    // The last 5,000 events hold the last two of TDMR.INIT's six PAMT stores (the report has all).
    expect(r.stdout.split('\n').filter((l) => l.startsWith('-- cause: '))).toEqual([
      '-- cause: CPU 0 at 0.018517 s: 0x1ffffb000 (PAMT of TDMR 2, given to the TDX module by kernel 1): dirtied through KeyID 16 by TDH.SYS.TDMR.INIT; written back stale at 0.033048 s',
      '-- cause: CPU 0 at 0.022869 s: 0x1ffffd000 (PAMT of TDMR 2, given to the TDX module by kernel 1): dirtied through KeyID 16 by TDH.SYS.TDMR.INIT; written back stale at 0.033048 s',
      '-- cause: CPU 0 at 0.027198 s: 0x17efed040 (TDR page of TD 1, HKID 17): dirtied through KeyID 16 by TDH.MNG.ADDCX; written back stale at 0.033048 s',
      '-- cause: CPU 0 at 0.027206 s: 0x17efe6100 (TDVPR page of TD 1, HKID 17): dirtied through KeyID 17 by TDH.VP.INIT; written back stale at 0.033048 s',
      // The two Secure EPT lines TDH.MEM.SEPT.ADD stored on CPU 0 (module/septLayout.ts).
      '-- cause: CPU 0 at 0.027207 s: 0x17efe9000 (TDCS page of TD 1, HKID 17): dirtied through KeyID 17 by TDH.MEM.SEPT.ADD; written back stale at 0.033048 s',
      '-- cause: CPU 0 at 0.027208 s: 0x17eee0000 (Secure EPT page of TD 1, HKID 17): dirtied through KeyID 17 by TDH.MEM.SEPT.ADD; written back stale at 0.033048 s',
      '-- cause: CPU 0 at 0.027739 s: 0x17efed000 (TDR page of TD 1, HKID 17): dirtied through KeyID 16 by TDH.MEM.PAGE.AUG; written back stale at 0.033048 s',
    ]);
    expect(r.stdout).toContain('   replay: tdxsim run --scenario kexec-rfc-td --seed 1 --path ');
    const missing = tdxsim(['run', 'no-such-scenario']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('no-such-scenario');
  });
});

describe('tdxsim run --scenario cache-alias', () => {
  it('names the order that corrupted memory, the line, the KeyIDs and the CPU', () => {
    const r = tdxsim(['run', '--scenario', 'cache-alias']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const out = r.stdout.split('\n');
    const a = out.indexOf('== cache-alias / cpu0-then-cpu1');
    const b = out.indexOf('== cache-alias / cpu1-then-cpu0');
    expect(a).toBeGreaterThanOrEqual(0);
    expect(b).toBeGreaterThan(a);
    expect(out.slice(a, b)).toContain('-- no findings');
    expect(out.slice(b)).toContain(
      "-- FINDING [silent-corruption] silent corruption: line 0x10000000: a stale KeyID 17 alias (written by CPU 0) was written back from CPU 0's cache (wbinvd) over newer data written through KeyID 0 by CPU 1",
    );
    expect(out).toContain('verdict: pass (expected: silent-corruption; found: silent-corruption)');
  });

  it('gives the same result as JSON', () => {
    const r = tdxsim(['run', '--scenario', 'cache-alias', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as { verdict: string; findings: { class: string; variant: string; details: Record<string, unknown> }[]; runs: { name: string; findings: unknown[] }[] };
    expect(j.verdict).toBe('pass');
    expect(j.runs.map((x) => [x.name, x.findings.length])).toEqual([
      ['cpu0-then-cpu1', 0],
      ['cpu1-then-cpu0', 1],
    ]);
    expect(j.findings[0]).toMatchObject({
      class: 'silent-corruption',
      variant: 'cpu1-then-cpu0',
      details: { pa: '0x10000000', staleKeyId: 17, fromCpu: 0, overwrittenKeyId: 0, overwrittenWriter: 'CPU 1' },
    });
  });

  it('is deterministic: same seed, same trace hash', () => {
    const a = JSON.parse(tdxsim(['run', '--scenario', 'cache-alias', '--json', '--seed', '5']).stdout) as { runs: { traceHash: string }[] };
    const b = JSON.parse(tdxsim(['run', '--scenario', 'cache-alias', '--json', '--seed', '5']).stdout) as { runs: { traceHash: string }[] };
    expect(a.runs.map((r) => r.traceHash)).toEqual(b.runs.map((r) => r.traceHash));
  });
});

describe('tdxsim run: bad input', () => {
  it('unknown scenario', () => {
    const r = tdxsim(['run', '--scenario', 'nope']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^tdxsim: unknown scenario "nope" \(known: .*cache-alias/);
  });
  it('unknown steps and fields, with their paths', () => {
    const f = tempFile('s.json', JSON.stringify({ steps: [{ op: 'boot' }, { op: 'dance' }], colour: 'red' }));
    const r = tdxsim(['run', f]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`tdxsim: ${f}: steps[1].op: unknown step op "dance" (ops: store, movdir64b, `);
    expect(r.stderr).toContain(`tdxsim: ${f}: (root): unknown field "colour"`);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });
  it('steps in an order that makes no sense', () => {
    const f = tempFile('s.json', JSON.stringify({ steps: [{ op: 'kexec' }, { op: 'boot' }] }));
    const r = tdxsim(['run', f]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`tdxsim: ${f}: steps[0]: "kexec" before "boot": the kernel is not running yet\n`);
  });
  it('unknown profiles', () => {
    const f = tempFile('s.json', JSON.stringify({ kernel: 'linux-2.6', steps: [{ op: 'boot' }] }));
    const r = tdxsim(['run', f]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^tdxsim: .*s\.json: kernel: unknown kernel "linux-2\.6" \(known: linux-6\.18, .*\); did you mean "linux-6\.\d+"\?\n$/);
  });
  it('malformed JSON and missing files', () => {
    const f = tempFile('s.json', '{"steps": [');
    expect(tdxsim(['run', f]).stderr).toMatch(/^tdxsim: scenario file .*s\.json: invalid JSON at line 1, column 12: /);
    const r = tdxsim(['run', '/nonexistent/x.json']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('tdxsim: cannot read scenario file /nonexistent/x.json: no such file or directory\n');
  });
  it('a malformed platform file: one message per problem, naming the field path', () => {
    const plat = tempFile('p.json', JSON.stringify({ cpuModel: 'sapphire-rapids', topology: { packages: 2, coresPerPackage: 1, threadsPerCore: 2, logicalCpus: 5 }, memory: { e820: [{ base: 0, size: 4097, type: 'usable' }] }, cmrs: [], seamrr: { base: 0, size: 0, enabled: false, locked: false }, smrr: { base: 0, size: 0, valid: false, locked: false }, keyids: { bits: 2, mktme: 3, tdx: 4 } }));
    const r = tdxsim(['run', '--scenario', 'cache-alias', '--platform', plat]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      `tdxsim: ${plat}: topology.logicalCpus: 5 does not fit the topology (2 packages x 1 cores x 2 threads = 4)`,
      `tdxsim: ${plat}: memory.e820[0].size: 0x1001 is not a multiple of 4 KiB`,
      `tdxsim: ${plat}: keyids: 3 MKTME + 4 TDX KeyIDs do not fit 2 KeyID bits (at most 3)`,
    ]);
  });
  it('bad option values', () => {
    const r = tdxsim(['run', '--seed', '-3']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--seed "-3": expected a non-negative integer');
  });
});

describe('the README set-up', () => {
  it('`npx tdxsim` runs the built CLI (its entry is executable)', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    expect(statSync(`${root}dist/cli/main.js`).mode & 0o111).not.toBe(0);
    const r = spawnSync('npx', ['--no-install', 'tdxsim', '--version'], { cwd: root, encoding: 'utf8' });
    expect(r.stderr.replace(/^npm warn .*\n/gm, '')).toBe('');
    expect(r.stdout).toBe('0.1.0\n');
    expect(r.status).toBe(0);
  });
});
