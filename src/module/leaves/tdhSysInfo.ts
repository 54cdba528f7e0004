/**
 * TDH.SYS.INFO (leaf 32): the legacy enumeration, TDSYSINFO_STRUCT plus all 32 CMR_INFO entries.
 * Written with ordinary (cached) stores through the KeyID in the caller's addresses.
 * @see TDX module ABI sections 3.3, 5.2, 5.3
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { done } from '../../platform/Exec.js';
import { MAX_CMRS } from '../globalState.js';
import { sharedHpa } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { cpuidConfigurable, cpuidConfigValue } from '../cpuidConfigurable.js';
import { OPERAND_ID, TDX_OPERAND_INVALID, TDX_SUCCESS, TDX_SYS_LP_INIT_NOT_DONE, withOperand } from '../status.js';

/** Size of TDSYSINFO_STRUCT. */
export const TDSYSINFO_STRUCT_SIZE = 1024;
const WRITER = 'tdx-module';

/** Build TDSYSINFO_STRUCT from the metadata (section 5.3 layout). */
export function buildTdSysInfo(ctx: LeafCtx): Uint8Array {
  const buf = new Uint8Array(TDSYSINFO_STRUCT_SIZE);
  const dv = new DataView(buf.buffer);
  const mv = (n: string): number => ctx.metaValue(n);
  const big = (n: string): bigint => ctx.meta.valueByName(ctx.metaSource(), n) ?? 0n;
  dv.setUint32(0, 0, true);
  dv.setUint32(4, mv('VENDOR_ID'), true);
  // Releases whose build date and number no source gives report 0 (see module/profiles.ts).
  dv.setUint32(8, mv('BUILD_DATE'), true);
  dv.setUint16(12, mv('BUILD_NUM'), true);
  dv.setUint16(14, mv('MINOR_VERSION'), true);
  dv.setUint16(16, mv('MAJOR_VERSION'), true);
  dv.setUint8(18, ctx.profile.sysInfoSysRd);
  dv.setUint16(32, mv('MAX_TDMRS'), true);
  dv.setUint16(34, mv('MAX_RESERVED_PER_TDMR'), true);
  dv.setUint16(36, mv('PAMT_4K_ENTRY_SIZE'), true);
  dv.setUint16(48, mv('TDCS_BASE_SIZE'), true);
  dv.setUint16(52, mv('TDVPS_BASE_SIZE'), true);
  dv.setBigUint64(64, big('ATTRIBUTES_FIXED0'), true);
  dv.setBigUint64(72, big('ATTRIBUTES_FIXED1'), true);
  dv.setBigUint64(80, big('XFAM_FIXED0'), true);
  dv.setBigUint64(88, big('XFAM_FIXED1'), true);
  const n = mv('NUM_CPUID_CONFIG');
  dv.setUint32(128, n, true);
  // The release's configurable leaves (cpuidConfigurable.ts), at most the 37 the structure holds.
  const table = cpuidConfigurable(ctx.profile);
  for (let i = 0; i < Math.min(n, table.length, 37); i++) {
    const { leaf, subleaf: sub } = table[i] as { leaf: number; subleaf: number };
    const o = 132 + 24 * i;
    // CONFIG_DIRECT | (ALLOW_DIRECT & native) in every release (tdh_sys_info.c), unlike 1.5.01's
    // TDH.SYS.RD. @see intel/tdx-module 1.5.01 src/vmm_dispatcher/api_calls/tdh_sys_info.c
    const lo = cpuidConfigValue(table, i, 0, true);
    const hi = cpuidConfigValue(table, i, 1, true);
    dv.setUint32(o, leaf, true);
    dv.setUint32(o + 4, sub >>> 0, true);
    dv.setBigUint64(o + 8, lo, true);
    dv.setBigUint64(o + 16, hi, true);
  }
  return buf;
}

/** TDH.SYS.INFO. */
export function tdhSysInfo(ctx: LeafCtx): Prog<U64> {
  return done(sysInfo(ctx));
}

function sysInfo(ctx: LeafCtx): U64 {
  const { m, regs: r, env } = ctx;
  const size = r.rdx;
  const cmrCount = r.r9;
  r.rdx = r.r9 = 0n as U64;
  if (m.lpIsInit[ctx.lp] !== true) {
    return TDX_SYS_LP_INIT_NOT_DONE;
  }
  const info = sharedHpa(m, r.rcx, 1024, TDSYSINFO_STRUCT_SIZE);
  if (info === undefined) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
  }
  if (size < BigInt(TDSYSINFO_STRUCT_SIZE)) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RDX);
  }
  // The buffer is zero-filled before the remaining checks (vector 19).
  env.write(info.pa, new Uint8Array(TDSYSINFO_STRUCT_SIZE), info.hkid, WRITER);
  const cmr = sharedHpa(m, r.r8, 512, MAX_CMRS * 16);
  if (cmr === undefined) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.R8);
  }
  if (cmrCount < BigInt(MAX_CMRS)) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.R9);
  }
  env.write(info.pa, buildTdSysInfo(ctx), info.hkid, WRITER);
  const cmrs = new Uint8Array(MAX_CMRS * 16);
  const dv = new DataView(cmrs.buffer);
  m.sysinfo.cmrs.slice(0, MAX_CMRS).forEach((c, i) => {
    dv.setBigUint64(16 * i, BigInt(c.base), true);
    dv.setBigUint64(16 * i + 8, BigInt(c.size), true);
  });
  env.write(cmr.pa, cmrs, cmr.hkid, WRITER);
  r.rdx = BigInt(TDSYSINFO_STRUCT_SIZE) as U64;
  r.r9 = BigInt(MAX_CMRS) as U64;
  return TDX_SUCCESS;
}
