/**
 * SEAMCALL leaf numbers (RAX bits 15:0), identical in the module's enum and Linux's tdx.h.
 * @see TDX module ABI section 1.3
 */
export const LEAF = {
  TDH_VP_ENTER: 0,
  TDH_MNG_ADDCX: 1,
  TDH_MEM_PAGE_ADD: 2,
  TDH_MEM_SEPT_ADD: 3,
  TDH_VP_ADDCX: 4,
  TDH_MEM_PAGE_RELOCATE: 5,
  TDH_MEM_PAGE_AUG: 6,
  TDH_MEM_RANGE_BLOCK: 7,
  TDH_MNG_KEY_CONFIG: 8,
  TDH_MNG_CREATE: 9,
  TDH_VP_CREATE: 10,
  TDH_MNG_RD: 11,
  TDH_MEM_RD: 12,
  TDH_MNG_WR: 13,
  TDH_MEM_WR: 14,
  TDH_MEM_PAGE_DEMOTE: 15,
  TDH_MR_EXTEND: 16,
  TDH_MR_FINALIZE: 17,
  TDH_VP_FLUSH: 18,
  TDH_MNG_VPFLUSHDONE: 19,
  TDH_MNG_KEY_FREEID: 20,
  TDH_MNG_INIT: 21,
  TDH_VP_INIT: 22,
  TDH_MEM_PAGE_PROMOTE: 23,
  TDH_PHYMEM_PAGE_RDMD: 24,
  TDH_MEM_SEPT_RD: 25,
  TDH_VP_RD: 26,
  TDH_MNG_KEY_RECLAIMID: 27,
  TDH_PHYMEM_PAGE_RECLAIM: 28,
  TDH_MEM_PAGE_REMOVE: 29,
  TDH_MEM_SEPT_REMOVE: 30,
  TDH_SYS_KEY_CONFIG: 31,
  TDH_SYS_INFO: 32,
  TDH_SYS_INIT: 33,
  TDH_SYS_RD: 34,
  TDH_SYS_LP_INIT: 35,
  TDH_SYS_TDMR_INIT: 36,
  TDH_SYS_RDALL: 37,
  TDH_MEM_TRACK: 38,
  TDH_MEM_RANGE_UNBLOCK: 39,
  TDH_PHYMEM_CACHE_WB: 40,
  TDH_PHYMEM_PAGE_WBINVD: 41,
  TDH_MEM_SEPT_WR: 42,
  TDH_VP_WR: 43,
  TDH_SYS_LP_SHUTDOWN: 44,
  TDH_SYS_CONFIG: 45,
  TDH_SERVTD_BIND: 48,
  TDH_SERVTD_PREBIND: 49,
  TDH_SYS_SHUTDOWN: 52,
  TDH_SYS_UPDATE: 53,
  /** Dynamic PAMT. @see intel/tdx-module 2.0.08 (1666adc4) include/tdx_api_defs.h seamcall_leaf_opcode_t */
  TDH_PHYMEM_PAMT_ADD: 58,
  TDH_PHYMEM_PAMT_REMOVE: 59,
  TDH_EXT_MEM_ADD: 61,
  TDH_SYS_DISABLE: 69,
} as const;

/** Leaf name in the spec's dotted style ("TDH.SYS.INIT"), or "leaf N". */
export function leafName(leaf: number): string {
  for (const [k, n] of Object.entries(LEAF)) {
    if (n === leaf) {
      return k.replaceAll('_', '.');
    }
  }
  return `leaf ${leaf}`;
}
