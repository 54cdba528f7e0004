/**
 * The kernel side of a scenario run: owns a Machine (platform, module, kernels), runs
 * kernel-level steps through the run's scheduler, and reports dmesg and memory-map lanes. The
 * session holds no closures over its state, so snapshots (base/clone.ts) can copy it.
 */
import { ModelBug } from '../base/assert.js';
import { deepFreeze } from '../base/clone.js';
import { formatTimestamp } from '../base/dmesg.js';
import { fnv1a32 } from '../base/prng.js';
import { hex } from '../base/u64.js';
import { KERNEL_PROFILE_NAMES, MUTANT_PROFILE_NAMES } from '../kernel/profiles.js';
import type { KernelProfileName } from '../kernel/profiles.js';
import { EINVAL, ENOENT, ENOSYS, errname } from '../kernel/errno.js';
import { crash_kexec, kernel_kexec, kexec_load } from '../kernel/kexec/kexec_core.js';
import type { Kernel } from '../kernel/Kernel.js';
import type { Td } from '../kernel/kvm/td.js';
import { Memblock } from '../kernel/mm/memblock.js';
import type { Cpu } from '../platform/Cpu.js';
import { createMachine } from '../machine/Machine.js';
import type { Machine } from '../machine/Machine.js';
import { MODULE_PROFILE_NAMES } from '../module/profiles.js';
import type { Prog } from '../platform/Exec.js';
import type { Platform } from '../platform/Platform.js';
import type { PlatformSpec } from '../platform/spec.js';
import type { RelevanceFilter } from './checkers/corruption.js';
import type { Finding } from './findings.js';
import { profileOverrides } from './kernelOverrides.js';
import type { KernelEpoch, KernelSession, KernelSessionArgs } from './runScenario.js';
import type { ScenarioStep } from './scenario.js';
import type { Scheduler, StateFingerprinter } from '../sim/Scheduler.js';


/**
 * Why a CPU still running at the jump matters, appended to the cpu-still-running finding: until
 * it halts it runs old-kernel code with its caches intact, so its stores, and any dirty line its
 * cache holds (written back by eviction or by a WBINVD it runs), can land in memory the new
 * kernel now owns. The finding says only that it could; a silent-corruption finding says it did.
 */
const STILL_RUNNING_RISK = 'until it halts it runs old-kernel code: it can still store to memory the new kernel now owns and write back dirty lines from its cache (eviction or its own WBINVD) over the new kernel';

/** Kernel profiles a scenario may name. */
export function kernelProfileNames(): string[] {
  return [...KERNEL_PROFILE_NAMES, ...MUTANT_PROFILE_NAMES];
}

/** Module profiles a scenario may name. */
export function moduleProfileNames(): string[] {
  return [...MODULE_PROFILE_NAMES];
}

/** Purgatory and the new kernel's first steps on the kexec-ing CPU, before it resets the APs. */
function* purgatory(): Prog {
  yield { op: 'tick', ns: 500_000, label: 'local:purgatory' };
  yield { op: 'tick', ns: 500_000, label: 'local:early boot' };
}

/** crashkernel=256M: the top 256 MiB (16 MiB aligned) of the last usable RAM below 4 GiB. */
export function crashRegionOf(spec: PlatformSpec): { base: number; size: number } {
  const low = spec.memory.e820.filter((e) => e.type === 'usable' && e.base < 2 ** 32 && e.base + e.size > 0x1000_0000);
  const r = low[low.length - 1];
  const end = r === undefined ? 0x8000_0000 : Math.floor(Math.min(r.base + r.size, 2 ** 32) / 0x100_0000) * 0x100_0000;
  return { base: end - 0x1000_0000, size: 0x1000_0000 };
}

/** A scenario's kernel side. */
/**
 * The note of a TD step without /dev/kvm: kvm_intel is not loaded (its init failed, e.g. -95 on
 * an AMD CPU without VMX), so there is no device to open (ENOENT), let alone a TD.
 * @see linux virt/kvm/kvm_main.c kvm_init() registers /dev/kvm (v6.18); kernel/kvm/td.ts kvm_create_td()
 */
function noDevKvm(loadRet: number): string {
  return `no /dev/kvm: kvm_intel is not loaded${loadRet !== 0 ? ` (modprobe kvm_intel failed with ${loadRet} (${errname(loadRet).slice(1)}))` : ''}; open("/dev/kvm") fails with ENOENT`;
}

