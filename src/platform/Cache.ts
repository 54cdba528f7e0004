/**
 * One logical CPU's cache: lines tagged with their KeyID, a dirty bit and the content version
 * they would write back. Aliases of one physical line under different KeyIDs are separate
 * entries and are not kept coherent with each other (as on hardware). Entries are stored as
 * ranges of line indices per KeyID, so a bulk store of millions of lines is one entry.
 * Capacity is bounded; eviction is LRU by insertion.
 * @see docs/architecture.md section 4
 */
import { IntervalMap } from '../base/IntervalMap.js';

/** A cached range's payload. */
export interface CacheSeg {
  readonly ver: number;
  readonly dirty: boolean;
  readonly writer: string;
  /** Fill byte, or -1 when per-line bytes are kept in `data`. */
  readonly fill: number;
  /** LRU sequence number of the insertion that produced this range. */
  readonly seq: number;
}

function sameSeg(a: CacheSeg, b: CacheSeg): boolean {
  return a.ver === b.ver && a.dirty === b.dirty && a.writer === b.writer && a.fill === b.fill && a.seq === b.seq;
}

/** A range removed from the cache (for write-back). */
export interface CacheRange {
  readonly key: number;
  readonly start: number;
  readonly end: number;
  readonly seg: CacheSeg;
  /** Explicit bytes of lines in the range, when seg.fill === -1. */
  readonly data?: Map<number, Uint8Array>;
}

/** A per-CPU cache. */
export class Cache {
  private readonly byKey = new Map<number, IntervalMap<CacheSeg>>();
  private readonly data = new Map<number, Map<number, Uint8Array>>();
  private readonly lru = new Map<number, { key: number; start: number; end: number }>();
  private seqNext = 1;
  private count = 0;

  /** @param capacityLines lines this cache can hold */
  constructor(readonly capacityLines: number) {}

  /** Lines currently cached. */
  get lineCount(): number {
    return this.count;
  }

  /** True when nothing is cached. */
  get empty(): boolean {
    return this.count === 0;
  }

  /** The cached entry for (key, line), if any. */
  lookup(key: number, line: number): { seg: CacheSeg; bytes?: Uint8Array } | undefined {
    const m = this.byKey.get(key);
    const seg = m?.get(line);
    if (seg === undefined) {
      return undefined;
    }
    const bytes = seg.fill < 0 ? this.data.get(key)?.get(line) : undefined;
    return bytes === undefined ? { seg } : { seg, bytes };
  }

  /** True if a line of [start, end) is cached under `key`. */
  holds(key: number, start: number, end: number): boolean {
    const m = this.byKey.get(key);
    return m !== undefined && m.entries(start, end).length > 0;
  }

  /** KeyIDs that have at least one cached line. */
  keys(): number[] {
    return [...this.byKey.keys()];
  }

  /**
   * Insert (replace) [start, end) under `key`. Returns nothing; the caller evicts if over
   * capacity with `evictOverflow`.
   */
  insert(key: number, start: number, end: number, ver: number, dirty: boolean, writer: string, fill: number, bytes?: Map<number, Uint8Array>): void {
    let m = this.byKey.get(key);
    if (m === undefined) {
      m = new IntervalMap<CacheSeg>(sameSeg);
      this.byKey.set(key, m);
    }
    const before = m.covered(start, end);
    if (fill >= 0 && this.extendLast(m, key, start, end, ver, dirty, writer, fill, before)) {
      return;
    }
    if (end - start === 1) {
      // Re-storing a line that is cached on its own: its old LRU entry is superseded, drop it
      // now (otherwise one stale entry per store piles up until the next eviction).
      const old = m.get(start);
      const span = old === undefined ? undefined : this.lru.get(old.seq);
      if (old !== undefined && span !== undefined && span.key === key && span.start === start && span.end === end) {
        this.lru.delete(old.seq);
      }
    }
    const seq = this.seqNext++;
    m.set(start, end, { ver, dirty, writer, fill, seq });
    this.count += end - start - before;
    this.lru.set(seq, { key, start, end });
    if (fill < 0 && bytes !== undefined) {
      let d = this.data.get(key);
      if (d === undefined) {
        d = new Map();
        this.data.set(key, d);
      }
      for (const [line, b] of bytes) {
        d.set(line, b);
      }
    }
  }

