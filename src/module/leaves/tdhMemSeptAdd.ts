/**
 * TDH.MEM.SEPT.ADD (leaf 3): add a Secure EPT page at `level` (1..EPT walk length) so that later
 * walks can reach their leaf.
 *
 * Check order (1.5.01): version 1 reads R9-R11 (L2 SEPT pages) → RCX/RDX zeroed → version > 1
 * (OPERAND_INVALID|RAX, no other register written: the dispatcher lets any version through,
 * module audit row 18) → RDX is td_handle_and_flags_t: bits 11:1 and 63:52 reserved
 * (OPERAND_INVALID|RDX), bit 0 ALLOW_EXISTING (row 17) → TDR (RDX bits 51:12, *shared*) → build
 * state → op_state lock (shared) → op_state ∈ {1, 2, 3, 6, 7, 8, 9} → GPA/level
 * (OPERAND_INVALID|RCX) → private GPA → SEPT tree lock shared (OPERAND_BUSY|SEPT_TREE) → walk to
 * the level (EPT_WALK_FAILED|RCX) → the entry FREE or NL_MAPPED (EPT_ENTRY_STATE_INCORRECT|RCX) →
 * the L1 page: R8 = NULL_PA is version 1 only (version 0: OPERAND_INVALID|R8) and needs an
 * existing NL_MAPPED entry; otherwise (bit 63 of R8 ignored) a FREE entry takes the page (PT_NDA,
 * exclusive: errors |R8), an existing one is accepted only with ALLOW_EXISTING (the page is left
 * unused and comes back in R8 with bit 63 set), else EPT_ENTRY_STATE_INCORRECT|RCX → version 1:
 * the L2 pages (R9-R11; a non-NULL page for an L2 VM the TD does not have is OPERAND_INVALID|R9..11).
 * On exit (success or error after the version check) version 1 writes R8-R11 back: NULL_PA for a
 * page consumed, the page with bit 63 set for one left unused (row 16).
 *
 * Effects: the new page is filled with SEPTE_INIT_VALUE through the TD's KeyID (MOVDIR64B), the
 * entry becomes NL_MAPPED, the page PT_EPT of the TD, CHLDCNT + 1.
 * Not modelled: the SEPT entry lock (sept_lock_acquire_host()); L2 SEPT trees (the model keeps
 * none): a non-NULL R9-R11 page for an L2 VM the TD has is answered OPERAND_INVALID|R9..11 like
 * one for a VM it lacks, the nearest behaviour the source documents, labelled as such here.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mem_sept_add.c
 *   tdh_mem_sept_add(), process_l1_page(), process_l2_pages(), add_l1_and_l2_pages();
 *   include/tdx_api_defs.h td_handle_and_flags_t; include/auto_gen/op_state_lookup.c [3],
 *   sept_state_lookup.c [3]
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { privatePage } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { PT } from '../pamt.js';
import { OPERAND_ID, TDX_EPT_ENTRY_STATE_INCORRECT, TDX_OP_STATE_INCORRECT, TDX_OPERAND_BUSY, TDX_OPERAND_INVALID, TDX_SUCCESS, withOperand } from '../status.js';
import { checkBuildState, septErrorInfo } from '../tdChecks.js';
import { lockedSeptWalk, pageInfo } from '../tdcsChecks.js';
import { tdrOperand } from '../hpaChecks.js';
import { OP_STATE, SEPT_STATE } from '../tdState.js';
import type { SeptEntry } from '../tdState.js';
import { septInitPage } from './tdhMngAddcx.js';
import { NULL_PA } from './tdhMemPagePromote.js';
import { TD_HANDLE_RESERVED, TD_HANDLE_TDR } from './tdhMemPageDemote.js';
import { TDR_LINE_STATE, storeTdr } from '../tdLayout.js';
import { storeSepte } from '../septLayout.js';

/** op_states in which SEPT.ADD may run. @see intel/tdx-module 1.5.01 include/auto_gen/op_state_lookup.c [3] */
export const SEPT_ADD_OP_STATES: ReadonlySet<number> = new Set([
  OP_STATE.INITIALIZED,
  OP_STATE.RUNNABLE,
  OP_STATE.LIVE_EXPORT,
  OP_STATE.MEMORY_IMPORT,
  OP_STATE.STATE_IMPORT,
  OP_STATE.POST_IMPORT,
  OP_STATE.LIVE_IMPORT,
]);

const BIT63 = 1n << 63n;

