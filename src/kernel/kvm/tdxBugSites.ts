/**
 * The call sites in KVM's `arch/x86/kvm/vmx/tdx.c` where a failed SEAMCALL (or a broken
 * assumption) meets KVM_BUG_ON() or WARN_ON_ONCE(), each with the function it is in (the name a
 * rate-limited print's `callbacks suppressed` line carries, `__func__`) and, for kernels whose
 * source was read, the line a WARNING splat names.
 *
 * Line numbers are those of linux 6.16.1's and 6.18.2's tdx.c (stable releases of 6.16 and 6.18,
 * read from tarball imports: KT0511/linux-6.16.1 at its first commit 210b82c35, before that repo's
 * own changes, and gfunkmonk/linux-6.18.2; Makefiles `6.16.1` and `6.18.2`). The v6.16 and v6.18
 * tags themselves could not be read; stable updates may have moved lines, so the model names the
 * release it took them from. Linux 7.1.3's tdx.c was read too (rikudousennin22/linux-7.1.3, a
 * plain tarball import, Makefile `7.1.3`; danayer/linux-7.1.5 has the same arch/x86 TDX files but
 * a different kvm tdx.c, not compared line by line): its sites are `TDX_BUG_ON*()` (6.19 on) and
 * their lines are `line713`. No 7.2 tdx.c could be read (no 7.2 tree was reachable), so linux-7.2
 * prints no splat; Ubuntu's out-of-tree KVM differs from build to build, so it prints none either
 * (docs/kernel.md).
 * @see linux arch/x86/kvm/vmx/tdx.c (v6.16.1, v6.18.2): __tdx_reclaim_page(), tdx_flush_vp_on_cpu(),
 *      smp_func_do_phymem_cache_wb(), tdx_mmu_release_hkid(), tdx_reclaim_td_control_pages(),
 *      tdx_do_tdh_mng_key_config(), tdx_mem_page_aug(), tdx_sept_drop_private_spte(),
 *      tdx_sept_link_private_spt(), tdx_sept_zap_private_spte(), tdx_track(),
 *      tdx_sept_free_private_spt(), __tdx_td_init(), tdx_td_finalize(), tdx_td_vcpu_init(),
 *      tdx_handle_exit(); (v7.1.3) the same functions, with tdx_sept_remove_private_spte() and
 *      tdx_mem_page_add() as noted per site
 */
import type { WarnSite } from '../printk.js';

/** Where KVM checks a TD SEAMCALL (or, for `free_spt_hkid`, the HKID) with a BUG/WARN. */
export type KvmTdxSite =
  | 'reclaim'
  | 'vp_flush'
  | 'cache_wb'
  | 'vpflushdone'
  | 'key_freeid'
  | 'wbinvd_tdr'
  | 'key_config'
  | 'page_aug'
  | 'page_add'
  | 'mr_extend'
  | 'page_remove'
  | 'wbinvd_hkid'
  | 'sept_add'
  | 'range_block'
  | 'mem_track'
  | 'free_spt_hkid'
  | 'mng_create'
  | 'mng_addcx'
  | 'mng_init'
  | 'mr_finalize'
  | 'vp_create'
  | 'vp_addcx'
  | 'vp_init'
  | 'vp_enter_sw';

/** One site: what guards it in 6.16–6.18, the function it is in, its line in 6.16.1 and 6.18.2. */
export interface KvmTdxSiteInfo {
  /**
   * `kvm_bug_on`: KVM_BUG_ON(err, kvm) (the VM is bugged; WARN_ON_ONCE while it was not yet);
   * `warn_on_once`: WARN_ON_ONCE(err) with no VM; `none`: 6.16–6.18 neither warn nor print.
   */
  readonly guard: 'kvm_bug_on' | 'warn_on_once' | 'none';
  /** The enclosing function in 6.16–6.18. */
  readonly fn: string;
  /**
   * The enclosing function from 6.19 on where it differs: that pull folded
   * tdx_sept_zap_private_spte() and tdx_sept_drop_private_spte() into
   * tdx_sept_remove_private_spte(), and moved TDH.MEM.PAGE.ADD into tdx_mem_page_add()
   * (docs/kernel.md). The other names are unchanged in 7.1.3.
   * @see linux arch/x86/kvm/vmx/tdx.c tdx_sept_remove_private_spte(), tdx_mem_page_add() v7.1.3
   */
  readonly fn619?: string;
  /** The KVM_BUG_ON()/WARN_ON_ONCE() line in linux 6.16.1 (undefined: no guard there). */
  readonly line616?: number;
  /** The KVM_BUG_ON()/WARN_ON_ONCE() line in linux 6.18.2 (undefined: no guard there). */
  readonly line618?: number;
  /**
   * The TDX_BUG_ON*()/KVM_BUG_ON() line in linux 7.1.3 (every site has one there, PAGE.ADD and
   * MR.EXTEND included).
   * @see linux arch/x86/kvm/vmx/tdx.c v7.1.3
   */
  readonly line713?: number;
}

