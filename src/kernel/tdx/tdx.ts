/**
 * The host side of TDX: boot detection, the per-CPU and global module init, tdx_enable()'s
 * state machine and init_tdx_module() with its unwind ladder, the memory hotplug notifier and
 * the guest KeyID allocator. One TdxHost per Kernel holds what Linux keeps in file statics.
 *
 * Every function that runs on a CPU is a program (`Prog`) taking the Kernel and the executing
 * CPU; the version differences come from `k.profile`.
 * @see linux arch/x86/virt/vmx/tdx/tdx.c (v6.18; older eras through profiles.ts)
 */
import { deepFreeze } from '../../base/clone.js';
import { hex16 } from '../../base/u64.js';
import { PAGE_SIZE } from '../../base/ids.js';
import type { Cpu } from '../../platform/Cpu.js';
import { call } from '../../platform/Exec.js';
import type { Prog } from '../../platform/Exec.js';
import { MSR_IA32_MKTME_KEYID_PARTITIONING } from '../../platform/Msr.js';
import { EBUSY, EFAULT, EINVAL, EIO, ENODEV, ENOMEM, ENOSPC } from '../errno.js';
import type { KernelStatus } from '../errno.js';
import type { CpuhpState, Kernel } from '../Kernel.js';
import { FAULT_PAMT_ALLOC } from '../mm/page_alloc.js';
import { PerCpu } from '../percpu.js';
import { printk_ratelimited } from '../printk.js';
import { Mutex, on_each_cpu, smp_call_on_cpu, wbinvd_on_all_cpus } from '../smp.js';
import {
  NOTIFY_BAD,
  NOTIFY_OK,
  TDH_SYS_CONFIG,
  TDH_SYS_DISABLE,
  TDH_SYS_INIT,
  TDH_SYS_KEY_CONFIG,
  TDH_SYS_LP_INIT,
  TDH_SYS_LP_SHUTDOWN,
  TDH_SYS_TDMR_INIT,
  TDMR_INFO_PA_ARRAY_ALIGNMENT,
  TDX_INTERRUPTED_RESUMABLE,
  TDX_SW_ERROR,
  TDX_SYS_BUSY,
} from './defs.js';
import { get_tdx_sys_info, TDX_FEATURES0_NO_RBP_MOD, tdx_get_sysinfo_legacy } from './globalMetadata.js';
import type { TdxSysInfo } from './globalMetadata.js';
import { pr_err_once, pr_once, sc_retry, sc_retry_prerr, seamcall_repeat_until } from './seamcall.js';
import type { SeamArgs, SeamResult } from './seamcall.js';
import type { SeamrrRecord } from './seamrr.js';
import {
  build_tdx_memlist,
  construct_tdmrs,
  consumed_tdmrs,
  memlist_ranges,
  new_tdmr_list,
  tdmr_get_pamt,
  tdmrs_count_pamt_kb,
  tdmrs_count_pamt_pages,
  tdmrs_free_pamt_all,
} from './tdmr.js';
import type { PamtAlloc, PamtFree, TdmrInfoList, TdxMemblock } from './tdmr.js';

/** enum tdx_module_status_t (plus the RFC's SHUTDOWN and NONE, "module not loaded"). */
export type TdxModuleStatus = 'UNINITIALIZED' | 'INITIALIZED' | 'ERROR' | 'SHUTDOWN' | 'NONE';

/** Everything tdx.c keeps in file-level statics, for one boot. */
export class TdxHost {
  /** X86_FEATURE_TDX_HOST_PLATFORM. */
  hostPlatform = false;
  /** X86_BUG_TDX_PW_MCE. */
  bugPwMce = false;
  tdx_keyid_start = 0;
  nr_tdx_keyids = 0;
  tdx_global_keyid = 0;
  tdx_guest_keyid_start = 0;
  tdx_nr_guest_keyids = 0;
  /** ACPI S3 was switched off at boot (acpi_suspend_lowlevel = NULL). */
  acpiS3Disabled = false;
  memNotifierRegistered = false;
  /** tdx_syscore registered (7.1+: after a successful boot-time init). */
  syscoreRegistered = false;
  /** Result of the boot-time init (7.1+), undefined where KVM initializes the module. */
  bootInitRet: KernelStatus | undefined;
  /** RFC detection: what the boot CPU found in SEAMRR and MSR 0x87. */
  seamrrBsp: SeamrrRecord | undefined;
  tdx_module_status: TdxModuleStatus = 'UNINITIALIZED';
  readonly tdx_module_lock = new Mutex('tdx_module_lock');
  sysinit_done = false;
  sysinit_ret: KernelStatus = 0;
  readonly tdx_lp_initialized: PerCpu<boolean>;
  tdx_sysinfo: TdxSysInfo | undefined;
  /** The TDX memory list; empty unless a module init is in progress or succeeded. */
  tdx_memlist: TdxMemblock[] = [];
  tdx_tdmr_list: TdmrInfoList | undefined;
  /** Physical address of the TDMR_INFO buffer. */
  tdmrBufferPa = 0;
  tdmrBufferPages = 0;
  /** Guest KeyIDs in use (the IDA). */
  readonly guestKeyIds = new Set<number>();
  /** Call sites of pr_*_once() that already printed in this boot. */
  readonly printedOnce = new Set<string>();
  /** Calls made, for tests that count SEAMCALL-free paths. */
  readonly counters = { tdx_enable: 0, init_tdx_module: 0, wbinvd_on_all_cpus: 0, pamt_reset_lines: 0 };

  constructor(nrCpus: number) {
    this.tdx_lp_initialized = new PerCpu(nrCpus, () => false);
  }
}

// ------------------------------------------------------------------ boot detection

