/**
 * `tdxsim explain`: what a SEAMCALL status means. Name, class, severity and the decoded
 * operand come from the module's one status table (src/module/status.ts); this file adds what
 * the leaf was checking when it produced the status (module-abi.md section 3), what usually
 * causes it on real systems, what to do, and how Linux reacts (the errno map of the kernel model).
 */
import { EACCES, EIO, ENODEV, EOPNOTSUPP, errname } from '../kernel/errno.js';
import { seamcall_errno } from '../kernel/tdx/seamcall.js';
import { leafName } from '../module/leafNumbers.js';
import { describeReleases, MODULE_PROFILE_NAMES, moduleProfile } from '../module/profiles.js';
import { describeStatus, statusInfo } from '../module/status.js';
import { TdxsimError } from '../api/errors.js';
import { hx } from './parse/num.js';
import { parseLeafArg, parseStatusArg } from './parse/status.js';

/** What `explain` is asked. */
export interface ExplainRequest {
  /** The status: hex, a status name, or a whole SEAMCALL failure line. */
  readonly status: string;
  /** The leaf (number, hex or name); taken from the line when the status is a line. */
  readonly leaf?: string;
}

/** What `explain` returns. */
export interface ExplainResult {
  readonly input: string;
  readonly value: string;
  readonly known: boolean;
  readonly name: string;
  /** Name with its decoded detail, e.g. "TDX_PAMT_OVERLAP(1, 1G, 0)". */
  readonly display: string;
  readonly class: { readonly id: number; readonly hex: string; readonly name: string };
  readonly severity: string;
  readonly recoverable: boolean;
  readonly fatal: boolean;
  readonly bits: { readonly error: boolean; readonly nonRecoverable: boolean; readonly fatal: boolean; readonly hostRecoverabilityHint: boolean; readonly reserved: string; readonly detailsL1: string; readonly detailsL2: string };
  readonly operand: { readonly raw: string; readonly text: string; readonly fields: Record<string, number | string> } | null;
  /** The leaf: given, taken from the line, or inferred when only one leaf returns this status. */
  readonly leaf: { readonly number: number; readonly version: number; readonly name: string; readonly does: string; readonly inferred: boolean } | null;
  readonly meaning: string;
  readonly checking: string | null;
  readonly causes: string[];
  readonly remedies: string[];
  readonly linux: { readonly errno: number; readonly errnoName: string; readonly printed: boolean; readonly note: string };
}

// ---------------------------------------------------------------- reference data

/** Status classes (bits 47:40). @see module-abi.md section 4.1 */
const CLASS_NAMES: Record<number, string> = {
  0x00: 'general',
  0x01: 'operand',
  0x02: 'busy / resource',
  0x03: 'page metadata',
  0x04: 'TD pages',
  0x05: 'system state',
  0x06: 'TD state',
  0x07: 'VCPU',
  0x08: 'keys (KeyID / HKID)',
  0x09: 'platform: CPUID, MSR, SMRR',
  0x0a: 'TDMR / PAMT / CMR',
  0x0b: 'Secure EPT',
  0x0c: 'metadata',
  0x0d: 'service TD',
  0x0e: 'migration',
  0x10: 'attestation',
  0x11: 'L2 / TD exit',
  0xff: 'Linux software code (never produced by the module)',
};

/** MSRs that appear in TDX_INCORRECT_MSR_VALUE / TDX_INCONSISTENT_MSR codes. */
const MSR_NAMES: Record<number, string> = {
  0x3a: 'IA32_FEATURE_CONTROL',
  0x3b: 'IA32_TSC_ADJUST',
  0x87: 'IA32_MKTME_KEYID_PARTITIONING',
  0x98: 'IA32_WBINVDP',
  0x99: 'IA32_WBNOINVDP',
  0xbc: 'IA32_MISC_PACKAGE_CTLS',
  0xbd: 'IA32_XAPIC_DISABLE_STATUS',
  0xfe: 'IA32_MTRRCAP',
  0x10a: 'IA32_ARCH_CAPABILITIES',
  0x1a0: 'IA32_MISC_ENABLE',
  0x1f2: 'IA32_SMRR_PHYSBASE',
  0x1f3: 'IA32_SMRR_PHYSMASK',
  0x1f6: 'IA32_SMRR2_PHYSBASE',
  0x1f7: 'IA32_SMRR2_PHYSMASK',
  0x345: 'IA32_PERF_CAPABILITIES',
  0x480: 'IA32_VMX_BASIC',
  0x481: 'IA32_VMX_PINBASED_CTLS',
  0x482: 'IA32_VMX_PROCBASED_CTLS',
  0x483: 'IA32_VMX_EXIT_CTLS',
  0x484: 'IA32_VMX_ENTRY_CTLS',
  0x485: 'IA32_VMX_MISC',
  0x486: 'IA32_VMX_CR0_FIXED0',
  0x487: 'IA32_VMX_CR0_FIXED1',
  0x488: 'IA32_VMX_CR4_FIXED0',
  0x489: 'IA32_VMX_CR4_FIXED1',
  0x48b: 'IA32_VMX_PROCBASED_CTLS2',
  0x48c: 'IA32_VMX_EPT_VPID_CAP',
  0x48d: 'IA32_VMX_TRUE_PINBASED_CTLS',
  0x48e: 'IA32_VMX_TRUE_PROCBASED_CTLS',
  0x48f: 'IA32_VMX_TRUE_EXIT_CTLS',
  0x490: 'IA32_VMX_TRUE_ENTRY_CTLS',
  0x491: 'IA32_VMX_VMFUNC',
  0x492: 'IA32_VMX_PROCBASED_CTLS3',
  0x981: 'IA32_TME_CAPABILITY',
  0x982: 'IA32_TME_ACTIVATE',
  0x1400: 'IA32_SEAMRR_PHYS_BASE',
  0x1401: 'IA32_SEAMRR_PHYS_MASK',
};

/** What each leaf does and, per status, what it was checking when it returned that status. */
interface LeafKnowledge {
  readonly does: string;
  readonly checks: Readonly<Record<string, string>>;
}

const BUSY_GLOBAL = 'the exclusive global lock: another logical processor is inside a conflicting TDH.SYS.* leaf (SYS.INIT, LP.INIT, CONFIG, KEY.CONFIG, SHUTDOWN, UPDATE)';
const PLATFORM_CHECKS = 'the platform checks SYS.INIT makes before latching the configuration: MSRs (IA32_ARCH_CAPABILITIES, IA32_XAPIC_DISABLE_STATUS, IA32_MISC_PACKAGE_CTLS, IA32_PERF_CAPABILITIES; from 1.5.05 IA32_MISC_ENABLE PERFMON_AVAILABLE set and BTS_UNAVAILABLE clear), CPUID values and leaf 0x1F, the VMX capability MSRs (IA32_VMX_PROCBASED_CTLS3 must allow what the TD VMCS needs), TME/MKTME activation, WBINVDP/WBNOINVDP, the CMR list, SMRR';

