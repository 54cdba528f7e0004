/**
 * TDH.PHYMEM.PAGE.WBINVD (leaf 41): write back and invalidate one page's cache lines for the HKID
 * given in the address (Linux: the TDR under the global KeyID, after reclaim). The PAMT entry is
 * locked *shared*: two WBINVDs of one page may run at once.
 * @see TDX module ABI section 3.14; intel/tdx-module 1.5.01 (72d8cff)
 *   src/vmm_dispatcher/api_calls/tdh_phymem_page_wbinvd.c (TDX_LOCK_SHARED)
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { MAX_PA, pamtWalk, splitHpa } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { PT } from '../pamt.js';
import { OPERAND_ID, TDX_OPERAND_ADDR_RANGE_ERROR, TDX_OPERAND_BUSY, TDX_OPERAND_INVALID, TDX_PAGE_METADATA_INCORRECT, TDX_SUCCESS, withOperand } from '../status.js';

/** TDH.PHYMEM.PAGE.WBINVD. */
export function* tdhPhymemPageWbinvd(ctx: LeafCtx): Prog<U64> {
  const { m, regs: r } = ctx;
  if (r.rcx >= MAX_PA) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
  }
  const { pa, hkid } = splitHpa(m, r.rcx);
  if (pa % 4096 !== 0) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
  }
  const tdmr = m.pamt.block(pa);
  if (tdmr === undefined) {
    return withOperand(TDX_OPERAND_ADDR_RANGE_ERROR, OPERAND_ID.RCX);
  }
  const e = m.pamt.get(pa, tdmr);
  // check_and_lock_explicit_4k_private_hpa() → pamt_walk(): 1G and 2M parents shared, then the entry.
  if (!pamtWalk(ctx, pa, e.level, 0, 'shared')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.RCX);
  }
  if (e.pt !== PT.NDA) {
    return withOperand(TDX_PAGE_METADATA_INCORRECT, OPERAND_ID.RCX);
  }
  yield YIELD;
  ctx.env.clflush(pa, 4096, hkid);
  return TDX_SUCCESS;
}
