/**
 * Stopping the other CPUs before a reboot or kexec: the REBOOT vector first, with up to a
 * second for everyone to stop, then NMIs for the stragglers with up to 10 ms more. The
 * second wait only watches cpus_stop_mask, which a CPU leaves *before* it halts; a CPU that
 * takes the REBOOT IPI late and is then hit by the NMI runs stop_this_cpu() a second time
 * while the stopping CPU already moves on. That is the race of linux-host.md 6.5.
 * @see linux arch/x86/kernel/smp.c native_stop_other_cpus(), smp_stop_nmi_callback(),
 *      sysvec_reboot()
 */
import type { Cpu, PendingInterrupt } from '../../platform/Cpu.js';
import type { Prog } from '../../platform/Exec.js';
import { waitUntil } from '../../platform/Exec.js';
import type { Kernel } from '../Kernel.js';
import { crash_nmi_callback } from './crash.js';
import { stop_this_cpu } from './process.js';

/** USEC_PER_SEC: the REBOOT IPI wait. */
export const STOP_REBOOT_WAIT_NS = 1_000_000_000;
/** 10 ms: the NMI wait (forever when `wait`). */
export const STOP_NMI_WAIT_NS = 10_000_000;

/** The REBOOT IPI wait of this kernel (a scenario may override Linux's second). */
function rebootWaitNs(k: Kernel): number {
  return k.profile.kexec.rebootWaitNs ?? STOP_REBOOT_WAIT_NS;
}

/** Options of one stop. */
export interface StopOptions {
  /**
   * Wait for ever after the NMIs: `while (... && (wait || timeout--))`. kexec and reboot come
   * through stop_other_cpus(), which is smp_ops.stop_other_cpus(1); only smp_send_stop()
   * (panic without a crash kernel) passes 0.
   * @see linux arch/x86/include/asm/smp.h stop_other_cpus(), smp_send_stop()
   */
  readonly wait: boolean;
  /** Model knob: the REBOOT IPI is always taken within the second (no NMI fallback). */
  readonly ipiInTime?: boolean;
}

/**
 * cpu_emergency_disable_virtualization(): leave VMX operation without asking anyone. No cache
 * flush here; that is what the per-CPU flag and stop_this_cpu() are for.
 */
function emergency_disable_virtualization(cpu: Cpu): void {
  cpu.vmx = false;
}

/**
 * The REBOOT handler's entry step (interrupt entry up to its first pause) reads and writes
 * nothing another CPU can see, so exploration may take it first (see ExhaustiveChoices).
 */
export const REBOOT_ENTRY = 'local:sysvec_reboot';

/** REBOOT_VECTOR handler. @see linux sysvec_reboot() */
export function* reboot_interrupt(k: Kernel, cpu: Cpu, _irq: PendingInterrupt): Prog {
  yield { op: 'yield', label: 'local:reboot_interrupt' };
  emergency_disable_virtualization(cpu);
  yield* stop_this_cpu(k, cpu);
}

/**
 * num_online_cpus() > 1, seen from the stopping CPU: the pre-6.5 stop condition.
 * @see linux (v6.1) native_stop_other_cpus()
 */
function others_online(k: Kernel, cpu: Cpu): boolean {
  k.platform.fp.r('online');
  return k.platform.cpus.some((c) => c !== cpu && c.online);
}

/** cpumask_next(): the lowest CPU in `mask` above `after`, or -1. @see linux find_next_bit() */
function next_cpu_in_mask(k: Kernel, mask: ReadonlySet<number>, after: number): number {
  k.platform.fp.r('cpus_stop_mask');
  let best = -1;
  for (const id of mask) {
    if (id > after && (best === -1 || id < best)) {
      best = id;
    }
  }
  return best;
}

/** cpumask_empty(&cpus_stop_mask), read from the stopping CPU. */
function stop_mask_empty(k: Kernel): boolean {
  k.platform.fp.r('cpus_stop_mask');
  return k.kexec_state.cpus_stop_mask.size === 0;
}

/**
 * The NMI handler's entry step reads `crashing`, `nmiHandlerRegistered` and `stopping_cpu`.
 * Each is written once per reboot path (stopping_cpu by the cmpxchg that elects the stopping
 * CPU, the others before the first stop NMI is sent) and never again within it, so once a
 * stopping CPU is elected and the handler registered, those reads commute with every other
 * step and the entry is local. Before that (a stray NMI), it is an ordinary step.
 */
export function nmi_entry(k: Kernel, _cpu: Cpu, _irq: PendingInterrupt): string {
  const st = k.kexec_state;
  return st.stopping_cpu !== -1 && st.nmiHandlerRegistered ? 'local:exc_nmi' : '';
}

/** NMI handler registered by native_stop_other_cpus(). @see linux smp_stop_nmi_callback() */
export function* smp_stop_nmi_callback(k: Kernel, cpu: Cpu, _irq: PendingInterrupt): Prog {
  const st = k.kexec_state;
  k.platform.fp.r('crashing');
  if (st.crashing) {
    return yield* crash_nmi_callback(k, cpu);
  }
  k.platform.fp.r('nmiHandlerRegistered');
  k.platform.fp.r('stopping_cpu');
  if (!st.nmiHandlerRegistered || cpu.id === st.stopping_cpu) {
    return; // NMI_HANDLED / not ours
  }
  yield { op: 'yield', label: 'local:smp_stop_nmi_callback' };
  emergency_disable_virtualization(cpu);
  yield* stop_this_cpu(k, cpu);
}

