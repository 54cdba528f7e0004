/**
 * TDH.MEM.PAGE.DEMOTE (leaf 15): split a 2 MiB (1 GiB) leaf mapping into 512 mappings one level
 * down, held in a new Secure EPT page given in R8.
 *
 * Check order (1.5.01): RCX/RDX zeroed → RDX bits 11:1 and 63:52 zero (OPERAND_INVALID|RDX; bit 0
 * is L2_SEPT_ADD_MODE) → TDR (RDX bits 51:12, shared) → build state → op_state lock (shared) →
 * op_state row 15 → GPA/level, level 1 or 2 (OPERAND_INVALID|RCX) → private GPA → SEPT tree lock
 * *shared* (OPERAND_BUSY|SEPT_TREE) → walk to the level (EPT_WALK_FAILED|RCX) → the entry a leaf in
 * MAPPED, BLOCKED, PENDING or PENDING_BLOCKED (EPT_ENTRY_STATE_INCORRECT|RCX) → in a TLB-tracking
 * op_state: blocked (GPA_RANGE_NOT_BLOCKED|RCX), tracked (TLB_TRACKING_NOT_DONE|RCX) → the new
 * page (R8: PT_NDA, exclusive; with Dynamic PAMT a range without a 4 KiB page pair gives
 * MISSING_PAMT_PAGE_PAIR|R8) → the new page is written (MOVDIR64B, TD KeyID) → pending interrupt
 * (TDX_INTERRUPTED_RESTARTABLE, RCX/RDX restored; the page was written but stays PT_NDA) →
 * pamt_demote(): the leaf's PAMT_2M (PAMT_1G) entry exclusive (OPERAND_BUSY|RCX), held while its
 * children are written; with Dynamic PAMT and a 2 MiB leaf, R12/R13 are the 4 KiB PAMT page pair
 * for the new entries: format (OPERAND_INVALID|R12, |R13), TDMR block (ADDR_RANGE_ERROR|R12, |R13),
 * shared walk and PT_NDA (OPERAND_BUSY / PAGE_NOT_FREE |R12, then |R13), not already PAMT pages
 * (PAGE_NOT_FREE|R12, |R13).
 *
 * Effects: the entry becomes non-leaf MAPPED over the new page; its 512 children take the entry's
 * state unblocked (BLOCKED → MAPPED, PENDING_BLOCKED → PENDING) and contiguous pages; the PAMT leaf
 * becomes 512 leaves one level down with the same page type and owner (bepoch 0); the new page
 * becomes PT_EPT of the TD and CHLDCNT grows by one. With Dynamic PAMT the pair is zeroed through
 * the global KeyID and becomes the range's PT_PAMT node. RCX/RDX stay 0; R9-R11 come back as given.
 * Not modelled: SEPT entry locks, L2 aliases (the L2 SEPT pages of R9-R11 are neither checked nor
 * used).
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mem_page_demote.c,
 *   pamt_manager.c pamt_demote(), include/auto_gen/sept_state_lookup.c [15]; 2.0.08 (1666adc4)
 *   tdh_mem_page_demote.c and the Dynamic PAMT trees' pamt_demote() (R12/R13)
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { claimPamtPages, pamtPageFormatOk, pamtPageFree } from '../dynamicPamt.js';
import { privatePage } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { LEAF } from '../leafNumbers.js';
import { Pamt, PAGE_LEVEL, PT } from '../pamt.js';
import { septSpan } from '../SecureEpt.js';
import {
  OPERAND_ID,
  TDX_EPT_ENTRY_STATE_INCORRECT,
  TDX_GPA_RANGE_NOT_BLOCKED,
  TDX_INTERRUPTED_RESTARTABLE,
  TDX_OPERAND_ADDR_RANGE_ERROR,
  TDX_OPERAND_BUSY,
  TDX_OPERAND_INVALID,
  TDX_PAGE_NOT_FREE,
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

/** td_handle_and_flags_t: bits 11:1 and 63:52 reserved (bit 0: ALLOW_EXISTING / L2_SEPT_ADD_MODE). */
export const TD_HANDLE_RESERVED = 0xfff0_0000_0000_0ffen;
/** td_handle_and_flags_t: the TDR's PA (bits 51:12). */
export const TD_HANDLE_TDR = 0x000f_ffff_ffff_f000n;

/** The states DEMOTE accepts (seamcall_sept_state_lookup[15]). */
function demotable(e: SeptEntry | undefined): e is SeptEntry {
  return e !== undefined && e.leaf && (e.state === SEPT_STATE.MAPPED || e.state === SEPT_STATE.BLOCKED || e.state === SEPT_STATE.PENDING || e.state === SEPT_STATE.PENDING_BLOCKED);
}