export class MachineSession implements KernelSession, StateFingerprinter {
  readonly machine: Machine;
  sched: Scheduler | undefined;
  readonly tds: Td[] = [];
  /** One line per step result that dmesg does not show (return codes). */
  readonly results: string[] = [];
  /** Skip booting the next kernel (exploration, when the jump is the last step). */
  liteNextKernel = false;
  /** The crashkernel= reservation of the first kernel. */
  readonly crashkernel: { base: number; size: number };
  /** Kernel-side findings, completed with seed and path at the end. */
  private readonly pending: Omit<Finding, 'seed' | 'path'>[] = [];
  /** Times of kexec/crash jumps. */
  readonly jumps: number[] = [];
  /** What each jump was, and when purgatory handed over to the next kernel (epochs of traces). */
  readonly jumpKinds: ('kexec' | 'crash')[] = [];
  readonly purgatoryEnds: number[] = [];
  /** Writer tags of kernels started by kexec or kdump. */
  readonly newKernelWriters = new Set<string>();
  /** The crash kernel's region, once one runs. */
  crashRegionBytes: { base: number; size: number } | undefined;
  /** Memory a kexec'd kernel gets (the firmware map does not change); frozen, so snapshots share it. */
  private readonly kexecMemory: readonly { base: number; size: number }[];

  constructor(args: KernelSessionArgs) {
    const sc = args.scenario;
    this.crashkernel = crashRegionOf(args.spec);
    this.kexecMemory = deepFreeze(Memblock.fromE820(args.spec).memory.map((r) => ({ base: r.base, size: r.size })));
    this.machine = createMachine({
      spec: args.spec,
      crashkernel: this.crashkernel,
      kernel: sc.kernel as KernelProfileName,
      ...(sc.kernelOverrides !== undefined ? { kernelOverrides: profileOverrides(sc.kernel, sc.kernelOverrides) } : {}),
      ...(sc.module !== undefined ? { module: sc.module } : {}),
      seed: args.seed,
      tracer: args.tracer,
    });
  }

  get platform(): Platform {
    return this.machine.platform;
  }

  rescheduled(sched: Scheduler): void {
    this.sched = sched;
    sched.fingerprinter = this;
  }

  /** Fingerprints (stateful search): the running kernel's reboot state, without CPU ids. */
  globalState(): string {
    const m = this.machine;
    const st = m.kernel.kexec_state;
    return `${m.kernels.length}|${this.jumps.length}|${this.pending.length}|${st.stopping_cpu === -1 ? 0 : 1}${st.kexec_in_progress ? 1 : 0}${st.nmiHandlerRegistered ? 1 : 0}${st.crashing ? 1 : 0}|${st.jumpNs ?? ''}|${st.flushes.length}|${st.cpus_stop_mask.size}|${this.results.length}`;
  }

  /**
   * Fingerprints: what the kernel keeps about one CPU (mask bits, counters, flags). Of the
   * SEAMCALL and WBINVD times only what the seamcall-after-flush check can still tell apart:
   * whether the CPU ever issued one, and whether its last SEAMCALL is after its last WBINVD.
   * (Absolute times differ between otherwise identical CPUs, LP.INIT ran one after another.)
   */
  cpuState(c: Cpu): string {
    const k = this.machine.kernel;
    const st = k.kexec_state;
    return `${st.stopping_cpu === c.id ? 'S' : ''}${st.cpus_stop_mask.has(c.id) ? 'M' : ''}${st.crashAcked.has(c.id) ? 'A' : ''}${k.cache_state_incoherent.get(c.id) ? 'I' : ''}${st.stopRuns.get(c.id) ?? 0}|${c.lastSeamcallNs >= 0 ? 1 : 0}${c.lastSeamcallNs > c.lastWbinvdNs ? 1 : 0}`;
  }

  private recordJumps = false;
  private readonly jumpStateList: string[] = [];

  setRecordJumpState(on: boolean): void {
    this.recordJumps = on;
  }

  jumpStates(): readonly string[] {
    return this.jumpStateList;
  }

  /** Memory at line granularity: every range's version, KeyID, owner, poison and writer. */
  private memoryDigest(): string {
    let h = 0x811c9dc5;
    for (const iv of this.platform.memory.lines.entries(0, Number.MAX_SAFE_INTEGER)) {
      const v = iv.value;
      h = fnv1a32(`${iv.start}-${iv.end}:${v.ver}/${v.key}/${v.td ? 1 : 0}${v.poison ? 1 : 0}/${v.writer}/${v.fill}`, h);
    }
    return h.toString(16);
  }

