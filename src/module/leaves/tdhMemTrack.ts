/**
 * TDH.MEM.TRACK (leaf 38): start a new TD epoch for TLB tracking. Blocked pages whose bepoch is
 * now behind may be removed or unblocked once no VCPU still runs in the old epoch.
 *
 * Check order: TDR (RCX, shared) → build state → op_state lock (shared) → op_state row 38 →
 * epoch lock exclusive (OPERAND_BUSY|TD_EPOCH) → the previous epoch's refcount is zero (else
 * TDX_PREVIOUS_TLB_EPOCH_BUSY). No output register is written.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mem_track.c
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { LEAF } from '../leafNumbers.js';
import { OPERAND_ID, TDX_OPERAND_BUSY, TDX_PREVIOUS_TLB_EPOCH_BUSY, TDX_SUCCESS, withOperand } from '../status.js';
import { tdPrologue } from '../tdcsChecks.js';

/** TDH.MEM.TRACK. */
export function* tdhMemTrack(ctx: LeafCtx): Prog<U64> {
  const t = tdPrologue(ctx, ctx.regs.rcx, OPERAND_ID.RCX, 'shared', 'shared', LEAF.TDH_MEM_TRACK);
  if (t.status !== undefined) {
    return t.status;
  }
  const td = t.td;
  if (!ctx.hold(td.epochLock, 'exclusive')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.TD_EPOCH);
  }
  if (td.epochRefcount[1 - (td.tdEpoch & 1)] !== 0) {
    return TDX_PREVIOUS_TLB_EPOCH_BUSY;
  }
  yield YIELD;
  td.tdEpoch++;
  return TDX_SUCCESS;
}
