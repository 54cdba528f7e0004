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
    const items = Array.from({ length: 1000 }, (_v, i) => ({ line: i + 1, text: i % 2 === 0 ? 'a' : 'b' }));
    const out = collapseRuns(items, (x) => x.text, (x) => `  line ${x.line}  ${x.text}`, '  ');
    expect(out).toHaveLength(MAX_SECTION_LINES + 1);
    expect(out[MAX_SECTION_LINES - 1]).toBe(`  line ${MAX_SECTION_LINES}  b`);
    expect(out[MAX_SECTION_LINES]).toBe(`  ... ${1000 - MAX_SECTION_LINES} more (every one is in the --json output)`);
  });

  it('runs are counted with their first and last item', () => {
    const out = collapseRuns([1, 1, 1, 2, 1], String, (x, z, n) => `${x}x${n} to ${z}`, '');
    expect(out).toEqual(['1x3 to 1', '2x1 to 2', '1x1 to 1']);
  });
});
