/**
 * The PAMT as the module sees it: per 4 KiB page, the page type, the leaf size and the owner.
 * Kept in an interval map over page frame numbers holding only pages whose entry differs from
 * what TDH.SYS.TDMR.INIT wrote (PT_RSVD in reserved areas, PT_NDA elsewhere), so a 12 TiB host
 * costs as much as the pages given to TDs. The PAMT *memory* (written with MOVDIR64B through
 * the global KeyID) is modelled by the platform; this is the module's decoded view of it.
 * @see TDX module ABI sections 2.4, 5.5, 7.4; intel/tdx-module pamt_manager.c
 */
import { IntervalMap } from '../base/IntervalMap.js';
import { TryLock } from './TryLock.js';
import type { TdmrRow } from './globalState.js';

/**
 * PAMT page types. PT_PAMT (15) marks a PAMT_2M entry that is a node over a pair of 4 KiB PAMT
 * pages (Dynamic PAMT).
 * @see intel/tdx-module 2.0.08 (1666adc4) src/common/memory_handlers/pamt_manager.h page_type_t
 */
export const PT = { NDA: 0, RSVD: 1, REG: 3, TDR: 4, TDCX: 5, TDVPR: 6, EPT: 8, PAMT: 15 } as const;
/** Names of page types, for machine.state. */
export const PT_NAME: Readonly<Record<number, string>> = { 0: 'PT_NDA', 1: 'PT_RSVD', 3: 'PT_REG', 4: 'PT_TDR', 5: 'PT_TDCX', 6: 'PT_TDVPR', 7: 'PT_TDVPX', 8: 'PT_EPT', 15: 'PT_PAMT' };
/** Page sizes (PAMT levels). */
export const PAGE_LEVEL = { PT_4KB: 0, PT_2MB: 1, PT_1GB: 2 } as const;

/** One decoded PAMT entry. */
export interface PamtEntry {
  readonly pt: number;
  /** 0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB. */
  readonly level: number;
  /** PA of the owning TDR (0 for a TDR and for free pages). */
  readonly owner: number;
}

const PAGE = 4096;
const SZ_2M = 0x20_0000;
const SZ_1G = 0x4000_0000;
const NDA: PamtEntry = { pt: PT.NDA, level: 0, owner: 0 };
const RSVD: PamtEntry = { pt: PT.RSVD, level: 0, owner: 0 };
const sameEntry = (a: PamtEntry, b: PamtEntry): boolean => a.pt === b.pt && a.level === b.level && a.owner === b.owner;

/** Pages per leaf of each level. */
export function pagesPerLevel(level: number): number {
  return level === 0 ? 1 : level === 1 ? 512 : 512 * 512;
}

/** The module's PAMT. */
export class Pamt {
  /** Explicit entries, by pfn. */
  readonly entries = new IntervalMap<PamtEntry>(sameEntry);
  /** PAMT entry locks currently held, by 4 × the pfn of the entry's first page + its level. */
  private readonly locks = new Map<number, TryLock>();

  /**
   * Dynamic PAMT (TDH.SYS.CONFIG R8 bit 16 on releases that have it): the 4 KiB PAMT entries of a
   * 2 MiB range exist only once TDH.PHYMEM.PAMT.ADD gave the range a page pair.
   * @see intel/tdx-module 2.0.08 (1666adc4) tdh_sys_config.c (dynamic_pamt_enabled)
   */
  dynamic = false;
  /** Dynamic PAMT: the 4 KiB PAMT page pair (hpa0, hpa1) of each 2 MiB range that has one, by 2 MiB index. */
  readonly pairs = new Map<number, readonly [number, number]>();
  /** Dynamic PAMT: pfns of the pages in use as 4 KiB PAMT pages (the module's PAMT_PAGE_BITMAP). */
  readonly pamtPages = new Set<number>();

  /** @param tdmrs the module's TDMR table (held, not copied: no closures in model state). */
  constructor(private readonly tdmrs: readonly TdmrRow[]) {}

  /** Index of the 2 MiB range holding `pa`. */
  static index2m(pa: number): number {
    return Math.floor(pa / SZ_2M);
  }

  /**
   * The level at which pamt_walk() stops for `pa` whose leaf entry has `leafLevel`: the leaf, or,
   * with Dynamic PAMT, the PAMT_2M entry of a range without a 4 KiB page pair (its entry is not a
   * PT_PAMT node, so there is nothing below it).
   * @see intel/tdx-module pamt_manager.c pamt_walk() of the Dynamic PAMT trees
   */
  walkStop(pa: number, leafLevel: number): number {
    if (this.dynamic && leafLevel === 0 && !this.pairs.has(Pamt.index2m(pa))) {
      return 1;
    }
    return leafLevel;
  }

  /** Number of 4 KiB entries in the 2 MiB range at `pa2m` that are not PT_NDA (explicit entries). */
  used4kIn2m(pa2m: number): { first: number; second: number } {
    const p0 = Math.floor(pa2m / PAGE);
    let first = 0;
    let second = 0;
    for (const iv of this.entries.entries(p0, p0 + 512)) {
      if (iv.value.level !== 0) {
        continue;
      }
      const s = Math.max(iv.start, p0);
      const e = Math.min(iv.end, p0 + 512);
      first += Math.max(0, Math.min(e, p0 + 256) - s);
      second += Math.max(0, e - Math.max(s, p0 + 256));
    }
    return { first, second };
  }

