/**
 * TDH.MNG.RD (leaf 11) and TDH.MNG.WR (leaf 13): read or write one element of a TD-scope
 * (TDR/TDCS) metadata field. RDX = field id; R8 = value read (MNG.RD) or the old value
 * (MNG.WR, with R8 = value and R9 = write mask on input).
 *
 * Check order: version 1 of MNG.RD sets RDX = -1 (MD_FIELD_ID_NA) first; R8 zeroed; version > 1
 * → OPERAND_INVALID|RAX → TDR (RCX, shared) → build state → op_state lock (shared) → op_state
 * row 11 / 13 (UNINITIALIZED refused) → field id reserved bits (METADATA_FIELD_ID_INCORRECT) →
 * field lookup (METADATA_FIELD_ID_INCORRECT) → host read mask (METADATA_FIELD_NOT_READABLE) or
 * write mask (METADATA_FIELD_NOT_WRITABLE). On success of a version-1 read RDX is the next field
 * id of the model's table (the module's iterator covers its whole table).
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mng_rd_wr.c
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { LEAF } from '../leafNumbers.js';
import { OPERAND_ID, TDX_OPERAND_INVALID, TDX_SUCCESS, withOperand } from '../status.js';
import { tdPrologue } from '../tdcsChecks.js';
import { lookupField, readField, TD_FIELDS, writeField } from '../tdMetadata.js';
import type { TdField } from '../tdMetadata.js';
import type { TdState, VcpuState } from '../tdState.js';

const MD_FIELD_ID_NA = 0xffff_ffff_ffff_ffffn as U64;

/** The id of the element after `id` in `table` (MD_FIELD_ID_NA after the last). */
export function nextFieldId(table: readonly TdField[], id: bigint): U64 {
  const hit = lookupField(table, id);
  if (hit === undefined) {
    return MD_FIELD_ID_NA;
  }
  if (hit.elem + 1 < hit.field.elems) {
    return (hit.field.id + BigInt(hit.elem + 1)) as U64;
  }
  const i = table.indexOf(hit.field);
  return (table[i + 1]?.id ?? MD_FIELD_ID_NA) as U64;
}

/**
 * The field access both TD and VCPU metadata leaves end with: a write returns the old value in
 * R8; a read returns the value in R8 and, from version 1, the next field id in RDX.
 */
export function accessField(ctx: LeafCtx, table: readonly TdField[], fieldId: bigint, td: TdState, vcpu: VcpuState | undefined, write: boolean, wrData: bigint, wrMask: bigint): U64 {
  const r = ctx.regs;
  if (write) {
    const w = writeField(table, fieldId, td, vcpu, wrData, wrMask);
    if (w.status === TDX_SUCCESS) {
      r.r8 = w.old as U64;
    }
    return w.status;
  }
  const rd = readField(table, fieldId, td, vcpu);
  if (rd.status !== TDX_SUCCESS) {
    return rd.status;
  }
  if (ctx.version > 0) {
    r.rdx = nextFieldId(table, fieldId);
  }
  r.r8 = rd.value as U64;
  return TDX_SUCCESS;
}

function* tdhMngRdWr(ctx: LeafCtx, write: boolean): Prog<U64> {
  const r = ctx.regs;
  const fieldId = r.rdx;
  const wrData = r.r8;
  const wrMask = r.r9;
  if (!write && ctx.version > 0) {
    r.rdx = MD_FIELD_ID_NA;
  }
  r.r8 = 0n as U64;
  if (ctx.version > 1) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RAX);
  }
  const t = tdPrologue(ctx, r.rcx, OPERAND_ID.RCX, 'shared', 'shared', write ? LEAF.TDH_MNG_WR : LEAF.TDH_MNG_RD);
  if (t.status !== undefined) {
    return t.status;
  }
  yield YIELD;
  return accessField(ctx, TD_FIELDS, fieldId, t.td, undefined, write, wrData, wrMask);
}

/** TDH.MNG.RD. */
export function tdhMngRd(ctx: LeafCtx): Prog<U64> {
  return tdhMngRdWr(ctx, false);
}

/** TDH.MNG.WR. */
export function tdhMngWr(ctx: LeafCtx): Prog<U64> {
  return tdhMngRdWr(ctx, true);
}
