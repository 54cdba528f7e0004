/**
 * The platform checks TDH.SYS.INIT performs before it latches anything: MSR values, TME and
 * KeyID configuration, the CMR list sanity check, SMRR. The model checks what its platform can
 * express through MSRs and MCHECK data. CPUID checks and the VMX-capability checks always pass
 * (the model platform is compliant), which is what the spec suggests for a model, except the ones
 * a release added or changed that a host can meet or miss through an MSR: IA32_MISC_ENABLE's
 * PERFMON_AVAILABLE / BTS_UNAVAILABLE bits (from 1.5.05) and IA32_VMX_PROCBASED_CTLS3
 * (`ModuleProfile.sysInitMsrChecks`).
 * @see TDX module ABI sections 3.1 step 4, 6.0, 11
 */
import type { U64 } from '../base/u64.js';
import type { SeamEnv } from '../platform/Seam.js';
import { MAX_HKIDS } from './globalState.js';
import type { SysInitMsrRelease } from './profiles.js';
import {
  msrCode,
  smrrOverlapsCmr,
  TDX_CMR_LIST_INVALID,
  TDX_INCORRECT_MSR_VALUE,
  TDX_LIMIT_CPUID_MAXVAL_SET,
  TDX_NUM_ACTIVATED_HKIDS_NOT_SUPPORTED,
  TDX_SMRR_NOT_SUPPORTED,
  TDX_SUCCESS,
  withOperand,
} from './status.js';

/** What the checks computed, for SYS.INIT to latch. */
export interface PlatformFacts {
  status: U64;
  keyIdBits: number;
  mktmeKeys: number;
  tdxKeys: number;
  seamrrBase: number;
  seamrrSize: number;
  wbinvdSubBlocks: number;
}

const PA_MASK = (1n << 52n) - 1n;

/** CMR sanity (section 6.0): non-null CMRs aligned, below 2^52 with zero HKID bits, sorted, disjoint. */
export function insideCmrsSanity(cmrs: readonly { base: number; size: number }[], hkidShift = 52): boolean {
  let prevEnd = -1;
  for (const c of cmrs) {
    if (c.size === 0) {
      continue;
    }
    const last = c.base + c.size - 1;
    if (c.base % 4096 !== 0 || c.size % 4096 !== 0 || last >= 2 ** 52 || !Number.isSafeInteger(last)) {
      return false;
    }
    const unit = 2 ** hkidShift;
    if (Math.floor(c.base / unit) !== 0 || Math.floor(last / unit) !== 0) {
      return false;
    }
    if (c.base < prevEnd) {
      return false;
    }
    prevEnd = c.base + c.size;
  }
  return true;
}

function bit(v: bigint | undefined, n: number): boolean {
  return v !== undefined && ((v >> BigInt(n)) & 1n) === 1n;
}

const IA32_MISC_ENABLE = 0x1a0;
const IA32_VMX_PROCBASED_CTLS3 = 0x492;
/**
 * IA32_MISC_ENABLE bits (ia32_misc_enable_t): PERFMON_AVAILABLE 7, BTS_UNAVAILABLE 11,
 * LIMIT_CPUID_MAXVAL (boot NT4) 22.
 * @see niooss-ledger/tdx-module f99767b (1.5.05) src/common/x86_defs/msr_defs.h ia32_misc_enable_t
 */
