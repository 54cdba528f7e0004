/**
 * TDX SEAMCALL completion statuses: the one table of every status the model knows (name, value,
 * class, severity), the operand ids that go into bits 31:0, helpers that build and parse packed
 * detail codes (PAMT_OVERLAP(i, pt, j), TDMR, MSR, SMRR codes), and `describeStatus()`, the decoder
 * behind `tdxsim explain`.
 *
 * Values are copied from the TDX module 1.5.01 `tdx_error_codes_defs.h` as restated in
 * spec/module-abi.md section 4.2; Linux-only software codes are listed separately.
 * @see TDX module ABI section 4; linux arch/x86/include/asm/shared/tdx_errno.h
 */
import type { U64 } from '../base/u64.js';
import { hex, hex16 } from '../base/u64.js';

/** Severity derived from bits 63:60 of a status. */
export type StatusSeverity = 'success' | 'warning' | 'recoverable' | 'non-recoverable' | 'fatal' | 'software';

/** One row of the status table. */
export interface StatusInfo {
  readonly name: string;
  readonly value: U64;
  /** Bits 47:40. */
  readonly cls: number;
  readonly severity: StatusSeverity;
  /** True when retrying the same call may succeed (ERROR set, NON_RECOVERABLE clear). */
  readonly recoverable: boolean;
  /** How bits 31:0 are to be read for this status. */
  readonly detail: 'none' | 'operand' | 'tdmr' | 'tdmr-pamt' | 'pamt-overlap' | 'tdmr-rsvd' | 'msr' | 'smrr' | 'smrr-cmr' | 'cpuid' | 'hkid' | 'pkg' | 'x2apic';
}

/** Mask that keeps the status and drops the operand / detail bits (Linux TDX_SEAMCALL_STATUS_MASK). */
export const TDX_SEAMCALL_STATUS_MASK = 0xffff_ffff_0000_0000n as U64;

function severityOf(v: bigint): StatusSeverity {
  const top = Number(v >> 60n);
  if (v === 0n) {
    return 'success';
  }
  if (((v >> 40n) & 0xffn) === 0xffn) {
    return 'software';
  }
  if ((top & 0x8) === 0) {
    return (top & 0x6) !== 0 ? 'fatal' : 'warning';
  }
  if ((top & 0x2) !== 0) {
    return 'fatal';
  }
  return (top & 0x4) !== 0 ? 'non-recoverable' : 'recoverable';
}

