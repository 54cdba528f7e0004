/**
 * One boot's worth of kernel state: the log, the profile, memblock, the page allocator, the
 * per-CPU variables, the TDX host state and the KVM-like caller. Nothing lives in module-level
 * variables, so kexec is simply a new Kernel booting on the same Platform (and the same TDX
 * module, whose state survives in SEAMRR) while the old Kernel object is dropped.
 * @see linux init/main.c start_kernel(), kernel/cpu.c (cpuhp), mm/memory_hotplug.c
 */
import { assert } from '../base/assert.js';
import { Dmesg } from '../base/dmesg.js';
import type { Logger } from '../base/dmesg.js';
import { PAGE_SIZE } from '../base/ids.js';
import { hex16 } from '../base/u64.js';
import type { Cpu, PendingInterrupt } from '../platform/Cpu.js';
import type { Prog } from '../platform/Exec.js';
import type { Platform } from '../platform/Platform.js';
import { EBUSY, EINVAL } from './errno.js';
import { nmi_entry, REBOOT_ENTRY, reboot_interrupt, smp_stop_nmi_callback } from './kexec/smp.js';
import { KexecState } from './kexec/state.js';
import type { KernelStatus } from './errno.js';
import { Kvm } from './kvm/kvm.js';
import { Memblock } from './mm/memblock.js';
import { PageAllocator } from './mm/page_alloc.js';
import { PerCpu } from './percpu.js';
import { PrintkState } from './printk.js';
import type { KernelProfile } from './profiles.js';
import { Mutex, smp_call_on_cpu } from './smp.js';
import { tdx_detect_cpu_seamrr } from './tdx/seamrr.js';
import { notifier_to_errno, TdxHost, tdx_enable_at_boot, tdx_init, tdx_memory_notifier } from './tdx/tdx.js';

/** A CPU hotplug state's callbacks (cpuhp_setup_state). */
export interface CpuhpState {
  readonly name: string;
  online(k: Kernel, cpu: Cpu): Prog<KernelStatus>;
  offline(k: Kernel, cpu: Cpu): Prog<KernelStatus>;
}

/** How to build a Kernel. */
export interface KernelOptions {
  readonly platform: Platform;
  readonly profile: KernelProfile;
  /**
   * Memory the kernel may use. Default: memblock from the e820 map. A crash kernel passes a
   * Memblock holding only its crashkernel= reservation.
   */
  readonly memblock?: Memblock;
  /** PFN ranges kept from the page allocator (default: the first MiB and the kernel image). */
  readonly reserved?: readonly { start_pfn: number; end_pfn: number }[];
  /** Boot number on this platform (0 = cold boot, 1 = first kexec'd kernel, ...). */
  readonly generation?: number;
}

/** Kernel image placement: [16 MiB, 16 MiB + 64 MiB). */
const KERNEL_IMAGE = { start_pfn: 0x1000, end_pfn: 0x5000 };
/** What the page allocator never hands out: the first MiB and the kernel image. */
export const DEFAULT_RESERVED_PFNS: readonly { start_pfn: number; end_pfn: number }[] = [{ start_pfn: 0, end_pfn: 0x100 }, KERNEL_IMAGE];

/** dmesg time: simulated time since this kernel booted (an object, so snapshots copy it). */
class KernelClock {
  constructor(private readonly k: Kernel) {}
  nowNs(): number {
    return this.k.platform.nowNs - this.k.bootNs;
  }
  currentCpu(): number {
    return this.k.platform.current.id;
  }
}

/** One booted (or booting) Linux kernel. */
export class Kernel {
  readonly platform: Platform;
  readonly profile: KernelProfile;
  readonly dmesg: Dmesg;
  /** Logger with tdx.c's pr_fmt prefix. */
  readonly log: Logger;
  /** Logger without a prefix (core kernel lines). */
  readonly klog: Logger;
  readonly memblock: Memblock;
  readonly pageAlloc: PageAllocator;
  /** Per-CPU cache_state_incoherent (arch/x86/kernel/process.c). */
  readonly cache_state_incoherent: PerCpu<boolean>;
  readonly tdx: TdxHost;
  readonly kvm: Kvm;
  /** get_online_mems()/mem_hotplug_begin(). */
  readonly mem_hotplug_lock = new Mutex('mem_hotplug_lock');
  /** cpus_read_lock()/cpu_hotplug_begin(). */
  readonly cpu_hotplug_lock = new Mutex('cpu_hotplug_lock');
  /** Registered dynamic CPU hotplug states, in order. */
  readonly cpuhp: CpuhpState[] = [];
  readonly generation: number;
  /** Reboot/kexec state (stopping_cpu, cpus_stop_mask, ...). */
  readonly kexec_state = new KexecState();
  /** printk_ratelimited() states and WARN_ON_ONCE() flags, per call site (printk.ts). */
  readonly printk = new PrintkState();
  /** Platform time at which this kernel started (dmesg time zero). */
  readonly bootNs: number;
  booted = false;