const LEAVES: Readonly<Record<number, LeafKnowledge>> = {
  33: {
    does: 'TDH.SYS.INIT: global module initialisation, once, from any LP (Linux: the first tdx_cpu_enable())',
    checks: {
      TDX_SYS_BUSY: BUSY_GLOBAL,
      TDX_OPERAND_INVALID: 'RCX (module attributes): all 64 bits are reserved and must be 0 (checked before the state)',
      TDX_SYS_INIT_NOT_PENDING: 'the module state: SYS.INIT runs only in SYSINIT_PENDING, the state of a freshly loaded module',
      TDX_INCORRECT_MSR_VALUE: `${PLATFORM_CHECKS}; the MSR in the operand has a value TDX cannot run with`,
      TDX_LIMIT_CPUID_MAXVAL_SET: 'IA32_MISC_ENABLE "Limit CPUID Maxval" (boot-NT4) must be clear',
      TDX_CPUID_LEAF_NOT_SUPPORTED: 'the maximum CPUID leaf: a leaf TDX needs is not reported',
      TDX_INCORRECT_CPUID_VALUE: 'CPUID values against what TDX requires (RCX = leaf/subleaf, RDX/R8 = mask, R9/R10 = expected value)',
      TDX_CPUID_LEAF_1F_FORMAT_UNRECOGNIZED: 'CPUID leaf 0x1F (extended topology) format',
      TDX_INVALID_WBINVD_SCOPE: 'that the L3 cache (WBINVD scope) is package-scoped',
      TDX_NUM_ACTIVATED_HKIDS_NOT_SUPPORTED: 'the KeyID partitioning: the last private HKID must be below 2048',
      TDX_CMR_LIST_INVALID: 'the CMR list from MCHECK: each CMR page-aligned, below 2^52, sorted and non-overlapping',
      TDX_SMRR_NOT_SUPPORTED: 'SMRR support (MTRRCAP)',
      TDX_SMRR_LOCK_NOT_SUPPORTED: 'SMRR lock capability',
      TDX_SMRR_NOT_LOCKED: 'that the SMRR in the operand is locked',
      TDX_INVALID_SMRR_CONFIGURATION: 'the SMRR base/mask in the operand',
      TDX_SMRR_OVERLAPS_CMR: 'that no SMRR range overlaps a CMR (operand: SMRR n, CMR c)',
      TDX_INCOMPATIBLE_SEAM_CAPABILITIES: 'the SEAM capabilities: the loader must offer TD-preserving support the module needs',
      TDX_SYS_INCOMPATIBLE_SIGSTRUCT: 'the module image handoff-version parameters',
      TDX_RND_NO_ENTROPY: 'RDRAND for the module\'s global seed',
    },
  },
  35: {
    does: 'TDH.SYS.LP.INIT: per-LP initialisation, on every logical processor MCHECK counted, each for itself',
    checks: {
      TDX_SYS_BUSY: 'the shared global lock (held exclusively by SYS.INIT, CONFIG, KEY.CONFIG, SHUTDOWN or UPDATE on another LP)',
      TDX_SYS_LP_INIT_NOT_PENDING: 'the module state: LP.INIT runs only in SYSINIT_DONE (after SYS.INIT, before SYS.CONFIG)',
      TDX_SYS_LP_INIT_DONE: 'whether this LP is already initialised',
      TDX_RND_NO_ENTROPY: 'RDRAND for the per-LP seed',
      TDX_INCOMPATIBLE_SEAM_CAPABILITIES: 'that this LP\'s SEAM capabilities equal those SYS.INIT latched',
      TDX_INCONSISTENT_MSR: 'that this LP\'s MSR in the operand equals the value SYS.INIT latched on the first LP',
      TDX_LIMIT_CPUID_MAXVAL_SET: 'IA32_MISC_ENABLE "Limit CPUID Maxval" on this LP',
      TDX_INCONSISTENT_CPUID_FIELD: 'that this LP\'s CPUID fields equal those SYS.INIT latched (RCX = leaf/subleaf)',
      TDX_INVALID_PKG_ID: 'this LP\'s package id (must be below 8)',
    },
  },
  32: {
    does: 'TDH.SYS.INFO: the legacy module-information structure and the CMR list (2022 drafts up to v14)',
    checks: {
      TDX_SYS_LP_INIT_NOT_DONE: 'that the calling LP has done TDH.SYS.LP.INIT',
      TDX_OPERAND_INVALID: 'the buffers: RCX (TDSYSINFO_STRUCT, 1 KiB aligned, shared), RDX (size >= 1024), R8 (CMR array, 512-byte aligned, shared), R9 (entries >= 32)',
    },
  },
  34: {
    does: 'TDH.SYS.RD: read one global metadata field (Linux 6.8+ reads the module limits and, later, features, TD control and TD configuration fields)',
    checks: {
      TDX_SYS_LP_INIT_NOT_DONE: 'that the calling LP has done TDH.SYS.LP.INIT',
      TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT: 'the field id: a null id returns the first field of the context',
      TDX_METADATA_FIELD_ID_INCORRECT: 'the field id in RDX: reserved bits, and whether this module version has the field at all',
      TDX_METADATA_FIELD_NOT_READABLE: 'whether the host may read the field',
    },
  },
  45: {
    does: 'TDH.SYS.CONFIG: hand the module the TDMR list (RCX = array of TDMR_INFO addresses, RDX = count) and the global KeyID (R8)',
    checks: {
      TDX_SYS_BUSY: BUSY_GLOBAL,
      TDX_SYS_CONFIG_NOT_PENDING: 'the module state (must be SYSINIT_DONE) and that every LP MCHECK counted has done LP.INIT',
      TDX_OPERAND_INVALID: 'RCX (array: 512-byte aligned, below 2^52, outside SEAMRR, shared KeyID), RDX (1..64 TDMRs), R8 (a private KeyID), then each array entry',
      TDX_INVALID_TDMR: 'TDMR i: base/size overflow, 1 GiB alignment, non-zero size, below 2^52, no KeyID bits',
      TDX_NON_ORDERED_TDMR: 'TDMR i against TDMR i-1: sorted by base and not overlapping',
      TDX_INVALID_RESERVED_IN_TDMR: 'reserved area j of TDMR i: 4 KiB aligned, no overflow, inside the TDMR',
      TDX_NON_ORDERED_RESERVED_IN_TDMR: 'reserved area j of TDMR i: sorted, not overlapping the previous one, null entries only at the tail',
      TDX_INVALID_PAMT: 'the PAMT of TDMR i for one page size: 4 KiB aligned, below 2^52, large enough for the TDMR',
      TDX_PAMT_OVERLAP: 'PAMT of TDMR i (page size pt) against the PAMTs and the non-reserved parts of TDMR j',
      TDX_PAMT_OUTSIDE_CMRS: 'that the PAMT of TDMR i (page size pt) lies inside convertible memory (CMRs)',
      TDX_TDMR_OUTSIDE_CMRS: 'that every non-reserved part of TDMR i lies inside convertible memory (CMRs)',
    },
  },
  31: {
    does: 'TDH.SYS.KEY.CONFIG: program the global KeyID\'s key on this package (once per package, serially)',
    checks: {
      TDX_SYS_BUSY: `${BUSY_GLOBAL}; two packages configured in parallel collide here`,
      TDX_SYS_KEY_CONFIG_NOT_PENDING: 'the module state: KEY.CONFIG runs only in SYSCONFIG_DONE (after SYS.CONFIG, before READY)',
      TDX_KEY_CONFIGURED: 'whether this package is already configured',
      TDX_OPERAND_BUSY: 'PCONFIG: the key table (KET) is busy',
      TDX_KEY_GENERATION_FAILED: 'PCONFIG MKTME_KEY_PROGRAM: the CPU could not generate the random key (entropy)',
      TDX_RND_NO_ENTROPY: 'random-number generation for the key',
    },
  },
  36: {
    does: 'TDH.SYS.TDMR.INIT: initialise the next 4 MiB of PAMT of the TDMR whose base is in RCX',
    checks: {
      TDX_OPERAND_INVALID: 'RCX: 1 GiB aligned, below 2^52, no KeyID bits, and exactly the base of a configured TDMR',
      TDX_OPERAND_BUSY: 'the TDMR\'s mutex: another LP is initialising the same TDMR',
      TDX_TDMR_ALREADY_INITIALIZED: 'whether the whole TDMR is already initialised',
    },
  },
  44: {
    does: 'TDH.SYS.LP.SHUTDOWN: shut the module down (1.0; a no-op in 1.5)',
    checks: { TDX_SYS_BUSY: 'the shared global lock' },
  },
  52: {
    does: 'TDH.SYS.SHUTDOWN: prepare a runtime update (handoff)',
    checks: {
      TDX_OPERAND_INVALID: 'RCX: the requested handoff version within [MIN_UPDATE_HV, MODULE_HV]',
      TDX_SYS_BUSY: `${BUSY_GLOBAL}, or another LP is inside any SEAMCALL`,
    },
  },
  53: {
    does: 'TDH.SYS.UPDATE: restore state from handoff data after a runtime update',
    checks: {
      TDX_SYS_BUSY: BUSY_GLOBAL,
      TDX_SYS_STATE_INCORRECT: 'the state: SYSINIT_DONE with every LP initialised',
      TDX_SYS_INVALID_HANDOFF: 'valid handoff data of a supported version',
    },
  },
  69: {
    does: 'TDH.SYS.DISABLE: disable the module so that a kexec\'d kernel can initialise it again (2026 drafts)',
    checks: { TDX_OPERAND_INVALID: 'whether this module knows the leaf at all (modules before the draft spec do not)' },
  },
  40: {
    does: 'TDH.PHYMEM.CACHE.WB: write back this package\'s caches for KeyIDs being torn down',
    checks: {
      TDX_OPERAND_INVALID: 'RCX: 0 (start) or 1 (resume)',
      TDX_OPERAND_BUSY: 'the package\'s WBCACHE mutex, then the KOT lock',
      TDX_NO_HKID_READY_TO_WBCACHE: 'whether any KeyID is in the FLUSHED state (nothing to do)',
      TDX_WBCACHE_RESUME_ERROR: 'that there is an interrupted flush to resume',
      TDX_INTERRUPTED_RESUMABLE: 'for pending host interrupts between cache sub-blocks (call again with RCX = 1)',
    },
  },
  28: {
    does: 'TDH.PHYMEM.PAGE.RECLAIM: take a TD-owned page back from the module',
    checks: {
      TDX_OPERAND_INVALID: 'RCX: 4 KiB aligned, below 2^52, no KeyID bits, aligned to the page\'s size',
      TDX_OPERAND_ADDR_RANGE_ERROR: 'that the page is in an initialised 1 GiB block of a TDMR',
      TDX_OPERAND_BUSY: 'the PAMT entry lock, or the owner TDR lock',
      TDX_PAGE_METADATA_INCORRECT: 'the page type: NDA and RSVD pages cannot be reclaimed',
      TDX_LIFECYCLE_STATE_INCORRECT: 'that the owning TD is in TEARDOWN',
      TDX_TD_ASSOCIATED_PAGES_EXIST: 'for a TDR: that every child page has been reclaimed first',
    },
  },
  41: {
    does: 'TDH.PHYMEM.PAGE.WBINVD: flush one page\'s cache lines for the KeyID in RCX',
    checks: {
      TDX_OPERAND_INVALID: 'RCX alignment and width',
      TDX_OPERAND_ADDR_RANGE_ERROR: 'that the page is in an initialised TDMR block',
      TDX_OPERAND_BUSY: 'the PAMT entry lock',
      TDX_PAGE_METADATA_INCORRECT: 'that the page is free (PT_NDA): it is used after reclaim',
    },
  },
  24: {
    does: 'TDH.PHYMEM.PAGE.RDMD: read a page\'s PAMT metadata (Linux uses it to classify machine checks)',
    checks: {
      TDX_OPERAND_INVALID: 'RCX alignment and width',
      TDX_OPERAND_ADDR_RANGE_ERROR: 'that the page is in an initialised TDMR block',
      TDX_OPERAND_BUSY: 'the PAMT entry lock',
    },
  },
  9: {
    does: 'TDH.MNG.CREATE: create a TD (RCX = TDR page, RDX = its KeyID)',
    checks: {
      TDX_OPERAND_INVALID: 'RDX (a private KeyID, no reserved bits) then the TDR page address',
      TDX_OPERAND_ADDR_RANGE_ERROR: 'that the TDR page is in an initialised TDMR block',
      TDX_PAGE_METADATA_INCORRECT: 'that the TDR page is free (PT_NDA)',
      TDX_OPERAND_BUSY: 'the KOT lock or the page\'s PAMT lock',
      TDX_HKID_NOT_FREE: 'that the KeyID is free in the KOT (the global KeyID, or one leaked by a failed SYS.CONFIG, never is)',
      TDX_RND_NO_ENTROPY: 'RDSEED for the TD UUID',
    },
  },
  8: {
    does: 'TDH.MNG.KEY.CONFIG: program a TD\'s key on this package',
    checks: {
      TDX_TD_FATAL: 'whether the TD is fatal',
      TDX_LIFECYCLE_STATE_INCORRECT: 'the TD lifecycle: keys are configured in HKID_ASSIGNED only',
      TDX_KEY_CONFIGURED: 'whether this package is already configured for the TD',
      TDX_OPERAND_BUSY: 'the TDR lock, or PCONFIG\'s key table',
      TDX_KEY_GENERATION_FAILED: 'PCONFIG: random key generation (entropy)',
    },
  },
  1: {
    does: 'TDH.MNG.ADDCX: add a TDCS page to a TD',
    checks: {
      TDX_TD_KEYS_NOT_CONFIGURED: 'that the TD\'s key is configured on every package',
      TDX_TDCX_NUM_INCORRECT: 'the number of TDCS pages (at most 9)',
      TDX_OP_STATE_INCORRECT: 'the TD\'s operation state (pages beyond the 6th only before MNG.INIT)',
      TDX_RND_NO_ENTROPY: 'RDSEED when the 6th page completes the TDCS',
    },
  },
  21: {
    does: 'TDH.MNG.INIT: initialise a TD from TD_PARAMS',
    checks: {
      TDX_TDCS_NOT_ALLOCATED: 'that the TD has its 6 TDCS pages',
      TDX_OP_STATE_INCORRECT: 'that the TD is not initialised yet',
      TDX_OPERAND_INVALID: 'TD_PARAMS: ATTRIBUTES, XFAM, MAX_VCPUS, EPTP controls, TSC frequency, CPUID configuration (operand names the field)',
    },
  },
  2: {
    does: 'TDH.MEM.PAGE.ADD: add and measure a page of a TD being built',
    checks: {
      TDX_EPT_WALK_FAILED: 'the Secure EPT walk: the parent SEPT pages must exist (TDH.MEM.SEPT.ADD first)',
      TDX_EPT_ENTRY_STATE_INCORRECT: 'that the SEPT entry is free',
      TDX_OP_STATE_INCORRECT: 'that the TD is initialised but not finalized',
    },
  },
  6: {
    does: 'TDH.MEM.PAGE.AUG: add a pending page to a running TD',
    checks: {
      TDX_EPT_WALK_FAILED: 'the Secure EPT walk',
      TDX_PAGE_METADATA_INCORRECT: 'that the target page (all 512 pages for 2 MiB) is free',
    },
  },
  10: {
    does: 'TDH.VP.CREATE: create a VCPU (TDVPR page)',
    checks: { TDX_OP_STATE_INCORRECT: 'that the TD is initialised', TDX_OPERAND_BUSY: 'the TD\'s operation-state lock' },
  },
  19: {
    does: 'TDH.MNG.VPFLUSHDONE: mark a TD\'s VCPUs flushed before its KeyID is released',
    checks: {
      TDX_FLUSHVP_NOT_DONE: 'that no VCPU of the TD is still associated with an LP (TDH.VP.FLUSH each one first)',
      TDX_LIFECYCLE_STATE_INCORRECT: 'the TD lifecycle (HKID_ASSIGNED or KEYS_CONFIGURED)',
    },
  },
  20: {
    does: 'TDH.MNG.KEY.FREEID: release a TD\'s KeyID',
    checks: {
      TDX_WBCACHE_NOT_COMPLETE: 'that TDH.PHYMEM.CACHE.WB completed on every package since VPFLUSHDONE',
      TDX_LIFECYCLE_STATE_INCORRECT: 'that the TD is BLOCKED',
    },
  },
};