const FOLDED = 'tdx_sept_remove_private_spte';

/**
 * Every site, as read in linux 6.16.1's and 6.18.2's arch/x86/kvm/vmx/tdx.c (the same guards and
 * functions in both).
 * @see linux arch/x86/kvm/vmx/tdx.c (v6.16.1, v6.18.2)
 */
export const KVM_TDX_SITES: Readonly<Record<KvmTdxSite, KvmTdxSiteInfo>> = Object.freeze({
  reclaim: { guard: 'warn_on_once', fn: '__tdx_reclaim_page', line616: 335, line618: 316, line713: 334 },
  vp_flush: { guard: 'kvm_bug_on', fn: 'tdx_flush_vp_on_cpu', line616: 426, line618: 407, line713: 425 },
  cache_wb: { guard: 'warn_on_once', fn: 'smp_func_do_phymem_cache_wb', line616: 476, line618: 467, line713: 484 },
  vpflushdone: { guard: 'kvm_bug_on', fn: 'tdx_mmu_release_hkid', line616: 516, line618: 507, line713: 523 },
  key_freeid: { guard: 'kvm_bug_on', fn: 'tdx_mmu_release_hkid', line616: 540, line618: 531, line713: 546 },
  wbinvd_tdr: { guard: 'kvm_bug_on', fn: 'tdx_reclaim_td_control_pages', line616: 592, line618: 583, line713: 597 },
  key_config: { guard: 'kvm_bug_on', fn: 'tdx_do_tdh_mng_key_config', line616: 619, line618: 610, line713: 622 },
  page_aug: { guard: 'kvm_bug_on', fn: 'tdx_mem_page_aug', line616: 1611, line618: 1606, line713: 1652 },
  // tdx_gmem_post_populate(): a failed PAGE.ADD or MR.EXTEND only sets ret (-EBUSY/-EIO), no BUG, no print (6.16.1, 6.18.2).
  page_add: { guard: 'none', fn: 'tdx_gmem_post_populate', fn619: 'tdx_mem_page_add', line713: 1632 },
  mr_extend: { guard: 'none', fn: 'tdx_gmem_post_populate', line713: 3138 },
  page_remove: { guard: 'kvm_bug_on', fn: 'tdx_sept_drop_private_spte', fn619: FOLDED, line616: 1708, line618: 1703, line713: 1818 },
  wbinvd_hkid: { guard: 'kvm_bug_on', fn: 'tdx_sept_drop_private_spte', fn619: FOLDED, line616: 1715, line618: 1710, line713: 1822 },
  sept_add: { guard: 'kvm_bug_on', fn: 'tdx_sept_link_private_spt', line616: 1737, line618: 1732, line713: 1702 },
  range_block: { guard: 'kvm_bug_on', fn: 'tdx_sept_zap_private_spte', fn619: FOLDED, line616: 1804, line618: 1799, line713: 1802 },
  mem_track: { guard: 'kvm_bug_on', fn: 'tdx_track', line616: 1854, line618: 1849, line713: 1749 },
  free_spt_hkid: { guard: 'kvm_bug_on', fn: 'tdx_sept_free_private_spt', line616: 1873, line618: 1868, line713: 1767 },
  mng_create: { guard: 'warn_on_once', fn: '__tdx_td_init', line616: 2534, line618: 2540, line713: 2447 },
  mng_addcx: { guard: 'warn_on_once', fn: '__tdx_td_init', line616: 2576, line618: 2582, line713: 2488 },
  mng_init: { guard: 'warn_on_once', fn: '__tdx_td_init', line616: 2594, line618: 2600, line713: 2505 },
  mr_finalize: { guard: 'kvm_bug_on', fn: 'tdx_td_finalize', line616: 2879, line618: 2885, line713: 2811 },
  vp_create: { guard: 'kvm_bug_on', fn: 'tdx_td_vcpu_init', line616: 2962, line618: 2975, line713: 2907 },
  vp_addcx: { guard: 'kvm_bug_on', fn: 'tdx_td_vcpu_init', line616: 2970, line618: 2983, line713: 2914 },
  vp_init: { guard: 'kvm_bug_on', fn: 'tdx_td_vcpu_init', line616: 2985, line618: 2998, line713: 2938 },
  // tdx_handle_exit(): KVM_BUG_ON(!kvm_rebooting, vcpu->kvm) on a TDX software error from TDH.VP.ENTER.
  vp_enter_sw: { guard: 'kvm_bug_on', fn: 'tdx_handle_exit', line616: 2058, line618: 2064, line713: 1987 },
});