/**
 * Boot-time detection on the boot CPU: read the KeyID partitioning, refuse TDX when it cannot
 * work (too few KeyIDs, hibernation), register the memory notifier, switch off ACPI S3, set the
 * feature flag and the erratum bug.
 * @see linux tdx_init(), record_keyid_partitioning(), check_tdx_erratum()
 */
export function tdx_init(k: Kernel, cpu: Cpu): void {
  const t = k.tdx;
  const msr = cpu.msrs.get(MSR_IA32_MKTME_KEYID_PARTITIONING);
  if (msr === undefined) {
    return;
  }
  const keyids = record_keyid_partitioning(k, msr);
  if (keyids === undefined) {
    return;
  }
  // The hibernation refusal came with the 2023 series (v8's tdx_init() has none).
  if (k.profile.hibernationCheck && k.platform.spec.firmware.hibernation) {
    k.log.err(k.profile.strings.hibernation);
    return;
  }
  t.memNotifierRegistered = k.profile.memHotplug === 'notifier';
  // Under #if defined(CONFIG_ACPI) && defined(CONFIG_SUSPEND): a build-time condition, so
  // printed (and S3 switched off) whatever the firmware supports; `firmware.acpiS3` plays no
  // part. The 2022 drafts had no such step.
  // @see linux arch/x86/virt/vmx/tdx/tdx.c tdx_init(): acpi_suspend_lowlevel = NULL v6.18
  const s3 = k.profile.strings.acpiS3;
  if (s3 !== undefined) {
    k.log.info(s3);
    t.acpiS3Disabled = true;
  }
  enable_tdx_host(k, keyids);
}

/**
 * Decode IA32_MKTME_KEYID_PARTITIONING, print the private KeyID range, and refuse fewer than
 * two TDX KeyIDs (one global, at least one for guests).
 * @returns the first TDX KeyID and their number, or undefined when TDX cannot be used
 * @see linux record_keyid_partitioning(), tdx_init()
 */
export function record_keyid_partitioning(k: Kernel, msr: bigint): { start: number; nr_tdx: number } | undefined {
  const nr_mktme = Number(msr & 0xffffffffn);
  const nr_tdx = Number(msr >> 32n);
  if (nr_tdx === 0) {
    return undefined;
  }
  const start = nr_mktme + 1;
  const s = k.profile.strings;
  const range = s.keyidRange(start, start + nr_tdx);
  if (range !== undefined) {
    k.log.info(range);
  }
  if (nr_tdx < 2) {
    if (s.tooFewKeyidsLevel === 'info') {
      k.log.info(s.tooFewKeyids(nr_tdx));
    } else {
      k.log.err(s.tooFewKeyids(nr_tdx));
    }
    return undefined;
  }
  return { start, nr_tdx };
}

/**
 * Record the KeyID split (first TDX KeyID global, the rest for guests) and mark the platform a
 * TDX host, with the partial-write erratum bug where the CPU model has it.
 * @see linux tdx_init(), check_tdx_erratum()
 */
export function enable_tdx_host(k: Kernel, keyids: { start: number; nr_tdx: number }): void {
  const t = k.tdx;
  t.tdx_keyid_start = keyids.start;
  t.nr_tdx_keyids = keyids.nr_tdx;
  t.tdx_global_keyid = keyids.start;
  t.tdx_guest_keyid_start = keyids.start + 1;
  t.tdx_nr_guest_keyids = keyids.nr_tdx - 1;
  t.hostPlatform = true;
  // X86_BUG_TDX_PW_MCE exists from the 2023 series on; the 2022 drafts never set it.
  t.bugPwMce = k.profile.pwMceQuirk && k.platform.hasPartialWriteErratum;
}

/** Number of guest KeyIDs. @see linux tdx_get_nr_guest_keyids() */
export function tdx_get_nr_guest_keyids(k: Kernel): number {
  return k.tdx.tdx_nr_guest_keyids;
}

/**
 * Lowest free guest KeyID, or -ENOSPC when all are in use.
 * @see linux tdx_guest_keyid_alloc() (ida_alloc_range)
 */
export function tdx_guest_keyid_alloc(k: Kernel): number {
  const t = k.tdx;
  for (let id = t.tdx_guest_keyid_start; id < t.tdx_guest_keyid_start + t.tdx_nr_guest_keyids; id++) {
    if (!t.guestKeyIds.has(id)) {
      t.guestKeyIds.add(id);
      return id;
    }
  }
  return -ENOSPC;
}

/** @see linux tdx_guest_keyid_free() */
export function tdx_guest_keyid_free(k: Kernel, keyid: number): void {
  k.tdx.guestKeyIds.delete(keyid);
}

// ------------------------------------------------------------------ per-CPU init

/**
 * TDH.SYS.INIT, once for the whole module: the first caller does it, every later caller gets
 * the cached result, failures included (a failed global init is never retried).
 * @see linux try_init_module_global()
 */
export function* try_init_module_global(k: Kernel, cpu: Cpu): Prog<KernelStatus> {
  const t = k.tdx;
  // sysinit_lock is a raw spinlock taken with IRQs off: no other CPU can interleave here
  // between the test and the set, so no yield separates them.
  if (t.sysinit_done) {
    return t.sysinit_ret;
  }
  t.sysinit_done = true;
  const { err } = yield* sc_retry_prerr(k, cpu, BigInt(TDH_SYS_INIT), { rcx: 0n }, 'seamcall_prerr');
  // v8's seamcall() printed it already (pr_err_once).
  if (err === -ENODEV && k.profile.seamcallErrors === 'merged') {
    k.log.err(k.profile.strings.moduleNotLoaded);
  }
  t.sysinit_ret = err;
  return err;
}