/** TDH.MEM.SEPT.ADD. */
export function* tdhMemSeptAdd(ctx: LeafCtx): Prog<U64> {
  const r = ctx.regs;
  const v1 = ctx.version > 0;
  // flagged_sept_page_pa[]: what R8-R11 read back as in version 1.
  const flagged = [r.r8, v1 ? r.r9 : NULL_PA, v1 ? r.r10 : NULL_PA, v1 ? r.r11 : NULL_PA].map((p) => (p === NULL_PA ? p : p & ~BIT63)) as U64[];
  const [gpaLevel, handle] = [r.rcx, r.rdx];
  r.rcx = r.rdx = 0n as U64;
  if (ctx.version > 1) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RAX);
  }
  const status = yield* septAddChecked(ctx, gpaLevel, handle, flagged);
  if (v1) {
    [r.r8, r.r9, r.r10, r.r11] = flagged as [U64, U64, U64, U64];
  }
  return status;
}

function* septAddChecked(ctx: LeafCtx, gpaLevel: bigint, handle: bigint, flagged: U64[]): Prog<U64> {
  if ((handle & TD_HANDLE_RESERVED) !== 0n) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RDX);
  }
  const t = tdrOperand(ctx, handle & TD_HANDLE_TDR, OPERAND_ID.RDX, 'shared');
  if (t.td === undefined) {
    return t.status;
  }
  const td = t.td;
  const b = checkBuildState(td);
  if (b !== TDX_SUCCESS) {
    return b;
  }
  if (!ctx.hold(td.opStateLock, 'shared')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.OP_STATE);
  }
  if (!SEPT_ADD_OP_STATES.has(td.opState)) {
    return TDX_OP_STATE_INCORRECT;
  }
  const info = pageInfo(gpaLevel, 1, td.septRootLevel);
  if (info === undefined) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
  }
  const w = lockedSeptWalk(ctx, td, info, 'shared');
  if (w.status !== TDX_SUCCESS || w.walk === undefined) {
    if (w.walk !== undefined) {
      septErrorInfo(ctx, w.walk);
    }
    return w.status;
  }
  const e = w.walk.entry;
  const nlMapped = e !== undefined && !e.leaf && e.state === SEPT_STATE.MAPPED;
  if (e !== undefined && !nlMapped) {
    septErrorInfo(ctx, { level: info.level, entry: e });
    return withOperand(TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID.RCX);
  }
  const l1 = l1Page(ctx, info.level, e, flagged, (handle & 1n) === 1n);
  if (l1.status !== TDX_SUCCESS) {
    return l1.status;
  }
  for (let vm = 1; vm <= 3; vm++) {
    if (flagged[vm] !== NULL_PA) {
      return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.R8 + vm);
    }
  }
  if (l1.pa === undefined) {
    return TDX_SUCCESS;
  }
  yield YIELD;
  ctx.env.movdir64b(l1.pa, 4096, td.hkid, septInitPage(), 'tdx-module');
  td.sept.set(info.level, info.gpa, { state: SEPT_STATE.MAPPED, pa: l1.pa, leaf: false });
  td.chldcnt++;
  storeTdr(ctx, td, TDR_LINE_STATE);
  // init_new_sept_page() counts the child first; then sept_set_mapped_non_leaf() writes the entry.
  storeSepte(ctx.env, td, info.level, info.gpa);
  ctx.m.pamt.set(l1.pa, { pt: PT.EPT, level: 0, owner: td.tdrPa });
  flagged[0] = NULL_PA;
  return TDX_SUCCESS;
}

/** process_l1_page(): the new page to add (locked), none (existing entry), or a status. */
function l1Page(ctx: LeafCtx, level: number, e: SeptEntry | undefined, flagged: U64[], allowExisting: boolean): { status: U64; pa?: number } {
  const r8 = flagged[0] as U64;
  if (r8 === NULL_PA) {
    if (ctx.version === 0) {
      return { status: withOperand(TDX_OPERAND_INVALID, OPERAND_ID.R8) };
    }
    if (e === undefined) {
      septErrorInfo(ctx, { level, entry: e });
      return { status: withOperand(TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID.RCX) };
    }
    return { status: TDX_SUCCESS };
  }
  if (e === undefined) {
    const page = privatePage(ctx, r8, OPERAND_ID.R8, PT.NDA, 0, 'exclusive');
    return page.status === TDX_SUCCESS ? { status: TDX_SUCCESS, pa: page.pa } : { status: page.status };
  }
  if (allowExisting) {
    flagged[0] = (r8 | BIT63) as U64;
    return { status: TDX_SUCCESS };
  }
  septErrorInfo(ctx, { level, entry: e });
  return { status: withOperand(TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID.RCX) };
}
