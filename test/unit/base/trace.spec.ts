/**
 * The tracer's lazy emitters (seamcallEnter/Exit, memWrite) fold exactly what emit() of the
 * same event would: the running hash does not depend on whether anyone records or listens.
 */
import { describe, expect, it } from 'vitest';

import { Tracer } from '../../../src/base/trace.js';
import type { TraceEvent } from '../../../src/base/trace.js';

function feed(t: Tracer): void {
  t.seamcallEnter(1000, 3, 36, 36n);
  t.memWrite(1200, 3, 0x1_2345_6000, 16384, 17, 'movdir64b');
  t.seamcallExit(2000, 3, 36, 0x8000_0200_0000_0000n);
  t.mix(7);
  t.memWrite(2 ** 40, 0, 0, 64, 0, 'store');
  t.seamcallEnter(3000, 479, 0xffff, 0xffff_ffff_ffff_ffffn);
}

describe('Tracer lazy emitters', () => {
  it('hash as emit() of the same events, with or without observers', () => {
    const lazy = new Tracer();
    feed(lazy);
    const recorded = new Tracer(100);
    feed(recorded);
    const seen: TraceEvent[] = [];
    const listened = new Tracer();
    listened.subscribe((e) => seen.push(e));
    feed(listened);
    const explicit = new Tracer();
    explicit.emit({ kind: 'seamcall.enter', t: 1000, cpu: 3, leaf: 36, rax: 36n });
    explicit.emit({ kind: 'mem.write', t: 1200, cpu: 3, pa: 0x1_2345_6000, len: 16384, keyId: 17, op: 'movdir64b' });
    explicit.emit({ kind: 'seamcall.exit', t: 2000, cpu: 3, leaf: 36, status: 0x8000_0200_0000_0000n });
    explicit.mix(7);
    explicit.emit({ kind: 'mem.write', t: 2 ** 40, cpu: 0, pa: 0, len: 64, keyId: 0, op: 'store' });
    explicit.emit({ kind: 'seamcall.enter', t: 3000, cpu: 479, leaf: 0xffff, rax: 0xffff_ffff_ffff_ffffn });
    expect(lazy.hash).toBe(explicit.hash);
    expect(recorded.hash).toBe(explicit.hash);
    expect(listened.hash).toBe(explicit.hash);
    expect(lazy.eventCount).toBe(5);
    expect(recorded.events()).toHaveLength(5);
    expect(seen.map((e) => e.kind)).toEqual(['seamcall.enter', 'mem.write', 'seamcall.exit', 'mem.write', 'seamcall.enter']);
  });
});

describe('Tracer recording', () => {
  it('keeps the last recordLimit events in order', () => {
    const t = new Tracer(3);
    const mark = (i: number): TraceEvent => ({ kind: 'mark', t: i, cpu: 0, label: `m${i}` });
    for (let i = 0; i < 5; i++) {
      t.emit(mark(i));
    }
    expect(t.events().map((e) => e.t)).toEqual([2, 3, 4]);
    t.emit(mark(5));
    t.emit(mark(6));
    expect(t.events().map((e) => e.t)).toEqual([4, 5, 6]);
    t.emit(mark(7));
    t.recordLimit = 5;
    t.emit(mark(8));
    expect(t.events().map((e) => e.t)).toEqual([5, 6, 7, 8]);
    expect(t.eventCount).toBe(9);
  });
});
