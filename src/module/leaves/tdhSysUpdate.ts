/**
 * TDH.SYS.UPDATE (leaf 53): a freshly loaded module takes over the state its predecessor handed
 * off (TDMRs, KOT, global HKID, package key bitmap, TDs) and becomes SYS_READY without CONFIG,
 * KEY.CONFIG or TDMR.INIT. The handoff payload is installed by TdxModule.installUpdate() (the
 * SEAMLDR step).
 * @see TDX module ABI sections 2.1, 3.11
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_sys_update.c
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
  // The header in the data region decides; the predecessor's state is how the model carries the
  // payload (inheritedHandoff is set exactly when the header the SEAMLDR step kept is valid).
  const hdr = m.handoff;
  const h = m.inheritedHandoff;
  if (!hdr.valid || h === undefined || hdr.hv < ctx.metaValue('MIN_UPDATE_HV') || hdr.hv > ctx.metaValue('MODULE_HV')) {
    return TDX_SYS_INVALID_HANDOFF;
  }
  m.adopt(h.from);
  m.inheritedHandoff = undefined;
  // "Clean handoff data": valid and size cleared, hv kept (HANDOFF_DATA_HV still reads it).
  m.handoff = { valid: false, hv: hdr.hv, size: 0 };
  m.sysState = SYS_STATE.SYS_READY;
  return TDX_SUCCESS;
}
