/**
 * TDH.MEM.SEPT.ADD (leaf 3), reduced: add a Secure EPT page at `level` (1..root) so that later
 * PAGE.ADD/AUG walks can reach their leaf. Not in the spec's TD subset; modelled minimally so that
 * PAGE.ADD and PAGE.AUG can succeed.
 *
 * Locks as in the source: the TDR *shared* (several SEPT.ADDs and AUGs of one TD run at once),
 * the op_state lock shared. The SEPT tree and SEPT entry locks are not modelled.
 * @see TDX module ABI sections 3.20, 3.21 (EPT walk); intel/tdx-module 1.5.01 (72d8cff)
 *   src/vmm_dispatcher/api_calls/tdh_mem_sept_add.c (TDR TDX_LOCK_SHARED,
 *   check_state_map_tdcs_and_lock(TDX_LOCK_SHARED)), include/auto_gen/op_state_lookup.c [3]
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { privatePage } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { memLeafPrologue, septFreeEntry } from '../memLeaf.js';
import { YIELD } from '../leafCtx.js';
import { PT } from '../pamt.js';
import { OPERAND_ID, TDX_OP_STATE_INCORRECT, TDX_OPERAND_BUSY, TDX_OPERAND_INVALID, TDX_SUCCESS, withOperand } from '../status.js';
import { gpaValid } from '../tdChecks.js';
import { OP_STATE, SEPT_STATE } from '../tdState.js';
import { tdcxPattern } from './tdhMngAddcx.js';

/** op_states in which SEPT.ADD may run: the AUG set plus the import states. */
export const SEPT_ADD_OP_STATES: ReadonlySet<number> = new Set([
  OP_STATE.INITIALIZED,
  OP_STATE.RUNNABLE,
  OP_STATE.LIVE_EXPORT,
  OP_STATE.MEMORY_IMPORT,
  OP_STATE.STATE_IMPORT,
  OP_STATE.POST_IMPORT,
  OP_STATE.LIVE_IMPORT,
]);

/** TDH.MEM.SEPT.ADD. */
export function* tdhMemSeptAdd(ctx: LeafCtx): Prog<U64> {
  const start = memLeafPrologue(ctx, 'shared');
  if (start.status !== undefined) {
    return start.status;
  }
  const { gpaLevel, td } = start;
  const r = ctx.regs;
  if (!ctx.hold(td.opStateLock, 'shared')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.OP_STATE);
  }
  if (!SEPT_ADD_OP_STATES.has(td.opState)) {
    return TDX_OP_STATE_INCORRECT;
  }
  const level = Number(gpaLevel & 7n);
  const gpa = gpaLevel & ~7n;
  if (level < 1 || level > td.septRootLevel || gpa % (1n << BigInt(12 + 9 * level)) !== 0n || !gpaValid(td, gpa)) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
  }
  const sept = septFreeEntry(ctx, td, Number(gpa), level);
  if (sept !== TDX_SUCCESS) {
    return sept;
  }
  const page = privatePage(ctx, r.r8, OPERAND_ID.R8, PT.NDA, 0, 'exclusive');
  if (page.status !== TDX_SUCCESS) {
    return page.status;
  }
  yield YIELD;
  ctx.env.movdir64b(page.pa, 4096, td.hkid, tdcxPattern(3), 'tdx-module');
  td.sept.set(level, Number(gpa), { state: SEPT_STATE.MAPPED, pa: page.pa, leaf: false });
  td.chldcnt++;
  ctx.m.pamt.set(page.pa, { pt: PT.EPT, level: 0, owner: td.tdrPa });
  return TDX_SUCCESS;
}