/**
 * Per-CPU TDX init: global init if nobody did it yet, then TDH.SYS.LP.INIT on this CPU once.
 * Must run with IRQs off, after VMXON on this CPU.
 * @see linux tdx_cpu_enable()
 */
export function* tdx_cpu_enable(k: Kernel, cpu: Cpu): Prog<KernelStatus> {
  const t = k.tdx;
  if (!t.hostPlatform) {
    return -ENODEV;
  }
  if (t.tdx_lp_initialized.get(cpu.id)) {
    return 0;
  }
  const ret = yield* try_init_module_global(k, cpu);
  if (ret !== 0) {
    return ret;
  }
  const { err } = yield* sc_retry_prerr(k, cpu, BigInt(TDH_SYS_LP_INIT), {}, 'seamcall_prerr');
  if (err !== 0) {
    return err;
  }
  t.tdx_lp_initialized.set(cpu.id, true);
  return 0;
}

// ------------------------------------------------------------------ tdx_enable()

/**
 * Initialise the module once, serialising concurrent callers on tdx_module_lock. The caller
 * holds the CPU hotplug lock and has done VMXON and tdx_cpu_enable() on every online CPU.
 * @returns 0 when initialised (now or before), -EINVAL after an earlier failure, -ENODEV
 *          without TDX, or the init error
 * @see linux tdx_enable()
 */
export function* tdx_enable(k: Kernel, cpu: Cpu): Prog<KernelStatus> {
  const t = k.tdx;
  t.counters.tdx_enable++;
  if (!t.hostPlatform) {
    if (k.profile.universalEinval) {
      pr_err_once(k, 'tdx_enable:disabled', 'initialization failed: TDX is disabled.');
      return -EINVAL;
    }
    return -ENODEV;
  }
  yield* t.tdx_module_lock.lock(cpu);
  let ret: KernelStatus;
  switch (t.tdx_module_status) {
    case 'UNINITIALIZED':
      ret = yield* __tdx_enable(k, cpu);
      break;
    case 'INITIALIZED':
      ret = 0;
      break;
    case 'SHUTDOWN':
      ret = -EFAULT;
      break;
    case 'NONE':
      // RFC: the module was found not loaded.
      ret = -ENODEV;
      break;
    default:
      ret = -EINVAL;
      break;
  }
  t.tdx_module_lock.unlock(cpu);
  return ret;
}

/** @see linux __tdx_enable() */
function* __tdx_enable(k: Kernel, cpu: Cpu): Prog<KernelStatus> {
  const t = k.tdx;
  const s = k.profile.strings;
  const ret = yield* init_tdx_module(k, cpu);
  if (ret === -ENODEV && k.profile.failure === 'lp-shutdown') {
    // RFC: no module, TDX_MODULE_NONE, nothing to shut down (tdx_module_init_cpus() printed).
    t.tdx_module_status = 'NONE';
    return ret;
  }
  if (ret !== 0) {
    if (k.profile.seamcallErrors === 'v8') {
      pr_err_once(k, '__tdx_enable:failed', s.initFailed(ret));
    } else if (s.initFailedLevel === 'info') {
      k.log.info(s.initFailed(ret));
    } else {
      k.log.err(s.initFailed(ret));
    }
    if (k.profile.failure === 'lp-shutdown') {
      yield* tdx_module_shutdown_all(k, cpu);
      t.tdx_module_status = 'SHUTDOWN';
    } else {
      t.tdx_module_status = 'ERROR';
    }
    return k.profile.universalEinval ? -EINVAL : ret;
  }
  if (k.profile.seamcallErrors === 'v8') {
    pr_once(k, '__tdx_enable:initialized', 'info', s.initialized);
  } else {
    k.log.info(s.initialized);
  }
  t.tdx_module_status = 'INITIALIZED';
  return 0;
}

/**
 * The 2022 RFC's failure handling: TDH.SYS.LP.SHUTDOWN on every online CPU, concurrently.
 * @see linux (RFC, Feb 2022) shutdown_tdx_module()
 */
function* tdx_module_shutdown_all(k: Kernel, cpu: Cpu): Prog {
  yield* on_each_cpu(k.platform, cpu, (c) => lp_shutdown(k, c));
}

/** One CPU's part of tdx_module_shutdown_all(): TDH.SYS.LP.SHUTDOWN. */
function* lp_shutdown(k: Kernel, c: Cpu): Prog {
  yield* sc_retry_prerr(k, c, BigInt(TDH_SYS_LP_SHUTDOWN), {}, 'seamcall_prerr');
}

/**
 * sysinfo pointer when the module is initialised, else undefined.
 * @see linux tdx_get_sysinfo()
 */
export function* tdx_get_sysinfo(k: Kernel, cpu: Cpu): Prog<TdxSysInfo | undefined> {
  const t = k.tdx;
  yield* t.tdx_module_lock.lock(cpu);
  const p = t.tdx_module_status === 'INITIALIZED' ? t.tdx_sysinfo : undefined;
  t.tdx_module_lock.unlock(cpu);
  return p;
}

// ------------------------------------------------------------------ init_tdx_module()

/** The labels of init_tdx_module()'s unwind ladder, in the order they fall through. */
type UnwindLabel = 'err_reset_pamts' | 'err_free_pamts' | 'err_free_tdmrs' | 'err_free_tdxmem';

/**
 * The cleanups of init_tdx_module(), entered at `label` and falling through to the end, as
 * the gotos do in Linux.
 * @see linux init_tdx_module() error labels
 */