/** Statuses that only one leaf returns: the leaf can be inferred when none is given. */
const ONLY_LEAF: Readonly<Record<string, number>> = {
  TDX_SYS_CONFIG_NOT_PENDING: 45,
  TDX_INVALID_TDMR: 45,
  TDX_NON_ORDERED_TDMR: 45,
  TDX_TDMR_OUTSIDE_CMRS: 45,
  TDX_INVALID_PAMT: 45,
  TDX_PAMT_OUTSIDE_CMRS: 45,
  TDX_PAMT_OVERLAP: 45,
  TDX_INVALID_RESERVED_IN_TDMR: 45,
  TDX_NON_ORDERED_RESERVED_IN_TDMR: 45,
  TDX_SYS_INIT_NOT_PENDING: 33,
  TDX_CMR_LIST_INVALID: 33,
  TDX_NUM_ACTIVATED_HKIDS_NOT_SUPPORTED: 33,
  TDX_SMRR_NOT_SUPPORTED: 33,
  TDX_SMRR_LOCK_NOT_SUPPORTED: 33,
  TDX_SMRR_NOT_LOCKED: 33,
  TDX_INVALID_SMRR_CONFIGURATION: 33,
  TDX_SMRR_OVERLAPS_CMR: 33,
  TDX_SYS_INCOMPATIBLE_SIGSTRUCT: 33,
  TDX_SYS_LP_INIT_NOT_PENDING: 35,
  TDX_SYS_LP_INIT_DONE: 35,
  TDX_INCONSISTENT_CPUID_FIELD: 35,
  TDX_INVALID_PKG_ID: 35,
  TDX_SYS_KEY_CONFIG_NOT_PENDING: 31,
  TDX_TDMR_ALREADY_INITIALIZED: 36,
  TDX_SYS_STATE_INCORRECT: 53,
  TDX_SYS_INVALID_HANDOFF: 53,
};

