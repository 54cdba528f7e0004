/**
 * Dynamic PAMT operands shared by TDH.PHYMEM.PAMT.ADD and TDH.MEM.PAGE.DEMOTE: a page handed to
 * the module to hold 4 KiB PAMT entries (HKID bits zero, 4 KiB aligned, below MAX_PA, inside an
 * initialized TDMR block, free, and not already a PAMT page), and the PAMT_PAGE_BITMAP update.
 * @see intel/tdx-module 2.0.08 (1666adc4) src/vmm_dispatcher/api_calls/tdh_phymem_pamt_add.c;
 *   pamt_manager.c pamt_demote() of the Dynamic PAMT trees
 */
import type { U64 } from '../base/u64.js';
import { MAX_PA, pamtWalk, splitHpa } from './hpaChecks.js';
import type { LeafCtx } from './leafCtx.js';
import { PT } from './pamt.js';
import { TDX_OPERAND_BUSY, TDX_PAGE_NOT_FREE, TDX_SUCCESS } from './status.js';

/** The address checks of a PAMT page operand (OPERAND_INVALID when false). */
export function pamtPageFormatOk(ctx: LeafCtx, v: bigint): boolean {
  return v % 4096n === 0n && v < MAX_PA && splitHpa(ctx.m, v).hkid === 0;
}

/**
 * The shared 4 KiB walk of a PAMT page operand and its page type: TDX_OPERAND_BUSY on a lock
 * conflict, TDX_PAGE_NOT_FREE unless the entry the walk reaches is PT_NDA (the operand id is
 * the caller's). The page must lie in an initialized block (checked before).
 */
export function pamtPageFree(ctx: LeafCtx, pa: number): U64 {
  const pamt = ctx.m.pamt;
  const tdmr = pamt.block(pa);
  if (tdmr === undefined) {
    return TDX_PAGE_NOT_FREE;
  }
  const entry = pamt.get(pa, tdmr);
  if (!pamtWalk(ctx, pa, pamt.walkStop(pa, entry.level), 0, 'shared')) {
    return TDX_OPERAND_BUSY;
  }
  return entry.pt === PT.NDA ? TDX_SUCCESS : TDX_PAGE_NOT_FREE;
}

/**
 * dynamic_pamt_4k_bitmap_set() of both pages: false for the first page already in use as a PAMT
 * page (0 or 1; the first one's bit is cleared again when the second fails, as in the source).
 */
export function claimPamtPages(ctx: LeafCtx, pa0: number, pa1: number): 0 | 1 | undefined {
  const set = ctx.m.pamt.pamtPages;
  const p0 = Math.floor(pa0 / 4096);
  const p1 = Math.floor(pa1 / 4096);
  if (set.has(p0)) {
    return 0;
  }
  set.add(p0);
  if (set.has(p1)) {
    set.delete(p0);
    return 1;
  }
  set.add(p1);
  return undefined;
}