function* unwind(k: Kernel, cpu: Cpu, label: UnwindLabel): Prog {
  const t = k.tdx;
  const list = t.tdx_tdmr_list as TdmrInfoList;
  const ladder: UnwindLabel[] = ['err_reset_pamts', 'err_free_pamts', 'err_free_tdmrs', 'err_free_tdxmem'];
  for (const step of ladder.slice(ladder.indexOf(label))) {
    switch (step) {
      case 'err_reset_pamts':
        // The module may have written PAMTs through the global KeyID: flush those lines
        // before the pages go back to the kernel, then reset them on erratum parts.
        yield* wbinvd_all(k, cpu);
        yield* tdmrs_quirk_reset_pamt_all(k, cpu, list);
        break;
      case 'err_free_pamts':
        tdmrs_free_pamt_all(list, pamtFree(k));
        break;
      case 'err_free_tdmrs':
        free_tdmr_list(k);
        break;
      case 'err_free_tdxmem':
        t.tdx_memlist = [];
        break;
    }
  }
}

/**
 * Bring the module from "LPs initialised" to "ready": read its limits, build TDMRs and PAMTs
 * from all memblock memory, configure it, program the global key on every package and
 * initialise every TDMR. On failure, undo in reverse order.
 * @see linux init_tdx_module()
 */
export function* init_tdx_module(k: Kernel, cpu: Cpu): Prog<KernelStatus> {
  const t = k.tdx;
  t.counters.init_tdx_module++;
  // 2022 drafts: the module-global and per-LP init happen here, not in the caller.
  if (k.profile.cpuInit === 'in-init') {
    const r0 = yield* tdx_module_init_cpus(k, cpu);
    if (r0 !== 0) {
      return r0;
    }
  }
  let ret: KernelStatus;
  if (!k.profile.sysinfoInMems) {
    ret = yield* tdx_read_module_info(k, cpu);
    if (ret !== 0) {
      return ret;
    }
    ret = check_features(k);
    if (ret !== 0) {
      return ret;
    }
  }
  // get_online_mems(): memory hotplug waits until the memory list is final.
  yield* k.mem_hotplug_lock.lock(cpu);
  ret = yield* init_tdx_module_memory(k, cpu);
  k.mem_hotplug_lock.unlock(cpu);
  return ret;
}

/**
 * The part of init_tdx_module() between get_online_mems() and put_online_mems(). v6.8 read
 * the TDMR limits here, after build_tdx_memlist() (get_tdx_tdmr_sysinfo(), failing to
 * err_free_tdxmem); later kernels read them before taking the lock.
 */
function* init_tdx_module_memory(k: Kernel, cpu: Cpu): Prog<KernelStatus> {
  const t = k.tdx;
  t.tdx_memlist = build_tdx_memlist(k.memblock.pfnRanges());
  let ret: KernelStatus;
  if (k.profile.sysinfoInMems) {
    ret = yield* tdx_read_module_info(k, cpu);
    if (ret === 0) {
      ret = check_features(k);
    }
    if (ret !== 0) {
      yield* unwind(k, cpu, 'err_free_tdxmem');
      return ret;
    }
  }
  const sysinfo = t.tdx_sysinfo as TdxSysInfo;
  ret = alloc_tdmr_list(k, sysinfo);
  if (ret !== 0) {
    yield* unwind(k, cpu, 'err_free_tdxmem');
    return ret;
  }
  const list = t.tdx_tdmr_list as TdmrInfoList;
  const holes = k.profile.holes === 'cmrs' && sysinfo.cmrs !== undefined ? sysinfo.cmrs : memlist_ranges(t.tdx_memlist);
  ret = construct_tdmrs(t.tdx_memlist, list, sysinfo.tdmr, pamtAlloc(k, cpu), pamtFree(k), k.log, holes);
  yield { op: 'tick', ns: k.platform.spec.costs.stepNs * Math.max(1, list.nr_consumed_tdmrs), label: 'construct_tdmrs' };
  if (ret !== 0) {
    yield* unwind(k, cpu, 'err_free_tdmrs');
    return ret;
  }
  ret = yield* config_tdx_module(k, cpu, list, t.tdx_global_keyid);
  if (ret !== 0) {
    yield* unwind(k, cpu, 'err_free_pamts');
    return ret;
  }
  ret = yield* config_global_keyid(k, cpu);
  if (ret === 0) {
    // A TiB of TDMRs is a quarter million SEAMCALLs: run the loop as its own frame (call()) so
    // that its steps do not resume every caller up to loadKvm().
    ret = yield* call(init_tdmrs(k, cpu, list));
  }
  if (ret !== 0) {
    yield* unwind(k, cpu, 'err_reset_pamts');
    return ret;
  }
  const s = k.profile.strings;
  k.log.info(s.pamtAllocated(tdmrs_count_pamt_kb(list), tdmrs_count_pamt_pages(list)));
  return 0;
}

/**
 * The 2022 drafts' in-init module setup: TDH.SYS.INIT on this CPU, then TDH.SYS.LP.INIT on
 * every online CPU at once.
 * @see linux (RFC, Feb 2022) init_tdx_module() steps 1-2
 */
function* tdx_module_init_cpus(k: Kernel, cpu: Cpu): Prog<KernelStatus> {
  const g = yield* sc_retry_prerr(k, cpu, BigInt(TDH_SYS_INIT), { rcx: 0n }, 'seamcall_prerr');
  // The RFC learnt this from SEAMLDR.INFO in tdx_detect() (P-SEAMLDR not modelled): pr_info.
  // v8's seamcall() printed it already.
  if (g.err === -ENODEV && k.profile.seamcallErrors === 'rfc') {
    k.log.info(k.profile.strings.moduleNotLoaded);
  } else if (g.err === -ENODEV && k.profile.seamcallErrors === 'merged') {
    k.log.err(k.profile.strings.moduleNotLoaded);
  }
  if (g.err !== 0) {
    return g.err;
  }
  const result = { ret: 0 };
  yield* on_each_cpu(k.platform, cpu, (c) => lp_init_on(k, c, result));
  return result.ret;
}

