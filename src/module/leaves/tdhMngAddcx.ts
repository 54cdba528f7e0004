/**
 * TDH.MNG.ADDCX (leaf 1): add a TDCS page. The page is filled with MOVDIR64B through the TD's
 * KeyID *before* the late checks (entropy on page 6, op_state on page 7+), so those failures
 * leave TD-owned memory behind a PT_NDA PAMT entry.
 * @see TDX module ABI section 3.18
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { FAULT_RDRAND } from '../faultSites.js';
import { privatePage, tdrOperand } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { PT } from '../pamt.js';
import { OPERAND_ID, TDX_OP_STATE_INCORRECT, TDX_RND_NO_ENTROPY, TDX_SUCCESS, TDX_TD_FATAL, TDX_TD_KEYS_NOT_CONFIGURED, TDX_TDCX_NUM_INCORRECT } from '../status.js';
import { MAX_NUM_TDCS_PAGES, MIN_NUM_TDCS_PAGES, OP_STATE, TD_LIFECYCLE } from '../tdState.js';

/** Content of TDCS page `index` right after ADDCX. */
export function tdcxPattern(index: number): number | Uint8Array {
  if (index === 2) {
    return 0xff; // MSR bitmaps: intercept everything
  }
  // SEPT root (index 3) and L2 SEPT roots: "free" entries, SUPPRESS_VE (bit 63) only.
  const page = new Uint8Array(4096);
  for (let o = 7; o < 4096; o += 8) {
    page[o] = 0x80;
  }
  return index === 3 || index >= MIN_NUM_TDCS_PAGES ? page : 0;
}

/** TDH.MNG.ADDCX. */
export function* tdhMngAddcx(ctx: LeafCtx): Prog<U64> {
  const r = ctx.regs;
  const t = tdrOperand(ctx, r.rdx, OPERAND_ID.RDX, 'exclusive');
  if (t.td === undefined) {
    return t.status;
  }
  const td = t.td;
  if (td.fatal) {
    return TDX_TD_FATAL;
  }
  if (td.lifecycle !== TD_LIFECYCLE.TD_KEYS_CONFIGURED) {
    return TDX_TD_KEYS_NOT_CONFIGURED;
  }
  if (td.numTdcx >= MAX_NUM_TDCS_PAGES) {
    return TDX_TDCX_NUM_INCORRECT;
  }
  const page = privatePage(ctx, r.rcx, OPERAND_ID.RCX, PT.NDA, 0, 'exclusive');
  if (page.status !== TDX_SUCCESS) {
    return page.status;
  }
  yield YIELD;
  const index = td.numTdcx;
  ctx.env.movdir64b(page.pa, 4096, td.hkid, tdcxPattern(index), 'tdx-module');
  if (index + 1 === MIN_NUM_TDCS_PAGES && ctx.env.injectFault(FAULT_RDRAND)) {
    return TDX_RND_NO_ENTROPY;
  }
  if (index + 1 > MIN_NUM_TDCS_PAGES && td.opState !== OP_STATE.UNINITIALIZED) {
    return TDX_OP_STATE_INCORRECT;
  }
  td.tdcx.push(page.pa);
  td.chldcnt++;
  ctx.m.pamt.set(page.pa, { pt: PT.TDCX, level: 0, owner: td.tdrPa });
  return TDX_SUCCESS;
}