  constructor(opts: KernelOptions) {
    this.platform = opts.platform;
    this.profile = opts.profile;
    this.generation = opts.generation ?? 0;
    const p = this.platform;
    this.bootNs = p.nowNs;
    this.dmesg = new Dmesg(new KernelClock(this), 1 << 16, p.tracer);
    this.dmesg.footprint = p.fp;
    this.mem_hotplug_lock.fp = p.fp;
    this.cpu_hotplug_lock.fp = p.fp;
    this.klog = this.dmesg.scope('');
    this.log = this.dmesg.scope(this.profile.strings.prefix);
    this.memblock = opts.memblock ?? Memblock.fromE820(p.spec);
    this.pageAlloc = new PageAllocator(this.memblock, opts.reserved ?? DEFAULT_RESERVED_PFNS);
    // SME parts start incoherent and stay so (the C-bit aliases are always possible).
    this.cache_state_incoherent = new PerCpu(p.cpus.length, () => p.isAmd);
    this.tdx = new TdxHost(p.cpus.length);
    this.tdx.tdx_module_lock.fp = p.fp;
    this.kvm = new Kvm();
  }

  /** A logger with another prefix (e.g. `kvm_intel: `). */
  scope(prefix: string): Logger {
    return this.dmesg.scope(prefix);
  }

  /** The boot CPU. */
  get bootCpu(): Cpu {
    return this.platform.cpu(0);
  }

  /**
   * Boot on `cpu`: print the firmware memory map, detect TDX on the boot CPU, install the
   * interrupt handlers and bring up the CPUs the platform has online.
   * @see linux start_kernel(), identify_boot_cpu() → tdx_init(), smp_init()
   */
  *boot(cpu: Cpu): Prog {
    assert(!this.booted, 'kernel booted twice');
    this.klog.notice(`Linux version ${this.profile.linuxVersion} (tdxsim) #${this.generation + 1} SMP`);
    for (const e of this.platform.spec.memory.e820) {
      this.klog.info(`BIOS-e820: [mem ${hex16(BigInt(e.base))}-${hex16(BigInt(e.base + e.size - 1))}] ${e.type}`);
    }
    // free_area_init(): the node ranges memblock ended up with (tdxsim plan/diagnose read these).
    this.klog.info('Early memory node ranges');
    for (const r of this.memblock.memory) {
      this.klog.info(`  node ${String(r.nid).padStart(3)}: [mem ${hex16(BigInt(r.base))}-${hex16(BigInt(r.base + r.size - 1))}]`);
    }
    yield { op: 'tick', ns: 1_000_000, label: 'setup_arch' };
    if (!this.profile.hostSupport) {
      // No TDX host code in this kernel: nothing is detected.
    } else if (this.profile.detection === 'msr') {
      tdx_init(this, cpu);
    } else {
      tdx_detect_cpu_seamrr(this, cpu, true);
    }
    for (const c of this.platform.cpus) {
      this.installHandlers(c);
      if (c !== cpu && c.online && this.profile.hostSupport && this.profile.detection === 'seamrr') {
        tdx_detect_cpu_seamrr(this, c, false);
      }
    }
    const online = this.platform.cpus.filter((c) => c.online).length;
    const nodes = new Set(this.memblock.memory.map((r) => r.nid)).size;
    yield { op: 'tick', ns: 10_000 * online, label: 'smp_init' };
    this.klog.info(`smp: Brought up ${nodes} node${nodes === 1 ? '' : 's'}, ${online} CPU${online === 1 ? '' : 's'}`);
    if (this.profile.initAt === 'boot') {
      // subsys_initcall(tdx_enable) (7.1+): the module is initialized during boot.
      this.tdx.bootInitRet = yield* tdx_enable_at_boot(this, cpu);
    }
    this.booted = true;
  }

  /**
   * Interrupt handlers this kernel owns: CALL_FUNCTION runs the carried work; REBOOT and the
   * stop NMI run stop_this_cpu() (bound to this kernel, so snapshots copy them correctly).
   */
  private installHandlers(c: Cpu): void {
    c.handlers.set('REBOOT', { self: this, fn: reboot_interrupt as (self: never, cpu: Cpu, irq: PendingInterrupt) => Prog, entry: REBOOT_ENTRY });
    c.handlers.set('NMI', { self: this, fn: smp_stop_nmi_callback as (self: never, cpu: Cpu, irq: PendingInterrupt) => Prog, entry: nmi_entry as (self: never, cpu: Cpu, irq: PendingInterrupt) => string });
    c.handlers.set('CALL_FUNCTION', (_cpu, irq) => runIpiPayload(irq.payload));
  }