/** One CPU's part of tdx_module_init_cpus(): TDH.SYS.LP.INIT; a failure makes the whole call -EFAULT. */
function* lp_init_on(k: Kernel, c: Cpu, result: { ret: KernelStatus }): Prog {
  const r = yield* sc_retry_prerr(k, c, BigInt(TDH_SYS_LP_INIT), {}, 'seamcall_prerr');
  if (r.err !== 0) {
    result.ret = -EFAULT;
  } else {
    k.tdx.tdx_lp_initialized.set(c.id, true);
  }
}

/** One package's part of config_global_keyid(): TDH.SYS.KEY.CONFIG on a CPU of it. */
function* key_config_on(k: Kernel, on: Cpu): Prog<KernelStatus> {
  const r = yield* sc_retry_prerr(k, on, BigInt(TDH_SYS_KEY_CONFIG), {}, 'seamcall_prerr');
  return r.err;
}

/** Metadata via TDH.SYS.RD (v6.8+) or TDH.SYS.INFO (drafts), with the era's prints. */
function* tdx_read_module_info(k: Kernel, cpu: Cpu): Prog<KernelStatus> {
  const t = k.tdx;
  // Ubuntu's 6.8 kernels: TDH.SYS.INFO first (identity and CMR lines), then TDH.SYS.RD.
  let legacy: TdxSysInfo | undefined;
  if (k.profile.moduleInfoViaSysInfo) {
    const l = yield* tdx_get_sysinfo_legacy(k, cpu);
    if (l.ret !== 0 || l.info === undefined) {
      return l.ret === 0 ? -EIO : l.ret;
    }
    legacy = l.info;
    print_module_info(k, legacy);
  }
  const r = k.profile.metadata === 'sys-rd' ? yield* get_tdx_sys_info(k, cpu) : yield* tdx_get_sysinfo_legacy(k, cpu);
  if (r.ret !== 0 || r.info === undefined) {
    return r.ret === 0 ? -EIO : r.ret;
  }
  if (legacy === undefined) {
    print_module_info(k, r.info);
  }
  const info = legacy === undefined ? r.info : { ...r.info, legacy: legacy.legacy, ...(legacy.cmrs !== undefined ? { cmrs: legacy.cmrs } : {}) };
  // Read once and never changed: frozen, so snapshots share it.
  t.tdx_sysinfo = deepFreeze(info);
  return 0;
}

/**
 * After TDH.SYS.INFO: the module's identity line (v8 spells it "atributes"), then one line per
 * CMR, up to the first empty one.
 * @see linux (TDX host v8) 06/16 tdx_get_sysinfo(), print_cmrs(); (v13) 08/22, as Ubuntu's 6.8 prints them
 */
function print_module_info(k: Kernel, info: TdxSysInfo): void {
  const leg = info.legacy;
  if (leg === undefined) {
    return;
  }
  const line = k.profile.strings.moduleInfo;
  if (line !== undefined) {
    k.log.info(line(leg));
  }
  for (const c of info.cmrs ?? []) {
    k.log.info(`CMR: [0x${c.start.toString(16)}, 0x${c.end.toString(16)})`);
  }
}

/**
 * Refuse modules the kernel cannot run with (6.14+: the RBP clobber bug).
 * @see linux check_features()
 */
export function check_features(k: Kernel): KernelStatus {
  const f = k.tdx.tdx_sysinfo?.features;
  if (!k.profile.readFeatures || f === undefined) {
    return 0;
  }
  if ((f.tdx_features0 & TDX_FEATURES0_NO_RBP_MOD) === 0n) {
    k.log.err('frame pointer (RBP) clobber bug present, upgrade TDX module');
    return -EINVAL;
  }
  return 0;
}

/** One zeroed buffer of tdmr_sz × max_tdmrs bytes for all TDMR_INFOs. @see linux alloc_tdmr_list() */
function alloc_tdmr_list(k: Kernel, sysinfo: TdxSysInfo): KernelStatus {
  const t = k.tdx;
  const list = new_tdmr_list(sysinfo.tdmr);
  const pages = Math.ceil((list.tdmr_sz * list.max_tdmrs) / PAGE_SIZE);
  const pa = k.pageAlloc.alloc_contig_pages(Math.max(1, pages), 0);
  if (pa === undefined) {
    return -ENOMEM;
  }
  t.tdx_tdmr_list = list;
  t.tdmrBufferPa = pa;
  t.tdmrBufferPages = Math.max(1, pages);
  return 0;
}

/** @see linux free_tdmr_list() */
function free_tdmr_list(k: Kernel): void {
  const t = k.tdx;
  if (t.tdmrBufferPages > 0) {
    k.pageAlloc.free_contig_range(t.tdmrBufferPa, t.tdmrBufferPages);
  }
  t.tdmrBufferPa = 0;
  t.tdmrBufferPages = 0;
  t.tdx_tdmr_list = undefined;
}

/** PAMT allocation from the page allocator, failing when the `pamt.alloc` fault is armed. */
function pamtAlloc(k: Kernel, cpu: Cpu): PamtAlloc {
  return (nrPages, nid) => {
    if (k.platform.faults.shouldFail(FAULT_PAMT_ALLOC, cpu.id)) {
      return undefined;
    }
    return k.pageAlloc.alloc_contig_pages(nrPages, nid);
  };
}

function pamtFree(k: Kernel): PamtFree {
  return (pa, nrPages) => k.pageAlloc.free_contig_range(pa, nrPages);
}

function* wbinvd_all(k: Kernel, cpu: Cpu): Prog {
  k.tdx.counters.wbinvd_on_all_cpus++;
  yield* wbinvd_on_all_cpus(k.platform, cpu);
}