  /**
   * Fast path of `insert` for a fill-pattern store that continues the most recent insertion with
   * the same version, dirtiness, writer and fill (module stores sharing the direct writes'
   * version, Platform.sharedVersion): a store right after that insertion's range joins it (one
   * range, one LRU entry; eviction takes a range from its start, which is the order the lines
   * came in), and a one-line store to a line of it that already holds exactly this changes
   * nothing. So a run of such stores is one range, whatever its length.
   * @returns false when the store is not such a continuation (the caller inserts as usual)
   */
  private extendLast(m: IntervalMap<CacheSeg>, key: number, start: number, end: number, ver: number, dirty: boolean, writer: string, fill: number, before: number): boolean {
    const lastSeq = this.seqNext - 1;
    const last = this.lru.get(lastSeq);
    if (last === undefined || last.key !== key || start < last.start || start > last.end) {
      return false;
    }
    const same = (seg: CacheSeg | undefined): seg is CacheSeg => seg !== undefined && seg.seq === lastSeq && seg.ver === ver && seg.dirty === dirty && seg.writer === writer && seg.fill === fill;
    if (start === last.end) {
      const prev = m.get(start - 1);
      if (!same(prev)) {
        return false;
      }
      m.set(start, end, prev);
      this.count += end - start - before;
      last.end = end;
      return true;
    }
    return end === start + 1 && this.holdsLast(key, start, ver, writer, fill);
  }

  /**
   * True when `line` under `key` belongs to the most recent insertion and holds a dirty copy with
   * exactly this version, writer and fill (storing it again changes nothing).
   */
  holdsLast(key: number, line: number, ver: number, writer: string, fill: number): boolean {
    const seg = this.byKey.get(key)?.get(line);
    return seg !== undefined && seg.seq === this.seqNext - 1 && seg.ver === ver && seg.dirty && seg.writer === writer && seg.fill === fill;
  }

  /**
   * Store one line again when this cache already holds it on its own (its LRU entry covers just
   * that line): the new dirty bytes replace it and it becomes the most recent. No other cache
   * can hold the same (KeyID, line), since every insertion drops the others' copies, and the
   * line count does not change, so the caller needs neither invalidation nor eviction.
   * @returns false (nothing done) when the line is not cached on its own here
   */
  restoreAlone(key: number, line: number, ver: number, writer: string, bytes: Uint8Array): boolean {
    const m = this.byKey.get(key);
    const old = m?.get(line);
    const span = old === undefined ? undefined : this.lru.get(old.seq);
    if (m === undefined || old === undefined || span === undefined || span.key !== key || span.start !== line || span.end !== line + 1) {
      return false;
    }
    // The line is its insertion's only line, so it is one interval of its own (sequence numbers
    // are unique: neighbours never coalesce with it), and the new sequence number keeps it so.
    const seq = this.seqNext;
    if (!m.replaceInterval(line, line + 1, { ver, dirty: true, writer, fill: -1, seq })) {
      return false;
    }
    this.seqNext++;
    this.lru.delete(old.seq);
    this.lru.set(seq, span);
    let d = this.data.get(key);
    if (d === undefined) {
      d = new Map();
      this.data.set(key, d);
    }
    d.set(line, bytes);
    return true;
  }

  /** Remove [start, end) under `key`; returns the removed ranges (dirty or not). */
  remove(key: number, start: number, end: number): CacheRange[] {
    const m = this.byKey.get(key);
    if (m === undefined || !m.intersects(start, end)) {
      return [];
    }
    const out: CacheRange[] = [];
    for (const iv of m.entries(start, end)) {
      out.push(this.withData(key, iv.start, iv.end, iv.value, true));
      this.count -= iv.end - iv.start;
    }
    if (out.length > 0) {
      m.delete(start, end);
      if (m.size === 0) {
        this.byKey.delete(key);
        this.data.delete(key);
      }
    }
    return out;
  }

  private withData(key: number, start: number, end: number, seg: CacheSeg, take: boolean): CacheRange {
    if (seg.fill >= 0) {
      return { key, start, end, seg };
    }
    const d = this.data.get(key);
    const data = new Map<number, Uint8Array>();
    if (d !== undefined) {
      if (end - start <= d.size) {
        for (let l = start; l < end; l++) {
          const b = d.get(l);
          if (b !== undefined) {
            data.set(l, b);
            if (take) {
              d.delete(l);
            }
          }
        }
      } else {
        for (const [l, b] of d) {
          if (l >= start && l < end) {
            data.set(l, b);
            if (take) {
              d.delete(l);
            }
          }
        }
      }
    }
    return { key, start, end, seg, data };
  }

