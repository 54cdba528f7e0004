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
import { EBUSY, EINVAL, ENODEV, EOPNOTSUPP } from '../errno.js';
import type { KernelStatus } from '../errno.js';
import type { CpuhpState, Kernel } from '../Kernel.js';
import { on_each_cpu } from '../smp.js';
import type { TdxSysInfoTdConf } from '../tdx/globalMetadata.js';
import { tdx_cpu_enable, tdx_cpu_flush_cache_for_kexec, tdx_enable, tdx_get_sysinfo } from '../tdx/tdx.js';
import type { Td, TdVcpu } from './td.js';
import { tdx_flush_associated_vcpus } from './td.js';

/** KVM's TDX state for one boot. */
export class Kvm {
  /** kvm_intel is loaded (module init returned 0). */
  loaded = false;
  /**
   * The kvm_intel.tdx parameter: set by `tdx=1` at load, cleared by tdx_bringup() when TDX
   * cannot be used (so it is still set while __tdx_bringup() unwinds a failure).
   */
  enable_tdx = false;
  /** Result of the last bring-up (0, or the errno that made kvm_intel fail / TDX off). */
  bringupRet: KernelStatus = 0;
  /**
   * Why KVM's own checks of what the module offers refused TDX at the last bring-up (undefined:
   * no check failed). Most of these checks are silent in Linux, so without this field a failure
   * shows only as `enable_tdx` cleared (or, before the Sept 2025 fix, not even that).
   * @see linux arch/x86/kvm/vmx/tdx.c __tdx_bringup() after tdx_get_sysinfo() (v6.16–v6.19)
   */
  bringupFailure: string | undefined = undefined;
  /** HKIDs configured on all packages (TDs alive). */
  nr_configured_hkid = 0;
  readonly tds: Td[] = [];
  nextTdId = 1;
  /**
   * per_cpu(associated_tdvcpus, cpu): the TD vCPUs loaded on each CPU (vcpu->cpu == cpu), in
   * list order. Only the owning CPU changes its list: vcpu_load() adds the vCPU there after the
   * old CPU removed it in tdx_flush_vp() (by IPI); tdx_disable_virtualization_cpu() walks it.
   * @see linux arch/x86/kvm/vmx/tdx.c associated_tdvcpus, tdx_vcpu_load(), tdx_disassociate_vp() (v6.16–v6.18)
   */
  readonly associated_tdvcpus = new Map<number, TdVcpu[]>();
}

/** KVM's pr_fmt. */
export const KVM_PREFIX = 'kvm_intel: ';

/**
 * VMXON on a CPU, and its inverse. Disabling virtualization first flushes the TD vCPUs loaded on
 * the CPU (VP.FLUSH of its associated_tdvcpus list), then the caches a SEAMCALL may have dirtied
 * (v6.18), but only while enable_tdx is set: vt_disable_virtualization_cpu() calls
 * tdx_disable_virtualization_cpu() under `if (enable_tdx)`.
 * @see linux vmx_enable_virtualization_cpu(), vt_disable_virtualization_cpu(),
 *      tdx_disable_virtualization_cpu()
 */