  /** The TDMR covering `pa` whose 1 GiB block holding `pa` is initialized, if any. */
  block(pa: number): TdmrRow | undefined {
    for (const t of this.tdmrs) {
      if (pa >= t.base && pa < t.base + t.size) {
        const ready = t.nextInit - (t.nextInit % SZ_1G);
        return pa < ready ? t : undefined;
      }
    }
    return undefined;
  }

  /** The PAMT entry of the page holding `pa` (which must be in an initialized block). */
  get(pa: number, tdmr: TdmrRow): PamtEntry {
    const e = this.entries.get(Math.floor(pa / PAGE));
    if (e !== undefined) {
      return e;
    }
    const off = pa - tdmr.base;
    for (const r of tdmr.rsvd) {
      if (off >= r.offset && off < r.offset + r.size) {
        return RSVD;
      }
    }
    return NDA;
  }

  /** Set the entry of the leaf starting at `pa`. */
  set(pa: number, entry: PamtEntry): void {
    const p = Math.floor(pa / PAGE);
    this.entries.set(p, p + pagesPerLevel(entry.level), entry);
  }

  /**
   * pamt_demote(): the leaf of `level` (1 or 2) at `pa` becomes 512 leaves one level down with its
   * page type and owner (one interval: the model keeps one entry per run).
   */
  demote(pa: number, level: number, entry: PamtEntry): void {
    const p = Math.floor(pa / PAGE);
    this.entries.set(p, p + pagesPerLevel(level), { pt: entry.pt, level: level - 1, owner: entry.owner });
  }

  /** Return the leaf starting at `pa` to PT_NDA (the default written by TDMR.INIT). */
  free(pa: number, level: number): void {
    const p = Math.floor(pa / PAGE);
    this.entries.delete(p, p + pagesPerLevel(level));
  }

  /** True if every 4 KiB entry in [pa, pa+len) is PT_NDA. */
  rangeFree(pa: number, len: number, tdmr: TdmrRow): boolean {
    const p0 = Math.floor(pa / PAGE);
    const p1 = p0 + Math.ceil(len / PAGE);
    if (this.dynamic) {
      // pamt_is_2mb_range_free() with Dynamic PAMT reads only the PAMT_PAGE_BITMAP: no page of
      // the range may be in use as a 4 KiB PAMT page.
      // Whichever is smaller: the pages of the range, or the PAMT pages.
      if (this.pamtPages.size > p1 - p0) {
        for (let p = p0; p < p1; p++) {
          if (this.pamtPages.has(p)) {
            return false;
          }
        }
        return true;
      }
      for (const p of this.pamtPages) {
        if (p >= p0 && p < p1) {
          return false;
        }
      }
      return true;
    }
    if (this.entries.entries(p0, p1).length > 0) {
      return false;
    }
    for (const r of tdmr.rsvd) {
      const s = tdmr.base + r.offset;
      if (s < pa + len && s + r.size > pa) {
        return false;
      }
    }
    return true;
  }

  /**
   * The lock of the PAMT entry of `level` (PT_4KB, PT_2MB, PT_1GB) covering `pa`: the 4K, 2M and 1G
   * entries of one address are distinct locks.
   */
  lock(pa: number, level = 0): TryLock {
    const p = Math.floor(pa / (PAGE * pagesPerLevel(level))) * pagesPerLevel(level) * 4 + level;
    let l = this.locks.get(p);
    if (l === undefined) {
      l = new TryLock();
      this.locks.set(p, l);
    }
    return l;
  }

  /** Free PAMT entry locks kept between SEAMCALLs before pruneLocks() drops them. */
  private static readonly LOCKS_KEPT = 64;

  /**
   * Forget locks nobody holds (called at the end of every SEAMCALL), once more than
   * LOCKS_KEPT are known. A free lock behaves exactly as an absent one (lock() would make a free
   * one), so keeping the last few spares the Map an insert and a delete per lock per SEAMCALL —
   * a fifth of the module's own time on a 64 GiB teardown (98,304 calls) — while the TDR's and
   * other hot entries' locks are reused; the map stays bounded.
   */
  pruneLocks(): void {
    if (this.locks.size <= Pamt.LOCKS_KEPT) {
      return;
    }
    this.locks.forEach((l, p) => {
      if (l.free) {
        this.locks.delete(p);
      }
    });
  }

  /** Number of PAMT entry locks known (held or kept for reuse); for tests of the bound. */
  get lockCount(): number {
    return this.locks.size;
  }

  /** Explicit (TD-owned) entries, for machine.state. */
  ownedPages(): { pa: number; pages: number; pt: string; level: number; owner: number }[] {
    return this.entries.entries().map((iv) => ({ pa: iv.start * PAGE, pages: iv.end - iv.start, pt: PT_NAME[iv.value.pt] ?? String(iv.value.pt), level: iv.value.level, owner: iv.value.owner }));
  }

  /** Copy another PAMT's entries (runtime update handoff). */
  adopt(from: Pamt): void {
    for (const iv of from.entries.entries()) {
      this.entries.set(iv.start, iv.end, iv.value);
    }
    this.dynamic = from.dynamic;
    for (const [k, v] of from.pairs) {
      this.pairs.set(k, v);
    }
    for (const p of from.pamtPages) {
      this.pamtPages.add(p);
    }
  }

  /** Drop everything (module load). */
  clear(): void {
    this.entries.clear();
    this.locks.clear();
    this.pairs.clear();
    this.pamtPages.clear();
    this.dynamic = false;
  }
}