/** Serialise one TDMR_INFO (little-endian, Linux's packed layout). */
export function tdmrInfoBytes(tdmr_sz: number, tdmr: ReturnType<typeof consumed_tdmrs>[number]): Uint8Array {
  const b = new Uint8Array(tdmr_sz);
  const v = new DataView(b.buffer);
  const put = (off: number, n: number): void => v.setBigUint64(off, BigInt(n), true);
  put(0, tdmr.base);
  put(8, tdmr.size);
  put(16, tdmr.pamt_1g_base);
  put(24, tdmr.pamt_1g_size);
  put(32, tdmr.pamt_2m_base);
  put(40, tdmr.pamt_2m_size);
  put(48, tdmr.pamt_4k_base);
  put(56, tdmr.pamt_4k_size);
  tdmr.reserved_areas.forEach((r, j) => {
    put(64 + 16 * j, r.offset);
    put(72 + 16 * j, r.size);
  });
  return b;
}

/** Bytes of the TDH.SYS.CONFIG address array: a power of two, at least 512. */
export function tdmrPaArraySize(nr: number): number {
  let sz = 1;
  while (sz < nr * 8) {
    sz *= 2;
  }
  return Math.max(TDMR_INFO_PA_ARRAY_ALIGNMENT, sz);
}

/**
 * Write the TDMR_INFOs and the array of their addresses into memory and hand them to the
 * module with TDH.SYS.CONFIG, together with the global KeyID. The array is freed at once.
 * @see linux config_tdx_module()
 */
export function* config_tdx_module(k: Kernel, cpu: Cpu, list: TdmrInfoList, global_keyid: number): Prog<KernelStatus> {
  const t = k.tdx;
  const tdmrs = consumed_tdmrs(list);
  const all = new Uint8Array(list.tdmr_sz * tdmrs.length);
  tdmrs.forEach((tdmr, i) => all.set(tdmrInfoBytes(list.tdmr_sz, tdmr), i * list.tdmr_sz));
  k.platform.store(cpu, t.tdmrBufferPa, all, 0, 'kernel:tdmr_info');
  const arrSize = tdmrPaArraySize(tdmrs.length);
  const arrPa = k.pageAlloc.alloc_pages_exact(arrSize);
  if (arrPa === undefined) {
    return -ENOMEM;
  }
  const arr = new Uint8Array(arrSize);
  const av = new DataView(arr.buffer);
  tdmrs.forEach((_, i) => av.setBigUint64(i * 8, BigInt(t.tdmrBufferPa + i * list.tdmr_sz), true));
  k.platform.store(cpu, arrPa, arr, 0, 'kernel:tdmr_pa_array');
  const { err } = yield* sc_retry_prerr(
    k,
    cpu,
    BigInt(TDH_SYS_CONFIG),
    { rcx: BigInt(arrPa), rdx: BigInt(tdmrs.length), r8: BigInt(global_keyid) },
    'seamcall_prerr',
  );
  k.pageAlloc.free_contig_range(arrPa, Math.ceil(arrSize / PAGE_SIZE));
  return err;
}

/**
 * Flush caches everywhere, then TDH.SYS.KEY.CONFIG once per package, on the lowest-numbered
 * online CPU of each package, one package at a time.
 * @see linux config_global_keyid(), do_global_key_config()
 */
export function* config_global_keyid(k: Kernel, cpu: Cpu): Prog<KernelStatus> {
  // PAMT pages were just written through KeyID 0; no dirty line of them may be written back
  // after the module starts using them through the global KeyID.
  yield* wbinvd_all(k, cpu);
  const packages = new Set<number>();
  let ret: KernelStatus = -EINVAL;
  for (const c of k.platform.cpus) {
    if (!c.online) {
      continue;
    }
    if (packages.has(c.packageId)) {
      continue;
    }
    packages.add(c.packageId);
    ret = yield* smp_call_on_cpu(k.platform, cpu, c, (on) => key_config_on(k, on));
    if (ret !== 0) {
      break;
    }
  }
  return ret;
}

/**
 * TDH.SYS.TDMR.INIT for one TDMR until the module reports it fully initialised; each call
 * covers a slice, so the kernel reschedules in between.
 * @see linux init_tdmr()
 */
export function* init_tdmr(k: Kernel, cpu: Cpu, base: number, size: number): Prog<KernelStatus> {
  let next: bigint;
  const end = BigInt(base + size);
  // Leaf and arguments are the same for every call (seamcall() only reads them): built once.
  const fn = BigInt(TDH_SYS_TDMR_INIT);
  const args: SeamArgs = { rcx: BigInt(base) };
  // The whole loop in one go when the platform shows nobody could tell (seamcall_repeat_until()).
  const bulk = seamcall_repeat_until(k, cpu, fn, BigInt(base), (out) => out.rdx >= end);
  if (bulk !== undefined) {
    return 0;
  }
  do {
    const { err, r } = yield* sc_retry_prerr(k, cpu, fn, args, 'seamcall_prerr_ret');
    if (err !== 0) {
      return err;
    }
    next = r.out.rdx;
    // cond_resched(): the SEAMCALL's own steps are already preemption points, so no extra
    // yield here (it would cost a scheduler step per 4 MiB of TDMR on a 12 TiB host).
  } while (next < end);
  return 0;
}

/** @see linux init_tdmrs() */
export function* init_tdmrs(k: Kernel, cpu: Cpu, list: TdmrInfoList): Prog<KernelStatus> {
  for (const tdmr of consumed_tdmrs(list)) {
    const ret = yield* init_tdmr(k, cpu, tdmr.base, tdmr.size);
    if (ret !== 0) {
      return ret;
    }
  }
  return 0;
}

