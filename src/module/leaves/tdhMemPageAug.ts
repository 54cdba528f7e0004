/**
 * TDH.MEM.PAGE.AUG (leaf 6), reduced: add a 4 KiB or 2 MiB page to a running TD as PENDING.
 * The page content is left untouched (the guest's TDG.MEM.PAGE.ACCEPT zeroes it with the TD key).
 * @see TDX module ABI section 3.21
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { privatePage } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { memLeafPrologue, septFreeEntry } from '../memLeaf.js';
import { YIELD } from '../leafCtx.js';
import { pagesPerLevel, PT } from '../pamt.js';
import {
  OPERAND_ID,
  TDX_OP_STATE_INCORRECT,
  TDX_OPERAND_BUSY,
  TDX_OPERAND_INVALID,
  TDX_PAGE_METADATA_INCORRECT,
  TDX_SUCCESS,
  withOperand,
} from '../status.js';
import { gpaValid } from '../tdChecks.js';
import { OP_STATE, SEPT_STATE } from '../tdState.js';
import { TDR_LINE_STATE, storeTdr } from '../tdLayout.js';
import { storeSepte } from '../septLayout.js';

/** op_states in which PAGE.AUG (and SEPT.ADD) may run. */
export const AUG_OP_STATES: ReadonlySet<number> = new Set([OP_STATE.INITIALIZED, OP_STATE.RUNNABLE, OP_STATE.LIVE_EXPORT, OP_STATE.LIVE_IMPORT]);

/** TDH.MEM.PAGE.AUG. */
export function* tdhMemPageAug(ctx: LeafCtx): Prog<U64> {
  const start = memLeafPrologue(ctx, 'shared');
  if (start.status !== undefined) {
    return start.status;
  }
  const { gpaLevel, td } = start;
  const r = ctx.regs;
  if (!ctx.hold(td.opStateLock, 'shared')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.OP_STATE);
  }
  if (!AUG_OP_STATES.has(td.opState)) {
    return TDX_OP_STATE_INCORRECT;
  }
  const level = Number(gpaLevel & 7n);
  const gpa = gpaLevel & ~7n;
  const size = BigInt(4096 * pagesPerLevel(level));
  if (level > 1 || (gpaLevel & 0xff8n) !== 0n || gpa % size !== 0n || !gpaValid(td, gpa)) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
  }
  const sept = septFreeEntry(ctx, td, Number(gpa), level);
  if (sept !== TDX_SUCCESS) {
    return sept;
  }
  const page = privatePage(ctx, r.r8, OPERAND_ID.R8, PT.NDA, level, 'exclusive');
  if (page.status !== TDX_SUCCESS) {
    return page.status;
  }
  if (level === 1 && page.tdmr !== undefined && !ctx.m.pamt.rangeFree(page.pa, Number(size), page.tdmr)) {
    return withOperand(TDX_PAGE_METADATA_INCORRECT, OPERAND_ID.R8);
  }
  yield YIELD;
  td.sept.set(level, Number(gpa), { state: SEPT_STATE.PENDING, pa: page.pa, leaf: true });
  // sept_set_leaf_and_release_locks(): the PENDING leaf into its SEPT page, before CHLDCNT.
  storeSepte(ctx.env, td, level, Number(gpa));
  td.chldcnt += pagesPerLevel(level);
  storeTdr(ctx, td, TDR_LINE_STATE);
  ctx.m.pamt.set(page.pa, { pt: PT.REG, level, owner: td.tdrPa });
  return TDX_SUCCESS;
}
