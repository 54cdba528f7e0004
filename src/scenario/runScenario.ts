/**
 * Run a scenario: build the platform, execute the steps on the scheduler, then ask the
 * checkers. Variants run on fresh machines after the common steps. The caller gets plain data:
 * verdict, dmesg, findings, stats.
 */
import { ModelBug } from '../base/assert.js';
import type { ChoiceSource } from '../base/choice.js';
import { Prng } from '../base/prng.js';
import { deepClone, deepFreeze, Template } from '../base/clone.js';
import { Tracer } from '../base/trace.js';
import { hex } from '../base/u64.js';
import type { Cpu } from '../platform/Cpu.js';
import type { Prog } from '../platform/Exec.js';
import { CountingFaults, Platform } from '../platform/Platform.js';
import type { PlatformSpec } from '../platform/spec.js';
import { corruptionFindings } from './checkers/corruption.js';
import type { PageDescriber, RelevanceFilter } from './checkers/corruption.js';
import { RandomChoices } from '../sim/choices/RandomChoices.js';
import { ReplayChoices } from '../sim/choices/ReplayChoices.js';
import { formatPath } from '../sim/choices/path.js';
import { describeKernel } from './kernelOverrides.js';
import { LatencyChoices } from './latency.js';
import type { LatencyLadder } from './latency.js';
import { formatTimeline, timelineOf, withCauseMarks } from './timeline.js';
import type { TimelineEvent } from './timeline.js';
import type { Finding } from './findings.js';
import type { Scenario, ScenarioStep } from './scenario.js';
import { Scheduler } from '../sim/Scheduler.js';
import type { SchedPolicy } from '../sim/Scheduler.js';

/** How to run. */
export interface RunOptions {
  /** Scheduling policy; `timed` for runs, `free` for exploration. */
  readonly policy?: SchedPolicy;
  /** Replay this choice path instead of drawing from the seed. */
  readonly path?: readonly number[];
  /** Keep this many trace events for reports (0 = none). */
  readonly recordTrace?: number;
  /** Watches each machine's run (the HTML report takes cache snapshots this way). */
  readonly observer?: RunObserver;
  /** Called before each step (progress for long runs; the run itself ignores it). */
  readonly onStep?: (s: StepProgress) => void;
}

/** Which step a run is at: the machine (scenario or variant name), the step's index and op. */
export interface StepProgress {
  readonly run: string;
  readonly index: number;
  readonly count: number;
  readonly op: string;
}

/**
 * Watches a run from outside without changing it: called when a machine is built, after each
 * step and with the outcome. The report draws the same execution `run` judges this way.
 */
export interface RunObserver {
  started?(run: ScenarioRun, name: string): void;
  afterStep?(run: ScenarioRun, name: string, index: number, step: ScenarioStep): void;
  finished?(run: ScenarioRun, outcome: RunOutcome): void;
}

/** The outcome of one machine run (the scenario, or one of its variants). */
export interface RunOutcome {
  readonly name: string;
  readonly findings: Finding[];
  /** dmesg lines without timestamps (all kernels, in boot order). */
  readonly dmesg: string[];
  /** dmesg lines as `dmesg` prints them. */
  readonly dmesgFormatted: string[];
  readonly stats: Record<string, number | string>;
  /** Step results that dmesg does not show. */
  readonly notes: string[];
  /** Text timeline of the last events (per CPU) up to the last jump, for reports of races. */
  readonly timeline: string[];
  /** The same marks as data (all of them, up to the last jump), for `--json` and terminals of any width. */
  readonly timelineEvents: TimelineEvent[];
  readonly path: string;
  readonly traceHash: string;
  /** Recorded trace events (when asked for). */
  readonly trace: readonly unknown[];
}

/** A whole scenario's result. */
export interface RunResult {
  readonly scenario: string;
  /** The kernel profile, with the scenario's overrides if any (`linux-6.18 with overrides: ...`). */
  readonly kernel: string;
  readonly verdict: 'pass' | 'fail';
  readonly seed: number;
  readonly runs: RunOutcome[];
  readonly findings: Finding[];
  readonly expected: string[];
}

