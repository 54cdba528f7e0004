/**
 * Pamt.pruneLocks(): free PAMT entry locks are kept for reuse only up to a bound, held locks are
 * never dropped, and a kept free lock behaves as a fresh one.
 */
import { describe, expect, it } from 'vitest';

import { Pamt } from '../../../src/module/pamt.js';

describe('Pamt lock pruning', () => {
  it('keeps at most 64 free locks, drops the free ones beyond that and never a held one', () => {
    const p = new Pamt([]);
    const held = p.lock(0x4000_0000, 0);
    expect(held.tryAcquire('exclusive', 3)).toBe(true);
    for (let i = 1; i <= 63; i++) {
      p.lock(0x4000_0000 + i * 4096, 0);
    }
    p.pruneLocks();
    expect(p.lockCount).toBe(64);
    for (let i = 64; i < 1000; i++) {
      p.lock(0x4000_0000 + i * 4096, 0);
    }
    expect(p.lockCount).toBe(1000);
    p.pruneLocks();
    expect(p.lockCount).toBe(1);
    // The held lock is the same object and still held; a pruned address gets a free lock.
    expect(p.lock(0x4000_0000, 0)).toBe(held);
    expect(held.tryAcquire('shared', 1)).toBe(false);
    expect(p.lock(0x4000_1000, 0).tryAcquire('exclusive', 1)).toBe(true);
  });

  it('the 4K, 2M and 1G entries of one address are distinct locks, reused while kept', () => {
    const p = new Pamt([]);
    const l4k = p.lock(0x4020_0000, 0);
    const l2m = p.lock(0x4020_0000, 1);
    const l1g = p.lock(0x4020_0000, 2);
    expect(new Set([l4k, l2m, l1g]).size).toBe(3);
    expect(p.lock(0x4020_1000, 1)).toBe(l2m);
    p.pruneLocks();
    expect(p.lock(0x4020_0000, 1)).toBe(l2m);
    expect(l2m.tryAcquire('exclusive', 0)).toBe(true);
  });
});
