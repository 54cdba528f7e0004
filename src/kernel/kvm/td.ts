/**
 * Trust Domains, the way KVM builds and destroys them with the module's TD-lifecycle leaves:
 * TDR + HKID (MNG.CREATE), the key on every package (MNG.KEY.CONFIG), TDCS pages (MNG.ADDCX),
 * TD_PARAMS (MNG.INIT), a VCPU (VP.CREATE, VP.ADDCX per TDCX page, VP.INIT, which associates
 * the VCPU with the CPU that issued it), Secure EPT pages and private memory (SEPT.ADD,
 * PAGE.ADD, PAGE.AUG). The TD then writes its memory through its KeyID on the CPU that runs it,
 * which leaves dirty private cache lines behind — what kexec must flush. Loading the VCPU on
 * another CPU first flushes it off the old one (VP.FLUSH there).
 *
 * Private memory is kept as a few contiguous ranges, not as pages: each range is one
 * allocation from the page allocator (2 MiB aligned where the GPA is, smaller chunks when memory
 * is fragmented), mapped with 2 MiB PAGE.AUGs wherever GPA and PA are both 2 MiB aligned, and
 * touched by the TD with one bulk store. A TD of 8 GiB is then a handful of ranges and ~4k
 * SEAMCALLs, not two million of each (the scale rule of docs/architecture.md section 4).
 *
 * Teardown follows the kernel's KVM (`kvmTdTeardown`, docs/kernel.md "TD teardown order").
 * Upstream (6.16 on): the private memory leaves first, with the HKID still assigned (RANGE.BLOCK,
 * MEM.TRACK, PAGE.REMOVE, PAGE.WBINVD per leaf, as guest_memfd's release zaps it); then the
 * VCPU is flushed off its CPU (VP.FLUSH) and the HKID released (VPFLUSHDONE, PHYMEM.CACHE.WB per
 * package, KEY.FREEID); then PHYMEM.PAGE.RECLAIM of the VCPU's TDCX pages and TDVPR
 * (tdx_vcpu_free()), the SEPT pages (children first), the TDCS pages and the TDR, which also gets
 * PHYMEM.PAGE.WBINVD under the global KeyID (tdx_reclaim_td_control_pages()). Out-of-tree (Ubuntu
 * 6.8, the 2022 drafts): the HKID is released first and every page reclaimed after it, private
 * memory leaf by leaf (RECLAIM takes a 2 MiB page whole).
 * @see linux arch/x86/kvm/vmx/tdx.c __tdx_td_init(), tdx_td_init(), tdx_td_vcpu_init(),
 *      tdx_vcpu_load(), tdx_flush_vp_on_cpu(), tdx_mmu_release_hkid(), tdx_vcpu_free(),
 *      tdx_reclaim_td_control_pages(), tdx_reclaim_page(), tdx_sept_link_private_spt(),
 *      tdx_mem_page_aug(), tdx_sept_remove_private_spte(), tdx_sept_free_private_spt() (v6.16–v6.18)
 */
import { PAGE_SIZE } from '../../base/ids.js';
import { hex, hex16 } from '../../base/u64.js';
import type { Cpu } from '../../platform/Cpu.js';
import type { Prog } from '../../platform/Exec.js';
import { seamRegs } from '../../platform/Seam.js';
import { EINVAL, EIO, ENOENT, ENOMEM } from '../errno.js';
import type { KernelStatus } from '../errno.js';
import type { Kernel } from '../Kernel.js';
import { printk_ratelimited, WARN_ON, WARN_ON_ONCE } from '../printk.js';
import { smp_call_on_cpu } from '../smp.js';
import {
  TDH_MEM_PAGE_ADD,
  TDH_MEM_PAGE_AUG,
  TDH_MEM_PAGE_REMOVE,
  TDH_MEM_RANGE_BLOCK,
  TDH_MEM_SEPT_ADD,
  TDH_MEM_TRACK,
  TDH_MNG_ADDCX,
  TDH_MNG_CREATE,
  TDH_MNG_INIT,
  TDH_MNG_KEY_CONFIG,
  TDH_MNG_KEY_FREEID,
  TDH_MNG_VPFLUSHDONE,
  TDH_MR_EXTEND,
  TDH_MR_FINALIZE,
  TDH_PHYMEM_CACHE_WB,
  TDH_PHYMEM_PAGE_RECLAIM,
  TDH_PHYMEM_PAGE_WBINVD,
  TDH_VP_ADDCX,
  TDH_VP_CREATE,
  TDH_VP_ENTER,
  TDH_VP_FLUSH,
  TDH_VP_INIT,
  TDX_FLUSHVP_NOT_DONE,
  TDX_INTERRUPTED_RESUMABLE,
  TDX_NO_HKID_READY_TO_WBCACHE,
  TDX_OPERAND_BUSY,
  TDX_OPERAND_INVALID,
  TDX_ERROR,
  TDX_NON_RECOVERABLE,
  TDX_SEAMCALL_STATUS_MASK,
  TDX_SW_ERROR,
  TDX_VCPU_NOT_ASSOCIATED,
} from '../tdx/defs.js';
import { seamcall, seamcall_repeat } from '../tdx/seamcall.js';
import type { SeamArgs, SeamResult } from '../tdx/seamcall.js';
import { tdx_clflush_page, tdx_guest_keyid_alloc, tdx_guest_keyid_free, tdx_quirk_reset_paddr } from '../tdx/tdx.js';
import { KVM_PREFIX, MD_FIELD_ID_FEATURES0_TOPOLOGY_ENUM } from './kvm.js';
import { KVM_TDX_SITES, kvmTdxWarnSite, tdpMmuFreeExternalSptSite } from './tdxBugSites.js';
import type { KvmTdxSite } from './tdxBugSites.js';

/** A contiguous piece of a TD's private memory: `size` bytes at `gpa` backed by `pa`. */
export interface TdMemRange {
  readonly gpa: number;
  readonly pa: number;
  readonly size: number;
}

/** One vCPU of a TD as KVM tracks it (struct vcpu_tdx). */
export interface TdVcpu {
  /** vcpu->vcpu_id, also the x2APIC ID given to TDH.VP.INIT version 1. */
  readonly index: number;
  /** The TDVPR page (tdx->vp.tdvpr_page), added with TDH.VP.CREATE (0 before). */
  tdvpr: number;
  /** The TDCX pages (tdx->vp.tdcx_pages), added with TDH.VP.ADDCX. */
  readonly tdcx: number[];
  /** vcpu->cpu: the CPU the vCPU is loaded on (-1: none), where TDH.VP.FLUSH must run. */
  cpu: number;
  /** to_tdx(vcpu)->state != VCPU_TD_STATE_UNINITIALIZED: TDH.VP.INIT succeeded. */
  initialized: boolean;
}

/** A TD's pages and state as KVM tracks them. */
export interface Td {
  readonly id: number;
  readonly hkid: number;
  readonly tdr: number;
  readonly tdcs: number[];
  /** The vCPUs in vcpu_id order (those whose KVM_TDX_INIT_VCPU got as far as TDH.VP.CREATE). */
  readonly vcpus: TdVcpu[];
  readonly sept: number[];
  /** Secure EPT level of each page of `sept` (3 PDPT, 2 PD, 1 PT), in the same (allocation) order. */
  readonly septLevel: number[];
  /** Private memory in GPA order, as ranges contiguous in both GPA and PA. */
  readonly ranges: TdMemRange[];
  /**
   * GPA up to which private memory is mapped in the Secure EPT (PAGE.ADD/AUG succeeded); leaves
   * above it were allocated but never reached the module (a TD whose build stopped midway).
   */
  mappedEnd: number;
  /** The CPU vCPU 0 first runs on (and touches the TD's memory from). */
  runCpu: number;
  /**
   * kvm->vm_bugged (and vm_dead): a KVM_BUG_ON()/TDX_BUG_ON() fired for this VM. Later vCPU
   * ioctls (KVM_RUN) return -EIO; 6.19+ prints only the first failure.
   */
  bugged: boolean;
  state: 'created' | 'runnable' | 'torn-down' | 'failed';
}

/** What kind of TD to build. */
export interface TdOptions {
  /** Private 4 KiB pages (first one via PAGE.ADD, the rest via PAGE.AUG). */
  readonly pages?: number;
  /** The CPU that runs the TD's vCPU 0 (and touches its memory). */
  readonly runCpu?: number;
  /** vCPUs (KVM_CREATE_VCPU + KVM_TDX_INIT_VCPU each; default 1). */
  readonly vcpus?: number;
  /** Fill byte of the TD's writes. */
  readonly fill?: number;
}

const MIN_TDCS_PAGES = 6;
/** TDVPS pages (TDVPR + TDCX) when the module does not report TDVPS_BASE_SIZE (pre-6.16 reads). */
const MIN_TDVPS_PAGES = 6;
const SZ_2M = 0x20_0000;
const PAGES_2M = SZ_2M / PAGE_SIZE;
const TD_PARAMS_SIZE = 1024;
/** GPA where the TD's private memory starts. */
const TD_GPA_BASE = 0x100000;

/**
 * How KVM reports a failed TD SEAMCALL: `pr_tdx_error` (status only), `_1`/`_2`/`_3` (status
 * plus the first one, two or three output registers), or `none` where KVM prints nothing.
 */
export type PrTdxError = 'pr_tdx_error' | 'pr_tdx_error_1' | 'pr_tdx_error_2' | 'pr_tdx_error_3' | 'none';

/**
 * KVM's line for a failed TD SEAMCALL (after the `kvm_intel: ` prefix): `SEAMCALL %s failed:
 * 0x%llx`, the leaf named as in the source (`#__fn`, e.g. TDH_MNG_CREATE), the status unpadded;
 * the `_N` variants append `, rcx 0x%llx[, rdx 0x%llx[, r8 0x%llx]]`.
 * @see linux arch/x86/kvm/vmx/tdx.c pr_tdx_error(), __pr_tdx_error_N(), pr_tdx_error_1/2/3() (v6.16–v6.18)
 */
