/**
 * TDH.VP.ENTER (leaf 0): enter a VCPU of a RUNNABLE TD on the calling LP and run its guest
 * (module/guest.ts) until it exits. The VCPU is associated with the LP (assoc_lpid; a first
 * association counts in num_assoc_vcpus) and stays associated after the exit: entering it on
 * another LP needs TDH.VP.FLUSH on the old one first, else TDX_VCPU_ASSOCIATED.
 *
 * Check order: IA32_MISC_ENABLE.BOOT_NT4 (TDX_LIMIT_CPUID_MAXVAL_SET) → RCX bits 11:0 and 63:54
 * reserved (OPERAND_INVALID|RCX) → TDVPR (RCX, *shared*) → TDR (implicit, shared) → build state →
 * op_state lock (shared) → op_state row 0 (RUNNABLE, LIVE_EXPORT, LIVE_IMPORT; else
 * TDX_OP_STATE_INCORRECT) → map_tdvps() (TDX_TDCX_NUM_INCORRECT) → VCPU_READY (else
 * TDX_VCPU_STATE_INCORRECT) → association (TDX_VCPU_ASSOCIATED) → IA32_TSC_ADJUST unchanged since
 * TDH.SYS.INIT (TDX_INCONSISTENT_MSR|0x3B) → the TD epoch lock shared (OPERAND_BUSY|TD_EPOCH),
 * joining the current epoch (refcount) for the time the guest runs.
 *
 * Exit registers: a TDG.VP.VMCALL exit gives RAX = 77 (VMEXIT_REASON_TDCALL, status class
 * SUCCESS), RCX = GPR_SELECT|XMM_SELECT, R10-R12 from the guest and the other GPRs zero; an EPT
 * violation gives RAX = 48, RCX = exit qualification, RDX = 0, R8 = GPA, R9-R15 = 0.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/td_transitions/tdh_vp_enter.c,
 *   src/td_transitions/td_exit.c async_tdexit_internal(),
 *   src/td_dispatcher/vm_exits/tdg_vp_vmcall.c; helpers.c associate_vcpu()
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { runGuest } from '../guest.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { LEAF } from '../leafNumbers.js';
import {
  msrCode,
  OPERAND_ID,
  TDX_INCONSISTENT_MSR,
  TDX_LIMIT_CPUID_MAXVAL_SET,
  TDX_OPERAND_BUSY,
  TDX_OPERAND_INVALID,
  TDX_SUCCESS,
  TDX_TDCX_NUM_INCORRECT,
  TDX_VCPU_ASSOCIATED,
  TDX_VCPU_STATE_INCORRECT,
  withOperand,
} from '../status.js';
import { checkTdcsState } from '../tdcsChecks.js';
import type { TdState, VcpuState } from '../tdState.js';
import { tdvpsComplete } from '../tdState.js';
import { tdvprOperand } from '../vcpuChecks.js';
import { TDVPS_LINE_ASSOC, storeTdcsMgmtLine, storeTdvpsLines } from '../tdLayout.js';

const IA32_MISC_ENABLE = 0x1a0;
const IA32_TSC_ADJUST = 0x3b;
const RCX_RESERVED = 0xfffn | (0x3ffn << 54n);

/**
 * map_tdvps(), check_and_associate_vcpu(): TDVPS complete, VCPU_READY, then associate with this
 * LP (a VCPU already associated here is fine; one associated elsewhere is TDX_VCPU_ASSOCIATED).
 */
export function associateVcpu(ctx: LeafCtx, td: TdState, vcpu: VcpuState, tdvprPa: number): U64 {
  if (!tdvpsComplete(td, vcpu)) {
    return TDX_TDCX_NUM_INCORRECT;
  }
  if (!vcpu.initialized) {
    return TDX_VCPU_STATE_INCORRECT;
  }
  if (vcpu.associatedLp !== -1 && vcpu.associatedLp !== ctx.lp) {
    return TDX_VCPU_ASSOCIATED;
  }
  if (vcpu.associatedLp === -1) {
    vcpu.associatedLp = ctx.lp;
    storeTdvpsLines(ctx.env, td, vcpu, tdvprPa, TDVPS_LINE_ASSOC);
    td.numAssocVcpus++;
    storeTdcsMgmtLine(ctx.env, td);
  }
  return TDX_SUCCESS;
}

/** TDH.VP.ENTER. */
export function* tdhVpEnter(ctx: LeafCtx): Prog<U64> {
  const r = ctx.regs;
  if ((((ctx.env.rdmsr(IA32_MISC_ENABLE) ?? 0n) >> 22n) & 1n) === 1n) {
    return TDX_LIMIT_CPUID_MAXVAL_SET;
  }
  if ((r.rcx & RCX_RESERVED) !== 0n) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
  }
  const ref = tdvprOperand(ctx, r.rcx & 0x000f_ffff_ffff_f000n, OPERAND_ID.RCX, 'shared');
  if (ref.status !== undefined) {
    return ref.status;
  }
  const { td, vcpu, pa: tdvprPa } = ref;
  const s = checkTdcsState(ctx, td, 'shared', LEAF.TDH_VP_ENTER);
  if (s !== TDX_SUCCESS) {
    return s;
  }
  const a = associateVcpu(ctx, td, vcpu, tdvprPa);
  if (a !== TDX_SUCCESS) {
    return a;
  }
  if ((ctx.env.rdmsr(IA32_TSC_ADJUST) ?? 0n) !== (ctx.m.msrSnapshot.get(IA32_TSC_ADJUST) ?? 0n)) {
    return msrCode(TDX_INCONSISTENT_MSR, IA32_TSC_ADJUST);
  }
  // adjust_tlb_tracking_state(): join the current epoch under the epoch lock (shared, held only
  // for the update). The op_state lock, which the module drops before entering non-root mode, is
  // held until the exit in the model; the TDVPR and TDR locks are held across the run on both.
  if (!td.epochLock.tryAcquire('shared', ctx.lp)) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.TD_EPOCH);
  }
  const epoch = td.tdEpoch;
  const parity = (epoch & 1) as 0 | 1;
  if ((vcpu.vcpuEpoch ?? 0) !== epoch) {
    // vcpu_epoch is stored only when it changes (helpers.c adjust_tlb_tracking_state()).
    vcpu.vcpuEpoch = epoch;
    storeTdvpsLines(ctx.env, td, vcpu, tdvprPa, TDVPS_LINE_ASSOC);
  }
  vcpu.vcpuEpoch = epoch;
  td.epochRefcount[parity]++;
  td.epochLock.release('shared');
  yield YIELD;
  const exit = runGuest(ctx.env, td, (vcpu.guest ??= { programGpa: 0, pc: 0, halted: false }));
  if (exit.bytes > 0) {
    yield { op: 'tick', ns: Math.ceil(exit.bytes / 64) * ctx.costs.perLineNs, label: 'td-guest' };
  }
  td.epochRefcount[parity]--;
  r.rcx = exit.rcx as U64;
  r.rdx = exit.rdx as U64;
  r.r8 = exit.r8 as U64;
  r.r9 = 0n as U64;
  r.r10 = exit.r10 as U64;
  r.r11 = exit.r11 as U64;
  r.r12 = exit.r12 as U64;
  r.r13 = r.r14 = r.r15 = 0n as U64;
  return BigInt(exit.reason) as U64;
}
