/**
 * Kernel profiles: the kernels people run, named after the release that first carries each
 * change to the TDX host code (mainline `linux-6.6` … `linux-7.2`, Canonical's
 * `ubuntu-6.8-intel`) and the 2022 drafts, as data plus a few small strategy functions at the
 * points where they differ (log strings, where module limits come from, how holes are computed,
 * what a failure does, who initializes the module and when, how kexec flushes caches and
 * disables the module). The kernel code in tdx/ is written once and consults the profile at
 * those points. Each profile's `source` names what it follows; docs/kernel.md has the table.
 * @see shared spec linux-host.md section 8 (the table of differences)
 */
import type { Cpu } from '../platform/Cpu.js';
import type { Kernel } from './Kernel.js';
import type { KvmWarnLines } from './kvm/tdxBugSites.js';
import type { PrErr, SeamResult } from './tdx/seamcall.js';
import { pr_err_once, seamcallErrLines } from './tdx/seamcall.js';

/** Names of the kernel profiles. */
export const KERNEL_PROFILE_NAMES = ['linux-6.18', 'linux-6.6', 'ubuntu-6.8-intel', 'linux-6.16', 'linux-7.1', 'linux-7.2', 'tdx-host-v8', 'tdx-host-rfc'] as const;
/**
 * Mutants: profiles that are wrong on purpose, to show that the checkers catch what they should
 * (not historical kernels; `tdxsim plan --compare` leaves them out).
 */
export const MUTANT_PROFILE_NAMES = ['mutant-no-kexec-wbinvd'] as const;
/** A kernel profile name. */
export type KernelProfileName = (typeof KERNEL_PROFILE_NAMES)[number] | (typeof MUTANT_PROFILE_NAMES)[number];
/** The default kernel profile. */
export const DEFAULT_KERNEL_PROFILE: KernelProfileName = 'linux-6.18';

/** The era's log strings (text after the pr_fmt prefix). */
export interface KernelStrings {
  /** pr_fmt of tdx.c: `virt/tdx: ` (2023+) or `tdx: ` (2022 drafts). */
  readonly prefix: string;
  /** The boot line with the private KeyID range (none in the RFC: detection printed nothing on success). */
  keyidRange(start: number, end: number): string | undefined;
  tooFewKeyids(nr: number): string;
  readonly hibernation: string;
  readonly acpiS3: string | undefined;
  readonly moduleNotLoaded: string;
  pamtAllocated(kb: number, pages: number): string;
  readonly initialized: string;
  initFailed(ret: number): string;
  /** Extra line after initFailed (the RFC's "Shut it down."), if any. */
  readonly shutdownSuffix: boolean;
  /**
   * printk level of the too-few-KeyIDs line: pr_err (2023+), pr_info (v8, RFC).
   * @see linux (TDX host v8, 9 Dec 2022) 02/16 tdx_init()
   */
  readonly tooFewKeyidsLevel: 'err' | 'info';
  /**
   * printk level of initFailed: pr_err (v8+), pr_info (RFC's `Shut it down.`).
   * @see linux (RFC-era tdx.c) init_tdx_module() failure, v5 22/22 documentation
   */
  readonly initFailedLevel: 'err' | 'info';
  /**
   * The module identity line printed after TDH.SYS.INFO, before the CMR lines (drafts only).
   * @see linux (TDX host v8, 9 Dec 2022) 06/16 tdx_get_sysinfo()
   */
  moduleInfo?(leg: { attributes: number; vendor_id: number; major_version: number; minor_version: number; build_date: number; build_num: number }): string;
  /**
   * tdx_enable() at boot on a machine without the TDX host platform (7.1+, pr_err).
   * @see linux arch/x86/virt/vmx/tdx/tdx.c tdx_enable() (165e77353831, v7.1)
   */
  readonly notSupported?: string;
  /**
   * KVM's line after a failed tdx_enable() (the out-of-tree KVM TDX that Ubuntu's 6.8 kernel
   * carries; pr_info, prefix `kvm_intel: `).
   * @see canonical/tdx #83, #331 (6.8.0-1001-intel, 6.8.0-1015-intel); kvm-tdx tdx_module_setup()
   */
  readonly kvmInitFailed?: string;
  /** Print a SEAMCALL failure the way this era does. */
  seamcallErr(k: Kernel, cpu: Cpu, fn: bigint, r: SeamResult, prerr: PrErr): void;
}

/** Where init_tdx_module() learns the module's limits. */
export type MetadataSource = 'sys-rd' | 'sys-info';
/** Who issues TDH.SYS.INIT / LP.INIT. */
export type CpuInitStrategy =
  /** v9+ (2023) and merged: the caller runs tdx_cpu_enable() on every CPU before tdx_enable(). */
  | 'tdx_cpu_enable'
  /** RFC/v7: init_tdx_module() does SYS.INIT, then LP.INIT on all online CPUs itself. */
  | 'in-init'
  /** v8 (Dec 2022): no SYS.INIT/LP.INIT at all (the series assumed the module spec would drop them). */
  | 'none';