export function pr_tdx_error_line(fn: string, err: bigint, variant: Exclude<PrTdxError, 'none'>, out: { rcx: bigint; rdx: bigint; r8: bigint }): string {
  const regs: [string, bigint][] = [
    ['rcx', out.rcx],
    ['rdx', out.rdx],
    ['r8', out.r8],
  ];
  const n = variant === 'pr_tdx_error' ? 0 : Number(variant.slice(-1));
  const tail = regs
    .slice(0, n)
    .map(([name, v]) => `, ${name} ${hex(v)}`)
    .join('');
  return `SEAMCALL ${fn} failed: ${hex(err)}${tail}`;
}

/**
 * The out-of-tree KVM TDX's line for a failed SEAMCALL (Ubuntu's 6.8 kernels): one line, no
 * printk prefix, leaf and status as 16 hex digits, then RCX, RDX, R8, R9, R10 and R11 (ratelimited:
 * `pr_tdx_error: N callbacks suppressed`).
 * @see test/fixtures/corpus/11-ubuntu68-runtime-reclaim-quote-stress.log,
 *      12-ubuntu68-runtime-reclaim-td-termination.log (canonical/tdx #156, #153); the out-of-tree
 *      KVM TDX series calls it as `pr_tdx_error(TDH_MEM_PAGE_REMOVE, err, &out)` (Isaku Yamahata,
 *      "KVM: TDX: TDP MMU TDX support"); its own source was not read
 */
export function seamcall_regs_line(leaf: bigint, err: bigint, out: SeamResult['out']): string {
  return `SEAMCALL (${hex16(leaf)}) failed: ${hex16(err)} RCX ${hex16(out.rcx)} RDX ${hex16(out.rdx)} R8 ${hex16(out.r8)} R9 ${hex16(out.r9)} R10 ${hex16(out.r10)} R11 ${hex16(out.r11)}`;
}

/**
 * KVM's line for a failed TD SEAMCALL from 6.19 on (`TDX_BUG_ON()`, `TDX_BUG_ON_1/2/3()`):
 * `SEAMCALL %s failed: 0x%llx` followed by each extra value named after the variable KVM holds
 * it in. Every `_2` call site passes `entry, level_state` (SEPT.ADD, PAGE.ADD, PAGE.AUG,
 * MR.EXTEND, RANGE.BLOCK, PAGE.REMOVE), the `_1` site `rcx` (MNG.INIT) and the `_3` site `rcx,
 * rdx, r8` (PHYMEM.PAGE.RECLAIM), whose format string has a stray comma after the second name
 * (`, rdx, 0x%llx`), kept here as the source has it.
 * @see linux "[GIT PULL] KVM: x86: TDX changes for 6.19" (tags/kvm-x86-tdx-6.19, pulled 26 Nov
 *      2025): 597d7068702f "KVM: TDX: Combine KVM_BUG_ON + pr_tdx_error() into TDX_BUG_ON()",
 *      55560b6be5bc "KVM: TDX: Derive error argument names from the local variable names"
 */
export function tdx_bug_on_line(fn: string, err: bigint, variant: Exclude<PrTdxError, 'none'>, out: { rcx: bigint; rdx: bigint; r8: bigint }): string {
  switch (variant) {
    case 'pr_tdx_error':
      return `SEAMCALL ${fn} failed: ${hex(err)}`;
    case 'pr_tdx_error_1':
      return `SEAMCALL ${fn} failed: ${hex(err)}, rcx ${hex(out.rcx)}`;
    case 'pr_tdx_error_2':
      return `SEAMCALL ${fn} failed: ${hex(err)}, entry ${hex(out.rcx)}, level_state ${hex(out.rdx)}`;
    case 'pr_tdx_error_3':
      return `SEAMCALL ${fn} failed: ${hex(err)}, rcx ${hex(out.rcx)}, rdx, ${hex(out.rdx)}, r8 ${hex(out.r8)}`;
  }
}

/**
 * Print a failed TD SEAMCALL the way this kernel's KVM does (nothing for `none`), from the call
 * site `site` (the function it is in names its rate limit, its line the WARN splat).
 * - 6.16–6.18 (`pr_tdx_error`): the site's guard first (KVM_BUG_ON(err, kvm): the splat the first
 *   time the site fires while the VM was not bugged yet, and the VM is bugged; WARN_ON_ONCE(err):
 *   the splat the first time in this boot), then the line through pr_err_ratelimited() (every
 *   failure, at most 10 per site per 5 s).
 * - 6.19+ (`tdx_bug_on`): `__TDX_BUG_ON()`: `WARN_ON_ONCE(err && (!kvm || !kvm->vm_bugged))`,
 *   and only when that holds the VM is bugged and the line goes through pr_err_ratelimited(); so
 *   one line per VM, and every failure of the calls without a VM (RECLAIM, CACHE.WB), rate limited.
 * - Ubuntu 6.8 (`seamcall-regs`): the out-of-tree pr_tdx_error() is a function with one
 *   rate-limited print, so every failure shares one limit, named `pr_tdx_error` (the real log's
 *   `pr_tdx_error: 503 callbacks suppressed`); its BUG/WARN are not modelled (source not read).
 * `vm` is the TD the call belongs to (KVM's `kvm` argument; `null` where KVM passes NULL).
 * @see linux arch/x86/kvm/vmx/tdx.c pr_tdx_error(), pr_tdx_error_N() (pr_err_ratelimited()),
 *      include/linux/kvm_host.h KVM_BUG_ON(), kvm_vm_bugged() (v6.16.1, v6.18.2); kvm-x86-tdx-6.19
 *      597d7068702f (__TDX_BUG_ON()); arch/x86/kvm/vmx/tdx.c __TDX_BUG_ON() v7.1.3 (the same
 *      macro, its WARN_ON_ONCE() splat at the call site's line where `kvmWarnSplat` has them);
 *      test/fixtures/corpus/11-ubuntu68-runtime-reclaim-quote-stress.log
 */
function kvm_pr_tdx_error(k: Kernel, cpu: Cpu, site: KvmTdxSite, leaf: bigint, fn: string, r: SeamResult, pr: PrTdxError, vm: Td | null): void {
  if (pr === 'none') {
    return;
  }
  const info = KVM_TDX_SITES[site];
  const key = `tdx.c:${site}`;
  switch (k.profile.kvmTdxErrors) {
    case 'seamcall-regs':
      printk_ratelimited(k, 'pr_tdx_error', 'pr_tdx_error', 'err', seamcall_regs_line(leaf, r.ret, r.out));
      return;
    case 'tdx_bug_on':
      if (!WARN_ON_ONCE(k, cpu.id, vm === null || !vm.bugged, key, kvmTdxWarnSite(k.profile.kvmWarnSplat, site))) {
        return;
      }
      if (vm !== null) {
        vm.bugged = true;
      }
      printk_ratelimited(k, key, info.fn619 ?? info.fn, 'err', KVM_PREFIX + tdx_bug_on_line(fn, r.ret, pr, r.out));
      return;
    default:
      kvm_tdx_bug(k, cpu, site, vm);
      printk_ratelimited(k, key, info.fn, 'err', KVM_PREFIX + pr_tdx_error_line(fn, r.ret, pr, r.out));
  }
}

/**
 * The guard of `site` firing in 6.16–6.18 KVM: KVM_BUG_ON(1, kvm) (a WARN_ON_ONCE while the VM
 * was not bugged yet, then the VM is bugged: kvm->vm_bugged, vm_dead) or WARN_ON_ONCE(1) where
 * KVM has no VM at hand. The splat is printed where the profile has the source's line numbers
 * (`kvmWarnSplat`).
 * @see linux include/linux/kvm_host.h KVM_BUG_ON(), kvm_vm_bugged() (v6.16.1, v6.18.2)
 */
export function kvm_tdx_bug(k: Kernel, cpu: Cpu, site: KvmTdxSite, vm: Td | null): void {
  const info = KVM_TDX_SITES[site];
  const where = kvmTdxWarnSite(k.profile.kvmWarnSplat, site);
  const key = `tdx.c:${site}`;
  if (info.guard === 'kvm_bug_on' && vm !== null) {
    WARN_ON_ONCE(k, cpu.id, !vm.bugged, key, where);
    vm.bugged = true;
  } else if (info.guard !== 'none') {
    WARN_ON_ONCE(k, cpu.id, true, key, where);
  }
}

/** Status of a TD SEAMCALL of `vm` (null: none) at `site`, and KVM's pr_err_ratelimited() line when it fails. */
function* tdcall(k: Kernel, cpu: Cpu, site: KvmTdxSite, leaf: number | bigint, args: SeamArgs, what: string, pr: PrTdxError, vm: Td | null): Prog<bigint> {
  const r = yield* seamcall(k, cpu, BigInt(leaf), args);
  if (r.ret !== 0n) {
    kvm_pr_tdx_error(k, cpu, site, BigInt(leaf), what, r, pr, vm);
  }
  return r.ret;
}

/**
 * How KVM reports a failed TDH.MEM.PAGE.ADD or TDH.MR.EXTEND while populating the initial image:
 * not at all in 6.16–6.18 (tdx_gmem_post_populate() returns -EIO), `TDX_BUG_ON_2` from 6.19
 * ("KVM: TDX: Bug the VM if extending the initial measurement fails", "KVM: TDX: ADD pages to
 * the TD image while populating mirror EPT entries").
 * @see linux arch/x86/kvm/vmx/tdx.c tdx_gmem_post_populate() (v6.16); kvm-x86-tdx-6.19
 */
function populatePr(k: Kernel): PrTdxError {
  return k.profile.kvmTdxErrors === 'tdx_bug_on' ? 'pr_tdx_error_2' : 'none';
}

function allocPage(k: Kernel, cpu: Cpu): number | undefined {
  return k.pageAlloc.alloc_contig_pages(1, cpu.node);
}

/** The first online CPU of each package, in package order. */
function packageLeaders(k: Kernel): Cpu[] {
  const seen = new Set<number>();
  const out: Cpu[] = [];
  for (const c of k.platform.cpus) {
    if (c.online && !seen.has(c.packageId)) {
      seen.add(c.packageId);
      out.push(c);
    }
  }
  return out;
}

