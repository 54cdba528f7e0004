/**
 * TDH.VP.INIT (leaf 22): initialize a VCPU whose TDVPS is complete, give it the next VCPU index,
 * and associate it with the calling LP (assoc_lpid = this LP, num_assoc_vcpus + 1), so that
 * TDH.MNG.VPFLUSHDONE refuses until TDH.VP.FLUSH runs on this LP.
 *
 * Check order: TDVPR (RCX, exclusive) → TDR (implicit, shared) → build state → op_state lock
 * (shared) → op_state INITIALIZED → map_tdvps() (TDX_TDCX_NUM_INCORRECT below MIN_TDVPS_PAGES +
 * 3 per L2 VM) → VCPU uninitialized → VCPU index below MAX_VCPUS (TDX_MAX_VCPUS_EXCEEDED, index
 * given back) → IA32_TSC_ADJUST equals its SYS.INIT value (TDX_INCONSISTENT_MSR|0x3B; the index
 * taken is *not* given back, as in the source).
 *
 * Version 1 (R8 = x2APIC ID) is what current Linux issues; only modules from 1.5.05 accept it
 * (the dispatcher rejects it on 1.5.01 with TDX_OPERAND_INVALID|RAX). The model does not keep
 * the x2APIC ID.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_vp_init.c;
 *   src/common/helpers/helpers.c map_tdvps(), associate_vcpu_initial();
 *   include/auto_gen/op_state_lookup.c seamcall_state_lookup[22]
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import {
  msrCode,
  OPERAND_ID,
  TDX_INCONSISTENT_MSR,
  TDX_MAX_VCPUS_EXCEEDED,
  TDX_OP_STATE_INCORRECT,
  TDX_OPERAND_BUSY,
  TDX_SUCCESS,
  TDX_TDCX_NUM_INCORRECT,
  TDX_VCPU_STATE_INCORRECT,
  withOperand,
} from '../status.js';
import { checkBuildState } from '../tdChecks.js';
import { OP_STATE, tdvpsComplete } from '../tdState.js';
import { tdvprOperand } from '../vcpuChecks.js';
import { TDVPS_LINE_ASSOC, TDVPS_LINE_STATE, storeTdcsMgmtLine, storeTdvpsLines } from '../tdLayout.js';

const IA32_TSC_ADJUST = 0x3b;

/** TDH.VP.INIT. */
export function* tdhVpInit(ctx: LeafCtx): Prog<U64> {
  const ref = tdvprOperand(ctx, ctx.regs.rcx, OPERAND_ID.RCX);
  if (ref.status !== undefined) {
    return ref.status;
  }
  const { td, vcpu, pa } = ref;
  const b = checkBuildState(td);
  if (b !== TDX_SUCCESS) {
    return b;
  }
  if (!ctx.hold(td.opStateLock, 'shared')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.OP_STATE);
  }
  if (td.opState !== OP_STATE.INITIALIZED) {
    return TDX_OP_STATE_INCORRECT;
  }
  if (!tdvpsComplete(td, vcpu)) {
    return TDX_TDCX_NUM_INCORRECT;
  }
  if (vcpu.initialized) {
    return TDX_VCPU_STATE_INCORRECT;
  }
  // num_vcpus is incremented in the TDCS, and decremented back if over MAX_VCPUS.
  const vcpuIndex = td.numVcpus++;
  storeTdcsMgmtLine(ctx.env, td);
  if (vcpuIndex >= td.maxVcpus) {
    td.numVcpus--;
    storeTdcsMgmtLine(ctx.env, td);
    return TDX_MAX_VCPUS_EXCEEDED;
  }
  if ((ctx.env.rdmsr(IA32_TSC_ADJUST) ?? 0n) !== (ctx.m.msrSnapshot.get(IA32_TSC_ADJUST) ?? 0n)) {
    return msrCode(TDX_INCONSISTENT_MSR, IA32_TSC_ADJUST);
  }
  yield YIELD;
  vcpu.initialized = true;
  vcpu.vcpuIndex = vcpuIndex;
  // The guest model starts its program at the initial RCX the host passed in RDX.
  vcpu.guest = { programGpa: Number(ctx.regs.rdx & 0x000f_ffff_ffff_f000n), pc: 0, halted: false };
  // associate_vcpu_initial()
  vcpu.associatedLp = ctx.lp;
  td.numAssocVcpus++;
  storeTdcsMgmtLine(ctx.env, td);
  // VCPU state and index, then assoc_lpid (associate_vcpu_initial()), in the TDVPR.
  storeTdvpsLines(ctx.env, td, vcpu, pa, TDVPS_LINE_STATE, TDVPS_LINE_ASSOC);
  return TDX_SUCCESS;
}
