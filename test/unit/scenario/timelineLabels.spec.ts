/** The text timeline prints every label in full, however long, in its CPU's column. */
import { describe, expect, it } from 'vitest';

import { formatTimeline } from '../../../src/scenario/timeline.js';
import type { TimelineEvent } from '../../../src/scenario/timeline.js';

describe('text timeline labels', () => {
  it('a long label (a stale write-back with its address) is not cut, and starts in its CPU column', () => {
    const label = 'stale KeyID 17 write-back at 0x17efec000 over kernel#1';
    const events: TimelineEvent[] = [
      { t: 1000, cpu: 0, kind: 'kexec', label: 'kexec: kernel_kexec', fields: {} },
      { t: 2000, cpu: 1, kind: 'stale-writeback', label, fields: {} },
    ];
    const rows = formatTimeline(events);
    // Off a terminal every column is as wide as the longest label (plus one separating space).
    expect(rows[2]).toBe(`${'0.000002'.padStart(12)}  ${' '.repeat(label.length + 1)}${label}`);
  });
});