/**
 * Create a TD: HKID, TDR, keys on every package, TDCS, TD_PARAMS, one VCPU, SEPT and private
 * pages. Stops at the first failing leaf (the TD is left for teardown).
 * @returns the TD and 0, or an errno
 * @see linux __tdx_td_init(), tdx_td_init(), tdx_td_vcpu_init()
 */
export function* kvm_create_td(k: Kernel, cpu: Cpu, opts: TdOptions = {}): Prog<{ ret: KernelStatus; td: Td | undefined }> {
  if (!k.kvm.loaded) {
    // No /dev/kvm: kvm_init() registers the device, and a vendor module whose init failed (or
    // never ran) never calls it, so the VMM's open("/dev/kvm") fails with ENOENT before any ioctl.
    // @see linux virt/kvm/kvm_main.c kvm_init(): misc_register(&kvm_dev) (v6.18); arch/x86/kvm/vmx/main.c vt_init()
    return { ret: -ENOENT, td: undefined };
  }
  if (!k.kvm.enable_tdx) {
    return { ret: -EINVAL, td: undefined };
  }
  const hkid = tdx_guest_keyid_alloc(k);
  if (hkid < 0) {
    return { ret: hkid, td: undefined };
  }
  k.kvm.nr_configured_hkid++;
  const tdr = allocPage(k, cpu);
  if (tdr === undefined) {
    tdx_guest_keyid_free(k, hkid);
    k.kvm.nr_configured_hkid--;
    return { ret: -ENOMEM, td: undefined };
  }
  if (!all_packages_online(k)) {
    // free_packages, free_tdr, free_hkid: nothing reached the module.
    k.scope(KVM_PREFIX).warn('All packages need to have online CPU to create TD. Online CPU and retry.');
    k.pageAlloc.free_contig_range(tdr, 1);
    tdx_guest_keyid_free(k, hkid);
    k.kvm.nr_configured_hkid--;
    return { ret: -EIO, td: undefined };
  }
  const td: Td = { id: k.kvm.nextTdId++, hkid, tdr, tdcs: [], vcpus: [], sept: [], septLevel: [], ranges: [], mappedEnd: TD_GPA_BASE, runCpu: opts.runCpu ?? cpu.id, bugged: false, state: 'created' };
  k.kvm.tds.push(td);
  const ret = yield* td_build(k, cpu, td, opts);
  if (ret !== 0) {
    td.state = 'failed';
    return { ret, td };
  }
  td.state = 'runnable';
  // KVM_RUN of vCPU 0 on the TD's CPU: vcpu_load() there flushes it off the CPU it was on.
  yield* tdx_vcpu_load(k, cpu, td, td.vcpus[0] as TdVcpu, td.runCpu);
  yield* td_touch_memory(k, td, opts.fill ?? 0xa5);
  return { ret: 0, td };
}

/**
 * Every package has an online CPU: TDH.MNG.KEY.CONFIG must program the key on each package, so
 * __tdx_td_init() refuses before TDH.MNG.CREATE otherwise (pr_warn_ratelimited, -EIO).
 * @see linux arch/x86/kvm/vmx/tdx.c __tdx_td_init() MSG_ALLPKG (v6.16–v6.18)
 */
function all_packages_online(k: Kernel): boolean {
  const present = new Set(k.platform.cpus.map((c) => c.packageId));
  return packageLeaders(k).length === present.size;
}

/** The leaf sequence of TD creation. */
function* td_build(k: Kernel, cpu: Cpu, td: Td, opts: TdOptions): Prog<KernelStatus> {
  tdx_clflush_page(k, cpu, td.tdr);
  if ((yield* tdcall(k, cpu, 'mng_create', TDH_MNG_CREATE, { rcx: BigInt(td.tdr), rdx: BigInt(td.hkid) }, 'TDH_MNG_CREATE', 'pr_tdx_error', td)) !== 0n) {
    return -EIO;
  }
  for (const leader of packageLeaders(k)) {
    const st = yield* smp_call_on_cpu(k.platform, cpu, leader, (on) => tdcall(k, on, 'key_config', TDH_MNG_KEY_CONFIG, { rcx: BigInt(td.tdr) }, 'TDH_MNG_KEY_CONFIG', 'pr_tdx_error', td));
    if (st !== 0n) {
      return -EIO;
    }
  }
  const nrTdcs = Math.max(MIN_TDCS_PAGES, Math.floor((k.tdx.tdx_sysinfo?.td_ctrl?.tdcs_base_size ?? MIN_TDCS_PAGES * PAGE_SIZE) / PAGE_SIZE));
  for (let i = 0; i < nrTdcs; i++) {
    const pa = allocPage(k, cpu);
    if (pa === undefined) {
      return -ENOMEM;
    }
    td.tdcs.push(pa);
    tdx_clflush_page(k, cpu, pa);
    if ((yield* tdcall(k, cpu, 'mng_addcx', TDH_MNG_ADDCX, { rcx: BigInt(pa), rdx: BigInt(td.tdr) }, 'TDH_MNG_ADDCX', 'pr_tdx_error', td)) !== 0n) {
      return -EIO;
    }
  }
  const nrVcpus = Math.max(1, opts.vcpus ?? 1);
  let ret = yield* td_init_params(k, cpu, td, nrVcpus);
  if (ret !== 0) {
    return ret;
  }
  // KVM_TDX_INIT_VCPU of each vCPU, in vcpu_id order, from the task on `cpu`.
  for (let i = 0; i < nrVcpus; i++) {
    ret = yield* tdx_td_vcpu_init(k, cpu, td, i);
    if (ret !== 0) {
      return ret;
    }
  }
  ret = yield* td_add_memory(k, cpu, td, Math.max(1, opts.pages ?? 16), opts.fill ?? 0xa5);
  if (ret !== 0) {
    return ret;
  }
  return yield* tdx_td_finalize(k, cpu, td);
}

/**
 * KVM_TDX_FINALIZE_VM: TDH.MR.FINALIZE, after which the TD is RUNNABLE (the initial image page
 * was measured with TDH.MR.EXTEND when it was added, KVM_TDX_MEASURE_MEMORY_REGION).
 * @see linux tdx_td_finalize()
 */
function* tdx_td_finalize(k: Kernel, cpu: Cpu, td: Td): Prog<KernelStatus> {
  return (yield* tdcall(k, cpu, 'mr_finalize', TDH_MR_FINALIZE, { rcx: BigInt(td.tdr) }, 'TDH_MR_FINALIZE', 'pr_tdx_error', td)) === 0n ? 0 : -EIO;
}

/**
 * KVM_TDX_INIT_VCPU of vCPU `index` on `cpu` (the vCPU is loaded there): allocate the TDVPR and
 * the TDVPS_BASE_SIZE / 4096 - 1 TDCX pages, then VP.CREATE, VP.ADDCX per TDCX page and VP.INIT,
 * which associates the vCPU with `cpu`. VP.INIT is version 1 (R8 = x2APIC ID = vcpu_id) as
 * in 6.16+, which KVM only issues on modules reporting TOPOLOGY_ENUM (tdx_bringup() refuses the
 * rest; the modules that have it are the ones that accept version 1); a kernel that did not
 * read TDX_FEATURES0 (profiles before 6.14) issues version 0.
 * @see linux tdx_td_vcpu_init(), tdx_vcpu_init(); arch/x86/virt/vmx/tdx/tdx.c tdh_vp_init()
 */
function* tdx_td_vcpu_init(k: Kernel, cpu: Cpu, td: Td, index: number): Prog<KernelStatus> {
  const tdvpsPages = Math.floor((k.tdx.tdx_sysinfo?.td_ctrl?.tdvps_base_size ?? MIN_TDVPS_PAGES * PAGE_SIZE) / PAGE_SIZE);
  const tdvpr = allocPage(k, cpu);
  if (tdvpr === undefined) {
    return -ENOMEM;
  }
  const pages: number[] = [];
  for (let i = 0; i < tdvpsPages - 1; i++) {
    const pa = allocPage(k, cpu);
    if (pa === undefined) {
      k.pageAlloc.free_contig_range(tdvpr, 1);
      pages.forEach((p) => k.pageAlloc.free_contig_range(p, 1));
      return -ENOMEM;
    }
    pages.push(pa);
  }
  tdx_clflush_page(k, cpu, tdvpr);
  if ((yield* tdcall(k, cpu, 'vp_create', TDH_VP_CREATE, { rcx: BigInt(tdvpr), rdx: BigInt(td.tdr) }, 'TDH_VP_CREATE', 'pr_tdx_error', td)) !== 0n) {
    // free_tdcx, free_tdvpr: nothing reached the module.
    [...pages, tdvpr].forEach((p) => k.pageAlloc.free_contig_range(p, 1));
    return -EIO;
  }
  const vcpu: TdVcpu = { index, tdvpr, tdcx: [], cpu: -1, initialized: false };
  td.vcpus.push(vcpu);
  for (let i = 0; i < pages.length; i++) {
    const pa = pages[i] as number;
    tdx_clflush_page(k, cpu, pa);
    if ((yield* tdcall(k, cpu, 'vp_addcx', TDH_VP_ADDCX, { rcx: BigInt(pa), rdx: BigInt(tdvpr) }, 'TDH_VP_ADDCX', 'pr_tdx_error', td)) !== 0n) {
      // Pages already added are reclaimed at teardown; the rest are freed here.
      pages.slice(i).forEach((p) => k.pageAlloc.free_contig_range(p, 1));
      return -EIO;
    }
    vcpu.tdcx.push(pa);
  }
  // The KVM_TDX_INIT_VCPU ioctl runs with the vCPU loaded on this CPU (vcpu_load()).
  tdx_associate_vp(k, vcpu, cpu.id);
  const v1 = ((k.tdx.tdx_sysinfo?.features?.tdx_features0 ?? 0n) & MD_FIELD_ID_FEATURES0_TOPOLOGY_ENUM) !== 0n;
  const leaf = BigInt(TDH_VP_INIT) | (v1 ? 1n << 16n : 0n);
  if ((yield* tdcall(k, cpu, 'vp_init', leaf, { rcx: BigInt(tdvpr), rdx: BigInt(TD_GPA_BASE), r8: BigInt(index) }, 'TDH_VP_INIT', 'pr_tdx_error', td)) !== 0n) {
    return -EIO;
  }
  vcpu.initialized = true;
  return 0;
}

