/**
 * TDH.PHYMEM.CACHE.WB (leaf 40): write back this package's caches, sub-block by sub-block, so no
 * dirty line of a dying HKID survives; interruptible (TDX_INTERRUPTED_RESUMABLE, resume with
 * RCX = 1). On completion the package's bit is cleared in every snapshotted HKID's KOT entry.
 * @see TDX module ABI sections 3.12, 7.5
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { FAULT_INTERRUPT } from '../faultSites.js';
import { HKID_STATE, MAX_HKIDS } from '../globalState.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import {
  OPERAND_ID,
  TDX_INTERRUPTED_RESUMABLE,
  TDX_NO_HKID_READY_TO_WBCACHE,
  TDX_OPERAND_BUSY,
  TDX_OPERAND_INVALID,
  TDX_SUCCESS,
  TDX_WBCACHE_RESUME_ERROR,
  withOperand,
} from '../status.js';

/** TDH.PHYMEM.CACHE.WB. */
export function* tdhPhymemCacheWb(ctx: LeafCtx): Prog<U64> {
  const { m, regs: r, env } = ctx;
  if (r.rcx > 1n) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
  }
  const pkg = m.pkgOf(ctx.lp);
  const wbt = m.wbt[pkg];
  if (wbt === undefined || !ctx.hold(wbt.mutex, 'exclusive')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.WBCACHE);
  }
  if (!ctx.hold(m.kotLock, 'shared')) {
    return withOperand(TDX_OPERAND_BUSY, OPERAND_ID.KOT);
  }
  yield YIELD;
  let start: number;
  if (r.rcx === 0n) {
    wbt.intrPoint = -1;
    wbt.snapshot = [];
    for (let h = 0; h < MAX_HKIDS; h++) {
      if (m.kotState.get(h) === HKID_STATE.HKID_FLUSHED) {
        wbt.snapshot.push(h);
      }
    }
    if (wbt.snapshot.length === 0) {
      return TDX_NO_HKID_READY_TO_WBCACHE;
    }
    start = 0;
  } else {
    if (wbt.intrPoint < 0) {
      return TDX_WBCACHE_RESUME_ERROR;
    }
    start = wbt.intrPoint;
  }
  const n = m.wbinvdSubBlocks;
  for (let k = start; k < n; k++) {
    env.wbnoinvdSubBlock(k, n);
    yield { op: 'tick', ns: ctx.costs.wbinvdBaseNs, label: 'TDH.PHYMEM.CACHE.WB' };
    if (k < n - 1 && (env.interruptPending() || env.injectFault(FAULT_INTERRUPT))) {
      wbt.intrPoint = k + 1;
      return TDX_INTERRUPTED_RESUMABLE;
    }
  }
  for (const h of wbt.snapshot) {
    m.kotWbinvd.set(h, m.kotWbinvd.get(h) & ~(1 << pkg));
  }
  wbt.intrPoint = -1;
  return TDX_SUCCESS;
}
