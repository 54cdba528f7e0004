/**
 * TDH.PHYMEM.PAGE.RECLAIM (leaf 28): give a TD-owned page back to the host after teardown. The
 * PAMT entry returns to PT_NDA; the page content is not scrubbed (the host must convert it).
 * RCX/RDX/R8 (page type, owner, level) are written only once the page is known not to be
 * PT_NDA/PT_RSVD, so that error leaves them zero.
 * @see TDX module ABI section 3.13; intel/tdx-module 1.5.01 (72d8cff)
 *   src/vmm_dispatcher/api_calls/tdh_phymem_page_reclaim.c
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { MAX_PA, pamtWalk, splitHpa } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { pagesPerLevel, PT } from '../pamt.js';
import {
  OPERAND_ID,
  TDX_LIFECYCLE_STATE_INCORRECT,
  TDX_OPERAND_ADDR_RANGE_ERROR,
  TDX_OPERAND_BUSY,
  TDX_OPERAND_INVALID,
  TDX_PAGE_METADATA_INCORRECT,
  TDX_SUCCESS,
  TDX_TD_ASSOCIATED_PAGES_EXIST,
  withOperand,
} from '../status.js';
import { TD_LIFECYCLE } from '../tdState.js';
import type { PamtEntry } from '../pamt.js';
import { TDR_LINE_STATE, storeTdr } from '../tdLayout.js';

/** Result of the common first steps of RECLAIM and RDMD. */
export interface PageLookup {
  status: U64;
  pa: number;
  entry: PamtEntry | undefined;
}

/** Steps 1-3 of RECLAIM/RDMD: address, PAMT block, entry lock. */
export function lookupPage(ctx: LeafCtx, v: bigint, mode: 'shared' | 'exclusive'): PageLookup {
  const m = ctx.m;
  const out: PageLookup = { status: TDX_SUCCESS, pa: 0, entry: undefined };
  if (v % 4096n !== 0n || v >= MAX_PA || splitHpa(m, v).hkid !== 0) {
    out.status = withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
    return out;
  }
  out.pa = Number(v);
  const tdmr = m.pamt.block(out.pa);
  if (tdmr === undefined) {
    out.status = withOperand(TDX_OPERAND_ADDR_RANGE_ERROR, OPERAND_ID.RCX);
    return out;
  }
  const e = m.pamt.get(out.pa, tdmr);
  // pamt_walk() to the leaf: 1G and 2M parents shared, the leaf in `mode`.
  if (!pamtWalk(ctx, out.pa, e.level, 0, mode)) {
    out.status = withOperand(TDX_OPERAND_BUSY, OPERAND_ID.RCX);
    return out;
  }
  out.entry = e;
  return out;
}

/** Report a PAMT entry in RCX (page type), RDX (owner) and R8 (level). */
export function reportPamtEntry(ctx: LeafCtx, e: PamtEntry): void {
  const r = ctx.regs;
  r.rcx = BigInt(e.pt) as U64;
  r.rdx = BigInt(e.owner) as U64;
  r.r8 = BigInt(e.level) as U64;
}

/** TDH.PHYMEM.PAGE.RECLAIM. */
export function* tdhPhymemPageReclaim(ctx: LeafCtx): Prog<U64> {
  const { m, regs: r } = ctx;
  const v = r.rcx;
  r.rcx = r.rdx = r.r8 = r.r9 = r.r10 = r.r11 = 0n as U64;
  const p = lookupPage(ctx, v, 'exclusive');
  const e = p.entry;
  if (e === undefined) {
    return p.status;
  }
  if (e.pt === PT.NDA || e.pt === PT.RSVD) {
    return withOperand(TDX_PAGE_METADATA_INCORRECT, OPERAND_ID.RCX);
  }
  reportPamtEntry(ctx, e);
  if (p.pa % (4096 * pagesPerLevel(e.level)) !== 0) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
  }
  const owner = m.tds.get(e.pt === PT.TDR ? p.pa : e.owner);
  if (e.pt !== PT.TDR) {
    if (!ctx.hold(m.pamt.lock(e.owner), 'shared')) {
      return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.TDR);
    }
    if (owner === undefined || owner.lifecycle !== TD_LIFECYCLE.TD_TEARDOWN) {
      return TDX_LIFECYCLE_STATE_INCORRECT;
    }
  } else {
    if (owner === undefined || owner.lifecycle !== TD_LIFECYCLE.TD_TEARDOWN) {
      return TDX_LIFECYCLE_STATE_INCORRECT;
    }
    if (owner.chldcnt !== 0) {
      return TDX_TD_ASSOCIATED_PAGES_EXIST;
    }
  }
  yield YIELD;
  m.pamt.free(p.pa, e.level);
  if (e.pt === PT.TDR) {
    m.tds.delete(p.pa);
  } else if (owner !== undefined) {
    owner.chldcnt -= pagesPerLevel(e.level);
    storeTdr(ctx, owner, TDR_LINE_STATE);
    owner.vcpus.delete(p.pa);
  }
  return TDX_SUCCESS;
}
