/**
 * The SEAMCALL wrappers: turn the instruction's outcome into a 64-bit status (Linux synthesises
 * codes for #UD, #GP and VMfailInvalid), retry on TDX_RND_NO_ENTROPY, map statuses to errnos
 * and print the failure lines.
 *
 * Before every attempt (failing ones included) the calling CPU's cache_state_incoherent flag is
 * set, in profiles that have it (v6.18+): a SEAMCALL may leave dirty cache lines tagged with a
 * private KeyID, and kexec must flush them. The flag is written before the instruction so that
 * an NMI arriving in the middle of the call already sees it (pairs with stop_this_cpu() and
 * machine_kexec() reading it).
 * @see linux arch/x86/virt/vmx/tdx/seamcall_internal.h, tdx.c sc_retry_prerr() (v6.18)
 */
import { hex16 } from '../../base/u64.js';
import type { U64 } from '../../base/u64.js';
import type { Cpu } from '../../platform/Cpu.js';
import { call } from '../../platform/Exec.js';
import type { Prog } from '../../platform/Exec.js';
import type { SeamRegs } from '../../platform/Seam.js';
import { EACCES, EFAULT, EINVAL, EIO, ENODEV, EOPNOTSUPP } from '../errno.js';
import type { KernelStatus } from '../errno.js';
import type { Kernel } from '../Kernel.js';
import { RDRAND_RETRY_LOOPS, TDX_RND_NO_ENTROPY, TDX_SEAMCALL_GP, TDX_SEAMCALL_UD, TDX_SEAMCALL_VMFAILINVALID } from './defs.js';

/** Input registers of a SEAMCALL (RAX is the leaf). */
export type SeamArgs = Partial<Record<'rcx' | 'rdx' | 'r8' | 'r9' | 'r10' | 'r11' | 'r12' | 'r13' | 'r14' | 'r15', bigint>>;

/** Status and output registers of one SEAMCALL. */
export interface SeamResult {
  readonly ret: U64;
  readonly out: SeamRegs;
}

/**
 * Execute SEAMCALL once on `cpu`, marking the CPU's caches as possibly incoherent first.
 * @see linux __seamcall_dirty_cache()
 */
export function* seamcall(k: Kernel, cpu: Cpu, fn: bigint, args: SeamArgs = {}): Prog<SeamResult> {
  if (k.profile.cacheStateFlag) {
    k.cache_state_incoherent.set(cpu.id, true);
  }
  // A monomorphic literal: this runs once per 4 MiB of TDMR during init (hot path).
  const regs: SeamRegs = {
    rax: fn as U64,
    rcx: (args.rcx ?? 0n) as U64,
    rdx: (args.rdx ?? 0n) as U64,
    r8: (args.r8 ?? 0n) as U64,
    r9: (args.r9 ?? 0n) as U64,
    r10: (args.r10 ?? 0n) as U64,
    r11: (args.r11 ?? 0n) as U64,
    r12: (args.r12 ?? 0n) as U64,
    r13: (args.r13 ?? 0n) as U64,
    r14: (args.r14 ?? 0n) as U64,
    r15: (args.r15 ?? 0n) as U64,
  };
  // The instruction runs as its own frame (call()): its steps do not resume the whole
  // kernel stack above (14 generators deep during TDH.SYS.TDMR.INIT).
  const o = yield* call(k.platform.seamcall(cpu, regs));
  switch (o.kind) {
    case 'ok':
      return { ret: o.regs.rax, out: o.regs };
    case 'UD':
      return { ret: TDX_SEAMCALL_UD as U64, out: regs };
    case 'GP':
      return { ret: TDX_SEAMCALL_GP as U64, out: regs };
    case 'VMFAILINVALID':
      return { ret: TDX_SEAMCALL_VMFAILINVALID as U64, out: regs };
  }
}