/** kexec-time cache flushing (used by issue 5's kexec code; recorded here as data). */
export interface KexecPolicy {
  /** stop_this_cpu() WBINVD: iff the per-CPU flag is set (6.18), iff TDX is BIOS-enabled (2022 drafts), never (6.8: no kexec). */
  readonly stopThisCpuWbinvd: 'flag' | 'platform-tdx' | 'never';
  /** relocate_kernel WBINVD on the kexec-ing CPU: iff its own flag (6.18), only for SME (drafts), never (mutant). */
  readonly relocateWbinvd: 'flag' | 'sme-only' | 'never';
  /** KVM's syscore shutdown flushes each CPU whose flag is set (tdx_cpu_flush_cache_for_kexec, 6.18). */
  readonly earlyFlush: boolean;
  /**
   * How native_stop_other_cpus() decides that the other CPUs have stopped.
   * - `online-count` (before 6.5): `while (num_online_cpus() > 1 && timeout--)`, NMIs to all
   *   but self; stop_this_cpu() does set_cpu_online(false) *before* its WBINVD, so the
   *   stopping CPU may go on (and jump) while a remote WBINVD still runs.
   * - `stop-mask` (6.5+, commit 1f5e7eb7868e "x86/smp: Make stop_other_cpus() more robust"):
   *   wait for cpus_stop_mask, which a CPU leaves only *after* its WBINVD.
   * @see linux arch/x86/kernel/smp.c native_stop_other_cpus(), process.c stop_this_cpu()
   */
  readonly stopProtocol: 'online-count' | 'stop-mask';
  /**
   * Who flushes the caches at kexec before the CPUs stop: KVM's disable-virtualization path
   * (6.18–7.1, while enable_tdx) or the arch `tdx_shutdown` syscore callback, registered after
   * a successful module init (7.2: "Pull kexec cache flush logic into arch/x86").
   * @see linux arch/x86/kvm/vmx/tdx.c tdx_disable_virtualization_cpu() v7.1.3;
   *      arch/x86/virt/vmx/tdx/tdx.c tdx_shutdown(), tdx_shutdown_cpu() at 5b25f249be32 (x86_tdx_for_7.2)
   */
  readonly earlyFlushBy: 'kvm' | 'tdx_shutdown';
  /**
   * The old kernel runs TDH.SYS.DISABLE in tdx_shutdown (kexec, reboot) and in
   * native_machine_crash_shutdown() (kdump), without checking TDX_FEATURES0.SYS_DISABLE: an
   * older module answers TDX_OPERAND_INVALID and one line is printed (7.2).
   * @see linux 5b25f249be32 "x86/tdx: Disable the TDX module during kexec and kdump" (v7.2);
   *      arch/x86/virt/vmx/tdx/tdx.c tdx_sys_disable() read at 5b25f249be32; its arch/x86/kernel/crash.c
   *      and machine_kexec_64.c hunks apply to 7.1.3's files (blobs cd796818d94d, 0590d399d4f1)
   */
  readonly sysDisable: boolean;
  /** Kconfig allows KEXEC_CORE together with INTEL_TDX_HOST. */
  readonly kexecAllowed: boolean;
  /** machine_kexec_prepare() refuses on X86_BUG_TDX_PW_MCE platforms. */
  readonly refuseOnErratum: boolean;
  /**
   * How long native_stop_other_cpus() waits for the REBOOT IPI before the NMIs. Absent: Linux's
   * one second (STOP_REBOOT_WAIT_NS). Only scenario overrides set it (a patch idea to try).
   * @see linux arch/x86/kernel/smp.c native_stop_other_cpus() `timeout = USEC_PER_SEC`
   */
  readonly rebootWaitNs?: number;
  /**
   * Whether CPUs still running after the REBOOT wait get NMIs. Absent: true, as in every Linux
   * version modelled. Only scenario overrides clear it.
   * @see linux arch/x86/kernel/smp.c native_stop_other_cpus() register_stop_handler()
   */
  readonly nmiFallback?: boolean;
  /**
   * When tdx_cpu_flush_cache_for_kexec() clears the per-CPU flag. Absent: after the WBINVD, as
   * 6.18 does. Only scenario overrides change it.
   * @see linux arch/x86/virt/vmx/tdx/tdx.c tdx_cpu_flush_cache_for_kexec() v6.18
   */
  readonly flagClear?: 'after-wbinvd' | 'before-wbinvd' | 'never';
}