/** Generic knowledge per status name: meaning, usual causes, remedies. */
interface StatusKnowledge {
  readonly meaning: string;
  readonly causes?: readonly string[];
  readonly remedies?: readonly string[];
}

const BIOS_CPU = 'a BIOS setting or microcode that TDX does not accept';
const BIOS_REMEDY = 'check the BIOS TDX prerequisites (TME and TME-MK enabled, TDX enabled with enough TDX KeyIDs, SEAM loader enabled, x2APIC, no "Limit CPUID Maxval"), update BIOS and microcode on every socket to the same version';

const STATUS: Readonly<Record<string, StatusKnowledge>> = {
  TDX_SUCCESS: { meaning: 'the leaf succeeded' },
  TDX_OPERAND_INVALID: {
    meaning: 'an input operand failed validation; the operand id names which one',
    causes: ['a host bug passing a wrong address or value', 'with operand RAX: a leaf number or leaf version this module does not know, or reserved RAX bits set (a kernel newer than the module: version skew)'],
    remedies: ['compare the operand with what the leaf expects', 'with operand RAX: upgrade the TDX module or use a kernel of the module\'s era'],
  },
  TDX_OPERAND_ADDR_RANGE_ERROR: {
    meaning: 'the page is not in any TDMR, or its 1 GiB block has not been initialised by TDH.SYS.TDMR.INIT yet',
    causes: ['memory outside the TDX memory list (hot-added later, or excluded at init)', 'a TD page used before TDMR initialisation finished'],
    remedies: ['only give TDs memory that was in the TDX memory list at init'],
  },
  TDX_OPERAND_BUSY: { meaning: 'a lock the leaf needs is held by another logical processor (try-lock, never waits)', causes: ['concurrent SEAMCALLs on the same object'], remedies: ['retry; serialise callers on the same object'] },
  TDX_SYS_BUSY: { meaning: 'another logical processor holds the module\'s global lock', causes: ['two TDH.SYS.* leaves racing (e.g. KEY.CONFIG on two packages at once)'], remedies: ['retry; Linux runs KEY.CONFIG one package at a time'] },
  TDX_RND_NO_ENTROPY: {
    meaning: 'RDRAND/RDSEED returned no entropy',
    causes: ['transient entropy exhaustion, heavy RDRAND use by other software', 'a faulty or disabled DRNG'],
    remedies: ['Linux retries this code up to 10 times (sc_retry); a persistent failure points at the CPU\'s random number generator: check BIOS/microcode'],
  },
  TDX_SYS_INIT_NOT_PENDING: {
    meaning: 'the module is not in its initial state: TDH.SYS.INIT was already done since it was loaded',
    causes: ['kexec: the previous kernel initialised the module, and its state lives in SEAMRR, which kexec does not reset (the module is "not in initial state")', 'a warm reset that kept SEAMRR', 'two callers of TDH.SYS.INIT'],
    remedies: ['cold-boot (or warm reset that clears SEAMRR) before using TDX again', 'use a kernel and module with TDH.SYS.DISABLE (2026) so a kexec\'d kernel can re-initialise', 'avoid kexec on TDX hosts otherwise'],
  },
  TDX_SYS_LP_INIT_NOT_DONE: {
    meaning: 'the calling logical processor has not done TDH.SYS.LP.INIT',
    causes: ['a kernel that skips SYS.INIT/LP.INIT (the Dec 2022 v8 host series assumed the module would drop them)', 'metadata read on a CPU that came online after init'],
    remedies: ['use a kernel that runs tdx_cpu_enable() on every CPU before tdx_enable() (v9+ / 6.8+)'],
  },
  TDX_SYS_LP_INIT_DONE: { meaning: 'this logical processor is already initialised', causes: ['a repeated LP.INIT (the kernel lost its per-CPU flag, e.g. after kexec)'], remedies: ['harmless by itself; after kexec see TDX_SYS_INIT_NOT_PENDING'] },
  TDX_SYS_NOT_READY: {
    meaning: 'the leaf needs the module in SYS_READY (all of SYS.INIT, LP.INIT, CONFIG and KEY.CONFIG done), or the leaf is unknown to this module and the module is not ready yet',
    causes: ['a leaf called too early (e.g. TDMR.INIT before KEY.CONFIG finished on every package)', 'a leaf this module version does not have, before READY: e.g. Linux 6.8+ reading metadata with TDH.SYS.RD from a TDX 1.0 module (version skew)'],
    remedies: ['for version skew: upgrade the TDX module to 1.5 or later, or use a kernel that reads metadata with TDH.SYS.INFO'],
  },
  TDX_SYS_SHUTDOWN: { meaning: 'the module has been shut down', causes: ['TDH.SYS.SHUTDOWN for a runtime update, or a 2022 draft kernel that shut the module down after a failed init (TDH.SYS.LP.SHUTDOWN on 1.0)'], remedies: ['reboot (or finish the runtime update)'] },
  TDX_SYS_KEY_CONFIG_NOT_PENDING: { meaning: 'TDH.SYS.KEY.CONFIG called outside SYSCONFIG_DONE', causes: ['KEY.CONFIG before SYS.CONFIG succeeded, or after the module became ready'], remedies: ['follow the init order: CONFIG, then KEY.CONFIG once per package'] },
  TDX_SYS_STATE_INCORRECT: { meaning: 'the module is not in the state this leaf needs', causes: ['TDH.SYS.UPDATE outside SYSINIT_DONE or before every LP is initialised'] },
  TDX_SYS_INVALID_HANDOFF: { meaning: 'no valid handoff data for TDH.SYS.UPDATE', causes: ['runtime update without a preceding successful TDH.SYS.SHUTDOWN, or an incompatible handoff version'] },
  TDX_SYS_INCOMPATIBLE_SIGSTRUCT: { meaning: 'the module image\'s handoff-version parameters are inconsistent', remedies: ['reinstall a module image released for this platform'] },
  TDX_SYS_LP_INIT_NOT_PENDING: {
    meaning: 'TDH.SYS.LP.INIT called outside SYSINIT_DONE',
    causes: ['a CPU that came online after TDH.SYS.CONFIG (a 1.5 module cannot initialise late CPUs)', 'LP.INIT before SYS.INIT', 'kexec: the previous kernel already configured the module'],
    remedies: ['keep every BIOS-enabled CPU online when TDX initialises (no maxcpus=, no nosmt, no offline CPUs)', 'after kexec: cold-boot'],
  },
  TDX_SYS_CONFIG_NOT_PENDING: {
    meaning: 'TDH.SYS.CONFIG refused: the module is not in SYSINIT_DONE, or not every logical processor has done LP.INIT',
    causes: ['CPUs offline at init time (maxcpus=, nosmt, CPUs offlined, possible-but-absent CPUs) so some LPs never ran LP.INIT', 'CONFIG already done (a retry after success, or kexec)'],
    remedies: ['bring every CPU the BIOS enabled online before TDX initialises (boot without maxcpus=/nosmt)', 'after kexec: cold-boot'],
  },
  TDX_INCOMPATIBLE_SEAM_CAPABILITIES: { meaning: 'the SEAM capabilities do not fit this module', causes: [BIOS_CPU, 'different microcode on different sockets'], remedies: [BIOS_REMEDY] },
  TDX_KEY_GENERATION_FAILED: {
    meaning: 'PCONFIG could not generate a random key (entropy failure)',
    causes: ['transient entropy failure in the CPU\'s key generation'],
    remedies: ['upstream Linux does not retry this code: reboot and initialise TDX again; a repeated failure points at the CPU or microcode'],
  },
  TDX_KEY_CONFIGURED: { meaning: 'informational: the key is already configured on this package (bit 63 clear)', causes: ['KEY.CONFIG run twice on one package; Linux treats any non-zero status as failure, which is why it configures exactly one CPU per package'] },
  TDX_KEY_STATE_INCORRECT: { meaning: 'the KeyID is not in the state the leaf needs' },
  TDX_TD_KEYS_NOT_CONFIGURED: { meaning: 'the TD\'s key is not yet configured on every package', remedies: ['run TDH.MNG.KEY.CONFIG on one CPU of every package first'] },
  TDX_WBCACHE_NOT_COMPLETE: { meaning: 'TDH.PHYMEM.CACHE.WB has not completed on every package since the TD was blocked', remedies: ['run CACHE.WB on every package, then free the KeyID'] },
  TDX_HKID_NOT_FREE: { meaning: 'the KeyID is in use (assigned, the global KeyID, or reserved)', causes: ['KeyID allocation bug, or a KeyID leaked by a failed TDH.SYS.CONFIG that reserved it'] },
  TDX_NO_HKID_READY_TO_WBCACHE: { meaning: 'informational: no KeyID is waiting for a cache write-back (another CPU did it; KVM treats this as success)' },
  TDX_WBCACHE_RESUME_ERROR: { meaning: 'resume requested but there is no interrupted cache write-back' },
  TDX_FLUSHVP_NOT_DONE: { meaning: 'a VCPU of the TD is still associated with a logical processor', remedies: ['TDH.VP.FLUSH every VCPU first'] },
  TDX_NUM_ACTIVATED_HKIDS_NOT_SUPPORTED: { meaning: 'the BIOS activated more KeyIDs than the module supports (last private HKID must be below 2048)', causes: ['BIOS KeyID partitioning too large'], remedies: ['reduce the number of MKTME/TDX KeyIDs in the BIOS'] },
  TDX_INCORRECT_CPUID_VALUE: { meaning: 'a CPUID value is not what TDX requires', causes: [BIOS_CPU], remedies: [BIOS_REMEDY] },
  TDX_LIMIT_CPUID_MAXVAL_SET: { meaning: 'IA32_MISC_ENABLE "Limit CPUID Maxval" is set', causes: ['the BIOS option "Limit CPUID Maximum" is enabled'], remedies: ['disable "Limit CPUID Maximum" in the BIOS'] },
  TDX_INCONSISTENT_CPUID_FIELD: { meaning: 'CPUID differs between logical processors', causes: ['mixed microcode or BIOS settings across sockets/cores'], remedies: [BIOS_REMEDY] },
  TDX_CPUID_MAX_SUBLEAVES_UNRECOGNIZED: { meaning: 'a CPUID leaf reports a sub-leaf count the module does not recognise', causes: [BIOS_CPU], remedies: [BIOS_REMEDY] },
  TDX_CPUID_LEAF_1F_FORMAT_UNRECOGNIZED: { meaning: 'CPUID leaf 0x1F (topology) is malformed', causes: [BIOS_CPU], remedies: [BIOS_REMEDY] },
  TDX_INVALID_WBINVD_SCOPE: { meaning: 'the WBINVD scope is not package-wide', causes: [BIOS_CPU] },
  TDX_INVALID_PKG_ID: { meaning: 'a package id of 8 or more', causes: ['a topology TDX does not support'] },
  TDX_ENABLE_MONITOR_FSM_NOT_SET: { meaning: 'IA32_MISC_ENABLE.ENABLE_MONITOR_FSM is clear', causes: ['MONITOR/MWAIT disabled in the BIOS'], remedies: ['enable MONITOR/MWAIT in the BIOS'] },
  TDX_CPUID_LEAF_NOT_SUPPORTED: { meaning: 'a CPUID leaf the module needs is not reported', causes: [BIOS_CPU], remedies: [BIOS_REMEDY] },
  TDX_SMRR_NOT_LOCKED: { meaning: 'an SMRR is not locked', causes: ['BIOS SMM configuration'], remedies: ['update the BIOS'] },
  TDX_INVALID_SMRR_CONFIGURATION: { meaning: 'an SMRR base/mask is invalid', causes: ['BIOS SMM configuration'], remedies: ['update the BIOS'] },
  TDX_SMRR_OVERLAPS_CMR: { meaning: 'an SMRR range overlaps a convertible memory range', causes: ['BIOS memory map / SMM configuration'], remedies: ['update the BIOS'] },
  TDX_SMRR_LOCK_NOT_SUPPORTED: { meaning: 'the CPU lacks SMRR lock', causes: [BIOS_CPU] },
  TDX_SMRR_NOT_SUPPORTED: { meaning: 'the CPU lacks SMRR', causes: [BIOS_CPU] },
  TDX_INCONSISTENT_MSR: {
    meaning: 'an MSR on this logical processor differs from the value TDH.SYS.INIT latched',
    causes: ['IA32_TSC_ADJUST (0x3b) differs: firmware or the OS wrote the TSC on some CPUs', 'mixed BIOS settings or microcode between sockets'],
    remedies: ['for IA32_TSC_ADJUST: make sure nothing writes the TSC before TDX init (BIOS TSC sync options), then reboot', BIOS_REMEDY],
  },
  TDX_INCORRECT_MSR_VALUE: { meaning: 'an MSR has a value TDX cannot run with (the operand is the MSR number)', causes: [BIOS_CPU], remedies: [BIOS_REMEDY] },
  TDX_INVALID_TDMR: { meaning: 'a TDMR is malformed (alignment, size, address width)', causes: ['a host kernel bug building TDMRs'], remedies: ['report the kernel bug; compare with `tdxsim plan`'] },
  TDX_NON_ORDERED_TDMR: { meaning: 'TDMRs are not sorted or overlap', causes: ['a host kernel bug building TDMRs'] },
  TDX_TDMR_OUTSIDE_CMRS: {
    meaning: 'part of a TDMR that is not reserved lies outside convertible memory',
    causes: ['the kernel uses memory the BIOS did not report as convertible (e.g. memory added with memmap=, or CXL/NVDIMM ranges in memblock)', 'holes computed differently by kernel and module'],
    remedies: ['remove non-convertible memory from the kernel (mem=/memmap=), or use a kernel that computes holes from CMRs'],
  },
  TDX_TDMR_ALREADY_INITIALIZED: { meaning: 'informational: the TDMR is fully initialised (RDX = 0)' },
  TDX_INVALID_PAMT: { meaning: 'a PAMT base/size is invalid or too small for its TDMR', causes: ['a host kernel bug sizing PAMTs, or a module whose PAMT entry size differs from what the kernel assumed'] },
  TDX_PAMT_OUTSIDE_CMRS: { meaning: 'a PAMT lies outside convertible memory', causes: ['the kernel allocated the PAMT from memory the BIOS did not report as convertible'], remedies: ['restrict the kernel to convertible memory'] },
  TDX_PAMT_OVERLAP: { meaning: 'a PAMT overlaps another PAMT or a non-reserved part of a TDMR', causes: ['a PAMT inside a TDMR that is not marked as a reserved area (host bug)'] },
  TDX_INVALID_RESERVED_IN_TDMR: { meaning: 'a reserved area is malformed (alignment, overflow, outside its TDMR)', causes: ['a host kernel bug'] },
  TDX_NON_ORDERED_RESERVED_IN_TDMR: { meaning: 'reserved areas are not sorted, overlap, or have a null entry in the middle', causes: ['a host kernel bug (Linux sorts them before TDH.SYS.CONFIG)'] },
  TDX_CMR_LIST_INVALID: { meaning: 'the CMR list MCHECK handed the module is invalid', causes: ['BIOS memory configuration (overlapping or unaligned CMRs)'], remedies: ['update the BIOS; check the DIMM population'] },
  TDX_METADATA_FIELD_ID_INCORRECT: {
    meaning: 'the metadata field id is malformed or this module version does not have the field',
    causes: ['version skew: a kernel reading a field the module lacks, e.g. Linux 6.16+ reads MAX_VCPUS_PER_TD (0x9900000100000008), which TDX module 1.5.01 does not have'],
    remedies: [`upgrade the TDX module (${describeReleases(MODULE_PROFILE_NAMES.filter((n) => moduleProfile(n).extraFields.includes('MAX_VCPUS_PER_TD')))} have MAX_VCPUS_PER_TD), or run a kernel of the module's era (Ubuntu 24.04 linux-intel 6.8 for 1.5.01)`],
  },
  TDX_METADATA_FIELD_NOT_READABLE: { meaning: 'the host may not read this metadata field' },
  TDX_METADATA_FIELD_NOT_WRITABLE: { meaning: 'the host may not write this metadata field' },
  TDX_METADATA_FIELD_VALUE_NOT_VALID: { meaning: 'the value written to a metadata field is invalid' },
  TDX_METADATA_LIST_OVERFLOW: { meaning: 'TDH.SYS.RDALL filled its page; call again from the returned field id' },
  TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT: { meaning: 'informational: a null field id was given; RDX holds the first field id' },
  TDX_INTERRUPTED_RESUMABLE: { meaning: 'the leaf was interrupted by a host interrupt and can be resumed', remedies: ['call it again (CACHE.WB with RCX = 1)'] },
  TDX_TD_FATAL: { meaning: 'the TD is in a fatal state', remedies: ['tear the TD down'] },
  TDX_LIFECYCLE_STATE_INCORRECT: { meaning: 'the TD\'s lifecycle state does not allow this leaf' },
  TDX_OP_STATE_INCORRECT: { meaning: 'the TD\'s operation state does not allow this leaf' },
  TDX_TDCS_NOT_ALLOCATED: { meaning: 'the TD does not have all its TDCS pages' },
  TDX_TDCX_NUM_INCORRECT: { meaning: 'the TD already has the maximum number of TDCS pages' },
  TDX_X2APIC_ID_NOT_UNIQUE: {
    meaning: 'TDH.VP.INIT version 1: another VCPU of the TD already has this x2APIC ID (bits 31:0 hold it)',
    remedies: ['give each VCPU of the TD its own x2APIC ID in R8'],
  },
  TDX_PAGE_METADATA_INCORRECT: { meaning: 'the page\'s PAMT type or size is not what the leaf expects (e.g. not free)' },
  TDX_TD_ASSOCIATED_PAGES_EXIST: { meaning: 'the TD still owns pages; reclaim them before the TDR' },
  TDX_EPT_WALK_FAILED: { meaning: 'the Secure EPT walk did not reach the target level', remedies: ['add the missing SEPT pages (TDH.MEM.SEPT.ADD) first'] },
  TDX_EPT_ENTRY_STATE_INCORRECT: { meaning: 'the Secure EPT entry is not in the state this leaf needs' },
  TDX_SEAMCALL_VMFAILINVALID: {
    meaning: 'Linux software code: SEAMCALL executed but no SEAM module is loaded (VMfailInvalid, CF set)',
    causes: ['the BIOS did not load a TDX module: TDX or the SEAM loader disabled, or no module image in the firmware/EFI partition', 'a failed module load or update'],
    remedies: ['enable TDX and the SEAM loader in the BIOS and install a TDX module; Linux prints "module not loaded" and TDX stays off (-ENODEV)'],
  },
  TDX_SEAMCALL_GP: {
    meaning: 'Linux software code: SEAMCALL raised #GP',
    causes: ['SEAMRR not enabled (TDX not enabled in the BIOS)', 'SEAMCALL from a mode where it is not allowed'],
    remedies: ['enable TDX in the BIOS; Linux maps this to -EOPNOTSUPP'],
  },
  TDX_SEAMCALL_UD: {
    meaning: 'Linux software code: SEAMCALL raised #UD: the CPU is not in VMX operation',
    causes: ['VMXON was not done on this CPU: KVM not loaded with TDX, kvm.enable_virt_at_load=0, or a CPU that came online without the KVM cpuhp callback'],
    remedies: ['load kvm_intel with tdx=1 (and enable_virt_at_load=1); Linux maps this to -EACCES'],
  },
  TDX_SW_ERROR: { meaning: 'Linux software code (class 0xFF): an instruction-level SEAMCALL failure synthesised by the kernel' },
  TDX_NON_RECOVERABLE_VCPU: { meaning: 'the VCPU is in an unrecoverable state' },
  TDX_NON_RECOVERABLE_TD: { meaning: 'the TD is in an unrecoverable state' },
};

