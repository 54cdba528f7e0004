/**
 * Wiring: a Platform, the TDX module attached as its SEAM handler, and the Linux kernel that
 * runs on it. The Machine hands out programs (`Prog`) for the things a scenario does — boot,
 * load KVM with TDX, create a TD, offline a CPU, hot-add memory — and the caller (the
 * scenario runner, or a test) schedules them on a CPU. Machine is below explore/, so it never
 * runs a scheduler itself.
 *
 * kexec and kdump are a *new* Kernel on the *same* platform and module: `newKernel()` builds
 * one (optionally with a restricted memblock for a crash kernel) and `bootKernel()` boots it.
 * The old Kernel object is simply dropped; the module keeps its state, as in SEAMRR.
 */
import { assert } from '../base/assert.js';
import { PAGE_SIZE } from '../base/ids.js';
import type { Tracer } from '../base/trace.js';
import type { Prog } from '../platform/Exec.js';
import { Platform } from '../platform/Platform.js';
import type { FaultInjector } from '../platform/Platform.js';
import type { SeamHandler } from '../platform/Seam.js';
import type { PlatformSpec } from '../platform/spec.js';
import type { KernelStatus } from '../kernel/errno.js';
import { DEFAULT_RESERVED_PFNS, Kernel } from '../kernel/Kernel.js';
import { kvm_intel_init } from '../kernel/kvm/kvm.js';
import { kvm_create_td, kvm_destroy_td, kvm_release_private, kvm_run_td } from '../kernel/kvm/td.js';
import type { Td, TdOptions } from '../kernel/kvm/td.js';
import type { Memblock } from '../kernel/mm/memblock.js';
import { DEFAULT_KERNEL_PROFILE, kernelProfile } from '../kernel/profiles.js';
import type { KernelProfile, KernelProfileName } from '../kernel/profiles.js';
import { tdx_cpu_enable, tdx_enable } from '../kernel/tdx/tdx.js';
import { moduleFactory as tdxModuleFactory } from './moduleMachine.js';

/** Builds the module for a platform (machine/moduleMachine.ts provides the real one). */
export type ModuleFactory = (platform: Platform, opts: { profile: string; overrides: Record<string, number> | undefined; seed: number }) => SeamHandler;

/** What a machine is made of. */
export interface MachineConfig {
  readonly spec: PlatformSpec;
  /** Kernel profile (default linux-6.18). */
  readonly kernel?: KernelProfileName;
  /** Profile fields to override (e.g. `{ cpuInit: 'in-init' }` for a v8 kernel that inits CPUs). */
  readonly kernelOverrides?: Partial<Omit<KernelProfile, 'name'>>;
  /** Module profile; default: the platform's `tdxModule.profile`, else the kernel profile's default. */
  readonly module?: string;
  readonly seed?: number;
  readonly tracer?: Tracer;
  readonly faults?: FaultInjector;
  /**
   * How to build the module: default the TDX module model (machine/moduleMachine.ts); 'none'
   * leaves the platform without a SEAM handler (every SEAMCALL is VMfailInvalid).
   */
  readonly moduleFactory?: ModuleFactory | 'none';
  /** crashkernel= reservation of the first kernel (never handed out, so never TDX memory). */
  readonly crashkernel?: { readonly base: number; readonly size: number };
}

/** A platform, its module and its current kernel. */
export class Machine {
  readonly platform: Platform;
  readonly module: SeamHandler | undefined;
  readonly moduleProfile: string;
  readonly kernelProfile: KernelProfile;
  /** Every kernel that booted on this machine, oldest first. */
  readonly kernels: Kernel[] = [];
  private current: Kernel;

  constructor(cfg: MachineConfig) {
    const seed = cfg.seed ?? 0;
    const popts = { seed, ...(cfg.tracer === undefined ? {} : { tracer: cfg.tracer }), ...(cfg.faults === undefined ? {} : { faults: cfg.faults }) };
    this.platform = new Platform(cfg.spec, popts);
    this.kernelProfile = kernelProfile(cfg.kernel ?? DEFAULT_KERNEL_PROFILE, cfg.kernelOverrides ?? {});
    this.moduleProfile = cfg.module ?? cfg.spec.tdxModule.profile ?? this.kernelProfile.defaultModule;
    const factory = cfg.moduleFactory ?? tdxModuleFactory;
    if (factory !== 'none') {
      this.module = factory(this.platform, { profile: this.moduleProfile, overrides: cfg.spec.tdxModule.overrides, seed });
      this.platform.seamHandler = this.module;
    }
    const ck = cfg.crashkernel;
    this.current = this.newKernel(ck === undefined ? {} : { reserved: [...DEFAULT_RESERVED_PFNS, { start_pfn: ck.base / PAGE_SIZE, end_pfn: (ck.base + ck.size) / PAGE_SIZE }] });
  }