/**
 * On erratum parts, reset PAMT memory with MOVDIR64B of zeroes so that no TD-owned line is
 * left for the kernel to partially write. A no-op elsewhere.
 * @see linux tdmrs_quirk_reset_pamt_all(), tdx_quirk_reset_paddr()
 */
export function* tdmrs_quirk_reset_pamt_all(k: Kernel, cpu: Cpu, list: TdmrInfoList): Prog {
  if (!k.tdx.bugPwMce) {
    return;
  }
  for (const tdmr of consumed_tdmrs(list)) {
    const { pamt_base, pamt_size } = tdmr_get_pamt(tdmr);
    if (pamt_size === 0) {
      continue;
    }
    yield* tdx_quirk_reset_paddr(k, cpu, pamt_base, pamt_size);
  }
}

/**
 * Before a page becomes TD-owned (TDR, TDCS/TDCX, TDVPR, SEPT, PAGE.ADD/AUG targets), flush it
 * from every cache through KeyID 0: a dirty KeyID-0 line the kernel left there (a freed
 * TD_PARAMS buffer, an earlier use of the page) would otherwise be written back later, over the
 * memory the module and the TD now write through the TD's KeyID. `size` covers a range of
 * pages at once (a 2 MiB leaf, or a TD's contiguous memory range before it is mapped).
 * @see linux tdx_clflush_page() (the tdh_*() wrappers call it for every page they hand over)
 */
export function tdx_clflush_page(k: Kernel, cpu: Cpu, pa: number, size: number = PAGE_SIZE): void {
  k.platform.clflush(cpu, pa, size, 0);
}

/** MOVDIR64B of zeroes over [base, base+size) on erratum parts. @see linux tdx_quirk_reset_paddr() */
export function* tdx_quirk_reset_paddr(k: Kernel, cpu: Cpu, base: number, size: number): Prog {
  if (!k.tdx.bugPwMce) {
    return;
  }
  k.platform.movdir64b(cpu, base, size, 0, 0, 'kernel:tdx_quirk_reset');
  k.tdx.counters.pamt_reset_lines += size / 64;
  yield { op: 'tick', ns: (size / 64) * k.platform.spec.costs.perLineNs, label: 'movdir64b' };
}

// ------------------------------------------------------------------ memory hotplug

/** Memory hotplug notifier actions. */
export type MemAction = 'MEM_GOING_ONLINE' | 'MEM_ONLINE' | 'MEM_GOING_OFFLINE' | 'MEM_OFFLINE' | 'MEM_CANCEL_ONLINE';

/**
 * Veto onlining memory that is not TDX memory once the module has been configured with the
 * memory list (TDX cannot accept memory later). The range must sit inside one list entry.
 * @returns NOTIFY_OK or NOTIFY_BAD
 * @see linux tdx_memory_notifier(), is_tdx_memory()
 */
export function tdx_memory_notifier(k: Kernel, action: MemAction, start_pfn: number, nr_pages: number): number {
  if (action !== 'MEM_GOING_ONLINE') {
    return NOTIFY_OK;
  }
  const list = k.tdx.tdx_memlist;
  if (list.length === 0) {
    return NOTIFY_OK;
  }
  const end_pfn = start_pfn + nr_pages;
  for (const tmb of list) {
    if (start_pfn >= tmb.start_pfn && end_pfn <= tmb.end_pfn) {
      return NOTIFY_OK;
    }
  }
  return NOTIFY_BAD;
}

/** Errno of a notifier chain result. @see linux notifier_to_errno() */
export function notifier_to_errno(ret: number): KernelStatus {
  const r = ret & ~0x8000;
  return r > NOTIFY_OK ? NOTIFY_OK - r : 0;
}


// ------------------------------------------------------------------ boot-time init (v7.1)

/**
 * The arch's TDX hotplug state (7.1+): VMXON on the CPU (x86_virt_get_ref()), then
 * tdx_cpu_enable() with IRQs off. Going offline: while any guest KeyID is allocated, the last
 * online CPU of a package may not go (a rate-limited `TDX requires all packages to have an
 * online CPU. Delete all TDs in order to offline all CPUs of a package.` under `virt/tdx: `,
 * -EBUSY: 7.1 moved this check and its line out of KVM); else, on 7.2, write back the caches if
 * a SEAMCALL may have dirtied them (tdx_cpu_flush_cache()), then VMXOFF.
 * @see linux arch/x86/virt/vmx/tdx/tdx.c tdx_online_cpu(), tdx_offline_cpu() v7.1.3 (no flush);
 *      tdx_offline_cpu() at 5b25f249be32 (x86_tdx_for_7.2: tdx_cpu_flush_cache() before VMXOFF)
 */
export const tdxArchOnlineState: CpuhpState = {
  name: 'virt/tdx:online',
  *online(k, cpu) {
    cpu.vmx = true;
    yield { op: 'tick', ns: 1_000, label: 'vmxon' };
    const saved = cpu.irqEnabled;
    cpu.irqEnabled = false;
    const r = yield* tdx_cpu_enable(k, cpu);
    cpu.irqEnabled = saved;
    return r;
  },
  *offline(k, cpu) {
    if (k.tdx.guestKeyIds.size > 0 && !k.platform.cpus.some((c) => c !== cpu && c.online && c.packageId === cpu.packageId)) {
      printk_ratelimited(k, 'virt/tdx:tdx_offline_cpu', 'tdx_offline_cpu', 'warn', `${k.profile.strings.prefix}TDX requires all packages to have an online CPU. Delete all TDs in order to offline all CPUs of a package.`);
      return -EBUSY;
    }
    if (k.profile.kexec.earlyFlushBy === 'tdx_shutdown') {
      yield* tdx_cpu_flush_cache_for_kexec(k, cpu);
    }
    cpu.vmx = false;
    return 0;
  },
};

