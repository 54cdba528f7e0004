/** End-to-end: `tdxsim plan`, `tdxsim diagnose` and `tdxsim explain` as a user runs them. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { tdxsim, tempFile } from '../__test-helpers__/cli.js';

const FIX = 'test/fixtures';

function binFile(bytes: number[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'tdxsim-'));
  const p = join(dir, 'blob.bin');
  writeFileSync(p, Buffer.from(bytes));
  return p;
}

describe('tdxsim plan', () => {
  it('plans the 64 GiB machine of a 6.8 dmesg: TDMRs, PAMT, dmesg, headroom, DPAMT', () => {
    const r = tdxsim(['plan', `${FIX}/dmesg/linux-6.8-success.dmesg`, '--kernel', 'linux-6.16']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('memory source: node-ranges: 4 "Early memory node ranges" lines (lines 38-41)');
    expect(r.stdout).toContain('outcome: ok: 262668 KB of PAMT (65667 pages) for 3 TDMR(s)');
    expect(r.stdout).toContain('  virt/tdx: 262668 KB allocated for PAMT\n  virt/tdx: module initialized\n');
    expect(r.stdout).toContain('TDMRs: 3 of 64 used, 61 free');
    expect(r.stdout).toContain('Dynamic PAMT estimate: 2572 KB at init instead of 262668 KB');
  });

  it('--json carries the documented fields', () => {
    const r = tdxsim(['plan', `${FIX}/dmesg/linux-6.8-success.dmesg`, '--kernel', 'linux-6.18', '--json']);
    expect(r.status).toBe(0);
    const j = JSON.parse(r.stdout) as {
      outcome: string;
      pamtKb: number;
      tdmrs: { base: string; size: string; reserved: { offset: string; size: string }[]; pamt: Record<string, unknown> }[];
      dmesg: string[];
      source: { kind: string };
      headroom: { tdmrs: { used: number; max: number } };
      dynamicPamt: { staticKb: number; assumptions: string[] };
    };
    expect(j.outcome).toBe('ok');
    expect(j.pamtKb).toBe(262668);
    expect(j.tdmrs.map((t) => [t.base, t.size])).toEqual([
      ['0x0', '0x80000000'],
      ['0x100000000', '0x780000000'],
      ['0x880000000', '0x800000000'],
    ]);
    expect(j.tdmrs[0]!.reserved[0]).toEqual({ offset: '0x0', size: '0x100000' });
    expect(j.tdmrs[2]!.pamt).toMatchObject({ node: 1, pages: 32833 });
    expect(j.dmesg.at(-1)).toBe('virt/tdx: module initialized');
    expect(j.source.kind).toBe('node-ranges');
    expect(j.headroom.tdmrs).toMatchObject({ used: 3, max: 64 });
    expect(j.dynamicPamt.assumptions.length).toBeGreaterThan(0);
  });

  it('--compare shows every kernel profile with its own PAMT line', () => {
    const r = tdxsim(['plan', `${FIX}/dmesg/linux-6.8-success.dmesg`, '--compare', '--json']);
    const j = JSON.parse(r.stdout) as { compare: { kernel: string; pamtLine: string; outcome: string }[] };
    expect(j.compare.map((c) => [c.kernel, c.pamtLine])).toEqual([
      ['linux-6.18', 'virt/tdx: 262668 KB allocated for PAMT'],
      ['linux-6.6', 'virt/tdx: 262668 KB allocated for PAMT'],
      ['ubuntu-6.8-intel', 'virt/tdx: 262668 KB allocated for PAMT'],
      ['linux-6.16', 'virt/tdx: 262668 KB allocated for PAMT'],
      ['linux-7.1', 'virt/tdx: 262668 KB allocated for PAMT'],
      ['linux-7.2', 'virt/tdx: 262668 KB allocated for PAMT'],
      ['tdx-host-v8', 'tdx: 262668 KBs allocated for PAMT.'],
      ['tdx-host-rfc', 'tdx: 65667 pages allocated for PAMT.'],
    ]);
    const text = tdxsim(['plan', `${FIX}/dmesg/linux-6.8-success.dmesg`, '--compare']).stdout;
    expect(text).toContain('every kernel profile:');
    expect(text).toMatch(/tdx-host-rfc +1\.0 +ok/);
  });

  it('exit 1 when Linux would fail: reserved areas exhausted, TDMRs exhausted, version skew', () => {
    const a = tdxsim(['plan', `${FIX}/dmesg/spr-rsvd-exhausted.dmesg`, '--kernel', 'linux-6.16']);
    expect(a.status).toBe(1);
    expect(a.stdout).toContain('virt/tdx: initialization failed: TDMR [0x0, 0x40000000): reserved areas exhausted.');
    expect(a.stdout).toContain('(21 needed)');
    const b = tdxsim(['plan', 'emr-2s-1t', '--max-tdmrs', '1']);
    expect(b.status).toBe(1);
    expect(b.stdout).toContain('virt/tdx: initialization failed: TDMRs exhausted.');
    const c = tdxsim(['plan', `${FIX}/dmesg/linux-6.8-success.dmesg`, '--kernel', 'ubuntu-6.8-intel', '--module', '1.0']);
    expect(c.status).toBe(1);
    expect(c.stdout).toContain('virt/tdx: SEAMCALL (0x0000000000000022) failed: 0xc000050500000000');
  });

  it('reads /proc/iomem, platform JSON and presets', () => {
    expect(tdxsim(['plan', `${FIX}/iomem/m64.iomem`]).stdout).toContain('memory source: iomem');
    expect(tdxsim(['plan', `${FIX}/platform/spec-7-28.json`]).stdout).toContain('0x0 +0x100000, 0x60000000 +0x10000000');
    expect(tdxsim(['plan', 'small-2s']).status).toBe(0);
  });

  it('bad input: exit 2, a message naming the input and place, nothing on stdout', () => {
    const cases: [string[], RegExp][] = [
      [['plan', '/no/such/file'], /cannot read input \/no\/such\/file/],
      [['plan', binFile([0x7f, 0x45, 0x4c, 0x46, 0x00])], /binary data \(NUL byte at offset 4, line 1\)/],
      [['plan', tempFile('g.txt', 'lorem ipsum\n')], /not a dmesg, \/proc\/iomem or platform JSON \(line 1: "lorem ipsum"\)/],
      [['plan', tempFile('p.json', '{"name": }')], /invalid JSON at line 1, column 10/],
      [['plan', tempFile('t.dmesg', '[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x00000000')], /no memory map: .*; line 1: malformed e820 line \(the input ends in the middle of this line\)/],
      [['plan', `${FIX}/dmesg/linux-6.8-success.dmesg`, '--kernel', 'linux-2.6'], /unknown kernel "linux-2.6"/],
      [['plan', `${FIX}/dmesg/linux-6.8-success.dmesg`, '--max-tdmrs', 'many'], /--max-tdmrs "many": expected a non-negative integer/],
    ];
    for (const [args, re] of cases) {
      const r = tdxsim(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr, args.join(' ')).toMatch(re);
    }
  });
});

describe('tdxsim diagnose', () => {
  it('a success log: exit 0, the story, and a line-for-line reproduction', () => {
    const r = tdxsim(['diagnose', `${FIX}/dmesg/linux-6.8-success.dmesg`]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('classification: success: TDX initialised successfully');
    expect(r.stdout).toContain('  line 61  virt/tdx: 262668 KB allocated for PAMT');
    expect(r.stdout).toContain('result: MATCHES the log line for line (4 TDX line(s))');
  });

  it('failures: exit 1 with cause and remedy', () => {
    const h = tdxsim(['diagnose', `${FIX}/dmesg/hibernation.dmesg`]);
    expect(h.status).toBe(1);
    expect(h.stdout).toContain('classification: hibernation');
    expect(h.stdout).toContain('nohibernate');
    const v = tdxsim(['diagnose', `${FIX}/dmesg/version-skew-6.8-tdx1.0.dmesg`]);
    expect(v.status).toBe(1);
    expect(v.stdout).toContain('classification: version-skew');
    expect(v.stdout).toContain('-> line 56: TDH.SYS.RD returned TDX_SYS_NOT_READY');
    expect(v.stdout).toContain('Upgrade to TDX module 1.5.01 or later (your 1.0 lacks TDH.SYS.RD, which kernels from 6.8 use to read the module\'s metadata), by a BIOS/firmware update or the OS SEAM loader, to keep Ubuntu 24.04 linux-intel 6.8 (6.8.0-1006-intel or later)');
    expect(v.stdout).toContain('result: MATCHES the log line for line (6 TDX line(s))');
  });

  it('--json', () => {
    const r = tdxsim(['diagnose', `${FIX}/dmesg/spr-rsvd-exhausted.dmesg`, '--json']);
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout) as { classification: { class: string }; reproduction: { matches: boolean; method: string }; era: { kernel: string } };
    expect(j.classification.class).toBe('reserved-areas-exhausted');
    expect(j.reproduction).toMatchObject({ matches: true, method: 'simulator' });
    expect(j.era.kernel).toBe('ubuntu-6.8-intel');
  });

  it('a dmesg with no TDX lines says so', () => {
    const r = tdxsim(['diagnose', `${FIX}/dmesg/no-tdx.dmesg`, '--no-reproduce']);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('(the log has no TDX lines)');
    expect(r.stdout).toContain('classification: no-tdx: no TDX lines: TDX not enabled');
  });

  it('bad input: exit 2, clear message, nothing on stdout', () => {
    const cases: [string[], RegExp][] = [
      [['diagnose', binFile([0x00, 0x01, 0x02])], /binary data/],
      [['diagnose', tempFile('e.txt', '')], /is empty/],
      [['diagnose', tempFile('n.txt', 'not a log at all\n')], /does not look like a kernel log/],
      [['diagnose', '/no/such/dmesg'], /cannot read dmesg \/no\/such\/dmesg: no such file or directory/],
    ];
    for (const [args, re] of cases) {
      const r = tdxsim(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr, args.join(' ')).toMatch(re);
    }
  });
});

describe('tdxsim explain', () => {
  it('a hex status', () => {
    const r = tdxsim(['explain', 'c000050000000000']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('0xc000050000000000  TDX_SYS_INIT_NOT_PENDING');
    expect(r.stdout).toContain('class:      0x05 system state');
    expect(r.stdout).toContain('kexec');
  });

  it('a whole SEAMCALL line, leaf taken from it', () => {
    const r = tdxsim(['explain', '[    3.1] virt/tdx: SEAMCALL (0x0000000000000022) failed: 0xc0000c0000000000']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('leaf:       34 TDH.SYS.RD');
    expect(r.stdout).toContain('checking:   the field id in RDX');
    expect(r.stdout).toContain('MAX_VCPUS_PER_TD');
    expect(r.stdout).toContain('Linux:      -EIO (-5)');
  });

  it('unquoted words of a pasted line are joined', () => {
    const r = tdxsim(['explain', 'SEAMCALL', '(0x000000000000001f)', 'failed:', '0x8000080000000000']);
    expect(r.stdout).toContain('TDX_KEY_GENERATION_FAILED');
    expect(r.stdout).toContain('leaf:       31 TDH.SYS.KEY.CONFIG');
  });

  it('packed operands, --leaf, --json, unknown codes', () => {
    expect(tdxsim(['explain', '0xc0000a1200000201', '--leaf', 'TDH.SYS.CONFIG']).stdout).toContain('TDX_PAMT_OVERLAP(1, 1G, 0)');
    const j = JSON.parse(tdxsim(['explain', '0x8000ff00ffff0000', '--json']).stdout) as { name: string; linux: { errnoName: string } };
    expect(j).toMatchObject({ name: 'TDX_SEAMCALL_VMFAILINVALID', linux: { errnoName: '-ENODEV' } });
    const u = tdxsim(['explain', '0xc0001f0700000042']);
    expect(u.status).toBe(0);
    expect(u.stdout).toContain('unknown status');
    expect(u.stdout).toContain('class:      0x1f unknown class');
  });

  it('bad input: exit 2', () => {
    const a = tdxsim(['explain', 'nonsense']);
    expect(a.status).toBe(2);
    expect(a.stdout).toBe('');
    expect(a.stderr).toContain('expected a 64-bit status');
    expect(tdxsim(['explain', '0x1', '--leaf', 'TDH.NONE']).status).toBe(2);
    expect(tdxsim(['explain']).status).toBe(2);
  });
});

describe('tdxsim --help lists the tools', () => {
  it('plan, diagnose, explain', () => {
    const r = tdxsim(['--help']);
    for (const c of ['plan', 'diagnose', 'explain']) {
      expect(r.stdout).toMatch(new RegExp(`\\n  ${c} `));
    }
  });
});

describe('stdin', () => {
  it('plan - and diagnose - read stdin', () => {
    const p = tdxsim(['plan', '-'], readFileSync(`${FIX}/iomem/m64.iomem`, 'utf8'));
    expect(p.status).toBe(0);
    expect(p.stdout).toContain('plan: <stdin> (iomem)');
    const d = tdxsim(['diagnose', '-', '--no-reproduce'], readFileSync(`${FIX}/dmesg/hibernation.dmesg`, 'utf8'));
    expect(d.status).toBe(1);
    expect(d.stdout).toContain('classification: hibernation');
    const e = tdxsim(['diagnose', '-'], '');
    expect(e.status).toBe(2);
    expect(e.stderr).toContain('dmesg <stdin> is empty');
  });
});
