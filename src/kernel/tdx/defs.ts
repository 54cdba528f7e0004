/**
 * Constants of the host side: SEAMCALL leaf numbers, the status codes the host looks at, the
 * software-defined codes Linux synthesises for instruction faults, and the TDMR structure
 * geometry.
 * @see linux arch/x86/virt/vmx/tdx/tdx.h, arch/x86/include/asm/tdx.h,
 *      arch/x86/include/asm/shared/tdx_errno.h
 */

// ---------------------------------------------------------------- SEAMCALL leaves (tdx.h)
export const TDH_VP_ENTER = 0;
export const TDH_MNG_ADDCX = 1;
export const TDH_MEM_PAGE_ADD = 2;
export const TDH_MEM_SEPT_ADD = 3;
export const TDH_VP_ADDCX = 4;
export const TDH_MEM_PAGE_AUG = 6;
export const TDH_MEM_RANGE_BLOCK = 7;
export const TDH_MNG_KEY_CONFIG = 8;
export const TDH_MNG_CREATE = 9;
export const TDH_VP_CREATE = 10;
export const TDH_MNG_RD = 11;
export const TDH_MR_EXTEND = 16;
export const TDH_MR_FINALIZE = 17;
export const TDH_VP_FLUSH = 18;
export const TDH_MNG_VPFLUSHDONE = 19;
export const TDH_MNG_KEY_FREEID = 20;
export const TDH_MNG_INIT = 21;
export const TDH_VP_INIT = 22;
export const TDH_PHYMEM_PAGE_RDMD = 24;
export const TDH_VP_RD = 26;
export const TDH_MNG_KEY_RECLAIMID = 27;
export const TDH_PHYMEM_PAGE_RECLAIM = 28;
export const TDH_MEM_PAGE_REMOVE = 29;
export const TDH_SYS_KEY_CONFIG = 31;
export const TDH_SYS_INFO = 32;
export const TDH_SYS_INIT = 33;
export const TDH_SYS_RD = 34;
export const TDH_SYS_LP_INIT = 35;
export const TDH_SYS_TDMR_INIT = 36;
export const TDH_MEM_TRACK = 38;
export const TDH_PHYMEM_CACHE_WB = 40;
export const TDH_PHYMEM_PAGE_WBINVD = 41;
export const TDH_VP_WR = 43;
export const TDH_SYS_LP_SHUTDOWN = 44;
export const TDH_SYS_CONFIG = 45;

/** P-SEAMLDR calls (2022 RFC only): bit 63 set. */
export const P_SEAMLDR_SEAMCALL_BASE = 1n << 63n;
export const P_SEAMLDR_INFO = P_SEAMLDR_SEAMCALL_BASE | 0n;

// ---------------------------------------------------------------- statuses (tdx_errno.h)
export const TDX_SUCCESS = 0n;
export const TDX_ERROR = 1n << 63n;
/** Class 0xFF is never used by the module; Linux uses it for software codes. */
export const TDX_SW_ERROR = TDX_ERROR | (0xffn << 40n);
/**
 * Bit 62 of a TDX status: the TD or vCPU cannot go on.
 * @see linux arch/x86/include/asm/tdx.h TDX_NON_RECOVERABLE (v6.18.2)
 */
export const TDX_NON_RECOVERABLE = 1n << 62n;
export const TDX_SEAMCALL_VMFAILINVALID = TDX_SW_ERROR | 0xffff0000n;
export const TDX_SEAMCALL_GP = TDX_SW_ERROR | 13n;
export const TDX_SEAMCALL_UD = TDX_SW_ERROR | 6n;
export const TDX_SEAMCALL_STATUS_MASK = 0xffffffff00000000n;

export const TDX_INTERRUPTED_RESUMABLE = 0x8000000300000000n;
export const TDX_OPERAND_INVALID = 0xc000010000000000n;
export const TDX_OPERAND_BUSY = 0x8000020000000000n;
export const TDX_RND_NO_ENTROPY = 0x8000020300000000n;
export const TDX_KEY_GENERATION_FAILED = 0x8000080000000000n;
export const TDX_KEY_CONFIGURED = 0x0000081500000000n;
export const TDX_NO_HKID_READY_TO_WBCACHE = 0x0000082100000000n;
export const TDX_FLUSHVP_NOT_DONE = 0x8000082400000000n;
export const TDX_VCPU_NOT_ASSOCIATED = 0x8000070200000000n;
export const TDX_TDMR_ALREADY_INITIALIZED = 0x00000a0300000000n;

/** Sapphire/Emerald Rapids partial-write erratum (X86_BUG_TDX_PW_MCE). */
export const X86_BUG_TDX_PW_MCE = 'tdx_pw_mce';

/** Retries of sc_retry() on TDX_RND_NO_ENTROPY (the RDRAND convention). */
export const RDRAND_RETRY_LOOPS = 10;

// ---------------------------------------------------------------- TDMR geometry
export const TDMR_INFO_ALIGNMENT = 512;
export const TDMR_INFO_PA_ARRAY_ALIGNMENT = 512;
/** Fixed part of struct tdmr_info before the reserved-area array. */
export const TDMR_INFO_HEADER_SIZE = 64;
/** sizeof(struct tdmr_reserved_area). */
export const TDMR_RSVD_AREA_SIZE = 16;
/** TDMR base and end are aligned to 1 GiB. */
export const TDMR_ALIGNMENT = 0x40000000;
/** Warn when fewer than this many TDMRs are left unused. */
export const TDMR_NR_WARN = 4;

export const TDX_PS_4K = 0;
export const TDX_PS_2M = 1;
export const TDX_PS_1G = 2;
export const TDX_PS_NR = 3;

/** NUMA-less fallback node for PAMT allocation. */
export const TDX_PAMT_FALLBACK_NID = 0;

// ---------------------------------------------------------------- memory notifier
export const NOTIFY_OK = 0x0001;
export const NOTIFY_BAD = 0x8002;

/**
 * TDH.SYS.DISABLE and the statuses tdx_sys_disable() retries on.
 * @see linux arch/x86/virt/vmx/tdx/tdx.h, asm/shared/tdx_errno.h (b7d2173946ef, v7.2)
 */
export const TDH_SYS_DISABLE = 69;
export const TDX_SYS_BUSY = 0x8000_0202_0000_0000n;
