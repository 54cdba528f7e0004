/**
 * TDH.SYS.SHUTDOWN (leaf 52): prepare for a runtime update; writes handoff data and shuts the
 * module down. Fails with TDX_SYS_BUSY if any other LP is inside the module at that moment.
 * @see TDX module ABI section 3.10
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
  m.handoff = { valid: true, hv: Number(r.rcx) };
  return TDX_SUCCESS;
}
