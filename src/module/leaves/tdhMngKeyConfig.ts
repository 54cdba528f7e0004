/**
 * TDH.MNG.KEY.CONFIG (leaf 8): program the TD's ephemeral key on this LP's package. Once the
 * TD is configured on every package the global key is, the TD becomes TD_KEYS_CONFIGURED.
 * @see TDX module ABI section 3.17
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { tdrOperand } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { OPERAND_ID, TDX_KEY_CONFIGURED, TDX_LIFECYCLE_STATE_INCORRECT, TDX_SUCCESS, TDX_TD_FATAL } from '../status.js';
import { TD_LIFECYCLE } from '../tdState.js';
import { programMktmeKey } from './tdhSysKeyConfig.js';
import { TDR_LINE_KEYS, TDR_LINE_STATE, storeTdr } from '../tdLayout.js';

/** TDH.MNG.KEY.CONFIG. */
export function* tdhMngKeyConfig(ctx: LeafCtx): Prog<U64> {
  const { m, regs: r } = ctx;
  const t = tdrOperand(ctx, r.rcx, OPERAND_ID.RCX, 'exclusive');
  if (t.td === undefined) {
    return t.status;
  }
  const td = t.td;
  if (td.fatal) {
    return TDX_TD_FATAL;
  }
  if (td.lifecycle !== TD_LIFECYCLE.TD_HKID_ASSIGNED) {
    return TDX_LIFECYCLE_STATE_INCORRECT;
  }
  const bit = 1 << (m.pkgOf(ctx.lp));
  if ((td.pkgConfigBitmap & bit) !== 0) {
    return TDX_KEY_CONFIGURED;
  }
  yield YIELD;
  const s = programMktmeKey(ctx.env);
  if (s !== TDX_SUCCESS) {
    return s;
  }
  // The TDR updates are ordinary stores: dirty global-KeyID lines stay in this LP's cache.
  td.pkgConfigBitmap |= bit;
  storeTdr(ctx, td, TDR_LINE_KEYS);
  if (td.pkgConfigBitmap === m.pkgConfigBitmap) {
    td.lifecycle = TD_LIFECYCLE.TD_KEYS_CONFIGURED;
    storeTdr(ctx, td, TDR_LINE_STATE);
  }
  return TDX_SUCCESS;
}