/** Special knowledge for (leaf, status) pairs that real systems hit. */
const SPECIAL: Readonly<Record<string, StatusKnowledge>> = {
  '34:TDX_SYS_NOT_READY': {
    meaning: 'TDH.SYS.RD is unknown to this module and the module is not ready, so the dispatcher answered SYS_NOT_READY',
    causes: ['version skew: a Linux 6.8+ kernel reads metadata with TDH.SYS.RD, which TDX module 1.0 does not have'],
    remedies: ['upgrade the TDX module to 1.5 or later (BIOS/firmware update or SEAM loader)'],
  },
  '34:TDX_OPERAND_INVALID': {
    meaning: 'TDH.SYS.RD is unknown to this module (operand RAX)',
    causes: ['version skew: a kernel reading metadata with TDH.SYS.RD from a TDX 1.0 module'],
    remedies: ['upgrade the TDX module to 1.5 or later'],
  },
  '33:TDX_SYS_INIT_NOT_PENDING': STATUS['TDX_SYS_INIT_NOT_PENDING']!,
  '69:TDX_OPERAND_INVALID': {
    meaning: 'the module does not know TDH.SYS.DISABLE',
    causes: ['a module older than the TDH.SYS.DISABLE draft (every released module as of early 2026)'],
    remedies: ['none needed for this message; kexec\'d kernels will not be able to initialise TDX with this module'],
  },
  // TDH.PHYMEM.PAGE.RECLAIM (leaf 28): the module's check order, src/module/leaves/tdhPhymemPageReclaim.ts.
  '28:TDX_PAGE_METADATA_INCORRECT': {
    meaning: 'TDH.PHYMEM.PAGE.RECLAIM found the page\'s PAMT entry free (PT_NDA) or reserved: no TD owns the page (RCX, RDX and R8 come back zero)',
    causes: [
      'the host reclaims a page that is already back in its hands: reclaimed before, or taken away with TDH.MEM.PAGE.REMOVE, or never added to the TD',
      'seen at TD teardown on Ubuntu 24.04 linux-intel 6.8 (canonical/tdx #153, #156); what made KVM reclaim free pages there is not known',
    ],
  },
  '28:TDX_OPERAND_INVALID': {
    meaning: 'the page address in RCX is not 4 KiB aligned, carries a KeyID, or is not the first page of its PAMT entry (a 4 KiB address inside a 2 MiB page); RCX, RDX and R8 report the entry in the last case',
  },
  '19:TDX_FLUSHVP_NOT_DONE': {
    meaning: 'TDH.MNG.VPFLUSHDONE: a VCPU of the TD is still associated with a logical CPU',
    causes: ['the host did not run TDH.VP.FLUSH on every CPU a VCPU was loaded on before releasing the HKID'],
    remedies: ['flush each VCPU on the CPU it ran on last (Linux: tdx_flush_vp_on_cpu()), then call TDH.MNG.VPFLUSHDONE again; Linux KVM prints nothing for this status and leaks the HKID and the TD\'s pages'],
  },
  '31:TDX_RND_NO_ENTROPY': {
    meaning: 'TDH.SYS.KEY.CONFIG found no entropy for the key, ten times in a row (Linux retries this code)',
    causes: ['the CPU\'s random number generator failing persistently'],
    remedies: ['reboot and retry; check BIOS/microcode if it repeats'],
  },
};