/**
 * `subsys_initcall(tdx_enable)` (7.1+): at boot, whatever kvm_intel will do, bring every online
 * CPU into VMX operation and TDX (the hotplug state), then initialize the module; on failure
 * remove the state again (VMXOFF everywhere). On success the syscore callbacks are registered
 * (tdx_shutdown at kexec and reboot).
 * 7.1.3 also refuses a boot CPU without XSAVE, MOVDIR64B or self-snoop (`XSAVE is required for
 * TDX`, `MOVDIR64B is required for TDX` -EINVAL, `Self-snoop is required for TDX` -ENODEV);
 * the modelled CPUs have all three, so those checks are not modelled.
 * @returns 0, -ENODEV without the TDX host platform, or the init error
 * @see linux arch/x86/virt/vmx/tdx/tdx.c tdx_enable() (165e77353831) v7.1.3
 */
export function* tdx_enable_at_boot(k: Kernel, cpu: Cpu): Prog<KernelStatus> {
  const s = k.profile.strings;
  if (!k.tdx.hostPlatform) {
    if (s.notSupported !== undefined) {
      k.log.err(s.notSupported);
    }
    return -ENODEV;
  }
  yield* k.cpu_hotplug_lock.lock(cpu);
  const r = yield* k.cpuhp_setup_state_cpuslocked(cpu, tdxArchOnlineState);
  k.cpu_hotplug_lock.unlock(cpu);
  if (r !== 0) {
    // cpuhp_setup_state() failed and rolled back: nothing printed beyond the SEAMCALL lines.
    return r;
  }
  const ret = yield* tdx_enable(k, cpu);
  if (ret !== 0) {
    yield* k.cpu_hotplug_lock.lock(cpu);
    yield* on_each_cpu(k.platform, cpu, (c) => tdxArchOnlineState.offline(k, c));
    k.cpuhp_remove_state_nocalls(tdxArchOnlineState.name);
    k.cpu_hotplug_lock.unlock(cpu);
    return ret;
  }
  k.tdx.syscoreRegistered = true;
  return 0;
}

// ------------------------------------------------------------------ kexec and kdump (v7.2)

/**
 * TDH.SYS.DISABLE, retried while it reports TDX_INTERRUPTED_RESUMABLE or TDX_SYS_BUSY; a module
 * error is printed, a SEAMCALL that faulted (#GP/#UD, no TDX) is not. No feature bit is checked:
 * a module without the leaf answers TDX_OPERAND_INVALID, which is printed, and kexec goes on.
 * @see linux arch/x86/virt/vmx/tdx/tdx.c tdx_sys_disable() (b7d2173946ef), read at 5b25f249be32 (x86_tdx_for_7.2)
 */
export function* tdx_sys_disable(k: Kernel, cpu: Cpu): Prog {
  const fn = BigInt(TDH_SYS_DISABLE);
  let r: SeamResult;
  do {
    r = yield* sc_retry(k, cpu, fn, {});
  } while (r.ret === TDX_INTERRUPTED_RESUMABLE || r.ret === TDX_SYS_BUSY);
  if (r.ret !== 0n && (r.ret & TDX_SW_ERROR) !== TDX_SW_ERROR) {
    k.log.err(`TDH.SYS.DISABLE failed: ${hex16(r.ret)}`);
  }
}

/**
 * The syscore `.shutdown` of TDX (kexec, reboot; registered after a successful init): disable
 * the module, then on every CPU write back the caches a SEAMCALL may have dirtied and leave VMX.
 * 7.1.3's tdx_shutdown() only leaves VMX on every CPU (KVM's shutdown flushed): the model runs
 * this only where `earlyFlushBy` is `tdx_shutdown` (7.2), where VMXOFF is the only difference.
 * @see linux arch/x86/virt/vmx/tdx/tdx.c tdx_shutdown(), tdx_shutdown_cpu() at 5b25f249be32
 *      (x86_tdx_for_7.2); v7.1.3 (VMXOFF only)
 */
export function* tdx_shutdown(k: Kernel, cpu: Cpu): Prog {
  if (k.profile.kexec.sysDisable) {
    yield* tdx_sys_disable(k, cpu);
  }
  yield* on_each_cpu(k.platform, cpu, (c) => tdx_shutdown_cpu(k, c));
}

/** One CPU's part of tdx_shutdown(). */
function* tdx_shutdown_cpu(k: Kernel, c: Cpu): Prog {
  if (k.cache_state_incoherent.get(c.id)) {
    k.platform.fp.w('flushes', c.id);
    k.kexec_state.flushes.push({ cpu: c.id, t: k.platform.nowNs, site: 'tdx_shutdown_cpu' });
  }
  yield* tdx_cpu_flush_cache_for_kexec(k, c);
  c.vmx = false;
}

// ------------------------------------------------------------------ kexec support (v6.18)

/**
 * Write back and invalidate this CPU's caches if a SEAMCALL may have left private-KeyID lines
 * in them, and clear the flag. A second call is a no-op. KVM calls it whenever it disables
 * virtualization on a CPU (CPU offline, reboot, kexec).
 * @see linux tdx_cpu_flush_cache_for_kexec() (v6.18)
 */
export function* tdx_cpu_flush_cache_for_kexec(k: Kernel, cpu: Cpu): Prog {
  if (!k.cache_state_incoherent.get(cpu.id)) {
    return;
  }
  // 6.18 clears the flag after the WBINVD; a scenario may move it (kexec.flagClear).
  const clear = k.profile.kexec.flagClear ?? 'after-wbinvd';
  if (clear === 'before-wbinvd') {
    k.cache_state_incoherent.set(cpu.id, false);
  }
  yield* k.platform.wbinvd(cpu);
  if (clear === 'after-wbinvd') {
    k.cache_state_incoherent.set(cpu.id, false);
  }
}
