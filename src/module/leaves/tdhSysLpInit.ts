/**
 * TDH.SYS.LP.INIT (leaf 35): per-LP initialization, on every LP MCHECK counted, each for itself.
 * @see TDX module ABI section 3.2
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { CPUID_TOPOLOGY_LEAF, cpuidLookup } from '../cpuidLookup.js';
import type { CpuidLookupEntry } from '../cpuidLookup.js';
import { FAULT_RDRAND } from '../faultSites.js';
import { MAX_PKGS, SYS_STATE } from '../globalState.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import {
  msrCode,
  TDX_INCONSISTENT_CPUID_FIELD,
  TDX_INCONSISTENT_MSR,
  TDX_INVALID_PKG_ID,
  TDX_LIMIT_CPUID_MAXVAL_SET,
  TDX_RND_NO_ENTROPY,
  TDX_SUCCESS,
  TDX_SYS_BUSY,
  TDX_SYS_LP_INIT_DONE,
  TDX_SYS_LP_INIT_NOT_PENDING,
  withOperand,
} from '../status.js';

/**
 * MSRs compared before the CPUID comparison, and after TSC_ADJUST, in the module's order.
 * check_msrs() compares IA32_CORE_CAPABILITIES (0xCF) first, then 0x10A, 0xBC, 0xBD (module
 * audit row 25). compare_cpuid_configuration() follows: IA32_MISC_ENABLE's BOOT_NT4 bit
 * (TDX_LIMIT_CPUID_MAXVAL_SET), then every valid entry of the release's CPUID lookup table
 * (cpuidLookup.ts; `ModuleProfile.cpuidTable` says which) in index order,
 * VERIFY_SAME bits against SYS.INIT's LP (TDX_INCONSISTENT_CPUID_FIELD, RCX = subleaf:leaf,
 * RDX = VERIFY_SAME EBX:EAX, R8 = EDX:ECX), the package check at leaf 0x1F subleaf 0, then
 * IA32_TSC_ADJUST. The platform has no CPUID values, only per-CPU differences
 * (`cpuidOverrides`); the real loop skips leaves above CPUID(0).EAX / CPUID(0x80000000).EAX,
 * which the model cannot know, so it compares every entry. TSX_CTRL's CPUID_CLEAR handling is
 * not modelled, nor 2.0.08's skip of leaf 0x6 on Granite Rapids A0 stepping.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_sys_lp_init.c check_msrs(),
 *   compare_cpuid_configuration(); the same comparison at 1.5.05 (niooss-ledger/tdx-module f99767b),
 *   1.5.06 (1e636985) and 2.0.08 (1666adc4, which adds the leaf 0x6 skip)
 */
const EARLY_MSRS = [0xcf, 0x10a, 0xbc, 0xbd] as const;
/** No CPUID difference. */
const NO_DIFF = [0, 0, 0, 0] as const;
const LATE_MSRS = [0xfe, 0x1f2, 0x1f3, 0x480, 0x345, 0x981, 0x982, 0x87, 0x98, 0x99] as const;

/** TDH.SYS.LP.INIT. */
export function* tdhSysLpInit(ctx: LeafCtx): Prog<U64> {
  const { m, regs: r, env, lp } = ctx;
  r.rcx = r.rdx = r.r8 = 0n as U64;
  if (!ctx.hold(m.globalLock, 'shared')) {
    return TDX_SYS_BUSY;
  }
  yield YIELD;
  // The state check precedes the per-LP check: after a kexec every LP gets NOT_PENDING.
  if (m.sysState !== SYS_STATE.SYSINIT_DONE) {
    return TDX_SYS_LP_INIT_NOT_PENDING;
  }
  if (m.lpIsInit[lp] === true) {
    return TDX_SYS_LP_INIT_DONE;
  }
  if (env.injectFault(FAULT_RDRAND)) {
    return TDX_RND_NO_ENTROPY;
  }
  const differs = (msr: number): boolean => (env.rdmsr(msr) ?? 0n) !== (m.msrSnapshot.get(msr) ?? 0n);
  for (const msr of EARLY_MSRS) {
    if (differs(msr)) {
      return msrCode(TDX_INCONSISTENT_MSR, msr);
    }
  }
  if ((((env.rdmsr(0x1a0) ?? 0n) >> 22n) & 1n) === 1n) {
    return TDX_LIMIT_CPUID_MAXVAL_SET;
  }
  // compare_cpuid_configuration(): every lookup entry in index order, its VERIFY_SAME bits against
  // what SYS.INIT's LP reported; the package check sits at the topology leaf's subleaf 0.
  const pkg = m.sysinfo.lpPackage[lp] ?? 0;
  const lookup = cpuidLookup(ctx.profile);
  for (let i = 0; i < lookup.length; i++) {
    const [leaf, subleaf, same] = lookup[i] as CpuidLookupEntry;
    const mine = env.cpuidXor(leaf, subleaf) ?? NO_DIFF;
    const init = m.cpuidSnapshot.get(i) ?? NO_DIFF;
    if (same.some((mask, k) => (((mine[k] ?? 0) ^ (init[k] ?? 0)) & mask) !== 0)) {
      // RCX = the leaf and subleaf (cpuid_config_leaf_subleaf_t), RDX/R8 = VERIFY_SAME as EBX:EAX
      // and EDX:ECX.
      r.rcx = ((BigInt(subleaf) << 32n) | BigInt(leaf)) as U64;
      r.rdx = ((BigInt(same[1]) << 32n) | BigInt(same[0])) as U64;
      r.r8 = ((BigInt(same[3]) << 32n) | BigInt(same[2])) as U64;
      return TDX_INCONSISTENT_CPUID_FIELD;
    }
    if (leaf === CPUID_TOPOLOGY_LEAF && subleaf === 0 && pkg >= MAX_PKGS) {
      return withOperand(TDX_INVALID_PKG_ID, pkg);
    }
  }
  if (differs(0x3b)) {
    return msrCode(TDX_INCONSISTENT_MSR, 0x3b);
  }
  for (const msr of LATE_MSRS) {
    if (differs(msr)) {
      return msrCode(TDX_INCONSISTENT_MSR, msr);
    }
  }
  m.lpIsInit[lp] = true;
  m.lpPkg[lp] = pkg;
  m.numInitLps++;
  return TDX_SUCCESS;
}
