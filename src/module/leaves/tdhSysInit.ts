/**
 * TDH.SYS.INIT (leaf 33): global module initialization, once, from any LP.
 * @see TDX module ABI section 3.1, 6.0
 */
import { shareInSnapshots } from '../../base/clone.js';
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import { cpuidLookup } from '../cpuidLookup.js';
import { FAULT_RDRAND } from '../faultSites.js';
import { SYS_STATE } from '../globalState.js';
import { platformCheck } from '../platformChecks.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { OPERAND_ID, TDX_OPERAND_INVALID, TDX_RND_NO_ENTROPY, TDX_SUCCESS, TDX_SYS_BUSY, TDX_SYS_INCOMPATIBLE_SIGSTRUCT, TDX_SYS_INIT_NOT_PENDING, withOperand } from '../status.js';

/** MSRs whose values LP.INIT compares against the ones latched here. */
export const LATCHED_MSRS = [0xcf, 0x10a, 0xbc, 0xbd, 0x1a0, 0x3b, 0xfe, 0x1f2, 0x1f3, 0x480, 0x345, 0x981, 0x982, 0x87, 0x98, 0x99] as const;

/** TDH.SYS.INIT. */
export function* tdhSysInit(ctx: LeafCtx): Prog<U64> {
  const { m, regs: r } = ctx;
  const attributes = r.rcx;
  // RCX..R10 are zeroed at entry, so they read 0 on every error path too.
  r.rcx = r.rdx = r.r8 = r.r9 = r.r10 = 0n as U64;
  if (!ctx.hold(m.globalLock, 'exclusive')) {
    return TDX_SYS_BUSY;
  }
  yield YIELD;
  // The reserved attributes are checked before the state (vector 4).
  if (attributes !== 0n) {
    return withOperand(TDX_OPERAND_INVALID, OPERAND_ID.RCX);
  }
  if (m.sysState !== SYS_STATE.SYSINIT_PENDING) {
    return TDX_SYS_INIT_NOT_PENDING;
  }
  const p = platformCheck(ctx.env, m.sysinfo.cmrs, ctx.profile.sysInitMsrChecks.value);
  if (p.status !== TDX_SUCCESS) {
    return p.status;
  }
  // check_module_build_time_defs(): SEAMLDR's NUM_HANDOFF_PAGES must leave room for the handoff
  // data (TDX_MIN_HANDOFF_PAGES). The model checks it where the profile knows the minimum; the
  // value is the release's SIGSTRUCT one unless tdxModule.overrides names another.
  // @see intel/tdx-module 1.5.01 (72d8cff) tdh_sys_init.c check_module_build_time_defs()
  const minHandoffPages = ctx.profile.minHandoffPages?.value;
  if (minHandoffPages !== undefined && ctx.metaValue('NUM_HANDOFF_PAGES') + 1 < minHandoffPages) {
    return TDX_SYS_INCOMPATIBLE_SIGSTRUCT;
  }
  if (ctx.env.injectFault(FAULT_RDRAND)) {
    return TDX_RND_NO_ENTROPY;
  }
  // Latch what later leaves compare against and compute from.
  m.numLps = m.sysinfo.totNumLps;
  m.numPkgs = m.sysinfo.totNumSockets;
  m.numInitLps = 0;
  m.sysAttributes = attributes;
  m.keyIdBits = p.keyIdBits;
  m.hkidShift = 52 - p.keyIdBits;
  m.hkidUnit = 2 ** m.hkidShift;
  m.privateHkidMin = p.mktmeKeys + 1;
  m.privateHkidMax = p.mktmeKeys + p.tdxKeys;
  m.seamrrBase = p.seamrrBase;
  m.seamrrSize = p.seamrrSize;
  m.wbinvdSubBlocks = p.wbinvdSubBlocks;
  const latched = new Map<number, bigint>();
  for (const msr of LATCHED_MSRS) {
    const v = ctx.env.rdmsr(msr);
    if (v !== undefined) {
      latched.set(msr, v);
    }
  }
  // Replaced, never updated in place: snapshots share it.
  m.msrSnapshot = shareInSnapshots(latched);
  const cpuid = new Map<number, readonly [number, number, number, number]>();
  cpuidLookup(ctx.profile).forEach(([leaf, subleaf], i) => {
    const x = ctx.env.cpuidXor(leaf, subleaf);
    if (x !== undefined) {
      cpuid.set(i, x);
    }
  });
  m.cpuidSnapshot = shareInSnapshots(cpuid);
  m.sysState = SYS_STATE.SYSINIT_DONE;
  return TDX_SUCCESS;
}