function bitsOf(v: bigint): ExplainResult['bits'] {
  return {
    error: ((v >> 63n) & 1n) === 1n,
    nonRecoverable: ((v >> 62n) & 1n) === 1n,
    fatal: ((v >> 61n) & 1n) === 1n,
    hostRecoverabilityHint: ((v >> 60n) & 1n) === 1n,
    reserved: hx((v >> 48n) & 0xfffn),
    detailsL1: hx((v >> 32n) & 0xffn),
    detailsL2: `0x${(v & 0xffffffffn).toString(16).padStart(8, '0')}`,
  };
}

function operandText(name: string, fields: Record<string, number | string>, low: number): string {
  if ('operand' in fields) {
    const op = String(fields['operand']);
    return /^0x/.test(op) ? `operand id ${op} (not a known operand id)` : `operand ${op} (id ${low})`;
  }
  if ('msr' in fields) {
    const msr = Number(fields['msr']);
    return `MSR ${hx(msr)}${MSR_NAMES[msr] !== undefined ? ` (${MSR_NAMES[msr]})` : ''}`;
  }
  if (name === 'TDX_PAMT_OVERLAP') {
    return `the ${String(fields['pamt'])} PAMT of TDMR ${String(fields['tdmr'])} overlaps TDMR ${String(fields['otherTdmr'])} (its PAMTs or its non-reserved memory)`;
  }
  if ('reservedArea' in fields) {
    return `TDMR ${String(fields['tdmr'])}, reserved area ${String(fields['reservedArea'])}`;
  }
  if ('pamt' in fields) {
    return `TDMR ${String(fields['tdmr'])}, ${String(fields['pamt'])} PAMT`;
  }
  if ('tdmr' in fields) {
    return `TDMR ${String(fields['tdmr'])}`;
  }
  if ('cmr' in fields) {
    return `SMRR ${String(fields['smrr'])}, CMR ${String(fields['cmr'])}`;
  }
  if ('smrr' in fields) {
    return `SMRR ${String(fields['smrr'])}`;
  }
  if ('leaf' in fields) {
    return `CPUID leaf ${String(fields['leaf'])}`;
  }
  if ('maxHkids' in fields) {
    return `maximum HKIDs ${String(fields['maxHkids'])}`;
  }
  if ('pkg' in fields) {
    return `package ${String(fields['pkg'])}`;
  }
  if ('x2apicId' in fields) {
    return `x2APIC ID ${String(fields['x2apicId'])}, already another VCPU's`;
  }
  if ('low' in fields) {
    return `detail bits ${String(fields['low'])}`;
  }
  return '';
}

