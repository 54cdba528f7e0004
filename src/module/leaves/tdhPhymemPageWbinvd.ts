/**
 * TDH.PHYMEM.PAGE.WBINVD (leaf 41): write back and invalidate one page's cache lines for the HKID
 * given in the address (Linux: the TDR under the global KeyID, after reclaim). The PAMT entry is
 * locked *shared*: two WBINVDs of one page may run at once.
 * @see TDX module ABI section 3.14; intel/tdx-module 1.5.01 (72d8cff)
 *   src/vmm_dispatcher/api_calls/tdh_phymem_page_wbinvd.c (TDX_LOCK_SHARED)
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import type { SeamEnv, SeamRepeat } from '../../platform/Seam.js';
import type { ModuleState } from '../globalState.js';
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

/**
 * `n` TDH.PHYMEM.PAGE.WBINVDs of consecutive 4 KiB pages from `rcx` (KVM writing back a huge
 * leaf page by page), taken in one go when each of them would pass every check of the leaf
 * above, whatever order they ran in: RCX below MAX_PA with the HKID bits the same for all, the
 * pages 4 KiB aligned in one TDMR whose blocks are initialized, every PAMT entry PT_NDA (no
 * explicit entry, no reserved area: `rangeFree`), and no LP inside a SEAMCALL, so no PAMT lock
 * is held and the shared pamt_walk() of each call succeeds. Not with Dynamic PAMT (its walk may
 * stop at the 2 MiB entry; not needed by anyone yet). Each call then yields YIELD and does its
 * CLFLUSH of its page, as the single call does (only the trace event of it when no cache holds
 * a line of the pages under the HKID: nothing to write back); the PAMT locks it would take and drop leave
 * nothing behind but free locks, which behave as absent ones (Pamt.lock()).
 * @returns undefined when any call could fail or be busy: issue them one by one
 * @see the checks of tdhPhymemPageWbinvd() above (intel/tdx-module 1.5.01 (72d8cff)
 *   src/vmm_dispatcher/api_calls/tdh_phymem_page_wbinvd.c)
 */
export function tdhPhymemPageWbinvdRepeat(m: ModuleState, env: SeamEnv, rcx: bigint, n: number): SeamRepeat | undefined {
  const last = rcx + BigInt(n - 1) * 4096n;
  if (n < 1 || rcx >= MAX_PA || last >= MAX_PA || m.pamt.dynamic) {
    return undefined;
  }
  const { pa, hkid } = splitHpa(m, rcx);
  const end = splitHpa(m, last);
  if (pa % 4096 !== 0 || end.hkid !== hkid || end.pa !== pa + (n - 1) * 4096) {
    return undefined;
  }
  const tdmr = m.pamt.block(pa);
  if (tdmr === undefined || m.pamt.block(end.pa) !== tdmr || !m.pamt.rangeFree(pa, n * 4096, tdmr)) {
    return undefined;
  }
  if (m.lpBusy.some((busy) => busy)) {
    return undefined;
  }
  // When no cache holds a line of the pages under the HKID, every CLFLUSH but the first (which
  // also lets the platform forget caches found empty) writes back and drops nothing.
  if (env.cachedLines(pa, n * 4096, hkid)) {
    return { steps: [YIELD], apply: (k: number) => env.clflush(pa + k * 4096, 4096, hkid) };
  }
  return { steps: [YIELD], apply: (k: number) => (k === 0 ? env.clflush(pa, 4096, hkid) : env.clflushUncached(pa + k * 4096, 4096, hkid)) };
}