  /** The kernel running now. */
  get kernel(): Kernel {
    return this.current;
  }

  /**
   * A new, not yet booted kernel on this machine. The kexec seam: the next kernel shares the
   * platform and module; a crash kernel passes its own (restricted) memblock.
   */
  newKernel(opts: { memblock?: Memblock; profile?: KernelProfile; reserved?: readonly { start_pfn: number; end_pfn: number }[] } = {}): Kernel {
    const k = new Kernel({
      platform: this.platform,
      profile: opts.profile ?? this.kernelProfile,
      generation: this.kernels.length,
      ...(opts.memblock === undefined ? {} : { memblock: opts.memblock }),
      ...(opts.reserved === undefined ? {} : { reserved: opts.reserved }),
    });
    return k;
  }

  /**
   * Boot `k` (default: the current, unbooted kernel) on CPU 0: firmware map, TDX detection,
   * interrupt handlers, the CPUs the platform has online. It becomes the current kernel.
   */
  *bootKernel(k: Kernel = this.current): Prog<Kernel> {
    assert(!k.booted, 'bootKernel: kernel already booted');
    this.current = k;
    this.kernels.push(k);
    yield* k.boot(this.platform.cpu(0));
    return k;
  }

  /** modprobe kvm_intel tdx=1 on CPU 0: VMXON everywhere, tdx_cpu_enable on each CPU, tdx_enable. */
  *loadKvm(opts: { tdx: boolean } = { tdx: true }): Prog<KernelStatus> {
    const k = this.current;
    return yield* kvm_intel_init(k, this.platform.cpu(0), opts);
  }

  /** tdx_enable() on CPU `cpu` (callers that drive the host API directly). */
  *tdxEnable(cpu = 0): Prog<KernelStatus> {
    return yield* tdx_enable(this.current, this.platform.cpu(cpu));
  }

  /** tdx_cpu_enable() on CPU `cpu`, with IRQs off as its contract requires. */
  *tdxCpuEnable(cpu: number): Prog<KernelStatus> {
    const c = this.platform.cpu(cpu);
    const saved = c.irqEnabled;
    c.irqEnabled = false;
    const r = yield* tdx_cpu_enable(this.current, c);
    c.irqEnabled = saved;
    return r;
  }

  /** Create a TD (KVM must be loaded with TDX) and let it write its memory. */
  *createTd(opts: TdOptions = {}): Prog<{ ret: KernelStatus; td: Td | undefined }> {
    return yield* kvm_create_td(this.current, this.platform.cpu(0), opts);
  }

  /** KVM_RUN of the TD's vCPU `vcpu` from a task on `cpu` (migrating it there first); TDH.VP.ENTER's last status. */
  *runTd(td: Td, cpu: number, vcpu = 0): Prog<bigint> {
    return yield* kvm_run_td(this.current, this.platform.cpu(cpu), td, vcpu);
  }

  /** Release [gpa, gpa + size) of a running TD's private memory (BLOCK, TRACK, REMOVE, WBINVD), from CPU 0. */
  *releaseTdMemory(td: Td, gpa: number, size: number): Prog<KernelStatus> {
    return yield* kvm_release_private(this.current, this.platform.cpu(0), td, gpa, size);
  }

  /** Tear a TD down and reclaim its pages. */
  *destroyTd(td: Td): Prog<KernelStatus> {
    return yield* kvm_destroy_td(this.current, this.platform.cpu(0), td);
  }

  /** `echo 0 > /sys/devices/system/cpu/cpuN/online`, driven from CPU 0. */
  *cpuOffline(cpu: number): Prog<KernelStatus> {
    return yield* this.current.cpu_down(this.platform.cpu(0), this.platform.cpu(cpu));
  }

  /** `echo 1 > /sys/devices/system/cpu/cpuN/online`, driven from CPU 0. */
  *cpuOnline(cpu: number): Prog<KernelStatus> {
    return yield* this.current.cpu_up(this.platform.cpu(0), this.platform.cpu(cpu));
  }

  /** Hot-add and online [base, base+size) on node `nid`. */
  *hotAddMemory(base: number, size: number, nid: number): Prog<KernelStatus> {
    return yield* this.current.add_memory(this.platform.cpu(0), base, size, nid);
  }

  /** dmesg of the current kernel, without timestamps. */
  dmesgLines(): string[] {
    return this.current.dmesg.lines();
  }
}

/** Build a machine. */
export function createMachine(cfg: MachineConfig): Machine {
  return new Machine(cfg);
}
