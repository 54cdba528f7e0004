/**
 * TDH.VP.FLUSH (leaf 18): flush a VCPU's TLB/VMCS state off the calling LP and end its
 * association (assoc_lpid = -1, num_assoc_vcpus - 1). Must run on the LP the VCPU is associated
 * with.
 *
 * Check order: TDVPR (RCX, exclusive) → TDR (implicit, shared) → lifecycle TD_KEYS_CONFIGURED
 * (else TDX_TD_KEYS_NOT_CONFIGURED; no fatal or op_state check, the TDCS is mapped unlocked) →
 * map_tdvps() (TDX_TDCX_NUM_INCORRECT) → associated with this LP (else
 * TDX_VCPU_NOT_ASSOCIATED). So a VCPU without its TDCX pages gets TDX_TDCX_NUM_INCORRECT on any
 * LP, even one it is not associated with.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_vp_flush.c
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { OPERAND_ID, TDX_SUCCESS, TDX_TD_KEYS_NOT_CONFIGURED, TDX_TDCX_NUM_INCORRECT, TDX_VCPU_NOT_ASSOCIATED } from '../status.js';
import { TD_LIFECYCLE, tdvpsComplete } from '../tdState.js';
import { tdvprOperand } from '../vcpuChecks.js';
import { TDVPS_LINE_ASSOC, storeTdcsMgmtLine, storeTdvpsLines } from '../tdLayout.js';

/** TDH.VP.FLUSH. */
export function* tdhVpFlush(ctx: LeafCtx): Prog<U64> {
  const ref = tdvprOperand(ctx, ctx.regs.rcx, OPERAND_ID.RCX);
  if (ref.status !== undefined) {
    return ref.status;
  }
  const { td, vcpu, pa } = ref;
  if (td.lifecycle !== TD_LIFECYCLE.TD_KEYS_CONFIGURED) {
    return TDX_TD_KEYS_NOT_CONFIGURED;
  }
  if (!tdvpsComplete(td, vcpu)) {
    return TDX_TDCX_NUM_INCORRECT;
  }
  if (vcpu.associatedLp !== ctx.lp) {
    return TDX_VCPU_NOT_ASSOCIATED;
  }
  yield YIELD;
  vcpu.associatedLp = -1;
  storeTdvpsLines(ctx.env, td, vcpu, pa, TDVPS_LINE_ASSOC);
  td.numAssocVcpus--;
  storeTdcsMgmtLine(ctx.env, td);
  return TDX_SUCCESS;
}
