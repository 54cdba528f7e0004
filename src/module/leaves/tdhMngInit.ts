/**
 * TDH.MNG.INIT (leaf 21), reduced: validate TD_PARAMS (read from host memory through the KeyID in
 * RDX) in the source's order and move the TD to op_state INITIALIZED. The TDCS (CPUID values,
 * MSR bitmaps, measurement) is not built.
 * @see TDX module ABI sections 3.19, 5.7
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { sharedHpa, tdrOperand } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import type { CpuidConfigurable } from '../cpuidConfigurable.js';
import { cpuidConfigCheckOrder, cpuidConfigurable, cpuidLeafSubleaf } from '../cpuidConfigurable.js';
import { ATTRIBUTES_FIXED0, ATTRIBUTES_FIXED1, CONFIG_FLAGS_FIXED0, CONFIG_FLAGS_FIXED1, IA32_ARCH_CAPABILITIES_CONFIG_MASK, XFAM_FIXED0, XFAM_FIXED1 } from '../metadata.js';
import {
  msrCode,
  OPERAND_ID,
  TDX_INCONSISTENT_MSR,
  TDX_INCORRECT_MSR_VALUE,
  TDX_LIMIT_CPUID_MAXVAL_SET,
  TDX_OP_STATE_INCORRECT,
  TDX_OPERAND_INVALID,
  TDX_SUCCESS,
  TDX_TD_FATAL,
  TDX_TD_KEYS_NOT_CONFIGURED,
  TDX_TDCS_NOT_ALLOCATED,
  withOperand,
} from '../status.js';
import type { TdState } from '../tdState.js';
import { MIN_NUM_TDCS_PAGES, OP_STATE, TD_LIFECYCLE } from '../tdState.js';
import { storeTdcsMgmtLine } from '../tdLayout.js';

/** Size and alignment of TD_PARAMS. */
export const TD_PARAMS_SIZE = 1024;
/**
 * TD_PARAMS reserved byte ranges, each checked at its own point of the source's order.
 * @see intel/tdx-module 1.5.01 include/tdx_api_defs.h td_params_t (TD_PARAMS_RESERVED0..3_SIZE)
 */
const RESERVED_0: readonly [number, number] = [20, 24];
const RESERVED_1: readonly [number, number] = [42, 80];
const RESERVED_2: readonly [number, number] = [232, 256];
const CPUID_CONFIG_OFFSET = 256;
/**
 * RESERVED_3 follows the release's CPUID_CONFIG entries (TD_PARAMS_RESERVED3_SIZE = 768 - 16 *
 * MAX_NUM_CPUID_CONFIG): bytes 448-1023 in 1.5.01, 544-1023 with 18 entries, 704-1023 with 28.
 * @see intel/tdx-module 1.5.01 include/tdx_api_defs.h (the same define at the later commits is assumed)
 */
const reserved3 = (n: number): readonly [number, number] => [CPUID_CONFIG_OFFSET + 16 * n, TD_PARAMS_SIZE];

/** ATTRIBUTES bits (td_param_attributes_t). */
const ATTR_DEBUG = 1n << 0n;
const ATTR_MIGRATABLE = 1n << 29n;
const ATTR_PERFMON = 1n << 63n;
/** IA32_ARCH_CAPABILITIES.TSX_CTRL (bit 7). */
const ARCH_CAP_TSX_CTRL = 1n << 7n;
const MSR_IA32_ARCH_CAPABILITIES = 0x10a;

const fits = (v: bigint, fixed0: bigint, fixed1: bigint): boolean => (v & ~fixed0) === 0n && (v & fixed1) === fixed1;
const bit = (v: bigint, n: number): boolean => ((v >> BigInt(n)) & 1n) === 1n;
const zero = (p: Uint8Array, [a, b]: readonly [number, number]): boolean => p.subarray(a, b).every((x) => x === 0);

/**
 * verify_td_attributes(): FIXED0/FIXED1, then a migratable TD may be neither a debug TD nor use
 * PERFMON. @see intel/tdx-module 1.5.01 src/common/helpers/helpers.c verify_td_attributes()
 */
function attributesOk(a: bigint): boolean {
  if (!fits(a, ATTRIBUTES_FIXED0, ATTRIBUTES_FIXED1)) {
    return false;
  }
  return (a & ATTR_MIGRATABLE) === 0n || (a & (ATTR_DEBUG | ATTR_PERFMON)) === 0n;
}

/**
 * check_xfam(): allowed bits, FIXED1, AVX-512 (kmask 5 needs AVX 2 and equals ZMM_Hi256 6 and
 * Hi16_ZMM 7), CET (U 11 = S 12), AMX (XTILECFG 17 = XTILEDATA 18).
 * @see intel/tdx-module 1.5.01 src/common/helpers/helpers.c check_xfam()
 */
function xfamOk(x: bigint): boolean {
  if ((x & ~XFAM_FIXED0) !== 0n || (x & XFAM_FIXED1) !== XFAM_FIXED1) {
    return false;
  }
  const kmask = bit(x, 5);
  return !(kmask && !bit(x, 2)) && kmask === bit(x, 6) && kmask === bit(x, 7) && bit(x, 11) === bit(x, 12) && bit(x, 17) === bit(x, 18);
}