/** What a run needs from the kernel side (implemented in kernelDriver.ts). */
export interface KernelSession {
  /** The platform the kernel runs on (the run uses it too). */
  readonly platform: Platform;
  /** Execute one kernel-level step. */
  step(step: ScenarioStep): void;
  /** dmesg of every kernel so far, [plain, formatted]. */
  dmesg(): [string[], string[]];
  /** Which stale write-backs are corruption (memory the current kernel relies on). */
  relevance(): RelevanceFilter;
  /** Findings of kernel-side checkers (CPU still running, SEAMCALL after flush, WARNs). */
  findings(seed: number, path: string): Finding[];
  stats(): Record<string, number | string>;
  /** Who ran when: each kernel, and purgatory between a jump and the next kernel (ends at `endNs`). */
  epochs?(endNs: number): KernelEpoch[];
  /** Time of the last kexec/crash jump, if any. */
  lastJumpNs?(): number | undefined;
  /** Results and notes that dmesg does not show (return codes, refused kexec_load). */
  notes?(): string[];
  /** What a physical address was to the run's TDs (`TDR page of TD 0, HKID 17`), if anything. */
  describePage?(pa: number): string | undefined;
  /** Extra memory-map lanes for reports (memlist, TDMRs, reserved areas, PAMTs, TD pages). */
  memoryLanes?(): { name: string; kind: string; regions: { base: number; end: number; label: string }[] }[];
  /** Exploration: the jump is the last step, so the next kernel need not actually boot. */
  setLiteNextKernel?(on: boolean): void;
  /** The run switched schedulers (exploration restored a snapshot). */
  rescheduled?(sched: Scheduler): void;
  /**
   * Tests of search reductions: record, at every jump, the machine's state (scheduler
   * fingerprint with CPU ids kept, memory digest); `jumpStates()` returns them.
   */
  setRecordJumpState?(on: boolean): void;
  jumpStates?(): readonly string[];
}

/** One stretch of time a kernel (or purgatory) ran the machine. */
export interface KernelEpoch {
  readonly name: string;
  readonly kind: 'kernel' | 'purgatory';
  readonly start: number;
  readonly end: number;
}

/** What a kernel session is built from. */
export interface KernelSessionArgs {
  readonly scenario: Scenario;
  readonly spec: PlatformSpec;
  readonly seed: number;
  readonly tracer: Tracer;
}

/** Builds a kernel session, which owns the machine and therefore the platform. */
export type KernelSessionFactory = (args: KernelSessionArgs) => KernelSession;

/** Everything a step executes against. */
export interface RunContext {
  readonly scenario: Scenario;
  readonly spec: PlatformSpec;
  readonly platform: Platform;
  readonly sched: Scheduler;
  readonly seed: number;
  readonly prng: Prng;
}

