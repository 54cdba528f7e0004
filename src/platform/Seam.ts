/**
 * The SEAMCALL instruction and the SeamHandler interface the TDX module implements. The
 * platform checks what the CPU checks (VMX operation, SEAM enabled, module loaded) and then
 * hands registers and SEAM's view of memory to the handler. The kernel and the module meet only
 * here, as on hardware.
 * @see TDX module ABI section 1; linux arch/x86/virt/vmx/tdx/seamcall_internal.h
 */
import type { CpuId } from '../base/ids.js';
import type { U64 } from '../base/u64.js';
import type { Prog, Step } from './Exec.js';

/** The general-purpose registers a SEAMCALL reads and writes. */
export interface SeamRegs {
  rax: U64;
  rcx: U64;
  rdx: U64;
  r8: U64;
  r9: U64;
  r10: U64;
  r11: U64;
  r12: U64;
  r13: U64;
  r14: U64;
  r15: U64;
}

/** Register names, in the order Linux dumps them. */
export const SEAM_REG_NAMES = ['rax', 'rcx', 'rdx', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;

/** All-zero registers with the given overrides. */
export function seamRegs(init: Partial<Record<keyof SeamRegs, bigint>> = {}): SeamRegs {
  const r = {} as SeamRegs;
  for (const n of SEAM_REG_NAMES) {
    r[n] = (init[n] ?? 0n) as U64;
  }
  return r;
}

/**
 * The outcome of executing SEAMCALL. Instruction-level failures are distinct from module
 * statuses: Linux synthesises TDX_SEAMCALL_UD/GP/VMFAILINVALID for them.
 */
export type SeamOutcome =
  | { readonly kind: 'ok'; readonly regs: SeamRegs }
  | { readonly kind: 'UD' }
  | { readonly kind: 'GP' }
  | { readonly kind: 'VMFAILINVALID' };

/** Result of a SEAM-mode memory read. */
export type SeamRead = { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly poisonPa: number };

/**
 * What the module sees of the machine while running on one LP. Memory effects land in this LP's
 * cache, as they would on hardware.
 */
export interface SeamEnv {
  /** The LP the SEAMCALL runs on. */
  readonly lp: CpuId;
  /** RDMSR on this LP (undefined: the MSR does not exist). */
  rdmsr(msr: number): bigint | undefined;
  /**
   * CPUID(leaf, subleaf) on this LP as far as the model knows it: the bits of [EAX, EBX, ECX, EDX]
   * that read differently here than on the platform's other CPUs (undefined: none). `subleaf`
   * 0xFFFFFFFF: a leaf without subleaves.
   */
  cpuidXor(leaf: number, subleaf: number): readonly [number, number, number, number] | undefined;
  /** Read through `keyId` (module accesses are cached loads). */
  read(pa: number, len: number, keyId: number): SeamRead;
  /** Cached store through `keyId`. */
  write(pa: number, data: Uint8Array, keyId: number, writer: string): void;
  /**
   * Cached bulk store of a fill pattern (e.g. a TD touching its pages). `shareVersion`: the store
   * takes the version of the direct writes around it (Platform.sharedVersion), for module code
   * that interleaves MOVDIR64B runs with small stores.
   */
  fill(pa: number, len: number, fillByte: number, keyId: number, writer: string, shareVersion?: boolean): void;
  /** MOVDIR64B over [pa, pa+len) through `keyId` with a fill byte or explicit bytes. */
  movdir64b(pa: number, len: number, keyId: number, content: number | Uint8Array, writer: string): void;
  /** CLFLUSH(OPT) over a range through `keyId` (write back + invalidate, all CPUs). */
  clflush(pa: number, len: number, keyId: number): void;
  /** True if some CPU's cache holds a line of [pa, pa+len) under `keyId` (clean or dirty). */
  cachedLines(pa: number, len: number, keyId: number): boolean;
  /**
   * CLFLUSH over a range no cache holds a line of under `keyId` (`cachedLines()` false since):
   * nothing to write back or drop, so only what `clflush()` leaves on the trace.
   */
  clflushUncached(pa: number, len: number, keyId: number): void;
  /** WBNOINVD of one sub-block of this package's caches (TDH.PHYMEM.CACHE.WB). */
  wbnoinvdSubBlock(index: number, count: number): void;
  /** True when an external interrupt is pending on this LP. */
  interruptPending(): boolean;
  /** Fault injection: true if the named site should fail now (consumes one injected fault). */
  injectFault(site: string): boolean;
  /** Random 64-bit value from RDRAND/RDSEED (seeded). */
  random64(): bigint;
}

/** The interface the TDX module implements. */
export interface SeamHandler {
  /**
   * Handle one SEAMCALL on `env.lp`. The returned program may yield (locks held across a yield
   * are what make TDX_SYS_BUSY observable) and returns the output registers, RAX = status.
   */
  seamcall(regs: SeamRegs, env: SeamEnv): Prog<SeamRegs>;
  /**
   * Optional: can the module take `n` calls of the leaf in `regs`, the k-th with RCX =
   * `regs.rcx + k * rcxStride`, issued back to back from `env.lp`, in one go? Only when each of
   * them would succeed (TDX_SUCCESS, no register written but RAX and those `SeamRepeat.out`
   * names) whatever the others did, and nothing but the returned `SeamRepeat` describes what each
   * call does. It may vouch for fewer than `n` (`SeamRepeat.count`). Undefined: issue them one
   * by one. Must not change any state (it is a question).
   */
  repeat?(regs: SeamRegs, n: number, rcxStride: bigint, env: SeamEnv): SeamRepeat | undefined;
}

/**
 * What each of a run of identical SEAMCALLs does in the module (SeamHandler.repeat): the steps
 * its handler yields, in order, and its effects after the last of them.
 */
export interface SeamRepeat {
  /** The tick and yield steps one call's handler yields (after the instruction's own tick). */
  readonly steps: readonly Step[];
  /** The effects of the k-th call (0-based), applied where its handler returns; must not yield. */
  apply(k: number): void;
  /** How many of the `n` calls, from the first, are vouched for (default: all `n`). */
  readonly count?: number;
  /** Write the output registers but RAX that the k-th call returns (default: none). */
  out?(k: number, regs: SeamRegs): void;
}