type Detail = StatusInfo['detail'];
const ROWS: readonly (readonly [string, bigint, Detail?])[] = [
  // General, operand, busy, page metadata, TD pages.
  ['TDX_SUCCESS', 0x0000_0000_0000_0000n],
  ['TDX_NON_RECOVERABLE_VCPU', 0x4000_0001_0000_0000n],
  ['TDX_NON_RECOVERABLE_TD', 0x6000_0002_0000_0000n],
  ['TDX_INTERRUPTED_RESUMABLE', 0x8000_0003_0000_0000n],
  ['TDX_INTERRUPTED_RESTARTABLE', 0x8000_0004_0000_0000n],
  ['TDX_NON_RECOVERABLE_TD_NON_ACCESSIBLE', 0x6000_0005_0000_0000n],
  ['TDX_INVALID_RESUMPTION', 0xc000_0006_0000_0000n],
  ['TDX_NON_RECOVERABLE_TD_WRONG_APIC_MODE', 0xe000_0007_0000_0000n],
  ['TDX_OPERAND_INVALID', 0xc000_0100_0000_0000n, 'operand'],
  ['TDX_OPERAND_ADDR_RANGE_ERROR', 0xc000_0101_0000_0000n, 'operand'],
  ['TDX_OPERAND_BUSY', 0x8000_0200_0000_0000n, 'operand'],
  ['TDX_PREVIOUS_TLB_EPOCH_BUSY', 0x8000_0201_0000_0000n],
  ['TDX_SYS_BUSY', 0x8000_0202_0000_0000n],
  ['TDX_RND_NO_ENTROPY', 0x8000_0203_0000_0000n],
  ['TDX_OPERAND_BUSY_HOST_PRIORITY', 0x8000_0204_0000_0000n, 'operand'],
  ['TDX_HOST_PRIORITY_BUSY_TIMEOUT', 0x9000_0205_0000_0000n],
  ['TDX_PAGE_METADATA_INCORRECT', 0xc000_0300_0000_0000n, 'operand'],
  ['TDX_PAGE_ALREADY_FREE', 0x0000_0301_0000_0000n, 'operand'],
  ['TDX_PAGE_NOT_OWNED_BY_TD', 0xc000_0302_0000_0000n, 'operand'],
  ['TDX_PAGE_NOT_FREE', 0xc000_0303_0000_0000n, 'operand'],
  // Dynamic PAMT (2.0.08 and 1.5.34 trees: include/auto_gen_2_0/tdx_error_codes_defs.h @ 1666adc4).
  ['TDX_HPA_RANGE_NOT_FREE', 0xc000_0304_0000_0000n, 'operand'],
  ['TDX_NO_PAMT_PAGE_PAIR', 0xc000_0305_0000_0000n, 'operand'],
  ['TDX_PAMT_PAGE_NOT_EMPTY', 0xc000_0306_0000_0000n, 'operand'],
  ['TDX_INTERRUPTED_PAMT', 0x8000_0307_0000_0000n],
  ['TDX_MISSING_PAMT_PAGE_PAIR', 0x8000_0308_0000_0000n, 'operand'],
  ['TDX_TD_ASSOCIATED_PAGES_EXIST', 0xc000_0400_0000_0000n],
  // System state (class 0x05).
  ['TDX_SYS_INIT_NOT_PENDING', 0xc000_0500_0000_0000n],
  ['TDX_SYS_LP_INIT_NOT_DONE', 0xc000_0502_0000_0000n],
  ['TDX_SYS_LP_INIT_DONE', 0xc000_0503_0000_0000n],
  ['TDX_SYS_NOT_READY', 0xc000_0505_0000_0000n],
  ['TDX_SYS_SHUTDOWN', 0xc000_0506_0000_0000n],
  ['TDX_SYS_KEY_CONFIG_NOT_PENDING', 0xc000_0507_0000_0000n],
  ['TDX_SYS_STATE_INCORRECT', 0xc000_0508_0000_0000n],
  ['TDX_SYS_INVALID_HANDOFF', 0xc000_0509_0000_0000n],
  ['TDX_SYS_INCOMPATIBLE_SIGSTRUCT', 0xc000_050a_0000_0000n],
  ['TDX_SYS_LP_INIT_NOT_PENDING', 0xc000_050b_0000_0000n],
  ['TDX_SYS_CONFIG_NOT_PENDING', 0xc000_050c_0000_0000n],
  ['TDX_INCOMPATIBLE_SEAM_CAPABILITIES', 0xc000_050d_0000_0000n],
  // TD, VCPU, keys (classes 0x06-0x08).
  ['TDX_TD_FATAL', 0xe000_0604_0000_0000n],
  ['TDX_TD_NON_DEBUG', 0xc000_0605_0000_0000n],
  ['TDX_TDCS_NOT_ALLOCATED', 0xc000_0606_0000_0000n],
  ['TDX_LIFECYCLE_STATE_INCORRECT', 0xc000_0607_0000_0000n],
  ['TDX_OP_STATE_INCORRECT', 0xc000_0608_0000_0000n],
  ['TDX_NO_VCPUS', 0xc000_0609_0000_0000n],
  ['TDX_TDCX_NUM_INCORRECT', 0xc000_0610_0000_0000n],
  // 1.5.05 and later: TDH.VP.INIT version 1 puts the duplicate x2APIC ID into bits 31:0.
  // @see niooss-ledger/tdx-module f99767b (1.5.05) include/auto_gen/tdx_error_codes_defs.h (absent at 72d8cff, 1.5.01)
  ['TDX_X2APIC_ID_NOT_UNIQUE', 0xc000_0621_0000_0000n, 'x2apic'],
  ['TDX_VCPU_STATE_INCORRECT', 0xc000_0700_0000_0000n],
  ['TDX_VCPU_ASSOCIATED', 0x8000_0701_0000_0000n],
  ['TDX_VCPU_NOT_ASSOCIATED', 0x8000_0702_0000_0000n],
  ['TDX_MAX_VCPUS_EXCEEDED', 0xc000_0705_0000_0000n],
  ['TDX_KEY_GENERATION_FAILED', 0x8000_0800_0000_0000n],
  ['TDX_TD_KEYS_NOT_CONFIGURED', 0x8000_0810_0000_0000n],
  ['TDX_KEY_STATE_INCORRECT', 0xc000_0811_0000_0000n],
  ['TDX_KEY_CONFIGURED', 0x0000_0815_0000_0000n],
  ['TDX_WBCACHE_NOT_COMPLETE', 0x8000_0817_0000_0000n],
  ['TDX_HKID_NOT_FREE', 0xc000_0820_0000_0000n],
  ['TDX_NO_HKID_READY_TO_WBCACHE', 0x0000_0821_0000_0000n],
  ['TDX_WBCACHE_RESUME_ERROR', 0xc000_0823_0000_0000n],
  ['TDX_FLUSHVP_NOT_DONE', 0x8000_0824_0000_0000n],
  ['TDX_NUM_ACTIVATED_HKIDS_NOT_SUPPORTED', 0xc000_0825_0000_0000n, 'hkid'],
  // Platform (class 0x09).
  ['TDX_INCORRECT_CPUID_VALUE', 0xc000_0900_0000_0000n],
  ['TDX_LIMIT_CPUID_MAXVAL_SET', 0xc000_0901_0000_0000n],
  ['TDX_INCONSISTENT_CPUID_FIELD', 0xc000_0902_0000_0000n],
  ['TDX_CPUID_MAX_SUBLEAVES_UNRECOGNIZED', 0xc000_0903_0000_0000n],
  ['TDX_CPUID_LEAF_1F_FORMAT_UNRECOGNIZED', 0xc000_0904_0000_0000n],
  ['TDX_INVALID_WBINVD_SCOPE', 0xc000_0905_0000_0000n],
  ['TDX_INVALID_PKG_ID', 0xc000_0906_0000_0000n, 'pkg'],
  ['TDX_ENABLE_MONITOR_FSM_NOT_SET', 0xc000_0907_0000_0000n],
  ['TDX_CPUID_LEAF_NOT_SUPPORTED', 0xc000_0908_0000_0000n, 'cpuid'],
  ['TDX_SMRR_NOT_LOCKED', 0xc000_0910_0000_0000n, 'smrr'],
  ['TDX_INVALID_SMRR_CONFIGURATION', 0xc000_0911_0000_0000n, 'smrr'],
  ['TDX_SMRR_OVERLAPS_CMR', 0xc000_0912_0000_0000n, 'smrr-cmr'],
  ['TDX_SMRR_LOCK_NOT_SUPPORTED', 0xc000_0913_0000_0000n],
  ['TDX_SMRR_NOT_SUPPORTED', 0xc000_0914_0000_0000n],
  ['TDX_INCONSISTENT_MSR', 0xc000_0920_0000_0000n, 'msr'],
  ['TDX_INCORRECT_MSR_VALUE', 0xc000_0921_0000_0000n, 'msr'],
  // TDMR / PAMT / CMR (class 0x0A).
  ['TDX_INVALID_TDMR', 0xc000_0a00_0000_0000n, 'tdmr'],
  ['TDX_NON_ORDERED_TDMR', 0xc000_0a01_0000_0000n, 'tdmr'],
  ['TDX_TDMR_OUTSIDE_CMRS', 0xc000_0a02_0000_0000n, 'tdmr'],
  ['TDX_TDMR_ALREADY_INITIALIZED', 0x0000_0a03_0000_0000n],
  ['TDX_INVALID_PAMT', 0xc000_0a10_0000_0000n, 'tdmr-pamt'],
  ['TDX_PAMT_OUTSIDE_CMRS', 0xc000_0a11_0000_0000n, 'tdmr-pamt'],
  ['TDX_PAMT_OVERLAP', 0xc000_0a12_0000_0000n, 'pamt-overlap'],
  ['TDX_INVALID_RESERVED_IN_TDMR', 0xc000_0a20_0000_0000n, 'tdmr-rsvd'],
  ['TDX_NON_ORDERED_RESERVED_IN_TDMR', 0xc000_0a21_0000_0000n, 'tdmr-rsvd'],
  ['TDX_CMR_LIST_INVALID', 0xc000_0a22_0000_0000n],
  // SEPT (class 0x0B).
  ['TDX_EPT_WALK_FAILED', 0xc000_0b00_0000_0000n, 'operand'],
  ['TDX_EPT_ENTRY_FREE', 0xc000_0b01_0000_0000n, 'operand'],
  ['TDX_EPT_ENTRY_NOT_FREE', 0xc000_0b02_0000_0000n, 'operand'],
  ['TDX_EPT_ENTRY_NOT_PRESENT', 0xc000_0b03_0000_0000n, 'operand'],
  ['TDX_EPT_ENTRY_NOT_LEAF', 0xc000_0b04_0000_0000n, 'operand'],
  ['TDX_EPT_ENTRY_LEAF', 0xc000_0b05_0000_0000n, 'operand'],
  ['TDX_GPA_RANGE_NOT_BLOCKED', 0xc000_0b06_0000_0000n, 'operand'],
  ['TDX_GPA_RANGE_ALREADY_BLOCKED', 0x0000_0b07_0000_0000n, 'operand'],
  ['TDX_TLB_TRACKING_NOT_DONE', 0xc000_0b08_0000_0000n, 'operand'],
  ['TDX_EPT_INVALID_PROMOTE_CONDITIONS', 0xc000_0b09_0000_0000n, 'operand'],
  ['TDX_PAGE_ALREADY_ACCEPTED', 0x0000_0b0a_0000_0000n, 'operand'],
  ['TDX_PAGE_SIZE_MISMATCH', 0xc000_0b0b_0000_0000n, 'operand'],
  ['TDX_GPA_RANGE_BLOCKED', 0xc000_0b0c_0000_0000n, 'operand'],
  ['TDX_EPT_ENTRY_STATE_INCORRECT', 0xc000_0b0d_0000_0000n, 'operand'],
  ['TDX_EPT_PAGE_NOT_FREE', 0xc000_0b0e_0000_0000n, 'operand'],
  // Metadata (class 0x0C).
  ['TDX_METADATA_FIELD_ID_INCORRECT', 0xc000_0c00_0000_0000n],
  ['TDX_METADATA_FIELD_NOT_WRITABLE', 0xc000_0c01_0000_0000n],
  ['TDX_METADATA_FIELD_NOT_READABLE', 0xc000_0c02_0000_0000n],
  ['TDX_METADATA_FIELD_VALUE_NOT_VALID', 0xc000_0c03_0000_0000n],
  ['TDX_METADATA_LIST_OVERFLOW', 0xc000_0c04_0000_0000n],
  ['TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT', 0x0000_0c0b_0000_0000n],
  ['TDX_METADATA_FIELD_SKIP', 0x0000_0c0c_0000_0000n],
];

