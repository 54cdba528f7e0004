/**
 * Reading the module's global metadata: TDH.SYS.RD one field at a time (v6.8+), or the legacy
 * TDH.SYS.INFO structure plus CMR array (2022 drafts). Each TDH.SYS.RD group stops at its first
 * failing read, and later groups are skipped.
 * @see linux arch/x86/virt/vmx/tdx/tdx_global_metadata.c get_tdx_sys_info() (v6.16+)
 * @see TDX module ABI sections 3.3, 3.4, 5.3, 5.6
 */
import type { Cpu } from '../../platform/Cpu.js';
import type { Prog } from '../../platform/Exec.js';
import { EINVAL, ENOMEM } from '../errno.js';
import type { KernelStatus } from '../errno.js';
import type { Kernel } from '../Kernel.js';
import { TDH_SYS_INFO, TDH_SYS_RD } from './defs.js';
import { sc_retry_prerr } from './seamcall.js';
import type { PhysRange, TdxSysInfoTdmr } from './tdmr.js';

/** TDX_FEATURES0 bit the host requires (no RBP clobbering in the module). */
export const TDX_FEATURES0_NO_RBP_MOD = 1n << 18n;

/** Field ids read by Linux. */
export const MD = {
  MINOR_VERSION: 0x0800000100000003n,
  MAJOR_VERSION: 0x0800000100000004n,
  UPDATE_VERSION: 0x0800000100000005n,
  TDX_FEATURES0: 0x0a00000300000008n,
  NUM_CMRS: 0x9000000100000000n,
  CMR_BASE0: 0x9000000300000080n,
  CMR_SIZE0: 0x9000000300000100n,
  MAX_TDMRS: 0x9100000100000008n,
  MAX_RESERVED_PER_TDMR: 0x9100000100000009n,
  PAMT_4K_ENTRY_SIZE: 0x9100000100000010n,
  PAMT_2M_ENTRY_SIZE: 0x9100000100000011n,
  PAMT_1G_ENTRY_SIZE: 0x9100000100000012n,
  TDR_BASE_SIZE: 0x9800000100000000n,
  TDCS_BASE_SIZE: 0x9800000100000100n,
  TDVPS_BASE_SIZE: 0x9800000100000200n,
  ATTRIBUTES_FIXED0: 0x1900000300000000n,
  ATTRIBUTES_FIXED1: 0x1900000300000001n,
  XFAM_FIXED0: 0x1900000300000002n,
  XFAM_FIXED1: 0x1900000300000003n,
  NUM_CPUID_CONFIG: 0x9900000100000004n,
  MAX_VCPUS_PER_TD: 0x9900000100000008n,
  CPUID_CONFIG_LEAVES0: 0x9900000300000400n,
  CPUID_CONFIG_VALUES0: 0x9900000300000500n,
} as const;

/** struct tdx_sys_info_td_ctrl. */
export interface TdxSysInfoTdCtrl {
  tdr_base_size: number;
  tdcs_base_size: number;
  tdvps_base_size: number;
}

/** struct tdx_sys_info_td_conf. */
export interface TdxSysInfoTdConf {
  attributes_fixed0: bigint;
  attributes_fixed1: bigint;
  xfam_fixed0: bigint;
  xfam_fixed1: bigint;
  num_cpuid_config: number;
  max_vcpus_per_td: number;
  cpuid_config_leaves: bigint[];
  cpuid_config_values: [bigint, bigint][];
}

/** The legacy TDSYSINFO_STRUCT fields the drafts printed. */
export interface TdxLegacyInfo {
  attributes: number;
  vendor_id: number;
  build_date: number;
  build_num: number;
  minor_version: number;
  major_version: number;
}

