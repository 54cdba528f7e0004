/**
 * Address operand checks shared by the leaves: the shared-HPA check (host memory the module
 * reads or writes: TDMR_INFO, TDSYSINFO, TD_PARAMS, source pages) and the private-HPA check with
 * PAMT lookup and entry lock (pages that become TD-owned).
 * @see TDX module ABI section 0 (conventions); intel/tdx-module helpers.c shared_hpa_check(),
 *   check_and_lock_explicit_private_hpa()
 */
import type { U64 } from '../base/u64.js';
import type { TdmrRow } from './globalState.js';
import type { LeafCtx } from './leafCtx.js';
import type { LockMode } from './TryLock.js';
import type { PamtEntry } from './pamt.js';
import { Pamt, PAGE_LEVEL, pagesPerLevel, PT } from './pamt.js';
import { TDX_MISSING_PAMT_PAGE_PAIR, TDX_OPERAND_ADDR_RANGE_ERROR, TDX_OPERAND_BUSY, TDX_OPERAND_INVALID, TDX_PAGE_METADATA_INCORRECT, TDX_SUCCESS, withOperand } from './status.js';
import type { TdState } from './tdState.js';
import type { ModuleState } from './globalState.js';

/** 2^52: addresses at or above it are invalid (MAX_PA = 52). */
export const MAX_PA = 1n << 52n;

/** A host address split into its physical address and HKID field. */
export interface SplitHpa {
  readonly pa: number;
  readonly hkid: number;
}

/**
 * Split `v` into PA and HKID bits (bits 51 down to the shift SYS.INIT latched; bits from 52 up
 * ignored). Below 2^52, every address a well-formed call passes, the split is exact in doubles
 * (a division by a power of two), which spares the bigint temporaries on the hot path.
 */
export function splitHpa(m: ModuleState, v: bigint): SplitHpa {
  if (v < MAX_PA) {
    const n = Number(v);
    const unit = 2 ** m.hkidShift;
    return { pa: n % unit, hkid: Math.floor(n / unit) };
  }
  const shift = BigInt(m.hkidShift);
  return { pa: Number(v & ((1n << shift) - 1n)), hkid: Number((v & (MAX_PA - 1n)) >> shift) };
}

/**
 * The shared-HPA check: `align`-aligned, below 2^52, [pa, pa+size) outside SEAMRR, HKID below
 * the first private HKID. @returns the split address, or undefined (TDX_OPERAND_INVALID).
 */
export function sharedHpa(m: ModuleState, v: bigint, align: number, size: number): SplitHpa | undefined {
  if (v % BigInt(align) !== 0n || v >= MAX_PA) {
    return undefined;
  }
  const s = splitHpa(m, v);
  if (s.pa < m.seamrrBase + m.seamrrSize && s.pa + size > m.seamrrBase) {
    return undefined;
  }
  if (s.hkid >= m.privateHkidMin) {
    return undefined;
  }
  return s;
}

/** Result of a private-HPA check. */
export interface PrivatePage {
  status: U64;
  pa: number;
  tdmr: TdmrRow | undefined;
  entry: PamtEntry | undefined;
}

/**
 * The private-HPA check: `level`-aligned, HKID bits zero, below 2^52; then the PAMT lookup
 * (ADDR_RANGE_ERROR outside initialized TDMR blocks), the entry lock (OPERAND_BUSY), and the
 * expected leaf size and page type (PAGE_METADATA_INCORRECT). Errors carry `operand`.
 */
export function privatePage(ctx: LeafCtx, v: bigint, operand: number, expectedPt: number, level: number, mode: LockMode): PrivatePage {
  const m = ctx.m;
  const out: PrivatePage = { status: TDX_SUCCESS, pa: 0, tdmr: undefined, entry: undefined };
  const align = BigInt(4096 * pagesPerLevel(level));
  if (v % align !== 0n || v >= MAX_PA || splitHpa(m, v).hkid !== 0) {
    out.status = withOperand(TDX_OPERAND_INVALID, operand);
    return out;
  }
  const pa = Number(v);
  out.pa = pa;
  const tdmr = m.pamt.block(pa);
  if (tdmr === undefined) {
    out.status = withOperand(TDX_OPERAND_ADDR_RANGE_ERROR, operand);
    return out;
  }
  out.tdmr = tdmr;
  const entry = m.pamt.get(pa, tdmr);
  const stop = m.pamt.walkStop(pa, entry.level);
  if (!pamtWalk(ctx, pa, stop, level, mode)) {
    out.status = withOperand(TDX_OPERAND_BUSY, operand);
    return out;
  }
  out.entry = entry;
  if (m.pamt.dynamic) {
    out.status = dynamicPamtMetadata(m, pa, entry, stop, level, expectedPt, operand);
    return out;
  }
  // A free (PT_NDA) range is walked at 4 KiB granularity; for a 2 MiB target the caller checks
  // that all 512 entries are free (pamt_is_2mb_range_free()).
  if ((expectedPt !== PT.NDA && entry.level !== level) || entry.pt !== expectedPt) {
    out.status = withOperand(TDX_PAGE_METADATA_INCORRECT, operand);
  }
  return out;
}

