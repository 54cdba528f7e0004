/**
 * TDH.MR.EXTEND (leaf 16): extend the TD's build measurement (MRTD) with a 256-byte chunk of a
 * mapped private page: a 128-byte block "MR.EXTEND" | GPA, then the chunk read through the TD's
 * KeyID. The model keeps the running measurement as a SHA-384 hash chain over those bytes.
 *
 * Check order: RCX/RDX zeroed → TDR (RDX, *exclusive*: the SEPT tree is implicitly locked) →
 * build state → op_state row 16 (INITIALIZED only; the op_state lock is not taken) → GPA
 * 256-byte aligned (OPERAND_INVALID|RCX) → private GPA (OPERAND_INVALID|RCX) → walk to the leaf:
 * a walk that does not end on a present leaf answers TDX_EPT_ENTRY_NOT_PRESENT|RCX with the entry
 * in RCX/RDX (a PENDING page has no RWX) → the leaf MAPPED (else TDX_EPT_ENTRY_NOT_PRESENT with
 * no operand).
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mr_extend.c
 */
import { createHash } from 'node:crypto';

import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { LEAF } from '../leafNumbers.js';
import { septSpan } from '../SecureEpt.js';
import { OPERAND_ID, TDX_EPT_ENTRY_NOT_PRESENT, TDX_OPERAND_INVALID, TDX_SUCCESS, withOperand } from '../status.js';
import { gpaValid, septErrorInfo } from '../tdChecks.js';
import type { SeptWalk } from '../tdChecks.js';
import { tdPrologue } from '../tdcsChecks.js';
import type { TdState } from '../tdState.js';
import { SEPT_STATE } from '../tdState.js';

/** Walk from the root to whatever leaf maps `gpa` (SEPT_WALK_TO_LEAF); `ok` when it is present. */
export function septWalkToLeaf(td: TdState, gpa: number): SeptWalk & { readonly ok: boolean } {
  for (let level = td.septRootLevel; level >= 0; level--) {
    const e = td.sept.get(level, gpa);
    if (e === undefined || e.leaf || level === 0) {
      const present = e !== undefined && e.leaf && (e.state === SEPT_STATE.MAPPED);
      return { level, entry: e, ok: present };
    }
    if (e.state !== SEPT_STATE.MAPPED) {
      return { level, entry: e, ok: false };
    }
  }
  return { level: 0, entry: undefined, ok: false };
}

/** The next link of the model's measurement chain: SHA-384(previous | block | chunk). */
export function mrChainStep(prev: string, block: Uint8Array, chunk: Uint8Array): string {
  return createHash('sha384').update(prev, 'hex').update(block).update(chunk).digest('hex');
}

/** TDH.MR.EXTEND. */
export function* tdhMrExtend(ctx: LeafCtx): Prog<U64> {
  const r = ctx.regs;
  const gpaIn = r.rcx;
  const tdrIn = r.rdx;
  r.rcx = r.rdx = 0n as U64;
  const t = tdPrologue(ctx, tdrIn, OPERAND_ID.RDX, 'exclusive', 'none', LEAF.TDH_MR_EXTEND);
  if (t.status !== undefined) {
    return t.status;
  }
  const td = t.td;
  if (gpaIn % 256n !== 0n || !gpaValid(td, gpaIn)) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
  }
  const gpa = Number(gpaIn);
  const walk = septWalkToLeaf(td, gpa);
  if (!walk.ok || walk.entry === undefined) {
    septErrorInfo(ctx, walk);
    return withOperand(TDX_EPT_ENTRY_NOT_PRESENT, OPERAND_ID.RCX);
  }
  const hpa = walk.entry.pa + (gpa % septSpan(walk.level));
  const chunk = ctx.env.read(hpa, 256, td.hkid);
  yield YIELD;
  const block = new Uint8Array(128);
  block.set(new TextEncoder().encode('MR.EXTEND'));
  new DataView(block.buffer).setBigUint64(16, gpaIn, true);
  td.mrChain = mrChainStep(td.mrChain, block, chunk.ok ? chunk.bytes : new Uint8Array(256));
  td.mrExtends++;
  return TDX_SUCCESS;
}
