/**
 * TDH.VP.INIT (leaf 22): initialize a VCPU whose TDVPS is complete, give it the next VCPU index,
 * and associate it with the calling LP (assoc_lpid = this LP, num_assoc_vcpus + 1), so that
 * TDH.MNG.VPFLUSHDONE refuses until TDH.VP.FLUSH runs on this LP.
 *
 * Check order, per `ModuleProfile.vpInit` (the release whose tdh_vp_init.c the behaviour is):
 * - '1.5.01': TDVPR (RCX, exclusive) → TDR (implicit, shared) → build state → op_state lock
 *   (shared) → op_state INITIALIZED → map_tdvps() (TDX_TDCX_NUM_INCORRECT below MIN_TDVPS_PAGES +
 *   3 per L2 VM) → VCPU uninitialized → VCPU index below MAX_VCPUS (TDX_MAX_VCPUS_EXCEEDED, index
 *   given back) → IA32_TSC_ADJUST equals its SYS.INIT value (TDX_INCONSISTENT_MSR|0x3B; the index
 *   taken is *not* given back, as in the source). Version 1 never reaches the leaf: the
 *   dispatcher rejects it (TDX_OPERAND_INVALID|RAX).
 * - '1.5.05': the dispatcher lets any version through and the leaf checks it first (above 1:
 *   TDX_OPERAND_INVALID|RAX); version 1 locks the TDR exclusive. After the MAX_VCPUS check,
 *   version 1 takes the x2APIC ID from R8: above 32 bits TDX_OPERAND_INVALID|R8 (index given
 *   back); equal to the ID of a lower VCPU index TDX_X2APIC_ID_NOT_UNIQUE with that ID in bits
 *   31:0 (the index is *not* given back); otherwise stored in the TDCS x2apic_ids[index]. Then
 *   IA32_TSC_ADJUST, as in 1.5.01 (an ID stored by a call that then fails here stays stored).
 * - '2.0.08' (read at 2.0.04 and 2.0.08): IA32_TSC_ADJUST is compared first, before the version; a duplicate x2APIC ID gives
 *   the index back. The rest as in 1.5.05. (2.0.08 also puts the VCPU state into
 *   TDX_VCPU_STATE_INCORRECT's operand; not modelled.)
 *
 * Linux KVM (tdx_td_vcpu_init()) issues version 1 with R8 = vcpu->vcpu_id, a u32 (never above 32
 * bits) that KVM keeps unique per VM, so it never meets TDX_X2APIC_ID_NOT_UNIQUE or
 * OPERAND_INVALID|R8; a `tdxsim serve` client can.
 * @see linux arch/x86/kvm/vmx/tdx.c tdx_td_vcpu_init(), arch/x86/virt/vmx/tdx/tdx.c tdh_vp_init()
 *   (R8 = x2apicid, TDH_VP_INIT | 1 << TDX_VERSION_SHIFT) v6.18
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_vp_init.c;
 *   src/common/helpers/helpers.c map_tdvps(), associate_vcpu_initial();
 *   include/auto_gen/op_state_lookup.c seamcall_state_lookup[22]
 * @see intel/tdx-module e98d9639 (1.5.05), 1e636985 (1.5.06), be443240 (2.0.02), 92f6945d
 *   (2.0.04), 1666adc4 (2.0.08) src/vmm_dispatcher/api_calls/tdh_vp_init.c; f99767b (1.5.05) tdx_vmm_dispatcher.c
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import type { TdState } from '../tdState.js';
import {
  msrCode,
  OPERAND_ID,
  TDX_INCONSISTENT_MSR,
  TDX_MAX_VCPUS_EXCEEDED,
  TDX_OP_STATE_INCORRECT,
  TDX_OPERAND_BUSY,
  TDX_OPERAND_INVALID,
  TDX_SUCCESS,
  TDX_TDCX_NUM_INCORRECT,
  TDX_VCPU_STATE_INCORRECT,
  TDX_X2APIC_ID_NOT_UNIQUE,
  withOperand,
} from '../status.js';
import { checkBuildState } from '../tdChecks.js';
import { OP_STATE, tdvpsComplete } from '../tdState.js';
import { tdvprOperand } from '../vcpuChecks.js';
import { TDVPS_LINE_ASSOC, TDVPS_LINE_STATE, storeTdcsMgmtLine, storeTdvpsLines } from '../tdLayout.js';

const IA32_TSC_ADJUST = 0x3b;

/** IA32_TSC_ADJUST against the value TDH.SYS.INIT latched. */
function tscAdjustCheck(ctx: LeafCtx): U64 {
  if ((ctx.env.rdmsr(IA32_TSC_ADJUST) ?? 0n) !== (ctx.m.msrSnapshot.get(IA32_TSC_ADJUST) ?? 0n)) {
    return msrCode(TDX_INCONSISTENT_MSR, IA32_TSC_ADJUST);
  }
  return TDX_SUCCESS;
}

/**
 * Version 1's x2APIC ID step, after the VCPU index was taken: check R8 and store it in the TDCS.
 * `giveBackOnDuplicate`: 2.0.04 and later undo the index on a duplicate; 1.5.05 to 2.0.02 do not.
 */
function x2apicIdStep(ctx: LeafCtx, td: TdState, vcpuIndex: number, giveBackOnDuplicate: boolean): U64 {
  const id = ctx.regs.r8;
  if (id > 0xffff_ffffn) {
    td.numVcpus--;
    storeTdcsMgmtLine(ctx.env, td);
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.R8);
  }
  for (let i = 0; i < vcpuIndex; i++) {
    // Indices below this one whose call failed before storing an ID read 0, as the TDCS page does.
    if ((td.x2apicIds.get(i) ?? 0) === Number(id)) {
      if (giveBackOnDuplicate) {
        td.numVcpus--;
        storeTdcsMgmtLine(ctx.env, td);
      }
      return withOperand(TDX_X2APIC_ID_NOT_UNIQUE, Number(id));
    }
  }
  td.x2apicIds.set(vcpuIndex, Number(id));
  return TDX_SUCCESS;
}

/** TDH.VP.INIT. */
export function* tdhVpInit(ctx: LeafCtx): Prog<U64> {
  const rel = ctx.profile.vpInit.value;
  if (rel === '2.0.08') {
    const tsc = tscAdjustCheck(ctx);
    if (tsc !== TDX_SUCCESS) {
      return tsc;
    }
  }
  if (ctx.version > 1) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RAX);
  }
  const ref = tdvprOperand(ctx, ctx.regs.rcx, OPERAND_ID.RCX, 'exclusive', ctx.version > 0 ? 'exclusive' : 'shared');
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
  if (ctx.version === 1) {
    const x = x2apicIdStep(ctx, td, vcpuIndex, rel === '2.0.08');
    if (x !== TDX_SUCCESS) {
      return x;
    }
  }
  if (rel !== '2.0.08') {
    const tsc = tscAdjustCheck(ctx);
    if (tsc !== TDX_SUCCESS) {
      return tsc;
    }
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