export const kvmOnlineState: CpuhpState = {
  name: 'kvm/cpu:online',
  *online(_k, cpu) {
    cpu.vmx = true;
    yield { op: 'tick', ns: 1_000, label: 'vmxon' };
    return 0;
  },
  *offline(k, cpu) {
    if (k.kvm.enable_tdx) {
      yield* tdx_flush_associated_vcpus(k, cpu);
    }
    if (k.kvm.enable_tdx && k.profile.cacheStateFlag) {
      yield* tdx_cpu_flush_cache_for_kexec(k, cpu);
    }
    // 7.1+: the TDX code holds its own VMX reference (x86_virt_get_ref()).
    if (!k.tdx.syscoreRegistered) {
      cpu.vmx = false;
    }
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
 * The CPU kvm_intel is loaded on has VMX. Our CPU models carry no CPUID bits: an AMD part has no
 * VMX (CPUID.1:ECX.VMX clear), the Intel parts have it and their BIOS enables it in
 * IA32_FEATURE_CONTROL, so the second check ("VMX not enabled (by BIOS) in MSR_IA32_FEAT_CTL on
 * CPU %d") is never taken here.
 * @see linux arch/x86/kvm/vmx/vmx.c __kvm_is_vmx_supported(): pr_err("VMX not supported by CPU %d\n")
 *      with pr_fmt KBUILD_MODNAME ": "; vmx_init() returns -EOPNOTSUPP when it fails (v6.18)
 */
function kvm_is_vmx_supported(k: Kernel, cpu: Cpu): boolean {
  if (k.platform.isAmd) {
    k.klog.err(`kvm_intel: VMX not supported by CPU ${cpu.id}`);
    return false;
  }
  return true;
}

/**
 * modprobe kvm_intel [tdx=1]: enable virtualization on every CPU and, if asked, bring TDX up.
 * A missing module (-ENODEV) only disables TDX; any other TDX error fails the load.
 * @returns 0 when kvm_intel loaded
 * @see linux vmx_init(), tdx_bringup()
 */
export function* kvm_intel_init(k: Kernel, cpu: Cpu, opts: { tdx: boolean } = { tdx: true }): Prog<KernelStatus> {
  const kvm = k.kvm;
  kvm.enable_tdx = opts.tdx && k.profile.initAt !== 'none';
  kvm.bringupFailure = undefined;
  let r: KernelStatus = 0;
  if (opts.tdx && k.profile.initAt === 'none') {
    // No KVM TDX in this kernel (mainline before 6.16): the parameter is unknown.
    // @see linux kernel/params.c parse_args(): pr_warn("%s: unknown parameter '%s' ignored\n")
    k.klog.warn("kvm_intel: unknown parameter 'tdx' ignored");
  }
  if (!kvm_is_vmx_supported(k, cpu)) {
    // vt_init() → vmx_init() fails before tdx_bringup() and before kvm_init(): no TDX line, no
    // VMXON, no KVM syscore shutdown (so no TDX cache flush at kexec).
    kvm.enable_tdx = false;
    kvm.bringupRet = -EOPNOTSUPP;
    kvm.loaded = false;
    return -EOPNOTSUPP;
  }
  if (opts.tdx && k.profile.initAt !== 'none') {
    // vt_init(): tdx_bringup() runs before kvm_init(), with its own VMXON.
    r = yield* tdx_bringup(k, cpu);
  }
  if (r === 0) {
    // kvm_init() with enable_virt_at_load: VMXON everywhere (again, after a TDX failure).
    yield* kvm_enable_virtualization(k, cpu);
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

/**
 * The last user gone: remove KVM's hotplug state, whose teardown runs on every online CPU (the
 * TDX cache flush while enable_tdx is set, then VMXOFF).
 * @see linux kvm_disable_virtualization() → cpuhp_remove_state(CPUHP_AP_KVM_ONLINE)
 */
export function* kvm_disable_virtualization(k: Kernel, cpu: Cpu): Prog {
  if (!k.cpuhp.some((s) => s.name === kvmOnlineState.name)) {
    return;
  }
  yield* k.cpu_hotplug_lock.lock(cpu);
  yield* on_each_cpu(k.platform, cpu, (c) => kvmOnlineState.offline(k, c));
  k.cpuhp_remove_state_nocalls(kvmOnlineState.name);
  k.cpu_hotplug_lock.unlock(cpu);
}

/** @see linux tdx_bringup() */
function* tdx_bringup(k: Kernel, cpu: Cpu): Prog<KernelStatus> {
  const log = k.scope(KVM_PREFIX);
  if (k.profile.initAt === 'boot') {
    return yield* tdx_bringup_after_boot_init(k, cpu);
  }
  if (!k.tdx.hostPlatform) {
    log.err('tdx: no TDX private KeyIDs available');
    k.kvm.enable_tdx = false;
    return 0;
  }
  const r = yield* __tdx_bringup(k, cpu);
  if (r !== 0 && k.profile.strings.kvmInitFailed !== undefined) {
    log.info(k.profile.strings.kvmInitFailed);
  }
  if (r !== 0) {
    k.kvm.enable_tdx = false;
    // No module: TDX off, KVM loads normally.
    return r === -ENODEV ? 0 : r;
  }
  k.kvm.enable_tdx = true;
  return 0;
}

/**
 * KVM on 7.1+: the module was initialized (or not) at boot; KVM only takes what
 * tdx_get_sysinfo() offers and runs its own checks. No module (NULL sysinfo) quietly disables
 * TDX: "Don't treat loading kvm-intel.ko with tdx=1 as fatal if the system doesn't have a
 * TDX-Module available".
 * @see linux arch/x86/kvm/vmx/tdx.c tdx_hardware_setup(), __tdx_hardware_setup() (165e77353831,
 *      f630de1f8d70) v7.1.3 (the EPT, TDP MMU, APICv and OSXSAVE checks before the platform one
 *      always pass in the model)
 */
function* tdx_bringup_after_boot_init(k: Kernel, cpu: Cpu): Prog<KernelStatus> {
  if (!k.tdx.hostPlatform) {
    k.scope(KVM_PREFIX).err('TDX not supported by the host platform');
    k.kvm.enable_tdx = false;
    return 0;
  }
  const info = yield* tdx_get_sysinfo(k, cpu);
  if (info === undefined) {
    k.kvm.enable_tdx = false;
    return 0;
  }
  const check = yield* tdx_check_sysinfo(k, cpu);
  if (check.failed) {
    k.kvm.enable_tdx = false;
    return check.r;
  }
  k.kvm.enable_tdx = true;
  return 0;
}

/**
 * VMXON everywhere, then under the CPU hotplug lock install the TDX hotplug state (which runs
 * tdx_cpu_enable() on every online CPU) and tdx_enable(); then KVM's own checks of what the
 * module offers. Every failure unwinds like Linux's labels: `get_sysinfo_err` removes the TDX
 * hotplug state, `tdx_bringup_err` disables virtualization again. Older profiles had no
 * tdx_cpu_enable(): KVM called tdx_enable() (v8) or tdx_detect()+tdx_init() (RFC) alone.
 * @see linux __tdx_bringup(), __do_tdx_bringup(), __tdx_cleanup()
 */
function* __tdx_bringup(k: Kernel, cpu: Cpu): Prog<KernelStatus> {
  yield* kvm_enable_virtualization(k, cpu);
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
    // tdx_bringup_err:
    yield* kvm_disable_virtualization(k, cpu);
    return r;
  }
  const check = yield* tdx_check_sysinfo(k, cpu);
  if (check.failed) {
    // get_sysinfo_err: __tdx_cleanup(); tdx_bringup_err: kvm_disable_virtualization();
    yield* k.cpu_hotplug_lock.lock(cpu);
    k.cpuhp_remove_state_nocalls(tdxOnlineState.name);
    k.cpu_hotplug_lock.unlock(cpu);
    yield* kvm_disable_virtualization(k, cpu);
  }
  return check.r;
}

/**
 * What KVM supports in TD ATTRIBUTES: only SEPT_VE_DISABLE (bit 28).
 * @see linux arch/x86/kvm/vmx/tdx.c KVM_SUPPORTED_TD_ATTRS (v6.16–v6.18)
 */
export const KVM_SUPPORTED_TD_ATTRS = 1n << 28n;
/**
 * kvm_caps.supported_xcr0 | supported_xss on the modelled hosts (SPR/EMR): x87, SSE, AVX,
 * the AVX-512 states, PKRU and AMX (XTILECFG/XTILEDATA). XSS states are left out.
 * @see linux arch/x86/kvm/x86.c KVM_SUPPORTED_XCR0, tdx_get_supported_xfam()
 */
export const KVM_SUPPORTED_XFAM = 0x602e7n;
/**
 * TDX_FEATURES0 bit 20: the module virtualises topology enumeration (KVM requires it).
 * @see linux arch/x86/kvm/vmx/tdx_arch.h MD_FIELD_ID_FEATURES0_TOPOLOGY_ENUM (v6.16–v6.18)
 */
export const MD_FIELD_ID_FEATURES0_TOPOLOGY_ENUM = 1n << 20n;

/**
 * The TD attributes KVM can offer: 0 (unusable) if the module forces on a bit KVM does not
 * support, else KVM's bits the module allows.
 * @see linux tdx_get_supported_attrs()
 */
export function tdx_get_supported_attrs(td_conf: TdxSysInfoTdConf): bigint {
  const val = KVM_SUPPORTED_TD_ATTRS;
  if ((val & td_conf.attributes_fixed1) !== td_conf.attributes_fixed1) {
    return 0n;
  }
  return val & td_conf.attributes_fixed0;
}

/**
 * The XFAM KVM can offer: 0 if the module forces on a state the host does not support, else
 * the host's states the module allows.
 * @see linux tdx_get_supported_xfam()
 */
export function tdx_get_supported_xfam(td_conf: TdxSysInfoTdConf): bigint {
  const val = KVM_SUPPORTED_XFAM;
  if ((val & td_conf.xfam_fixed1) !== td_conf.xfam_fixed1) {
    return 0n;
  }
  return val & td_conf.xfam_fixed0;
}

/**
 * KVM's checks of what the module offers (6.16+), silent except the MAX_VCPUS one: supported
 * attributes and XFAM, TOPOLOGY_ENUM, enough VCPUs per TD for every CPU, the misc cgroup
 * capacity (which cannot fail for MISC_CG_RES_TDX). `failed` means `goto get_sysinfo_err`;
 * `r` is what __tdx_bringup() then returns: -EINVAL, or 0 for the attribute/XFAM/topology
 * checks on kernels before the Sept 2025 fix (KVM then loads with enable_tdx set).
 * @see linux __tdx_bringup() after tdx_get_sysinfo()
 */
function* tdx_check_sysinfo(k: Kernel, cpu: Cpu): Prog<{ failed: boolean; r: KernelStatus }> {
  if (!k.profile.kvmChecksMaxVcpus) {
    return { failed: false, r: 0 };
  }
  const fail = (r: KernelStatus, why: string): { failed: boolean; r: KernelStatus } => {
    k.kvm.bringupFailure = why;
    return { failed: true, r };
  };
  // r = -EINVAL before tdx_get_sysinfo() since the fix; r still holds 0 before it.
  const r: KernelStatus = k.profile.kvmSysinfoErrEinval ? -EINVAL : 0;
  const info = yield* tdx_get_sysinfo(k, cpu);
  if (info?.td_conf === undefined || info.features === undefined) {
    return fail(-EINVAL, 'tdx_get_sysinfo() gave no TD configuration or features');
  }
  const td_conf = info.td_conf;
  if (tdx_get_supported_attrs(td_conf) === 0n) {
    return fail(r, 'the module forces on TD attributes KVM does not support (ATTRIBUTES_FIXED1), or allows none of KVM\'s (ATTRIBUTES_FIXED0)');
  }
  if (tdx_get_supported_xfam(td_conf) === 0n) {
    return fail(r, 'the module forces on XSAVE features the host does not support (XFAM_FIXED1), or allows none of the host\'s (XFAM_FIXED0)');
  }
  if ((info.features.tdx_features0 & MD_FIELD_ID_FEATURES0_TOPOLOGY_ENUM) === 0n) {
    return fail(r, 'TDX_FEATURES0 lacks TOPOLOGY_ENUM (bit 20)');
  }
  const max = td_conf.max_vcpus_per_td;
  const nr = k.platform.cpus.length;
  if (max < nr) {
    k.scope(KVM_PREFIX).err(`Disable TDX: MAX_VCPU_PER_TD (${max}) smaller than number of logical CPUs (${nr}).`);
    return fail(-EINVAL, `MAX_VCPUS_PER_TD (${max}) is smaller than the number of logical CPUs (${nr})`);
  }
  return { failed: false, r: 0 };
}
