/**
 * A coalescing interval map over half-open integer ranges [start, end), built on a B+ tree
 * (sorted-btree). Point lookups and range assignments cost O(log n + k) where k is the number
 * of intervals the range touches. This is the workhorse of the memory model: a MOVDIR64B of
 * 4 GiB is one `set`, whatever the size of the host.
 *
 * Adjacent intervals with equal values (by `eq`, default `===`) are merged, so the map stays
 * as small as the information it holds.
 */
import * as BTreeModule from 'sorted-btree';

import { assert } from './assert.js';
import { CLONE } from './clone.js';

/** The part of sorted-btree's BTree<number, Node<V>> we use. */
interface Tree<V> {
  readonly size: number;
  get(key: number): Node<V> | undefined;
  set(key: number, value: Node<V>): boolean;
  delete(key: number): boolean;
  clear(): void;
  clone(): Tree<V>;
  minKey(): number | undefined;
  entries(lowestKey?: number): IterableIterator<[number, Node<V>]>;
  nextLowerPair(key: number | undefined): [number, Node<V>] | undefined;
  getPairOrNextLower(key: number): [number, Node<V>] | undefined;
  getPairOrNextHigher(key: number): [number, Node<V>] | undefined;
  deleteRange(low: number, high: number, includeHigh: boolean): number;
}
type TreeCtor = new <V>() => Tree<V>;
// sorted-btree is CommonJS with `exports.default`; Node and bundlers unwrap it differently.
const interop = BTreeModule as unknown as { default: TreeCtor | { default: TreeCtor } };
const BTree: TreeCtor = typeof interop.default === 'function' ? interop.default : interop.default.default;

interface Node<V> {
  end: number;
  value: V;
}

/** One maximal interval of the map, clipped to the queried range. */
export interface Interval<V> {
  readonly start: number;
  readonly end: number;
  readonly value: V;
}

/** Coalescing map from integer ranges to values. */
export class IntervalMap<V> {
  private readonly tree: Tree<V> = new BTree<V>();
  private readonly eq: (a: V, b: V) => boolean;

  /** @param eq value equality used for coalescing (default: `===`). */
  constructor(eq?: (a: V, b: V) => boolean) {
    this.eq = eq ?? ((a, b) => a === b);
  }

  /** Number of stored (maximal) intervals. */
  get size(): number {
    return this.tree.size;
  }

  /** Value at `point`, or undefined when unmapped. */
  get(point: number): V | undefined {
    const p = this.tree.getPairOrNextLower(point);
    if (p === undefined || p[1].end <= point) {
      return undefined;
    }
    return p[1].value;
  }

  /** The whole interval containing `point`, or undefined. */
  getInterval(point: number): Interval<V> | undefined {
    const p = this.tree.getPairOrNextLower(point);
    if (p === undefined || p[1].end <= point) {
      return undefined;
    }
    return { start: p[0], end: p[1].end, value: p[1].value };
  }

  /** Split the interval that strictly contains `at` so that `at` becomes a boundary. */
  private split(at: number): void {
    const p = this.tree.getPairOrNextLower(at);
    if (p === undefined) {
      return;
    }
    const [s, node] = p;
    if (s < at && node.end > at) {
      this.tree.set(s, { end: at, value: node.value });
      this.tree.set(at, { end: node.end, value: node.value });
    }
  }

  private checkRange(start: number, end: number): void {
    // `!(a <= b)` also rejects NaN; fractional bounds are caught by the callers' own checks.
    if (!(start <= end)) {
      assert(false, `IntervalMap: bad range [${start}, ${end})`);
    }
  }

