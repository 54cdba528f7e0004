/**
 * TDH.PHYMEM.PAGE.RDMD (leaf 24): read a page's PAMT metadata (Linux uses it to classify #MC
 * addresses: PT_NDA, PT_RSVD such as PAMT pages, or TD-owned).
 * @see TDX module ABI section 3.15
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { done } from '../../platform/Exec.js';
import type { LeafCtx } from '../leafCtx.js';
import { TDX_SUCCESS } from '../status.js';
import { lookupPage, reportPamtEntry } from './tdhPhymemPageReclaim.js';

/** TDH.PHYMEM.PAGE.RDMD. */
export function tdhPhymemPageRdmd(ctx: LeafCtx): Prog<U64> {
  const r = ctx.regs;
  const v = r.rcx;
  r.rcx = r.rdx = r.r8 = r.r9 = r.r10 = r.r11 = 0n as U64;
  const p = lookupPage(ctx, v, 'shared');
  if (p.entry !== undefined) {
    reportPamtEntry(ctx, p.entry);
  }
  // R9 = BEPOCH (0: the model never blocks TD pages).
  return done(p.status === TDX_SUCCESS ? TDX_SUCCESS : p.status);
}