/**
 * vcpu_load() of a TD vCPU on `target`: if it was loaded elsewhere (and the TD still has its
 * HKID), flush it off that CPU first, by an IPI there (VP.FLUSH, and the old CPU drops it from
 * its associated_tdvcpus list); then add it to `target`'s list. The module associates it with
 * `target` at the next TDH.VP.ENTER there.
 * @see linux tdx_vcpu_load() (v6.16–v6.18)
 */
function* tdx_vcpu_load(k: Kernel, cpu: Cpu, td: Td, vcpu: TdVcpu, target: number): Prog {
  if (vcpu.cpu === target || td.state === 'torn-down') {
    return;
  }
  yield* tdx_flush_vp_on_cpu(k, cpu, td, vcpu);
  tdx_associate_vp(k, vcpu, target);
}

/** list_add(&tdx->cpu_list, &per_cpu(associated_tdvcpus, cpu)), vcpu->cpu = cpu. */
function tdx_associate_vp(k: Kernel, vcpu: TdVcpu, cpu: number): void {
  let list = k.kvm.associated_tdvcpus.get(cpu);
  if (list === undefined) {
    list = [];
    k.kvm.associated_tdvcpus.set(cpu, list);
  }
  list.push(vcpu);
  vcpu.cpu = cpu;
}

/**
 * Drop the vCPU from its CPU's associated_tdvcpus list and forget the CPU (vcpu->cpu = -1).
 * @see linux tdx_disassociate_vp() (v6.16–v6.18)
 */
function tdx_disassociate_vp(k: Kernel, vcpu: TdVcpu): void {
  const list = k.kvm.associated_tdvcpus.get(vcpu.cpu);
  const i = list === undefined ? -1 : list.indexOf(vcpu);
  if (list !== undefined && i >= 0) {
    list.splice(i, 1);
  }
  vcpu.cpu = -1;
}

/** The TD vCPUs loaded on `cpu` (per_cpu(associated_tdvcpus, cpu)), in list order. */
export function associated_tdvcpus(k: Kernel, cpu: number): readonly TdVcpu[] {
  return k.kvm.associated_tdvcpus.get(cpu) ?? [];
}

/**
 * Flush the VCPU off the CPU it is loaded on, by a call on that CPU: VP.FLUSH if the VCPU was
 * initialized (TDX_VCPU_NOT_ASSOCIATED is fine: nothing to flush), then forget the CPU. Any
 * other error is a KVM_BUG_ON with `pr_tdx_error(TDH_VP_FLUSH, err)`.
 * @see linux tdx_flush_vp_on_cpu(), tdx_flush_vp(), tdx_disassociate_vp()
 */
function* tdx_flush_vp_on_cpu(k: Kernel, cpu: Cpu, td: Td, vcpu: TdVcpu): Prog {
  if (vcpu.cpu === -1) {
    return;
  }
  const target = k.platform.cpu(vcpu.cpu);
  const err = yield* smp_call_on_cpu(k.platform, cpu, target, (on) => tdx_flush_vp(k, on, vcpu));
  if (err !== 0n) {
    kvm_pr_tdx_error(k, cpu, 'vp_flush', BigInt(TDH_VP_FLUSH), 'TDH_VP_FLUSH', { ret: err as SeamResult['ret'], out: NO_OUT }, 'pr_tdx_error', td);
  }
}

/** Output registers of a status KVM prints without them. */
const NO_OUT: SeamResult['out'] = seamRegs();

/**
 * The vCPU part of tdx_disable_virtualization_cpu() on `cpu` (CPU offline, KVM's shutdown before
 * kexec): flush every TD vCPU on this CPU's associated_tdvcpus list (VP.FLUSH, errors ignored:
 * nothing is printed from there) and empty the list. The cache flush that follows in 6.18 is the
 * caller's.
 * @see linux arch/x86/kvm/vmx/tdx.c tdx_disable_virtualization_cpu() (v6.16–v6.18)
 */
export function* tdx_flush_associated_vcpus(k: Kernel, cpu: Cpu): Prog {
  for (const vcpu of [...associated_tdvcpus(k, cpu.id)]) {
    yield* tdx_flush_vp(k, cpu, vcpu);
  }
}

/** tdx_flush_vp() in IPI context on `on`: the status KVM treats as an error (0 otherwise). */
function* tdx_flush_vp(k: Kernel, on: Cpu, vcpu: TdVcpu): Prog<bigint> {
  let err = 0n;
  if (vcpu.initialized) {
    const r = yield* seamcall(k, on, BigInt(TDH_VP_FLUSH), { rcx: BigInt(vcpu.tdvpr) });
    if (r.ret !== 0n && r.ret !== TDX_VCPU_NOT_ASSOCIATED) {
      err = r.ret;
    }
  }
  tdx_disassociate_vp(k, vcpu);
  return err;
}

/**
 * Write a TD_PARAMS the module accepts (fixed attribute/XFAM bits honoured, MAX_VCPUS =
 * `maxVcpus`, 4-level EPT, a sane TSC frequency) and run TDH.MNG.INIT. KVM passes
 * kvm->max_vcpus, which userspace may lower with KVM_CAP_MAX_VCPUS; the model passes the TD's
 * vCPU count.
 * @see linux setup_tdparams() (td_params->max_vcpus = kvm->max_vcpus), tdx_td_init()
 */
function* td_init_params(k: Kernel, cpu: Cpu, td: Td, maxVcpus: number): Prog<KernelStatus> {
  const pa = k.pageAlloc.alloc_contig_pages(1, cpu.node);
  if (pa === undefined) {
    return -ENOMEM;
  }
  const conf = k.tdx.tdx_sysinfo?.td_conf;
  const b = new Uint8Array(TD_PARAMS_SIZE);
  const v = new DataView(b.buffer);
  v.setBigUint64(0, conf?.attributes_fixed1 ?? 0n, true);
  v.setBigUint64(8, conf?.xfam_fixed1 ?? 0x3n, true);
  v.setUint16(16, maxVcpus, true);
  // EPTP_CONTROLS: WB memory type (6), page-walk length 4 (encoded 3).
  v.setBigUint64(24, 6n | (3n << 3n), true);
  v.setUint16(40, 100, true);
  k.platform.store(cpu, pa, b, 0, 'kvm:td_params');
  // A TDX_OPERAND_INVALID class status goes back to userspace unprinted (the operands are its).
  const r = yield* seamcall(k, cpu, BigInt(TDH_MNG_INIT), { rcx: BigInt(td.tdr), rdx: BigInt(pa) });
  const st = r.ret;
  if (st !== 0n && (st & TDX_SEAMCALL_STATUS_MASK) !== TDX_OPERAND_INVALID) {
    kvm_pr_tdx_error(k, cpu, 'mng_init', BigInt(TDH_MNG_INIT), 'TDH_MNG_INIT', r, 'pr_tdx_error_1', td);
  }
  k.pageAlloc.free_contig_range(pa, 1);
  return st === 0n ? 0 : -EIO;
}

/**
 * Allocate `nrPages` of private memory for GPAs from TD_GPA_BASE, as few contiguous ranges as
 * the allocator allows: up to the first 2 MiB GPA boundary any pages, then whole 2 MiB pages
 * from 2 MiB-aligned host memory (so that they can be mapped as 2 MiB leaves), then the rest.
 * A request that does not fit is halved until it does; an aligned one that does not fit even
 * as one 2 MiB page falls back to unaligned 4 KiB-mapped chunks.
 */
function td_alloc_memory(k: Kernel, cpu: Cpu, td: Td, nrPages: number): KernelStatus {
  let gpa = TD_GPA_BASE;
  let left = nrPages;
  while (left > 0) {
    const toBoundary = (SZ_2M - (gpa % SZ_2M)) / PAGE_SIZE;
    let align = toBoundary === PAGES_2M && left >= PAGES_2M ? PAGES_2M : 1;
    let want = align === PAGES_2M ? left - (left % PAGES_2M) : Math.min(left, toBoundary);
    let pa = k.pageAlloc.alloc_contig_pages(want, cpu.node, align);
    while (pa === undefined) {
      if (align === PAGES_2M && want === PAGES_2M) {
        align = 1;
        want = PAGES_2M / 2;
      } else if (want === 1) {
        return -ENOMEM;
      } else {
        want = align === PAGES_2M ? Math.max(PAGES_2M, Math.floor(want / 2 / PAGES_2M) * PAGES_2M) : Math.ceil(want / 2);
      }
      pa = k.pageAlloc.alloc_contig_pages(want, cpu.node, align);
    }
    td.ranges.push({ gpa, pa, size: want * PAGE_SIZE });
    gpa += want * PAGE_SIZE;
    left -= want;
  }
  return 0;
}

/**
 * `gpa` lies strictly inside a 2 MiB leaf of `r` (not at its start): a release boundary there
 * would cut the leaf. The walk of td_leaf_size() maps every 2 MiB-aligned offset that has 2 MiB
 * left as one leaf, so only the aligned address below `gpa` needs a look.
 */
function td_in_huge_leaf(r: TdMemRange, gpa: number): boolean {
  const base = gpa - (gpa % SZ_2M);
  return base !== gpa && base >= r.gpa && base < r.gpa + r.size && td_leaf_size(r, base - r.gpa) === SZ_2M;
}

/** Size of the Secure EPT leaf at offset `off` of `r`: 2 MiB where GPA and PA allow it, else 4 KiB. */
function td_leaf_size(r: TdMemRange, off: number): number {
  return (r.gpa + off) % SZ_2M === 0 && (r.pa + off) % SZ_2M === 0 && r.size - off >= SZ_2M ? SZ_2M : PAGE_SIZE;
}

/**
 * Allocate the private memory, then map it leaf by leaf: the SEPT pages above each leaf (PDPT
 * and PD for a 2 MiB leaf, the PT as well for a 4 KiB one), then PAGE.ADD for the first page
 * (the initial image) and PAGE.AUG for the rest (RCX level 1 for a 2 MiB leaf).
 * @see linux tdx_sept_link_private_spt(), tdx_mem_page_aug(), tdx_mem_page_add()
 */
