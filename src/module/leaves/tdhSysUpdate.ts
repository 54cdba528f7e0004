/**
 * TDH.SYS.UPDATE (leaf 53): a freshly loaded module takes over the state its predecessor handed
 * off (TDMRs, KOT, global HKID, package key bitmap, TDs) and becomes SYS_READY without CONFIG,
 * KEY.CONFIG or TDMR.INIT. The handoff payload is installed by TdxModule.installUpdate() (the
 * SEAMLDR step).
 * @see TDX module ABI sections 2.1, 3.11
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { SYS_STATE } from '../globalState.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { TDX_SUCCESS, TDX_SYS_BUSY, TDX_SYS_INVALID_HANDOFF, TDX_SYS_STATE_INCORRECT } from '../status.js';

/** TDH.SYS.UPDATE. */
export function* tdhSysUpdate(ctx: LeafCtx): Prog<U64> {
  const m = ctx.m;
  if (!ctx.hold(m.globalLock, 'exclusive')) {
    return TDX_SYS_BUSY;
  }
  yield YIELD;
  if (m.sysState !== SYS_STATE.SYSINIT_DONE || m.numInitLps < m.numLps) {
    return TDX_SYS_STATE_INCORRECT;
  }
  const h = m.inheritedHandoff;
  if (h === undefined || h.hv < ctx.metaValue('MIN_UPDATE_HV') || h.hv > ctx.metaValue('MODULE_HV')) {
    return TDX_SYS_INVALID_HANDOFF;
  }
  m.adopt(h.from);
  m.inheritedHandoff = undefined;
  m.sysState = SYS_STATE.SYS_READY;
  return TDX_SUCCESS;
}