  setLiteNextKernel(on: boolean): void {
    this.liteNextKernel = on;
  }

  private run<T>(cpu: number, prog: Prog<T>, label: string): T {
    const s = this.sched;
    if (s === undefined) {
      throw new ModelBug('kernel session has no scheduler');
    }
    return s.runProgram(this.platform.cpu(cpu), prog, label);
  }

  step(s: ScenarioStep): void {
    const m = this.machine;
    this.maybeOffline();
    switch (s.op) {
      case 'boot':
        this.run(0, m.bootKernel(), 'boot');
        return;
      case 'kvm.load':
        this.results.push(`kvm.load: ${this.run(s.cpu, m.loadKvm(), 'kvm.load')}`);
        return;
      case 'tdx.enable':
        this.tdxEnableConcurrent(s.cpus);
        return;
      case 'td.create':
        for (let i = 0; i < s.count; i++) {
          const r = this.run(0, m.createTd({ pages: Math.max(1, Math.floor((s.memMiB * 2 ** 20) / 4096)), vcpus: s.vcpus, ...(s.cpu !== undefined ? { runCpu: s.cpu } : {}) }), 'td.create');
          this.results.push(r.ret === -ENOENT ? `td.create: ${noDevKvm(m.kernel.kvm.bringupRet)}` : `td.create: ${r.ret}`);
          if (r.td !== undefined) {
            this.tds.push(r.td);
          }
        }
        return;
      case 'td.destroy': {
        const td = s.td === undefined ? this.tds.find((t) => t.state !== 'torn-down') : this.tds[s.td];
        if (td !== undefined) {
          this.results.push(`td.destroy: ${this.run(0, m.destroyTd(td), 'td.destroy')}`);
        }
        return;
      }
      case 'td.run': {
        const td = this.liveTd(s.td);
        if (td === undefined) {
          this.results.push(`td.run: no running TD${s.td === undefined ? '' : ` ${s.td}`}`);
          return;
        }
        if (!this.platform.cpu(s.cpu).online) {
          this.results.push(`td.run: CPU ${s.cpu} is offline`);
          return;
        }
        const st = this.run(s.cpu, m.runTd(td, s.cpu, s.vcpu), 'td.run');
        this.results.push(`td.run${s.vcpu === 0 ? '' : ` vCPU ${s.vcpu}`} on CPU ${s.cpu}: TDH.VP.ENTER ${st < 0n ? 'not issued' : hex(st)}`);
        return;
      }
      case 'td.release': {
        const td = this.liveTd(s.td);
        if (td === undefined) {
          this.results.push(`td.release: no running TD${s.td === undefined ? '' : ` ${s.td}`}`);
          return;
        }
        this.results.push(`td.release ${hex(s.gpa)}+${hex(s.size)}: ${this.run(0, m.releaseTdMemory(td, s.gpa, s.size), 'td.release')}`);
        return;
      }
      case 'cpu.offline':
        this.results.push(`cpu.offline ${s.cpu}: ${this.run(0, m.cpuOffline(s.cpu), 'cpu.offline')}`);
        return;
      case 'cpu.online':
        this.results.push(`cpu.online ${s.cpu}: ${this.run(0, m.cpuOnline(s.cpu), 'cpu.online')}`);
        return;
      case 'mem.online':
        this.results.push(`mem.online ${hex(s.base)}: ${this.run(0, m.hotAddMemory(s.base, s.size, 0), 'mem.online')}`);
        return;
      case 'kexec':
        this.kexec(s.lateRebootIpi, s.lateByMs, s.ipiInTime);
        return;
      case 'crash':
        this.crash(s.cpu);
        return;
      default:
        throw new ModelBug(`kernel session cannot run step "${s.op}"`);
    }
  }

  /** The TD a step names (index in creation order), or the first one still running. */
  private liveTd(index: number | undefined): Td | undefined {
    const td = index === undefined ? this.tds.find((t) => t.state === 'runnable') : this.tds[index];
    return td !== undefined && td.state === 'runnable' ? td : undefined;
  }