  /** Assign `value` to [start, end), replacing whatever was there. */
  set(start: number, end: number, value: V): void {
    this.checkRange(start, end);
    if (start === end) {
      return;
    }
    if (this.extend(start, end, value) || this.replaceExact(start, end, value)) {
      return;
    }
    this.split(start);
    this.split(end);
    this.tree.deleteRange(start, end, false);
    let s = start;
    let e = end;
    // Coalesce with the left neighbour.
    const left = this.tree.nextLowerPair(start);
    if (left !== undefined && left[1].end === start && this.eq(left[1].value, value)) {
      s = left[0];
      this.tree.delete(left[0]);
    }
    // Coalesce with the right neighbour.
    const right = this.tree.get(end);
    if (right !== undefined && this.eq(right.value, value)) {
      e = right.end;
      this.tree.delete(end);
    }
    this.tree.set(s, { end: e, value });
  }

  /**
   * Re-assign the stored interval [start, end) to `value`, for a caller that knows `value` equals
   * neither neighbour (a cache entry with a fresh sequence number): one node replaced, nothing to
   * coalesce. Returns false, changing nothing, when [start, end) is not exactly one interval.
   */
  replaceInterval(start: number, end: number, value: V): boolean {
    const node = this.tree.get(start);
    if (node === undefined || node.end !== end) {
      return false;
    }
    this.tree.set(start, { end, value });
    return true;
  }

  /**
   * Fast path for re-assigning exactly one existing interval [start, end) (a cache line stored
   * again): one node replaced, when neither neighbour would coalesce with the new value.
   */
  private replaceExact(start: number, end: number, value: V): boolean {
    const node = this.tree.get(start);
    if (node === undefined || node.end !== end) {
      return false;
    }
    const left = this.tree.nextLowerPair(start);
    if (left !== undefined && left[1].end === start && this.eq(left[1].value, value)) {
      return false;
    }
    const right = this.tree.get(end);
    if (right !== undefined && this.eq(right.value, value)) {
      return false;
    }
    this.tree.set(start, { end, value });
    return true;
  }

  /**
   * Fast path for sequential writes (PAMT initialization, bulk stores): [start, end) is
   * unmapped and the interval ending at `start` holds an equal value, so it just grows.
   */
  private extend(start: number, end: number, value: V): boolean {
    const left = this.tree.getPairOrNextLower(start);
    if (left === undefined || left[1].end !== start || !this.eq(left[1].value, value)) {
      return false;
    }
    const next = this.tree.getPairOrNextHigher(start);
    if (next !== undefined && next[0] < end) {
      return false;
    }
    let newEnd = end;
    if (next !== undefined && next[0] === end && this.eq(next[1].value, value)) {
      newEnd = next[1].end;
      this.tree.delete(end);
    }
    this.tree.set(left[0], { end: newEnd, value: left[1].value });
    return true;
  }

  /** Remove any mapping in [start, end). */
  delete(start: number, end: number): void {
    this.checkRange(start, end);
    if (start === end) {
      return;
    }
    const p = this.tree.getPairOrNextLower(start);
    if (p !== undefined && p[0] === start && p[1].end >= end) {
      // [start, end) is the head of one interval (a cache evicting a run of stores from its
      // start): that interval now starts at `end`.
      const head = p[1];
      this.tree.delete(start);
      if (head.end > end) {
        this.tree.set(end, { end: head.end, value: head.value });
      }
      return;
    }
    if (p !== undefined && p[0] < start && p[1].end > start) {
      // split(start) with the pair already found.
      this.tree.set(p[0], { end: start, value: p[1].value });
      this.tree.set(start, { end: p[1].end, value: p[1].value });
    }
    this.split(end);
    this.tree.deleteRange(start, end, false);
  }

  /** Remove everything. */
  clear(): void {
    this.tree.clear();
  }

