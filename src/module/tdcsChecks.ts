/**
 * The prologue most TD leaves share, in the source's order: the explicit TDR operand (checked and
 * locked in the leaf's mode), then check_state_map_tdcs_and_lock(): the TD build state (fatal,
 * lifecycle, TDCS), the op_state lock (if the leaf takes it) and the leaf's op_state row. Also
 * the GPA/level operand check (verify_page_info_input()), the locked Secure EPT walk and the TLB
 * tracking test of the runtime SEPT leaves.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/common/helpers/helpers.c
 *   check_any_td_state_map_tdcs_and_lock(), verify_page_info_input(),
 *   lock_sept_check_and_walk_internal(); include/auto_gen/op_state_lookup.c
 *   seamcall_state_lookup; src/common/helpers/helpers.h is_tlb_tracked()
 */
import type { U64 } from '../base/u64.js';
import { tdrOperand } from './hpaChecks.js';
import type { LeafCtx } from './leafCtx.js';
import { LEAF } from './leafNumbers.js';
import { OPERAND_ID, TDX_EPT_WALK_FAILED, TDX_GPA_RANGE_NOT_BLOCKED, TDX_OP_STATE_INCORRECT, TDX_OPERAND_BUSY, TDX_OPERAND_INVALID, TDX_SUCCESS, TDX_TLB_TRACKING_NOT_DONE, withOperand } from './status.js';
import { checkBuildState, gpaValid, septErrorInfo, septWalk } from './tdChecks.js';
import type { SeptWalk } from './tdChecks.js';
import type { SeptEntry, TdState } from './tdState.js';
import { OP_STATE, septBlocked } from './tdState.js';
import type { LockMode } from './TryLock.js';

const O = OP_STATE;
const ALL_INITIALIZED = [O.INITIALIZED, O.RUNNABLE, O.LIVE_EXPORT, O.PAUSED_EXPORT, O.POST_EXPORT, O.MEMORY_IMPORT, O.STATE_IMPORT, O.POST_IMPORT, O.LIVE_IMPORT, O.FAILED_IMPORT];

/**
 * op_states in which each leaf may run (seamcall_state_lookup rows of the leaves added here).
 * @see intel/tdx-module 1.5.01 (72d8cff) include/auto_gen/op_state_lookup.c
 */
export const LEAF_OP_STATES: ReadonlyMap<number, ReadonlySet<number>> = new Map<number, ReadonlySet<number>>([
  [LEAF.TDH_VP_ENTER, new Set([O.RUNNABLE, O.LIVE_EXPORT, O.LIVE_IMPORT])],
  [LEAF.TDH_MEM_RANGE_BLOCK, new Set([O.INITIALIZED, O.RUNNABLE, O.LIVE_EXPORT, O.PAUSED_EXPORT, O.POST_EXPORT, O.POST_IMPORT, O.LIVE_IMPORT])],
  [LEAF.TDH_MNG_RD, new Set(ALL_INITIALIZED)],
  [LEAF.TDH_MNG_WR, new Set([O.INITIALIZED, O.RUNNABLE, O.LIVE_EXPORT, O.MEMORY_IMPORT, O.STATE_IMPORT, O.POST_IMPORT, O.LIVE_IMPORT, O.FAILED_IMPORT])],
  [LEAF.TDH_MR_EXTEND, new Set([O.INITIALIZED])],
  [LEAF.TDH_MR_FINALIZE, new Set([O.INITIALIZED])],
  [LEAF.TDH_MEM_SEPT_RD, new Set(ALL_INITIALIZED)],
  [LEAF.TDH_VP_RD, new Set(ALL_INITIALIZED)],
  [LEAF.TDH_MEM_PAGE_REMOVE, new Set([O.INITIALIZED, O.RUNNABLE, O.LIVE_EXPORT, O.PAUSED_EXPORT, O.POST_EXPORT, O.POST_IMPORT, O.LIVE_IMPORT, O.FAILED_IMPORT])],
  [LEAF.TDH_MEM_SEPT_REMOVE, new Set(ALL_INITIALIZED)],
  [LEAF.TDH_MEM_TRACK, new Set([O.INITIALIZED, O.RUNNABLE, O.LIVE_EXPORT, O.PAUSED_EXPORT, O.POST_EXPORT, O.MEMORY_IMPORT, O.STATE_IMPORT, O.POST_IMPORT, O.LIVE_IMPORT])],
  [LEAF.TDH_MEM_RANGE_UNBLOCK, new Set([O.INITIALIZED, O.RUNNABLE, O.LIVE_EXPORT, O.PAUSED_EXPORT, O.POST_EXPORT, O.POST_IMPORT, O.LIVE_IMPORT])],
  [LEAF.TDH_MEM_PAGE_DEMOTE, new Set([O.INITIALIZED, O.RUNNABLE, O.LIVE_EXPORT, O.PAUSED_EXPORT, O.POST_EXPORT, O.POST_IMPORT, O.LIVE_IMPORT])],
  [LEAF.TDH_MEM_PAGE_PROMOTE, new Set([O.INITIALIZED, O.RUNNABLE, O.LIVE_EXPORT, O.PAUSED_EXPORT, O.POST_EXPORT, O.POST_IMPORT, O.LIVE_IMPORT])],
  [LEAF.TDH_VP_WR, new Set([O.INITIALIZED, O.RUNNABLE, O.LIVE_EXPORT, O.MEMORY_IMPORT, O.STATE_IMPORT, O.POST_IMPORT, O.LIVE_IMPORT, O.FAILED_IMPORT])],
]);

