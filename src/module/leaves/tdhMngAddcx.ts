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
import { SEPTE_INIT_VALUE } from '../septLayout.js';
import { TDR_LINE_STATE, storeTdr, tdrLineOfTdcx } from '../tdLayout.js';

/**
 * Content of a new Secure EPT page: every entry SEPTE_INIT_VALUE = the FREE state encoding (0xE:
 * bits 53-55) | SUPPRESS_VE (bit 63) = 0x80E0000000000000 (septLayout.ts). (The *architectural*
 * view of a free entry in RCX, set_arch_septe_details_in_vmm_regs(), is SUPPRESS_VE only: see tdChecks.ts.)
 * @see intel/tdx-module 1.5.01 (72d8cff) sept_manager.h SEPTE_INIT_VALUE, SEPT_STATE_ENC_TO_MASK;
 *   include/auto_gen/sept_state_lookup.h SEPT_STATE_FREE_ENCODING; x86_defs.h SEPT_ENTRY_*_BIT_POSITION
 */
export function septInitPage(): Uint8Array {
  const page = new Uint8Array(4096);
  const view = new DataView(page.buffer);
  for (let o = 0; o < 4096; o += 8) {
    view.setBigUint64(o, SEPTE_INIT_VALUE, true);
  }
  return page;
}

/**
 * Content of TDCS page `index` right after ADDCX: the MSR bitmaps (index 2) all ones, the SEPT
 * root (index 3) SEPTE_INIT_VALUE entries, the L2 SEPT roots (index ≥ 6) SEPTE_L2_INIT_VALUE =
 * SEPT_STATE_L2_FREE_MASK = 0, the rest zeros. Module audit row 22.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mng_add_cx.c,
 *   sept_manager.h SEPTE_L2_INIT_VALUE
 */
export function tdcxPattern(index: number): number | Uint8Array {
  if (index === 2) {
    return 0xff; // MSR bitmaps: intercept everything
  }
  return index === 3 ? septInitPage() : 0;
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
  // tdcx_pa[index], num_tdcx and chldcnt: one or two TDR lines.
  storeTdr(ctx, td, TDR_LINE_STATE);
  if (tdrLineOfTdcx(index) !== TDR_LINE_STATE) {
    storeTdr(ctx, td, tdrLineOfTdcx(index));
  }
  ctx.m.pamt.set(page.pa, { pt: PT.TDCX, level: 0, owner: td.tdrPa });
  return TDX_SUCCESS;
}
