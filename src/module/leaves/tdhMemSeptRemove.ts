/**
 * TDH.MEM.SEPT.REMOVE (leaf 30): remove an empty Secure EPT page (levels 1..root-1 of the walk,
 * i.e. a PT, PD or PDPT page) from a TD. The parent entry becomes FREE, the SEPT page's PAMT
 * entry PT_NDA, CHLDCNT drops by one and RCX returns the SEPT page's PA.
 *
 * Check order: RCX/RDX zeroed (version 1: R9-R11 = NULL_PA; version > 1: OPERAND_INVALID|RAX) →
 * TDR (RDX, shared) → build state → op_state lock (shared) → op_state row 30 → GPA/level (level
 * 1..EPT walk length) → private GPA → SEPT tree lock exclusive → walk to the level
 * (EPT_WALK_FAILED|RCX) → NL_MAPPED or NL_BLOCKED (else EPT_ENTRY_STATE_INCORRECT|RCX) → the
 * SEPT page's PAMT lock exclusive (OPERAND_BUSY|RCX) → in a TLB-tracking op_state: blocked (else
 * GPA_RANGE_NOT_BLOCKED|RCX) and tracked (else TLB_TRACKING_NOT_DONE|RCX) → all 512 entries of
 * the SEPT page FREE (else TDX_EPT_PAGE_NOT_FREE|RCX).
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mem_sept_remove.c
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { LEAF } from '../leafNumbers.js';
import { septSpan } from '../SecureEpt.js';
import {
  OPERAND_ID,
  TDX_EPT_ENTRY_STATE_INCORRECT,
  TDX_EPT_PAGE_NOT_FREE,
  TDX_OPERAND_INVALID,
  TDX_SUCCESS,
  withOperand,
} from '../status.js';
import { septErrorInfo } from '../tdChecks.js';
import { gpaEntryPrologue, removableEntry } from '../tdcsChecks.js';
import { TDR_LINE_STATE, storeTdr } from '../tdLayout.js';
import { storeSepte } from '../septLayout.js';

const NULL_PA = 0xffff_ffff_ffff_ffffn as U64;

/** TDH.MEM.SEPT.REMOVE. */
export function* tdhMemSeptRemove(ctx: LeafCtx): Prog<U64> {
  const r = ctx.regs;
  const gpaLevel = r.rcx;
  const tdrIn = r.rdx;
  r.rcx = r.rdx = 0n as U64;
  if (ctx.version > 0) {
    r.r9 = r.r10 = r.r11 = NULL_PA;
  }
  if (ctx.version > 1) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RAX);
  }
  const g = gpaEntryPrologue(ctx, tdrIn, gpaLevel, 1, LEAF.TDH_MEM_SEPT_REMOVE);
  if (g.status !== undefined) {
    return g.status;
  }
  const { td, info } = g;
  const e = g.walk.entry;
  if (e === undefined || e.leaf) {
    septErrorInfo(ctx, { level: info.level, entry: e });
    return withOperand(TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID.RCX);
  }
  const removable = removableEntry(ctx, td, info.level, e);
  if (removable !== TDX_SUCCESS) {
    return removable;
  }
  const span = septSpan(info.level);
  if (td.sept.countIn(info.level - 1, info.gpa, info.gpa + span) > 0) {
    septErrorInfo(ctx, { level: info.level, entry: e });
    return withOperand(TDX_EPT_PAGE_NOT_FREE, OPERAND_ID.RCX);
  }
  yield YIELD;
  td.sept.clear(info.level, info.gpa);
  // atomic_mem_write_64b(SEPTE_INIT_VALUE), before CHLDCNT.
  storeSepte(ctx.env, td, info.level, info.gpa);
  td.bepoch.delete(e.pa);
  td.chldcnt--;
  storeTdr(ctx, td, TDR_LINE_STATE);
  ctx.m.pamt.free(e.pa, 0);
  r.rcx = BigInt(e.pa) as U64;
  return TDX_SUCCESS;
}