/** Linux's reaction to a status from an init-time SEAMCALL (sc_retry_prerr). */
function linuxReaction(v: bigint): ExplainResult['linux'] {
  const errno = seamcall_errno(v);
  const printed = errno === -EIO;
  let note: string;
  switch (-errno) {
    case 0:
      note = 'success';
      break;
    case ENODEV:
      note = 'no print from the wrapper; tdx_cpu_enable() prints "module not loaded"';
      break;
    case EOPNOTSUPP:
    case EACCES:
      note = 'no print; the caller sees the errno';
      break;
    default:
      note =
        v === 0x8000020300000000n
          ? 'retried up to 10 times (sc_retry); if it persists, printed as "SEAMCALL (0x..) failed: 0x.." and -EIO'
          : 'printed as "SEAMCALL (0x<leaf>) failed: 0x<status>" (plus RCX..R11 for TDH.SYS.RD and TDH.SYS.TDMR.INIT) and -EIO; any non-zero status counts as failure, even informational ones';
  }
  return { errno, errnoName: errname(errno), printed, note };
}

/** Explain a status. Throws TdxsimError (TDXSIM_BAD_STATUS / TDXSIM_BAD_ARGS) on bad input. */
export function explain(req: ExplainRequest): ExplainResult {
  const a = parseStatusArg(req.status);
  if (!a.ok) {
    throw new TdxsimError('TDXSIM_BAD_STATUS', a.message);
  }
  let leafRaw = a.leafRaw;
  if (req.leaf !== undefined) {
    const l = parseLeafArg(req.leaf);
    if (!l.ok) {
      throw new TdxsimError('TDXSIM_BAD_ARGS', l.message);
    }
    if (leafRaw !== undefined && (leafRaw & 0xffffn) !== (l.leafRaw & 0xffffn)) {
      throw new TdxsimError('TDXSIM_BAD_ARGS', `--leaf ${req.leaf} contradicts the leaf in the line (${hx(leafRaw)})`);
    }
    leafRaw = l.leafRaw;
  }
  return explainStatus(a.status, leafRaw, req.status.trim());
}