/** Linux software-defined codes (class 0xFF): never produced by the module. */
const SW_ROWS: readonly (readonly [string, bigint])[] = [
  ['TDX_SEAMCALL_VMFAILINVALID', 0x8000_ff00_ffff_0000n],
  ['TDX_SEAMCALL_GP', 0x8000_ff00_0000_000dn],
  ['TDX_SEAMCALL_UD', 0x8000_ff00_0000_0006n],
  ['TDX_SW_ERROR', 0x8000_ff00_0000_0000n],
];

function row(name: string, value: bigint, detail: Detail = 'none'): StatusInfo {
  const severity = severityOf(value);
  const recoverable = severity === 'recoverable';
  return { name, value: value as U64, cls: Number((value >> 40n) & 0xffn), severity, recoverable, detail };
}

/** Every module status, in the order of the spec's section 4.2. */
export const STATUS_TABLE: readonly StatusInfo[] = ROWS.map(([n, v, d]) => row(n, v, d));
/** Linux software codes (SEAMCALL instruction failures as Linux reports them). */
export const SW_STATUS_TABLE: readonly StatusInfo[] = SW_ROWS.map(([n, v]) => row(n, v));

const BY_NAME = new Map<string, StatusInfo>();
const BY_VALUE = new Map<bigint, StatusInfo>();
for (const s of [...STATUS_TABLE, ...SW_STATUS_TABLE]) {
  BY_NAME.set(s.name, s);
  if (!BY_VALUE.has(s.value)) {
    BY_VALUE.set(s.value, s);
  }
}