  /** Register a dynamic hotplug state and run its online callback on every online CPU. */
  *cpuhp_setup_state_cpuslocked(from: Cpu, state: CpuhpState): Prog<KernelStatus> {
    const done: Cpu[] = [];
    for (const c of this.platform.cpus) {
      if (!c.online) {
        continue;
      }
      const ret = yield* smp_call_on_cpu(this.platform, from, c, (on) => state.online(this, on));
      if (ret !== 0) {
        // Roll back the CPUs already done, as cpuhp_invoke_ap_callback() does.
        for (const d of done.reverse()) {
          yield* smp_call_on_cpu(this.platform, from, d, (on) => state.offline(this, on));
        }
        return ret;
      }
      done.push(c);
    }
    this.cpuhp.push(state);
    return 0;
  }

  /** Forget a hotplug state (without running its teardown). */
  cpuhp_remove_state_nocalls(name: string): void {
    const i = this.cpuhp.findIndex((s) => s.name === name);
    if (i >= 0) {
      this.cpuhp.splice(i, 1);
    }
  }

  /**
   * Bring a present CPU online (`echo 1 > /sys/devices/system/cpu/cpuN/online`): it runs every
   * registered online callback itself; a failing callback makes the online fail.
   * @see linux cpu_up(), cpuhp_thread_fun()
   */
  *cpu_up(from: Cpu, cpu: Cpu): Prog<KernelStatus> {
    if (cpu.online) {
      return 0;
    }
    yield* this.cpu_hotplug_lock.lock(from);
    cpu.online = true;
    this.platform.tracer.emit({ kind: 'cpu.state', t: this.platform.nowNs, cpu: cpu.id, online: true, vmx: cpu.vmx });
    let ret: KernelStatus = 0;
    const done: CpuhpState[] = [];
    for (const st of this.cpuhp) {
      ret = yield* smp_call_on_cpu(this.platform, from, cpu, (on) => st.online(this, on));
      if (ret !== 0) {
        break;
      }
      done.push(st);
    }
    if (ret !== 0) {
      for (const st of done.reverse()) {
        yield* smp_call_on_cpu(this.platform, from, cpu, (on) => st.offline(this, on));
      }
      cpu.online = false;
    }
    this.cpu_hotplug_lock.unlock(from);
    return ret;
  }

  /**
   * Take a CPU offline: the teardown callbacks run in reverse order on that CPU; any refusal
   * (e.g. KVM's "last CPU of a package with TDs alive") aborts the offline.
   * @see linux cpu_down()
   */
  *cpu_down(from: Cpu, cpu: Cpu): Prog<KernelStatus> {
    if (!cpu.online) {
      return 0;
    }
    if (cpu === from || this.platform.cpus.filter((c) => c.online).length === 1) {
      return -EBUSY;
    }
    yield* this.cpu_hotplug_lock.lock(from);
    let ret: KernelStatus = 0;
    for (const st of [...this.cpuhp].reverse()) {
      ret = yield* smp_call_on_cpu(this.platform, from, cpu, (on) => st.offline(this, on));
      if (ret !== 0) {
        break;
      }
    }
    if (ret === 0) {
      cpu.online = false;
      this.platform.tracer.emit({ kind: 'cpu.state', t: this.platform.nowNs, cpu: cpu.id, online: false, vmx: cpu.vmx });
    }
    this.cpu_hotplug_lock.unlock(from);
    return ret;
  }

  /**
   * Hot-add and online a memory range: the memory notifier chain (TDX's included) may veto
   * the online, which then fails with -EPERM and leaves the range offline.
   * @see linux add_memory(), online_pages(), memory_notify()
   */
  *add_memory(from: Cpu, base: number, size: number, nid: number): Prog<KernelStatus> {
    if (base % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0 || size === 0) {
      return -EINVAL;
    }
    if (this.profile.memHotplug === 'reject-add' && this.tdx.hostPlatform) {
      // arch_memory_add_precheck(): any hot-add is refused on a TDX platform. The line is as
      // the series' documentation shows it (with the `tdx: ` prefix).
      // @see linux (v5, 22 Jun 2022) 05/22 arch_memory_add_precheck(), 22/22 Documentation/x86/tdx.rst
      this.log.err(`Unable to add memory [0x${base.toString(16)}, 0x${(base + size).toString(16)}) on TDX enabled platform.`);
      return -EINVAL;
    }
    yield* this.mem_hotplug_lock.lock(from);
    const start_pfn = base / PAGE_SIZE;
    const nr_pages = size / PAGE_SIZE;
    let ret: KernelStatus = 0;
    if (this.tdx.memNotifierRegistered) {
      ret = notifier_to_errno(tdx_memory_notifier(this, 'MEM_GOING_ONLINE', start_pfn, nr_pages));
    }
    if (ret === 0) {
      this.memblock.add(base, size, nid);
      this.pageAlloc.addRange(start_pfn, start_pfn + nr_pages, nid);
    }
    yield { op: 'tick', ns: this.platform.spec.costs.stepNs, label: 'online_pages' };
    this.mem_hotplug_lock.unlock(from);
    return ret;
  }
}

/** The CALL_FUNCTION handler's body: run the work the IPI carries, if any. */
function* runIpiPayload(payload: (() => Prog) | undefined): Prog {
  if (payload !== undefined) {
    yield* payload();
  }
}