/** Everything that distinguishes one kernel version's TDX host support from another. */
export interface KernelProfile {
  readonly name: KernelProfileName;
  readonly description: string;
  /** What the profile follows (release, commits, logs). */
  readonly source: string;
  /** The `Linux version` string this kernel prints. */
  readonly linuxVersion: string;
  /**
   * The kernel has TDX host code (arch/x86/virt/vmx/tdx/tdx.c: first in v6.8; the 2022
   * drafts). Without it nothing is detected and nothing issues a SEAMCALL.
   */
  readonly hostSupport: boolean;
  /**
   * Who initializes the module: KVM when kvm_intel loads with tdx=1 (v6.16–v7.0, the drafts,
   * Ubuntu's out-of-tree KVM), or the arch code at boot (`subsys_initcall(tdx_enable)`, v7.1+,
   * whatever kvm_intel does). `none`: nothing in the kernel calls tdx_enable() (mainline before
   * v6.16 has no KVM TDX).
   * @see linux 165e77353831 "KVM: x86/tdx: Do VMXON and TDX-Module initialization during subsys init" (v7.1)
   */
  readonly initAt: 'kvm' | 'boot' | 'none';
  /**
   * Module identity and CMRs from TDH.SYS.INFO before the TDH.SYS.RD reads (`TDX module:
   * attributes …` and `CMR: […)` lines, as Ubuntu's 6.8 kernels from 6.8.0-1004 print).
   * @see canonical/tdx #135, #285, #331, #385
   */
  readonly moduleInfoViaSysInfo: boolean;
  /** Module profile used when the platform and caller name none. */
  readonly defaultModule: string;
  /** Boot detection: MSR 0x87 only (v7+), or SEAMRR probing on every CPU (RFC). */
  readonly detection: 'msr' | 'seamrr';
  readonly cpuInit: CpuInitStrategy;
  readonly metadata: MetadataSource;
  /** TDH.SYS.RD groups read after the TDMR group (6.14: features; 6.16: td_ctrl/td_conf). */
  readonly readFeatures: boolean;
  readonly readTdConf: boolean;
  /** Print `Module version: %u.%u.%02u` (2026 only). */
  readonly printVersion: boolean;
  /** Reserved-area holes from the memory list (Linux) or from the CMRs (distribution variant). */
  readonly holes: 'memlist' | 'cmrs';
  /** On init failure: state ERROR (v8+), or TDH.SYS.LP.SHUTDOWN on all CPUs and SHUTDOWN (RFC–v7). */
  readonly failure: 'error' | 'lp-shutdown';
  /** __tdx_enable() returns -EINVAL for every failure (v8), or the real error. */
  readonly universalEinval: boolean;
  /** sc_retry() on TDX_RND_NO_ENTROPY (v9+). */
  readonly entropyRetry: boolean;
  /** Per-CPU cache_state_incoherent set by every SEAMCALL (v6.18+). */
  readonly cacheStateFlag: boolean;
  /** Name of the initial module state in messages and snapshots. */
  readonly uninitializedName: 'UNINITIALIZED' | 'UNKNOWN';
  /**
   * KVM's __tdx_bringup() checks what the module offers after tdx_get_sysinfo(): supported
   * attributes/XFAM, TOPOLOGY_ENUM, MAX_VCPUS_PER_TD against the CPU count (6.16+).
   */
  readonly kvmChecksMaxVcpus: boolean;
  /**
   * Those checks' silent failures return -EINVAL (`r = -EINVAL` before tdx_get_sysinfo(), the
   * Sept 2025 fix, in v6.18: kvm-x86-vmx-6.18, commit 510c47f165f0), or 0 as in v6.16/v6.17,
   * where kvm_intel then loads with enable_tdx still set.
   * @see linux arch/x86/kvm/vmx/tdx.c __tdx_bringup() ("KVM: TDX: Fix uninitialized error code for __tdx_bringup()")
   */
  readonly kvmSysinfoErrEinval: boolean;
  /**
   * Where init_tdx_module() reads the module's TDMR limits: first, before get_online_mems()
   * (since the 2024 global-metadata rework, and in the 2022 drafts), or after build_tdx_memlist() under get_online_mems(), a
   * failure unwinding through err_free_tdxmem (v6.8).
   * @see linux arch/x86/virt/vmx/tdx/tdx.c init_tdx_module() v6.8: get_tdx_tdmr_sysinfo()
   */
  readonly sysinfoInMems: boolean;
  /**
   * How SEAMCALL statuses become errnos and prints:
   * - `merged` (v9+): sc_retry_prerr(), -ENODEV/-EOPNOTSUPP/-EACCES silently, -EIO with a print;
   * - `v8`: seamcall() prints every outcome with pr_err_once: `TDX module is not loaded.`
   *   (-ENODEV), `[firmware bug]: TDX is not enabled by BIOS.` (#GP, -ENODEV), `CPU is not in
   *   VMX operation.` (#UD, -EINVAL), `SEAMCALL failed: leaf %llu, error 0x%llx.` (-EIO);
   * - `rfc`: VMfailInvalid is -ENODEV, a status with bit 63 prints `SEAMCALL leaf %llu failed:
   *   0x%llx` and is -EFAULT, any other status (bit 63 clear) is success.
   * @see linux (TDX host v8, 9 Dec 2022) 05/16 seamcall(); (RFC-era tdx.c) seamcall()
   */
  readonly seamcallErrors: 'merged' | 'v8' | 'rfc';
  /**
   * tdx_init() refuses TDX when hibernation is possible (2023 series on; not in v8 or the RFC).
   * @see linux tdx_init() (v6.8+); (TDX host v8, 9 Dec 2022) 02/16 tdx_init() has no such check
   */
  readonly hibernationCheck: boolean;
  /**
   * X86_BUG_TDX_PW_MCE and the PAMT reset with MOVDIR64B on the error path (2023 series on;
   * the 2022 drafts have neither).
   * @see linux check_tdx_erratum(), tdmrs_quirk_reset_pamt_all() (v6.8+)
   */
  readonly pwMceQuirk: boolean;
  /**
   * Memory hot-add: the memory notifier vetoes onlining non-TDX memory after init (v8+), or
   * arch_memory_add_precheck() refuses every hot-add on a TDX platform (2022 RFC–v5).
   * @see linux (v5, 22 Jun 2022) 05/22 arch_memory_add_precheck(); tdx_memory_notifier()
   */
  readonly memHotplug: 'notifier' | 'reject-add';
  /**
   * How KVM prints a failed TD SEAMCALL: `pr_tdx_error` (mainline 6.16–6.18: `kvm_intel: SEAMCALL
   * <LEAF> failed: 0x%llx[, rcx …]`, every failure, the default), `tdx_bug_on` (6.19 on:
   * `TDX_BUG_ON*()`, the extra values named after KVM's variables, `, entry 0x%llx, level_state
   * 0x%llx`, and printed only for a VM's first failure) or `seamcall-regs` (the out-of-tree KVM
   * TDX of Ubuntu's 6.8 kernels: `SEAMCALL (0x%016llx) failed: 0x%016llx RCX … R11 …` on one
   * line, no prefix).
   * @see linux arch/x86/kvm/vmx/tdx.c pr_tdx_error() (v6.16–v6.18); "[GIT PULL] KVM: x86: TDX
   *      changes for 6.19" (kvm-x86-tdx-6.19: 597d7068702f, 55560b6be5bc);
   *      test/fixtures/corpus/11-*, 12-* (canonical/tdx #156, #153)
   */
  readonly kvmTdxErrors?: 'pr_tdx_error' | 'tdx_bug_on' | 'seamcall-regs';
  /**
   * Whether KVM's WARN_ON_ONCE()/KVM_BUG_ON() on a failed TD SEAMCALL prints its splat (cut here,
   * `WARNING: CPU: … at arch/x86/kvm/vmx/tdx.c:<line> <function> [kvm_intel]`, end trace), and
   * with the line numbers of which release's tdx.c (`kvm/tdxBugSites.ts`): only where that file
   * was read, linux-6.16 (6.16.1's lines), linux-6.18 (6.18.2's) and linux-7.1 (7.1.3's, in
   * 7.1.3's WARNING line format). Undefined: the WARN still fires once per call site and
   * KVM_BUG_ON still bugs the VM, without the splat lines (docs/kernel.md).
   * @see linux arch/x86/kvm/vmx/tdx.c (v6.16.1, v6.18.2, v7.1.3); kernel/panic.c __warn(); lib/bug.c report_bug()
   */
  readonly kvmWarnSplat?: KvmWarnLines | undefined;
  /**
   * Pages KVM gets back from the module (RECLAIM, PAGE.REMOVE) are cleared with MOVDIR64B:
   * `always` (6.16, 6.17: tdx_clear_page()) or only on X86_BUG_TDX_PW_MCE parts (`quirk`, the
   * default: 6.18+, tdx_quirk_reset_page()). Ubuntu's out-of-tree KVM was not checked and is
   * modelled as `quirk`.
   * @see linux 01fb93a363e0 "x86/tdx: Skip clearing reclaimed pages unless X86_BUG_TDX_PW_MCE is present" (x86_tdx_for_6.18)
   */
  readonly kvmClearReclaimed?: 'always' | 'quirk';
  /**
   * The order in which KVM takes a TD apart (docs/kernel.md, "TD teardown order"):
   * - `upstream` (the default; mainline KVM TDX, 6.16 on): private memory leaves the TD while
   *   its HKID is still assigned, when the guest_memfd file goes (per 4 KiB leaf RANGE.BLOCK,
   *   MEM.TRACK, PAGE.REMOVE, PAGE.WBINVD under the HKID); only then tdx_mmu_release_hkid()
   *   (VP.FLUSH, VPFLUSHDONE, CACHE.WB per package, KEY.FREEID), then RECLAIM of the TDCX pages
   *   and TDVPR (tdx_vcpu_free()), the Secure EPT pages (tdx_sept_free_private_spt()), the TDCS
   *   pages and the TDR (tdx_vm_destroy());
   * - `out-of-tree` (Isaku Yamahata's KVM TDX series, which Ubuntu's 6.8 kernels carry and the
   *   2022 host drafts ran under): the HKID is released first, from the MMU notifier's release
   *   (vt_flush_shadow_all_private() → tdx_mmu_release_hkid()), and every private page is then
   *   RECLAIMed (tdx_sept_drop_private_spte() reclaims when the HKID is gone).
   * @see linux arch/x86/kvm/vmx/tdx.c tdx_sept_remove_private_spte(), tdx_mmu_release_hkid(),
   *      tdx_vcpu_free(), tdx_sept_free_private_spt(), tdx_vm_destroy(); vmx/main.c
   *      vt_vm_pre_destroy() (v6.16); KVM TDX v10 (Oct 2022) vt_flush_shadow_all_private(),
   *      tdx_sept_drop_private_spte()
   */
  readonly kvmTdTeardown?: 'upstream' | 'out-of-tree';
  readonly kexec: KexecPolicy;
  readonly strings: KernelStrings;
}

