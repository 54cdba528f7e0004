/**
 * TDH.MNG.INIT (leaf 21), reduced: validate TD_PARAMS (read from host memory through the KeyID in
 * RDX) and move the TD to op_state INITIALIZED. CPUID configuration is accepted as given (the
 * model reports every CPUID_CONFIG bit as configurable).
 * @see TDX module ABI sections 3.19, 5.7
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { sharedHpa, tdrOperand } from '../hpaChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { ATTRIBUTES_FIXED0, ATTRIBUTES_FIXED1, CONFIG_FLAGS_FIXED0, CONFIG_FLAGS_FIXED1, CPUID_CONFIG_LEAVES, IA32_ARCH_CAPABILITIES_CONFIG_MASK, XFAM_FIXED0, XFAM_FIXED1 } from '../metadata.js';
import {
  msrCode,
  OPERAND_ID,
  TDX_INCONSISTENT_MSR,
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

/** Size and alignment of TD_PARAMS. */
export const TD_PARAMS_SIZE = 1024;
/** Byte ranges of TD_PARAMS that must be zero. */
const RESERVED: readonly (readonly [number, number])[] = [
  [20, 24],
  [42, 80],
  [232, 256],
  [256 + 16 * CPUID_CONFIG_LEAVES.length, TD_PARAMS_SIZE],
];

const fits = (v: bigint, fixed0: bigint, fixed1: bigint): boolean => (v & ~fixed0) === 0n && (v & fixed1) === fixed1;

/** Validate TD_PARAMS content in the module's order; on success record it in `td`. */
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
  if (!fits(attributes, ATTRIBUTES_FIXED0, ATTRIBUTES_FIXED1)) {
    return inv(OPERAND_ID.ATTRIBUTES);
  }
  if (!fits(xfam, XFAM_FIXED0, XFAM_FIXED1)) {
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
  if ((msrCtls & 0xfe) !== 0 || RESERVED.some(([a, b]) => p.subarray(a, b).some((x) => x !== 0))) {
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
  if ((msrCtls & 1) === 1 && (archCap & ~IA32_ARCH_CAPABILITIES_CONFIG_MASK) !== 0n) {
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
  ctx.env.write(td.tdcx[0] ?? td.tdrPa, new Uint8Array(64), td.hkid, 'tdx-module');
  return TDX_SUCCESS;
}
