/**
 * Every TDX printk we know, of every era, host and KVM, success, failure and runtime, kept as
 * data with the source of each string. The dmesg parser recognises all of them (a test parses
 * each entry's example and checks the kind), and a line cut off in the middle is matched against
 * every format it could be the start of (`completions()`).
 *
 * Families (`era`): `rfc` Feb 2022 host RFC; `v8` Dec 2022 host series v8 (also Intel's
 * TD-partitioning L0 kernel); `mvp` Intel's MVP kernels 5.19/6.2 and Ubuntu 23.10 6.5 intel-opt
 * (`tdx: ` prefix); `mainline` the host code merged in 6.7 (Ubuntu linux-intel 6.8, 6.14, and
 * mainline through 7.0); `ubuntu` Ubuntu linux-intel additions; `kvm` in-tree KVM TDX (6.16+);
 * `kvm-ubuntu` Ubuntu/out-of-tree KVM TDX (6.8); `dev-2024` a 2024 debug patch on LKML;
 * `v7.1` and `v7.2` the 2026 kernels; `dpamt` the 2026 Dynamic PAMT series.
 */

/** A printk family (see the file comment). */
export type PrintkEra = 'rfc' | 'v8' | 'mvp' | 'mainline' | 'ubuntu' | 'kvm' | 'kvm-ubuntu' | 'dev-2024' | 'v7.1' | 'v7.2' | 'dpamt';

/** One TDX printk. */
export interface Printk {
  /** Stable id. */
  readonly id: string;
  /** printf format of the message (after the prefix). */
  readonly format: string;
  /** Prefixes it is printed with ('' = none: `pr_fmt` not set, or KVM's own one-liners). */
  readonly prefixes: readonly string[];
  readonly eras: readonly PrintkEra[];
  /** The `TdxEvent` kind the parser gives it. */
  readonly kind: string;
  /** Where the string comes from. */
  readonly source: string;
  /** A real or format-true instance (after the prefix). */
  readonly example: string;
}

const HOST = ['virt/tdx: '];
const DRAFT = ['tdx: '];
const KVM = ['kvm_intel: '];
const TDX_C = 'linux arch/x86/virt/vmx/tdx/tdx.c';

