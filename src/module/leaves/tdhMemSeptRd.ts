/**
 * TDH.MEM.SEPT.RD (leaf 25): read a Secure EPT entry at a given level. RCX returns the
 * architectural entry (free: SUPPRESS_VE only), RDX the level and the entry's state in bits
 * 15:8 (set_arch_septe_details_in_vmm_regs()).
 *
 * Check order: RCX/RDX zeroed → TDR (RDX, shared) → build state → op_state lock (shared) →
 * op_state row 25 → GPA/level (level ≤ EPT walk length) → private GPA → SEPT tree lock shared →
 * walk to the level (EPT_WALK_FAILED|RCX with the entry where the walk stopped). Every entry
 * state may be read, FREE included.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mem_sept_rd.c
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { LEAF } from '../leafNumbers.js';
import { OPERAND_ID, TDX_OPERAND_INVALID, withOperand } from '../status.js';
import { septErrorInfo } from '../tdChecks.js';
import { lockedSeptWalk, pageInfo, tdPrologue } from '../tdcsChecks.js';

/** TDH.MEM.SEPT.RD. */
export function* tdhMemSeptRd(ctx: LeafCtx): Prog<U64> {
  const r = ctx.regs;
  const gpaLevel = r.rcx;
  const tdrIn = r.rdx;
  r.rcx = r.rdx = 0n as U64;
  const t = tdPrologue(ctx, tdrIn, OPERAND_ID.RDX, 'shared', 'shared', LEAF.TDH_MEM_SEPT_RD);
  if (t.status !== undefined) {
    return t.status;
  }
  const info = pageInfo(gpaLevel, 0, t.td.septRootLevel);
  if (info === undefined) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
  }
  const w = lockedSeptWalk(ctx, t.td, info, 'shared');
  yield YIELD;
  if (w.walk !== undefined) {
    septErrorInfo(ctx, w.walk);
  }
  return w.status;
}
