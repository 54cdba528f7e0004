/**
 * Test helpers for kernel tests: a Machine on a preset (or edited preset) with either the stub
 * module or the real one, and a timed scheduler to run programs on it.
 */
import { FIRST_CHOICE } from '../../src/base/choice.js';
import type { TraceEvent } from '../../src/base/trace.js';
import { Scheduler } from '../../src/sim/Scheduler.js';
import type { KernelProfileName } from '../../src/kernel/profiles.js';
import type { KernelProfile } from '../../src/kernel/profiles.js';
import { createMachine } from '../../src/machine/Machine.js';
import type { Machine, ModuleFactory } from '../../src/machine/Machine.js';
import type { TdxModule } from '../../src/module/TdxModule.js';
import type { Prog } from '../../src/platform/Exec.js';
import { CountingFaults } from '../../src/platform/Platform.js';
import type { Platform } from '../../src/platform/Platform.js';
import type { SeamRegs } from '../../src/platform/Seam.js';
import { parsePlatformSpec } from '../../src/platform/spec.js';
import type { PlatformSpec, PlatformSpecInput } from '../../src/platform/spec.js';
import { presetInput } from '../../src/platform/presets.js';
import { StubModule } from './kernelStubModule.js';

/** What a kernel test works with. */
export interface KernelRig {
  readonly m: Machine;
  readonly stub: StubModule | undefined;
  readonly faults: CountingFaults;
  readonly sched: Scheduler;
  /** Run a program to completion on `cpu` (default 0). */
  run<T>(p: Prog<T>, cpu?: number): T;
  /** dmesg lines without timestamps. */
  lines(): string[];
}

/** A validated spec from a preset, edited by `edit`. */
export function specFrom(preset: string, edit?: (s: PlatformSpecInput) => void): PlatformSpec {
  const input = presetInput(preset);
  if (input === undefined) {
    throw new Error(`no preset ${preset}`);
  }
  edit?.(input);
  const r = parsePlatformSpec(input);
  if (!r.ok) {
    throw new Error(JSON.stringify(r.problems));
  }
  return r.spec;
}

/** Options of kernelRig(). */
export interface RigOptions {
  readonly kernel?: KernelProfileName;
  readonly kernelOverrides?: Partial<Omit<KernelProfile, 'name'>>;
  readonly edit?: (s: PlatformSpecInput) => void;
  /** 'stub' (default), 'real' (the TDX module model), 'none' or a factory. */
  readonly module?: 'stub' | 'real' | 'none' | ModuleFactory;
  readonly moduleProfile?: string;
  readonly boot?: boolean;
}

/** Build a machine on `preset` and boot it (unless boot: false). */
export function kernelRig(preset: string, o: RigOptions = {}): KernelRig {
  const spec = specFrom(preset, o.edit);
  const faults = new CountingFaults();
  let stub: StubModule | undefined;
  const mod = o.module ?? 'stub';
  const factory: ModuleFactory | 'none' | undefined =
    mod === 'none'
      ? 'none'
      : mod === 'real'
        ? undefined
        : mod === 'stub'
        ? (platform) => {
            stub = new StubModule((lp) => platform.cpu(lp).packageId, platform.packageCount);
            return stub;
          }
        : mod;
  const m = createMachine({
    spec,
    faults,
    ...(o.kernel === undefined ? {} : { kernel: o.kernel }),
    ...(o.kernelOverrides === undefined ? {} : { kernelOverrides: o.kernelOverrides }),
    ...(factory === undefined ? {} : { moduleFactory: factory }),
    ...(o.moduleProfile === undefined ? {} : { module: o.moduleProfile }),
  });
  const sched = new Scheduler(m.platform, FIRST_CHOICE, 'timed');
  const run = <T>(p: Prog<T>, cpu = 0): T => sched.runProgram(m.platform.cpu(cpu), p);
  if (o.boot !== false) {
    run(m.bootKernel());
  }
  return { m, stub, faults, sched, run, lines: () => m.dmesgLines() };
}

/** A program that lets `ns` of simulated time pass on the CPU that runs it. */
export function* sleep(ns: number): Prog {
  yield { op: 'tick', ns, label: 'test' };
}

/** Only the lines with a given prefix. */
export function tdxLines(lines: string[], prefix = 'virt/tdx: '): string[] {
  return lines.filter((l) => l.startsWith(prefix) || l.startsWith('kvm_intel: '));
}

/**
 * Record every bulk SEAMCALL run on `p` from now on: the returned array gets the number of calls
 * of each `seamcallRepeat()` that made at least one.
 */
export function recordBulkRuns(p: Platform): number[] {
  const runs: number[] = [];
  const orig = p.seamcallRepeat.bind(p);
  p.seamcallRepeat = (cpu, regs: SeamRegs, n, stride, until): number => {
    const done = orig(cpu, regs, n, stride, until);
    if (done > 0) {
      runs.push(done);
    }
    return done;
  };
  return runs;
}

/**
 * What an observer of a rig with the module model can see, for comparing a bulk path with the
 * one-by-one path: the trace (hash and `events`), the scheduler, each CPU's clock, steps and
 * cache, memory, stale write-backs, the module's state, the kernel's per-CPU
 * cache_state_incoherent and dmesg.
 */
export function observedState(r: KernelRig, events: readonly TraceEvent[]): Record<string, unknown> {
  const p = r.m.platform;
  return {
    traceHash: p.tracer.hash,
    events,
    sched: { ...r.sched.stats, now: r.sched.now, fingerprint: r.sched.fingerprint(false) },
    cpus: p.cpus.map((c) => ({ clockNs: c.clockNs, stepCount: c.stepCount, lastSeamcallNs: c.lastSeamcallNs, inSeam: c.inSeam, cache: c.cache.ranges() })),
    memory: p.memory.lines.entries(),
    staleWritebacks: p.staleWritebacks.length,
    module: (r.m.module as TdxModule).snapshot(),
    cacheStateIncoherent: p.cpus.map((c) => r.m.kernel.cache_state_incoherent.get(c.id)),
    dmesg: r.lines(),
  };
}
