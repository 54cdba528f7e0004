/**
 * TDH.VP.INIT (leaf 22), reduced: mark a VCPU initialized. Version 1 (R8 = x2APIC ID) is what
 * current Linux issues; only modules newer than 1.5.01 accept it (the dispatcher rejects the
 * version on 1.5.01 with TDX_OPERAND_INVALID|RAX).
 * @see TDX module ABI sections 1.2 step 2, 11
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { privatePage } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { PT } from '../pamt.js';
import { OPERAND_ID, TDX_OP_STATE_INCORRECT, TDX_SUCCESS, TDX_VCPU_STATE_INCORRECT } from '../status.js';
import { checkBuildState } from '../tdChecks.js';
import { OP_STATE } from '../tdState.js';

/** TDH.VP.INIT. */
export function* tdhVpInit(ctx: LeafCtx): Prog<U64> {
  const r = ctx.regs;
  const page = privatePage(ctx, r.rcx, OPERAND_ID.RCX, PT.TDVPR, 0, 'exclusive');
  if (page.status !== TDX_SUCCESS || page.entry === undefined) {
    return page.status;
  }
  const td = ctx.m.tds.get(page.entry.owner);
  const vcpu = td?.vcpus.get(page.pa);
  if (td === undefined || vcpu === undefined) {
    return TDX_VCPU_STATE_INCORRECT;
  }
  const b = checkBuildState(td);
  if (b !== TDX_SUCCESS) {
    return b;
  }
  if (td.opState !== OP_STATE.INITIALIZED && td.opState !== OP_STATE.RUNNABLE) {
    return TDX_OP_STATE_INCORRECT;
  }
  if (vcpu.initialized) {
    return TDX_VCPU_STATE_INCORRECT;
  }
  yield YIELD;
  vcpu.initialized = true;
  ctx.env.write(page.pa, new Uint8Array(64), td.hkid, 'tdx-module');
  return TDX_SUCCESS;
}
