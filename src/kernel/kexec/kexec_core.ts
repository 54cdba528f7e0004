/**
 * kernel_kexec() and the crash entry: the orchestration that reads like the kernel's own. The
 * caller (a scenario) starts the next kernel when these return: at that moment the old kernel
 * is gone from the kexec-ing CPU, and the other CPUs should all be halted.
 * @see linux kernel/kexec_core.c kernel_kexec(), __crash_kexec();
 *      arch/x86/kernel/reboot.c native_machine_shutdown()
 */
import type { Cpu } from '../../platform/Cpu.js';
import type { Prog } from '../../platform/Exec.js';
import { ENOSYS } from '../errno.js';
import type { KernelStatus } from '../errno.js';
import type { Kernel } from '../Kernel.js';
import { tdx_flush_associated_vcpus } from '../kvm/td.js';
import { on_each_cpu } from '../smp.js';
import { tdx_cpu_flush_cache_for_kexec, tdx_shutdown } from '../tdx/tdx.js';
import { native_machine_crash_shutdown } from './crash.js';
import { machine_kexec, machine_kexec_prepare } from './machine_kexec.js';
import { native_stop_other_cpus } from './smp.js';
import type { StopOptions } from './smp.js';

/**
 * The syscore shutdown step of KVM, registered while KVM has virtualization enabled (kvm_intel
 * loaded): announce it, then disable virtualization on every CPU; on v6.18 with TDX enabled
 * that flushes each CPU's caches if a SEAMCALL may have dirtied them.
 * @see linux virt/kvm/kvm_main.c kvm_shutdown(): pr_info("kvm: exiting hardware virtualization\n")
 *      → kvm_disable_virtualization_cpu() → vt_disable_virtualization_cpu() v6.18
 */
function* kvm_shutdown(k: Kernel, cpu: Cpu): Prog {
  if (!k.kvm.loaded) {
    return;
  }
  k.klog.info('kvm: exiting hardware virtualization');
  yield* on_each_cpu(k.platform, cpu, (c) => kvm_disable_virtualization_cpu(k, c));
}

/**
 * One CPU's part of kvm_shutdown(). The TDX flush is behind `if (enable_tdx)`: after a failed
 * bring-up (e.g. -ENODEV, no module) KVM does not flush here.
 * @see linux kvm_disable_virtualization_cpu(), vt_disable_virtualization_cpu(),
 *      tdx_disable_virtualization_cpu() v6.18; arch/x86/kvm/vmx/main.c, tdx.c v7.1.3 (the same)
 */
function* kvm_disable_virtualization_cpu(k: Kernel, c: Cpu): Prog {
  if (k.kvm.enable_tdx) {
    yield* tdx_flush_associated_vcpus(k, c);
  }
  const flush = k.kvm.enable_tdx && k.profile.kexec.earlyFlush && k.profile.kexec.earlyFlushBy === 'kvm' && k.profile.cacheStateFlag;
  if (flush && k.cache_state_incoherent.get(c.id)) {
    k.platform.fp.w('flushes', c.id);
    k.kexec_state.flushes.push({ cpu: c.id, t: k.platform.nowNs, site: 'tdx_cpu_flush_cache_for_kexec' });
  }
  if (flush) {
    yield* tdx_cpu_flush_cache_for_kexec(k, c);
  }
  // 7.1+: VMX is reference-counted (x86_virt_put_ref()); the TDX code holds its own reference
  // until tdx_shutdown, so KVM's put leaves the CPU in VMX operation.
  if (!k.tdx.syscoreRegistered) {
    c.vmx = false;
  }
}

/** kexec_load(): may be refused by the architecture. */
export function kexec_load(k: Kernel): KernelStatus {
  if (!k.profile.kexec.kexecAllowed) {
    return -ENOSYS;
  }
  return machine_kexec_prepare(k);
}

/**
 * kexec -e: shut down devices and KVM, stop the other CPUs, jump.
 * @returns 0 at the moment of the jump
 * @see linux kernel_kexec()
 */
export function* kernel_kexec(k: Kernel, cpu: Cpu, stop: Pick<StopOptions, 'ipiInTime'> = {}): Prog<KernelStatus> {
  const st = k.kexec_state;
  k.platform.fp.w('kexec_in_progress');
  st.kexec_in_progress = true;
  k.platform.tracer.emit({ kind: 'mark', t: k.platform.nowNs, cpu: cpu.id, label: 'kexec', detail: 'kernel_kexec' });
  // kernel_restart_prepare("kexec reboot"): reboot notifiers, device_shutdown().
  yield { op: 'tick', ns: 50_000, label: 'kernel_restart_prepare' };
  // syscore_shutdown(), callbacks in reverse order of registration: KVM's (registered at
  // module load) disables virtualization on every CPU, then TDX's (registered at boot, 7.1+).
  yield* kvm_shutdown(k, cpu);
  if (k.tdx.syscoreRegistered && k.profile.kexec.earlyFlushBy === 'tdx_shutdown') {
    yield* tdx_shutdown(k, cpu);
  }
  k.klog.notice('kexec_core: Starting new kernel');
  // machine_shutdown() → native_machine_shutdown() → stop_other_cpus(), which is
  // smp_ops.stop_other_cpus(1): wait for ever after the NMIs.
  // @see linux arch/x86/include/asm/smp.h stop_other_cpus()
  yield* native_stop_other_cpus(k, cpu, { wait: true, ...stop });
  // lapic_shutdown(), restore_boot_irq_mode(), hpet_disable()...
  yield { op: 'tick', ns: 20_000, label: 'local:native_machine_shutdown' };
  yield* machine_kexec(k, cpu);
  return 0;
}

/**
 * A sysrq-c panic with a crash kernel loaded: shoot the other CPUs down, jump to the crash kernel.
 * @see linux drivers/tty/sysrq.c __handle_sysrq() pr_info("%s\n", op_p->action_msg) with pr_fmt
 *      "sysrq: ", sysrq_handle_crash() panic("sysrq triggered crash\n");
 *      kernel/kexec_core.c __crash_kexec() → machine_crash_shutdown() → machine_kexec()
 */
export function* crash_kexec(k: Kernel, cpu: Cpu): Prog<KernelStatus> {
  // echo c > /proc/sysrq-trigger: __handle_sysrq() announces the key's action_msg, then
  // sysrq_handle_crash() panics.
  k.klog.info('sysrq: Trigger a crash');
  k.klog.emerg('Kernel panic - not syncing: sysrq triggered crash');
  k.platform.tracer.emit({ kind: 'mark', t: k.platform.nowNs, cpu: cpu.id, label: 'crash', detail: '__crash_kexec' });
  yield* native_machine_crash_shutdown(k, cpu);
  yield* machine_kexec(k, cpu);
  return 0;
}
