/**
 * TDH.MEM.RANGE.UNBLOCK (leaf 39): undo TDH.MEM.RANGE.BLOCK once the TLB tracking of the block
 * epoch is done (in op_states that track TLBs: RUNNABLE, LIVE_EXPORT, LIVE_IMPORT).
 *
 * Check order: RCX/RDX zeroed → TDR (RDX, shared) → build state → op_state lock (shared) →
 * op_state row 39 → GPA/level → private GPA → SEPT tree lock exclusive → walk to the level
 * (EPT_WALK_FAILED|RCX) → state NL_BLOCKED, BLOCKED or PENDING_BLOCKED (else
 * EPT_ENTRY_STATE_INCORRECT|RCX) → TLB tracked (else TDX_TLB_TRACKING_NOT_DONE with the
 * release's operand, `ModuleProfile.unblockTlbOperand`: SEPT_TREE in 1.0 and 1.5.01, RCX, as
 * PAGE.REMOVE reports it, from 1.5.05 on).
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mem_range_unblock.c
 * @see intel/tdx-module 1.5.05 (e98d9639) src/vmm_dispatcher/api_calls/tdh_mem_range_unblock.c
 *   (niooss-ledger/tdx-module f99767b, murrowow/tdx-module 27e77d2: the same tree)
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { LEAF } from '../leafNumbers.js';
import { OPERAND_ID, TDX_EPT_ENTRY_STATE_INCORRECT, TDX_SUCCESS, TDX_TLB_TRACKING_NOT_DONE, withOperand } from '../status.js';
import { septErrorInfo } from '../tdChecks.js';
import { gpaEntryPrologue, opStateTracksTlb, tlbTracked } from '../tdcsChecks.js';
import { SEPT_STATE, septBlocked } from '../tdState.js';
import { storeSepte } from '../septLayout.js';

/** TDH.MEM.RANGE.UNBLOCK. */
export function* tdhMemRangeUnblock(ctx: LeafCtx): Prog<U64> {
  const r = ctx.regs;
  const gpaLevel = r.rcx;
  const tdrIn = r.rdx;
  r.rcx = r.rdx = 0n as U64;
  const g = gpaEntryPrologue(ctx, tdrIn, gpaLevel, 0, LEAF.TDH_MEM_RANGE_UNBLOCK);
  if (g.status !== undefined) {
    return g.status;
  }
  const { td, info } = g;
  const e = g.walk.entry;
  if (e === undefined || !septBlocked(e.state)) {
    septErrorInfo(ctx, { level: info.level, entry: e });
    return withOperand(TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID.RCX);
  }
  if (opStateTracksTlb(td.opState) && !tlbTracked(td, td.bepoch.get(e.pa) ?? td.tdEpoch)) {
    return withOperand(TDX_TLB_TRACKING_NOT_DONE, OPERAND_ID[ctx.profile.unblockTlbOperand.value]);
  }
  yield YIELD;
  const state = e.state === SEPT_STATE.PENDING_BLOCKED ? SEPT_STATE.PENDING : SEPT_STATE.MAPPED;
  td.sept.set(info.level, info.gpa, { state, pa: e.pa, leaf: e.leaf });
  // sept_unblock() then atomic_mem_write_64b(): the unblocked entry.
  storeSepte(ctx.env, td, info.level, info.gpa);
  td.bepoch.delete(e.pa);
  return TDX_SUCCESS;
}