/** The KVM TDX source file, as a WARNING line names it. */
export const KVM_TDX_FILE = 'arch/x86/kvm/vmx/tdx.c';

/** The releases whose tdx.c line numbers the model has (`kvmWarnSplat`). */
export type KvmWarnLines = '6.16.1' | '6.18.2' | '7.1.3';

/**
 * The splat location of `site` for a kernel that prints splats with the line numbers of
 * `lines`, else undefined (the WARN still fires once, silently in the model). 7.1.3 names the
 * 6.19 function (`fn619`) and prints the WARNING line in its own format (`warnFormat`).
 */
export function kvmTdxWarnSite(lines: KvmWarnLines | undefined, site: KvmTdxSite): WarnSite | undefined {
  const s = KVM_TDX_SITES[site];
  switch (lines) {
    case '6.16.1':
      return s.line616 === undefined ? undefined : { file: KVM_TDX_FILE, line: s.line616, fn: s.fn, module: 'kvm_intel' };
    case '6.18.2':
      return s.line618 === undefined ? undefined : { file: KVM_TDX_FILE, line: s.line618, fn: s.fn, module: 'kvm_intel' };
    case '7.1.3':
      return s.line713 === undefined ? undefined : { file: KVM_TDX_FILE, line: s.line713, fn: s.fn619 ?? s.fn, module: 'kvm_intel', warnFormat: '7.1' };
    case undefined:
      return undefined;
  }
}

/**
 * handle_removed_pt()'s `WARN_ON(free_external_spt(...))`: a plain WARN_ON (every time, no once
 * flag) when tdx_sept_free_private_spt() fails for an S-EPT page (its RECLAIM refused, or the
 * HKID still assigned); the page is leaked. In kvm.ko, so `[kvm]`. Line 488 in both 6.16.1 and
 * 6.18.2, 484 in 7.1.3.
 * @see linux arch/x86/kvm/mmu/tdp_mmu.c handle_removed_pt() (v6.16.1, v6.18.2, v7.1.3)
 */
export function tdpMmuFreeExternalSptSite(lines: KvmWarnLines | undefined): WarnSite | undefined {
  if (lines === undefined) {
    return undefined;
  }
  const site = { file: 'arch/x86/kvm/mmu/tdp_mmu.c', fn: 'handle_removed_pt', module: 'kvm' };
  return lines === '7.1.3' ? { ...site, line: 484, warnFormat: '7.1' } : { ...site, line: 488 };
}

/**
 * Functions whose rate-limited prints are all KVM's failed-SEAMCALL lines, so that a
 * `<function>: N callbacks suppressed` line from one of them stands for N more failed SEAMCALLs:
 * the upstream sites' functions (6.16–6.18 names and the 6.19 folded one) and the out-of-tree
 * `pr_tdx_error` (Ubuntu 6.8). Left out: __tdx_td_init(), whose pr_warn_ratelimited() "All
 * packages need to have online CPU" shares its name; tdx_sept_free_private_spt(), which prints
 * nothing.
 * @see linux arch/x86/kvm/vmx/tdx.c (v6.18.2); test/fixtures/corpus/11-ubuntu68-runtime-reclaim-quote-stress.log
 */
export const KVM_TDX_FAILURE_PRINT_FUNCS: ReadonlySet<string> = new Set([
  'pr_tdx_error',
  ...Object.values(KVM_TDX_SITES)
    .filter((s) => s.fn !== '__tdx_td_init' && s.fn !== 'tdx_sept_free_private_spt')
    .flatMap((s) => [s.fn, ...(s.fn619 === undefined ? [] : [s.fn619])]),
]);
