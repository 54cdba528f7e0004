/**
 * TDH.SYS.RDALL (leaf 37): dump global metadata into a 4 KiB list, resumable with R8.
 * @see TDX module ABI section 3.5
 */
import type { U64 } from '../../base/u64.js';
import { U64_MAX } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { done } from '../../platform/Exec.js';
import { sharedHpa } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import type { MetadataField } from '../metadata.js';
import { fieldId } from '../metadata.js';
import { OPERAND_ID, TDX_METADATA_FIELD_ID_INCORRECT, TDX_METADATA_LIST_OVERFLOW, TDX_OPERAND_INVALID, TDX_SUCCESS, TDX_SYS_LP_INIT_NOT_DONE, withOperand } from '../status.js';

const PAGE = 4096;

/** TDH.SYS.RDALL. */
export function tdhSysRdAll(ctx: LeafCtx): Prog<U64> {
  const { m, regs: r } = ctx;
  const start = r.r8;
  r.r8 = U64_MAX;
  if (m.lpIsInit[ctx.lp] !== true) {
    return done(TDX_SYS_LP_INIT_NOT_DONE);
  }
  const out = sharedHpa(m, r.rdx, PAGE, PAGE);
  if (out === undefined) {
    return done(withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RDX));
  }
  let index = 0;
  let field = 0;
  if (start !== U64_MAX) {
    const f = ctx.meta.lookup(start);
    const fl = f.kind === 'ok' ? ctx.meta.fields[f.index] : undefined;
    if (f.kind !== 'ok' || fl === undefined || f.elem % fl.numElems !== 0 || ((start >> 32n) & 3n) !== ((fieldId(fl) >> 32n) & 3n)) {
      return done(TDX_METADATA_FIELD_ID_INCORRECT);
    }
    index = f.index;
    field = f.elem / fl.numElems;
  }
  const page = new Uint8Array(PAGE);
  const dv = new DataView(page.buffer);
  let used = 8;
  let sequences = 0;
  const src = ctx.metaSource();
  let complete = true;
  for (; index < ctx.meta.fields.length; index++, field = 0) {
    const fl = ctx.meta.fields[index] as MetadataField;
    const per = 8 * fl.numElems;
    const fit = Math.min(fl.numFields - field, Math.floor((PAGE - used - 8) / per));
    if (fit <= 0) {
      complete = false;
      break;
    }
    const head = fieldId(fl, field * fl.numElems) | (BigInt(fl.numElems - 1) << 34n) | (BigInt(fit - 1) << 38n);
    dv.setBigUint64(used, head, true);
    used += 8;
    for (let k = field * fl.numElems; k < (field + fit) * fl.numElems; k++) {
      dv.setBigUint64(used, ctx.meta.value(src, index, k), true);
      used += 8;
    }
    sequences++;
    if (field + fit < fl.numFields) {
      field += fit;
      complete = false;
      break;
    }
  }
  dv.setUint16(0, used, true);
  dv.setUint16(2, sequences, true);
  ctx.env.write(out.pa, page, out.hkid, 'tdx-module');
  if (complete) {
    return done(TDX_SUCCESS);
  }
  const fl = ctx.meta.fields[index] as MetadataField;
  r.r8 = fieldId(fl, field * fl.numElems) as U64;
  return done(TDX_METADATA_LIST_OVERFLOW);
}