/**
 * `n` calls of `seamcall()` with leaf `fn` on `cpu`, the k-th with RCX = `rcx + k * rcxStride`
 * and no other input, in one go when the platform can show that they all succeed and nothing
 * could tell them from `n` calls (Platform.seamcallRepeat: no interleaving, no fault injection,
 * the module vouches for each). The CPU's cache_state_incoherent flag is set as the first of
 * them would set it. A model shortcut, not a Linux function: callers loop over single calls
 * when it returns false.
 * @returns true if all `n` calls were made and returned TDX_SUCCESS; false if none was made
 */
export function seamcall_repeat(k: Kernel, cpu: Cpu, fn: bigint, rcx: bigint, n: number, rcxStride: bigint): boolean {
  const regs = repeatRegs(fn, rcx);
  if (k.platform.seamcallRepeat(cpu, regs, n, rcxStride) !== n) {
    return false;
  }
  if (k.profile.cacheStateFlag) {
    k.cache_state_incoherent.set(cpu.id, true);
  }
  return true;
}

/**
 * Calls of `seamcall()` with leaf `fn` and RCX = `rcx` (no other input) on `cpu`, repeated until
 * one returns output registers that satisfy `until`, in one go when the platform can show that
 * they all succeed and nothing could tell them from single calls (as `seamcall_repeat()`); the
 * kernel's `do { seamcall } while (...)` loops with nothing between the calls.
 * A model shortcut, not a Linux function: callers loop over single calls when it returns
 * undefined.
 * @returns the last call's result (TDX_SUCCESS), or undefined if no call was made
 */
export function seamcall_repeat_until(k: Kernel, cpu: Cpu, fn: bigint, rcx: bigint, until: (out: SeamRegs) => boolean): SeamResult | undefined {
  const regs = repeatRegs(fn, rcx);
  if (k.platform.seamcallRepeat(cpu, regs, Number.MAX_SAFE_INTEGER, 0n, until) === 0) {
    return undefined;
  }
  if (k.profile.cacheStateFlag) {
    k.cache_state_incoherent.set(cpu.id, true);
  }
  return { ret: regs.rax, out: regs };
}

function repeatRegs(fn: bigint, rcx: bigint): SeamRegs {
  return { rax: fn as U64, rcx: rcx as U64, rdx: 0n as U64, r8: 0n as U64, r9: 0n as U64, r10: 0n as U64, r11: 0n as U64, r12: 0n as U64, r13: 0n as U64, r14: 0n as U64, r15: 0n as U64 };
}

/**
 * SEAMCALL, retried while the module reports no entropy (at most RDRAND_RETRY_LOOPS calls in
 * all). Profiles before v9 of the host series did not retry.
 * @see linux sc_retry()
 */
export function* sc_retry(k: Kernel, cpu: Cpu, fn: bigint, args: SeamArgs = {}): Prog<SeamResult> {
  let retry = k.profile.entropyRetry ? RDRAND_RETRY_LOOPS : 1;
  let r: SeamResult;
  do {
    r = yield* seamcall(k, cpu, fn, args);
  } while (r.ret === TDX_RND_NO_ENTROPY && --retry > 0);
  return r;
}

/** Which failure print a caller uses: the status only, or also the output registers. */
export type PrErr = 'seamcall_prerr' | 'seamcall_prerr_ret';

/**
 * sc_retry plus the errno mapping and failure print. Only the "anything else" case prints.
 * @returns the errno and the raw result
 * @see linux sc_retry_prerr(), seamcall_err(), seamcall_err_ret()
 */
export function* sc_retry_prerr(k: Kernel, cpu: Cpu, fn: bigint, args: SeamArgs, prerr: PrErr): Prog<{ err: KernelStatus; r: SeamResult }> {
  const r = yield* sc_retry(k, cpu, fn, args);
  switch (k.profile.seamcallErrors) {
    case 'merged': {
      const err = seamcall_errno(r.ret);
      if (err === -EIO) {
        k.profile.strings.seamcallErr(k, cpu, fn, r, prerr);
      }
      return { err, r };
    }
    case 'v8':
      return { err: seamcall_v8(k, cpu, fn, r, prerr), r };
    case 'rfc':
      return { err: seamcall_rfc(k, cpu, fn, r, prerr), r };
  }
}

