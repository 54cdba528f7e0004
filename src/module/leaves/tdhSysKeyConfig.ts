/**
 * TDH.SYS.KEY.CONFIG (leaf 31): program the global private HKID's key on this LP's package.
 * Once per package, serially (it takes the global lock exclusively).
 *
 * A PCONFIG entropy failure returns TDX_KEY_GENERATION_FAILED, not TDX_RND_NO_ENTROPY: the
 * module's program_mktme_keys() maps MKTME_ENTROPY_ERROR to TDX_KEY_GENERATION_FAILED and
 * MKTME_DEVICE_BUSY to TDX_OPERAND_BUSY|KET, and rolls the package bit back so a retry works.
 * @see TDX module ABI section 3.7; intel/tdx-module tdh_sys_key_config.c, helpers.c program_mktme_keys()
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { FAULT_PCONFIG_BUSY, FAULT_PCONFIG_ENTROPY } from '../faultSites.js';
import { SYS_STATE } from '../globalState.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { OPERAND_ID, TDX_KEY_CONFIGURED, TDX_KEY_GENERATION_FAILED, TDX_OPERAND_BUSY, TDX_SUCCESS, TDX_SYS_BUSY, TDX_SYS_KEY_CONFIG_NOT_PENDING, withOperand } from '../status.js';
import type { SeamEnv } from '../../platform/Seam.js';

/** PCONFIG MKTME_KEY_PROGRAM with a CPU-generated random key, as program_mktme_keys() reports it. */
export function programMktmeKey(env: SeamEnv): U64 {
  if (env.injectFault(FAULT_PCONFIG_BUSY)) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.KET);
  }
  if (env.injectFault(FAULT_PCONFIG_ENTROPY)) {
    return TDX_KEY_GENERATION_FAILED;
  }
  return TDX_SUCCESS;
}

/** TDH.SYS.KEY.CONFIG. */
export function* tdhSysKeyConfig(ctx: LeafCtx): Prog<U64> {
  const m = ctx.m;
  if (!ctx.hold(m.globalLock, 'exclusive')) {
    return TDX_SYS_BUSY;
  }
  yield YIELD;
  if (m.sysState !== SYS_STATE.SYSCONFIG_DONE) {
    return TDX_SYS_KEY_CONFIG_NOT_PENDING;
  }
  const bit = 1 << (m.pkgOf(ctx.lp));
  if ((m.pkgConfigBitmap & bit) !== 0) {
    return TDX_KEY_CONFIGURED;
  }
  m.pkgConfigBitmap |= bit;
  const s = programMktmeKey(ctx.env);
  if (s !== TDX_SUCCESS) {
    m.pkgConfigBitmap &= ~bit; // roll back so the VMM can retry
    return s;
  }
  m.numInitPkgs++;
  if (m.numInitPkgs === m.numPkgs) {
    m.sysState = SYS_STATE.SYS_READY;
  }
  return TDX_SUCCESS;
}