/** struct tdx_sys_info as this model knows it (groups absent when not read). */
export interface TdxSysInfo {
  version?: { major: number; minor: number; update: number };
  features?: { tdx_features0: bigint };
  tdmr: TdxSysInfoTdmr;
  td_ctrl?: TdxSysInfoTdCtrl;
  td_conf?: TdxSysInfoTdConf;
  /** CMRs: from TDH.SYS.INFO (drafts) or read via TDH.SYS.RD (the CMR-holes patch). */
  cmrs?: PhysRange[];
  legacy?: TdxLegacyInfo;
}

/** Maximum CPUID configs Linux has room for. */
const MAX_CPUID_CONFIG = 128;

/**
 * One TDH.SYS.RD (with the _ret failure print).
 * @see linux read_sys_metadata_field()
 */
export function* read_sys_metadata_field(k: Kernel, cpu: Cpu, field_id: bigint): Prog<{ ret: KernelStatus; val: bigint }> {
  const { err, r } = yield* sc_retry_prerr(k, cpu, BigInt(TDH_SYS_RD), { rdx: field_id }, 'seamcall_prerr_ret');
  return { ret: err, val: err === 0 ? r.out.r8 : 0n };
}

/** Read fields in order, stopping at the first failure. */
function* readAll(k: Kernel, cpu: Cpu, ids: readonly bigint[]): Prog<{ ret: KernelStatus; vals: bigint[] }> {
  const vals: bigint[] = [];
  for (const id of ids) {
    const { ret, val } = yield* read_sys_metadata_field(k, cpu, id);
    if (ret !== 0) {
      return { ret, vals };
    }
    vals.push(val);
  }
  return { ret: 0, vals };
}

/**
 * Read the metadata groups the profile's kernel reads, in Linux's order: (version) → features →
 * tdmr → td_ctrl → td_conf; any failure ends the whole read. With the version group (7.1+),
 * `Module version: %u.%u.%02u` is printed right after it, even when a read failed (the fields
 * not read print as 0: the kernel's copy is zero-initialized static data).
 * @see linux get_tdx_sys_info(); arch/x86/virt/vmx/tdx/tdx_global_metadata.c get_tdx_sys_info(),
 *      get_tdx_sys_info_version() v7.1.3
 */
export function* get_tdx_sys_info(k: Kernel, cpu: Cpu): Prog<{ ret: KernelStatus; info: TdxSysInfo | undefined }> {
  const p = k.profile;
  const info: Partial<TdxSysInfo> = {};
  if (p.printVersion) {
    const v = yield* readAll(k, cpu, [MD.MINOR_VERSION, MD.MAJOR_VERSION, MD.UPDATE_VERSION]);
    const [minor = 0n, major = 0n, update = 0n] = v.vals;
    info.version = { major: Number(major), minor: Number(minor), update: Number(update) };
    k.log.info(`Module version: ${major}.${minor}.${String(update).padStart(2, '0')}`);
    if (v.ret !== 0) {
      return { ret: v.ret, info: undefined };
    }
  }
  if (p.readFeatures) {
    const f = yield* readAll(k, cpu, [MD.TDX_FEATURES0]);
    if (f.ret !== 0) {
      return { ret: f.ret, info: undefined };
    }
    info.features = { tdx_features0: f.vals[0] ?? 0n };
  }
  const t = yield* readAll(k, cpu, [MD.MAX_TDMRS, MD.MAX_RESERVED_PER_TDMR, MD.PAMT_4K_ENTRY_SIZE, MD.PAMT_2M_ENTRY_SIZE, MD.PAMT_1G_ENTRY_SIZE]);
  if (t.ret !== 0) {
    return { ret: t.ret, info: undefined };
  }
  const [mt = 0n, mr = 0n, e4 = 0n, e2 = 0n, e1 = 0n] = t.vals;
  info.tdmr = { max_tdmrs: Number(mt), max_reserved_per_tdmr: Number(mr), pamt_entry_size: [Number(e4), Number(e2), Number(e1)] };
  if (p.readTdConf) {
    const ret = yield* get_tdx_sys_info_td(k, cpu, info);
    if (ret !== 0) {
      return { ret, info: undefined };
    }
  }
  if (p.holes === 'cmrs' && !p.moduleInfoViaSysInfo) {
    const ret = yield* get_tdx_sys_info_cmr(k, cpu, info);
    if (ret !== 0) {
      return { ret, info: undefined };
    }
  }
  return { ret: 0, info: info as TdxSysInfo };
}