/**
 * non_shared_hpa_metadata_check_and_lock() with Dynamic PAMT, after the walk: a walk that stopped
 * above the target level fails TDX_PAGE_METADATA_INCORRECT, or TDX_MISSING_PAMT_PAGE_PAIR when it
 * stopped at a PT_NDA PAMT_2M entry (no 4 KiB page pair) and a free page was expected; then the page
 * type (a 2 MiB target whose range has a pair meets the PT_PAMT node); then a free page that is in
 * use as a 4 KiB PAMT page (PAMT_PAGE_BITMAP) is PAGE_METADATA_INCORRECT.
 * @see intel/tdx-module 2.0.08 (1666adc4) src/common/helpers/helpers.c non_shared_hpa_metadata_check_and_lock()
 */
function dynamicPamtMetadata(m: ModuleState, pa: number, entry: PamtEntry, stop: number, level: number, expectedPt: number, operand: number): U64 {
  const reached = Math.max(stop, level);
  if (reached !== level) {
    const missing = reached === PAGE_LEVEL.PT_2MB && entry.level === PAGE_LEVEL.PT_4KB && entry.pt === PT.NDA && expectedPt === PT.NDA;
    return withOperand(missing ? TDX_MISSING_PAMT_PAGE_PAIR : TDX_PAGE_METADATA_INCORRECT, operand);
  }
  const pair = level === PAGE_LEVEL.PT_2MB && entry.level === PAGE_LEVEL.PT_4KB && m.pamt.pairs.has(Pamt.index2m(pa));
  const pt = pair ? PT.PAMT : entry.level === level ? entry.pt : PT.NDA;
  if (pt !== expectedPt || (expectedPt !== PT.NDA && entry.level !== level)) {
    return withOperand(TDX_PAGE_METADATA_INCORRECT, operand);
  }
  if (pt === PT.NDA && m.pamt.pamtPages.has(Math.floor(pa / 4096))) {
    return withOperand(TDX_PAGE_METADATA_INCORRECT, operand);
  }
  return TDX_SUCCESS;
}

/**
 * pamt_walk(): lock the PAMT_1G entry of `pa` shared; stop there if it is the leaf (or the target
 * level), promoting to exclusive for an exclusive walk; else lock the PAMT_2M entry shared, and the
 * same; else lock the PAMT_4K entry in `mode`. So a walk to a 4K page holds its 2M parent shared,
 * and an exclusive 2M walk (PAGE.AUG of a 2 MiB page) fails while any 4K walk in that range is in
 * flight, and the other way round. False (OPERAND_BUSY) on any conflict; locks taken are released
 * with the leaf's others. `leafLevel` is the level of the PAMT leaf holding `pa`.
 * @see intel/tdx-module 1.5.01 src/common/memory_handlers/pamt_manager.c pamt_walk()
 */
export function pamtWalk(ctx: LeafCtx, pa: number, leafLevel: number, targetLevel: number, mode: LockMode): boolean {
  const stop = Math.max(leafLevel, targetLevel);
  for (let level: number = PAGE_LEVEL.PT_1GB; level >= PAGE_LEVEL.PT_4KB; level--) {
    const lock = ctx.m.pamt.lock(pa, level);
    if (level === PAGE_LEVEL.PT_4KB) {
      return ctx.hold(lock, mode);
    }
    if (!ctx.hold(lock, 'shared')) {
      return false;
    }
    if (level === stop) {
      return mode === 'shared' || ctx.promote(lock);
    }
  }
  return true;
}

/** Result of locating a TD through its TDR operand. */
export interface TdrRef {
  status: U64;
  td: TdState | undefined;
}

/** Check and lock a TDR operand (PT_TDR at 4 KiB) and find its TD. */
export function tdrOperand(ctx: LeafCtx, v: bigint, operand: number, mode: LockMode): TdrRef {
  const p = privatePage(ctx, v, operand, 4, 0, mode);
  if (p.status !== TDX_SUCCESS) {
    return { status: p.status, td: undefined };
  }
  const td = ctx.m.tds.get(p.pa);
  return td === undefined ? { status: withOperand(TDX_PAGE_METADATA_INCORRECT, operand), td: undefined } : { status: TDX_SUCCESS, td };
}

/** True if [s, e) lies in one CMR or a chain of exactly adjacent CMRs. @see spec 6.0 */
export function insideCmrs(cmrs: readonly { base: number; size: number }[], s: bigint, e: bigint): boolean {
  if (e <= s) {
    return true;
  }
  let cursor = s;
  for (const c of cmrs) {
    if (c.size === 0) {
      continue;
    }
    const cb = BigInt(c.base);
    const ce = cb + BigInt(c.size);
    if (cursor >= cb && cursor < ce) {
      cursor = ce;
      if (cursor >= e) {
        return true;
      }
    }
  }
  return false;
}