function* td_add_memory(k: Kernel, cpu: Cpu, td: Td, nrPages: number, fill: number): Prog<KernelStatus> {
  const ret = td_alloc_memory(k, cpu, td, nrPages);
  if (ret !== 0) {
    return ret;
  }
  const tables = new Set<number>();
  let first = true;
  for (const r of td.ranges) {
    // Linux flushes each page (or huge page) as it hands it over; nothing writes the range
    // through KeyID 0 in between, so one range flush up front is the same.
    tdx_clflush_page(k, cpu, r.pa, r.size);
    for (let off = 0, size = 0; off < r.size; off += size) {
      size = td_leaf_size(r, off);
      const gpa = r.gpa + off;
      const pa = r.pa + off;
      const leafLevel = size === SZ_2M ? 1 : 0;
      // 4-level EPT: link the PDPT, PD (and PT) pages above this leaf (SEPT levels 3, 2, 1).
      for (let level = 3; level > leafLevel; level--) {
        const span = 2 ** (12 + 9 * level);
        const key = level * 2 ** 40 + Math.floor(gpa / span);
        if (tables.has(key)) {
          continue;
        }
        tables.add(key);
        const sp = allocPage(k, cpu);
        if (sp === undefined) {
          return -ENOMEM;
        }
        td.sept.push(sp);
        td.septLevel.push(level);
        tdx_clflush_page(k, cpu, sp);
        const gpaAligned = gpa - (gpa % span);
        if ((yield* tdcall(k, cpu, 'sept_add', TDH_MEM_SEPT_ADD, { rcx: BigInt(gpaAligned) | BigInt(level), rdx: BigInt(td.tdr), r8: BigInt(sp) }, 'TDH_MEM_SEPT_ADD', 'pr_tdx_error_2', td)) !== 0n) {
          return -EIO;
        }
      }
      const st = first ? yield* td_page_add(k, cpu, td, gpa, pa, fill) : yield* tdcall(k, cpu, 'page_aug', TDH_MEM_PAGE_AUG, { rcx: BigInt(gpa) | BigInt(leafLevel), rdx: BigInt(td.tdr), r8: BigInt(pa) }, 'TDH_MEM_PAGE_AUG', 'pr_tdx_error_2', td);
      first = false;
      if (st !== 0n) {
        return -EIO;
      }
      td.mappedEnd = gpa + size;
    }
  }
  return 0;
}

/** Bytes of private memory a TD has. */
export function td_private_bytes(td: Td): number {
  let n = 0;
  for (const r of td.ranges) {
    n += r.size;
  }
  return n;
}

/**
 * TDH.MEM.PAGE.ADD from a shared source page holding the initial image, then TDH.MR.EXTEND of
 * its 16 256-byte chunks (KVM_TDX_INIT_MEM_REGION with KVM_TDX_MEASURE_MEMORY_REGION). The
 * image is the guest model's program (module guest model, docs/module.md, td_guest_program()).
 * @see linux tdx_gmem_post_populate(), tdh_mr_extend()
 */
function* td_page_add(k: Kernel, cpu: Cpu, td: Td, gpa: number, pa: number, fill: number): Prog<bigint> {
  const src = allocPage(k, cpu);
  if (src === undefined) {
    return -1n;
  }
  k.platform.store(cpu, src, td_guest_program(td, fill), 0, 'kvm:td_image');
  const st = yield* tdcall(k, cpu, 'page_add', TDH_MEM_PAGE_ADD, { rcx: BigInt(gpa), rdx: BigInt(td.tdr), r8: BigInt(pa), r9: BigInt(src) }, 'TDH_MEM_PAGE_ADD', populatePr(k), td);
  k.pageAlloc.free_contig_range(src, 1);
  if (st !== 0n) {
    return st;
  }
  td.mappedEnd = gpa + PAGE_SIZE;
  for (let off = 0; off < PAGE_SIZE; off += 256) {
    const r = yield* tdcall(k, cpu, 'mr_extend', TDH_MR_EXTEND, { rcx: BigInt(gpa + off), rdx: BigInt(td.tdr) }, 'TDH_MR_EXTEND', populatePr(k), td);
    if (r !== 0n) {
      return r;
    }
  }
  return 0n;
}

/** Guest model operations (the module's guest.ts encoding: four u64s per operation). */
const GUEST_END = 0n;
const GUEST_ACCEPT = 1n;
const GUEST_STORE = 2n;
const GUEST_OPS_MAX = 128;

/**
 * The guest program of the initial image, which every vCPU runs from its start (TDH.VP.INIT
 * gives each the same initial RCX, TD_GPA_BASE): ACCEPT each range, STORE `fill` over each range
 * (the first range last) except the page holding the program itself, then END (TDG.VP.VMCALL
 * <Instruction.HLT>). The first vCPU accepts the memory and dirties it in its CPU's cache; a later
 * vCPU finds the memory accepted (ACCEPT skips mapped leaves) and dirties it in its own CPU's
 * cache, then halts. Storing over the program page would make every later entry halt at once
 * (the next operation read back is fill bytes), so no vCPU but the first would run guest code.
 */
function td_guest_program(td: Td, fill: number): Uint8Array {
  const b = new Uint8Array(PAGE_SIZE);
  const v = new DataView(b.buffer);
  const ops: bigint[][] = [];
  for (const r of td.ranges) {
    ops.push([GUEST_ACCEPT, BigInt(r.gpa), BigInt(r.size), 0n]);
  }
  const tag = BigInt(fill & 0xff) | (BigInt(td.id) << 8n);
  for (const r of [...td.ranges].reverse()) {
    // The program page is the first page of the first range (TD_GPA_BASE).
    const skip = r.gpa === TD_GPA_BASE ? PAGE_SIZE : 0;
    if (r.size > skip) {
      ops.push([GUEST_STORE, BigInt(r.gpa + skip), BigInt(r.size - skip), tag]);
    }
  }
  ops.push([GUEST_END, 0n, 0n, 0n]);
  ops.slice(0, GUEST_OPS_MAX).forEach((op, i) => op.forEach((x, j) => v.setBigUint64(i * 32 + j * 8, x, true)));
  return b;
}

/** VMX exit reasons KVM looks at after TDH.VP.ENTER. */
const EXIT_REASON_TDCALL = 77n;
const EXIT_REASON_EPT_VIOLATION = 48n;
const EXIT_REASON_HLT = 12n;

/**
 * KVM_RUN of the TD's VCPU on its CPU: TDH.VP.ENTER there until the guest halts. The guest
 * accepts its memory and writes every private page but its program page through its KeyID (the
 * program of the initial image), so dirty TD-owned lines now sit in that CPU's cache (as many as
 * fit). A
 * TDG.VP.VMCALL<HLT> exit (RAX = 77, R11 = 12) ends the run; any other exit or an error stops it
 * with `pr_tdx_error(TDH_VP_ENTER)`.
 * @see linux tdx_vcpu_run(), tdx_vcpu_enter_exit(), tdx_handle_exit(), handle_tdvmcall()
 */
export function* td_touch_memory(k: Kernel, td: Td, _fill: number): Prog {
  const cpu = k.platform.cpu(td.runCpu);
  yield* tdx_vcpu_run(k, cpu, td, td.vcpus[0] as TdVcpu);
  yield { op: 'tick', ns: (td_private_bytes(td) / PAGE_SIZE) * k.platform.spec.costs.stepNs, label: 'td_run' };
}

/**
 * KVM_RUN of the TD's VCPU from a task on `cpu`: vcpu_load() there (which flushes the VCPU off
 * the CPU it was loaded on, by an IPI, if that differs), then TDH.VP.ENTER on `cpu`, which
 * associates the VCPU with this LP in the module. A VCPU that was never flushed off its old LP
 * gets TDX_VCPU_ASSOCIATED. A VM that a KVM_BUG_ON() bugged is dead: the ioctl returns -EIO
 * (given back as a negative bigint) without a SEAMCALL.
 * @see linux vcpu_load() → tdx_vcpu_load(); tdx_vcpu_pre_run(), tdx_vcpu_run() (v6.16–v6.18);
 *      virt/kvm/kvm_main.c kvm_vcpu_ioctl() (`kvm->vm_dead` → -EIO), include/linux/kvm_host.h
 *      kvm_vm_bugged() (v6.18.2)
 */
export function* kvm_run_td(k: Kernel, cpu: Cpu, td: Td, index = 0): Prog<bigint> {
  const vcpu = td.vcpus[index];
  if (td.state !== 'runnable' || vcpu === undefined) {
    return -1n;
  }
  // kvm_vcpu_ioctl() refuses every ioctl of a VM that KVM_BUG_ON() marked dead.
  if (td.bugged) {
    return BigInt(-EIO);
  }
  yield* tdx_vcpu_load(k, cpu, td, vcpu, cpu.id);
  if (index === 0) {
    td.runCpu = cpu.id;
  }
  return yield* tdx_vcpu_run(k, cpu, td, vcpu);
}

/**
 * TDH.VP.ENTER of `vcpu` on `cpu` (it must be loaded there) until the guest halts; the last
 * status. A status KVM cannot handle ends KVM_RUN with KVM_EXIT_INTERNAL_ERROR for the VMM, as
 * tdx_handle_exit() does in upstream KVM (6.16–6.18, and 7.1.3 the same; 7.2 not read):
 * - a TDX software error (TDX_SW_ERROR: SEAMCALL #UD, #GP, VMfailInvalid): KVM_BUG_ON(!kvm_rebooting)
 *   (`virt_rebooting` in 7.1.3) (the splat while the VM was not bugged yet, then the VM is bugged);
 * - any other status with TDX_ERROR or TDX_NON_RECOVERABLE (the module refused the entry, e.g.
 *   TDX_VCPU_ASSOCIATED): `kvm_pr_unimpl("TD vp_enter_ret 0x%llx\n")`, a pr_err_ratelimited()
 *   of `kvm [<pid>]: ` plus the text, under tdx.c's `kvm_intel: ` prefix. The model has no
 *   processes: it prints `?` for the PID (docs/kernel.md).
 * Ubuntu's out-of-tree KVM (not read) prints nothing here in the model.
 * @see linux arch/x86/kvm/vmx/tdx.c tdx_handle_exit(), tdx_to_vmx_exit_reason(),
 *      tdx_failed_vmentry() (v6.16.1, v6.18.2, v7.1.3); include/linux/kvm_host.h kvm_pr_unimpl() (v6.18.2, v7.1.3)
 */