function v(name: string): U64 {
  const s = BY_NAME.get(name);
  if (s === undefined) {
    throw new Error(`unknown status ${name}`);
  }
  return s.value;
}

// Named constants for the statuses the model produces (SCREAMING_SNAKE, as in the module source).
export const TDX_SUCCESS: U64 = v('TDX_SUCCESS');
export const TDX_INTERRUPTED_RESUMABLE: U64 = v('TDX_INTERRUPTED_RESUMABLE');
export const TDX_INTERRUPTED_RESTARTABLE: U64 = v('TDX_INTERRUPTED_RESTARTABLE');
export const TDX_OPERAND_INVALID: U64 = v('TDX_OPERAND_INVALID');
export const TDX_OPERAND_ADDR_RANGE_ERROR: U64 = v('TDX_OPERAND_ADDR_RANGE_ERROR');
export const TDX_OPERAND_BUSY: U64 = v('TDX_OPERAND_BUSY');
export const TDX_SYS_BUSY: U64 = v('TDX_SYS_BUSY');
export const TDX_RND_NO_ENTROPY: U64 = v('TDX_RND_NO_ENTROPY');
export const TDX_PAGE_METADATA_INCORRECT: U64 = v('TDX_PAGE_METADATA_INCORRECT');
export const TDX_PAGE_NOT_FREE: U64 = v('TDX_PAGE_NOT_FREE');
export const TDX_HPA_RANGE_NOT_FREE: U64 = v('TDX_HPA_RANGE_NOT_FREE');
export const TDX_NO_PAMT_PAGE_PAIR: U64 = v('TDX_NO_PAMT_PAGE_PAIR');
export const TDX_PAMT_PAGE_NOT_EMPTY: U64 = v('TDX_PAMT_PAGE_NOT_EMPTY');
export const TDX_MISSING_PAMT_PAGE_PAIR: U64 = v('TDX_MISSING_PAMT_PAGE_PAIR');
export const TDX_EPT_INVALID_PROMOTE_CONDITIONS: U64 = v('TDX_EPT_INVALID_PROMOTE_CONDITIONS');
export const TDX_TD_ASSOCIATED_PAGES_EXIST: U64 = v('TDX_TD_ASSOCIATED_PAGES_EXIST');
export const TDX_SYS_INIT_NOT_PENDING: U64 = v('TDX_SYS_INIT_NOT_PENDING');
export const TDX_SYS_LP_INIT_NOT_DONE: U64 = v('TDX_SYS_LP_INIT_NOT_DONE');
export const TDX_SYS_LP_INIT_DONE: U64 = v('TDX_SYS_LP_INIT_DONE');
export const TDX_SYS_NOT_READY: U64 = v('TDX_SYS_NOT_READY');
export const TDX_SYS_SHUTDOWN: U64 = v('TDX_SYS_SHUTDOWN');
export const TDX_SYS_KEY_CONFIG_NOT_PENDING: U64 = v('TDX_SYS_KEY_CONFIG_NOT_PENDING');
export const TDX_SYS_STATE_INCORRECT: U64 = v('TDX_SYS_STATE_INCORRECT');
export const TDX_SYS_INVALID_HANDOFF: U64 = v('TDX_SYS_INVALID_HANDOFF');
export const TDX_INCONSISTENT_CPUID_FIELD: U64 = v('TDX_INCONSISTENT_CPUID_FIELD');
export const TDX_SYS_INCOMPATIBLE_SIGSTRUCT: U64 = v('TDX_SYS_INCOMPATIBLE_SIGSTRUCT');
export const TDX_SYS_LP_INIT_NOT_PENDING: U64 = v('TDX_SYS_LP_INIT_NOT_PENDING');
export const TDX_SYS_CONFIG_NOT_PENDING: U64 = v('TDX_SYS_CONFIG_NOT_PENDING');
export const TDX_TD_FATAL: U64 = v('TDX_TD_FATAL');
export const TDX_TDCS_NOT_ALLOCATED: U64 = v('TDX_TDCS_NOT_ALLOCATED');
export const TDX_LIFECYCLE_STATE_INCORRECT: U64 = v('TDX_LIFECYCLE_STATE_INCORRECT');
export const TDX_OP_STATE_INCORRECT: U64 = v('TDX_OP_STATE_INCORRECT');
export const TDX_TDCX_NUM_INCORRECT: U64 = v('TDX_TDCX_NUM_INCORRECT');
export const TDX_X2APIC_ID_NOT_UNIQUE: U64 = v('TDX_X2APIC_ID_NOT_UNIQUE');
export const TDX_VCPU_STATE_INCORRECT: U64 = v('TDX_VCPU_STATE_INCORRECT');
export const TDX_MAX_VCPUS_EXCEEDED: U64 = v('TDX_MAX_VCPUS_EXCEEDED');
export const TDX_VCPU_NOT_ASSOCIATED: U64 = v('TDX_VCPU_NOT_ASSOCIATED');
export const TDX_KEY_GENERATION_FAILED: U64 = v('TDX_KEY_GENERATION_FAILED');
export const TDX_TD_KEYS_NOT_CONFIGURED: U64 = v('TDX_TD_KEYS_NOT_CONFIGURED');
export const TDX_KEY_CONFIGURED: U64 = v('TDX_KEY_CONFIGURED');
export const TDX_WBCACHE_NOT_COMPLETE: U64 = v('TDX_WBCACHE_NOT_COMPLETE');
export const TDX_HKID_NOT_FREE: U64 = v('TDX_HKID_NOT_FREE');
export const TDX_NO_HKID_READY_TO_WBCACHE: U64 = v('TDX_NO_HKID_READY_TO_WBCACHE');
export const TDX_WBCACHE_RESUME_ERROR: U64 = v('TDX_WBCACHE_RESUME_ERROR');
export const TDX_FLUSHVP_NOT_DONE: U64 = v('TDX_FLUSHVP_NOT_DONE');
export const TDX_NUM_ACTIVATED_HKIDS_NOT_SUPPORTED: U64 = v('TDX_NUM_ACTIVATED_HKIDS_NOT_SUPPORTED');
export const TDX_LIMIT_CPUID_MAXVAL_SET: U64 = v('TDX_LIMIT_CPUID_MAXVAL_SET');
export const TDX_INVALID_PKG_ID: U64 = v('TDX_INVALID_PKG_ID');
export const TDX_SMRR_OVERLAPS_CMR: U64 = v('TDX_SMRR_OVERLAPS_CMR');
export const TDX_SMRR_NOT_SUPPORTED: U64 = v('TDX_SMRR_NOT_SUPPORTED');
export const TDX_INCONSISTENT_MSR: U64 = v('TDX_INCONSISTENT_MSR');
export const TDX_INCORRECT_MSR_VALUE: U64 = v('TDX_INCORRECT_MSR_VALUE');
export const TDX_INVALID_TDMR: U64 = v('TDX_INVALID_TDMR');
export const TDX_NON_ORDERED_TDMR: U64 = v('TDX_NON_ORDERED_TDMR');
export const TDX_TDMR_OUTSIDE_CMRS: U64 = v('TDX_TDMR_OUTSIDE_CMRS');
export const TDX_TDMR_ALREADY_INITIALIZED: U64 = v('TDX_TDMR_ALREADY_INITIALIZED');
export const TDX_INVALID_PAMT: U64 = v('TDX_INVALID_PAMT');
export const TDX_PAMT_OUTSIDE_CMRS: U64 = v('TDX_PAMT_OUTSIDE_CMRS');
export const TDX_PAMT_OVERLAP: U64 = v('TDX_PAMT_OVERLAP');
export const TDX_INVALID_RESERVED_IN_TDMR: U64 = v('TDX_INVALID_RESERVED_IN_TDMR');
export const TDX_NON_ORDERED_RESERVED_IN_TDMR: U64 = v('TDX_NON_ORDERED_RESERVED_IN_TDMR');
export const TDX_CMR_LIST_INVALID: U64 = v('TDX_CMR_LIST_INVALID');
export const TDX_EPT_WALK_FAILED: U64 = v('TDX_EPT_WALK_FAILED');
export const TDX_EPT_ENTRY_STATE_INCORRECT: U64 = v('TDX_EPT_ENTRY_STATE_INCORRECT');
export const TDX_EPT_ENTRY_NOT_PRESENT: U64 = v('TDX_EPT_ENTRY_NOT_PRESENT');
export const TDX_EPT_ENTRY_FREE: U64 = v('TDX_EPT_ENTRY_FREE');
export const TDX_GPA_RANGE_NOT_BLOCKED: U64 = v('TDX_GPA_RANGE_NOT_BLOCKED');
export const TDX_GPA_RANGE_ALREADY_BLOCKED: U64 = v('TDX_GPA_RANGE_ALREADY_BLOCKED');
export const TDX_TLB_TRACKING_NOT_DONE: U64 = v('TDX_TLB_TRACKING_NOT_DONE');
export const TDX_EPT_PAGE_NOT_FREE: U64 = v('TDX_EPT_PAGE_NOT_FREE');
export const TDX_PREVIOUS_TLB_EPOCH_BUSY: U64 = v('TDX_PREVIOUS_TLB_EPOCH_BUSY');
export const TDX_NO_VCPUS: U64 = v('TDX_NO_VCPUS');
export const TDX_VCPU_ASSOCIATED: U64 = v('TDX_VCPU_ASSOCIATED');
export const TDX_METADATA_FIELD_NOT_WRITABLE: U64 = v('TDX_METADATA_FIELD_NOT_WRITABLE');
export const TDX_METADATA_FIELD_VALUE_NOT_VALID: U64 = v('TDX_METADATA_FIELD_VALUE_NOT_VALID');
export const TDX_METADATA_FIELD_ID_INCORRECT: U64 = v('TDX_METADATA_FIELD_ID_INCORRECT');
export const TDX_METADATA_FIELD_NOT_READABLE: U64 = v('TDX_METADATA_FIELD_NOT_READABLE');
export const TDX_METADATA_LIST_OVERFLOW: U64 = v('TDX_METADATA_LIST_OVERFLOW');
export const TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT: U64 = v('TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT');
export const TDX_SEAMCALL_VMFAILINVALID: U64 = v('TDX_SEAMCALL_VMFAILINVALID');
export const TDX_SEAMCALL_GP: U64 = v('TDX_SEAMCALL_GP');
export const TDX_SEAMCALL_UD: U64 = v('TDX_SEAMCALL_UD');