/**
 * pr_err_once()/pr_info_once(): print `text` the first time the call site `site` is reached
 * in this boot (a static bool per call site in Linux; per Kernel here, so a kexec'd kernel
 * prints again).
 * @see linux include/linux/printk.h printk_once()
 */
export function pr_err_once(k: Kernel, site: string, text: string): void {
  pr_once(k, site, 'err', text);
}

/** pr_info_once()/pr_err_once() at `level`. @see pr_err_once */
export function pr_once(k: Kernel, site: string, level: 'err' | 'info', text: string): void {
  const done = k.tdx.printedOnce;
  if (done.has(site)) {
    return;
  }
  done.add(site);
  if (level === 'err') {
    k.log.err(text);
  } else {
    k.log.info(text);
  }
}

/**
 * v8's status → errno mapping, with a pr_err_once for every failure.
 * @see linux (TDX host v8, 9 Dec 2022) 05/16 seamcall()
 */
function seamcall_v8(k: Kernel, cpu: Cpu, fn: bigint, r: SeamResult, prerr: PrErr): KernelStatus {
  switch (r.ret) {
    case 0n:
      return 0;
    case TDX_SEAMCALL_GP:
      pr_err_once(k, 'seamcall:gp', '[firmware bug]: TDX is not enabled by BIOS.');
      return -ENODEV;
    case TDX_SEAMCALL_VMFAILINVALID:
      pr_err_once(k, 'seamcall:vmfailinvalid', 'TDX module is not loaded.');
      return -ENODEV;
    case TDX_SEAMCALL_UD:
      pr_err_once(k, 'seamcall:ud', 'CPU is not in VMX operation.');
      return -EINVAL;
    default:
      k.profile.strings.seamcallErr(k, cpu, fn, r, prerr);
      return -EIO;
  }
}

/**
 * The RFC's mapping: VMfailInvalid is -ENODEV (silently, the caller prints), an error status
 * (bit 63 set) is printed and -EFAULT, anything else (warnings without bit 63) is success.
 * @see linux (RFC-era tdx.c) seamcall(), SEAMCALL_LEAF_ERROR()
 */
function seamcall_rfc(k: Kernel, cpu: Cpu, fn: bigint, r: SeamResult, prerr: PrErr): KernelStatus {
  if (r.ret === TDX_SEAMCALL_VMFAILINVALID) {
    return -ENODEV;
  }
  if ((r.ret & (1n << 63n)) !== 0n) {
    k.profile.strings.seamcallErr(k, cpu, fn, r, prerr);
    return -EFAULT;
  }
  return 0;
}

/**
 * The one status → errno table of the host init path.
 * @see linux sc_retry_prerr()
 */
export function seamcall_errno(ret: bigint): KernelStatus {
  switch (ret) {
    case 0n:
      return 0;
    case TDX_SEAMCALL_VMFAILINVALID:
      return -ENODEV;
    case TDX_SEAMCALL_GP:
      return -EOPNOTSUPP;
    case TDX_SEAMCALL_UD:
      return -EACCES;
    default:
      return -EIO;
  }
}

/** The v6.8+ failure lines. @see linux seamcall_err(), seamcall_err_ret() */
export function seamcallErrLines(fn: bigint, r: SeamResult, prerr: PrErr): string[] {
  const lines = [`SEAMCALL (${hex16(fn)}) failed: ${hex16(r.ret)}`];
  if (prerr === 'seamcall_prerr_ret') {
    const o = r.out;
    lines.push(`RCX ${hex16(o.rcx)} RDX ${hex16(o.rdx)} R08 ${hex16(o.r8)}`);
    lines.push(`R09 ${hex16(o.r9)} R10 ${hex16(o.r10)} R11 ${hex16(o.r11)}`);
  }
  return lines;
}