function mergedSeamcallErr(k: Kernel, _cpu: Cpu, fn: bigint, r: SeamResult, prerr: PrErr): void {
  for (const l of seamcallErrLines(fn, r, prerr)) {
    k.log.err(l);
  }
}

/**
 * v8's failure print for an error status: pr_err_once, leaf in decimal, no CPU number.
 * @see linux (TDX host v8, 9 Dec 2022) 05/16 seamcall()
 */
function v8SeamcallErr(k: Kernel, _cpu: Cpu, fn: bigint, r: SeamResult, prerr: PrErr): void {
  pr_err_once(k, 'seamcall:failed', `SEAMCALL failed: leaf ${fn.toString()}, error 0x${r.ret.toString(16)}.`);
  if (prerr === 'seamcall_prerr_ret') {
    const o = r.out;
    const h = (v: bigint): string => `0x${v.toString(16)}`;
    pr_err_once(k, 'seamcall:additional', `additional output: rcx ${h(o.rcx)}, rdx ${h(o.rdx)}, r8 ${h(o.r8)}, r9 ${h(o.r9)}, r10 ${h(o.r10)}, r11 ${h(o.r11)}.`);
  }
}

/**
 * The RFC's failure print for a status with bit 63 set (pr_err, every time).
 * @see linux (RFC-era tdx.c) seamcall(): `pr_err("SEAMCALL leaf %llu failed: 0x%llx\n", fn, ret)`
 */