/** Explain a status value (and optionally the leaf that returned it). */
export function explainStatus(v: bigint, leafRaw?: bigint, input = `0x${v.toString(16).padStart(16, '0')}`): ExplainResult {
  const d = describeStatus(v);
  const cls = Number((v >> 40n) & 0xffn);
  const bits = bitsOf(v);
  const info = statusInfo(v);
  const low = Number(v & 0xffffffffn);
  const exact = info !== undefined && info.value === v;
  const inferredLeaf = leafRaw === undefined && d.known ? ONLY_LEAF[d.name] : undefined;
  const raw = leafRaw ?? (inferredLeaf !== undefined ? BigInt(inferredLeaf) : undefined);
  const leaf =
    raw === undefined
      ? null
      : (() => {
          const number = Number(raw & 0xffffn);
          const version = Number((raw >> 16n) & 0xffn);
          const k = LEAVES[number];
          const does = k !== undefined ? k.does.replace(/^TDH\.[A-Z.]+: /, '') : raw >> 63n === 1n ? 'a P-SEAMLDR call (2022 RFC)' : 'a leaf this tool has no notes on';
          return { number, version, name: leafName(number), does, inferred: inferredLeaf !== undefined };
        })();
  let operand: ExplainResult['operand'] = null;
  if (d.known && !exact && low !== 0) {
    operand = { raw: `0x${low.toString(16).padStart(8, '0')}`, text: operandText(d.name, d.details, low), fields: d.details };
  } else if (d.known && d.name === 'TDX_OPERAND_INVALID' && low === 0) {
    operand = { raw: '0x00000000', text: 'operand RAX (id 0): the leaf number, its version or reserved RAX bits', fields: { operand: 'RAX', operandId: 0 } };
  }
  const special = leaf !== null ? SPECIAL[`${leaf.number}:${d.name}`] : undefined;
  const generic = d.known ? STATUS[d.name] : undefined;
  const knowledge = special ?? generic;
  let meaning: string;
  if (!d.known) {
    const parts = [`not in the status table of the module model`, `class ${hx(cls)} (${CLASS_NAMES[cls] ?? 'unknown class'})`];
    parts.push(bits.error ? (bits.nonRecoverable ? 'error, non-recoverable' : 'error, recoverable') : v === 0n ? 'success' : 'no error bit: informational/warning');
    if (bits.fatal) {
      parts.push('fatal bit set');
    }
    meaning = `unknown status: ${parts.join('; ')}`;
  } else {
    meaning = knowledge?.meaning ?? `${d.name} (${CLASS_NAMES[cls] ?? 'unknown class'})`;
  }
  let checking: string | null = null;
  if (leaf !== null && d.known) {
    const lk = LEAVES[leaf.number];
    checking = lk?.checks[d.name] ?? null;
    if (checking === null) {
      if (d.name === 'TDX_OPERAND_INVALID' && low === 0) {
        checking = 'the dispatcher\'s RAX checks, before any leaf code: reserved RAX bits, the leaf version, and whether this module knows the leaf';
      } else if (d.name === 'TDX_SYS_NOT_READY') {
        checking = 'the dispatcher\'s state check: this leaf needs SYS_READY (leaves unknown to the module fail here too before READY)';
      } else if (d.name === 'TDX_SYS_SHUTDOWN') {
        checking = 'the dispatcher\'s state check: the module is shut down';
      }
    }
  }
  const causes = [...(knowledge?.causes ?? [])];
  const remedies = [...(knowledge?.remedies ?? [])];
  if (!d.known) {
    causes.push('a status from a module version newer than the model\'s table, a corrupted value, or not a SEAMCALL status at all');
    remedies.push('check the value against the TDX module ABI of the module version in use (tdx_error_codes_defs.h)');
  }
  if (leaf !== null && leaf.version > 0 && d.name === 'TDX_OPERAND_INVALID' && low === 0) {
    causes.unshift(`the leaf was called with version ${leaf.version} (RAX bits 23:16); modules before 1.5.05 accept versions only for a few leaves (e.g. TDH.VP.INIT version 1 needs 1.5.05 or newer)`);
  }
  const fatal = d.known ? d.severity === 'fatal' || d.severity === 'non-recoverable' : bits.nonRecoverable || bits.fatal;
  return {
    input,
    value: d.value,
    known: d.known,
    name: d.name,
    display: d.display,
    class: { id: cls, hex: `0x${cls.toString(16).padStart(2, '0')}`, name: CLASS_NAMES[cls] ?? 'unknown class' },
    severity: d.severity,
    recoverable: d.recoverable,
    fatal,
    bits,
    operand,
    leaf,
    meaning,
    checking,
    causes,
    remedies,
    linux: linuxReaction(v),
  };
}
