import { describe, expect, it } from 'vitest';

import { IntervalMap } from '../../../src/base/IntervalMap.js';

describe('IntervalMap', () => {
  it('re-assigning exactly one interval replaces it, or coalesces with an equal neighbour', () => {
    const m = new IntervalMap<string>();
    m.set(0, 1, 'a');
    m.set(1, 2, 'b');
    m.set(2, 3, 'c');
    m.set(1, 2, 'd');
    expect(m.entries()).toEqual([
      { start: 0, end: 1, value: 'a' },
      { start: 1, end: 2, value: 'd' },
      { start: 2, end: 3, value: 'c' },
    ]);
    m.set(1, 2, 'a');
    expect(m.entries()).toEqual([
      { start: 0, end: 2, value: 'a' },
      { start: 2, end: 3, value: 'c' },
    ]);
    m.set(2, 3, 'a');
    expect(m.entries()).toEqual([{ start: 0, end: 3, value: 'a' }]);
  });
  it('splits, coalesces and clips', () => {
    const m = new IntervalMap<number>();
    m.set(0, 100, 1);
    m.set(50, 60, 2);
    m.set(60, 70, 2);
    m.set(100, 200, 1);
    expect(m.entries()).toEqual([
      { start: 0, end: 50, value: 1 },
      { start: 50, end: 70, value: 2 },
      { start: 70, end: 200, value: 1 },
    ]);
    expect(m.get(55)).toBe(2);
    expect(m.get(200)).toBeUndefined();
    m.set(50, 70, 1);
    expect(m.entries()).toEqual([{ start: 0, end: 200, value: 1 }]);
    expect(m.size).toBe(1);
    m.delete(10, 20);
    expect(m.entries(5, 25)).toEqual([
      { start: 5, end: 10, value: 1 },
      { start: 20, end: 25, value: 1 },
    ]);
    expect(m.covered()).toBe(190);
    expect(m.covers(0, 10)).toBe(true);
    expect(m.covers(0, 11)).toBe(false);
  });

  it('update fills gaps and unmaps', () => {
    const m = new IntervalMap<number>();
    m.set(10, 20, 5);
    m.update(0, 30, (v) => (v === undefined ? 7 : undefined));
    expect(m.entries()).toEqual([
      { start: 0, end: 10, value: 7 },
      { start: 20, end: 30, value: 7 },
    ]);
  });
});