/** td_ctrl and td_conf groups (KVM's needs, read by the core since 6.16). */
function* get_tdx_sys_info_td(k: Kernel, cpu: Cpu, info: Partial<TdxSysInfo>): Prog<KernelStatus> {
  const c = yield* readAll(k, cpu, [MD.TDR_BASE_SIZE, MD.TDCS_BASE_SIZE, MD.TDVPS_BASE_SIZE]);
  if (c.ret !== 0) {
    return c.ret;
  }
  info.td_ctrl = { tdr_base_size: Number(c.vals[0]), tdcs_base_size: Number(c.vals[1]), tdvps_base_size: Number(c.vals[2]) };
  const f = yield* readAll(k, cpu, [MD.ATTRIBUTES_FIXED0, MD.ATTRIBUTES_FIXED1, MD.XFAM_FIXED0, MD.XFAM_FIXED1, MD.NUM_CPUID_CONFIG, MD.MAX_VCPUS_PER_TD]);
  if (f.ret !== 0) {
    return f.ret;
  }
  const [a0 = 0n, a1 = 0n, x0 = 0n, x1 = 0n, nc = 0n, mv = 0n] = f.vals;
  const num = Number(nc);
  if (num > MAX_CPUID_CONFIG) {
    return -EINVAL;
  }
  const leaves = yield* readAll(k, cpu, Array.from({ length: num }, (_, i) => MD.CPUID_CONFIG_LEAVES0 + BigInt(i)));
  if (leaves.ret !== 0) {
    return leaves.ret;
  }
  const valueIds = Array.from({ length: num * 2 }, (_, n) => MD.CPUID_CONFIG_VALUES0 + BigInt(n));
  const values = yield* readAll(k, cpu, valueIds);
  if (values.ret !== 0) {
    return values.ret;
  }
  info.td_conf = {
    attributes_fixed0: a0,
    attributes_fixed1: a1,
    xfam_fixed0: x0,
    xfam_fixed1: x1,
    num_cpuid_config: num,
    max_vcpus_per_td: Number(mv),
    cpuid_config_leaves: leaves.vals,
    cpuid_config_values: Array.from({ length: num }, (_, i) => [values.vals[2 * i] ?? 0n, values.vals[2 * i + 1] ?? 0n]),
  };
  return 0;
}

/** CMRs through TDH.SYS.RD (the CMR-holes patch where CMRs come from TDH.SYS.RD; a 2024 draft read them the same way). */
function* get_tdx_sys_info_cmr(k: Kernel, cpu: Cpu, info: Partial<TdxSysInfo>): Prog<KernelStatus> {
  const n = yield* readAll(k, cpu, [MD.NUM_CMRS]);
  if (n.ret !== 0) {
    return n.ret;
  }
  const num = Math.min(32, Number(n.vals[0] ?? 0n));
  // Every base first, then every size (the generated reader walks one field array at a time).
  // @see Kai Huang, "x86/virt/tdx: Reduce TDMR's reserved areas by using CMRs to find memory holes" v8.2 get_tdx_sys_info_cmr()
  const ids: bigint[] = [];
  for (let i = 0; i < num; i++) {
    ids.push(MD.CMR_BASE0 + BigInt(i));
  }
  for (let i = 0; i < num; i++) {
    ids.push(MD.CMR_SIZE0 + BigInt(i));
  }
  const v = yield* readAll(k, cpu, ids);
  if (v.ret !== 0) {
    return v.ret;
  }
  const cmrs: PhysRange[] = [];
  for (let i = 0; i < num; i++) {
    const base = Number(v.vals[i] ?? 0n);
    const size = Number(v.vals[num + i] ?? 0n);
    if (size !== 0) {
      cmrs.push({ start: base, end: base + size });
    }
  }
  info.cmrs = cmrs;
  return 0;
}