/**
 * Stop every other online CPU. Only the first caller proceeds.
 * @see linux native_stop_other_cpus()
 */
export function* native_stop_other_cpus(k: Kernel, cpu: Cpu, opts: StopOptions): Prog {
  const st = k.kexec_state;
  // atomic_try_cmpxchg(&stopping_cpu, -1, this_cpu): a second caller just returns.
  yield { op: 'yield', label: 'stopping_cpu' };
  k.platform.fp.w('stopping_cpu');
  if (st.stopping_cpu !== -1) {
    return;
  }
  st.stopping_cpu = cpu.id;
  if (k.profile.kexec.stopProtocol === 'online-count') {
    yield* stop_other_cpus_online_count(k, cpu, opts);
  } else {
    yield* stop_other_cpus_stop_mask(k, cpu, opts);
  }
  // local_irq_save(); disable_local_APIC(); mcheck_cpu_clear(); local_irq_restore()
  yield { op: 'tick', ns: 2_000, label: 'local:disable_local_APIC' };
  k.platform.fp.w('cpus_stop_mask');
  st.cpus_stop_mask.clear();
}

/**
 * Before 6.5: wait while num_online_cpus() > 1. stop_this_cpu() marks its CPU offline before
 * its WBINVD, so the wait may end while remote WBINVDs still run (the hole that commit
 * 1f5e7eb7868e "x86/smp: Make stop_other_cpus() more robust" closed in 6.5). The NMIs go to
 * every other CPU (apic_send_IPI_allbutself), stopped ones included.
 * @see linux (v6.1) arch/x86/kernel/smp.c native_stop_other_cpus()
 */
function* stop_other_cpus_online_count(k: Kernel, cpu: Cpu, opts: StopOptions): Prog {
  const st = k.kexec_state;
  const p = k.platform;
  p.fp.r('online');
  const others = p.cpus.filter((c) => c !== cpu && c.online);
  if (others_online(k, cpu)) {
    // apic_send_IPI_allbutself(REBOOT_VECTOR)
    for (const c of others) {
      p.sendIpi(cpu, c, 'REBOOT');
    }
    yield { op: 'yield', label: 'num_online_cpus' };
    yield* waitUntil(() => !others_online(k, cpu), opts.ipiInTime === true ? Infinity : rebootWaitNs(k), 'num_online_cpus');
  }
  if (others_online(k, cpu) && k.profile.kexec.nmiFallback !== false) {
    // register_stop_handler(); pr_emerg(); apic_send_IPI_allbutself(NMI_VECTOR)
    p.fp.w('nmiHandlerRegistered');
    st.nmiHandlerRegistered = true;
    k.klog.emerg('Shutting down cpus with NMI');
    for (const c of others) {
      p.sendIpi(cpu, c, 'NMI');
    }
    yield { op: 'yield', label: 'num_online_cpus' };
    // An NMI is always taken eventually here, so `wait` ends once every CPU went offline.
    yield* waitUntil(() => !others_online(k, cpu), opts.wait ? Infinity : STOP_NMI_WAIT_NS, 'num_online_cpus');
  }
}

/**
 * 6.5+: wait for cpus_stop_mask, which a CPU leaves after its WBINVD; NMIs only to the CPUs
 * still in the mask.
 * @see linux native_stop_other_cpus()
 */
function* stop_other_cpus_stop_mask(k: Kernel, cpu: Cpu, opts: StopOptions): Prog {
  const st = k.kexec_state;
  const p = k.platform;
  p.fp.r('online');
  p.fp.w('cpus_stop_mask');
  for (const c of p.cpus) {
    if (c !== cpu && c.online) {
      st.cpus_stop_mask.add(c.id);
    }
  }
  if (st.cpus_stop_mask.size > 0) {
    // apic_send_IPI_allbutself(REBOOT_VECTOR)
    for (const id of [...st.cpus_stop_mask]) {
      p.sendIpi(cpu, p.cpu(id), 'REBOOT');
    }
    yield { op: 'yield', label: 'cpus_stop_mask' };
    yield* waitUntil(() => stop_mask_empty(k), opts.ipiInTime === true ? Infinity : rebootWaitNs(k), 'cpus_stop_mask');
  }
  if (!stop_mask_empty(k) && k.profile.kexec.nmiFallback !== false) {
    k.klog.emerg('Shutting down cpus with NMI');
    p.fp.w('nmiHandlerRegistered');
    st.nmiHandlerRegistered = true;
    yield { op: 'tick', ns: 2_000_000, label: 'cpus_stop_mask' };
    // for_each_cpu(cpu, &cpus_stop_mask): find_next_bit() on the live mask, so a CPU that
    // leaves it while the walk goes on gets no NMI. The walk's position is this loop's state.
    for (let id = next_cpu_in_mask(k, st.cpus_stop_mask, -1); id !== -1; id = next_cpu_in_mask(k, st.cpus_stop_mask, id)) {
      p.sendIpi(cpu, p.cpu(id), 'NMI');
      yield { op: 'yield', label: 'cpus_stop_mask', local: `for_each_cpu@${id}` };
    }
    // An NMI is always taken eventually in the model, so `wait` ends once every CPU answered.
    yield* waitUntil(() => stop_mask_empty(k), opts.wait ? Infinity : STOP_NMI_WAIT_NS, 'cpus_stop_mask');
  }
}
