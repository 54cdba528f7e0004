/**
 * TDH.VP.CREATE (leaf 10): turn a free page into a TDVPR (VCPU root), zeroed with MOVDIR64B
 * through the TD's KeyID.
 * @see TDX module ABI section 3.22
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { privatePage, tdrOperand } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { PT } from '../pamt.js';
import { OPERAND_ID, TDX_MAX_VCPUS_EXCEEDED, TDX_OP_STATE_INCORRECT, TDX_OPERAND_BUSY, TDX_SUCCESS, withOperand } from '../status.js';
import { checkBuildState } from '../tdChecks.js';
import { OP_STATE } from '../tdState.js';

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
  if (td.opState !== OP_STATE.INITIALIZED && td.opState !== OP_STATE.STATE_IMPORT) {
    return TDX_OP_STATE_INCORRECT;
  }
  if (td.vcpus.size >= td.maxVcpus) {
    return TDX_MAX_VCPUS_EXCEEDED;
  }
  const page = privatePage(ctx, r.rcx, OPERAND_ID.RCX, PT.NDA, 0, 'exclusive');
  if (page.status !== TDX_SUCCESS) {
    return page.status;
  }
  yield YIELD;
  ctx.env.movdir64b(page.pa, 4096, td.hkid, 0, 'tdx-module');
  td.vcpus.set(page.pa, { initialized: false, associatedLp: -1 });
  td.chldcnt++;
  ctx.m.pamt.set(page.pa, { pt: PT.TDVPR, level: 0, owner: td.tdrPa });
  return TDX_SUCCESS;
}
