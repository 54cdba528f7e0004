/**
 * TDH.MNG.VPFLUSHDONE (leaf 19): end of VCPU flushing; the TD's HKID becomes HKID_FLUSHED with a
 * "cache write-back still needed" bit per package, and the TD is TD_BLOCKED.
 *
 * Check order: TDR (RCX, exclusive) → KOT lock (exclusive) → lifecycle HKID_ASSIGNED or
 * KEYS_CONFIGURED → with the TDCS allocated and op_state past UNINITIALIZED, num_assoc_vcpus
 * must be 0 (TDX_FLUSHVP_NOT_DONE while a VCPU is still associated with an LP: TDH.VP.FLUSH
 * first).
 * @see TDX module ABI section 3.23; intel/tdx-module 1.5.01 (72d8cff)
 *   src/vmm_dispatcher/api_calls/tdh_mng_vpflushdone.c
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { HKID_STATE } from '../globalState.js';
import { tdrOperand } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { OPERAND_ID, TDX_FLUSHVP_NOT_DONE, TDX_LIFECYCLE_STATE_INCORRECT, TDX_OPERAND_BUSY, TDX_SUCCESS, withOperand } from '../status.js';
import { OP_STATE, TD_LIFECYCLE } from '../tdState.js';
import { TDR_LINE_STATE, storeTdr } from '../tdLayout.js';

/** TDH.MNG.VPFLUSHDONE. */
export function* tdhMngVpflushdone(ctx: LeafCtx): Prog<U64> {
  const { m, regs: r } = ctx;
  const t = tdrOperand(ctx, r.rcx, OPERAND_ID.RCX, 'exclusive');
  if (t.td === undefined) {
    return t.status;
  }
  const td = t.td;
  if (!ctx.hold(m.kotLock, 'exclusive')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.KOT);
  }
  if (td.lifecycle !== TD_LIFECYCLE.TD_HKID_ASSIGNED && td.lifecycle !== TD_LIFECYCLE.TD_KEYS_CONFIGURED) {
    return TDX_LIFECYCLE_STATE_INCORRECT;
  }
  if (td.tdcsAllocated && td.opState !== OP_STATE.UNINITIALIZED && td.numAssocVcpus !== 0) {
    return TDX_FLUSHVP_NOT_DONE;
  }
  yield YIELD;
  m.kotWbinvd.set(td.hkid, m.pkgConfigBitmap);
  m.kotState.set(td.hkid, HKID_STATE.HKID_FLUSHED);
  td.lifecycle = TD_LIFECYCLE.TD_BLOCKED;
  storeTdr(ctx, td, TDR_LINE_STATE);
  return TDX_SUCCESS;
}