  /**
   * The intervals overlapping [start, end), clipped to it, in ascending order.
   * With no arguments: every interval.
   */
  entries(start = -Infinity, end = Infinity): Interval<V>[] {
    const out: Interval<V>[] = [];
    let first = this.tree.getPairOrNextLower(start === -Infinity ? Number.MIN_SAFE_INTEGER : start);
    if (first === undefined || first[1].end <= start) {
      first = this.tree.getPairOrNextHigher(start === -Infinity ? Number.MIN_SAFE_INTEGER : start);
    }
    if (first === undefined) {
      return out;
    }
    for (const [s, node] of this.tree.entries(first[0])) {
      if (s >= end) {
        break;
      }
      if (node.end <= start) {
        continue;
      }
      out.push({ start: Math.max(s, start), end: Math.min(node.end, end), value: node.value });
    }
    return out;
  }

  /**
   * Replace each value in [start, end) by `fn(old)`; gaps are passed `undefined`. Returning
   * `undefined` unmaps. Runs in O(log n + k).
   */
  update(start: number, end: number, fn: (old: V | undefined, s: number, e: number) => V | undefined): void {
    this.checkRange(start, end);
    const pieces: { s: number; e: number; v: V | undefined }[] = [];
    let cursor = start;
    for (const iv of this.entries(start, end)) {
      if (iv.start > cursor) {
        pieces.push({ s: cursor, e: iv.start, v: fn(undefined, cursor, iv.start) });
      }
      pieces.push({ s: iv.start, e: iv.end, v: fn(iv.value, iv.start, iv.end) });
      cursor = iv.end;
    }
    if (cursor < end) {
      pieces.push({ s: cursor, e: end, v: fn(undefined, cursor, end) });
    }
    for (const p of pieces) {
      if (p.v === undefined) {
        this.delete(p.s, p.e);
      } else {
        this.set(p.s, p.e, p.v);
      }
    }
  }

  /** True if some point of [start, end) is mapped. O(log n), without listing the intervals. */
  intersects(start: number, end: number): boolean {
    if (start >= end) {
      return false;
    }
    const lo = this.tree.getPairOrNextLower(start);
    if (lo !== undefined && lo[1].end > start) {
      return true;
    }
    const hi = this.tree.getPairOrNextHigher(start);
    return hi !== undefined && hi[0] < end;
  }

  /** Total length of mapped space inside [start, end). */
  covered(start = -Infinity, end = Infinity): number {
    if (end - start === 1) {
      return this.get(start) === undefined ? 0 : 1;
    }
    let n = 0;
    for (const iv of this.entries(start, end)) {
      n += iv.end - iv.start;
    }
    return n;
  }

  /** True if every point of [start, end) is mapped (and, if given, satisfies `pred`). */
  covers(start: number, end: number, pred?: (v: V) => boolean): boolean {
    let cursor = start;
    for (const iv of this.entries(start, end)) {
      if (iv.start > cursor || (pred !== undefined && !pred(iv.value))) {
        return false;
      }
      cursor = iv.end;
    }
    return cursor >= end;
  }

  /** The lowest interval, or undefined when empty. */
  first(): Interval<V> | undefined {
    const k = this.tree.minKey();
    if (k === undefined) {
      return undefined;
    }
    const n = this.tree.get(k) as Node<V>;
    return { start: k, end: n.end, value: n.value };
  }

  /**
   * Snapshot hook (base/clone.ts): an O(1) copy-on-write clone of the tree. Nodes and values are
   * never mutated in place (every change stores a new node), so sharing them is safe.
   */
  [CLONE](): IntervalMap<V> {
    const m = Object.create(IntervalMap.prototype) as IntervalMap<V>;
    (m as unknown as { tree: Tree<V>; eq: (a: V, b: V) => boolean }).tree = this.tree.clone();
    (m as unknown as { eq: (a: V, b: V) => boolean }).eq = this.eq;
    return m;
  }

  /** A deep-enough copy (values are shared). */
  clone(): IntervalMap<V> {
    const m = new IntervalMap<V>(this.eq);
    for (const iv of this.entries()) {
      m.tree.set(iv.start, { end: iv.end, value: iv.value });
    }
    return m;
  }
}
