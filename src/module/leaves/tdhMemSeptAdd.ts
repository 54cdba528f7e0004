/**
 * TDH.MEM.SEPT.ADD (leaf 3), reduced: add a Secure EPT page at `level` (1..root) so that later
 * PAGE.ADD/AUG walks can reach their leaf. Not in the spec's TD subset; modelled minimally so that
 * PAGE.ADD and PAGE.AUG can succeed.
 * @see TDX module ABI sections 3.20, 3.21 (EPT walk)
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { privatePage } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { memLeafPrologue, septFreeEntry } from '../memLeaf.js';
import { YIELD } from '../leafCtx.js';
import { PT } from '../pamt.js';
import { OPERAND_ID, TDX_OP_STATE_INCORRECT, TDX_OPERAND_INVALID, TDX_SUCCESS, withOperand } from '../status.js';
import { gpaValid } from '../tdChecks.js';
import { SEPT_STATE } from '../tdState.js';
import { tdcxPattern } from './tdhMngAddcx.js';
import { AUG_OP_STATES } from './tdhMemPageAug.js';

/** TDH.MEM.SEPT.ADD. */
export function* tdhMemSeptAdd(ctx: LeafCtx): Prog<U64> {
  const start = memLeafPrologue(ctx, 'exclusive');
  if (start.status !== undefined) {
    return start.status;
  }
  const { gpaLevel, td } = start;
  const r = ctx.regs;
  if (!AUG_OP_STATES.has(td.opState)) {
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
