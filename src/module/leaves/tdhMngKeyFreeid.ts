/**
 * TDH.MNG.KEY.FREEID (leaf 20): free the TD's HKID once every package has written back its
 * caches (TDH.PHYMEM.CACHE.WB); the TD enters TD_TEARDOWN and its pages become reclaimable.
 * @see TDX module ABI section 3.24
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { HKID_STATE } from '../globalState.js';
import { tdrOperand } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { OPERAND_ID, TDX_LIFECYCLE_STATE_INCORRECT, TDX_OPERAND_BUSY, TDX_SUCCESS, TDX_WBCACHE_NOT_COMPLETE, withOperand } from '../status.js';
import { TD_LIFECYCLE } from '../tdState.js';
import { TDR_LINE_STATE, storeTdr } from '../tdLayout.js';

/** TDH.MNG.KEY.FREEID. */
export function* tdhMngKeyFreeid(ctx: LeafCtx): Prog<U64> {
  const { m, regs: r } = ctx;
  const t = tdrOperand(ctx, r.rcx, OPERAND_ID.RCX, 'exclusive');
  if (t.td === undefined) {
    return t.status;
  }
  const td = t.td;
  if (td.lifecycle !== TD_LIFECYCLE.TD_BLOCKED) {
    return TDX_LIFECYCLE_STATE_INCORRECT;
  }
  if (!ctx.hold(m.kotLock, 'exclusive')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.KOT);
  }
  if (m.kotWbinvd.get(td.hkid) !== 0) {
    return TDX_WBCACHE_NOT_COMPLETE;
  }
  yield YIELD;
  m.kotState.set(td.hkid, HKID_STATE.HKID_FREE);
  td.lifecycle = TD_LIFECYCLE.TD_TEARDOWN;
  storeTdr(ctx, td, TDR_LINE_STATE);
  return TDX_SUCCESS;
}