  /** Remove everything (WBINVD); returns all ranges. */
  removeAll(): CacheRange[] {
    const out: CacheRange[] = [];
    for (const [key, m] of this.byKey) {
      for (const iv of m.entries()) {
        out.push(this.withData(key, iv.start, iv.end, iv.value, false));
      }
    }
    this.byKey.clear();
    this.data.clear();
    this.lru.clear();
    this.count = 0;
    return out;
  }

  /** Dirty ranges, which are then marked clean (WBNOINVD). */
  cleanAll(): CacheRange[] {
    const out: CacheRange[] = [];
    for (const [key, m] of this.byKey) {
      for (const iv of m.entries()) {
        if (iv.value.dirty) {
          out.push(this.withData(key, iv.start, iv.end, iv.value, false));
          m.set(iv.start, iv.end, { ...iv.value, dirty: false });
        }
      }
    }
    return out;
  }

  /** Every cached range, clean and dirty, by KeyID then address, without changing anything (inspect). */
  ranges(): CacheRange[] {
    const out: CacheRange[] = [];
    for (const key of [...this.byKey.keys()].sort((a, b) => a - b)) {
      for (const iv of this.byKey.get(key)?.entries() ?? []) {
        out.push({ key, start: iv.start, end: iv.end, seg: iv.value });
      }
    }
    return out;
  }

  /** Dirty ranges without changing anything. */
  dirtyRanges(): CacheRange[] {
    const out: CacheRange[] = [];
    for (const [key, m] of this.byKey) {
      for (const iv of m.entries()) {
        if (iv.value.dirty) {
          out.push({ key, start: iv.start, end: iv.end, seg: iv.value });
        }
      }
    }
    return out;
  }

  /** Number of dirty lines, per KeyID. */
  dirtyByKey(): Map<number, number> {
    const out = new Map<number, number>();
    for (const [key, m] of this.byKey) {
      let n = 0;
      for (const iv of m.entries()) {
        if (iv.value.dirty) {
          n += iv.end - iv.start;
        }
      }
      if (n > 0) {
        out.set(key, n);
      }
    }
    return out;
  }

  /**
   * Evict least-recently-inserted lines until at most `capacityLines - reserve` remain.
   * @returns the evicted ranges (the caller writes back the dirty ones).
   */
  evictOverflow(reserve = 0): CacheRange[] {
    const out: CacheRange[] = [];
    const target = Math.max(0, this.capacityLines - reserve);
    while (this.count > target) {
      const oldest = this.lru.entries().next();
      if (oldest.done === true) {
        break;
      }
      const [seq, span] = oldest.value;
      const m = this.byKey.get(span.key);
      let need = this.count - target;
      const head = m?.getInterval(span.start);
      if (m !== undefined && head !== undefined && head.start === span.start && head.value.seq === seq && (need < head.end - head.start || head.end >= span.end)) {
        // The common case (a run of stores leaving from its start): the lines go from the
        // range the insertion starts with.
        const take = Math.min(need, head.end - head.start);
        out.push(this.withData(span.key, head.start, head.start + take, head.value, true));
        m.delete(head.start, head.start + take);
        this.count -= take;
        if (m.size === 0) {
          this.byKey.delete(span.key);
          this.data.delete(span.key);
        }
        if (take === head.end - head.start) {
          this.lru.delete(seq);
        } else {
          span.start = head.start + take;
        }
        continue;
      }
      // Where the first line of this insertion still cached after the eviction starts (-1: none).
      let restStart = -1;
      if (m !== undefined) {
        for (const iv of m.entries(span.start, span.end)) {
          if (iv.value.seq !== seq) {
            continue;
          }
          if (need <= 0) {
            restStart = restStart < 0 ? iv.start : restStart;
            continue;
          }
          const take = Math.min(need, iv.end - iv.start);
          out.push(...this.remove(span.key, iv.start, iv.start + take));
          need -= take;
          if (take < iv.end - iv.start) {
            restStart = iv.start + take;
          }
        }
      }
      if (restStart < 0) {
        this.lru.delete(seq);
      } else {
        // Partly evicted: the span now starts at the first line left.
        span.start = restStart;
      }
    }
    return out;
  }
}