function hexToBytes(h: string): Uint8Array {
  const s = h.startsWith('0x') ? h.slice(2) : h;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/** A `store` step as a one-step program (a module-level generator: see kernel/smp.ts). */
function* storeStep(p: Platform, c: Cpu, s: Extract<ScenarioStep, { op: 'store' }>, writer: string): Prog {
  if (s.data !== undefined) {
    p.store(c, s.pa, hexToBytes(s.data), s.keyId, writer);
  } else {
    p.storeFill(c, s.pa, s.len ?? 64, s.fill ?? 0, s.keyId, writer);
  }
  yield { op: 'tick', ns: p.spec.costs.stepNs };
}

/** Execute a bare-platform step. @returns false if the step is not a platform step. */
function platformStep(ctx: RunContext, s: ScenarioStep, notes: string[]): boolean {
  const p = ctx.platform;
  const cpuOf = (id: number) => {
    if (id >= p.cpus.length) {
      throw new ModelBug(`step names CPU ${id}, the platform has ${p.cpus.length}`);
    }
    return p.cpu(id);
  };
  const writer = (c: number) => `CPU ${c}`;
  switch (s.op) {
    case 'store': {
      const c = cpuOf(s.cpu);
      ctx.sched.runProgram(c, storeStep(p, c, s, writer(s.cpu)));
      notes.push(`CPU ${s.cpu}: store ${hex(s.pa)} through KeyID ${s.keyId}`);
      return true;
    }
    case 'movdir64b': {
      const c = cpuOf(s.cpu);
      p.movdir64b(c, s.pa, s.len, s.keyId, s.fill, writer(s.cpu));
      notes.push(`CPU ${s.cpu}: MOVDIR64B ${hex(s.pa)}+${hex(s.len)} through KeyID ${s.keyId}`);
      return true;
    }
    case 'clflush':
      p.clflush(cpuOf(s.cpu), s.pa, s.len, s.keyId);
      notes.push(`CPU ${s.cpu}: CLFLUSH ${hex(s.pa)}+${hex(s.len)} KeyID ${s.keyId}`);
      return true;
    case 'wbinvd': {
      const c = cpuOf(s.cpu);
      const dirty = ctx.sched.runProgram(c, p.wbinvd(c));
      notes.push(`CPU ${s.cpu}: WBINVD (${dirty} dirty lines written back)`);
      return true;
    }
    case 'wbnoinvd': {
      const dirty = p.wbnoinvdNow(cpuOf(s.cpu));
      notes.push(`CPU ${s.cpu}: WBNOINVD (${dirty} dirty lines written back)`);
      return true;
    }
    case 'evict': {
      const c = cpuOf(s.cpu);
      p.evictLines(c, s.lines ?? c.cache.lineCount);
      notes.push(`CPU ${s.cpu}: evict ${s.lines ?? 'all'} lines`);
      return true;
    }
    case 'load': {
      const r = p.load(cpuOf(s.cpu), s.pa, s.len, s.keyId);
      notes.push(r.ok ? `CPU ${s.cpu}: load ${hex(s.pa)} through KeyID ${s.keyId}: ${Buffer.from(r.bytes.subarray(0, 16)).toString('hex')}` : `CPU ${s.cpu}: load ${hex(s.pa)} through KeyID ${s.keyId}: POISON at ${hex(r.poisonPa)} (machine check)`);
      return true;
    }
    default:
      return false;
  }
}

/**
 * One machine's run in progress: the platform, the scheduler and (once a kernel step comes) the
 * kernel session. It holds no closures over its state, so `snapshot()` can copy it at a
 * quiescent point and exploration can restore the copy for every execution.
 */
export class ScenarioRun {
  readonly platform: Platform;
  sched: Scheduler;
  kernel: KernelSession | undefined;
  readonly notes: string[] = [];
  readonly ctx: RunContext;
  random: RandomChoices | undefined;
  replay: ReplayChoices | undefined;

  constructor(
    readonly scenario: Scenario,
    spec: PlatformSpec,
    opts: RunOptions,
    kernelFactory: KernelSessionFactory | undefined,
  ) {
    const seed = scenario.seed;
    deepFreeze(scenario);
    const prng = new Prng(seed);
    const tracer = new Tracer(opts.recordTrace ?? 5000);
    this.kernel = kernelFactory?.({ scenario, spec, seed, tracer });
    this.platform = this.kernel?.platform ?? new Platform(spec, { seed, tracer });
    this.platform.faults = this.armed;
    this.replay = opts.path !== undefined ? new ReplayChoices(opts.path) : undefined;
    this.random = this.replay === undefined ? new RandomChoices(prng.fork('sched')) : undefined;
    this.sched = new Scheduler(this.platform, this.replay ?? (this.random as RandomChoices), opts.policy ?? 'timed');
    this.sched.preemptOnTick = opts.policy !== 'free';
    this.ctx = { scenario, spec, platform: this.platform, sched: this.sched, seed, prng };
    this.kernel?.rescheduled?.(this.sched);
  }

  /** Faults armed by `fault` steps. */
  readonly armed = new CountingFaults();

  /** Execute one step. */
  exec(s: ScenarioStep): void {
    if (s.op === 'fault') {
      this.armed.arm(s.site, s.count);
      this.notes.push(`armed ${s.count} fault(s) at ${s.site}`);
      return;
    }
    if (platformStep(this.ctx, s, this.notes)) {
      return;
    }
    if (this.kernel === undefined) {
      throw new ModelBug(`step "${s.op}" needs a kernel, and none is available`);
    }
    this.kernel.step(s);
  }

  /** A deep copy, taken between steps (no program running). */
  snapshot(): ScenarioRun {
    return deepClone(this);
  }

  /** A compiled snapshot, for restoring the same state many times (exploration). */
  template(): Template<ScenarioRun> {
    return new Template<ScenarioRun>(this);
  }

  /** Switch to another scheduler policy and choice source (after restoring a snapshot). */
  reschedule(choices: ChoiceSource, policy: SchedPolicy, latency?: LatencyLadder): void {
    const old = this.sched;
    this.sched = new Scheduler(this.platform, choices, policy);
    this.sched.now = old.now;
    this.sched.preemptOnTick = policy !== 'free';
    (this.ctx as { sched: Scheduler }).sched = this.sched;
    this.random = undefined;
    this.replay = undefined;
    // Exploration: interrupt latency is a choice too (scenario/latency.ts).
    this.platform.latency = policy === 'free' && latency !== undefined ? new LatencyChoices(choices, latency) : undefined;
    this.kernel?.rescheduled?.(this.sched);
  }

  /** What an address was to the run's TDs (for findings and timeline marks). */
  pageDescriber(): PageDescriber {
    const k = this.kernel;
    return (pa) => k?.describePage?.(pa);
  }

  /** Only the checkers' findings (what exploration needs from every execution). */
  findings(name: string, path: string): Finding[] {
    const scenario = this.scenario;
    const relevance = this.kernel?.relevance() ?? (() => true);
    const out = [...corruptionFindings(this.platform.staleWritebacks, scenario.seed, path, relevance, this.pageDescriber()), ...(this.kernel?.findings(scenario.seed, path) ?? [])];
    return name === scenario.name ? out : out.map((f) => ({ ...f, variant: name }));
  }

  /** Check and summarize. */
  outcome(name: string, pathArr: readonly number[]): RunOutcome {
    const scenario = this.scenario;
    const seed = scenario.seed;
    const path = formatPath(pathArr);
    const relevance = this.kernel?.relevance() ?? (() => true);
    const findings = [...corruptionFindings(this.platform.staleWritebacks, seed, path, relevance, this.pageDescriber()), ...(this.kernel?.findings(seed, path) ?? [])].map((f) => (name === scenario.name ? f : { ...f, variant: name }));
    const [dm, dmf] = this.kernel?.dmesg() ?? [this.notes, this.notes];
    const tracer = this.platform.tracer;
    // The old kernel's timeline, plus where each stale write-back's line was dirtied (its cause).
    const jumpNs = this.kernel?.lastJumpNs?.() ?? Infinity;
    const all = tracer.events();
    const timelineEvents = withCauseMarks(
      timelineOf(all.filter((e) => e.t <= jumpNs)),
      all,
      this.pageDescriber(),
    ).filter((m) => m.t <= jumpNs);
    return {
      name,
      findings,
      dmesg: dm,
      dmesgFormatted: dmf,
      stats: {
        steps: this.sched.stats.steps,
        choices: this.sched.stats.choices,
        simulatedNs: this.latestNs(),
        staleWritebacks: this.platform.staleWritebacks.length,
        traceEvents: tracer.eventCount,
        ...(this.kernel?.stats() ?? {}),
        ...(this.kernel === undefined ? { notes: this.notes.length } : {}),
      },
      notes: this.kernel?.notes?.() ?? [],
      timeline: formatTimeline(timelineEvents, { maxRows: 40 }),
      timelineEvents,
      path,
      traceHash: tracer.hash,
      trace: tracer.events(),
    };
  }

  /**
   * What an execution ended with, for comparing searches: findings (without seed and path),
   * notes, dmesg and the recorded jump states (needs `setRecordJumpState(true)` first).
   */
  finalState(): string {
    const findings = this.findings(this.scenario.name, '').map((f) => JSON.stringify([f.class, f.message, f.t, f.details]));
    return JSON.stringify([findings.sort(), this.kernel?.notes?.() ?? this.notes, this.kernel?.dmesg()[1] ?? [], this.kernel?.jumpStates?.() ?? []]);
  }

  /**
   * The latest simulated time the run reached: the scheduler's clock or any CPU's own clock,
   * whichever is later (a CPU that ran on, such as a write-back after the kexec jump, is ahead
   * of the scheduler), so no finding's time is past it.
   */
  latestNs(): number {
    let t = this.sched.now;
    for (const c of this.platform.cpus) {
      t = Math.max(t, c.clockNs);
    }
    return t;
  }

  /** The choice path taken by the run's own random or replay source. */
  takenPath(): number[] {
    return this.random?.path ?? this.replay?.taken ?? [];
  }
}

/** Run one machine: common steps, then a variant's steps. */
export function runOnce(scenario: Scenario, spec: PlatformSpec, steps: readonly ScenarioStep[], name: string, opts: RunOptions, kernelFactory?: KernelSessionFactory): RunOutcome {
  const r = new ScenarioRun(scenario, spec, opts, kernelFactory);
  opts.observer?.started?.(r, name);
  steps.forEach((s, i) => {
    opts.onStep?.({ run: name, index: i, count: steps.length, op: s.op });
    r.exec(s);
    opts.observer?.afterStep?.(r, name, i, s);
  });
  const out = r.outcome(name, r.takenPath());
  opts.observer?.finished?.(r, out);
  return out;
}

/** Run a validated scenario on a validated platform. */
export function runScenario(scenario: Scenario, spec: PlatformSpec, opts: RunOptions = {}, kernelFactory?: KernelSessionFactory): RunResult {
  const runs: RunOutcome[] = [];
  if (scenario.variants.length === 0) {
    runs.push(runOnce(scenario, spec, scenario.steps, scenario.name, opts, kernelFactory));
  } else {
    for (const v of scenario.variants) {
      runs.push(runOnce(scenario, spec, [...scenario.steps, ...v.steps], v.name, opts, kernelFactory));
    }
  }
  return resultOf(scenario, runs);
}

/** The verdict over a scenario's runs: "pass" when exactly the expected finding classes appear. */
export function resultOf(scenario: Scenario, runs: RunOutcome[]): RunResult {
  const findings = runs.flatMap((r) => r.findings);
  const got = [...new Set(findings.map((f) => f.class))].sort();
  const expected = [...new Set(scenario.expect.findings)].sort();
  const verdict = got.length === expected.length && got.every((c, i) => c === expected[i]) ? 'pass' : 'fail';
  return { scenario: scenario.name, kernel: describeKernel(scenario.kernel, scenario.kernelOverrides), verdict, seed: scenario.seed, runs, findings, expected };
}