/** TDSYSINFO_STRUCT size and the CMR array geometry of TDH.SYS.INFO. */
const TDSYSINFO_STRUCT_SIZE = 1024;
const MAX_CMRS = 32;
const CMR_INFO_ARRAY_SIZE = MAX_CMRS * 16;

/**
 * The 2022 drafts' TDH.SYS.INFO: the module writes TDSYSINFO_STRUCT and the CMR array into two
 * kernel buffers; the kernel reads them back through KeyID 0. One PAMT entry size for all
 * page sizes.
 * @see linux (v8, Dec 2022) tdx_get_sysinfo()
 */
export function* tdx_get_sysinfo_legacy(k: Kernel, cpu: Cpu): Prog<{ ret: KernelStatus; info: TdxSysInfo | undefined }> {
  const sysinfoPa = k.pageAlloc.alloc_pages_exact(TDSYSINFO_STRUCT_SIZE);
  const cmrPa = k.pageAlloc.alloc_pages_exact(CMR_INFO_ARRAY_SIZE);
  if (sysinfoPa === undefined || cmrPa === undefined) {
    return { ret: -ENOMEM, info: undefined };
  }
  const { err } = yield* sc_retry_prerr(
    k,
    cpu,
    BigInt(TDH_SYS_INFO),
    { rcx: BigInt(sysinfoPa), rdx: BigInt(TDSYSINFO_STRUCT_SIZE), r8: BigInt(cmrPa), r9: BigInt(MAX_CMRS) },
    'seamcall_prerr_ret',
  );
  let info: TdxSysInfo | undefined;
  if (err === 0) {
    info = parseLegacy(k, cpu, sysinfoPa, cmrPa);
  }
  k.pageAlloc.free_contig_range(sysinfoPa, 1);
  k.pageAlloc.free_contig_range(cmrPa, 1);
  return { ret: err, info };
}

function parseLegacy(k: Kernel, cpu: Cpu, sysinfoPa: number, cmrPa: number): TdxSysInfo {
  const s = k.platform.load(cpu, sysinfoPa, TDSYSINFO_STRUCT_SIZE, 0);
  const c = k.platform.load(cpu, cmrPa, CMR_INFO_ARRAY_SIZE, 0);
  const sb = s.ok ? s.bytes : new Uint8Array(TDSYSINFO_STRUCT_SIZE);
  const cb = c.ok ? c.bytes : new Uint8Array(CMR_INFO_ARRAY_SIZE);
  const sv = new DataView(sb.buffer, sb.byteOffset, sb.byteLength);
  const cv = new DataView(cb.buffer, cb.byteOffset, cb.byteLength);
  const entry = sv.getUint16(36, true);
  const cmrs: PhysRange[] = [];
  for (let i = 0; i < MAX_CMRS; i++) {
    const base = Number(cv.getBigUint64(i * 16, true));
    const size = Number(cv.getBigUint64(i * 16 + 8, true));
    if (size !== 0) {
      cmrs.push({ start: base, end: base + size });
    }
  }
  return {
    tdmr: { max_tdmrs: sv.getUint16(32, true), max_reserved_per_tdmr: sv.getUint16(34, true), pamt_entry_size: [entry, entry, entry] },
    cmrs,
    legacy: {
      attributes: sv.getUint32(0, true),
      vendor_id: sv.getUint32(4, true),
      build_date: sv.getUint32(8, true),
      build_num: sv.getUint16(12, true),
      minor_version: sv.getUint16(14, true),
      major_version: sv.getUint16(16, true),
    },
  };
}
