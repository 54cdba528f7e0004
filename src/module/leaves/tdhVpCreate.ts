/**
 * TDH.VP.CREATE (leaf 10): turn a free page into a TDVPR (VCPU root), zeroed with MOVDIR64B
 * through the TD's KeyID; num_tdvps_pages = 1, not associated. There is no VCPU-count check
 * here: the VCPU index (and TDX_MAX_VCPUS_EXCEEDED) comes at TDH.VP.INIT.
 *
 * Check order: TDR (RDX, shared) → build state → op_state lock (shared) → op_state in
 * {INITIALIZED, STATE_IMPORT} → new page (RCX, PT_NDA, exclusive).
 * @see TDX module ABI section 3.22; intel/tdx-module 1.5.01 (72d8cff)
 *   src/vmm_dispatcher/api_calls/tdh_vp_create.c, include/auto_gen/op_state_lookup.c [10]
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { privatePage, tdrOperand } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { PT } from '../pamt.js';
import { OPERAND_ID, TDX_OP_STATE_INCORRECT, TDX_OPERAND_BUSY, TDX_SUCCESS, withOperand } from '../status.js';
import { checkBuildState } from '../tdChecks.js';
import { VP_ADDCX_OP_STATES } from './tdhVpAddcx.js';
import { TDR_LINE_STATE, TDVPS_LINE_ASSOC, TDVPS_LINE_STATE, storeTdr, storeTdvpsLines } from '../tdLayout.js';

/** TDH.VP.CREATE. */
export function* tdhVpCreate(ctx: LeafCtx): Prog<U64> {
  const r = ctx.regs;
  const t = tdrOperand(ctx, r.rdx, OPERAND_ID.RDX, 'shared');
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
  if (!VP_ADDCX_OP_STATES.has(td.opState)) {
    return TDX_OP_STATE_INCORRECT;
  }
  const page = privatePage(ctx, r.rcx, OPERAND_ID.RCX, PT.NDA, 0, 'exclusive');
  if (page.status !== TDX_SUCCESS) {
    return page.status;
  }
  yield YIELD;
  ctx.env.movdir64b(page.pa, 4096, td.hkid, 0, 'tdx-module');
  const vcpu = { initialized: false, associatedLp: -1, tdcx: [] };
  td.vcpus.set(page.pa, vcpu);
  // num_tdvps_pages = 1 and assoc_lpid = -1 on the zeroed TDVPR (tdh_vp_create.c).
  storeTdvpsLines(ctx.env, td, vcpu, page.pa, TDVPS_LINE_STATE, TDVPS_LINE_ASSOC);
  td.chldcnt++;
  storeTdr(ctx, td, TDR_LINE_STATE);
  ctx.m.pamt.set(page.pa, { pt: PT.TDVPR, level: 0, owner: td.tdrPa });
  return TDX_SUCCESS;
}
