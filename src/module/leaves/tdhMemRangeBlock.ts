/**
 * TDH.MEM.RANGE.BLOCK (leaf 7): block a Secure EPT entry (a leaf page or a non-leaf SEPT page)
 * so that no new TLB translation can be created through it; its page records the TD epoch
 * (bepoch) for the TLB tracking that TDH.MEM.TRACK completes.
 *
 * Check order: RCX/RDX zeroed → TDR (RDX, shared) → build state → op_state lock (shared) →
 * op_state row 7 → GPA/level (level ≤ EPT walk length, else OPERAND_INVALID|RCX) → private GPA
 * (OPERAND_INVALID|RCX) → SEPT tree lock exclusive (OPERAND_BUSY|SEPT_TREE) → walk to the level
 * (EPT_WALK_FAILED|RCX, RCX/RDX = entry where it stopped) → state NL_MAPPED, MAPPED or PENDING
 * (else TDX_GPA_RANGE_ALREADY_BLOCKED|RCX for a blocked entry, a warning, or
 * TDX_EPT_ENTRY_STATE_INCORRECT|RCX; RCX/RDX = entry details at the requested level).
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mem_range_block.c;
 *   include/auto_gen/sept_state_lookup.c seamcall_sept_state_lookup[7]
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { LEAF } from '../leafNumbers.js';
import { OPERAND_ID, TDX_EPT_ENTRY_STATE_INCORRECT, TDX_GPA_RANGE_ALREADY_BLOCKED, TDX_SUCCESS, withOperand } from '../status.js';
import { septErrorInfo } from '../tdChecks.js';
import { gpaEntryPrologue } from '../tdcsChecks.js';
import { SEPT_STATE, septBlocked } from '../tdState.js';
import { storeSepte } from '../septLayout.js';

/** TDH.MEM.RANGE.BLOCK. */
export function* tdhMemRangeBlock(ctx: LeafCtx): Prog<U64> {
  const r = ctx.regs;
  const gpaLevel = r.rcx;
  const tdrIn = r.rdx;
  r.rcx = r.rdx = 0n as U64;
  const g = gpaEntryPrologue(ctx, tdrIn, gpaLevel, 0, LEAF.TDH_MEM_RANGE_BLOCK);
  if (g.status !== undefined) {
    return g.status;
  }
  const { td, info } = g;
  const e = g.walk.entry;
  const allowed = e !== undefined && (e.state === SEPT_STATE.MAPPED || (e.leaf && e.state === SEPT_STATE.PENDING));
  if (!allowed) {
    septErrorInfo(ctx, { level: info.level, entry: e });
    const blocked = e !== undefined && septBlocked(e.state);
    return withOperand(blocked ? TDX_GPA_RANGE_ALREADY_BLOCKED : TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID.RCX);
  }
  yield YIELD;
  const state = e.state === SEPT_STATE.PENDING ? SEPT_STATE.PENDING_BLOCKED : SEPT_STATE.BLOCKED;
  td.sept.set(info.level, info.gpa, { state, pa: e.pa, leaf: e.leaf });
  // block_sept_entry() then atomic_mem_write_64b(): the blocked entry, before the PAMT BEPOCH.
  storeSepte(ctx.env, td, info.level, info.gpa);
  td.bepoch.set(e.pa, td.tdEpoch);
  return TDX_SUCCESS;
}
