/**
 * Checks shared by the TD-lifecycle leaves: the TD "build state" (not fatal, keys configured,
 * TDCS allocated), op_state membership, GPA validity and the Secure EPT walk.
 * @see TDX module ABI sections 2.4, 3.18-3.22; intel/tdx-module helpers.c check_td_in_correct_build_state()
 */
import type { U64 } from '../base/u64.js';
import type { LeafCtx } from './leafCtx.js';
import { PAGE_LEVEL } from './pamt.js';
import { TDX_SUCCESS, TDX_TD_FATAL, TDX_TD_KEYS_NOT_CONFIGURED, TDX_TDCS_NOT_ALLOCATED } from './status.js';
import type { SeptEntry, TdState } from './tdState.js';
import { septArchValue, septeRaw } from './septLayout.js';
import { publicSeptState, SEPT_STATE, TD_LIFECYCLE } from './tdState.js';

/** check_td_in_correct_build_state(): fatal, lifecycle, TDCS. */
export function checkBuildState(td: TdState): U64 {
  if (td.fatal) {
    return TDX_TD_FATAL;
  }
  if (td.lifecycle !== TD_LIFECYCLE.TD_KEYS_CONFIGURED) {
    return TDX_TD_KEYS_NOT_CONFIGURED;
  }
  if (!td.tdcsAllocated) {
    return TDX_TDCS_NOT_ALLOCATED;
  }
  return TDX_SUCCESS;
}

/** The architectural view of a FREE Secure EPT entry: only SUPPRESS_VE (bit 63) set. */
export const SEPTE_FREE = 0x8000_0000_0000_0000n;

/**
 * Architectural 64-bit value of a SEPT entry (for RCX on SEPT errors and SEPT.RD): the entry's
 * in-page value (septLayout.ts `septeRaw()`) masked as set_arch_septe_details_in_vmm_regs()
 * masks it. FREE: SUPPRESS_VE only. A leaf keeps RWX, MT, HPA, IPAT, PS and SVE: a MAPPED
 * 4 KiB leaf is HPA | 0x80000000000000F7 (PS is the leaf bit at every level, IPAT and SVE are
 * set by sept_set_leaf_no_lock_internal()); PENDING and the blocked states have RWX clear
 * (HPA | 0x80000000000000F0). A non-leaf entry keeps RWX and PS only: 0x7 while NL_MAPPED, 0
 * while NL_BLOCKED (module audit row 15).
 * Until this version the model reported a leaf without IPAT and SVE and with PS only above
 * 4 KiB (HPA | 0x37 for a mapped 4 KiB page); the source masks the in-page value, which has them.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/common/memory_handlers/sept_manager.c
 *   set_arch_septe_details_in_vmm_regs(), sept_manager.h SEPT_ARCH_ENTRY_LEAF_MASK,
 *   SEPT_ARCH_ENTRY_NON_LEAF_MASK
 */
export function septValue(e: SeptEntry | undefined): bigint {
  return septArchValue(septeRaw(e));
}

/** GPA checks: reserved bits 63:52, shared bit, bits beyond GPAW. */
export function gpaValid(td: TdState, gpa: bigint): boolean {
  if (gpa >> 52n !== 0n) {
    return false;
  }
  const width = td.gpaw ? 52n : 48n;
  const sharedBit = width - 1n;
  return (gpa >> sharedBit) === 0n;
}

/** Where a SEPT walk to `target` stopped. */
export interface SeptWalk {
  /** Level reached: equals `target` when the walk succeeded. */
  readonly level: number;
  /** Entry at the reached level (undefined: FREE). */
  readonly entry: SeptEntry | undefined;
}

/** Walk the Secure EPT from the root down to `target` for `gpa`. */
export function septWalk(td: TdState, gpa: number, target: number): SeptWalk {
  for (let level = td.septRootLevel; level > target; level--) {
    const e = td.sept.get(level, gpa);
    if (e === undefined || e.leaf || e.state !== SEPT_STATE.MAPPED) {
      return { level, entry: e };
    }
  }
  return { level: target, entry: td.sept.get(target, gpa) };
}

/**
 * Set RCX/RDX to the extended error information of a SEPT error: the architectural entry, and the
 * level with the entry's public state in bits 15:8 (NL_MAPPED 132, NL_BLOCKED 129 for non-leaf
 * entries: sept_special_flags_lookup[].public_state).
 */
export function septErrorInfo(ctx: LeafCtx, walk: SeptWalk): void {
  const e = walk.entry;
  const state = e === undefined ? SEPT_STATE.FREE : publicSeptState(e.state, e.leaf);
  ctx.regs.rcx = septValue(e) as typeof ctx.regs.rcx;
  ctx.regs.rdx = (BigInt(walk.level) | (BigInt(state) << 8n)) as typeof ctx.regs.rdx;
}

/** Level of a PAMT leaf for a SEPT level (0 = 4K, 1 = 2M, 2 = 1G). */
export const LEVEL_FOR = [PAGE_LEVEL.PT_4KB, PAGE_LEVEL.PT_2MB, PAGE_LEVEL.PT_1GB] as const;
