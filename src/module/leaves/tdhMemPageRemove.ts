/**
 * TDH.MEM.PAGE.REMOVE (leaf 29): remove a 4 KiB, 2 MiB or 1 GiB private page from a TD. The
 * SEPT entry becomes FREE, the page's PAMT entry PT_NDA, CHLDCNT drops by the page's 4 KiB count
 * and RCX returns the page's PA. The page content is left as it is: lines written under the
 * TD's KeyID may still sit in caches, which is why the host then runs
 * TDH.PHYMEM.PAGE.WBINVD on it (Linux: tdx_sept_remove_private_spte()).
 *
 * Check order: RCX/RDX zeroed → TDR (RDX, shared) → build state → op_state lock (shared) →
 * op_state row 29 → GPA/level (level 0..2) → private GPA → SEPT tree lock *shared* → walk to
 * the level (EPT_WALK_FAILED|RCX) → a leaf in MAPPED, BLOCKED, PENDING or PENDING_BLOCKED (else
 * EPT_ENTRY_STATE_INCORRECT|RCX) → the page's PAMT entry lock exclusive (OPERAND_BUSY|RCX) → in
 * a TLB-tracking op_state (RUNNABLE...): blocked (else TDX_GPA_RANGE_NOT_BLOCKED|RCX with the
 * entry in RCX/RDX), then tracked (else TDX_TLB_TRACKING_NOT_DONE|RCX). So in INITIALIZED a
 * mapped page goes without BLOCK/TRACK, and once RUNNABLE the host must BLOCK, TRACK, REMOVE.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mem_page_remove.c;
 *   include/auto_gen/sept_state_lookup.c seamcall_sept_state_lookup[29]
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { LEAF } from '../leafNumbers.js';
import { pagesPerLevel } from '../pamt.js';
import {
  OPERAND_ID,
  TDX_EPT_ENTRY_STATE_INCORRECT,
  TDX_SUCCESS,
  withOperand,
} from '../status.js';
import { septErrorInfo } from '../tdChecks.js';
import { gpaEntryPrologue, removableEntry } from '../tdcsChecks.js';
import { TDR_LINE_STATE, storeTdr } from '../tdLayout.js';
import { storeSepte } from '../septLayout.js';

/** TDH.MEM.PAGE.REMOVE. */
export function* tdhMemPageRemove(ctx: LeafCtx): Prog<U64> {
  const r = ctx.regs;
  const gpaLevel = r.rcx;
  const tdrIn = r.rdx;
  r.rcx = r.rdx = 0n as U64;
  const g = gpaEntryPrologue(ctx, tdrIn, gpaLevel, 0, LEAF.TDH_MEM_PAGE_REMOVE, 'shared', 2);
  if (g.status !== undefined) {
    return g.status;
  }
  const { td, info } = g;
  const e = g.walk.entry;
  if (e === undefined || !e.leaf) {
    septErrorInfo(ctx, { level: info.level, entry: e });
    return withOperand(TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID.RCX);
  }
  const removable = removableEntry(ctx, td, info.level, e);
  if (removable !== TDX_SUCCESS) {
    return removable;
  }
  yield YIELD;
  td.sept.clear(info.level, info.gpa);
  // septe_set_free_or_removed_and_release_locks(): SEPTE_INIT_VALUE, before CHLDCNT.
  storeSepte(ctx.env, td, info.level, info.gpa);
  td.bepoch.delete(e.pa);
  td.chldcnt -= pagesPerLevel(info.level);
  storeTdr(ctx, td, TDR_LINE_STATE);
  ctx.m.pamt.free(e.pa, info.level);
  r.rcx = BigInt(e.pa) as U64;
  return TDX_SUCCESS;
}
