/**
 * TDH.MNG.CREATE (leaf 9): turn a free page into a TDR and assign the TD its private HKID.
 * The TDR is zeroed with MOVDIR64B through the global KeyID before the entropy check, so an
 * RND_NO_ENTROPY failure leaves the page rewritten but still PT_NDA.
 * @see TDX module ABI section 3.16
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { FAULT_RDRAND } from '../faultSites.js';
import { HKID_STATE } from '../globalState.js';
import { privatePage } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { PT } from '../pamt.js';
import { OPERAND_ID, TDX_HKID_NOT_FREE, TDX_OPERAND_BUSY, TDX_OPERAND_INVALID, TDX_RND_NO_ENTROPY, TDX_SUCCESS, withOperand } from '../status.js';
import { TdState } from '../tdState.js';
import { TDR_LINE_KEYS, TDR_LINE_STATE, storeTdr } from '../tdLayout.js';

/** TDH.MNG.CREATE. */
export function* tdhMngCreate(ctx: LeafCtx): Prog<U64> {
  const { m, regs: r } = ctx;
  const hkid = Number(r.rdx & 0xffffn);
  if (r.rdx >> 16n !== 0n || !m.isPrivateHkid(hkid)) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RDX);
  }
  const tdr = privatePage(ctx, r.rcx, OPERAND_ID.RCX, PT.NDA, 0, 'exclusive');
  if (tdr.status !== TDX_SUCCESS) {
    return tdr.status;
  }
  if (!ctx.hold(m.kotLock, 'exclusive')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.KOT);
  }
  yield YIELD;
  if (m.kotState.get(hkid) !== HKID_STATE.HKID_FREE) {
    return TDX_HKID_NOT_FREE;
  }
  ctx.env.movdir64b(tdr.pa, 4096, m.hkid, 0, 'tdx-module');
  if (ctx.env.injectFault(FAULT_RDRAND)) {
    return TDX_RND_NO_ENTROPY;
  }
  m.kotState.set(hkid, HKID_STATE.HKID_ASSIGNED);
  const td = new TdState(tdr.pa, hkid);
  m.tds.set(tdr.pa, td);
  // key_management_fields.hkid and lifecycle_state = TD_HKID_ASSIGNED: cached stores.
  storeTdr(ctx, td, TDR_LINE_KEYS, TDR_LINE_STATE);
  m.pamt.set(tdr.pa, { pt: PT.TDR, level: 0, owner: 0 });
  return TDX_SUCCESS;
}
