/**
 * TDH.MEM.PAGE.PROMOTE (leaf 23): merge the 512 contiguous leaf mappings under a non-leaf Secure
 * EPT entry (a 2 MiB range of 4 KiB pages, or a 1 GiB range of 2 MiB pages) into one large leaf,
 * free the Secure EPT page that held them and return it in RCX.
 *
 * Check order (1.5.01): RCX/RDX zeroed (version > 0: R9-R11 = NULL_PA) → version > 1
 * (OPERAND_INVALID|RAX) → TDR (RDX, shared) → build state → op_state lock (shared) → op_state row
 * 23 → GPA/level, level 1 or 2 (OPERAND_INVALID|RCX) → private GPA → SEPT tree lock *shared*
 * (OPERAND_BUSY|SEPT_TREE) → walk to the level (EPT_WALK_FAILED|RCX) → the entry NL_MAPPED or
 * NL_BLOCKED (EPT_ENTRY_STATE_INCORRECT|RCX) → the Secure EPT page's PAMT entry exclusive
 * (OPERAND_BUSY|RCX) → in a TLB-tracking op_state: blocked (GPA_RANGE_NOT_BLOCKED|RCX), tracked
 * (TLB_TRACKING_NOT_DONE|RCX) → the 512 children: leaves, MAPPED or PENDING, all alike, pages
 * contiguous from a start aligned to the merged size (EPT_INVALID_PROMOTE_CONDITIONS|RCX, the
 * merged entry in RCX/RDX) → pending interrupt (TDX_INTERRUPTED_RESTARTABLE, RCX/RDX restored) →
 * pamt_promote(): the merged range's PAMT_2M (PAMT_1G) entry exclusive (OPERAND_BUSY|RCX), held
 * while the 512 child entries are merged (the window in which a 4 KiB walk in that range fails
 * OPERAND_BUSY).
 *
 * Effects: the large entry becomes a leaf in the children's state (MAPPED or PENDING); the PAMT
 * leaf becomes one 2 MiB (1 GiB) PT_REG entry of the TD; the Secure EPT page becomes PT_NDA and
 * CHLDCNT drops by one; RCX = the freed page's PA. Dynamic PAMT (1.5.34, 2.0.08), 2 MiB: the
 * range's 4 KiB PAMT page pair is released (bitmap bits cleared) and returned in R12/R13, and
 * RCX bit 62 (PAMT_REMOVAL_HINT) says the freed page's own 2 MiB range has no 4 KiB page left.
 * Not modelled: SEPT entry locks (sept_lock_acquire_host()), L2 aliases (the model has no L2 SEPT,
 * so version 1 returns NULL_PA in R9-R11 for every L2 VM, as the source does for an unaliased one).
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mem_page_promote.c,
 *   src/common/memory_handlers/pamt_manager.c pamt_promote(), include/auto_gen/sept_state_lookup.c
 *   [23]; 2.0.08 (1666adc4) tdh_mem_page_promote.c (R12/R13, PAMT_REMOVAL_HINT)
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { LEAF } from '../leafNumbers.js';
import { Pamt, PT } from '../pamt.js';
import { septSpan } from '../SecureEpt.js';
import {
  OPERAND_ID,
  TDX_EPT_ENTRY_STATE_INCORRECT,
  TDX_EPT_INVALID_PROMOTE_CONDITIONS,
  TDX_GPA_RANGE_NOT_BLOCKED,
  TDX_INTERRUPTED_RESTARTABLE,
  TDX_OPERAND_BUSY,
  TDX_OPERAND_INVALID,
  TDX_SUCCESS,
  TDX_TLB_TRACKING_NOT_DONE,
  withOperand,
} from '../status.js';
import { septErrorInfo } from '../tdChecks.js';
import { gpaEntryPrologue, opStateTracksTlb, tlbTracked } from '../tdcsChecks.js';
import type { SeptEntry, TdState } from '../tdState.js';
import { SEPT_STATE, septBlocked } from '../tdState.js';
import { TDR_LINE_STATE, storeTdr } from '../tdLayout.js';
import { septPageOfRun, storeSepte } from '../septLayout.js';

/** NULL_PA: "no page" in R9-R11. */
export const NULL_PA = 0xffff_ffff_ffff_ffffn as U64;
/** RCX bit 62 of PROMOTE in the Dynamic PAMT trees. @see intel/tdx-module pamt_manager.h PAMT_REMOVAL_HINT */
const PAMT_REMOVAL_HINT = 1n << 62n;

/**
 * is_sept_page_valid_for_merge(): the 512 entries one level below `level` in the merged range are
 * leaves in MAPPED or PENDING, all in one state, mapping contiguous pages from a start aligned to
 * the merged size. @returns the first child, or undefined.
 */
function mergeable(td: TdState, gpa: number, level: number): SeptEntry | undefined {
  const span = septSpan(level);
  const runs = td.sept.leafRuns(level - 1, gpa, gpa + span);
  const run = runs[0];
  if (runs.length !== 1 || run === undefined || run.size !== span || run.pa % span !== 0) {
    return undefined;
  }
  if (run.state !== SEPT_STATE.MAPPED && run.state !== SEPT_STATE.PENDING) {
    return undefined;
  }
  return { state: run.state, pa: run.pa, leaf: true };
}

