/**
 * The platform checks TDH.SYS.INIT performs before it latches anything: MSR values, TME and
 * KeyID configuration, the CMR list sanity check, SMRR. The model checks what its platform can
 * express through MSRs and MCHECK data; CPUID and VMX-capability checks always pass (the model
 * platform is compliant), which is what the spec suggests for a model.
 * @see TDX module ABI sections 3.1 step 4, 6.0, 11
 */
import type { U64 } from '../base/u64.js';
import type { SeamEnv } from '../platform/Seam.js';
import { MAX_HKIDS } from './globalState.js';
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

/** Run the SYS.INIT platform checks in the module's order. */
export function platformCheck(env: SeamEnv, cmrs: readonly { base: number; size: number }[]): PlatformFacts {
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
  // b. CPUID: IA32_MISC_ENABLE.BOOT_NT4 (bit 22) limits CPUID's max leaf.
  if (bit(env.rdmsr(0x1a0), 22)) {
    return fail(TDX_LIMIT_CPUID_MAXVAL_SET);
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
