/**
 * The decoded Secure EPT of one TD: per level, an interval map over the GPA's index at that
 * level (gpa / 4 KiB, / 2 MiB, / 1 GiB, ...). An entry stores its page's PA relative to the GPA
 * it maps (`pa − index × span`), so a run of mappings whose host pages are contiguous — a TD's
 * memory AUGed from one allocation — is a single interval, whatever its size. The module's view
 * of a TD then costs as much as the number of contiguous ranges, not the number of pages.
 * @see TDX module ABI section 2.4 (Secure EPT); docs/architecture.md section 4 (scale rule)
 */
import { IntervalMap } from '../base/IntervalMap.js';

/** A Secure EPT entry (leaf or non-leaf). */
export interface SeptEntry {
  readonly state: number;
  /** Page (or child SEPT page) PA. */
  readonly pa: number;
  readonly leaf: boolean;
}

/** What the interval map holds: the entry with its PA made relative to the mapped GPA. */
interface SeptSlot {
  readonly state: number;
  readonly leaf: boolean;
  /** pa − index × span: equal across a run of contiguous mappings. */
  readonly delta: number;
}

const sameSlot = (a: SeptSlot, b: SeptSlot): boolean => a.state === b.state && a.leaf === b.leaf && a.delta === b.delta;

/** 2^(12 + 9 level) for the levels an EPT has (0 to 4), computed once. */
const SPANS: readonly number[] = [0, 1, 2, 3, 4].map((l) => 2 ** (12 + 9 * l));

/** Bytes mapped by one entry at `level` (0 = 4 KiB). */
export function septSpan(level: number): number {
  return SPANS[level] ?? 2 ** (12 + 9 * level);
}

/** Secure EPT entries of a TD, by level; absent entries are FREE. */
export class SecureEpt {
  private readonly levels: IntervalMap<SeptSlot>[] = [];

  /** The entry at `level` covering `gpa`, if any. */
  get(level: number, gpa: number): SeptEntry | undefined {
    const m = this.levels[level];
    if (m === undefined) {
      return undefined;
    }
    const span = septSpan(level);
    const index = Math.floor(gpa / span);
    const s = m.get(index);
    return s === undefined ? undefined : { state: s.state, pa: index * span + s.delta, leaf: s.leaf };
  }

  /** Set the entry at `level` covering `gpa`. */
  set(level: number, gpa: number, e: SeptEntry): void {
    let m = this.levels[level];
    if (m === undefined) {
      m = new IntervalMap<SeptSlot>(sameSlot);
      this.levels[level] = m;
    }
    const span = septSpan(level);
    const index = Math.floor(gpa / span);
    m.set(index, index + 1, { state: e.state, leaf: e.leaf, delta: e.pa - index * span });
  }

  /** Set the leaf entries at `level` over [gpa, gpa+size) to `state`, mapping contiguous pages from `pa`. */
  setRun(level: number, gpa: number, size: number, pa: number, state: number): void {
    let m = this.levels[level];
    if (m === undefined) {
      m = new IntervalMap<SeptSlot>(sameSlot);
      this.levels[level] = m;
    }
    const span = septSpan(level);
    const i0 = Math.floor(gpa / span);
    m.set(i0, i0 + Math.ceil(size / span), { state, leaf: true, delta: pa - i0 * span });
  }

  /** Make the entry at `level` covering `gpa` FREE. */
  clear(level: number, gpa: number): void {
    const m = this.levels[level];
    if (m !== undefined) {
      const index = Math.floor(gpa / septSpan(level));
      m.delete(index, index + 1);
    }
  }

  /** Make every entry at `level` in [gpa, gpa+size) FREE (the entries of a SEPT page PROMOTE frees). */
  clearRun(level: number, gpa: number, size: number): void {
    const m = this.levels[level];
    if (m !== undefined) {
      const span = septSpan(level);
      const i0 = Math.floor(gpa / span);
      m.delete(i0, i0 + Math.ceil(size / span));
    }
  }

  /** Number of non-FREE entries at `level` whose GPA lies in [gpa0, gpa1). */
  countIn(level: number, gpa0: number, gpa1: number): number {
    const m = this.levels[level];
    if (m === undefined) {
      return 0;
    }
    const span = septSpan(level);
    return m.covered(Math.floor(gpa0 / span), Math.ceil(gpa1 / span));
  }

  /**
   * The leaf entries at `level` in [gpa0, gpa1) as runs: GPA, PA and size of each stretch of
   * entries with the same state whose pages are contiguous (the interval map's own ranges).
   */
  leafRuns(level: number, gpa0: number, gpa1: number): { gpa: number; pa: number; size: number; state: number }[] {
    const m = this.levels[level];
    if (m === undefined) {
      return [];
    }
    const span = septSpan(level);
    const i0 = Math.floor(gpa0 / span);
    const i1 = Math.ceil(gpa1 / span);
    const out: { gpa: number; pa: number; size: number; state: number }[] = [];
    for (const iv of m.entries(i0, i1)) {
      if (!iv.value.leaf) {
        continue;
      }
      const s = Math.max(iv.start, i0);
      const e = Math.min(iv.end, i1);
      out.push({ gpa: s * span, pa: s * span + iv.value.delta, size: (e - s) * span, state: iv.value.state });
    }
    return out;
  }

  /**
   * Every entry (leaf or non-leaf) at `level` in [gpa0, gpa1) as runs: GPA, PA of the first
   * entry, size, state and leaf bit of each stretch the interval map holds as one range.
   */
  runs(level: number, gpa0: number, gpa1: number): { gpa: number; pa: number; size: number; state: number; leaf: boolean }[] {
    const m = this.levels[level];
    if (m === undefined) {
      return [];
    }
    const span = septSpan(level);
    const i0 = Math.floor(gpa0 / span);
    const i1 = Math.ceil(gpa1 / span);
    const out: { gpa: number; pa: number; size: number; state: number; leaf: boolean }[] = [];
    for (const iv of m.entries(i0, i1)) {
      const s = Math.max(iv.start, i0);
      const e = Math.min(iv.end, i1);
      out.push({ gpa: s * span, pa: s * span + iv.value.delta, size: (e - s) * span, state: iv.value.state, leaf: iv.value.leaf });
    }
    return out;
  }

  /** Number of entries (not intervals). */
  get size(): number {
    let n = 0;
    for (const m of this.levels) {
      if (m !== undefined) {
        n += m.covered();
      }
    }
    return n;
  }

  /** Number of stored intervals (what the model actually holds). */
  get intervals(): number {
    let n = 0;
    for (const m of this.levels) {
      if (m !== undefined) {
        n += m.size;
      }
    }
    return n;
  }
}
