/**
 * TDH.MR.FINALIZE (leaf 17): finalize the TD's build measurement (MRTD) and make the TD
 * RUNNABLE, so that TDH.VP.ENTER may run it and TDH.MEM.PAGE.ADD / TDH.MR.EXTEND / TDH.VP.INIT
 * no longer can.
 *
 * Check order: TDR (RCX, exclusive) → build state → op_state row 17 (INITIALIZED only, no
 * op_state lock) → at least one VCPU initialized (num_vcpus, else TDX_NO_VCPUS). No output
 * register is written.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mr_finalize.c
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { LEAF } from '../leafNumbers.js';
import { OPERAND_ID, TDX_NO_VCPUS, TDX_SUCCESS } from '../status.js';
import { tdPrologue } from '../tdcsChecks.js';
import { OP_STATE } from '../tdState.js';
import { mrChainStep } from './tdhMrExtend.js';
import { storeTdcsMgmtLine } from '../tdLayout.js';

/** TDH.MR.FINALIZE. */
export function* tdhMrFinalize(ctx: LeafCtx): Prog<U64> {
  const t = tdPrologue(ctx, ctx.regs.rcx, OPERAND_ID.RCX, 'exclusive', 'none', LEAF.TDH_MR_FINALIZE);
  if (t.status !== undefined) {
    return t.status;
  }
  const td = t.td;
  if (td.numVcpus === 0) {
    return TDX_NO_VCPUS;
  }
  yield YIELD;
  td.mrtd = mrChainStep(td.mrChain, new Uint8Array(0), new Uint8Array(0));
  td.opState = OP_STATE.RUNNABLE;
  // TDCS fields are written with ordinary stores through the TD's KeyID.
  storeTdcsMgmtLine(ctx.env, td);
  return TDX_SUCCESS;
}