  /** Fault site "cpu.offline": before a step, one CPU (not the boot CPU) may go offline. */
  private maybeOffline(): void {
    if (this.sched === undefined || !this.machine.kernel.booted) {
      return;
    }
    for (const c of this.platform.cpus) {
      if (c.id !== 0 && c.online && this.platform.faults.shouldFail('cpu.offline', c.id)) {
        this.results.push(`fault: cpu.offline ${c.id}: ${this.run(0, this.machine.cpuOffline(c.id), 'cpu.offline')}`);
        return;
      }
    }
  }

  /** A finding of a kernel-side checker, before seed and path are known. */
  private note(cls: Finding['class'], message: string, t: number, details: Finding['details']): void {
    this.pending.push({ class: cls, message, t, details });
  }

  /**
   * kexec: load (the architecture may refuse), stop, jump, and start the next kernel on the same
   * platform and module; it boots, uses its memory as ordinary KeyID-0 memory, and time passes
   * (every cache is eventually written back).
   */
  private kexec(late: readonly number[], lateByMs: number, ipiInTime: boolean): void {
    const m = this.machine;
    const old = m.kernel;
    const ret = kexec_load(old);
    if (ret === -ENOSYS) {
      this.results.push(`kexec_load failed: Function not implemented (${old.profile.name} is built without kexec: INTEL_TDX_HOST depends on !KEXEC_CORE in Linux 6.8 to 6.17)`);
      return;
    }
    if (ret !== 0) {
      this.results.push('kexec_load failed: Operation not supported');
      return;
    }
    const sched = this.sched as Scheduler;
    for (const id of late) {
      // This CPU takes the REBOOT IPI late (a long interrupts-off section, a slow wake-up).
      this.platform.cpu(id).lateVector.set('REBOOT', lateByMs * 1_000_000);
    }
    const cpu0 = this.platform.cpu(0);
    const wasOnline = this.platform.cpus.filter((c) => c.online).map((c) => c.id);
    let jumped = false;
    // ipiInTime: the scenario promises the REBOOT IPI within the second (the wait has no
    // deadline), so a latency choice would only multiply equivalent schedules.
    const latency = this.platform.latency;
    if (ipiInTime) {
      this.platform.latency = undefined;
    }
    sched.spawn(cpu0, kernel_kexec(old, cpu0, { ipiInTime }), 'kernel_kexec', () => {
      jumped = true;
    });
    sched.run(() => jumped);
    this.platform.latency = latency;
    this.afterJump(old, wasOnline, 'kexec');
    this.startNextKernel(() => m.newKernel(), this.kexecMemory);
  }

  /** kdump: crash on `cpuId`, NMI shootdown, jump to the crash kernel in its reserved region. */
  private crash(cpuId: number): void {
    const m = this.machine;
    const old = m.kernel;
    const sched = this.sched as Scheduler;
    const cpu = this.platform.cpu(cpuId);
    const wasOnline = this.platform.cpus.filter((c) => c.online).map((c) => c.id);
    let jumped = false;
    sched.spawn(cpu, crash_kexec(old, cpu), 'crash_kexec', () => {
      jumped = true;
    });
    sched.run(() => jumped);
    this.afterJump(old, wasOnline, 'crash', cpuId);
    const region = this.crashkernel;
    this.crashRegionBytes = region;
    const mb = new Memblock([{ base: region.base, size: region.size, nid: 0 }]);
    this.startNextKernel(() => m.newKernel({ memblock: mb }), mb.memory);
  }


