/**
 * TDH.SYS.SHUTDOWN (leaf 52): prepare for a runtime update; writes handoff data and shuts the
 * module down. Fails with TDX_SYS_BUSY if any other LP is inside the module at that moment.
 * @see TDX module ABI section 3.10
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_sys_shutdown.c (header
 *   valid = 1, hv = RCX, size = prepare_handoff_data()'s byte count)
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { SYS_STATE } from '../globalState.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { OPERAND_ID, TDX_OPERAND_INVALID, TDX_SUCCESS, TDX_SYS_BUSY, withOperand } from '../status.js';

/** TDH.SYS.SHUTDOWN. */
export function* tdhSysShutdown(ctx: LeafCtx): Prog<U64> {
  const { m, regs: r } = ctx;
  const moduleHv = BigInt(ctx.metaValue('MODULE_HV'));
  const minHv = BigInt(ctx.metaValue('MIN_UPDATE_HV'));
  const noDowngrade = ctx.metaValue('NO_DOWNGRADE') !== 0;
  // The requested handoff version is checked before the lock.
  if (r.rcx < minHv || r.rcx > moduleHv || (noDowngrade && r.rcx !== moduleHv)) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
  }
  if (!ctx.hold(m.globalLock, 'exclusive')) {
    return TDX_SYS_BUSY;
  }
  yield YIELD;
  m.sysState = SYS_STATE.SYS_SHUTDOWN;
  if (m.lpBusy.some((busy, lp) => busy && lp !== ctx.lp)) {
    m.sysState = SYS_STATE.SYS_READY;
    return TDX_SYS_BUSY;
  }
  // The header's size is what prepare_handoff_data() wrote after it; unknown for releases whose
  // handoff code was not read (the model then reports 0, docs/module.md).
  m.handoff = { valid: true, hv: Number(r.rcx), size: ctx.profile.handoffDataSize?.value ?? 0 };
  return TDX_SUCCESS;
}
