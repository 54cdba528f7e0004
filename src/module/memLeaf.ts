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
import { OPERAND_ID, TDX_SUCCESS } from './status.js';
import { checkBuildState } from './tdChecks.js';
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