/** The catalogue. */
export const TDX_PRINTKS: readonly Printk[] = [
  // ---- BIOS enablement and KeyIDs
  { id: 'keyid-range', format: 'BIOS enabled: private KeyID range [%u, %u)', prefixes: [...HOST, ...DRAFT], eras: ['mainline', 'mvp', 'v8'], kind: 'keyid-range', source: `${TDX_C} tdx_init() (6.7+); MVP/TD-partitioning with "tdx: " (corpus 04, 05, 10)`, example: 'BIOS enabled: private KeyID range [32, 64)' },
  { id: 'keyid-range-rfc', format: 'TDX private KeyID range: [%u, %u).', prefixes: DRAFT, eras: ['rfc'], kind: 'keyid-range', source: 'TDX host RFC (Feb 2022) detect_tdx_keyids()', example: 'TDX private KeyID range: [16, 64).' },
  { id: 'acpi-s3', format: 'Disable ACPI S3. Turn off TDX in the BIOS to use ACPI S3.', prefixes: HOST, eras: ['mainline'], kind: 'acpi-s3', source: `${TDX_C} tdx_init() (6.7+)`, example: 'Disable ACPI S3. Turn off TDX in the BIOS to use ACPI S3.' },
  { id: 'not-enabled-by-bios', format: 'not enabled by BIOS.', prefixes: DRAFT, eras: ['mvp'], kind: 'not-enabled-by-bios', source: 'Intel MVP / Ubuntu 6.5 intel-opt: SEAMCALL #GP (SEAMRR off) at module init (corpus 10, 21)', example: 'not enabled by BIOS.' },
  { id: 'not-enabled-by-bios-fw', format: '[firmware bug]: TDX is not enabled by BIOS.', prefixes: DRAFT, eras: ['v8'], kind: 'not-enabled-by-bios', source: 'TDX host v8 seamcall() #GP path (FW_BUG prefix); TD-partitioning L0 kernel (corpus 04)', example: '[firmware bug]: TDX is not enabled by BIOS.' },
  { id: 'no-tdx-platform-mvp', format: 'Cannot enable TDX on TDX disabled platform', prefixes: DRAFT, eras: ['mvp'], kind: 'no-tdx-platform', source: 'Intel MVP 5.19 (corpus 20)', example: 'Cannot enable TDX on TDX disabled platform' },
  { id: 'no-tdx-platform-2026', format: 'TDX not supported by the host platform', prefixes: [...HOST, ...KVM], eras: ['v7.1'], kind: 'no-tdx-platform', source: '2026 kernels (7.1 boot-time init)', example: 'TDX not supported by the host platform' },
  { id: 'seamrr-enabled', format: 'SEAMRR enabled.', prefixes: DRAFT, eras: ['rfc'], kind: 'seamrr', source: 'TDX host RFC detect_seam()', example: 'SEAMRR enabled.' },
  { id: 'seamrr-off', format: 'SEAMRR is not enabled by BIOS', prefixes: DRAFT, eras: ['rfc'], kind: 'seamrr', source: 'TDX host RFC detect_seam()', example: 'SEAMRR is not enabled by BIOS' },
  { id: 'keyid-inconsistent', format: 'Inconsistent TDX KeyID configuration among packages by BIOS', prefixes: DRAFT, eras: ['rfc'], kind: 'bios-inconsistent', source: 'TDX host RFC', example: 'Inconsistent TDX KeyID configuration among packages by BIOS' },
  // ---- refusals at boot
  { id: 'hibernation', format: 'initialization failed: Hibernation support is enabled', prefixes: HOST, eras: ['mainline'], kind: 'hibernation', source: `${TDX_C} tdx_init() (6.7+; corpus 28)`, example: 'initialization failed: Hibernation support is enabled' },
  { id: 'too-few-keyids', format: 'initialization failed: too few private KeyIDs available (%d).', prefixes: HOST, eras: ['mainline'], kind: 'too-few-keyids', source: `${TDX_C} tdx_init()`, example: 'initialization failed: too few private KeyIDs available (1).' },
  { id: 'notifier', format: 'initialization failed: register_memory_notifier() failed (%d)', prefixes: HOST, eras: ['mainline'], kind: 'notifier-failed', source: `${TDX_C} tdx_init()`, example: 'initialization failed: register_memory_notifier() failed (-12)' },
  { id: 'tdx-disabled', format: 'initialization failed: TDX is disabled.', prefixes: DRAFT, eras: ['rfc'], kind: 'tdx-disabled', source: 'TDX host RFC tdx_init()', example: 'initialization failed: TDX is disabled.' },
  { id: 'module-not-loaded', format: 'module not loaded', prefixes: HOST, eras: ['mainline'], kind: 'module-not-loaded', source: 'Ubuntu linux-intel 6.8 (corpus 19): SEAMCALL VMfailInvalid at TDH.SYS.INIT', example: 'module not loaded' },
  { id: 'module-not-loaded-rfc', format: 'TDX module is not loaded.', prefixes: DRAFT, eras: ['rfc', 'v8'], kind: 'module-not-loaded', source: 'TDX host RFC/v8 seamcall() VMfailInvalid', example: 'TDX module is not loaded.' },
  // ---- SEAMCALL failures at init
  { id: 'seamcall', format: 'SEAMCALL (0x%016llx) failed: 0x%016llx', prefixes: HOST, eras: ['mainline'], kind: 'seamcall-failed', source: `${TDX_C} seamcall_err() (6.7+)`, example: 'SEAMCALL (0x0000000000000022) failed: 0xc000050500000000' },
  { id: 'seamcall-regs1', format: 'RCX 0x%016llx RDX 0x%016llx R08 0x%016llx', prefixes: HOST, eras: ['mainline'], kind: 'seamcall-regs', source: `${TDX_C} seamcall_err_ret()`, example: 'RCX 0x0000000000000000 RDX 0x9100000100000008 R08 0x0000000000000000' },
  { id: 'seamcall-regs2', format: 'R09 0x%016llx R10 0x%016llx R11 0x%016llx', prefixes: HOST, eras: ['mainline'], kind: 'seamcall-regs', source: `${TDX_C} seamcall_err_ret()`, example: 'R09 0x0000000000000000 R10 0x0000000000000000 R11 0x0000000000000000' },
  { id: 'seamcall-mvp-cpu', format: 'SEAMCALL failed: CPU %d: leaf %lu, error 0x%llx.', prefixes: DRAFT, eras: ['mvp', 'v8'], kind: 'seamcall-failed', source: 'Intel MVP / Ubuntu 6.5 intel-opt seamcall() (corpus 05)', example: 'SEAMCALL failed: CPU 94: leaf 33, error 0xc000092100000122.' },
  { id: 'seamcall-mvp', format: 'SEAMCALL failed: leaf %llu, error 0x%llx.', prefixes: DRAFT, eras: ['mvp', 'v8'], kind: 'seamcall-failed', source: 'Intel MVP 6.2 (corpus 32), TDX host v8 05/16', example: 'SEAMCALL failed: leaf 254, error 0xc000050500000000.' },
  { id: 'seamcall-mvp-regs', format: 'additional output: rcx 0x%llx, rdx 0x%llx, r8 0x%llx, r9 0x%llx, r10 0x%llx, r11 0x%llx.', prefixes: DRAFT, eras: ['mvp', 'v8'], kind: 'seamcall-regs', source: 'Intel MVP seamcall() (corpus 05)', example: 'additional output: rcx 0x0, rdx 0x0, r8 0x0, r9 0x0, r10 0x0, r11 0x0.' },
  { id: 'not-in-vmx-mvp', format: 'SEAMCALL failed: CPU %d is not in VMX operation.', prefixes: DRAFT, eras: ['mvp', 'v8'], kind: 'not-in-vmx', source: 'Intel MVP seamcall(): #UD (VMXON not done on that CPU)', example: 'SEAMCALL failed: CPU 3 is not in VMX operation.' },
  { id: 'not-in-vmx-v8', format: 'CPU is not in VMX operation.', prefixes: DRAFT, eras: ['v8'], kind: 'not-in-vmx', source: 'TDX host v8 seamcall() #UD', example: 'CPU is not in VMX operation.' },
  { id: 'seamcall-rfc', format: 'SEAMCALL leaf %llu failed: 0x%llx', prefixes: DRAFT, eras: ['rfc'], kind: 'seamcall-failed', source: 'TDX host RFC seamcall()', example: 'SEAMCALL leaf 33 failed: 0xc000090000000000' },
  { id: 'debugconfig', format: "TDDEBUGCONFIG isn't supported.", prefixes: DRAFT, eras: ['mvp'], kind: 'debugconfig-unsupported', source: 'Intel MVP 6.2 (corpus 32): TDH.SYS.DEBUGCONFIG (leaf 254) probe, benign', example: "TDDEBUGCONFIG isn't supported." },
  { id: 'rbp-clobber', format: 'frame pointer (RBP) clobber bug present, upgrade TDX module', prefixes: HOST, eras: ['mainline'], kind: 'rbp-clobber', source: `${TDX_C} check_features() (6.14+)`, example: 'frame pointer (RBP) clobber bug present, upgrade TDX module' },
  { id: 'no-rbp-mod-debug', format: 'NO_RBP_MOD feature is not supported', prefixes: HOST, eras: ['dev-2024'], kind: 'rbp-clobber', source: 'Kai Huang debug patch, LKML 2024-05-23 (corpus 23)', example: 'NO_RBP_MOD feature is not supported' },
  // ---- module version lines
  { id: 'version-ubuntu68', format: 'TDX module: attributes 0x%x, vendor_id 0x%x, major_version %u, minor_version %u, build_date %u, build_num %u', prefixes: HOST, eras: ['ubuntu'], kind: 'module-version', source: 'Ubuntu linux-intel 6.8 TDH.SYS.INFO print (corpus 01, 13)', example: 'TDX module: attributes 0x0, vendor_id 0x8086, major_version 1, minor_version 5, build_date 20240129, build_num 698' },
  { id: 'version-mvp62', format: 'TDX module: atributes 0x%x, vendor_id 0x%x, major_version %u, minor_version %u, build_date %u, build_num %u', prefixes: DRAFT, eras: ['mvp', 'v8'], kind: 'module-version', source: 'Intel MVP 6.2 and TDX host v8 ("atributes" typo; corpus 32)', example: 'TDX module: atributes 0x0, vendor_id 0x8086, major_version 1, minor_version 5, build_date 20230420, build_num 507' },
  { id: 'version-mvp519', format: 'TDX module: vendor_id 0x%x, major_version %u, minor_version %u, build_date %u, build_num %u', prefixes: DRAFT, eras: ['mvp'], kind: 'module-version', source: 'Intel MVP 5.19 (TDX 1.0 stack; corpus 17)', example: 'TDX module: vendor_id 0x8086, major_version 1, minor_version 5, build_date 20230323, build_num 481' },
  { id: 'features0-mvp', format: 'TDX module: features0: %llx', prefixes: DRAFT, eras: ['mvp'], kind: 'other', source: 'Intel MVP 6.2 (corpus 32)', example: 'TDX module: features0: fbf' },
  { id: 'version-ubuntu614', format: 'TDX module %u.%u.%02u.%02u, build number %u, build date %08x', prefixes: HOST, eras: ['ubuntu'], kind: 'module-version', source: 'Ubuntu linux-intel 6.14 (corpus 08)', example: 'TDX module 2.0.08.00, build number 882, build date 0134fed5' },
  { id: 'version-7.1', format: 'Module version: %u.%u.%02u', prefixes: HOST, eras: ['v7.1', 'v7.2'], kind: 'module-version', source: 'linux v7.1 b5425f5406ee "x86/virt/tdx: Print TDX module version during init"', example: 'Module version: 1.5.16' },
  { id: 'version-7.1-draft', format: 'TDX module version: %u.%u.%02u', prefixes: HOST, eras: ['v7.1'], kind: 'module-version', source: 'the same patch v2 changelog (LKML 2026-01-09; corpus 36)', example: 'TDX module version: 1.5.24' },
  { id: 'version-debug-2024', format: 'module verson: %u.%u.%u.%u', prefixes: HOST, eras: ['dev-2024'], kind: 'module-version', source: 'Kai Huang debug patch, LKML 2024-05-23 ("verson" typo; corpus 23, 24)', example: 'module verson: 1.5.1.0' },
  // ---- CMRs
  { id: 'cmr-ubuntu', format: 'CMR: [0x%llx, 0x%llx)', prefixes: [...HOST, ...DRAFT], eras: ['ubuntu', 'v8'], kind: 'cmr', source: 'Ubuntu linux-intel 6.8 (corpus 01, 13); TDX host v8', example: 'CMR: [0x100000, 0x77800000)' },
  { id: 'cmr-rfc-bios', format: 'BIOS-CMR[%d]: [0x%llx, 0x%llx)', prefixes: DRAFT, eras: ['rfc'], kind: 'cmr', source: 'TDX host RFC', example: 'BIOS-CMR[0]: [0x100000, 0x80000000)' },
  { id: 'cmr-rfc-sanitized', format: 'Kernel-sanitized-CMR[%d]: [0x%llx, 0x%llx)', prefixes: DRAFT, eras: ['rfc'], kind: 'cmr', source: 'TDX host RFC', example: 'Kernel-sanitized-CMR[0]: [0x100000, 0x80000000)' },
  // ---- TDMRs and PAMT
  { id: 'tdmrs-exhausted', format: 'initialization failed: TDMRs exhausted.', prefixes: [...HOST, ...DRAFT], eras: ['mainline', 'v8'], kind: 'tdmrs-exhausted', source: `${TDX_C} fill_out_tdmrs()`, example: 'initialization failed: TDMRs exhausted.' },
  { id: 'tdmr-limit', format: 'consumed TDMRs reaching limit: %d used out of %d', prefixes: HOST, eras: ['mainline'], kind: 'tdmr-limit', source: `${TDX_C} fill_out_tdmrs()`, example: 'consumed TDMRs reaching limit: 64 used out of 64' },
  { id: 'rsvd-exhausted', format: 'initialization failed: TDMR [0x%llx, 0x%llx): reserved areas exhausted.', prefixes: [...HOST, ...DRAFT], eras: ['mainline', 'v8'], kind: 'rsvd-exhausted', source: `${TDX_C} tdmr_add_rsvd_area() (corpus 08, 25)`, example: 'initialization failed: TDMR [0x40000000, 0x80000000): reserved areas exhausted.' },
  { id: 'pamt-node-fallback', format: 'TDMR [0x%llx, 0x%llx): unable to find local NUMA node for PAMT allocation, fallback to use node 0.', prefixes: HOST, eras: ['mainline'], kind: 'pamt-node-fallback', source: `${TDX_C} tdmr_get_nid()`, example: 'TDMR [0x0, 0x80000000): unable to find local NUMA node for PAMT allocation, fallback to use node 0.' },
  { id: 'pamt-kb', format: '%lu KB allocated for PAMT', prefixes: HOST, eras: ['mainline'], kind: 'pamt-allocated', source: `${TDX_C} init_tdx_module() (6.7+)`, example: '1050644 KB allocated for PAMT' },
  { id: 'pamt-kbs', format: '%lu KBs allocated for PAMT.', prefixes: DRAFT, eras: ['v8'], kind: 'pamt-allocated', source: 'TDX host v8', example: '262668 KBs allocated for PAMT.' },
  { id: 'pamt-pages', format: '%lu pages allocated for PAMT.', prefixes: DRAFT, eras: ['rfc', 'mvp'], kind: 'pamt-allocated', source: 'TDX host RFC; Intel MVP 6.2 (corpus 32)', example: '262659 pages allocated for PAMT.' },
  { id: 'dpamt', format: 'Enable Dynamic PAMT', prefixes: HOST, eras: ['dpamt'], kind: 'dpamt-enabled', source: '2026 Dynamic PAMT series', example: 'Enable Dynamic PAMT' },
  // ---- result
  { id: 'init-ok', format: 'module initialized', prefixes: HOST, eras: ['mainline'], kind: 'init-ok', source: `${TDX_C} __tdx_enable() (6.7-7.0)`, example: 'module initialized' },
  { id: 'init-ok-draft', format: 'TDX module initialized.', prefixes: DRAFT, eras: ['mvp', 'v8'], kind: 'init-ok', source: 'Intel MVP, TDX host v8, TD-partitioning (corpus 32, 33)', example: 'TDX module initialized.' },
  { id: 'init-ok-7.1', format: 'TDX-Module initialized', prefixes: HOST, eras: ['v7.1', 'v7.2'], kind: 'init-ok', source: 'linux v7.1 (boot-time init; corpus 15)', example: 'TDX-Module initialized' },
  { id: 'init-failed', format: 'module initialization failed (%d)', prefixes: HOST, eras: ['mainline'], kind: 'init-failed', source: `${TDX_C} __tdx_enable() (6.7-7.0)`, example: 'module initialization failed (-5)' },
  { id: 'init-failed-draft', format: 'initialization failed (%d)', prefixes: DRAFT, eras: ['mvp', 'v8'], kind: 'init-failed', source: 'TDX host v8, TD-partitioning (corpus 04)', example: 'initialization failed (-19)' },
  { id: 'init-failed-7.1', format: 'TDX-Module initialization failed (%d)', prefixes: HOST, eras: ['v7.1', 'v7.2'], kind: 'init-failed', source: 'linux v7.1', example: 'TDX-Module initialization failed (-5)' },
  { id: 'init-failed-rfc', format: 'Failed to initialize TDX module. Shut it down.', prefixes: DRAFT, eras: ['rfc'], kind: 'init-failed', source: 'TDX host RFC', example: 'Failed to initialize TDX module. Shut it down.' },
  { id: 'sys-disable-failed', format: 'TDH.SYS.DISABLE failed: 0x%016llx', prefixes: HOST, eras: ['v7.2'], kind: 'sys-disable-failed', source: 'linux v7.2 "Fuller TDX kexec support" tdx_sys_disable()', example: 'TDH.SYS.DISABLE failed: 0xc000000000000000' },
  // ---- KVM
  { id: 'kvm-init-failed', format: 'Failed to initialize TDX module.', prefixes: KVM, eras: ['kvm-ubuntu'], kind: 'kvm', source: 'Ubuntu linux-intel 6.8 KVM (corpus 01, 03)', example: 'Failed to initialize TDX module.' },
  { id: 'kvm-supported', format: 'TDX is supported.', prefixes: KVM, eras: ['mvp'], kind: 'kvm', source: 'Intel MVP / TD-partitioning KVM (corpus 32, 33)', example: 'TDX is supported.' },
  { id: 'kvm-max-vcpus', format: 'Disable TDX: MAX_VCPU_PER_TD (%u) smaller than number of logical CPUs (%u).', prefixes: KVM, eras: ['kvm'], kind: 'kvm', source: 'linux arch/x86/kvm/vmx/tdx.c __tdx_bringup() (6.16+)', example: 'Disable TDX: MAX_VCPU_PER_TD (128) smaller than number of logical CPUs (256).' },
  { id: 'kvm-movdir64b', format: 'MOVDIR64B is required for TDX', prefixes: KVM, eras: ['kvm'], kind: 'kvm', source: 'linux arch/x86/kvm/vmx/tdx.c tdx_bringup()', example: 'MOVDIR64B is required for TDX' },
  { id: 'kvm-virt-at-load', format: 'tdx: tdx requires kvm.enable_virt_at_load=1', prefixes: KVM, eras: ['kvm'], kind: 'kvm', source: 'linux arch/x86/kvm/vmx/tdx.c tdx_bringup()', example: 'tdx: tdx requires kvm.enable_virt_at_load=1' },
  { id: 'kvm-tdp-mmu', format: 'TDX requires TDP MMU.  Please enable TDP MMU for TDX.', prefixes: [''], eras: ['kvm-ubuntu'], kind: 'kvm', source: 'Ubuntu linux-intel 6.8 KVM, unprefixed (corpus 09)', example: 'TDX requires TDP MMU.  Please enable TDP MMU for TDX.' },
  { id: 'kvm-seamcall-named', format: 'SEAMCALL %s failed: 0x%llx', prefixes: KVM, eras: ['kvm'], kind: 'seamcall-failed', source: 'linux arch/x86/kvm/vmx/tdx.c pr_tdx_error() (6.16+)', example: 'SEAMCALL TDH_MNG_VPFLUSHDONE failed: 0xc000030000000001' },
  { id: 'kvm-seamcall-oneline', format: 'SEAMCALL (0x%016llx) failed: 0x%016llx RCX 0x%016llx RDX 0x%016llx R8 0x%016llx R9 0x%016llx R10 0x%016llx R11 0x%016llx', prefixes: [''], eras: ['kvm-ubuntu'], kind: 'seamcall-failed', source: 'Ubuntu linux-intel 6.8 / out-of-tree KVM pr_tdx_error() one-liner (corpus 11, 12, 22)', example: 'SEAMCALL (0x000000000000001c) failed: 0xc000030000000001 RCX 0x0000000000000000 RDX 0x0000000000000000 R8 0x0000000000000000 R9 0x0000000000000000 R10 0x0000000000000000 R11 0x0000000000000000' },
  { id: 'guest', format: 'Guest detected', prefixes: DRAFT, eras: ['mainline', 'mvp'], kind: 'guest', source: 'linux arch/x86/coco/tdx/tdx.c tdx_early_init() (guest; corpus 18, 27)', example: 'Guest detected' },
];

