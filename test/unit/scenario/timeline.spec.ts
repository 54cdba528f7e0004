import { describe, expect, it } from 'vitest';

import type { TraceEvent } from '../../../src/base/trace.js';
import { formatTimeline, timelineOf } from '../../../src/scenario/timeline.js';

const TRACE: TraceEvent[] = [
  { kind: 'seamcall.exit', t: 1000, cpu: 0, leaf: 8, status: 0n },
  { kind: 'seamcall.exit', t: 2000, cpu: 0, leaf: 8, status: 0n },
  { kind: 'ipi.send', t: 3000, cpu: 0, to: 1, vector: 'NMI', nmi: true },
  { kind: 'ipi.deliver', t: 4000, cpu: 1, vector: 'NMI', nmi: true, from: 0 },
  { kind: 'cache.writeback', t: 5000, cpu: 1, line: 0x17f000000 / 64, lines: 64, keyId: 17, version: 9, stale: true, cause: 'evict' },
];

describe('timeline', () => {
  it('folds the trace into marks with structured fields', () => {
    const tl = timelineOf(TRACE);
    expect(tl).toEqual([
      { t: 1000, end: 2000, cpu: 0, kind: 'seamcall', label: 'TDH.MNG.KEY.CONFIG x2', fields: { leaf: 'TDH.MNG.KEY.CONFIG', count: 2, failed: 0, lastStatus: '0x0000000000000000' } },
      { t: 3000, cpu: 0, kind: 'nmi', label: 'send NMI to CPU 1', fields: { dir: 'send', vector: 'NMI', to: 1 } },
      { t: 4000, cpu: 1, kind: 'nmi', label: 'take NMI', fields: { dir: 'take', vector: 'NMI', from: 0 } },
      { t: 5000, cpu: 1, kind: 'stale-writeback', label: '0x17f000000: stale KeyID 17 write-back (64 lines)', fields: { pa: '0x17f000000', lines: 64, keyId: 17, version: 9, cause: 'evict' } },
    ]);
  });

  it('without a width, nothing is cut: the whole address is on the row', () => {
    const lines = formatTimeline(timelineOf(TRACE));
    expect(lines).toHaveLength(5);
    expect(lines[4]).toBe(`    0.000005  ${' '.repeat(49)} 0x17f000000: stale KeyID 17 write-back (64 lines)`);
    expect(lines.join('\n')).not.toContain('…');
  });

  it('with a terminal width, long labels wrap into the column instead of being cut', () => {
    const lines = formatTimeline(timelineOf(TRACE), { width: 60 });
    // (60 - 14) / 2 CPUs - 1 = 22 characters per column.
    expect(lines[0]).toBe(`    time (s)  ${'CPU 0'.padEnd(22)} CPU 1`);
    expect(lines.slice(4)).toEqual([
      `    0.000005  ${' '.repeat(23)}0x17f000000: stale`,
      `              ${' '.repeat(23)}KeyID 17 write-back`,
      `              ${' '.repeat(23)}(64 lines)`,
    ]);
    expect(lines.every((l) => l.length <= 60)).toBe(true);
  });
});
