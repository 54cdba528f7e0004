/**
 * The kdump path: the crashing CPU shoots the others down with NMIs. They save their state and
 * halt without stop_this_cpu(), so they do not flush their caches; the crash kernel only uses
 * its own reserved region, which was never TDX memory.
 * @see linux arch/x86/kernel/crash.c native_machine_crash_shutdown(),
 *      arch/x86/kernel/reboot.c nmi_shootdown_cpus(), crash_nmi_callback()
 */
import type { Cpu } from '../../platform/Cpu.js';
import type { Prog } from '../../platform/Exec.js';
import { waitUntil } from '../../platform/Exec.js';
import type { Kernel } from '../Kernel.js';
import { tdx_sys_disable } from '../tdx/tdx.js';

/** nmi_shootdown_cpus() waits up to a second for the acknowledgements. */
export const CRASH_NMI_WAIT_NS = 1_000_000_000;

/**
 * What a shot-down CPU does in NMI context: leave VMX, save registers, acknowledge, halt. No
 * WBINVD.
 * @see linux crash_nmi_callback()
 */
export function* crash_nmi_callback(k: Kernel, cpu: Cpu): Prog {
  const st = k.kexec_state;
  k.platform.fp.r('stopping_cpu');
  if (cpu.id === st.stopping_cpu) {
    return;
  }
  cpu.irqEnabled = false;
  cpu.vmx = false;
  k.platform.tracer.emit({ kind: 'mark', t: k.platform.nowNs, cpu: cpu.id, label: 'crash_nmi_callback' });
  yield { op: 'tick', ns: 5_000, label: 'local:crash_save_cpu' };
  yield { op: 'yield', label: 'waiting_for_crash_ipi' };
  k.platform.fp.w('crashAcked', cpu.id);
  st.crashAcked.add(cpu.id);
  for (;;) {
    yield { op: 'halt' };
  }
}

/** Every CPU in `others` acknowledged the crash NMI (atomic_read(&waiting_for_crash_ipi) == 0). */
function crash_acked(k: Kernel, others: readonly Cpu[]): boolean {
  k.platform.fp.r('crashAcked');
  return others.every((c) => k.kexec_state.crashAcked.has(c.id));
}

/**
 * Stop the other CPUs from the crashing one.
 * @see linux native_machine_crash_shutdown() → crash_smp_send_stop() → nmi_shootdown_cpus()
 */
export function* native_machine_crash_shutdown(k: Kernel, cpu: Cpu): Prog {
  const st = k.kexec_state;
  const p = k.platform;
  cpu.irqEnabled = false;
  p.fp.w('crashing');
  p.fp.w('stopping_cpu');
  p.fp.r('online');
  st.crashing = true;
  st.stopping_cpu = cpu.id;
  const others = p.cpus.filter((c) => c !== cpu && c.online);
  for (const c of others) {
    p.sendIpi(cpu, c, 'NMI');
  }
  yield { op: 'yield', label: 'waiting_for_crash_ipi' };
  yield* waitUntil(() => crash_acked(k, others), CRASH_NMI_WAIT_NS, 'waiting_for_crash_ipi');
  // 7.2: disable the module from the crashing CPU, whether or not TDX was initialized (a CPU
  // not in VMX operation faults, which is not printed).
  // @see linux arch/x86/kernel/crash.c native_machine_crash_shutdown() (5b25f249be32, v7.2)
  if (k.profile.kexec.sysDisable) {
    yield* tdx_sys_disable(k, cpu);
  }
  // x86_virt_emergency_disable_virtualization_cpu() on the crashing CPU.
  cpu.vmx = false;
  yield { op: 'tick', ns: 2_000, label: 'local:lapic_shutdown' };
}