  /** Checks at the jump: every other CPU must be stopped; every SEAMCALL must be followed by a flush. */
  private afterJump(old: Kernel, wasOnline: readonly number[], how: 'kexec' | 'crash', jumper = 0): void {
    this.jumpCount++;
    this.jumpedPamts.push(...this.pamtsOf(old, `kernel ${this.jumpCount}`));
    const p = this.platform;
    const sched = this.sched as Scheduler;
    const jumpNs = old.kexec_state.jumpNs ?? p.nowNs;
    if (this.recordJumps) {
      this.jumpStateList.push(`${sched.fingerprint(false)}|mem:${this.memoryDigest()}|stale:${p.staleWritebacks.length}`);
    }
    const running: Cpu[] = [];
    for (const id of wasOnline) {
      const c = p.cpu(id);
      if (id === jumper) {
        continue;
      }
      if (!c.halted) {
        running.push(c);
      }
    }
    // Let the old CPUs go on while the new kernel is in purgatory and early boot.
    const before = new Map(running.map((c) => [c.id, c.stepCount]));
    const pausedAt = new Map(running.map((c) => [c.id, sched.pausedAt(c)]));
    sched.runProgram(p.cpu(jumper), purgatory(), 'purgatory');
    this.jumpKinds.push(how);
    this.purgatoryEnds.push(p.cpu(jumper).clockNs);
    for (const c of running) {
      const extra = c.stepCount - (before.get(c.id) ?? 0);
      const where = sched.frames(c).join(' > ') || 'idle loop';
      this.note('cpu-still-running', `CPU ${c.id} still running after the new kernel started: at the ${how} jump (t=${(jumpNs / 1e9).toFixed(6)} s) it was in ${where}${extra > 0 ? `, and executed ${extra} more old-kernel step(s) afterwards` : ''}; ${STILL_RUNNING_RISK}`, jumpNs, { cpu: c.id, frames: where, pausedAt: pausedAt.get(c.id) ?? '', stepsAfterJump: extra, stopThisCpuRuns: old.kexec_state.stopRuns.get(c.id) ?? 0 });
    }
    // In time order (CPU, then site, for equal times): flushes of different CPUs commute.
    const fl = [...old.kexec_state.flushes].sort((a, b) => a.t - b.t || a.cpu - b.cpu || (a.site < b.site ? -1 : a.site > b.site ? 1 : 0));
    this.results.push(`${how}: cache flushes before the jump: ${formatFlushes(fl)}`);
    const twice = [...old.kexec_state.stopRuns].filter(([, n]) => n > 1);
    if (twice.length > 0) {
      this.results.push(`${how}: stop_this_cpu() ran more than once on ${twice.map(([c, n]) => `CPU ${c} (${n} times)`).join(', ')}`);
    }
    if (how === 'kexec') {
      for (const id of wasOnline) {
        const c = p.cpu(id);
        if (c.lastSeamcallNs >= 0 && c.lastSeamcallNs > c.lastWbinvdNs) {
          this.note('seamcall-after-flush', `CPU ${c.id}: its last SEAMCALL (t=${(c.lastSeamcallNs / 1e9).toFixed(6)} s) is not followed by a cache flush before the kexec jump${c.lastWbinvdNs >= 0 ? ` (last WBINVD at t=${(c.lastWbinvdNs / 1e9).toFixed(6)} s)` : ' (no WBINVD at all)'}`, jumpNs, { cpu: c.id, lastSeamcallNs: c.lastSeamcallNs, lastWbinvdNs: c.lastWbinvdNs });
        }
      }
    }
    // The next kernel sends INIT/SIPI to every AP: whatever they ran is gone.
    for (const c of p.cpus) {
      sched.resetCpu(c);
      c.pending.length = 0;
      c.halted = false;
      c.inNmi = false;
      c.inSeam = false;
      c.irqEnabled = true;
      c.vmx = false;
      c.online = !p.spec.topology.offlineAtBoot.includes(c.id);
      c.lateVector.clear();
    }
    this.jumps.push(jumpNs);
  }

  /** Boot the next kernel, let it use its memory through KeyID 0, and let time pass. */
  private startNextKernel(make: () => Kernel, memory: readonly { base: number; size: number }[]): void {
    const m = this.machine;
    const generation = m.kernels.length;
    if (!this.liteNextKernel) {
      // Exploration of a final kexec skips the boot itself (nothing runs on that kernel); the
      // memory it uses and the write-backs that follow are the same, so are the findings.
      this.run(0, m.bootKernel(make()), 'boot');
    }
    const writer = `kernel#${generation}`;
    this.newKernelWriters.add(writer);
    const p = this.platform;
    const cpu0 = p.cpu(0);
    // The new kernel's allocator hands out its memory, old PAMTs and TD pages included, and
    // the kernel writes it through KeyID 0. Modelled as one direct write per region, so that the
    // order in which this CPU's own lines get evicted cannot hide a stale alias by luck. A kernel
    // that brought TDX up while booting (7.1+) gave its own PAMTs to the module: it never writes
    // those (the module's dirty PAMT lines there are not stale).
    // (Only a kernel that booted here: the light path of exploration skips the boot, and
    // m.kernel is then still the old kernel, whose PAMTs the new one does write.)
    const list = this.liteNextKernel || m.kernel.generation !== generation ? undefined : m.kernel.tdx.tdx_tdmr_list;
    const own = (list === undefined ? [] : list.tdmrs.slice(0, list.nr_consumed_tdmrs)).flatMap((t) => [
      { base: t.pamt_4k_base, end: t.pamt_4k_base + t.pamt_4k_size },
      { base: t.pamt_2m_base, end: t.pamt_2m_base + t.pamt_2m_size },
      { base: t.pamt_1g_base, end: t.pamt_1g_base + t.pamt_1g_size },
    ]);
    for (const r of memory) {
      for (const piece of subtractRanges(r.base, r.base + r.size, own)) {
        p.movdir64b(cpu0, piece.base, piece.end - piece.base, 0, 0x4b, writer);
      }
    }
    // Time passes: every cache is eventually written back.
    for (const c of p.cpus) {
      p.evictLines(c, c.cache.lineCount);
    }
  }