const MISC_ENABLE_PERFMON_AVAILABLE = 7;
const MISC_ENABLE_BTS_UNAVAILABLE = 11;
const MISC_ENABLE_LIMIT_CPUID_MAXVAL = 22;
/** vmx_procbased_ctls3_t bit 7, VIRTUALIZE_IA32_SPEC_CTRL. @see f99767b src/common/x86_defs/vmcs_defs.h */
const CTLS3_VIRT_IA32_SPEC_CTRL = 1n << 7n;
/**
 * The IA32_VMX_PROCBASED_CTLS3 bits (its allowed-1 settings) check_vmx_msrs() and
 * check_l2_vmx_msrs() need: every bit of PROCBASED_CTLS3_INIT | _VARIABLE and of the _L2_ pair,
 * less bit 7 from 1.5.05 on (which takes it out of both VARIABLE masks and has INIT 0). 1.5.01:
 * INIT 0x80, VARIABLE 0x20, L2_INIT 0x80, L2_VARIABLE 0x2E; 1.5.05: 0, 0xA0, 0, 0xAE.
 * @see intel/tdx-module 72d8cff (1.5.01) and niooss-ledger/tdx-module f99767b (1.5.05)
 *   src/common/x86_defs/vmcs_defs.h; tdh_sys_init.c check_allowed1_vmx_ctls()
 */
const CTLS3_NEEDED: Readonly<Record<SysInitMsrRelease, bigint>> = { '1.5.01': 0xaen, '1.5.05': 0x2en };
/**
 * CPUID.(EAX=7,ECX=2):EDX bit 3, DDPD (cpuid_07_02_edx_t.ddpd), which SYS.INIT samples into
 * ddpd_supported. The model has no CPUID values, only `cpuidOverrides` differences, so DDPD reads
 * as that difference on the LP running SYS.INIT: clear unless a scenario flips it.
 * @see f99767b src/common/x86_defs/x86_defs.h cpuid_07_02_edx_t; tdh_sys_init.c check_cpuid_configurations()
 */
const DDPD_BIT = 3;

/**
 * check_cpuid_configurations()'s IA32_MISC_ENABLE checks, then what check_vmx_msrs() and
 * check_l2_vmx_msrs() require of IA32_VMX_PROCBASED_CTLS3 (the other VMX MSRs always pass). Every
 * failure is TDX_INCORRECT_MSR_VALUE with the MSR but the boot-NT4 one.
 * @see intel/tdx-module 72d8cff (1.5.01), niooss-ledger/tdx-module f99767b (1.5.05), 1e636985
 *   (1.5.06), 1666adc4 (2.0.08) src/vmm_dispatcher/api_calls/tdh_sys_init.c
 */
function cpuidAndVmxCheck(env: SeamEnv, release: SysInitMsrRelease): U64 {
  const miscEnable = env.rdmsr(IA32_MISC_ENABLE);
  if (bit(miscEnable, MISC_ENABLE_LIMIT_CPUID_MAXVAL)) {
    return TDX_LIMIT_CPUID_MAXVAL_SET;
  }
  if (release !== '1.5.01' && (!bit(miscEnable, MISC_ENABLE_PERFMON_AVAILABLE) || bit(miscEnable, MISC_ENABLE_BTS_UNAVAILABLE))) {
    return msrCode(TDX_INCORRECT_MSR_VALUE, IA32_MISC_ENABLE);
  }
  const ctls3 = env.rdmsr(IA32_VMX_PROCBASED_CTLS3) ?? 0n;
  const ddpd = (((env.cpuidXor(7, 2)?.[3] ?? 0) >>> DDPD_BIT) & 1) === 1;
  if (release !== '1.5.01' && ddpd && (ctls3 & CTLS3_VIRT_IA32_SPEC_CTRL) === 0n) {
    return msrCode(TDX_INCORRECT_MSR_VALUE, IA32_VMX_PROCBASED_CTLS3);
  }
  if ((ctls3 & CTLS3_NEEDED[release]) !== CTLS3_NEEDED[release]) {
    return msrCode(TDX_INCORRECT_MSR_VALUE, IA32_VMX_PROCBASED_CTLS3);
  }
  return TDX_SUCCESS;
}