/**
 * read_and_set_cpuid_configurations(): the loop walks cpuid_lookup[] and meets each configurable
 * leaf of the release's table (cpuidConfigurable.ts) at its lookup index, so the leaves are checked
 * in lookup order (1.5.01: the config index order; 1.5.05 on: leaf 0x23 after leaf 0x1F's
 * subleaves, 2.0.04 on also leaf 0x19 before them and leaf 0x18's subleaves last). Per leaf:
 * every bit set must be CONFIG_DIRECT or ALLOW_DIRECT (RCX = leaf | subleaf << 32); leaf 1's
 * virtual FMS (EAX, 0 = native) must be the native FMS for a non-migratable TD; leaf 7.0's HLE and
 * RTM must agree (RCX not set in 1.5.01, RCX naming leaf 7.0 from 1.5.05 on), and virtual TSX
 * needs IA32_ARCH_CAPABILITIES.TSX_CTRL. The platform has no CPUID model: every ALLOW_DIRECT bit
 * is taken as natively supported, and a migratable TD's FMS is checked only against the platform's
 * own family/model (the allowed-FMS table is not modelled). Not modelled: 1.5.05's check_cpuid_1f()
 * of the leaf 0x1F topology after the loop (the model has no native topology to derive it from).
 * @see intel/tdx-module 1.5.01 (72d8cff), 1.5.05 (e98d9639) and 2.0.08 (1666adc4)
 *   src/vmm_dispatcher/api_calls/tdh_mng_init.c
 */
function checkCpuidConfig(ctx: LeafCtx, dv: DataView, attributes: bigint): U64 {
  const inv = withOperand(TDX_OPERAND_INVALID, OPERAND_ID.CPUID_CONFIG);
  const fms = ctx.m.sysinfo.fms >>> 0;
  const table = cpuidConfigurable(ctx.profile);
  for (const i of cpuidConfigCheckOrder(table)) {
    const l = table[i] as CpuidConfigurable;
    const regs = [0, 1, 2, 3].map((j) => dv.getUint32(CPUID_CONFIG_OFFSET + 16 * i + 4 * j, true));
    if (regs.some((v, j) => (v & ~((l.configDirect[j] as number) | (l.allowDirect[j] as number))) >>> 0 !== 0)) {
      ctx.regs.rcx = cpuidLeafSubleaf(table, i) as U64;
      return inv;
    }
    if (l.leaf === 1) {
      // EAX is FIXED0_OR_DYNAMIC outside CONFIG_DIRECT (0x0FFF3FFF): the virtual FMS is the input.
      const eax = (regs[0] as number) & l.configDirect[0];
      const virt = eax === 0 ? fms : eax;
      const sameFamilyModel = (virt & ~0xf) >>> 0 === (fms & ~0xf) >>> 0;
      const bad = (attributes & ATTR_MIGRATABLE) !== 0n ? sameFamilyModel && (virt & 0xf) > (fms & 0xf) : virt !== fms;
      if (bad) {
        ctx.regs.rcx = cpuidLeafSubleaf(table, i) as U64;
        return inv;
      }
    }
    if (l.leaf === 7 && l.subleaf === 0) {
      const ebx = regs[1] as number;
      const hle = ((ebx >>> 4) & 1) === 1;
      const rtm = ((ebx >>> 11) & 1) === 1;
      if (hle !== rtm) {
        if (ctx.profile.cpuidConfig.value !== '1.5.01') {
          ctx.regs.rcx = cpuidLeafSubleaf(table, i) as U64;
        }
        return inv;
      }
      if (hle && ((ctx.m.msrSnapshot.get(MSR_IA32_ARCH_CAPABILITIES) ?? 0n) & ARCH_CAP_TSX_CTRL) === 0n) {
        return msrCode(TDX_INCORRECT_MSR_VALUE, MSR_IA32_ARCH_CAPABILITIES);
      }
    }
  }
  return TDX_SUCCESS;
}

/**
 * Validate TD_PARAMS in the source's order (read_and_set_td_configurations(), then
 * read_and_set_cpuid_configurations(), then init_virt_ia32_arch_capabilities()); on success
 * record it in `td`. The reserved ranges are checked at four separate points.
 * @see intel/tdx-module 1.5.01 src/vmm_dispatcher/api_calls/tdh_mng_init.c
 */