function rfcSeamcallErr(k: Kernel, _cpu: Cpu, fn: bigint, r: SeamResult): void {
  k.log.err(`SEAMCALL leaf ${fn.toString()} failed: 0x${r.ret.toString(16)}`);
}

const MERGED_STRINGS: KernelStrings = {
  prefix: 'virt/tdx: ',
  keyidRange: (s, e) => `BIOS enabled: private KeyID range [${s}, ${e})`,
  tooFewKeyids: () => 'initialization failed: too few private KeyIDs available.',
  hibernation: 'initialization failed: Hibernation support is enabled',
  acpiS3: 'Disable ACPI S3. Turn off TDX in the BIOS to use ACPI S3.',
  moduleNotLoaded: 'module not loaded',
  pamtAllocated: (kb) => `${kb} KB allocated for PAMT`,
  initialized: 'module initialized',
  initFailed: (ret) => `module initialization failed (${ret})`,
  shutdownSuffix: false,
  tooFewKeyidsLevel: 'err',
  initFailedLevel: 'err',
  seamcallErr: mergedSeamcallErr,
};

const V8_STRINGS: KernelStrings = {
  prefix: 'tdx: ',
  keyidRange: (s, e) => `BIOS enabled: private KeyID range [${s}, ${e})`,
  tooFewKeyids: (nr) => `initialization failed: too few private KeyIDs available (${nr}).`,
  hibernation: 'initialization failed: Hibernation support is enabled',
  acpiS3: undefined,
  moduleNotLoaded: 'TDX module is not loaded.',
  pamtAllocated: (kb) => `${kb} KBs allocated for PAMT.`,
  initialized: 'TDX module initialized.',
  initFailed: (ret) => `initialization failed (${ret})`,
  shutdownSuffix: false,
  tooFewKeyidsLevel: 'info',
  initFailedLevel: 'err',
  /** Typo ("atributes") and the missing newline as posted. @see linux (TDX host v8, 9 Dec 2022) 06/16 tdx_get_sysinfo() */
  moduleInfo: (l) =>
    `TDX module: atributes 0x${l.attributes.toString(16)}, vendor_id 0x${l.vendor_id.toString(16)}, major_version ${l.major_version}, minor_version ${l.minor_version}, build_date ${l.build_date}, build_num ${l.build_num}`,
  seamcallErr: v8SeamcallErr,
};

const RFC_STRINGS: KernelStrings = {
  prefix: 'tdx: ',
  // RFC detect_tdx_keyids_bsp() prints nothing on success (the v5 documentation's
  // `TDX private KeyID range: [16, 64).` was never in the RFC's code).
  keyidRange: () => undefined,
  tooFewKeyids: (nr) => `initialization failed: too few private KeyIDs available (${nr}).`,
  hibernation: 'initialization failed: Hibernation support is enabled',
  acpiS3: undefined,
  moduleNotLoaded: 'TDX module is not loaded.',
  pamtAllocated: (_kb, pages) => `${pages} pages allocated for PAMT.`,
  initialized: 'TDX module initialized.',
  initFailed: () => 'Failed to initialize TDX module. Shut it down.',
  shutdownSuffix: true,
  tooFewKeyidsLevel: 'info',
  initFailedLevel: 'info',
  /** @see linux (RFC-era tdx.c, v5 22/22 documentation) tdx_get_sysinfo() */
  moduleInfo: (l) =>
    `TDX module: attributes 0x${l.attributes.toString(16)}, vendor_id 0x${l.vendor_id.toString(16)}, major_version ${l.major_version}, minor_version ${l.minor_version}, build_date ${l.build_date}, build_num ${l.build_num}`,
  seamcallErr: rfcSeamcallErr,
};

/** The 2026 strings: `TDX-Module initialized` and its failure line replace `module initialized`. */
const V7_1_STRINGS: KernelStrings = {
  ...MERGED_STRINGS,
  /** @see linux arch/x86/virt/vmx/tdx/tdx.c tdx_enable() (165e77353831, v7.1); intel/lkvs #575 */
  initialized: 'TDX-Module initialized',
  initFailed: (ret) => `TDX-Module initialization failed (${ret})`,
  notSupported: 'TDX not supported by the host platform',
};

