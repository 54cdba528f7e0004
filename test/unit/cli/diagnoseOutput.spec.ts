/**
 * diagnose's text output stays bounded on huge logs: repeated lines print once with their count
 * and line range, and a section with many different lines stops after a fixed number with a
 * count of the rest.
 */
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { diagnose } from '../../../src/api/index.js';
import { formatDiagnosis } from '../../../src/cli/commands/diagnose.js';
import { collapseRuns, MAX_SECTION_LINES } from '../../../src/cli/format.js';

const BASE = readFileSync(new URL('../../fixtures/dmesg/linux-6.8-success.dmesg', import.meta.url), 'utf8');

describe('diagnose output on huge logs', () => {
  it('repeated TDX lines and failures print once each, with their count and last line', () => {
    const keyid = '[    2.000000] virt/tdx: BIOS enabled: private KeyID range [32, 64)\n'.repeat(600);
    const fail = '[   99.000000] virt/tdx: SEAMCALL (0x0000000000000022) failed: 0xc0000c0000000000\n'.repeat(400);
    const text = `${BASE.endsWith('\n') ? BASE : `${BASE}\n`}${keyid}${fail}`;
    const baseLines = text.split('\n').length - 1 - 1000;
    const out = formatDiagnosis(diagnose({ text, name: 'big.dmesg', reproduce: true }));
    const lines = out.split('\n');
    expect(lines.length).toBeLessThan(60);
    expect(lines).toContain(`  line ${String(baseLines + 1).padStart(4)}  virt/tdx: BIOS enabled: private KeyID range [32, 64)  (600 times, through line ${baseLines + 600})`);
    expect(lines).toContain(`  line ${String(baseLines + 601).padStart(4)}  virt/tdx: SEAMCALL (0x0000000000000022) failed: 0xc0000c0000000000  (400 times, through line ${baseLines + 1000})`);
    expect(lines.filter((l) => l.startsWith('  -> line '))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith(`    - virt/tdx: SEAMCALL (0x0000000000000022) failed: 0xc0000c0000000000   (log lines ${baseLines + 601}-${baseLines + 1000}, 400 lines, not reproduced`))).toHaveLength(1);
  });

  it('a section of many different lines stops after MAX_SECTION_LINES and counts the rest', () => {
    const items = Array.from({ length: 1000 }, (_v, i) => ({ line: i + 1, text: `t${i}` }));
    const out = collapseRuns(items, (x) => x.text, (x) => `  line ${x.line}  ${x.text}`, '  ');
    expect(out).toHaveLength(MAX_SECTION_LINES + 1);
    expect(out[MAX_SECTION_LINES - 1]).toBe(`  line ${MAX_SECTION_LINES}  t${MAX_SECTION_LINES - 1}`);
    expect(out[MAX_SECTION_LINES]).toBe(`  ... ${1000 - MAX_SECTION_LINES} more (every one is in the --json output)`);
  });

  it('a block repeated as a whole (a failure line and its register lines) prints once per line, counted', () => {
    expect(collapseRuns([1, 2, 3, 1, 2, 3, 1, 2, 3, 4], String, (x, z, n) => `${x}x${n}`, '')).toEqual(['1x3', '2x3', '3x3', '4x1']);
    // Twice is not folded; a block inside runs of one line is.
    expect(collapseRuns(['a', 'b', 'a', 'b', 'c'], (x) => x, (x, _z, n) => `${x}x${n}`, '')).toEqual(['ax1', 'bx1', 'ax1', 'bx1', 'cx1']);
    const sc = '[   99.000000] virt/tdx: SEAMCALL (0x0000000000000022) failed: 0xc0000c0000000000\n[   99.000000] virt/tdx: RCX 0x0000000000000000 RDX 0xffffffffffffffff R08 0x0000000000000000\n[   99.000000] virt/tdx: R09 0x0000000000000000 R10 0x0000000000000000 R11 0x0000000000000000\n';
    const text = `${BASE.endsWith('\n') ? BASE : `${BASE}\n`}${sc.repeat(3000)}`;
    const first = text.split('\n').length - 1 - 9000 + 1;
    const lines = formatDiagnosis(diagnose({ text, name: 'rd3k.dmesg', reproduce: false })).split('\n');
    expect(lines.filter((l) => /^ {2}line +\d+ {2}virt\/tdx: (SEAMCALL|RCX|R09)/.test(l))).toEqual([
      `  line ${String(first).padStart(4)}  virt/tdx: SEAMCALL (0x0000000000000022) failed: 0xc0000c0000000000  (3000 times, through line ${first + 8997})`,
      `  line ${String(first + 1).padStart(4)}  virt/tdx: RCX 0x0000000000000000 RDX 0xffffffffffffffff R08 0x0000000000000000  (3000 times, through line ${first + 8998})`,
      `  line ${String(first + 2).padStart(4)}  virt/tdx: R09 0x0000000000000000 R10 0x0000000000000000 R11 0x0000000000000000  (3000 times, through line ${first + 8999})`,
    ]);
    expect(lines.length).toBeLessThan(60);
  });

  it('runs are counted with their first and last item', () => {
    const out = collapseRuns([1, 1, 1, 2, 1], String, (x, z, n) => `${x}x${n} to ${z}`, '');
    expect(out).toEqual(['1x3 to 1', '2x1 to 2', '1x1 to 1']);
  });
});
