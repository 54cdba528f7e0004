/**
 * TDH.PHYMEM.PAMT.ADD (leaf 58, Dynamic PAMT): give a 2 MiB physical range the pair of 4 KiB
 * pages that hold its 512 PAMT_4K entries. Without the pair, 4 KiB pages of the range cannot be
 * given to a TD (TDX_MISSING_PAMT_PAGE_PAIR from the PAMT walk of PAGE.ADD/AUG, MNG.CREATE, ...).
 *
 * Check order: Dynamic PAMT enabled at TDH.SYS.CONFIG (else OPERAND_INVALID|RAX) → RCX: level 1
 * (2 MiB), bits 11:3 and 63:52 zero, no HKID bits, 2 MiB aligned (OPERAND_INVALID|RCX) → RDX (hpa0):
 * no HKID bits, 4 KiB aligned, below MAX_PA (OPERAND_INVALID|RDX), in an initialized TDMR block
 * (OPERAND_ADDR_RANGE_ERROR|RDX) → R8 (hpa1) the same → the range in an initialized block
 * (OPERAND_ADDR_RANGE_ERROR|RCX) → PAMT walk of the range to 2 MiB, exclusive (OPERAND_BUSY|RCX)
 * → the PAMT_2M entry is PT_NDA and not a 1 GiB leaf (TDX_HPA_RANGE_NOT_FREE|RCX) → hpa0, unless
 * in the range itself: shared 4 KiB walk (OPERAND_BUSY|RDX), PT_NDA (TDX_PAGE_NOT_FREE|RDX) → hpa1
 * likewise with R8 → PAMT_PAGE_BITMAP bit of hpa0 (PAGE_NOT_FREE|RDX), of hpa1 (PAGE_NOT_FREE|R8).
 * Then both pages are zeroed through the global private KeyID (MOVDIR64B) and the PAMT_2M entry
 * becomes a PT_PAMT node. No output register changes.
 * @see intel/tdx-module 2.0.08 (1666adc4) src/vmm_dispatcher/api_calls/tdh_phymem_pamt_add.c
 *   (the 1.5.34 tree has the same leaf: its dispatcher lists TDH_PHYMEM_PAMT_ADD_LEAF = 58)
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { claimPamtPages, pamtPageFormatOk, pamtPageFree } from '../dynamicPamt.js';
import { pamtWalk } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { Pamt, PAGE_LEVEL } from '../pamt.js';
import {
  OPERAND_ID,
  TDX_HPA_RANGE_NOT_FREE,
  TDX_OPERAND_ADDR_RANGE_ERROR,
  TDX_OPERAND_BUSY,
  TDX_OPERAND_INVALID,
  TDX_PAGE_NOT_FREE,
  TDX_SUCCESS,
  withOperand,
} from '../status.js';
import { range2m } from './tdhPhymemPamtRemove.js';

/** TDH.PHYMEM.PAMT.ADD. */
export function* tdhPhymemPamtAdd(ctx: LeafCtx): Prog<U64> {
  const { m, regs: r } = ctx;
  const pamt = m.pamt;
  if (!pamt.dynamic) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RAX);
  }
  const pa = range2m(ctx, r.rcx);
  if (pa === undefined) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
  }
  const operands: readonly [bigint, number][] = [
    [r.rdx, OPERAND_ID.RDX],
    [r.r8, OPERAND_ID.R8],
  ];
  for (const [v, op] of operands) {
    if (!pamtPageFormatOk(ctx, v)) {
      return withOperand(TDX_OPERAND_INVALID, op);
    }
    if (pamt.block(Number(v)) === undefined) {
      return withOperand(TDX_OPERAND_ADDR_RANGE_ERROR, op);
    }
  }
  const tdmr = pamt.block(pa);
  if (tdmr === undefined) {
    return withOperand(TDX_OPERAND_ADDR_RANGE_ERROR, OPERAND_ID.RCX);
  }
  const entry = pamt.get(pa, tdmr);
  if (!pamtWalk(ctx, pa, pamt.walkStop(pa, entry.level), PAGE_LEVEL.PT_2MB, 'exclusive')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.RCX);
  }
  if (entry.level !== PAGE_LEVEL.PT_4KB || pamt.pairs.has(Pamt.index2m(pa))) {
    // A 2 MiB or 1 GiB leaf, or already a PT_PAMT node.
    return withOperand(TDX_HPA_RANGE_NOT_FREE, OPERAND_ID.RCX);
  }
  for (const [v, op] of operands) {
    if (Pamt.index2m(Number(v)) !== Pamt.index2m(pa)) {
      const s = pamtPageFree(ctx, Number(v));
      if (s !== TDX_SUCCESS) {
        return withOperand(s, op);
      }
    }
  }
  const used = claimPamtPages(ctx, Number(r.rdx), Number(r.r8));
  if (used !== undefined) {
    return withOperand(TDX_PAGE_NOT_FREE, used === 0 ? OPERAND_ID.RDX : OPERAND_ID.R8);
  }
  yield YIELD;
  ctx.env.movdir64b(Number(r.rdx), 4096, m.hkid, 0, 'tdx-module');
  ctx.env.movdir64b(Number(r.r8), 4096, m.hkid, 0, 'tdx-module');
  pamt.pairs.set(Pamt.index2m(pa), [Number(r.rdx), Number(r.r8)]);
  return TDX_SUCCESS;
}
