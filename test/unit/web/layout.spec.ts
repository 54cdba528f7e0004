import { describe, expect, it } from 'vitest';

import type { ExecutionModel } from '../../../src/api/report.js';
import { axisPieces, cpuList, fmtDuration, fmtTime, foldLanes, niceStep, niceStep2, tToU, uToT } from '../../../src/web/layout.js';

describe('report chart layout', () => {
  it('writes CPU lists as ranges', () => {
    expect(cpuList([0])).toBe('0');
    expect(cpuList([1, 2, 3, 5, 7, 8])).toBe('1\u20133, 5, 7\u20138');
  });

  it('breaks the axis over gaps much longer than the typical one', () => {
    // Events 1 µs apart, then a 1 s wait, then two more.
    const ts = [0, 1000, 2000, 3000, 1_000_003_000, 1_000_004_000];
    const { pieces, breakU, u } = axisPieces(ts);
    expect(pieces).toEqual([
      { t0: 0, t1: 3000, u0: 0 },
      { t0: 1_000_003_000, t1: 1_000_004_000, u0: 4000 },
    ]);
    expect(breakU).toBe(1000);
    expect(u).toBe(5000);
    expect(tToU(pieces, breakU, 2000)).toBe(2000);
    expect(tToU(pieces, breakU, 1_000_003_500)).toBe(4500);
    // Halfway through the gap is halfway across the break.
    expect(tToU(pieces, breakU, 500_003_000)).toBe(3500);
    for (const t of [0, 1500, 3000, 250_000_000, 1_000_003_000, 1_000_004_000]) {
      expect(uToT(pieces, breakU, tToU(pieces, breakU, t))).toBeCloseTo(t, 3);
    }
  });

  it('breaks at most the 12 longest gaps, and none when time is evenly spread', () => {
    expect(axisPieces([0, 10, 20, 30, 40]).pieces).toHaveLength(1);
    const ts = [0];
    for (let i = 1; i <= 40; i++) {
      ts.push((ts[i - 1] as number) + (i % 2 === 0 ? 10 : 1_000_000 * i));
    }
    expect(axisPieces(ts).pieces).toHaveLength(13);
  });

  it('rounds ticks and formats times in the unit of their size', () => {
    expect(niceStep(7300, 1)).toBe(10_000);
    expect(niceStep(1300, 1)).toBe(2000);
    expect(niceStep(260, 1)).toBe(500);
    expect(niceStep2(0x3000_0000, 8)).toBe(0x800_0000);
    expect(fmtTime(28_000_000, 1000)).toBe('28.000 ms');
    expect(fmtTime(1_033_050_000, 1_000_000)).toBe('1.033 s');
    expect(fmtTime(0, 500)).toBe('0 ns');
    expect(fmtTime(120, 10)).toBe('120 ns');
    expect(fmtDuration(1_000_000_000)).toBe('1.00 s');
    expect(fmtDuration(26_100_000)).toBe('26.1 ms');
    expect(fmtDuration(480)).toBe('480 ns');
  });

  it('folds 480 CPUs into a few lanes per package, keeping the NMI CPUs apart', () => {
    const cpus = Array.from({ length: 480 }, (_, i) => ({ cpu: i, pkg: Math.floor(i / 60) }));
    const events: ExecutionModel['events'] = [];
    for (let c = 0; c < 480; c++) {
      // Every CPU but the idle ones in package 7 takes the same IPI and flushes.
      if (c < 450) {
        events.push({ t: 10 + c, cpu: c, kind: 'ipi', label: 'take CALL_FUNCTION', fields: {} }, { t: 20 + c, cpu: c, kind: 'wbinvd', label: 'WBINVD (0 dirty lines)', fields: {} });
      }
    }
    events.push({ t: 5, cpu: 0, kind: 'ipi', label: 'send NMI to CPU 7', fields: {} }, { t: 6, cpu: 7, kind: 'nmi', label: 'take NMI', fields: {} });
    const { lanes, laneOf } = foldLanes({ cpus, events, arrows: [{ t0: 5, t1: 6, from: 0, to: 7, nmi: true, vector: 'NMI' }], findings: [] });
    expect(lanes.slice(0, 4).map((l) => l.label)).toEqual(['P0 CPU 0', 'P0 CPUs 1\u20136, 8\u201359 (58, as CPU 1)', 'P0 CPU 7', 'P1 CPUs 60\u2013119 (60, as CPU 60)']);
    expect(lanes[lanes.length - 1]?.label).toBe('P7 CPUs 450\u2013479 idle');
    expect(lanes).toHaveLength(11);
    expect(laneOf[479]).toBe(10);
    // With a budget of 9 lanes the largest package's groups merge.
    expect(foldLanes({ cpus, events, arrows: [], findings: [] }, 9).lanes.length).toBeLessThanOrEqual(9);
  });
});