const LINUX_6_18: KernelProfile = {
  name: 'linux-6.18',
  description: 'Linux 6.18: KVM brings TDX up (kvm_intel tdx=1); TDH.SYS.RD of features, TDMR, td_ctrl and td_conf; kexec allowed, with per-CPU cache_state_incoherent flushes; kexec refused on partial-write-erratum CPUs',
  source: 'torvalds/linux arch/x86/virt/vmx/tdx/tdx.c and arch/x86/kvm/vmx/tdx.c; merge 50ac57c3b156 "x86_tdx_for_6.18-rc1" (the kexec series)',
  linuxVersion: '6.18.0',
  hostSupport: true,
  initAt: 'kvm',
  moduleInfoViaSysInfo: false,
  defaultModule: '1.5.06',
  detection: 'msr',
  cpuInit: 'tdx_cpu_enable',
  metadata: 'sys-rd',
  readFeatures: true,
  readTdConf: true,
  printVersion: false,
  holes: 'memlist',
  failure: 'error',
  universalEinval: false,
  entropyRetry: true,
  cacheStateFlag: true,
  uninitializedName: 'UNINITIALIZED',
  kvmChecksMaxVcpus: true,
  kvmSysinfoErrEinval: true,
  sysinfoInMems: false,
  seamcallErrors: 'merged',
  hibernationCheck: true,
  pwMceQuirk: true,
  memHotplug: 'notifier',
  kexec: { stopThisCpuWbinvd: 'flag', relocateWbinvd: 'flag', earlyFlush: true, earlyFlushBy: 'kvm', sysDisable: false, stopProtocol: 'stop-mask', kexecAllowed: true, refuseOnErratum: true },
  strings: MERGED_STRINGS,
  kvmWarnSplat: '6.18.2',
};

/** No kexec: INTEL_TDX_HOST depends on !KEXEC_CORE (v6.8 to v6.17). */
const NO_KEXEC: KexecPolicy = { stopThisCpuWbinvd: 'never', relocateWbinvd: 'sme-only', earlyFlush: false, earlyFlushBy: 'kvm', sysDisable: false, stopProtocol: 'stop-mask', kexecAllowed: false, refuseOnErratum: false };

/**
 * Linux 6.16 (and 6.17): KVM TDX merged; the core reads the td_ctrl/td_conf groups for KVM; no
 * kexec yet; KVM's silent sysinfo checks return 0 (fixed in 6.18).
 */
const LINUX_6_16: KernelProfile = {
  ...LINUX_6_18,
  name: 'linux-6.16',
  description: 'Linux 6.16: KVM TDX merged (kvm_intel tdx=1 initializes the module); reads MAX_VCPUS_PER_TD; INTEL_TDX_HOST still depends on !KEXEC_CORE',
  source: 'torvalds/linux merge 43db11110730 "First batch of KVM changes for Linux 6.16" (KVM TDX; "x86/virt/tdx: Read essential global metadata for KVM"); 6.14 merge 113691ce9f32 (auto-generated metadata reads, NO_RBP_MOD)',
  linuxVersion: '6.16.0',
  cacheStateFlag: false,
  kvmSysinfoErrEinval: false,
  kvmClearReclaimed: 'always',
  kexec: NO_KEXEC,
  kvmWarnSplat: '6.16.1',
};

/**
 * Linux 6.6 (an LTS kernel): no TDX host code at all (arch/x86/virt/vmx/tdx/tdx.c arrived in
 * 6.8; 6.7 only reworked the SEAMCALL wrappers). Nothing is detected and no SEAMCALL is issued.
 * @see "[GIT PULL] x86/tdx for 6.8" (create mode arch/x86/virt/vmx/tdx/tdx.c); "x86/tdx for 6.7"
 */
const LINUX_6_6: KernelProfile = {
  ...LINUX_6_16,
  name: 'linux-6.6',
  description: 'Linux 6.6: no TDX host support (the host code arrived in 6.8, KVM TDX in 6.16): the module is never touched',
  source: '"[GIT PULL] x86/tdx for 6.8" (merge b4442cadca2f creates arch/x86/virt/vmx/tdx/tdx.c); the 6.7 pull only reworked the SEAMCALL wrappers',
  linuxVersion: '6.6.0',
  hostSupport: false,
  initAt: 'none',
  readFeatures: false,
  readTdConf: false,
  kvmChecksMaxVcpus: false,
  kexec: { ...NO_KEXEC, kexecAllowed: true },
};

/**
 * Canonical's linux-intel 6.8 (Ubuntu 24.04), as its logs show it from 6.8.0-1004 on: the
 * mainline 6.8 host core plus the out-of-tree KVM TDX (which initializes the module and says
 * `Failed to initialize TDX module.` on failure), TDH.SYS.INFO's module identity and CMR lines
 * before the TDH.SYS.RD reads of the five TDMR fields, and reserved-area holes from the CMRs
 * (the reserved-areas failure of 6.8.0-1004 is gone in -1006 on the same host). Whether it
 * allows kexec with TDX is unknown; mainline 6.8 does not (INTEL_TDX_HOST depends on
 * !KEXEC_CORE), and the model follows mainline.
 * @see canonical/tdx #83 (-1001), #135 (-1004, -1006), #285, #331 (-1015), #385 (-1028), #415
 */