  /**
   * tdx_enable() from several CPUs at once, after VMXON and tdx_cpu_enable() on every online
   * CPU (the caller contract). The callers serialize on the module mutex: the module is
   * initialized at most once, and every caller sees 0, the first caller's error, or -EINVAL.
   */
  private tdxEnableConcurrent(cpus: readonly number[]): void {
    const s = this.sched as Scheduler;
    const m = this.machine;
    for (const c of this.platform.cpus.filter((x) => x.online)) {
      c.vmx = true;
      if (s.isIdle(c)) {
        this.run(c.id, m.tdxCpuEnable(c.id), 'tdx_cpu_enable');
      }
    }
    const rets = new Map<number, number>();
    const callers = cpus.filter((c) => this.platform.cpu(c).online && s.isIdle(this.platform.cpu(c)));
    if (callers.length < cpus.length) {
      this.results.push(`tdx.enable: CPU ${cpus.filter((c) => !callers.includes(c)).join(', ')} offline or busy, not calling`);
    }
    for (const c of callers) {
      s.spawn(this.platform.cpu(c), m.tdxEnable(c), `tdx_enable@${c}`, (v) => rets.set(c, v as number));
    }
    s.run(() => rets.size === callers.length);
    this.results.push(`tdx.enable: ${cpus.map((c) => `cpu${c}=${rets.get(c) ?? 'unfinished'}`).join(' ')}`);
    const k = m.kernel;
    const inits = k.tdx.counters.init_tdx_module;
    const values = [...rets.values()];
    const status = k.tdx.tdx_module_status;
    const t = this.platform.nowNs;
    if (inits > 1) {
      this.note('invariant', `init_tdx_module() ran ${inits} times for ${cpus.length} concurrent tdx_enable() callers (at most once allowed)`, t, { inits });
    }
    const first = values.find((v) => v !== 0 && v !== -EINVAL);
    for (const [cpu, v] of rets) {
      const ok = v === 0 || v === -EINVAL || v === first;
      if (!ok) {
        this.note('invariant', `tdx_enable() on CPU ${cpu} returned ${v}: callers must see 0, -EINVAL or the first caller's error`, t, { cpu, ret: v });
      }
      if (v === 0 && status !== 'INITIALIZED') {
        this.note('invariant', `tdx_enable() on CPU ${cpu} returned 0 but the module state is ${status} (half-built)`, t, { cpu, status });
      }
    }
    if (rets.size !== callers.length) {
      this.note('liveness', `${callers.length - rets.size} tdx_enable() caller(s) never returned`, t, {});
    }
  }

  dmesg(): [string[], string[]] {
    const plain: string[] = [];
    const formatted: string[] = [];
    for (const k of this.machine.kernels) {
      for (const r of k.dmesg.records()) {
        plain.push(r.text);
        formatted.push(`${formatTimestamp(r.ns)} ${r.text}`);
      }
    }
    return [plain, formatted];
  }

  relevance(): RelevanceFilter {
    // Before any kexec every stale write-back is corruption; afterwards only those over memory
    // a later kernel wrote (or, for kdump, anything inside the crash kernel's region).
    const writers = this.newKernelWriters;
    const region = this.crashRegionBytes;
    if (this.jumps.length === 0) {
      return () => true;
    }
    return (w) => {
      if (writers.has(w.overwrittenWriter)) {
        return true;
      }
      if (region !== undefined) {
        const pa = w.lineStart * 64;
        return pa < region.base + region.size && w.lineEnd * 64 > region.base;
      }
      return false;
    };
  }

  findings(seed: number, path: string): Finding[] {
    return this.pending.map((f) => ({ ...f, seed, path }));
  }

  stats(): Record<string, number | string> {
    return { kernels: this.machine.kernels.length, tds: this.tds.length };
  }

  notes(): string[] {
    return this.results;
  }

