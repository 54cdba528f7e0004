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
  // md_dump_list()/md_dump_sequence(): a sequence runs on while the next field is sequential
  // (same class, contiguous codes, same element count and size) and a whole field still fits.
  const page = new Uint8Array(PAGE);
  const dv = new DataView(page.buffer);
  let used = 8;
  let sequences = 0;
  const src = ctx.metaSource();
  const fields = ctx.meta.fields;
  let cur: { index: number; field: number } | undefined = { index, field };
  const perField = (i: number): number => 8 * (fields[i] as MetadataField).numElems;
  while (cur !== undefined && PAGE - used >= 8 + perField(cur.index)) {
    const headAt = used;
    used += 8;
    let count = 0;
    let head = 0n;
    for (;;) {
      const fl = fields[cur.index] as MetadataField;
      if (PAGE - used < perField(cur.index)) {
        break;
      }
      const elem0 = cur.field * fl.numElems;
      if (count === 0) {
        head = fieldId(fl, elem0) | (BigInt(fl.numElems - 1) << 34n);
      }
      for (let k = elem0; k < elem0 + fl.numElems; k++) {
        dv.setBigUint64(used, ctx.meta.value(src, cur.index, k), true);
        used += 8;
      }
      count++;
      const prev = cur;
      cur = cur.field + 1 < fl.numFields ? { index: cur.index, field: cur.field + 1 } : cur.index + 1 < fields.length ? { index: cur.index + 1, field: 0 } : undefined;
      if (cur === undefined || !ctx.meta.sequential(prev.index, prev.field * fl.numElems, cur.index, cur.field * (fields[cur.index] as MetadataField).numElems)) {
        break;
      }
    }
    dv.setBigUint64(headAt, head | (BigInt(count - 1) << 38n), true);
    sequences++;
  }
  dv.setUint16(0, used, true);
  dv.setUint16(2, sequences, true);
  ctx.env.write(out.pa, page, out.hkid, 'tdx-module');
  if (cur === undefined) {
    return done(TDX_SUCCESS);
  }
  const fl = ctx.meta.fields[cur.index] as MetadataField;
  r.r8 = fieldId(fl, cur.field * fl.numElems) as U64;
  return done(TDX_METADATA_LIST_OVERFLOW);
}