/** TDH.MEM.PAGE.DEMOTE. */
export function* tdhMemPageDemote(ctx: LeafCtx): Prog<U64> {
  const r = ctx.regs;
  const [rcxIn, rdxIn] = [r.rcx, r.rdx];
  r.rcx = r.rdx = 0n as U64;
  if ((rdxIn & TD_HANDLE_RESERVED) !== 0n) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RDX);
  }
  const g = gpaEntryPrologue(ctx, rdxIn & TD_HANDLE_TDR, rcxIn, 1, LEAF.TDH_MEM_PAGE_DEMOTE, 'shared', 2);
  if (g.status !== undefined) {
    return g.status;
  }
  const { td, info } = g;
  const e = g.walk.entry;
  const here = { level: info.level, entry: e };
  if (!demotable(e)) {
    septErrorInfo(ctx, here);
    return withOperand(TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID.RCX);
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
  const page = privatePage(ctx, r.r8, OPERAND_ID.R8, PT.NDA, PAGE_LEVEL.PT_4KB, 'exclusive');
  if (page.status !== TDX_SUCCESS) {
    return page.status;
  }
  // sept_split_entry(): the new page's 512 entries (the split entry unblocked and unlocked, its
  // PA stepping by the child size), MOVDIR64B through the TD's HKID before the interrupt check.
  ctx.env.movdir64b(page.pa, 4096, td.hkid, septPageOfRun({ ...e, state: unblockedState(e.state) }, info.level - 1), 'tdx-module');
  if (ctx.env.interruptPending()) {
    [r.rcx, r.rdx] = [rcxIn, rdxIn];
    return TDX_INTERRUPTED_RESTARTABLE;
  }
  const pamt = ctx.m.pamt;
  if (!ctx.hold(pamt.lock(e.pa, info.level), 'exclusive')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.RCX);
  }
  const dynamicPair = pamt.dynamic && info.level === PAGE_LEVEL.PT_2MB;
  if (dynamicPair) {
    const s = demotePair(ctx);
    if (s !== TDX_SUCCESS) {
      return s;
    }
  }
  yield YIELD;
  commitDemote(ctx, td, info, e, page.pa, dynamicPair);
  return TDX_SUCCESS;
}

/** The R12/R13 checks of pamt_demote() with Dynamic PAMT, in the source's order. */
function demotePair(ctx: LeafCtx): U64 {
  const r = ctx.regs;
  const ops: readonly [bigint, number][] = [
    [r.r12, OPERAND_ID.R12],
    [r.r13, OPERAND_ID.R13],
  ];
  for (const [v, op] of ops) {
    if (!pamtPageFormatOk(ctx, v)) {
      return withOperand(TDX_OPERAND_INVALID, op);
    }
  }
  for (const [v, op] of ops) {
    if (ctx.m.pamt.block(Number(v)) === undefined) {
      return withOperand(TDX_OPERAND_ADDR_RANGE_ERROR, op);
    }
  }
  for (const [v, op] of ops) {
    const s = pamtPageFree(ctx, Number(v));
    if (s !== TDX_SUCCESS) {
      return withOperand(s, op);
    }
  }
  const used = claimPamtPages(ctx, Number(r.r12), Number(r.r13));
  if (used !== undefined) {
    return withOperand(TDX_PAGE_NOT_FREE, used === 0 ? OPERAND_ID.R12 : OPERAND_ID.R13);
  }
  return TDX_SUCCESS;
}

/** sept_unblock() of the split entry: BLOCKED to MAPPED, PENDING_BLOCKED to PENDING. */
function unblockedState(state: number): number {
  return state === SEPT_STATE.BLOCKED ? SEPT_STATE.MAPPED : state === SEPT_STATE.PENDING_BLOCKED ? SEPT_STATE.PENDING : state;
}

/** The commit of DEMOTE: Secure EPT, PAMT, CHLDCNT. */
function commitDemote(ctx: LeafCtx, td: TdState, info: { gpa: number; level: number }, e: SeptEntry, newPage: number, dynamicPair: boolean): void {
  const m = ctx.m;
  const pamt = m.pamt;
  const r = ctx.regs;
  const tdmr = pamt.block(e.pa);
  const leaf = tdmr === undefined ? { pt: PT.REG, level: info.level, owner: td.tdrPa } : pamt.get(e.pa, tdmr);
  td.sept.setRun(info.level - 1, info.gpa, septSpan(info.level), e.pa, unblockedState(e.state));
  td.sept.set(info.level, info.gpa, { state: SEPT_STATE.MAPPED, pa: newPage, leaf: false });
  // sept_set_mapped_non_leaf(): the entry now points to the new page, before CHLDCNT.
  storeSepte(ctx.env, td, info.level, info.gpa);
  td.bepoch.delete(e.pa);
  td.chldcnt++;
  storeTdr(ctx, td, TDR_LINE_STATE);
  pamt.demote(e.pa, info.level, leaf);
  pamt.set(newPage, { pt: PT.EPT, level: 0, owner: td.tdrPa });
  if (dynamicPair) {
    ctx.env.movdir64b(Number(r.r12), 4096, m.hkid, 0, 'tdx-module');
    ctx.env.movdir64b(Number(r.r13), 4096, m.hkid, 0, 'tdx-module');
    pamt.pairs.set(Pamt.index2m(e.pa), [Number(r.r12), Number(r.r13)]);
  }
}
