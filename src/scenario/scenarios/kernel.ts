/**
 * Named kernel-level scenarios: bring-up, kexec and kdump in every profile, the stop race, and
 * the exploration targets of `tdxsim explore`.
 */
import { presetInput } from '../../platform/presets.js';
import type { PlatformSpecInput } from '../../platform/spec.js';
import type { ScenarioInput, ScenarioStep } from '../scenario.js';

type StepIn = ScenarioInput['steps'] extends (infer T)[] | undefined ? T : never;

/** small-2s with `cpus` logical CPUs (one package per CPU up to two, then cores). */
function smallWith(cpus: number): PlatformSpecInput {
  const p = presetInput('small-2s') as PlatformSpecInput;
  const packages = cpus <= 2 ? cpus : 2;
  return { ...p, name: `small-${cpus}c`, topology: { packages, coresPerPackage: Math.ceil(cpus / packages), threadsPerCore: 1, logicalCpus: packages * Math.ceil(cpus / packages) } };
}

const BRING_UP: StepIn[] = [{ op: 'boot' }, { op: 'kvm.load' }];
const TD_ON_CPU1: StepIn = { op: 'td.create', count: 1, memMiB: 4, cpu: 1 };

/** Scenarios by name. */
export const KERNEL_SCENARIOS: Record<string, ScenarioInput> = {
  default: {
    name: 'default',
    description: 'A 2-socket host boots, KVM brings TDX up, a TD writes its private memory, the host kexecs into a new kernel, which tries TDX again.',
    platform: 'small-2s',
    kernel: 'linux-6.18',
    steps: [...BRING_UP, TD_ON_CPU1, { op: 'kexec' }, { op: 'kvm.load' }],
  },
  'bringup': {
    name: 'bringup',
    description: 'Boot, KVM brings TDX up, a TD is created and writes its memory.',
    platform: 'small-2s',
    steps: [...BRING_UP, TD_ON_CPU1],
  },
  'kexec-linux-6.18': {
    name: 'kexec-linux-6.18',
    description: 'linux-6.18: a TD ran, then kexec. KVM flushes every CPU whose cache_state_incoherent flag is set; no finding.',
    platform: 'small-2s',
    kernel: 'linux-6.18',
    steps: [...BRING_UP, TD_ON_CPU1, { op: 'kexec' }],
  },
  'kexec-mutant': {
    name: 'kexec-mutant',
    description: 'The same steps with a mutant kernel that has no kexec-time WBINVD at all: the TD\'s dirty private lines are written back over the new kernel.',
    platform: 'small-2s',
    kernel: 'mutant-no-kexec-wbinvd',
    steps: [...BRING_UP, TD_ON_CPU1, { op: 'kexec' }],
    expect: { findings: ['silent-corruption', 'seamcall-after-flush'] },
  },
  'kexec-v8-tdx-unused': {
    name: 'kexec-v8-tdx-unused',
    description: 'tdx-host-v8: TDX enabled by the BIOS but never initialized; stop_this_cpu() still does WBINVD because the platform has TDX.',
    platform: 'small-2s',
    kernel: 'tdx-host-v8',
    steps: [{ op: 'boot' }, { op: 'kexec' }],
  },
  'kexec-rfc-tdx-unused': {
    name: 'kexec-rfc-tdx-unused',
    description: 'tdx-host-rfc: SEAMRR enabled, TDX never initialized; stop_this_cpu() flushes anyway (platform_has_tdx()).',
    platform: 'small-2s',
    kernel: 'tdx-host-rfc',
    steps: [{ op: 'boot' }, { op: 'kexec' }],
  },
  'kexec-rfc-td': {
    name: 'kexec-rfc-td',
    description:
      'tdx-host-rfc: TDX initialized and a TD ran on CPU 1. The remote CPUs flush in stop_this_cpu() (the TD\'s lines are safe), but the kexec-ing CPU, which issued the SEAMCALLs, is never flushed: relocate_kernel only flushes for SME. A dirty TDR line it holds is written back over the new kernel. (v11 of the series added a WBINVD on the rebooting CPU in native_machine_shutdown() for this.)',
    platform: 'small-2s',
    kernel: 'tdx-host-rfc',
    steps: [...BRING_UP, TD_ON_CPU1, { op: 'kexec' }],
    expect: { findings: ['silent-corruption', 'seamcall-after-flush'] },
  },
  'kexec-second-kernel-tdx': {
    name: 'kexec-second-kernel-tdx',
    description: 'The old kernel initialized TDX; the kexec\'d kernel tries again and TDH.SYS.INIT fails: the module is not in its initial state.',
    platform: 'small-2s',
    steps: [...BRING_UP, { op: 'kexec' }, { op: 'kvm.load' }],
  },
  'kexec-erratum': {
    name: 'kexec-erratum',
    description: 'linux-6.18 on Sapphire Rapids (partial-write erratum): kexec_load is refused.',
    platform: 'ref',
    steps: [...BRING_UP, { op: 'kexec' }],
  },
  'kexec-linux-6.8': {
    name: 'kexec-linux-6.8',
    description: 'Linux 6.8 to 6.17 (here linux-6.16): INTEL_TDX_HOST depends on !KEXEC_CORE, so kexec is not built in.',
    platform: 'small-2s',
    kernel: 'linux-6.16',
    steps: [...BRING_UP, { op: 'kexec' }],
  },
  kdump: {
    name: 'kdump',
    description: 'A TD ran, then the host panics: NMI shootdown (no remote WBINVD) and the crash kernel in its reserved region, which is never corrupted.',
    platform: 'small-2s',
    steps: [...BRING_UP, TD_ON_CPU1, { op: 'crash' }],
  },
  'kexec-stop-race': {
    name: 'kexec-stop-race',
    description: 'The stop race under a chosen schedule: CPU 1 takes the REBOOT IPI just after the 1 s timeout, stops, is woken by the NMI and runs stop_this_cpu() again while CPU 0 jumps.',
    platform: smallWith(2),
    steps: [...BRING_UP, TD_ON_CPU1, { op: 'kexec', lateRebootIpi: [1], lateByMs: 1001 }],
    schedule: { policy: 'free', path: '1.1.0.0.2.0.1.1' },
    expect: { findings: ['cpu-still-running'] },
  },
  'kexec-amd-sme': {
    name: 'kexec-amd-sme',
    description: 'AMD SME: a line written through the C-bit alias sits dirty in CPU 1\'s cache; every CPU is marked incoherent at bring-up, so stop_this_cpu() flushes it.',
    platform: 'amd-sme-2s',
    steps: [{ op: 'boot' }, { op: 'store', cpu: 1, pa: '0x17f000000', keyId: 1, fill: 0x5a, len: 4096 }, { op: 'kexec' }],
  },
  'kexec-amd-sme-mutant': {
    name: 'kexec-amd-sme-mutant',
    description: 'The same on a mutant kernel without kexec WBINVD: the C-bit alias is written back over the new kernel.',
    platform: 'amd-sme-2s',
    kernel: 'mutant-no-kexec-wbinvd',
    steps: [{ op: 'boot' }, { op: 'store', cpu: 1, pa: '0x17f000000', keyId: 1, fill: 0x5a, len: 4096 }, { op: 'kexec' }],
    expect: { findings: ['silent-corruption'] },
  },
  // The TD lifecycle as KVM runs it (docs/kernel.md "TD lifecycle scenarios").
  'td-migrate': {
    name: 'td-migrate',
    description:
      'linux-6.18: a TD runs on CPU 1, KVM_RUN moves its vCPU to CPU 0 and back to CPU 1; each move flushes it off the old CPU first (TDH.VP.FLUSH there by IPI, tdx_flush_vp_on_cpu()) and TDH.VP.ENTER associates it with the new one. Teardown in the upstream order: the private memory first, with the HKID still assigned (TDH.MEM.RANGE.BLOCK, TDH.MEM.TRACK, TDH.MEM.PAGE.REMOVE, TDH.PHYMEM.PAGE.WBINVD per leaf), then tdx_mmu_release_hkid() (TDH.VP.FLUSH on CPU 1, TDH.MNG.VPFLUSHDONE, TDH.PHYMEM.CACHE.WB per package, TDH.MNG.KEY.FREEID), then TDH.PHYMEM.PAGE.RECLAIM of the vCPU, Secure EPT and TD control pages. No finding, nothing in dmesg from KVM.',
    platform: 'small-2s',
    kernel: 'linux-6.18',
    steps: [...BRING_UP, TD_ON_CPU1, { op: 'td.run', cpu: 0 }, { op: 'td.run', cpu: 1 }, { op: 'td.destroy' }],
  },
  'td-multi-vcpu': {
    name: 'td-multi-vcpu',
    description:
      'linux-6.18: a TD with three vCPUs. KVM_TDX_INIT_VCPU of each on CPU 0 (TDH.VP.CREATE, 5 TDH.VP.ADDCX, TDH.VP.INIT with its x2APIC ID, which associates it with CPU 0); vCPU 0 runs on CPU 1, vCPU 1 on CPU 2, vCPU 2 on CPU 3 (each flushed off CPU 0 first), then vCPU 1 moves to CPU 0. Teardown flushes each vCPU off the CPU it was last on (TDH.VP.FLUSH on CPUs 1, 0 and 3), then TDH.MNG.VPFLUSHDONE, TDH.PHYMEM.CACHE.WB per package, TDH.MNG.KEY.FREEID and the reclaim of every page, the three TDVPS included. No finding.',
    platform: 'small-2s',
    kernel: 'linux-6.18',
    steps: [
      ...BRING_UP,
      { op: 'td.create', count: 1, memMiB: 4, cpu: 1, vcpus: 3 },
      { op: 'td.run', vcpu: 1, cpu: 2 },
      { op: 'td.run', vcpu: 2, cpu: 3 },
      { op: 'td.run', vcpu: 1, cpu: 0 },
      { op: 'td.destroy' },
    ],
  },
  'td-release': {
    name: 'td-release',
    description:
      'linux-6.18: KVM takes 64 KiB of private memory away from a running TD (tdx_sept_remove_private_spte() per 4 KiB page: TDH.MEM.RANGE.BLOCK, TDH.MEM.TRACK, TDH.MEM.PAGE.REMOVE, TDH.PHYMEM.PAGE.WBINVD under the TD\'s HKID), then the TD is destroyed, its remaining private memory removed the same way before the HKID is released; the released pages are not touched again. No finding.',
    platform: 'small-2s',
    kernel: 'linux-6.18',
    steps: [...BRING_UP, TD_ON_CPU1, { op: 'td.release', gpa: '0x110000', size: '0x10000' }, { op: 'td.destroy' }],
  },
  'td-teardown-no-vp-flush': {
    name: 'td-teardown-no-vp-flush',
    description:
      'linux-6.18 with a KVM bug (fault kvm.vp_flush.skip): the teardown skips TDH.VP.FLUSH, so the vCPU is still associated with CPU 1 and the module refuses TDH.MNG.VPFLUSHDONE with TDX_FLUSHVP_NOT_DONE. The private memory was already removed (the guest_memfd release comes first). KVM prints nothing for that status (tdx_mmu_release_hkid() returns quietly on it): the HKID stays assigned, nothing is reclaimed, every vCPU, Secure EPT and TD control page leaks (td.destroy: -5). The MMU teardown then hands each Secure EPT page to tdx_sept_free_private_spt(), whose KVM_BUG_ON (HKID still assigned) splats once at arch/x86/kvm/vmx/tdx.c:1868 and bugs the VM, and handle_removed_pt() WARNs for each leaked page (arch/x86/kvm/mmu/tdp_mmu.c:488).',
    platform: 'small-2s',
    kernel: 'linux-6.18',
    steps: [...BRING_UP, TD_ON_CPU1, { op: 'fault', site: 'kvm.vp_flush.skip' }, { op: 'td.destroy' }],
  },
  'td-reclaim-metadata-incorrect': {
    name: 'td-reclaim-metadata-incorrect',
    description:
      'linux-6.18 with a KVM bug (fault kvm.reclaim.stale): at teardown KVM reclaims a page whose PAMT entry is already free (the first page it reclaims, a TDCX page: upstream KVM removes private memory instead of reclaiming it). TDH.PHYMEM.PAGE.RECLAIM answers TDX_PAGE_METADATA_INCORRECT|RCX (0xc000030000000001) with RCX, RDX and R8 zero, and KVM prints the splat of the WARN_ON_ONCE in __tdx_reclaim_page() (`WARNING: CPU: 0 PID: ? at arch/x86/kvm/vmx/tdx.c:316 __tdx_reclaim_page [kvm_intel]`, between the cut-here and end-trace lines; PID and offset are not modelled) and `kvm_intel: SEAMCALL TDH_PHYMEM_PAGE_RECLAIM failed: 0xc000030000000001, rcx 0x0, rdx 0x0, r8 0x0` (pr_tdx_error_3). `tdxsim diagnose` classifies it as runtime-seamcall-failure.',
    platform: 'small-2s',
    kernel: 'linux-6.18',
    steps: [...BRING_UP, TD_ON_CPU1, { op: 'fault', site: 'kvm.reclaim.stale' }, { op: 'td.destroy' }],
  },
  'td-reclaim-ubuntu-6.8': {
    name: 'td-reclaim-ubuntu-6.8',
    description:
      'ubuntu-6.8-intel, the reclaim failure of the real Ubuntu 24.04 reports (canonical/tdx #153, #156): three private pages are reclaimed when their PAMT entries are already free (fault kvm.reclaim.stale), and the out-of-tree KVM prints each as `SEAMCALL (0x000000000000001c) failed: 0xc000030000000001 RCX 0x0000000000000000 RDX … R11 0x0000000000000000` (leaf 28, TDX_PAGE_METADATA_INCORRECT|RCX). What made the real KVM reclaim free pages is not known from the reports. `tdxsim diagnose` classifies it as runtime-seamcall-failure.',
    platform: 'small-2s',
    kernel: 'ubuntu-6.8-intel',
    steps: [...BRING_UP, TD_ON_CPU1, { op: 'fault', site: 'kvm.reclaim.stale', count: 3 }, { op: 'td.destroy' }],
  },
  // Exploration targets (tdxsim explore NAME ...).
  'kexec-race-2cpu': {
    name: 'kexec-race-2cpu',
    description: 'Exploration: 2 CPUs, the REBOOT IPI reaches CPU 1 just after the 1 s timeout.',
    platform: smallWith(2),
    steps: [...BRING_UP, TD_ON_CPU1, { op: 'kexec', lateRebootIpi: [1], lateByMs: 1001 }],
  },
  'kexec-intime': {
    name: 'kexec-intime',
    description: 'Exploration: the REBOOT IPI always arrives within the second, so the NMI fallback never runs.',
    platform: 'small-2s',
    steps: [...BRING_UP, TD_ON_CPU1, { op: 'kexec', ipiInTime: true }],
  },
  'tdx-enable-concurrent': {
    name: 'tdx-enable-concurrent',
    description: 'Exploration: tdx_enable() from three CPUs at once (after VMXON and tdx_cpu_enable everywhere).',
    platform: smallWith(3),
    steps: [{ op: 'boot' }, { op: 'tdx.enable', cpus: [0, 1, 2] }],
  },
};

/** For type checks of hand-written steps. */
export type { ScenarioStep };