export function* tdx_vcpu_run(k: Kernel, cpu: Cpu, td: Td, vcpu: TdVcpu): Prog<bigint> {
  for (let i = 0; i < 8; i++) {
    const r = yield* seamcall(k, cpu, BigInt(TDH_VP_ENTER), { rcx: BigInt(vcpu.tdvpr) });
    if (r.ret === EXIT_REASON_TDCALL && r.out.r11 === EXIT_REASON_HLT) {
      return r.ret;
    }
    if (r.ret !== EXIT_REASON_TDCALL && r.ret !== EXIT_REASON_EPT_VIOLATION) {
      kvm_vp_enter_failed(k, cpu, td, r.ret);
      return r.ret;
    }
  }
  return EXIT_REASON_TDCALL;
}

/** What upstream KVM's tdx_handle_exit() prints and does for a TDH.VP.ENTER status it cannot handle (see tdx_vcpu_run()). */
function kvm_vp_enter_failed(k: Kernel, cpu: Cpu, td: Td, ret: bigint): void {
  if (k.profile.kvmTdxErrors === 'seamcall-regs') {
    return;
  }
  if ((ret & TDX_SW_ERROR) === TDX_SW_ERROR) {
    kvm_tdx_bug(k, cpu, 'vp_enter_sw', td);
  } else if ((ret & (TDX_ERROR | TDX_NON_RECOVERABLE)) !== 0n) {
    printk_ratelimited(k, 'tdx.c:vp_enter_ret', 'tdx_handle_exit', 'err', `${KVM_PREFIX}kvm [?]: TD vp_enter_ret ${hex(ret)}`);
  }
}

/**
 * Fault site: at TD teardown, KVM skips flushing a vCPU off its CPU (a broken
 * tdx_mmu_release_hkid(); real KVM always flushes), so TDH.MNG.VPFLUSHDONE finds it associated.
 * Each injected fault skips one vCPU (the TD's first vCPUs first).
 */
export const FAULT_KVM_SKIP_VP_FLUSH = 'kvm.vp_flush.skip';
/**
 * Fault site: KVM reclaims a page a second time right after reclaiming it, as if its bookkeeping
 * still listed the page: the module finds the PAMT entry free (PT_NDA) and answers
 * TDX_PAGE_METADATA_INCORRECT|RCX with RCX/RDX/R8 zero, the status of the real reports.
 */
export const FAULT_KVM_RECLAIM_STALE = 'kvm.reclaim.stale';

/**
 * Release private memory of a TD while it runs (guest_memfd punch-hole, private→shared
 * conversion, memslot removal): for each Secure EPT leaf in [gpa, gpa + size), the path of
 * tdx_sept_remove_private_spte(). The range must be page aligned, inside the TD's private memory,
 * and must not split a 2 MiB leaf. What was released leaves `td.ranges`; a leaf the module
 * refuses stays mapped and leaks (KVM_BUG_ON: the VM is marked bugged, the page never freed).
 * @returns 0, -EINVAL for a bad range, -EIO if a leaf failed
 */
export function* kvm_release_private(k: Kernel, cpu: Cpu, td: Td, gpa: number, size: number): Prog<KernelStatus> {
  if (td.state !== 'runnable' || size <= 0 || gpa % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0) {
    return -EINVAL;
  }
  const end = gpa + size;
  // Check the whole range first: covered by private memory, no 2 MiB leaf cut in two.
  let covered = 0;
  for (const r of td.ranges) {
    const lo = Math.max(r.gpa, gpa);
    const hi = Math.min(r.gpa + r.size, end);
    if (lo >= hi) {
      continue;
    }
    covered += hi - lo;
    if (td_in_huge_leaf(r, lo) || td_in_huge_leaf(r, hi)) {
      return -EINVAL;
    }
  }
  if (covered !== size) {
    return -EINVAL;
  }
  let ret: KernelStatus = 0;
  const kept: TdMemRange[] = [];
  for (const r of td.ranges) {
    if (r.gpa + r.size <= gpa || r.gpa >= end) {
      kept.push(r);
      continue;
    }
    const lo = Math.max(r.gpa, gpa) - r.gpa;
    const hi = Math.min(r.gpa + r.size, end) - r.gpa;
    if (lo > 0) {
      kept.push({ gpa: r.gpa, pa: r.pa, size: lo });
    }
    for (let off = lo, sz = 0; off < hi; off += sz) {
      sz = td_leaf_size(r, off);
      const st = yield* tdx_sept_remove_private_spte(k, cpu, td, r.gpa + off, sz === SZ_2M ? 1 : 0, r.pa + off);
      if (st !== 0) {
        // The leaf stays in the Secure EPT and its page is never freed.
        kept.push({ gpa: r.gpa + off, pa: r.pa + off, size: sz });
        ret = st;
      }
    }
    if (hi < r.size) {
      kept.push({ gpa: r.gpa + hi, pa: r.pa + hi, size: r.size - hi });
    }
  }
  td.ranges.length = 0;
  td.ranges.push(...kept);
  return ret;
}

/**
 * Take one private leaf away from a running TD: TDH.MEM.RANGE.BLOCK (no new TLB entries), then
 * tdx_track() (TDH.MEM.TRACK bumps the TD epoch, then every vCPU is kicked out of guest mode, so
 * none still runs with the old translation), TDH.MEM.PAGE.REMOVE, TDH.PHYMEM.PAGE.WBINVD of each
 * 4 KiB page under the TD's HKID (its dirty lines go to memory before the host may touch the
 * page), then the page is cleared (tdx_clear_page(): MOVDIR64B of zeroes on every part in 6.16,
 * on erratum parts only from 6.18) and freed. A TDX_OPERAND_BUSY from BLOCK, TRACK or REMOVE is retried once
 * with vCPUs kept out of the guest (tdx_no_vcpus_enter_start/stop). Failures are KVM_BUG_ON:
 * BLOCK and REMOVE print `pr_tdx_error_2` (RCX and RDX: the SEPT entry and level/state), TRACK
 * and WBINVD `pr_tdx_error`; the page is leaked.
 *
 * Kicking vCPUs (kvm_make_all_cpus_request(KVM_REQ_OUTSIDE_GUEST_MODE)) sends nothing in the
 * model: between scenario steps no vCPU is in guest mode (VP.ENTER runs to the guest's exit).
 * 6.16–6.18 KVM maps private memory at 4 KiB only (`KVM_BUG_ON(level != PG_LEVEL_4K)`); the
 * model's 2 MiB leaves (docs/kernel.md) are removed at level 1, as the huge-page series does.
 * @see linux arch/x86/kvm/vmx/tdx.c tdx_sept_remove_private_spte(), tdx_sept_zap_private_spte(),
 *      tdx_track(), tdx_sept_drop_private_spte(), tdx_no_vcpus_enter_start() (v6.16–v6.18);
 *      tdx_quirk_reset_page() replaced tdx_clear_page() in v6.18
 */
export function* tdx_sept_remove_private_spte(k: Kernel, cpu: Cpu, td: Td, gpa: number, level: number, pa: number): Prog<KernelStatus> {
  const ret = yield* tdx_sept_zap_drop(k, cpu, td, gpa, level, pa);
  if (ret !== 0) {
    return ret;
  }
  const size = level === 1 ? SZ_2M : PAGE_SIZE;
  yield* tdx_clear_page(k, cpu, pa, size);
  k.pageAlloc.free_contig_range(pa, size / PAGE_SIZE);
  return 0;
}

/**
 * The SEAMCALLs of tdx_sept_remove_private_spte() for one leaf, without the clearing and freeing:
 * tdx_sept_zap_private_spte() (RANGE.BLOCK), tdx_track() (MEM.TRACK, only once the TD is
 * RUNNABLE: before TDH.MR.FINALIZE no vCPU can have run), tdx_sept_drop_private_spte()
 * (PAGE.REMOVE, then PAGE.WBINVD of each 4 KiB page under the HKID).
 * @returns 0, or -EIO once a step failed (KVM_BUG_ON: the page is leaked)
 * @see linux arch/x86/kvm/vmx/tdx.c tdx_sept_zap_private_spte(), tdx_track(),
 *      tdx_sept_drop_private_spte() (v6.16)
 */
function* tdx_sept_zap_drop(k: Kernel, cpu: Cpu, td: Td, gpa: number, level: number, pa: number): Prog<KernelStatus> {
  const sept = { rcx: BigInt(gpa) | BigInt(level), rdx: BigInt(td.tdr) };
  let r = yield* retry_busy(k, cpu, TDH_MEM_RANGE_BLOCK, sept);
  if (r.ret !== 0n) {
    kvm_pr_tdx_error(k, cpu, 'range_block', BigInt(TDH_MEM_RANGE_BLOCK), 'TDH_MEM_RANGE_BLOCK', r, 'pr_tdx_error_2', td);
    return -EIO;
  }
  if (td.state === 'runnable') {
    r = yield* retry_busy(k, cpu, TDH_MEM_TRACK, { rcx: BigInt(td.tdr) });
    if (r.ret !== 0n) {
      // tdx_track() goes on after its KVM_BUG_ON; PAGE.REMOVE then finds the TLBs not tracked.
      kvm_pr_tdx_error(k, cpu, 'mem_track', BigInt(TDH_MEM_TRACK), 'TDH_MEM_TRACK', r, 'pr_tdx_error', td);
    }
  }
  r = yield* retry_busy(k, cpu, TDH_MEM_PAGE_REMOVE, sept);
  if (r.ret !== 0n) {
    kvm_pr_tdx_error(k, cpu, 'page_remove', BigInt(TDH_MEM_PAGE_REMOVE), 'TDH_MEM_PAGE_REMOVE', r, 'pr_tdx_error_2', td);
    return -EIO;
  }
  const size = level === 1 ? SZ_2M : PAGE_SIZE;
  // The write-back of a huge leaf's pages, one SEAMCALL per 4 KiB page, in one go where the
  // platform shows nobody could tell (seamcall_repeat()); else page by page.
  if (size > PAGE_SIZE && seamcall_repeat(k, cpu, BigInt(TDH_PHYMEM_PAGE_WBINVD), BigInt(k.platform.withKeyId(pa, td.hkid)), size / PAGE_SIZE, BigInt(PAGE_SIZE))) {
    return 0;
  }
  for (let off = 0; off < size; off += PAGE_SIZE) {
    const keyed = k.platform.withKeyId(pa + off, td.hkid);
    if ((yield* tdcall(k, cpu, 'wbinvd_hkid', TDH_PHYMEM_PAGE_WBINVD, { rcx: BigInt(keyed) }, 'TDH_PHYMEM_PAGE_WBINVD', 'pr_tdx_error', td)) !== 0n) {
      return -EIO;
    }
  }
  return 0;
}