const UBUNTU_6_8_INTEL: KernelProfile = {
  ...LINUX_6_18,
  name: 'ubuntu-6.8-intel',
  description: 'Ubuntu 24.04 linux-intel 6.8 (6.8.0-1004 and later): out-of-tree KVM TDX, module identity and CMR lines from TDH.SYS.INFO, TDMR fields from TDH.SYS.RD, reserved areas from the CMRs; no kexec',
  source: 'real logs: canonical/tdx #83, #135, #285, #331, #385 (the Ubuntu source itself was not read); mainline 6.8 tdx.c for the rest',
  linuxVersion: '6.8.0-1028-intel',
  moduleInfoViaSysInfo: true,
  defaultModule: '1.5.05',
  readFeatures: false,
  readTdConf: false,
  holes: 'cmrs',
  cacheStateFlag: false,
  kvmChecksMaxVcpus: false,
  sysinfoInMems: true,
  kexec: NO_KEXEC,
  strings: {
    ...MERGED_STRINGS,
    /** Kai Huang's v13 08/22 format (spelled right from v12), which Ubuntu's logs show. @see canonical/tdx #135 */
    moduleInfo: (l) =>
      `TDX module: attributes 0x${l.attributes.toString(16)}, vendor_id 0x${l.vendor_id.toString(16)}, major_version ${l.major_version}, minor_version ${l.minor_version}, build_date ${l.build_date}, build_num ${l.build_num}`,
    kvmInitFailed: 'Failed to initialize TDX module.',
  },
  kvmTdxErrors: 'seamcall-regs',
  kvmTdTeardown: 'out-of-tree',
  // Ubuntu's out-of-tree tdx.c was not read (its real WARNING lines differ from build to build).
  kvmWarnSplat: undefined,
};

/**
 * Linux 7.1: the module is initialized at boot by the arch code (`subsys_initcall(tdx_enable)`,
 * VMXON included), whatever kvm_intel does; the version print after the version group is read;
 * `TDX-Module initialized`. KVM only consumes tdx_get_sysinfo(). kexec as in 6.18 (still refused
 * on erratum CPUs); a kexec'd 7.1 kernel still finds the module initialized.
 * @see linux b5425f5406ee "x86/virt/tdx: Print TDX module version during init" (merge 883af1f8e878, x86_tdx_for_7.1-rc1)
 * @see linux 165e77353831 "KVM: x86/tdx: Do VMXON and TDX-Module initialization during subsys init" (v7.1)
 * @see linux arch/x86/virt/vmx/tdx/tdx.c tdx_enable(), tdx_offline_cpu(); arch/x86/kvm/vmx/tdx.c;
 *      arch/x86/kernel/machine_kexec_64.c, process.c, crash.c v7.1.3 (checked; docs/kernel.md)
 */
const LINUX_7_1: KernelProfile = {
  ...LINUX_6_18,
  name: 'linux-7.1',
  description: 'Linux 7.1: TDX initialized at boot (subsys_initcall), "Module version: 1.5.16", "TDX-Module initialized"; kexec as in 6.18',
  source: 'torvalds/linux b5425f5406ee + 311214bf1df4 (version print, x86_tdx_for_7.1-rc1); 165e77353831 (boot-time VMXON and init); intel/lkvs #575',
  linuxVersion: '7.1.0',
  initAt: 'boot',
  defaultModule: '1.5.16',
  printVersion: true,
  strings: V7_1_STRINGS,
  /**
   * KVM's TDX_BUG_ON() lines, merged for 6.19 (kvm-x86-tdx-6.19), as 7.1.3 prints them.
   * @see linux arch/x86/kvm/vmx/tdx.c __TDX_BUG_ON(), TDX_BUG_ON_1/2/3() v7.1.3
   */
  kvmTdxErrors: 'tdx_bug_on',
  /**
   * Splats at 7.1.3's tdx.c and tdp_mmu.c lines, in 7.1.3's WARNING line format.
   * @see linux arch/x86/kvm/vmx/tdx.c v7.1.3; kernel/panic.c __warn() v7.1.3
   */
  kvmWarnSplat: '7.1.3',
};

/**
 * Linux 7.2: "Fuller TDX kexec support": tdx_shutdown runs TDH.SYS.DISABLE, then flushes and
 * leaves VMX on every CPU; the crash path runs TDH.SYS.DISABLE on the crashing CPU; kexec is no
 * longer refused on erratum CPUs; the next kernel initializes the module from scratch (with a
 * module that implements TDH.SYS.DISABLE).
 * @see linux merge b0820861748f "x86_tdx_for_7.2-rc1": 597bdf6e068e, b7d2173946ef, 5b25f249be32
 */
const LINUX_7_2: KernelProfile = {
  ...LINUX_7_1,
  name: 'linux-7.2',
  description: 'Linux 7.2: kexec and kdump run TDH.SYS.DISABLE, so the next kernel can initialize TDX again; kexec allowed on erratum CPUs',
  source: 'torvalds/linux merge b0820861748f (x86_tdx_for_7.2-rc1): "Fuller TDX kexec support" v3 (b7d2173946ef, 5b25f249be32, 597bdf6e068e)',
  linuxVersion: '7.2.0',
  kexec: { ...LINUX_7_1.kexec, earlyFlushBy: 'tdx_shutdown', sysDisable: true, refuseOnErratum: false },
  // No 7.2 KVM tdx.c was reachable: its line numbers are unknown, so no splat is printed (the
  // TDX_BUG_ON() lines themselves are taken as in 7.1.3, unchecked for 7.2).
  kvmWarnSplat: undefined,
};