function checkTdParams(ctx: LeafCtx, td: TdState, p: Uint8Array): U64 {
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const inv = (op: number): U64 => withOperand(TDX_OPERAND_INVALID, op);
  const attributes = dv.getBigUint64(0, true);
  const xfam = dv.getBigUint64(8, true);
  const maxVcpus = dv.getUint16(16, true);
  const numL2 = dv.getUint8(18);
  const msrCtls = dv.getUint8(19);
  const eptp = dv.getBigUint64(24, true);
  const flags = dv.getBigUint64(32, true);
  const tsc = dv.getUint16(40, true);
  const archCap = dv.getBigUint64(224, true);
  if (!attributesOk(attributes)) {
    return inv(OPERAND_ID.ATTRIBUTES);
  }
  if (!xfamOk(xfam)) {
    return inv(OPERAND_ID.XFAM);
  }
  const maxPerTd = ctx.metaValue('MAX_VCPUS_PER_TD');
  if (maxVcpus === 0 || (maxPerTd > 0 && maxVcpus > maxPerTd)) {
    return inv(OPERAND_ID.MAX_VCPUS);
  }
  if (numL2 > 3) {
    return inv(OPERAND_ID.NUM_L2_VMS);
  }
  if (td.numTdcx < MIN_NUM_TDCS_PAGES + numL2) {
    return TDX_TDCS_NOT_ALLOCATED;
  }
  if (!zero(p, RESERVED_0)) {
    return inv(OPERAND_ID.RDX);
  }
  if (!fits(flags, CONFIG_FLAGS_FIXED0, CONFIG_FLAGS_FIXED1)) {
    return inv(OPERAND_ID.EXEC_CONTROLS);
  }
  const pwl = Number((eptp >> 3n) & 7n);
  const gpaw = (flags & 1n) === 1n;
  if ((eptp & 7n) !== 6n || eptp >> 6n !== 0n || (pwl !== 3 && pwl !== 4) || (gpaw && pwl !== 4)) {
    return inv(OPERAND_ID.EPTP_CONTROLS);
  }
  if (tsc < 4 || tsc > 400) {
    return inv(OPERAND_ID.TSC_FREQUENCY);
  }
  if ((ctx.env.rdmsr(0x3b) ?? 0n) !== (ctx.m.msrSnapshot.get(0x3b) ?? 0n)) {
    return msrCode(TDX_INCONSISTENT_MSR, 0x3b);
  }
  if (!zero(p, RESERVED_1) || (msrCtls & 0xfe) !== 0 || !zero(p, RESERVED_2)) {
    return inv(OPERAND_ID.RDX);
  }
  const c = checkCpuidConfig(ctx, dv, attributes);
  if (c !== TDX_SUCCESS) {
    return c;
  }
  if (!zero(p, reserved3(cpuidConfigurable(ctx.profile).length))) {
    return inv(OPERAND_ID.RDX);
  }
  // init_virt_ia32_arch_capabilities(): a non-zero value needs MSR_CONFIG_CTLS.IA32_ARCH_CAP, and
  // only SSB_NO, RRSBA, BHI_NO and PBRSB_NO may be set. @see intel/tdx-module 1.5.01 virt_msr_helpers.c
  if (((msrCtls & 1) === 0 && archCap !== 0n) || (archCap & ~IA32_ARCH_CAPABILITIES_CONFIG_MASK) !== 0n) {
    return inv(OPERAND_ID.IA32_ARCH_CAPABILITIES_CONFIG);
  }
  td.gpaw = gpaw;
  td.septRootLevel = pwl;
  td.maxVcpus = maxVcpus;
  td.numL2Vms = numL2;
  Object.assign(td, { attributes, xfam, eptp, tscFrequency: tsc }); // for TDH.MNG.RD
  return TDX_SUCCESS;
}

/** TDH.MNG.INIT. */
export function* tdhMngInit(ctx: LeafCtx): Prog<U64> {
  const r = ctx.regs;
  const tdrIn = r.rcx;
  r.rcx = 0n as U64;
  if ((((ctx.env.rdmsr(0x1a0) ?? 0n) >> 22n) & 1n) === 1n) {
    return TDX_LIMIT_CPUID_MAXVAL_SET;
  }
  const t = tdrOperand(ctx, tdrIn, OPERAND_ID.RCX, 'exclusive');
  if (t.td === undefined) {
    return t.status;
  }
  const td = t.td;
  if (td.fatal) {
    return TDX_TD_FATAL;
  }
  if (td.lifecycle !== TD_LIFECYCLE.TD_KEYS_CONFIGURED) {
    return TDX_TD_KEYS_NOT_CONFIGURED;
  }
  if (!td.tdcsAllocated) {
    return TDX_TDCS_NOT_ALLOCATED;
  }
  if (td.opState !== OP_STATE.UNINITIALIZED) {
    return TDX_OP_STATE_INCORRECT;
  }
  const at = sharedHpa(ctx.m, r.rdx, TD_PARAMS_SIZE, TD_PARAMS_SIZE);
  if (at === undefined) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RDX);
  }
  const params = ctx.env.read(at.pa, TD_PARAMS_SIZE, at.hkid);
  if (!params.ok) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RDX);
  }
  yield YIELD;
  const s = checkTdParams(ctx, td, params.bytes);
  if (s !== TDX_SUCCESS) {
    return s;
  }
  td.opState = OP_STATE.INITIALIZED;
  // TDCS fields are written with ordinary stores through the TD's KeyID.
  storeTdcsMgmtLine(ctx.env, td);
  return TDX_SUCCESS;
}