/**
 * Operand ids placed in bits 31:0 of operand-class statuses.
 * @see TDX module ABI section 4.3
 */
export const OPERAND_ID = {
  RAX: 0,
  RCX: 1,
  RDX: 2,
  RBX: 3,
  RBP: 5,
  RSI: 6,
  RDI: 7,
  R8: 8,
  R9: 9,
  R10: 10,
  R11: 11,
  R12: 12,
  R13: 13,
  R14: 14,
  R15: 15,
  ATTRIBUTES: 64,
  XFAM: 65,
  EXEC_CONTROLS: 66,
  EPTP_CONTROLS: 67,
  MAX_VCPUS: 68,
  CPUID_CONFIG: 69,
  TSC_FREQUENCY: 70,
  NUM_L2_VMS: 71,
  IA32_ARCH_CAPABILITIES_CONFIG: 72,
  PAGE: 95,
  TDMR_INFO_PA: 96,
  GPA_LIST_ENTRY: 97,
  MIG_BUFF_LIST_ENTRY: 98,
  NEW_PAGE_LIST_ENTRY: 99,
  TDR: 128,
  TDCX: 129,
  TDVPR: 130,
  REG_PAGE: 132,
  TDCS: 144,
  TDVPS: 145,
  SEPT_TREE: 146,
  SEPT_ENTRY: 147,
  RTMR: 168,
  TD_EPOCH: 169,
  L2_VAPIC_GPA: 170,
  MIGSC: 171,
  OP_STATE: 172,
  MIG: 173,
  SERVTD_BINDINGS: 174,
  METADATA_FIELD: 176,
  SYS: 184,
  TDMR: 185,
  KOT: 186,
  KET: 187,
  WBCACHE: 188,
} as const;