  /**
   * What a physical address was to the TDs this run built: their TDR, TDCS, TDVPR, TDCX and
   * Secure EPT pages, or their private memory (`TDR page of TD 0, HKID 17`); undefined for
   * anything else. Used to say what a stale write-back came from.
   */
  describePage(pa: number): string | undefined {
    for (const td of this.tds) {
      const of = `of TD ${td.id}, HKID ${td.hkid}`;
      const page = (list: readonly number[]): boolean => list.some((b) => pa >= b && pa < b + 4096);
      if (page([td.tdr])) {
        return `TDR page ${of}`;
      }
      if (page(td.tdcs)) {
        return `TDCS page ${of}`;
      }
      if (page(td.vcpus.map((v) => v.tdvpr))) {
        return `TDVPR page ${of}`;
      }
      if (page(td.vcpus.flatMap((v) => v.tdcx))) {
        return `TDCX page ${of}`;
      }
      if (page(td.sept)) {
        return `Secure EPT page ${of}`;
      }
      if (td.ranges.some((r) => pa >= r.pa && pa < r.pa + r.size)) {
        return `private memory ${of}`;
      }
    }
    const pamt = this.pamtsOf(this.machine.kernel, 'the running kernel').concat(this.jumpedPamts).find((x) => pa >= x.base && pa < x.base + x.size);
    return pamt === undefined ? undefined : `PAMT of TDMR ${pamt.tdmr}, given to the TDX module by ${pamt.kernel}`;
  }

  private jumpCount = 0;

  /** PAMTs of the kernels that jumped away (their TDMR lists, kept at the jump). */
  private readonly jumpedPamts: { readonly base: number; readonly size: number; readonly tdmr: number; readonly kernel: string }[] = [];

  /** The PAMT of each TDMR a kernel gave the module (one allocation per TDMR, as Linux makes it). */
  private pamtsOf(k: Kernel, kernel: string): { base: number; size: number; tdmr: number; kernel: string }[] {
    const list = k.tdx.tdx_tdmr_list;
    if (list === undefined) {
      return [];
    }
    return list.tdmrs.slice(0, list.nr_consumed_tdmrs).map((t, i) => ({ base: t.pamt_4k_base, size: t.pamt_4k_size + t.pamt_2m_size + t.pamt_1g_size, tdmr: i, kernel }));
  }

  epochs(endNs: number): KernelEpoch[] {
    const out: KernelEpoch[] = [];
    const name = this.machine.kernelProfile.name;
    let start = 0;
    this.jumps.forEach((jump, i) => {
      const kind = i === 0 ? 'kernel' : this.jumpKinds[i - 1] === 'crash' ? 'crash kernel' : 'kexec\'d kernel';
      out.push({ name: `${name} ${kind} ${i}`, kind: 'kernel', start, end: jump });
      const handover = this.purgatoryEnds[i] ?? jump;
      out.push({ name: 'purgatory', kind: 'purgatory', start: jump, end: handover });
      start = handover;
    });
    const n = this.jumps.length;
    const last = n === 0 ? 'kernel' : this.jumpKinds[n - 1] === 'crash' ? 'crash kernel' : 'kexec\'d kernel';
    out.push({ name: `${name} ${last} ${n}`, kind: 'kernel', start, end: Math.max(start, endNs) });
    return out;
  }

  lastJumpNs(): number | undefined {
    return this.jumps[this.jumps.length - 1];
  }