/** A SEPT-zap leaf, retried once on TDX_OPERAND_BUSY with vCPUs kept out of the guest. */
function* retry_busy(k: Kernel, cpu: Cpu, leaf: number, args: SeamArgs): Prog<SeamResult> {
  let r = yield* seamcall(k, cpu, BigInt(leaf), args);
  if ((r.ret & TDX_SEAMCALL_STATUS_MASK) === TDX_OPERAND_BUSY) {
    // tdx_no_vcpus_enter_start(): wait_for_sept_zap, all vCPUs kicked; none is in the guest here.
    r = yield* seamcall(k, cpu, BigInt(leaf), args);
  }
  return r;
}

/**
 * Destroy a TD (its VM fd, vCPU fds and guest_memfd closed), in the order of this kernel's KVM
 * (`kvmTdTeardown`, docs/kernel.md "TD teardown order"). A page the module refuses is leaked and
 * the teardown goes on (the KVM paths are void); the result is -EIO if anything failed.
 *
 * Upstream (6.16 on): the guest_memfd holds a reference on the VM, so its release comes first
 * and takes every private leaf away while the HKID is assigned (kvm_gmem_tdx_release()); then
 * kvm_destroy_vm(): tdx_mmu_release_hkid() from kvm_arch_pre_destroy_vm(), then in
 * kvm_arch_destroy_vm() the vCPUs (tdx_vcpu_free(): TDCX pages, TDVPR), the MMU (the Secure EPT
 * pages, children before parents) and last the vendor vm_destroy (tdx_vm_destroy(): TDCS pages,
 * TDR). If the HKID could not be released, everything after it leaks: tdx_vcpu_free() and
 * tdx_reclaim_td_control_pages() return at once, tdx_sept_free_private_spt() is a KVM_BUG_ON.
 * @see linux arch/x86/kvm/vmx/tdx.c tdx_mmu_release_hkid(), tdx_vcpu_free(),
 *      tdx_sept_free_private_spt(), tdx_vm_destroy(); vmx/main.c vt_vm_pre_destroy() (v6.16);
 *      virt/kvm/guest_memfd.c kvm_gmem_release() (zaps the file's SPTEs, then kvm_put_kvm());
 *      17bcd7144263 "KVM: x86: Free vCPUs before freeing VM state" and its follow-up moving
 *      kvm_mmu_uninit_vm() before vm_destroy ("All pages that were donated to the TDX module,
 *      e.g. for S-EPT tables, need to be reclaimed before the VM metadata page can be freed",
 *      Sean Christopherson, 25 Feb 2025)
 */
export function* kvm_destroy_td(k: Kernel, cpu: Cpu, td: Td): Prog<KernelStatus> {
  if (k.profile.kvmTdTeardown === 'out-of-tree') {
    return yield* kvm_destroy_td_out_of_tree(k, cpu, td);
  }
  let ret = yield* kvm_gmem_tdx_release(k, cpu, td);
  if ((yield* tdx_mmu_release_hkid(k, cpu, td)) !== 0) {
    // The HKID stays assigned: tdx_vcpu_free() and tdx_vm_destroy() return at once, and each
    // S-EPT page the MMU teardown hands to tdx_sept_free_private_spt() hits its
    // KVM_BUG_ON(is_hkid_assigned()) (a splat only if nothing had bugged the VM yet, e.g. after
    // a silent TDX_FLUSHVP_NOT_DONE). Every control and S-EPT page leaks.
    for (let i = 0; i < td.sept.length; i++) {
      kvm_tdx_bug(k, cpu, 'free_spt_hkid', td);
      handle_removed_pt_failed(k, cpu);
    }
    return -EIO;
  }
  // tdx_vcpu_free() for each vCPU: its TDCX pages, then its TDVPR (tdx_reclaim_control_page() each).
  for (const pa of td.vcpus.flatMap((v) => [...v.tdcx, v.tdvpr])) {
    if ((yield* tdx_reclaim_page(k, cpu, pa)) !== 0) {
      ret = -EIO;
    }
  }
  // kvm_mmu_uninit_vm(): zapping the mirror root frees each S-EPT page after its children.
  for (const pa of sept_children_first(td)) {
    if ((yield* tdx_reclaim_page(k, cpu, pa)) !== 0) {
      handle_removed_pt_failed(k, cpu);
      ret = -EIO;
    }
  }
  const st = yield* tdx_reclaim_td_control_pages(k, cpu, td);
  return st !== 0 ? st : ret;
}

/**
 * tdx_sept_free_private_spt() failed for an S-EPT page: handle_removed_pt() WARNs (every time)
 * and leaks the page.
 * @see linux arch/x86/kvm/mmu/tdp_mmu.c handle_removed_pt() (v6.16.1, v6.18.2)
 */
function handle_removed_pt_failed(k: Kernel, cpu: Cpu): void {
  WARN_ON(k, cpu.id, true, tdpMmuFreeExternalSptSite(k.profile.kvmWarnSplat));
}

/**
 * The out-of-tree order: release the HKID first, then RECLAIM every page: private memory leaf by
 * leaf (a 2 MiB leaf whole), the SEPT pages, the VCPU's TDCX pages and TDVPR, the TDCS pages,
 * the TDR.
 * @see KVM TDX v10 (Isaku Yamahata, Oct 2022) vt_flush_shadow_all_private() →
 *      tdx_mmu_release_hkid(); tdx_sept_drop_private_spte() reclaims when the HKID is gone
 */
function* kvm_destroy_td_out_of_tree(k: Kernel, cpu: Cpu, td: Td): Prog<KernelStatus> {
  if ((yield* tdx_mmu_release_hkid(k, cpu, td)) !== 0) {
    return -EIO;
  }
  // A page the module refuses is leaked and the teardown goes on (the KVM paths are void).
  // Leaves past td.mappedEnd never reached the module: they are freed without a SEAMCALL.
  let ret: KernelStatus = 0;
  for (const range of td.ranges) {
    const mapped = Math.max(0, Math.min(range.size, td.mappedEnd - range.gpa));
    if (mapped > 0 && (yield* tdx_reclaim_range(k, cpu, { gpa: range.gpa, pa: range.pa, size: mapped })) !== 0) {
      ret = -EIO;
    }
    if (mapped < range.size) {
      k.pageAlloc.free_contig_range(range.pa + mapped, (range.size - mapped) / PAGE_SIZE);
    }
  }
  // SEPT pages (MMU teardown), each vCPU (tdx_vcpu_free(): TDCX, then TDVPR), the TDCS pages.
  for (const pa of [...td.sept, ...td.vcpus.flatMap((v) => [...v.tdcx, v.tdvpr])]) {
    if ((yield* tdx_reclaim_page(k, cpu, pa)) !== 0) {
      ret = -EIO;
    }
  }
  const st = yield* tdx_reclaim_td_control_pages(k, cpu, td);
  return st !== 0 ? st : ret;
}

/**
 * The TD's guest_memfd goes away (its last file reference closed): every private leaf it backs is
 * zapped in GPA order, through tdx_sept_remove_private_spte() with the HKID still assigned. The
 * pages go back to guest_memfd, which frees them; leaves that never reached the Secure EPT are
 * freed without a SEAMCALL. A leaf the module refuses stays in `td.ranges`, leaked. Runs of removed
 * leaves are cleared and freed in one piece (Linux does it leaf by leaf; nothing else touches
 * those pages in between).
 * @returns 0, or -EIO if a leaf failed
 * @see linux virt/kvm/guest_memfd.c kvm_gmem_release(); arch/x86/kvm/vmx/tdx.c
 *      tdx_sept_remove_private_spte() (v6.16)
 */
function* kvm_gmem_tdx_release(k: Kernel, cpu: Cpu, td: Td): Prog<KernelStatus> {
  let ret: KernelStatus = 0;
  const leaked: TdMemRange[] = [];
  for (const r of td.ranges) {
    let runStart = 0;
    let off = 0;
    for (let size = 0; off < r.size && r.gpa + off < td.mappedEnd; off += size) {
      size = td_leaf_size(r, off);
      if ((yield* tdx_sept_zap_drop(k, cpu, td, r.gpa + off, size === SZ_2M ? 1 : 0, r.pa + off)) !== 0) {
        yield* tdx_free_reclaimed(k, cpu, r.pa + runStart, off - runStart);
        leaked.push({ gpa: r.gpa + off, pa: r.pa + off, size });
        runStart = off + size;
        ret = -EIO;
      }
    }
    yield* tdx_free_reclaimed(k, cpu, r.pa + runStart, off - runStart);
    if (off < r.size) {
      // Never mapped: the module never owned these pages.
      k.pageAlloc.free_contig_range(r.pa + off, (r.size - off) / PAGE_SIZE);
    }
  }
  td.ranges.length = 0;
  td.ranges.push(...leaked);
  return ret;
}

/**
 * The TD's Secure EPT pages, each after the pages below it (a PT before its PD, a PD before its
 * PDPT), as tearing down the mirror root frees them: `td.sept` holds them in allocation order,
 * which is depth-first with parents first.
 * @see linux arch/x86/kvm/mmu/tdp_mmu.c handle_removed_pt() (the children, then
 *      free_external_spt() for the page itself)
 */
