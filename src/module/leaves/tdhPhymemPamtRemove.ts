/**
 * TDH.PHYMEM.PAMT.REMOVE (leaf 59, Dynamic PAMT): take back the 4 KiB PAMT page pair of a 2 MiB
 * range whose 512 PAMT_4K entries are all PT_NDA; RDX and R8 return the two pages.
 *
 * Check order: Dynamic PAMT enabled (else OPERAND_INVALID|RAX) → RCX as in PAMT.ADD
 * (OPERAND_INVALID|RCX) → the range in an initialized block (OPERAND_ADDR_RANGE_ERROR|RCX) → PAMT
 * walk to 2 MiB, exclusive (OPERAND_BUSY|RCX) → the PAMT_2M entry is a PT_PAMT node
 * (TDX_NO_PAMT_PAGE_PAIR|RCX) → every entry of page 0, then of page 1, PT_NDA
 * (TDX_PAMT_PAGE_NOT_EMPTY with the page's index, 0 or 1, as its operand id, as the source writes
 * it) → the pages' PAMT_PAGE_BITMAP bits cleared, RDX = hpa0, R8 = hpa1, the entry PT_NDA.
 * @see intel/tdx-module 2.0.08 (1666adc4) src/vmm_dispatcher/api_calls/tdh_phymem_pamt_remove.c
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { MAX_PA, pamtWalk, splitHpa } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { Pamt, PAGE_LEVEL } from '../pamt.js';
import {
  OPERAND_ID,
  TDX_NO_PAMT_PAGE_PAIR,
  TDX_OPERAND_ADDR_RANGE_ERROR,
  TDX_OPERAND_BUSY,
  TDX_OPERAND_INVALID,
  TDX_PAMT_PAGE_NOT_EMPTY,
  TDX_SUCCESS,
  withOperand,
} from '../status.js';

/**
 * The RCX operand of PAMT.ADD/REMOVE (page_size_api_input_t): level 1, bits 11:3 and 63:52 zero,
 * no HKID bits in the address, 2 MiB aligned. @returns the range's PA, or undefined.
 */
export function range2m(ctx: LeafCtx, v: bigint): number | undefined {
  const pa = v & ~0xfffn;
  if ((v & 7n) !== 1n || (v & 0xff8n) !== 0n || v >= MAX_PA || splitHpa(ctx.m, pa).hkid !== 0 || pa % 0x20_0000n !== 0n) {
    return undefined;
  }
  return Number(pa);
}

/** TDH.PHYMEM.PAMT.REMOVE. */
export function* tdhPhymemPamtRemove(ctx: LeafCtx): Prog<U64> {
  const { m, regs: r } = ctx;
  const pamt = m.pamt;
  if (!pamt.dynamic) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RAX);
  }
  const pa = range2m(ctx, r.rcx);
  if (pa === undefined) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
  }
  const tdmr = pamt.block(pa);
  if (tdmr === undefined) {
    return withOperand(TDX_OPERAND_ADDR_RANGE_ERROR, OPERAND_ID.RCX);
  }
  const entry = pamt.get(pa, tdmr);
  if (!pamtWalk(ctx, pa, pamt.walkStop(pa, entry.level), PAGE_LEVEL.PT_2MB, 'exclusive')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.RCX);
  }
  const pair = pamt.pairs.get(Pamt.index2m(pa));
  if (pair === undefined || entry.level !== PAGE_LEVEL.PT_4KB) {
    return withOperand(TDX_NO_PAMT_PAGE_PAIR, OPERAND_ID.RCX);
  }
  const used = pamt.used4kIn2m(pa);
  if (used.first > 0 || used.second > 0) {
    return withOperand(TDX_PAMT_PAGE_NOT_EMPTY, used.first > 0 ? 0 : 1);
  }
  yield YIELD;
  pamt.pamtPages.delete(Math.floor(pair[0] / 4096));
  pamt.pamtPages.delete(Math.floor(pair[1] / 4096));
  pamt.pairs.delete(Pamt.index2m(pa));
  r.rdx = BigInt(pair[0]) as U64;
  r.r8 = BigInt(pair[1]) as U64;
  return TDX_SUCCESS;
}