  memoryLanes(): { name: string; kind: string; regions: { base: number; end: number; label: string }[] }[] {
    // The TDX layout the module uses was built by the last kernel that initialized it (after a
    // kexec the running kernel has none).
    const ks = this.machine.kernels;
    const k = [...ks].reverse().find((x) => x.tdx.tdx_tdmr_list !== undefined) ?? this.machine.kernel;
    const tdx = k.tdx;
    const lanes: { name: string; kind: string; regions: { base: number; end: number; label: string }[] }[] = [];
    // The crashkernel= reservation (where a kdump kernel runs), and whether one ran there.
    const crash = this.crashkernel;
    lanes.push({ name: 'crashkernel= region', kind: 'crashkernel', regions: crash.size > 0 ? [{ base: crash.base, end: crash.base + crash.size, label: this.crashRegionBytes !== undefined ? 'crash kernel (ran)' : 'crashkernel=256M (reserved)' }] : [] });
    lanes.push({ name: 'TDX memlist', kind: 'memlist', regions: tdx.tdx_memlist.map((m) => ({ base: m.start_pfn * 4096, end: m.end_pfn * 4096, label: `node ${m.nid}` })) });
    const list = tdx.tdx_tdmr_list;
    const tdmrs = list === undefined ? [] : list.tdmrs.slice(0, list.nr_consumed_tdmrs);
    lanes.push({ name: 'TDMRs', kind: 'tdmr', regions: tdmrs.map((t, i) => ({ base: t.base, end: t.base + t.size, label: `TDMR ${i}` })) });
    lanes.push({
      name: 'reserved areas',
      kind: 'reserved',
      regions: tdmrs.flatMap((t, i) => t.reserved_areas.filter((r) => r.size > 0).map((r, j) => ({ base: t.base + r.offset, end: t.base + r.offset + r.size, label: `TDMR ${i} rsvd ${j}` }))),
    });
    lanes.push({
      name: 'PAMTs',
      kind: 'pamt',
      regions: tdmrs.flatMap((t, i) => [
        { base: t.pamt_4k_base, end: t.pamt_4k_base + t.pamt_4k_size, label: `TDMR ${i} PAMT 4K` },
        { base: t.pamt_2m_base, end: t.pamt_2m_base + t.pamt_2m_size, label: `TDMR ${i} PAMT 2M` },
        { base: t.pamt_1g_base, end: t.pamt_1g_base + t.pamt_1g_size, label: `TDMR ${i} PAMT 1G` },
      ]).filter((r) => r.end > r.base),
    });
    lanes.push({
      name: 'TD pages',
      kind: 'td',
      regions: this.tds
        .flatMap((td) => {
          const label = `TD ${td.id} (HKID ${td.hkid})`;
          const control = [td.tdr, ...td.tdcs, ...td.vcpus.map((v) => v.tdvpr), ...td.sept].map((pa) => ({ base: pa, end: pa + 4096, label }));
          return [...control, ...td.ranges.map((r) => ({ base: r.pa, end: r.pa + r.size, label }))];
        })
        .slice(0, 20_000),
    });
    return lanes;
  }
}

/** Create the kernel session for a run. */
export function createKernelSession(args: KernelSessionArgs): KernelSession {
  return new MachineSession(args);
}

/** Up to this many flushes are listed one by one; more are grouped by site and time. */
const MAX_LISTED_FLUSHES = 8;

/** "0-3,8,10-11": sorted CPU numbers as ranges. */
function cpuRanges(cpus: readonly number[]): string {
  const sorted = [...cpus].sort((a, b) => a - b);
  const out: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && (sorted[j + 1] as number) === (sorted[j] as number) + 1) {
      j++;
    }
    out.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

/**
 * The kexec flush note: each flush on a small host; on a large one (hundreds of CPUs) one entry
 * per site and time with the CPUs as ranges, so the note stays a readable line.
 */
export function formatFlushes(fl: readonly { cpu: number; site: string; t: number }[]): string {
  if (fl.length === 0) {
    return 'none';
  }
  const at = (t: number): string => `${(t / 1e9).toFixed(6)} s`;
  if (fl.length <= MAX_LISTED_FLUSHES) {
    return fl.map((f) => `CPU ${f.cpu} ${f.site} at ${at(f.t)}`).join('; ');
  }
  const groups = new Map<string, { site: string; t: number; cpus: number[] }>();
  for (const f of fl) {
    const key = `${f.site}@${f.t}`;
    const g = groups.get(key) ?? { site: f.site, t: f.t, cpus: [] };
    g.cpus.push(f.cpu);
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => `${g.site} on ${g.cpus.length === 1 ? 'CPU' : `${g.cpus.length} CPUs`} ${cpuRanges(g.cpus)} at ${at(g.t)}`).join('; ');
}

/** [start, end) without the ranges in `holes` (any order, may overlap), as sorted pieces. */
function subtractRanges(start: number, end: number, holes: readonly { base: number; end: number }[]): { base: number; end: number }[] {
  const out: { base: number; end: number }[] = [];
  let cursor = start;
  for (const h of [...holes].filter((x) => x.end > start && x.base < end && x.end > x.base).sort((a, b) => a.base - b.base)) {
    if (h.base > cursor) {
      out.push({ base: cursor, end: h.base });
    }
    cursor = Math.max(cursor, h.end);
  }
  if (cursor < end) {
    out.push({ base: cursor, end });
  }
  return out;
}