/** An operand id name. */
export type OperandName = keyof typeof OPERAND_ID;

const OPERAND_NAME = new Map<number, string>(Object.entries(OPERAND_ID).map(([k, n]) => [n, k]));

/** The module's `api_error_with_operand_id`: status + operand id in bits 31:0. */
export function withOperand(status: U64, operand: number): U64 {
  return (status + BigInt(operand)) as U64;
}

/** PAMT page sizes as used in packed TDMR/PAMT codes. */
export const PAMT_SIZE_NAME = ['4K', '2M', '1G'] as const;

/** TDX_INVALID_TDMR(i), TDX_NON_ORDERED_TDMR(i), TDX_TDMR_OUTSIDE_CMRS(i). */
export function tdmrCode(status: U64, i: number): U64 {
  return (status + BigInt(i)) as U64;
}
/** TDX_INVALID_PAMT(i, pt), TDX_PAMT_OUTSIDE_CMRS(i, pt): pt 0 = 4K, 1 = 2M, 2 = 1G. */
export function tdmrPamtCode(status: U64, i: number, pt: number): U64 {
  return (status + BigInt(i) + (BigInt(pt) << 8n)) as U64;
}
/** TDX_PAMT_OVERLAP(i, pt, j). */
export function pamtOverlap(i: number, pt: number, j: number): U64 {
  return (TDX_PAMT_OVERLAP + BigInt(i) + (BigInt(pt) << 8n) + (BigInt(j) << 16n)) as U64;
}
/** TDX_INVALID_RESERVED_IN_TDMR(i, j) / TDX_NON_ORDERED_RESERVED_IN_TDMR(i, j). */
export function tdmrRsvdCode(status: U64, i: number, j: number): U64 {
  return (status + BigInt(i) + (BigInt(j) << 8n)) as U64;
}
/** TDX_INCORRECT_MSR_VALUE|msr, TDX_INCONSISTENT_MSR|msr. */
export function msrCode(status: U64, msr: number): U64 {
  return (status + BigInt(msr)) as U64;
}
/** TDX_SMRR_OVERLAPS_CMR(n, c). */
export function smrrOverlapsCmr(n: number, c: number): U64 {
  return (TDX_SMRR_OVERLAPS_CMR + BigInt(n) + (BigInt(c) << 8n)) as U64;
}

