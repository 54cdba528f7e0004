/**
 * stop_this_cpu(): what a remote CPU does when told to stop for reboot, kexec or panic. It
 * marks itself offline, silences its local APIC, flushes its caches when the profile says the
 * caches may hold private-KeyID lines, leaves cpus_stop_mask and halts for good. HLT with
 * interrupts off can still be woken by an NMI, which re-enters this function.
 * @see linux arch/x86/kernel/process.c stop_this_cpu()
 */
import type { Cpu } from '../../platform/Cpu.js';
import type { Prog } from '../../platform/Exec.js';
import type { Kernel } from '../Kernel.js';

/** Does this CPU flush in stop_this_cpu() under the kernel's profile? */
export function stop_this_cpu_wants_wbinvd(k: Kernel, cpu: Cpu): boolean {
  switch (k.profile.kexec.stopThisCpuWbinvd) {
    case 'flag':
      // v6.18: only if a SEAMCALL (or SME) may have left incoherent lines; the flag stays set.
      return k.cache_state_incoherent.get(cpu.id);
    case 'platform-tdx':
      // 2022 drafts: SME, or TDX enabled by the BIOS, whether or not TDX was ever initialized:
      // v8's platform_tdx_enabled() (!!nr_tdx_keyids), the RFC's platform_has_tdx()
      // (seamrr_enabled() && tdx_keyid_sufficient()); both are hostPlatform here.
      // @see linux (TDX host v8) 15/16, (RFC, Feb 2022) 19/21 stop_this_cpu()
      return k.platform.isAmd || k.tdx.hostPlatform;
    case 'never':
      return false;
  }
}

/**
 * Stop this CPU for good. Never returns: it ends in a HLT loop that only NMIs interrupt.
 * @see linux stop_this_cpu()
 */
export function* stop_this_cpu(k: Kernel, cpu: Cpu): Prog {
  const st = k.kexec_state;
  k.platform.fp.w('stopRuns', cpu.id);
  st.stopRuns.set(cpu.id, (st.stopRuns.get(cpu.id) ?? 0) + 1);
  cpu.irqEnabled = false;
  k.platform.tracer.emit({ kind: 'mark', t: k.platform.nowNs, cpu: cpu.id, label: 'stop_this_cpu', detail: `run ${st.stopRuns.get(cpu.id) ?? 1}` });
  // set_cpu_online(false), disable_local_APIC(), mcheck_cpu_clear(): this CPU's own state.
  yield { op: 'tick', ns: 2_000, label: 'local:disable_local_APIC' };
  // Before 6.5 this is what native_stop_other_cpus() waits for (num_online_cpus() > 1): from
  // here the stopping CPU may go on, while the WBINVD below still runs.
  k.platform.fp.w('online', cpu.id);
  cpu.online = false;
  if (stop_this_cpu_wants_wbinvd(k, cpu)) {
    k.platform.fp.w('flushes', cpu.id);
    st.flushes.push({ cpu: cpu.id, t: k.platform.nowNs, site: 'stop_this_cpu' });
    // A preemption point per WBINVD sub-block: a CPU that jumps meanwhile leaves the rest of
    // this cache dirty behind it.
    yield* k.platform.wbinvdBlocks(cpu, 'stop_this_cpu:wbinvd');
  }
  if (k.profile.kexec.stopProtocol === 'online-count') {
    for (;;) {
      yield { op: 'halt' };
    }
  }
  // Pairs with native_stop_other_cpus() polling the mask: the CPU counts as stopped from here.
  yield { op: 'yield', label: 'cpus_stop_mask' };
  k.platform.fp.w('cpus_stop_mask', cpu.id);
  st.cpus_stop_mask.delete(cpu.id);
  for (;;) {
    yield { op: 'halt' };
  }
}