export function sept_children_first(td: Pick<Td, 'sept' | 'septLevel'>): number[] {
  const out: number[] = [];
  const stack: number[] = [];
  for (let i = 0; i < td.sept.length; i++) {
    const level = td.septLevel[i] ?? 0;
    while (stack.length > 0 && (td.septLevel[stack[stack.length - 1] as number] ?? 0) <= level) {
      out.push(td.sept[stack.pop() as number] as number);
    }
    stack.push(i);
  }
  while (stack.length > 0) {
    out.push(td.sept[stack.pop() as number] as number);
  }
  return out;
}

/**
 * tdx_mmu_release_hkid(): flush each vCPU off the CPU it is loaded on (VP.FLUSH there), then
 * under tdx_lock VPFLUSHDONE, CACHE.WB on the first online CPU of each package and KEY.FREEID;
 * the HKID goes back to the allocator only when FREEID succeeded. A CACHE.WB error is printed
 * where it happens and the release goes on (FREEID then fails).
 * @returns 0 once the HKID is released, -EIO while it stays assigned
 * @see linux arch/x86/kvm/vmx/tdx.c tdx_mmu_release_hkid(), smp_func_do_phymem_cache_wb() (v6.16)
 */
function* tdx_mmu_release_hkid(k: Kernel, cpu: Cpu, td: Td): Prog<KernelStatus> {
  // kvm_for_each_vcpu(): flush each vCPU off the CPU it is loaded on (the fault skips one
  // vCPU per count).
  for (const vcpu of td.vcpus) {
    if (!k.platform.faults.shouldFail(FAULT_KVM_SKIP_VP_FLUSH, cpu.id)) {
      yield* tdx_flush_vp_on_cpu(k, cpu, td, vcpu);
    }
  }
  // TDX_FLUSHVP_NOT_DONE goes unreported (KVM skips the release; the HKID stays assigned).
  const r = yield* seamcall(k, cpu, BigInt(TDH_MNG_VPFLUSHDONE), { rcx: BigInt(td.tdr) });
  if (r.ret !== 0n) {
    if (r.ret !== TDX_FLUSHVP_NOT_DONE) {
      kvm_pr_tdx_error(k, cpu, 'vpflushdone', BigInt(TDH_MNG_VPFLUSHDONE), 'TDH_MNG_VPFLUSHDONE', r, 'pr_tdx_error', td);
      k.scope(KVM_PREFIX).err(`tdh_mng_vpflushdone() failed. HKID ${td.hkid} is leaked.`);
    }
    return -EIO;
  }
  for (const leader of packageLeaders(k)) {
    yield* smp_call_on_cpu(k.platform, cpu, leader, (on) => tdh_phymem_cache_wb_all(k, on));
  }
  if ((yield* tdcall(k, cpu, 'key_freeid', TDH_MNG_KEY_FREEID, { rcx: BigInt(td.tdr) }, 'TDH_MNG_KEY_FREEID', 'pr_tdx_error', td)) !== 0n) {
    k.scope(KVM_PREFIX).err(`tdh_mng_key_freeid() failed. HKID ${td.hkid} is leaked.`);
    return -EIO;
  }
  tdx_guest_keyid_free(k, td.hkid);
  k.kvm.nr_configured_hkid--;
  return 0;
}

/**
 * tdx_reclaim_td_control_pages(): RECLAIM the TDCS pages (each cleared and freed, or leaked),
 * then the TDR, which is written back with PAGE.WBINVD under the global KeyID before it is
 * cleared and freed; the TD is then gone from KVM. A refused TDR RECLAIM or WBINVD leaves the
 * TDR leaked (the TD stays listed, state `failed`).
 * @see linux arch/x86/kvm/vmx/tdx.c tdx_reclaim_td_control_pages() (v6.16)
 */
function* tdx_reclaim_td_control_pages(k: Kernel, cpu: Cpu, td: Td): Prog<KernelStatus> {
  let ret: KernelStatus = 0;
  for (const pa of td.tdcs) {
    if ((yield* tdx_reclaim_page(k, cpu, pa)) !== 0) {
      ret = -EIO;
    }
  }
  if ((yield* tdh_phymem_page_reclaim(k, cpu, td.tdr)) !== 0n) {
    td.state = 'failed';
    return -EIO;
  }
  const tdrKeyed = k.platform.withKeyId(td.tdr, k.tdx.tdx_global_keyid);
  if ((yield* tdcall(k, cpu, 'wbinvd_tdr', TDH_PHYMEM_PAGE_WBINVD, { rcx: BigInt(tdrKeyed) }, 'TDH_PHYMEM_PAGE_WBINVD', 'pr_tdx_error', td)) !== 0n) {
    td.state = 'failed';
    return -EIO;
  }
  yield* tdx_clear_page(k, cpu, td.tdr, PAGE_SIZE);
  k.pageAlloc.free_contig_range(td.tdr, 1);
  td.state = 'torn-down';
  const i = k.kvm.tds.indexOf(td);
  if (i >= 0) {
    k.kvm.tds.splice(i, 1);
  }
  return ret;
}

/** TDH.PHYMEM.CACHE.WB on this package, resumed while interrupted. @see linux tdx_mmu_release_hkid() */
function* tdh_phymem_cache_wb_all(k: Kernel, cpu: Cpu): Prog<bigint> {
  let resume = 0n;
  for (;;) {
    const r = yield* seamcall(k, cpu, BigInt(TDH_PHYMEM_CACHE_WB), { rcx: resume });
    if (r.ret === TDX_INTERRUPTED_RESUMABLE) {
      resume = 1n;
      continue;
    }
    if (r.ret === TDX_NO_HKID_READY_TO_WBCACHE || r.ret === 0n) {
      return 0n;
    }
    kvm_pr_tdx_error(k, cpu, 'cache_wb', BigInt(TDH_PHYMEM_CACHE_WB), 'TDH_PHYMEM_CACHE_WB', r, 'pr_tdx_error', null);
    return r.ret;
  }
}

/**
 * Reclaim a private-memory range leaf by leaf (a 2 MiB leaf in one RECLAIM), then reset on
 * erratum parts and free each run of reclaimed leaves in one piece. A leaf the module refuses is
 * leaked, as Linux leaks a page it cannot reclaim, and the others go on.
 * @see linux tdx_reclaim_page(), tdx_sept_drop_private_spte()
 */
function* tdx_reclaim_range(k: Kernel, cpu: Cpu, r: TdMemRange): Prog<KernelStatus> {
  let ret: KernelStatus = 0;
  let runStart = 0;
  for (let off = 0, size = 0; off < r.size; off += size) {
    size = td_leaf_size(r, off);
    if ((yield* tdh_phymem_page_reclaim(k, cpu, r.pa + off)) !== 0n) {
      yield* tdx_free_reclaimed(k, cpu, r.pa + runStart, off - runStart);
      runStart = off + size;
      ret = -EIO;
    }
  }
  yield* tdx_free_reclaimed(k, cpu, r.pa + runStart, r.size - runStart);
  return ret;
}

/** Reset (erratum parts) and free reclaimed private memory. */
function* tdx_free_reclaimed(k: Kernel, cpu: Cpu, pa: number, size: number): Prog {
  if (size <= 0) {
    return;
  }
  yield* tdx_clear_page(k, cpu, pa, size);
  k.pageAlloc.free_contig_range(pa, size / PAGE_SIZE);
}

/**
 * TDH.PHYMEM.PAGE.RECLAIM of one page (or 2 MiB leaf), `pr_tdx_error_3` on failure (RCX, RDX,
 * R8: the page's PAMT type, owner and level). Under FAULT_KVM_RECLAIM_STALE the page is reclaimed
 * a second time and that status is the result.
 * @see linux __tdx_reclaim_page() (v6.16–v6.18)
 */
function* tdh_phymem_page_reclaim(k: Kernel, cpu: Cpu, pa: number): Prog<bigint> {
  const st = yield* tdcall(k, cpu, 'reclaim', TDH_PHYMEM_PAGE_RECLAIM, { rcx: BigInt(pa) }, 'TDH_PHYMEM_PAGE_RECLAIM', 'pr_tdx_error_3', null);
  if (st !== 0n || !k.platform.faults.shouldFail(FAULT_KVM_RECLAIM_STALE, cpu.id)) {
    return st;
  }
  return yield* tdcall(k, cpu, 'reclaim', TDH_PHYMEM_PAGE_RECLAIM, { rcx: BigInt(pa) }, 'TDH_PHYMEM_PAGE_RECLAIM', 'pr_tdx_error_3', null);
}

/** Reclaim one page from the module, clear it (tdx_clear_page()), free it. @see linux tdx_reclaim_page() */
function* tdx_reclaim_page(k: Kernel, cpu: Cpu, pa: number): Prog<KernelStatus> {
  if ((yield* tdh_phymem_page_reclaim(k, cpu, pa)) !== 0n) {
    return -EIO;
  }
  yield* tdx_clear_page(k, cpu, pa, PAGE_SIZE);
  k.pageAlloc.free_contig_range(pa, 1);
  return 0;
}

/**
 * Clear pages KVM got back from the module: MOVDIR64B of zeroes, which also clears poison and
 * the TD-owner bit (linux-6.16 and 6.17: tdx_clear_page() on every reclaimed or removed page), or
 * only on X86_BUG_TDX_PW_MCE parts (6.18+: tdx_quirk_reset_page()).
 * @see linux arch/x86/kvm/vmx/tdx.c tdx_clear_page() (v6.16); 01fb93a363e0 "x86/tdx: Skip clearing
 *      reclaimed pages unless X86_BUG_TDX_PW_MCE is present" (x86_tdx_for_6.18)
 */
function* tdx_clear_page(k: Kernel, cpu: Cpu, pa: number, size: number): Prog {
  if (k.profile.kvmClearReclaimed !== 'always') {
    yield* tdx_quirk_reset_paddr(k, cpu, pa, size);
    return;
  }
  k.platform.movdir64b(cpu, pa, size, 0, 0, 'kvm:tdx_clear_page');
  yield { op: 'tick', ns: (size / 64) * k.platform.spec.costs.perLineNs, label: 'movdir64b' };
}
