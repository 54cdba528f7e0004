/**
 * TDH.VP.RD (leaf 26) and TDH.VP.WR (leaf 43): read or write one element of a VCPU-scope
 * (TDVPS) metadata field. RCX = TDVPR, RDX = field id, R8 = value (out; in for VP.WR with R9 =
 * mask). Both *associate* the VCPU with the calling LP, as TDH.VP.ENTER does: a VCPU associated
 * with another LP answers TDX_VCPU_ASSOCIATED.
 *
 * Check order: version 1 of VP.RD sets RDX = -1 first; R8 zeroed; version > 1 (VP.RD) →
 * OPERAND_INVALID|RAX → TDVPR (RCX, *shared*) → TDR (implicit, shared) → build state → op_state
 * lock (shared) → op_state row 26 / 43 → map_tdvps() (TDX_TDCX_NUM_INCORRECT) → VCPU_READY (else
 * TDX_VCPU_STATE_INCORRECT) → association (TDX_VCPU_ASSOCIATED) → field id → masks.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_vp_rd_wr.c;
 *   src/common/helpers/helpers.c check_and_associate_vcpu(), associate_vcpu()
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { LEAF } from '../leafNumbers.js';
import { OPERAND_ID, TDX_OPERAND_INVALID, TDX_SUCCESS, withOperand } from '../status.js';
import { checkTdcsState } from '../tdcsChecks.js';
import { VP_FIELDS } from '../tdMetadata.js';
import { tdvprOperand } from '../vcpuChecks.js';
import { associateVcpu } from './tdhVpEnter.js';
import { accessField } from './tdhMngRdWr.js';

const MD_FIELD_ID_NA = 0xffff_ffff_ffff_ffffn as U64;

function* tdhVpRdWr(ctx: LeafCtx, write: boolean): Prog<U64> {
  const r = ctx.regs;
  const fieldId = r.rdx;
  const wrData = r.r8;
  const wrMask = r.r9;
  if (!write && ctx.version > 0) {
    r.rdx = MD_FIELD_ID_NA;
  }
  r.r8 = 0n as U64;
  if (!write && ctx.version > 1) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RAX);
  }
  const ref = tdvprOperand(ctx, r.rcx, OPERAND_ID.RCX, 'shared');
  if (ref.status !== undefined) {
    return ref.status;
  }
  const { td, vcpu, pa } = ref;
  const s = checkTdcsState(ctx, td, 'shared', write ? LEAF.TDH_VP_WR : LEAF.TDH_VP_RD);
  if (s !== TDX_SUCCESS) {
    return s;
  }
  const a = associateVcpu(ctx, td, vcpu, pa);
  if (a !== TDX_SUCCESS) {
    return a;
  }
  yield YIELD;
  return accessField(ctx, VP_FIELDS, fieldId, td, vcpu, write, wrData, wrMask);
}

/** TDH.VP.RD. */
export function tdhVpRd(ctx: LeafCtx): Prog<U64> {
  return tdhVpRdWr(ctx, false);
}

/** TDH.VP.WR. */
export function tdhVpWr(ctx: LeafCtx): Prog<U64> {
  return tdhVpRdWr(ctx, true);
}
