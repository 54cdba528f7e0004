/**
 * TDH.SYS.RD (leaf 34): read one global metadata element; RDX returns the next element's id.
 * @see TDX module ABI sections 3.4, 5.6
 */
import type { U64 } from '../../base/u64.js';
import { U64_MAX } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { done } from '../../platform/Exec.js';
import type { LeafCtx } from '../leafCtx.js';
import { TDX_METADATA_FIELD_ID_INCORRECT, TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT, TDX_SUCCESS, TDX_SYS_LP_INIT_NOT_DONE } from '../status.js';

/** TDH.SYS.RD. */
export function tdhSysRd(ctx: LeafCtx): Prog<U64> {
  const r = ctx.regs;
  const id = r.rdx;
  r.rdx = U64_MAX;
  r.r8 = 0n as U64;
  if (ctx.m.lpIsInit[ctx.lp] !== true) {
    return done(TDX_SYS_LP_INIT_NOT_DONE);
  }
  const f = ctx.meta.lookup(id);
  if (f.kind === 'null') {
    r.rdx = ctx.meta.firstId() as U64;
    return done(TDX_METADATA_FIRST_FIELD_ID_IN_CONTEXT);
  }
  if (f.kind === 'incorrect') {
    return done(TDX_METADATA_FIELD_ID_INCORRECT);
  }
  r.r8 = ctx.meta.value(ctx.metaSource(), f.index, f.elem) as U64;
  r.rdx = ctx.meta.nextId(id, f.index, f.elem) as U64;
  return done(TDX_SUCCESS);
}