/** Look up a status row by name. */
export function statusByName(name: string): StatusInfo | undefined {
  return BY_NAME.get(name);
}

/** The table row whose value equals `status` with bits 31:0 cleared (or the exact value). */
export function statusInfo(status: bigint): StatusInfo | undefined {
  const exact = BY_VALUE.get(status);
  if (exact !== undefined) {
    return exact;
  }
  const masked = BY_VALUE.get(status & TDX_SEAMCALL_STATUS_MASK);
  // Only statuses that carry details in bits 31:0 match with non-zero low bits.
  return masked !== undefined && masked.detail !== 'none' ? masked : undefined;
}

/** Name of a status, e.g. "TDX_OPERAND_INVALID", or "UNKNOWN_STATUS". */
export function statusName(status: bigint): string {
  return statusInfo(status)?.name ?? 'UNKNOWN_STATUS';
}

/** A decoded status, as `tdxsim explain` prints it. */
export interface StatusDescription {
  readonly value: string;
  readonly name: string;
  /** Name with its detail, e.g. "TDX_PAMT_OVERLAP(1, 1G, 0)" or "TDX_OPERAND_INVALID|RCX". */
  readonly display: string;
  readonly cls: number;
  readonly severity: StatusSeverity | 'unknown';
  readonly recoverable: boolean;
  readonly details: Record<string, number | string>;
  readonly known: boolean;
}