/** TDH.MEM.PAGE.PROMOTE. */
export function* tdhMemPagePromote(ctx: LeafCtx): Prog<U64> {
  const r = ctx.regs;
  const [rcxIn, rdxIn] = [r.rcx, r.rdx];
  r.rcx = r.rdx = 0n as U64;
  if (ctx.version > 0) {
    r.r9 = r.r10 = r.r11 = NULL_PA;
  }
  if (ctx.version > 1) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RAX);
  }
  const g = gpaEntryPrologue(ctx, rdxIn, rcxIn, 1, LEAF.TDH_MEM_PAGE_PROMOTE, 'shared', 2);
  if (g.status !== undefined) {
    return g.status;
  }
  const { td, info } = g;
  const e = g.walk.entry;
  const here = { level: info.level, entry: e };
  if (e === undefined || e.leaf || (e.state !== SEPT_STATE.MAPPED && e.state !== SEPT_STATE.BLOCKED)) {
    septErrorInfo(ctx, here);
    return withOperand(TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID.RCX);
  }
  const pamt = ctx.m.pamt;
  if (!ctx.hold(pamt.lock(e.pa), 'exclusive')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.RCX);
  }
  if (opStateTracksTlb(td.opState)) {
    if (!septBlocked(e.state)) {
      septErrorInfo(ctx, here);
      return withOperand(TDX_GPA_RANGE_NOT_BLOCKED, OPERAND_ID.RCX);
    }
    if (!tlbTracked(td, td.bepoch.get(e.pa) ?? td.tdEpoch)) {
      return withOperand(TDX_TLB_TRACKING_NOT_DONE, OPERAND_ID.RCX);
    }
  }
  const first = mergeable(td, info.gpa, info.level);
  if (first === undefined) {
    septErrorInfo(ctx, here);
    return withOperand(TDX_EPT_INVALID_PROMOTE_CONDITIONS, OPERAND_ID.RCX);
  }
  if (ctx.env.interruptPending()) {
    [r.rcx, r.rdx] = [rcxIn, rdxIn];
    return TDX_INTERRUPTED_RESTARTABLE;
  }
  // pamt_promote(): the merged range's PAMT entry exclusive while its children are merged.
  if (!ctx.hold(pamt.lock(first.pa, info.level), 'exclusive')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.RCX);
  }
  yield YIELD;
  commitPromote(ctx, td, info, e.pa, first);
  return TDX_SUCCESS;
}

/** The commit of PROMOTE: Secure EPT, PAMT, CHLDCNT and the output registers. */
function commitPromote(ctx: LeafCtx, td: TdState, info: { gpa: number; level: number }, septPagePa: number, first: SeptEntry): void {
  const r = ctx.regs;
  const pamt = ctx.m.pamt;
  const tdmr = pamt.block(first.pa);
  const child = tdmr === undefined ? undefined : pamt.get(first.pa, tdmr);
  const pair = info.level === 1 && pamt.dynamic ? pamt.pairs.get(Pamt.index2m(first.pa)) : undefined;
  // is_sept_page_valid_for_merge() locked all 512 entries of the merged page (TDEL, cached
  // stores through the TD's HKID) and the commit leaves them locked: the freed page keeps them.
  ctx.env.write(septPagePa, septPageOfRun(first, info.level - 1, true), td.hkid, 'tdx-module');
  td.sept.clearRun(info.level - 1, info.gpa, septSpan(info.level));
  td.sept.set(info.level, info.gpa, { state: first.state, pa: first.pa, leaf: true });
  // The parent takes entry 0 of the merged page (then unlocked): the new large leaf.
  storeSepte(ctx.env, td, info.level, info.gpa);
  td.bepoch.delete(septPagePa);
  td.chldcnt--;
  storeTdr(ctx, td, TDR_LINE_STATE);
  pamt.set(first.pa, { pt: child?.pt ?? PT.REG, level: info.level, owner: child?.owner ?? td.tdrPa });
  pamt.free(septPagePa, 0);
  let rcx = BigInt(septPagePa);
  if (pair !== undefined) {
    pamt.pairs.delete(Pamt.index2m(first.pa));
    pamt.pamtPages.delete(Math.floor(pair[0] / 4096));
    pamt.pamtPages.delete(Math.floor(pair[1] / 4096));
    r.r12 = BigInt(pair[0]) as U64;
    r.r13 = BigInt(pair[1]) as U64;
  }
  if (pamt.dynamic && pamt.pairs.has(Pamt.index2m(septPagePa))) {
    const used = pamt.used4kIn2m(Pamt.index2m(septPagePa) * 0x20_0000);
    if (used.first + used.second === 0) {
      rcx |= PAMT_REMOVAL_HINT;
    }
  }
  r.rcx = rcx as U64;
}
