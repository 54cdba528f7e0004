/**
 * A small KVM: enough of kvm_intel to bring TDX up the way KVM does (VMXON everywhere, a CPU
 * hotplug state whose online callback runs tdx_cpu_enable() with IRQs off, then tdx_enable()),
 * to refuse offlining the last CPU of a package while TDs hold KeyIDs, and to create and tear
 * down TDs through the module's TD-lifecycle leaves (kvm/td.ts).
 * @see linux arch/x86/kvm/vmx/tdx.c tdx_bringup(), __tdx_bringup(), tdx_online_cpu(),
 *      tdx_offline_cpu() (v6.16–v6.19); virt/kvm/kvm_main.c kvm_enable_virtualization()
 */
import type { Cpu } from '../../platform/Cpu.js';
import type { Prog } from '../../platform/Exec.js';
import { EBUSY, EINVAL, ENODEV } from '../errno.js';
import type { KernelStatus } from '../errno.js';
import type { CpuhpState, Kernel } from '../Kernel.js';
import { on_each_cpu } from '../smp.js';
import { tdx_cpu_enable, tdx_cpu_flush_cache_for_kexec, tdx_enable, tdx_get_sysinfo } from '../tdx/tdx.js';
import type { Td } from './td.js';

/** KVM's TDX state for one boot. */
export class Kvm {
  /** kvm_intel is loaded (module init returned 0). */
  loaded = false;
  /** The kvm_intel.tdx parameter after bring-up (false: TDX disabled, KVM still works). */
  enable_tdx = false;
  /** Result of the last bring-up (0, or the errno that made kvm_intel fail / TDX off). */
  bringupRet: KernelStatus = 0;
  /** HKIDs configured on all packages (TDs alive). */
  nr_configured_hkid = 0;
  readonly tds: Td[] = [];
  nextTdId = 1;
}

/** KVM's pr_fmt. */
export const KVM_PREFIX = 'kvm_intel: ';

/**
 * VMXON on a CPU, and its inverse. Disabling virtualization on a TDX host first flushes the
 * caches a SEAMCALL may have dirtied (v6.18).
 * @see linux vmx_enable_virtualization_cpu(), tdx_disable_virtualization_cpu()
 */
export const kvmOnlineState: CpuhpState = {
  name: 'kvm/cpu:online',
  *online(_k, cpu) {
    cpu.vmx = true;
    yield { op: 'tick', ns: 1_000, label: 'vmxon' };
    return 0;
  },
  *offline(k, cpu) {
    if (k.profile.cacheStateFlag) {
      yield* tdx_cpu_flush_cache_for_kexec(k, cpu);
    }
    cpu.vmx = false;
    return 0;
  },
};

/**
 * The TDX hotplug state: a late CPU runs tdx_cpu_enable(); the last CPU of a package may not
 * go away while any TD holds a KeyID (TDH.PHYMEM.CACHE.WB must run on every package to free it).
 * @see linux tdx_online_cpu(), tdx_offline_cpu()
 */
export const tdxOnlineState: CpuhpState = {
  name: 'kvm/cpu/tdx:online',
  *online(k, cpu) {
    const saved = cpu.irqEnabled;
    cpu.irqEnabled = false;
    const r = yield* tdx_cpu_enable(k, cpu);
    cpu.irqEnabled = saved;
    return r;
  },
  // eslint-disable-next-line require-yield
  *offline(k, cpu) {
    if (k.kvm.nr_configured_hkid === 0) {
      return 0;
    }
    for (const c of k.platform.cpus) {
      if (c !== cpu && c.online && c.packageId === cpu.packageId) {
        return 0;
      }
    }
    k.scope(KVM_PREFIX).warn('TDX requires all packages to have an online CPU. Delete all TDs in order to offline all CPUs of a package.');
    return -EBUSY;
  },
};

