/**
 * TDH.SYS.LP.SHUTDOWN (leaf 44). In 1.5 a deprecated no-op that always succeeds; in 1.0 it
 * takes the global lock shared and puts the whole module into SYS_SHUTDOWN (early Linux patch
 * series used it to "shut the module down" on an initialization error).
 * @see TDX module ABI section 3.9
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { SYS_STATE } from '../globalState.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { TDX_SUCCESS, TDX_SYS_BUSY } from '../status.js';

/** TDH.SYS.LP.SHUTDOWN. */
export function* tdhSysLpShutdown(ctx: LeafCtx): Prog<U64> {
  if (!ctx.profile.lpShutdownShutsDown) {
    return TDX_SUCCESS;
  }
  if (!ctx.hold(ctx.m.globalLock, 'shared')) {
    return TDX_SYS_BUSY;
  }
  yield YIELD;
  ctx.m.sysState = SYS_STATE.SYS_SHUTDOWN;
  // This LP's SEAM entry now points at a shutdown stub.
  ctx.m.lpDead[ctx.lp] = true;
  return TDX_SUCCESS;
}
