/**
 * The kernel side of a scenario run: owns a Machine (platform, module, kernels), runs
 * kernel-level steps through the run's scheduler, and reports dmesg and memory-map lanes. The
 * session holds no closures over its state, so snapshots (base/clone.ts) can copy it.
 */
import { ModelBug } from '../base/assert.js';
import { formatTimestamp } from '../base/dmesg.js';
import { hex } from '../base/u64.js';
import { KERNEL_PROFILE_NAMES } from '../kernel/profiles.js';
import type { KernelProfileName } from '../kernel/profiles.js';
import type { Td } from '../kernel/kvm/td.js';
import { createMachine } from '../machine/Machine.js';
import type { Machine } from '../machine/Machine.js';
import { MODULE_PROFILE_NAMES } from '../module/profiles.js';
import type { Prog } from '../platform/Exec.js';
import type { Platform } from '../platform/Platform.js';
import type { RelevanceFilter } from './checkers/corruption.js';
import type { Finding } from './findings.js';
import type { KernelSession, KernelSessionArgs } from './runScenario.js';
import type { ScenarioStep } from './scenario.js';
import type { Scheduler } from './Scheduler.js';

/** Kernel profiles a scenario may name. */
export function kernelProfileNames(): string[] {
  return [...KERNEL_PROFILE_NAMES];
}

/** Module profiles a scenario may name. */
export function moduleProfileNames(): string[] {
  return [...MODULE_PROFILE_NAMES];
}

/** A scenario's kernel side. */
export class MachineSession implements KernelSession {
  readonly machine: Machine;
  sched: Scheduler | undefined;
  readonly tds: Td[] = [];
  /** One line per step result that dmesg does not show (return codes). */
  readonly results: string[] = [];

  constructor(args: KernelSessionArgs) {
    const sc = args.scenario;
    this.machine = createMachine({
      spec: args.spec,
      kernel: sc.kernel as KernelProfileName,
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
          const r = this.run(0, m.createTd({ pages: Math.max(1, Math.floor((s.memMiB * 2 ** 20) / 4096)), ...(s.cpu !== undefined ? { runCpu: s.cpu } : {}) }), 'td.create');
          this.results.push(`td.create: ${r.ret}`);
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
      case 'crash':
        throw new ModelBug(`step "${s.op}" is not wired yet`);
      default:
        throw new ModelBug(`kernel session cannot run step "${s.op}"`);
    }
  }

  /** tdx_enable() from several CPUs at once: the callers serialize on the module mutex. */
  private tdxEnableConcurrent(cpus: readonly number[]): void {
    const s = this.sched as Scheduler;
    const rets = new Map<number, number>();
    for (const c of cpus) {
      s.spawn(this.platform.cpu(c), this.machine.tdxEnable(c), `tdx_enable@${c}`, (v) => rets.set(c, v as number));
    }
    s.run(() => rets.size === cpus.length);
    this.results.push(`tdx.enable: ${cpus.map((c) => `cpu${c}=${rets.get(c) ?? 'unfinished'}`).join(' ')}`);
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
    return () => true;
  }

  findings(_seed: number, _path: string): Finding[] {
    return [];
  }

  stats(): Record<string, number | string> {
    return { kernels: this.machine.kernels.length, tds: this.tds.length };
  }

  memoryLanes(): { name: string; kind: string; regions: { base: number; end: number; label: string }[] }[] {
    const k = this.machine.kernel;
    const tdx = k.tdx;
    const lanes: { name: string; kind: string; regions: { base: number; end: number; label: string }[] }[] = [];
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
      regions: this.tds.flatMap((td) => [td.tdr, ...td.tdcs, ...td.tdvpr, ...td.pages.map((p) => p.pa)].map((pa) => ({ base: pa, end: pa + 4096, label: `TD ${td.id} (HKID ${td.hkid})` }))).slice(0, 20_000),
    });
    return lanes;
  }
}

/** Create the kernel session for a run. */
export function createKernelSession(args: KernelSessionArgs): KernelSession {
  return new MachineSession(args);
}
