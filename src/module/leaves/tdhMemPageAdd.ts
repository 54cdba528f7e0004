/**
 * TDH.MEM.PAGE.ADD (leaf 2), reduced: copy a source page into a new TD page during TD build,
 * MOVDIR64B through the TD's KeyID, and map it in the Secure EPT.
 * @see TDX module ABI section 3.20
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { privatePage, sharedHpa } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { memLeafPrologue, septFreeEntry } from '../memLeaf.js';
import { YIELD } from '../leafCtx.js';
import { PT } from '../pamt.js';
import { OPERAND_ID, TDX_OP_STATE_INCORRECT, TDX_OPERAND_INVALID, TDX_SUCCESS, withOperand } from '../status.js';
import { gpaValid } from '../tdChecks.js';
import { OP_STATE, SEPT_STATE } from '../tdState.js';
import { TDR_LINE_STATE, storeTdr } from '../tdLayout.js';
import { storeSepte } from '../septLayout.js';

/** TDH.MEM.PAGE.ADD. */
export function* tdhMemPageAdd(ctx: LeafCtx): Prog<U64> {
  const start = memLeafPrologue(ctx, 'exclusive');
  if (start.status !== undefined) {
    return start.status;
  }
  const { gpaLevel, td } = start;
  const r = ctx.regs;
  if (td.opState !== OP_STATE.INITIALIZED) {
    return TDX_OP_STATE_INCORRECT;
  }
  // Level (bits 2:0) must be 0 (4 KiB); bits 11:3 and 63:52 are reserved.
  if ((gpaLevel & 0xfffn) !== 0n || !gpaValid(td, gpaLevel)) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
  }
  const gpa = Number(gpaLevel);
  const sept = septFreeEntry(ctx, td, gpa, 0);
  if (sept !== TDX_SUCCESS) {
    return sept;
  }
  const src = sharedHpa(ctx.m, r.r9, 4096, 4096);
  if (src === undefined) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.R9);
  }
  const page = privatePage(ctx, r.r8, OPERAND_ID.R8, PT.NDA, 0, 'exclusive');
  if (page.status !== TDX_SUCCESS) {
    return page.status;
  }
  yield YIELD;
  const bytes = ctx.env.read(src.pa, 4096, src.hkid);
  if (!bytes.ok) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.R9);
  }
  ctx.env.movdir64b(page.pa, 4096, td.hkid, bytes.bytes, 'tdx-module');
  td.sept.set(0, gpa, { state: SEPT_STATE.MAPPED, pa: page.pa, leaf: true });
  // sept_set_leaf_unlocked_entry(): the MAPPED leaf into its SEPT page, after the page copy.
  storeSepte(ctx.env, td, 0, gpa);
  td.chldcnt++;
  storeTdr(ctx, td, TDR_LINE_STATE);
  ctx.m.pamt.set(page.pa, { pt: PT.REG, level: 0, owner: td.tdrPa });
  return TDX_SUCCESS;
}