const TDX_HOST_V8: KernelProfile = {
  ...UBUNTU_6_8_INTEL,
  name: 'tdx-host-v8',
  description: 'TDX host kernel support v8 (Dec 2022): UNKNOWN/INITIALIZED/ERROR, TDH.SYS.INFO, no SYS.INIT/LP.INIT',
  source: '"TDX host kernel support" v8 patch mails (9 Dec 2022): 00/16, 02/16, 04/16, 05/16, 06/16, 15/16',
  linuxVersion: '6.1.0-rc8-tdx-host-v8',
  moduleInfoViaSysInfo: false,
  defaultModule: '1.0',
  cpuInit: 'none',
  metadata: 'sys-info',
  holes: 'memlist',
  universalEinval: true,
  entropyRetry: false,
  sysinfoInMems: false,
  uninitializedName: 'UNKNOWN',
  seamcallErrors: 'v8',
  hibernationCheck: false,
  pwMceQuirk: false,
  // Based on 6.1-rc: the pre-6.5 num_online_cpus() stop protocol.
  kexec: { stopThisCpuWbinvd: 'platform-tdx', relocateWbinvd: 'sme-only', earlyFlush: false, earlyFlushBy: 'kvm', sysDisable: false, stopProtocol: 'online-count', kexecAllowed: true, refuseOnErratum: false },
  strings: V8_STRINGS,
};

const TDX_HOST_RFC: KernelProfile = {
  ...TDX_HOST_V8,
  name: 'tdx-host-rfc',
  description: 'TDX host kernel support RFC (Feb 2022): SEAMRR probing, tdx_detect()/tdx_init(), LP.SHUTDOWN on failure',
  source: 'RFC-era tdx.c with tdx_detect()/SEAMRR probing; v3 19/21 (6 Apr 2022), v5 06/22 and 22/22 (22 Jun 2022), a v6 tdx.c',
  linuxVersion: '5.17.0-rc5-tdx-host-rfc',
  detection: 'seamrr',
  cpuInit: 'in-init',
  failure: 'lp-shutdown',
  universalEinval: false,
  seamcallErrors: 'rfc',
  memHotplug: 'reject-add',
  strings: RFC_STRINGS,
};

/** linux-6.18 with every kexec-time WBINVD removed: the checkers must find the corruption. */
const MUTANT_NO_KEXEC_WBINVD: KernelProfile = {
  ...LINUX_6_18,
  name: 'mutant-no-kexec-wbinvd',
  description: 'MUTANT: linux-6.18 without any kexec-time WBINVD (no early flush, none in stop_this_cpu or relocate_kernel)',
  source: 'none: wrong on purpose',
  linuxVersion: '6.18.0-mutant-no-kexec-wbinvd',
  kexec: { stopThisCpuWbinvd: 'never', relocateWbinvd: 'never', earlyFlush: false, earlyFlushBy: 'kvm', sysDisable: false, stopProtocol: 'stop-mask', kexecAllowed: true, refuseOnErratum: false },
};

const PROFILES: Record<KernelProfileName, KernelProfile> = {
  'mutant-no-kexec-wbinvd': MUTANT_NO_KEXEC_WBINVD,
  'linux-6.18': LINUX_6_18,
  'linux-6.6': LINUX_6_6,
  'ubuntu-6.8-intel': UBUNTU_6_8_INTEL,
  'linux-6.16': LINUX_6_16,
  'linux-7.1': LINUX_7_1,
  'linux-7.2': LINUX_7_2,
  'tdx-host-v8': TDX_HOST_V8,
  'tdx-host-rfc': TDX_HOST_RFC,
};

/** Old kernel profile names and what they now stand for. */
export const KERNEL_PROFILE_ALIASES: Readonly<Record<string, { readonly to: KernelProfileName; readonly notice: string }>> = {
  'linux-6.8': {
    to: 'ubuntu-6.8-intel',
    notice: 'kernel profile "linux-6.8" now means ubuntu-6.8-intel (mainline 6.8 has no KVM TDX, so nothing initializes the module; the KVM bring-up this profile modelled is Canonical\'s linux-intel 6.8)',
  },
  'cmr-holes': {
    to: 'ubuntu-6.8-intel',
    notice: 'kernel profile "cmr-holes" now means ubuntu-6.8-intel (the CMR-holes patch is a property of the kernels that carry it)',
  },
};

/**
 * A kernel name or an old alias, resolved: the profile, and for an alias the one-line notice of
 * what it now means. Undefined for an unknown name.
 */
export function resolveKernelProfile(name: string): { name: KernelProfileName; notice?: string } | undefined {
  if (isKernelProfileName(name)) {
    return { name };
  }
  const a = Object.hasOwn(KERNEL_PROFILE_ALIASES, name) ? KERNEL_PROFILE_ALIASES[name] : undefined;
  return a === undefined ? undefined : { name: a.to, notice: a.notice };
}

/** True if `name` names a kernel profile. */
export function isKernelProfileName(name: string): name is KernelProfileName {
  return (KERNEL_PROFILE_NAMES as readonly string[]).includes(name) || (MUTANT_PROFILE_NAMES as readonly string[]).includes(name);
}

/**
 * The profile called `name`, optionally with fields overridden (e.g. a v8 kernel with the
 * v7-style per-CPU init, to see the era's success strings).
 */
export function kernelProfile(name: KernelProfileName | string, overrides: Partial<Omit<KernelProfile, 'name'>> = {}): KernelProfile {
  const r = resolveKernelProfile(name);
  if (r === undefined) {
    throw new Error(`unknown kernel profile "${name}"`);
  }
  return { ...PROFILES[r.name], ...overrides };
}

