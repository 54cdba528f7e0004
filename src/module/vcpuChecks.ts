/**
 * The common start of the VCPU leaves (TDH.VP.ADDCX, TDH.VP.INIT, TDH.VP.FLUSH): the TDVPR
 * operand is checked and locked exclusive, then its owner TDR (from the TDVPR's PAMT entry) is
 * locked shared as an implicit operand.
 * @see intel/tdx-module 1.5.01 (72d8cff) tdh_vp_addcx.c, tdh_vp_init.c, tdh_vp_flush.c
 *   (check_and_lock_explicit_4k_private_hpa(PT_TDVPR), then lock_and_map_implicit_tdr(SHARED))
 */
import type { U64 } from '../base/u64.js';
import { privatePage } from './hpaChecks.js';
import type { LeafCtx } from './leafCtx.js';
import { PT } from './pamt.js';
import { OPERAND_ID, TDX_OPERAND_BUSY, TDX_PAGE_METADATA_INCORRECT, TDX_SUCCESS, withOperand } from './status.js';
import type { TdState, VcpuState } from './tdState.js';
import type { LockMode } from './TryLock.js';

/** A VCPU located through its TDVPR operand, or the status to return. */
export type VcpuRef = { readonly status?: undefined; readonly pa: number; readonly td: TdState; readonly vcpu: VcpuState } | { readonly status: U64 };

/** Check and lock the TDVPR operand `v` (reported as `operand`) in `mode`, then lock its TDR shared. */
export function tdvprOperand(ctx: LeafCtx, v: bigint, operand: number, mode: LockMode = 'exclusive', tdrMode: LockMode = 'shared'): VcpuRef {
  const page = privatePage(ctx, v, operand, PT.TDVPR, 0, mode);
  if (page.status !== TDX_SUCCESS || page.entry === undefined) {
    return { status: page.status };
  }
  const owner = page.entry.owner;
  if (!ctx.hold(ctx.m.pamt.lock(owner), tdrMode)) {
    return { status: withOperand(TDX_OPERAND_BUSY, OPERAND_ID.TDR) };
  }
  const td = ctx.m.tds.get(owner);
  const vcpu = td?.vcpus.get(page.pa);
  if (td === undefined || vcpu === undefined) {
    // A PT_TDVPR entry always names a live TD; reaching this is a model inconsistency.
    return { status: withOperand(TDX_PAGE_METADATA_INCORRECT, operand) };
  }
  return { pa: page.pa, td, vcpu };
}
