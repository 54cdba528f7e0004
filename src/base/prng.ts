/**
 * A small seeded PRNG of our own (xoshiro128**), integer-only. The variable holding one is
 * always called `prng`, and every consumer receives it as a parameter. `fork(label)` derives
 * an independent stream from the *seed and label*, not from the draws made so far, so that
 * adding a draw in one consumer does not shift any other consumer's decisions.
 * @see TigerBeetle stdx/prng.zig; fast-check Random (clone, jump per run).
 */
import { assert } from './assert.js';

/** A probability as a ratio of integers (no floats in the model). */
export interface Ratio {
  readonly numerator: number;
  readonly denominator: number;
}

/** Build a Ratio; throws ModelBug if it is not within [0, 1]. */
export function ratio(numerator: number, denominator: number): Ratio {
  assert(Number.isSafeInteger(numerator) && Number.isSafeInteger(denominator), 'ratio: integers');
  assert(denominator > 0 && numerator >= 0 && numerator <= denominator, 'ratio: 0 <= n <= d');
  return { numerator, denominator };
}

/** 32-bit FNV-1a over a string, continuing from `h`. */
export function fnv1a32(s: string, h = 0x811c9dc5): number {
  let x = h >>> 0;
  for (let i = 0; i < s.length; i++) {
    x ^= s.charCodeAt(i);
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return x >>> 0;
}

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) >>> 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Seeded pseudo-random number generator. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Seed material from which forks are derived. */
  private readonly origin: number;

  /** @param seed any safe integer (negative values are folded). */
  constructor(seed: number) {
    assert(Number.isSafeInteger(seed), `prng seed must be a safe integer, got ${seed}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 2 ** 32) >>> 0;
    const st = { s: (lo ^ Math.imul(hi, 0x27d4eb2d)) >>> 0 };
    this.origin = st.s;
    this.a = splitmix32(st);
    this.b = splitmix32(st);
    this.c = splitmix32(st);
    this.d = splitmix32(st);
    if ((this.a | this.b | this.c | this.d) === 0) {
      this.a = 1;
    }
  }

  /** Next raw 32-bit unsigned value. */
  next32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    return result;
  }

  /** Uniform integer in [0, max) without modulo bias; max in 1..2^32. */
  int(max: number): number {
    assert(Number.isSafeInteger(max) && max >= 1 && max <= 2 ** 32, `prng.int: bad max ${max}`);
    if (max === 1) {
      return 0;
    }
    const limit = 2 ** 32 - (2 ** 32 % max);
    for (;;) {
      const x = this.next32();
      if (x < limit) {
        return x % max;
      }
    }
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  rangeInclusive(lo: number, hi: number): number {
    assert(hi >= lo, 'prng.rangeInclusive: hi < lo');
    const span = hi - lo + 1;
    if (span <= 2 ** 32) {
      return lo + this.int(span);
    }
    // Wide ranges: combine two draws (still exact below 2^53).
    const hiPart = this.int(Math.ceil(span / 2 ** 32));
    return lo + ((hiPart * 2 ** 32 + this.next32()) % span);
  }

  /** True with probability `r`. */
  chance(r: Ratio): boolean {
    return this.int(r.denominator) < r.numerator;
  }

  /** A uniformly chosen element. */
  pick<T>(items: readonly T[]): T {
    assert(items.length > 0, 'prng.pick: empty');
    return items[this.int(items.length)] as T;
  }

  /** Index chosen with integer weights (all >= 0, sum > 0). */
  weighted(weights: readonly number[]): number {
    const total = weights.reduce((s, w) => s + w, 0);
    assert(total > 0, 'prng.weighted: zero total');
    let x = this.int(total);
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i] ?? 0;
      if (x < w) {
        return i;
      }
      x -= w;
    }
    return weights.length - 1;
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i] as T;
      items[i] = items[j] as T;
      items[j] = t;
    }
    return items;
  }

  /** An exact copy of the current state. */
  clone(): Prng {
    const p = new Prng(0);
    p.a = this.a;
    p.b = this.b;
    p.c = this.c;
    p.d = this.d;
    (p as unknown as { origin: number }).origin = this.origin;
    return p;
  }

  /** An independent stream for a named consumer (depends only on seed and label). */
  fork(label: string): Prng {
    return new Prng(fnv1a32(label, this.origin));
  }
}