/** A TD located and state-checked, or the status to return. */
export type TdRef = { readonly status?: undefined; readonly td: TdState } | { readonly status: U64 };

/**
 * check_state_map_tdcs_and_lock() for `leaf` on a TD whose TDR is already locked: build state,
 * then the op_state lock in `opLock` ('none': TDX_LOCK_NO_LOCK), then the op_state row.
 */
export function checkTdcsState(ctx: LeafCtx, td: TdState, opLock: LockMode | 'none', leaf: number): U64 {
  const b = checkBuildState(td);
  if (b !== TDX_SUCCESS) {
    return b;
  }
  if (opLock !== 'none' && !ctx.hold(td.opStateLock, opLock)) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.OP_STATE);
  }
  if (!(LEAF_OP_STATES.get(leaf)?.has(td.opState) ?? false)) {
    return TDX_OP_STATE_INCORRECT;
  }
  return TDX_SUCCESS;
}

/** check_lock_and_map_explicit_tdr() of `v` (reported as `operand`), then checkTdcsState(). */
export function tdPrologue(ctx: LeafCtx, v: bigint, operand: number, tdrMode: LockMode, opLock: LockMode | 'none', leaf: number): TdRef {
  const t = tdrOperand(ctx, v, operand, tdrMode);
  if (t.td === undefined) {
    return { status: t.status };
  }
  const s = checkTdcsState(ctx, t.td, opLock, leaf);
  return s === TDX_SUCCESS ? { td: t.td } : { status: s };
}

/** A page_info_api_input_t operand (GPA | level) decoded. */
export interface PageInfo {
  readonly gpa: number;
  readonly level: number;
}

/**
 * verify_page_info_input(): bits 11:3 and 63:52 zero, level in [minLevel, maxLevel], GPA aligned
 * to the level's page size. @returns the decoded operand, or undefined (TDX_OPERAND_INVALID).
 */
export function pageInfo(v: bigint, minLevel: number, maxLevel: number): PageInfo | undefined {
  const level = Number(v & 7n);
  if ((v & 0xff8n) !== 0n || v >> 52n !== 0n) {
    return undefined;
  }
  if (level < minLevel || level > maxLevel) {
    return undefined;
  }
  const gpa = v & ~0xfffn;
  if (gpa % (1n << BigInt(12 + 9 * level)) !== 0n) {
    return undefined;
  }
  return { gpa: Number(gpa), level };
}

/** Result of lock_sept_check_and_walk_private_gpa(): the walk, or a status (walk set on EPT_WALK_FAILED). */
export type LockedWalk = { readonly status: U64; readonly walk?: SeptWalk };

/**
 * lock_sept_check_and_walk_private_gpa(): the private-GPA check (OPERAND_INVALID|RCX), the SEPT
 * tree lock in `mode` (OPERAND_BUSY|SEPT_TREE), then the walk to `level` (EPT_WALK_FAILED|RCX
 * when it stops above). The SEPT entry lock (sept_lock_acquire_host()) is not modelled.
 */