/**
 * modprobe kvm_intel [tdx=1]: enable virtualization on every CPU and, if asked, bring TDX up.
 * A missing module (-ENODEV) only disables TDX; any other TDX error fails the load.
 * @returns 0 when kvm_intel loaded
 * @see linux vmx_init(), tdx_bringup()
 */
export function* kvm_intel_init(k: Kernel, cpu: Cpu, opts: { tdx: boolean } = { tdx: true }): Prog<KernelStatus> {
  const kvm = k.kvm;
  yield* kvm_enable_virtualization(k, cpu);
  let r: KernelStatus = 0;
  if (opts.tdx) {
    r = yield* tdx_bringup(k, cpu);
  }
  kvm.bringupRet = r;
  kvm.loaded = r === 0;
  return r;
}

/** VMXON everywhere and keep it so on CPUs that come online later. @see linux kvm_enable_virtualization() */
export function* kvm_enable_virtualization(k: Kernel, cpu: Cpu): Prog {
  if (k.cpuhp.some((s) => s.name === kvmOnlineState.name)) {
    return;
  }
  yield* k.cpu_hotplug_lock.lock(cpu);
  yield* on_each_cpu(k.platform, cpu, (c) => kvmOnlineState.online(k, c));
  k.cpuhp.push(kvmOnlineState);
  k.cpu_hotplug_lock.unlock(cpu);
}

/** @see linux tdx_bringup() */
function* tdx_bringup(k: Kernel, cpu: Cpu): Prog<KernelStatus> {
  const log = k.scope(KVM_PREFIX);
  if (!k.tdx.hostPlatform) {
    log.err('tdx: no TDX private KeyIDs available');
    k.kvm.enable_tdx = false;
    return 0;
  }
  const r = yield* __tdx_bringup(k, cpu);
  if (r !== 0) {
    k.kvm.enable_tdx = false;
    // No module: TDX off, KVM loads normally.
    return r === -ENODEV ? 0 : r;
  }
  k.kvm.enable_tdx = true;
  return 0;
}

/**
 * Under the CPU hotplug lock: install the TDX hotplug state (which runs tdx_cpu_enable() on
 * every online CPU), then tdx_enable(); on failure remove the state again. Older profiles had
 * no tdx_cpu_enable(): KVM called tdx_enable() (v8) or tdx_detect()+tdx_init() (RFC) alone.
 * @see linux __tdx_bringup()
 */
function* __tdx_bringup(k: Kernel, cpu: Cpu): Prog<KernelStatus> {
  yield* k.cpu_hotplug_lock.lock(cpu);
  let r: KernelStatus = 0;
  if (k.profile.cpuInit === 'tdx_cpu_enable') {
    r = yield* k.cpuhp_setup_state_cpuslocked(cpu, tdxOnlineState);
  }
  if (r === 0) {
    r = yield* tdx_enable(k, cpu);
    if (r !== 0) {
      k.cpuhp_remove_state_nocalls(tdxOnlineState.name);
    }
  }
  k.cpu_hotplug_lock.unlock(cpu);
  if (r !== 0) {
    return r;
  }
  return yield* tdx_check_sysinfo(k, cpu);
}

/**
 * KVM's own checks of what the module offers (6.16+): enough VCPUs per TD for every CPU.
 * @see linux __tdx_bringup() after tdx_get_sysinfo()
 */
function* tdx_check_sysinfo(k: Kernel, cpu: Cpu): Prog<KernelStatus> {
  if (!k.profile.kvmChecksMaxVcpus) {
    return 0;
  }
  const info = yield* tdx_get_sysinfo(k, cpu);
  if (info === undefined) {
    return -EINVAL;
  }
  const max = info.td_conf?.max_vcpus_per_td ?? 0;
  const nr = k.platform.cpus.length;
  if (max < nr) {
    k.scope(KVM_PREFIX).err(`Disable TDX: MAX_VCPU_PER_TD (${max}) smaller than number of logical CPUs (${nr}).`);
    return -EINVAL;
  }
  return 0;
}
