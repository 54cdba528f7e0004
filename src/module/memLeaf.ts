/**
 * The common start of the TD memory leaves (TDH.MEM.PAGE.ADD, TDH.MEM.PAGE.AUG,
 * TDH.MEM.SEPT.ADD): RCX = GPA | level and RDX = TDR are read and zeroed (the leaves report SEPT
 * details there on error), then the TDR operand is checked and locked, then the TD's build state.
 * @see TDX module ABI sections 3.20, 3.21
 */
import type { U64 } from '../base/u64.js';
import type { LockMode } from './TryLock.js';
import { tdrOperand } from './hpaChecks.js';
import type { LeafCtx } from './leafCtx.js';
import { OPERAND_ID, TDX_EPT_ENTRY_STATE_INCORRECT, TDX_EPT_WALK_FAILED, TDX_SUCCESS, withOperand } from './status.js';
import { checkBuildState, septErrorInfo, septWalk } from './tdChecks.js';
import type { TdState } from './tdState.js';

/** Inputs of a TD memory leaf once its prologue passed, or the status to return. */
export type MemLeafStart = { readonly gpaLevel: U64; readonly td: TdState; readonly status?: undefined } | { readonly status: U64 };

/** Run the prologue with the TDR locked in `mode`. */
export function memLeafPrologue(ctx: LeafCtx, mode: LockMode): MemLeafStart {
  const r = ctx.regs;
  const gpaLevel = r.rcx;
  const tdrIn = r.rdx;
  r.rcx = r.rdx = 0n as U64;
  const t = tdrOperand(ctx, tdrIn, OPERAND_ID.RDX, mode);
  if (t.td === undefined) {
    return { status: t.status };
  }
  const b = checkBuildState(t.td);
  if (b !== TDX_SUCCESS) {
    return { status: b };
  }
  return { gpaLevel, td: t.td };
}

/**
 * The Secure EPT walk for a new mapping: it must reach `level` (the parent SEPT pages exist) and
 * find a free entry there. On failure RCX/RDX report the entry and level where it stopped.
 * @returns TDX_SUCCESS, TDX_EPT_WALK_FAILED|RCX or TDX_EPT_ENTRY_STATE_INCORRECT|RCX
 */
export function septFreeEntry(ctx: LeafCtx, td: TdState, gpa: number, level: number): U64 {
  const walk = septWalk(td, gpa, level);
  if (walk.level !== level) {
    septErrorInfo(ctx, walk);
    return withOperand(TDX_EPT_WALK_FAILED, OPERAND_ID.RCX);
  }
  if (walk.entry !== undefined) {
    septErrorInfo(ctx, walk);
    return withOperand(TDX_EPT_ENTRY_STATE_INCORRECT, OPERAND_ID.RCX);
  }
  return TDX_SUCCESS;
}