export function lockedSeptWalk(ctx: LeafCtx, td: TdState, info: PageInfo, mode: LockMode): LockedWalk {
  if (!gpaValid(td, BigInt(info.gpa))) {
    return { status: withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX) };
  }
  if (!ctx.hold(td.septLock, mode)) {
    return { status: withOperand(TDX_OPERAND_BUSY, OPERAND_ID.SEPT_TREE) };
  }
  const walk = septWalk(td, info.gpa, info.level);
  if (walk.level !== info.level) {
    return { status: withOperand(TDX_EPT_WALK_FAILED, OPERAND_ID.RCX), walk };
  }
  return { status: TDX_SUCCESS, walk };
}

/** A TD, the GPA and level asked for, and the Secure EPT walk to it; or the status to return. */
export type GpaEntry = { readonly status?: undefined; readonly td: TdState; readonly info: PageInfo; readonly walk: SeptWalk } | { readonly status: U64 };

/**
 * The common start of the leaves that act on one Secure EPT entry of a TD: the TDR in RDX
 * (shared) with the op-state lock shared, the GPA and level in RCX (OPERAND_INVALID|RCX when
 * malformed, below `minLevel` or above `maxLevel`, by default the TD's root level), then the SEPT
 * walk with the tree lock in `walkMode`; a failed walk reports the entry it stopped at in RCX/RDX.
 * RANGE.BLOCK, RANGE.UNBLOCK and SEPT.REMOVE walk exclusive; PAGE.REMOVE, PAGE.PROMOTE and
 * PAGE.DEMOTE walk shared with levels up to 1G.
 * @see intel/tdx-module 1.5.01 tdh_mem_range_block.c, tdh_mem_range_unblock.c, tdh_mem_sept_remove.c,
 *      tdh_mem_page_remove.c, tdh_mem_page_promote.c, tdh_mem_page_demote.c
 */
export function gpaEntryPrologue(ctx: LeafCtx, tdrIn: bigint, gpaLevel: bigint, minLevel: number, leaf: number, walkMode: LockMode = 'exclusive', maxLevel?: number): GpaEntry {
  const t = tdPrologue(ctx, tdrIn, OPERAND_ID.RDX, 'shared', 'shared', leaf);
  if (t.status !== undefined) {
    return { status: t.status };
  }
  const td = t.td;
  const info = pageInfo(gpaLevel, minLevel, maxLevel ?? td.septRootLevel);
  if (info === undefined) {
    return { status: withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX) };
  }
  const w = lockedSeptWalk(ctx, td, info, walkMode);
  if (w.status !== TDX_SUCCESS || w.walk === undefined) {
    if (w.walk !== undefined) {
      septErrorInfo(ctx, w.walk);
    }
    return { status: w.status };
  }
  return { td, info, walk: w.walk };
}

/** op_state_is_tlb_tracking_required(): RUNNABLE, LIVE_EXPORT, LIVE_IMPORT. */
export function opStateTracksTlb(opState: number): boolean {
  return opState === O.RUNNABLE || opState === O.LIVE_EXPORT || opState === O.LIVE_IMPORT;
}

/** is_tlb_tracked(): the block epoch has been tracked and no VCPU still runs in it. */
export function tlbTracked(td: TdState, bepoch: number): boolean {
  if (bepoch === td.tdEpoch - 1 && td.epochRefcount[bepoch & 1] === 0) {
    return true;
  }
  return bepoch < td.tdEpoch - 1;
}

/**
 * Before an entry is removed (PAGE.REMOVE, SEPT.REMOVE): its PAMT entry locked exclusive
 * (OPERAND_BUSY|RCX), and while the TD's op state tracks TLBs, the entry blocked
 * (GPA_RANGE_NOT_BLOCKED|RCX, entry details reported) and its block epoch tracked
 * (TLB_TRACKING_NOT_DONE|RCX).
 * @see intel/tdx-module 1.5.01 tdh_mem_page_remove.c, tdh_mem_sept_remove.c
 */
export function removableEntry(ctx: LeafCtx, td: TdState, level: number, e: SeptEntry): U64 {
  if (!ctx.hold(ctx.m.pamt.lock(e.pa), 'exclusive')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.RCX);
  }
  if (opStateTracksTlb(td.opState)) {
    if (!septBlocked(e.state)) {
      septErrorInfo(ctx, { level, entry: e });
      return withOperand(TDX_GPA_RANGE_NOT_BLOCKED, OPERAND_ID.RCX);
    }
    if (!tlbTracked(td, td.bepoch.get(e.pa) ?? td.tdEpoch)) {
      return withOperand(TDX_TLB_TRACKING_NOT_DONE, OPERAND_ID.RCX);
    }
  }
  return TDX_SUCCESS;
}