function describeDetail(info: StatusInfo, low: number): { display: string; details: Record<string, number | string> } {
  const b0 = low & 0xff;
  const b1 = (low >>> 8) & 0xff;
  const b2 = (low >>> 16) & 0xff;
  const n = info.name;
  switch (info.detail) {
    case 'operand': {
      const op = OPERAND_NAME.get(low) ?? hex(low);
      return { display: low === 0 && n !== 'TDX_OPERAND_INVALID' ? n : `${n}|${op}`, details: { operand: op, operandId: low } };
    }
    case 'tdmr':
      return { display: `${n}(${low})`, details: { tdmr: low } };
    case 'tdmr-pamt':
      return { display: `${n}(${b0}, ${PAMT_SIZE_NAME[b1] ?? b1})`, details: { tdmr: b0, pamt: PAMT_SIZE_NAME[b1] ?? b1 } };
    case 'pamt-overlap':
      return { display: `${n}(${b0}, ${PAMT_SIZE_NAME[b1] ?? b1}, ${b2})`, details: { tdmr: b0, pamt: PAMT_SIZE_NAME[b1] ?? b1, otherTdmr: b2 } };
    case 'tdmr-rsvd':
      return { display: `${n}(${b0}, ${b1})`, details: { tdmr: b0, reservedArea: b1 } };
    case 'msr':
      return { display: `${n}|${hex(low)}`, details: { msr: hex(low) } };
    case 'smrr':
      return { display: `${n}(${low})`, details: { smrr: low } };
    case 'smrr-cmr':
      return { display: `${n}(${b0}, ${b1})`, details: { smrr: b0, cmr: b1 } };
    case 'cpuid':
      return { display: `${n}|${hex(low)}`, details: { leaf: hex(low) } };
    case 'hkid':
      return { display: `${n}|${low}`, details: { maxHkids: low } };
    case 'pkg':
      return { display: `${n}|${low}`, details: { pkg: low } };
    case 'x2apic':
      return { display: `${n}|${hex(low)}`, details: { x2apicId: hex(low) } };
    case 'none':
      return { display: n, details: {} };
  }
}

/**
 * Decode a 64-bit status into name, class, severity and its packed details.
 * @see TDX module ABI section 4.1 (bit layout)
 */
export function describeStatus(status: bigint): StatusDescription {
  const value = hex16(status);
  const exact = BY_VALUE.get(status);
  const info = statusInfo(status);
  if (info === undefined) {
    const sev = severityOf(status);
    return { value, name: 'UNKNOWN_STATUS', display: 'UNKNOWN_STATUS', cls: Number((status >> 40n) & 0xffn), severity: sev, recoverable: sev === 'recoverable', details: {}, known: false };
  }
  const low = exact !== undefined ? 0 : Number(status & 0xffff_ffffn);
  const d = describeDetail(info, low);
  return { value, name: info.name, display: d.display, cls: info.cls, severity: info.severity, recoverable: info.recoverable, details: d.details, known: true };
}

/**
 * TDH.VP.ENTER (leaf 0) ends with a TD exit whose RAX holds a status class in bits 63:32 and the
 * VMX basic exit reason in bits 31:0. The classes that carry an exit reason are TDX_SUCCESS and
 * the non-recoverable TD/VCPU classes; any other status of the leaf is an ordinary error.
 * @see linux arch/x86/kvm/vmx/tdx.c tdx_to_vmx_exit_reason() v6.16 (the classes it accepts)
 * @see TDX module 1.5.01 src/td_transitions/td_exit.c (exit reason in RAX bits 31:0)
 */
const TD_EXIT_CLASSES: ReadonlySet<bigint> = new Set([
  v('TDX_SUCCESS'),
  v('TDX_NON_RECOVERABLE_VCPU'),
  v('TDX_NON_RECOVERABLE_TD'),
  v('TDX_NON_RECOVERABLE_TD_NON_ACCESSIBLE'),
  v('TDX_NON_RECOVERABLE_TD_WRONG_APIC_MODE'),
]);

/**
 * VMX basic exit reasons by number, for the exits the guest model produces.
 * @see Intel SDM Vol. 3 Appendix C (12 HLT, 48 EPT violation, 77 TDCALL)
 */
const VMX_EXIT_REASON_NAMES: Readonly<Record<number, string>> = { 12: 'HLT', 48: 'EPT violation', 77: 'TDCALL' };

/** The TD exit in a TDH.VP.ENTER status, or undefined when `status` is not one. */
export function tdExitOf(leaf: number, status: bigint): { readonly className: string; readonly reason: number; readonly reasonName: string | undefined } | undefined {
  if (leaf !== 0) {
    return undefined;
  }
  const cls = status & TDX_SEAMCALL_STATUS_MASK;
  const reason = Number(status & 0xffff_ffffn);
  if (!TD_EXIT_CLASSES.has(cls) || reason === 0) {
    return undefined;
  }
  return { className: BY_VALUE.get(cls)!.name, reason, reasonName: Object.hasOwn(VMX_EXIT_REASON_NAMES, reason) ? VMX_EXIT_REASON_NAMES[reason] : undefined };
}

/** Name of a leaf's status: a TD exit of TDH.VP.ENTER is named by its class (TDX_SUCCESS, ...). */
export function leafStatusName(leaf: number, status: bigint): string {
  return tdExitOf(leaf, status)?.className ?? statusName(status);
}

/** Display of a leaf's status: a TD exit reads "TDX_SUCCESS, exit reason 77 (TDCALL)". */
export function leafStatusDisplay(leaf: number, status: bigint): string {
  const x = tdExitOf(leaf, status);
  if (x === undefined) {
    return describeStatus(status).display;
  }
  return `${x.className}, exit reason ${x.reason}${x.reasonName !== undefined ? ` (${x.reasonName})` : ''}`;
}
