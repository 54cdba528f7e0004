/**
 * TDH.VP.ADDCX (leaf 4): add a TDCX page to a VCPU's TDVPS (RCX = the new page, RDX = the
 * TDVPR). The page is filled through the TD's KeyID (zeros; all-ones for the L2 MSR bitmap and
 * MSR request pages), becomes PT_TDCX owned by the TDR, and counts in the TDR's child count.
 *
 * Check order: TDVPR (RDX, exclusive) → TDR (implicit, shared) → build state (fatal, keys,
 * TDCS) → op_state lock (shared) → op_state in {INITIALIZED, STATE_IMPORT} → VCPU not yet
 * initialized → fewer than MAX_TDVPS_PAGES (15) pages → new page (RCX, PT_NDA, exclusive).
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_vp_addcx.c;
 *   include/auto_gen/op_state_lookup.c seamcall_state_lookup[4]
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { privatePage } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { PT } from '../pamt.js';
import { OPERAND_ID, TDX_OP_STATE_INCORRECT, TDX_OPERAND_BUSY, TDX_SUCCESS, TDX_TDCX_NUM_INCORRECT, TDX_VCPU_STATE_INCORRECT, withOperand } from '../status.js';
import { checkBuildState } from '../tdChecks.js';
import { MAX_TDVPS_PAGES, numTdvpsPages, OP_STATE } from '../tdState.js';
import { tdvprOperand } from '../vcpuChecks.js';
import { TDR_LINE_STATE, TDVPS_LINE_STATE, storeTdr, storeTdvpsLines } from '../tdLayout.js';

/** op_states in which TDH.VP.ADDCX (and TDH.VP.CREATE) may run. */
export const VP_ADDCX_OP_STATES: ReadonlySet<number> = new Set([OP_STATE.INITIALIZED, OP_STATE.STATE_IMPORT]);

/** TDVPS page indices initialized to all-ones (L2 MSR bitmaps and MSR request pages). @see tdx_tdvps.h is_l2_msr_bitmap_page_index() */
const ALL_ONES_INDICES: ReadonlySet<number> = new Set([7, 8, 10, 11, 13, 14]);

/** TDH.VP.ADDCX. */
export function* tdhVpAddcx(ctx: LeafCtx): Prog<U64> {
  const r = ctx.regs;
  const ref = tdvprOperand(ctx, r.rdx, OPERAND_ID.RDX);
  if (ref.status !== undefined) {
    return ref.status;
  }
  const { td, vcpu, pa: tdvprPa } = ref;
  const b = checkBuildState(td);
  if (b !== TDX_SUCCESS) {
    return b;
  }
  if (!ctx.hold(td.opStateLock, 'shared')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.OP_STATE);
  }
  if (!VP_ADDCX_OP_STATES.has(td.opState)) {
    return TDX_OP_STATE_INCORRECT;
  }
  if (vcpu.initialized) {
    return TDX_VCPU_STATE_INCORRECT;
  }
  const index = numTdvpsPages(vcpu);
  if (index >= MAX_TDVPS_PAGES) {
    return TDX_TDCX_NUM_INCORRECT;
  }
  const page = privatePage(ctx, r.rcx, OPERAND_ID.RCX, PT.NDA, 0, 'exclusive');
  if (page.status !== TDX_SUCCESS) {
    return page.status;
  }
  yield YIELD;
  ctx.env.movdir64b(page.pa, 4096, td.hkid, ALL_ONES_INDICES.has(index) ? 0xff : 0, 'tdx-module');
  vcpu.tdcx.push(page.pa);
  // num_tdvps_pages in the TDVPR (tdh_vp_addcx.c).
  storeTdvpsLines(ctx.env, td, vcpu, tdvprPa, TDVPS_LINE_STATE);
  td.chldcnt++;
  storeTdr(ctx, td, TDR_LINE_STATE);
  ctx.m.pamt.set(page.pa, { pt: PT.TDCX, level: 0, owner: td.tdrPa });
  return TDX_SUCCESS;
}
