/**
 * TDH.SYS.CONFIG (leaf 45): hand the module the TDMRs, their PAMTs and the global private HKID.
 * TDMR_INFO and the PA array are read from host memory through the KeyIDs in the addresses.
 * On releases with Dynamic PAMT (`dynamicPamtLeaves`), R8 bit 16 enables it: the KOT reservation
 * comes first, then dynamic_pamt_enabled is set, then the HKID start bit must be at most 48
 * (OPERAND_INVALID|R8), and the PAMT_4K area need only hold a bitmap.
 * @see TDX module ABI sections 3.6, 5.1, 5.4, 6; intel/tdx-module 2.0.08 (1666adc4)
 *   src/vmm_dispatcher/api_calls/tdh_sys_config.c tdh_sys_config()
 */
import { deepFreeze } from '../../base/clone.js';
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import type { TdmrRow } from '../globalState.js';
import { HKID_STATE, SYS_STATE } from '../globalState.js';
import { sharedHpa } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { OPERAND_ID, TDX_OPERAND_INVALID, TDX_SUCCESS, TDX_SYS_BUSY, TDX_SYS_CONFIG_NOT_PENDING, withOperand } from '../status.js';
import type { TdmrInfo } from '../tdmrRules.js';
import { checkTdmr, nonNullRsvd, parseTdmrInfo, TDMR_INFO_RSVD_OFFSET } from '../tdmrRules.js';
import { TryLock } from '../TryLock.js';

const TDMR_INFO_ALIGN = 512;
/**
 * With Dynamic PAMT the HKID bits of an HPA must start at bit 48 or below ("the number of
 * non-HKID bits in HPA must be at most 48").
 * @see intel/tdx-module pamt_manager.h MAX_DYNAMIC_PAMT_HKID_START_BIT (Dynamic PAMT trees)
 */
const MAX_DYNAMIC_PAMT_HKID_START_BIT = 48;

function toRow(t: TdmrInfo, entrySizes: readonly [number, number, number]): TdmrRow {
  const r = (x: { base: bigint; size: bigint }): { base: number; size: number } => ({ base: Number(x.base), size: Number(x.size) });
  return {
    base: Number(t.base),
    size: Number(t.size),
    // The layout is fixed at CONFIG: frozen, so snapshots share it.
    pamt4k: deepFreeze(r(t.pamt[0])),
    pamt2m: deepFreeze(r(t.pamt[1])),
    pamt1g: deepFreeze(r(t.pamt[2])),
    rsvd: deepFreeze(nonNullRsvd(t).map((x) => ({ offset: Number(x.base), size: Number(x.size) }))),
    entrySizes,
    nextInit: Number(t.base),
    rdxNum: -1,
    rdx: 0n as U64,
    mutex: new TryLock(),
  };
}

/** TDH.SYS.CONFIG. */
export function* tdhSysConfig(ctx: LeafCtx): Prog<U64> {
  const { m, regs: r, env } = ctx;
  const invalid = (op: number): U64 => withOperand(TDX_OPERAND_INVALID, op);
  if (!ctx.hold(m.globalLock, 'exclusive')) {
    return TDX_SYS_BUSY; // C1
  }
  yield YIELD;
  if (m.sysState !== SYS_STATE.SYSINIT_DONE || m.numInitLps < m.numLps) {
    return TDX_SYS_CONFIG_NOT_PENDING; // C2, C3
  }
  const arr = sharedHpa(m, r.rcx, TDMR_INFO_ALIGN, TDMR_INFO_ALIGN);
  if (arr === undefined) {
    return invalid(OPERAND_ID.RCX); // C4
  }
  if (r.rdx > BigInt(ctx.metaValue('MAX_TDMRS')) || r.rdx < 1n) {
    return invalid(OPERAND_ID.RDX); // C5, C6
  }
  const hkid = Number(r.r8 & 0xffffn);
  // Releases with Dynamic PAMT read R8 as sys_config_options_t: HKID in bits 15:0, dynamic_pamt
  // in bit 16, bits 63:17 reserved (tdx_api_defs.h @ 1666adc4); before, R8 is the HKID alone.
  const dynamicCapable = ctx.profile.dynamicPamtLeaves === true;
  if (r.r8 >> (dynamicCapable ? 17n : 16n) !== 0n || !m.isPrivateHkid(hkid)) {
    return invalid(OPERAND_ID.R8); // C7
  }
  // Side effect kept even if a later check fails: the HKID is reserved (and leaked on retry).
  m.kotState.set(hkid, HKID_STATE.HKID_RESERVED);
  m.hkid = hkid;
  if (dynamicCapable) {
    // Set before its own check, so it stays set when that check fails (as in the source).
    m.pamt.dynamic = ((r.r8 >> 16n) & 1n) === 1n;
    if (m.pamt.dynamic && m.hkidShift > MAX_DYNAMIC_PAMT_HKID_START_BIT) {
      return invalid(OPERAND_ID.R8);
    }
  }
  const n = Number(r.rdx);
  const list = env.read(arr.pa, 8 * n, arr.hkid);
  if (!list.ok) {
    return invalid(OPERAND_ID.RCX);
  }
  const pas = new DataView(list.bytes.buffer, list.bytes.byteOffset, list.bytes.byteLength);
  const nrsvd = Math.min(ctx.metaValue('MAX_RESERVED_PER_TDMR'), 28);
  const entrySizes: [number, number, number] = [ctx.metaValue('PAMT_4K_ENTRY_SIZE'), ctx.metaValue('PAMT_2M_ENTRY_SIZE'), ctx.metaValue('PAMT_1G_ENTRY_SIZE')];
  const ruleEnv = { hkidShift: m.hkidShift, cmrs: m.sysinfo.cmrs, entrySizes, dynamicPamt: m.pamt.dynamic };
  const infos: TdmrInfo[] = [];
  for (let i = 0; i < n; i++) {
    const at = sharedHpa(m, pas.getBigUint64(8 * i, true), TDMR_INFO_ALIGN, TDMR_INFO_ALIGN);
    if (at === undefined) {
      return invalid(OPERAND_ID.RCX); // T1
    }
    const raw = env.read(at.pa, TDMR_INFO_RSVD_OFFSET + 16 * nrsvd, at.hkid);
    if (!raw.ok) {
      return invalid(OPERAND_ID.RCX);
    }
    infos.push(parseTdmrInfo(raw.bytes, nrsvd));
    const s = checkTdmr(i, infos, ruleEnv);
    if (s !== TDX_SUCCESS) {
      return s;
    }
  }
  m.tdmrs.length = 0;
  const sizes = deepFreeze(entrySizes);
  m.tdmrs.push(...infos.map((t) => toRow(t, sizes)));
  m.pkgConfigBitmap = 0;
  m.numInitPkgs = 0;
  m.sysState = SYS_STATE.SYSCONFIG_DONE;
  return TDX_SUCCESS;
}
