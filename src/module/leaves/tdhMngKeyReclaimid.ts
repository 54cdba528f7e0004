/**
 * TDH.MNG.KEY.RECLAIMID (leaf 27): a compatibility no-op in 1.5 (old KVM still calls it).
 * The model keeps it a no-op in the 1.0 profile too (see docs/module.md).
 * @see TDX module ABI section 3.25
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { done } from '../../platform/Exec.js';
import type { LeafCtx } from '../leafCtx.js';
import { TDX_SUCCESS } from '../status.js';

/** TDH.MNG.KEY.RECLAIMID. */
export function tdhMngKeyReclaimid(_ctx: LeafCtx): Prog<U64> {
  return done(TDX_SUCCESS);
}