// ---------------------------------------------------------------- prefix matching

type Piece = { lit: string } | { cls: string };

function pieces(format: string): Piece[] {
  const out: Piece[] = [];
  const re = /%[-#0-9]*(?:ll|l|z|h)?([dusx])/g;
  let last = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(format)) !== null) {
    if (m.index > last) {
      out.push({ lit: format.slice(last, m.index) });
    }
    const c = m[1];
    const alt = m[0].includes('#');
    out.push({ cls: c === 's' ? '\\S+' : c === 'x' ? (alt ? '0x[0-9a-fA-F]+' : '[0-9a-fA-F]+') : '-?\\d+' });
    last = re.lastIndex;
  }
  if (last < format.length) {
    out.push({ lit: format.slice(last) });
  }
  return out;
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The regex a whole message of this format matches. */
export function fullRegex(format: string): RegExp {
  return new RegExp(`^${pieces(format).map((p) => ('lit' in p ? esc(p.lit) : p.cls)).join('')}$`);
}

/** The regex any start of a message of this format matches (including the empty string). */
export function prefixRegex(format: string): RegExp {
  let tail = '';
  const ps = pieces(format);
  for (let i = ps.length - 1; i >= 0; i--) {
    const p = ps[i]!;
    if ('lit' in p) {
      for (let j = p.lit.length - 1; j >= 0; j--) {
        tail = `(?:${esc(p.lit[j]!)}${tail})?`;
      }
    } else {
      // A token cut anywhere: one or more of its characters, then maybe the rest.
      const partial = p.cls === '0x[0-9a-fA-F]+' ? '0(?:x[0-9a-fA-F]*)?' : p.cls === '-?\\d+' ? '-?\\d*' : p.cls.replace(/\+$/, '*');
      tail = `(?:${partial}${tail})?`;
    }
  }
  return new RegExp(`^${tail}$`);
}

/**
 * The printks a cut-off message could be the start of: the message matches the start of the
 * format but not the whole of it. Only entries printed with `prefix`, and of `eras` when given.
 */
export function completions(message: string, prefix: string, eras?: readonly PrintkEra[]): Printk[] {
  if (message.length === 0) {
    return [];
  }
  return TDX_PRINTKS.filter((p) => p.prefixes.includes(prefix) && (eras === undefined || p.eras.some((e) => eras.includes(e))) && prefixRegex(p.format).test(message) && !fullRegex(p.format).test(message));
}