/** Run the SYS.INIT platform checks in the module's order. */
export function platformCheck(env: SeamEnv, cmrs: readonly { base: number; size: number }[], release: SysInitMsrRelease): PlatformFacts {
  const facts: PlatformFacts = { status: TDX_SUCCESS, keyIdBits: 0, mktmeKeys: 0, tdxKeys: 0, seamrrBase: 0, seamrrSize: 0, wbinvdSubBlocks: 1 };
  const fail = (s: U64): PlatformFacts => ({ ...facts, status: s });
  // a. MSR values.
  if (!bit(env.rdmsr(0xbd), 0)) {
    return fail(msrCode(TDX_INCORRECT_MSR_VALUE, 0xbd));
  }
  const pkgCtls = env.rdmsr(0xbc);
  if (pkgCtls !== undefined && !bit(pkgCtls, 0)) {
    return fail(msrCode(TDX_INCORRECT_MSR_VALUE, 0xbc));
  }
  if (!bit(env.rdmsr(0x345), 13)) {
    return fail(msrCode(TDX_INCORRECT_MSR_VALUE, 0x345));
  }
  // b. CPUID (IA32_MISC_ENABLE first) and c. the VMX capability MSRs.
  const cv = cpuidAndVmxCheck(env, release);
  if (cv !== TDX_SUCCESS) {
    return fail(cv);
  }
  // d. TME and KeyIDs.
  const tmeActivate = env.rdmsr(0x982) ?? 0n;
  if (!bit(tmeActivate, 1)) {
    return fail(msrCode(TDX_INCORRECT_MSR_VALUE, 0x982));
  }
  facts.keyIdBits = Number((tmeActivate >> 32n) & 0xfn);
  const part = env.rdmsr(0x87) ?? 0n;
  facts.mktmeKeys = Number(part & 0xffff_ffffn);
  facts.tdxKeys = Number(part >> 32n);
  if (facts.mktmeKeys + facts.tdxKeys >= MAX_HKIDS) {
    return fail(withOperand(TDX_NUM_ACTIVATED_HKIDS_NOT_SUPPORTED, MAX_HKIDS));
  }
  if (facts.tdxKeys === 0 || facts.mktmeKeys + facts.tdxKeys > 2 ** facts.keyIdBits - 1) {
    return fail(msrCode(TDX_INCORRECT_MSR_VALUE, 0x87));
  }
  const wbinvdp = env.rdmsr(0x98) ?? 1n;
  if ((env.rdmsr(0x99) ?? 1n) !== wbinvdp) {
    return fail(msrCode(TDX_INCORRECT_MSR_VALUE, 0x99));
  }
  facts.wbinvdSubBlocks = Math.max(1, Math.min(64, Number(wbinvdp)));
  // e. CMR sanity.
  if (!insideCmrsSanity(cmrs, 52 - facts.keyIdBits)) {
    return fail(TDX_CMR_LIST_INVALID);
  }
  // f. SMRR: supported (MTRRCAP bit 11) and not overlapping any CMR.
  if (!bit(env.rdmsr(0xfe), 11)) {
    return fail(TDX_SMRR_NOT_SUPPORTED);
  }
  const smrrMask = env.rdmsr(0x1f3) ?? 0n;
  if (bit(smrrMask, 11)) {
    const base = Number((env.rdmsr(0x1f2) ?? 0n) & 0xffff_f000n);
    const size = Number((~smrrMask & 0xffff_ffffn) | 0xfffn) + 1;
    const c = cmrs.findIndex((x) => x.size > 0 && base < x.base + x.size && base + size > x.base);
    if (c >= 0) {
      return fail(smrrOverlapsCmr(0, c));
    }
  }
  // SEAMRR, as the module reads it from IA32_SEAMRR_PHYS_BASE/MASK.
  const sb = (env.rdmsr(0x1400) ?? 0n) & PA_MASK & ~0xfffn;
  const sm = (env.rdmsr(0x1401) ?? 0n) & PA_MASK & ~0xfffn;
  facts.seamrrBase = Number(sb);
  facts.seamrrSize = sm === 0n ? 0 : Number(((~sm & PA_MASK) | 0xfffn) + 1n);
  return facts;
}
