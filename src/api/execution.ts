/**
 * One execution recorded for looking at afterwards (`trace`, `inspect`): a scenario as `run`
 * runs it (its own schedule), or one path of it as `replay` and `explore` run it (`path`,
 * `faults`, `cpus`, or a scenario whose schedule is `explored`), with the whole trace kept and
 * an observer told about every step.
 */
import type { TraceEvent } from '../base/trace.js';
import { runExplored } from '../explore/replayRun.js';
import type { ExecutionObserver } from '../explore/replayRun.js';
import { execSteps } from '../explore/replayRun.js';
import { describeKernel } from '../scenario/kernelOverrides.js';
import { createKernelSession } from '../scenario/kernelSession.js';
import { ScenarioRun } from '../scenario/runScenario.js';
import type { KernelEpoch, RunOutcome } from '../scenario/runScenario.js';
import { needsKernel } from '../scenario/scenario.js';
import type { Scenario } from '../scenario/scenario.js';
import type { PlatformSpec } from '../platform/spec.js';
import { parsePath } from '../sim/choices/path.js';
import { PathMismatch } from '../sim/choices/ReplayChoices.js';
import { TdxsimError } from './errors.js';
import { checkStepCpus, faultPlanOf, prepareRun, withCpus } from './run.js';
import type { RunRequest } from './run.js';

/**
 * Trace events kept for one recorded execution (the kinds traces and timelines show; see
 * `kept`): the last million, so a big host keeps the end of its run, where kexec happens.
 */
const RECORD_LIMIT = 1_000_000;
/** Events the run's own bounded ring keeps (its outcome's timeline). */
const RING = 5000;

/**
 * Whether a trace or an inspection needs the event: everything but memory writes, scheduler
 * choices, CPU state changes and harmless write-backs, which a big host emits by the million.
 */
function kept(e: TraceEvent): boolean {
  return e.kind !== 'mem.write' && e.kind !== 'sched.choose' && e.kind !== 'cpu.state' && (e.kind !== 'cache.writeback' || e.stale);
}

/** Keeps the last RECORD_LIMIT kept events (a ring); counts the ones it let go. */
class Recorder {
  private ring: TraceEvent[] = [];
  private head = 0;
  dropped = 0;
  add(e: TraceEvent): void {
    if (!kept(e)) {
      return;
    }
    if (this.ring.length < RECORD_LIMIT) {
      this.ring.push(e);
      return;
    }
    this.ring[this.head] = e;
    this.head = (this.head + 1) % RECORD_LIMIT;
    this.dropped++;
  }
  /** Oldest first. */
  get events(): TraceEvent[] {
    return this.head === 0 ? this.ring : [...this.ring.slice(this.head), ...this.ring.slice(0, this.head)];
  }
}

/** What to record: a scenario, optionally replayed along an explored path. */
export interface ExecutionRequest extends Omit<RunRequest, 'free' | 'recordTrace'> {
  /** Fault plan as replay's `--faults` (`none`, `SITE:n/d:max,...`). */
  readonly faults?: string;
  /** Resize the platform to this many CPUs (as explore's `--cpus`). */
  readonly cpus?: number;
  /** Interrupt latency is a choice (explore's default); false: `--no-latency`. */
  readonly latency?: boolean;
  /** Fault opportunities as two-way choices (exhaustive search) rather than weighted draws. */
  readonly faultChoices?: 'binary' | 'weighted';
}

/** A recorded execution. */
export interface RecordedExecution {
  readonly scenario: Scenario;
  readonly spec: PlatformSpec;
  /** The machine at the end. */
  readonly run: ScenarioRun;
  readonly outcome: RunOutcome;
  /** The trace events traces and timelines show, oldest first (memory writes and scheduler choices left out). */
  readonly events: readonly TraceEvent[];
  /** Events older than the last RECORD_LIMIT that were not kept (the trace starts late when this is not 0). */
  readonly droppedEvents: number;
  /** Kernels and purgatory over time (one epoch without a kernel). */
  readonly epochs: KernelEpoch[];
  /** How it was scheduled: the scenario's own schedule, or explored (replay). */
  readonly mode: 'scenario' | 'explored';
  /** The kernel profile with its overrides (`linux-6.18 with overrides: ...`), or `none` (bare platform). */
  readonly kernel: string;
  /** The choice path taken. */
  readonly path: string;
  readonly faults: string;
}

/** True when the request (or the scenario) asks for an execution as explore runs it. */
function explored(req: ExecutionRequest, sc: Scenario): boolean {
  return req.path !== undefined || req.faults !== undefined || req.cpus !== undefined || req.latency !== undefined || sc.schedule.policy === 'explored';
}

/**
 * Record one execution; the observer sees every step (and every scheduler that drives it).
 * @throws TdxsimError on bad input, including a path that does not fit (TDXSIM_BAD_PATH)
 */
export function recordExecution(req: ExecutionRequest, observer?: ExecutionObserver): RecordedExecution {
  const p = prepareRun({ ...req, ...(req.path !== undefined ? { path: req.path } : {}) });
  const sc = p.scenario;
  const kernel = needsKernel(sc) ? createKernelSession : undefined;
  if (explored(req, sc)) {
    const sched = sc.schedule;
    const cpus = req.cpus ?? sched.cpus;
    const spec = cpus === undefined ? p.spec : withCpus(p.spec, cpus);
    checkStepCpus(sc, spec, req.cpus !== undefined ? '--cpus' : `${sc.name}: schedule.cpus`);
    const faults = req.faults ?? sched.faults;
    const plan = faultPlanOf(faults, req.faults !== undefined ? '--faults' : `${sc.name}: schedule.faults`);
    const path = p.path ?? parsePath(sched.path) ?? [];
    const run = new ScenarioRun(sc, spec, { policy: 'timed', recordTrace: RING }, kernel);
    const rec = new Recorder();
    run.platform.tracer.subscribe((e) => rec.add(e));
    try {
      runExplored(run, { path, plan, exhaustiveFaults: (req.faultChoices ?? sched.faultChoices) === 'binary', latency: req.latency ?? sched.latency, ...(observer !== undefined ? { observer } : {}) });
    } catch (e) {
      if (e instanceof PathMismatch) {
        throw new TdxsimError('TDXSIM_BAD_PATH', `--path ${req.path ?? sched.path}: ${e.message.replace(/^--path /, '')}`);
      }
      throw e;
    }
    return finish(sc, spec, run, rec, 'explored', path, faults);
  }
  const variant = sc.variants[0];
  const steps = [...sc.steps, ...(variant?.steps ?? [])];
  const path = sc.schedule.policy === 'free' && sc.schedule.path !== '' ? parsePath(sc.schedule.path) : undefined;
  const run = new ScenarioRun(sc, p.spec, { policy: sc.schedule.policy === 'free' ? 'free' : 'timed', recordTrace: RING, ...(path !== undefined ? { path } : {}) }, kernel);
  const rec = new Recorder();
  run.platform.tracer.subscribe((e) => rec.add(e));
  observer?.scheduler?.(run);
  execSteps(run, steps, 0, observer);
  return finish(sc, p.spec, run, rec, 'scenario', run.takenPath(), 'none');
}

function finish(sc: Scenario, spec: PlatformSpec, run: ScenarioRun, rec: Recorder, mode: RecordedExecution['mode'], path: readonly number[], faults: string): RecordedExecution {
  const outcome = run.outcome(sc.variants[0]?.name ?? sc.name, path);
  const events = rec.events;
  const end = events.reduce((m, e) => Math.max(m, e.t), run.sched.now);
  const epochs = run.kernel?.epochs?.(end) ?? [{ name: 'bare platform', kind: 'kernel' as const, start: 0, end }];
  const kernel = run.kernel === undefined ? 'none' : describeKernel(sc.kernel, sc.kernelOverrides);
  return { scenario: sc, spec, run, outcome, events, droppedEvents: rec.dropped, epochs, mode, kernel, path: outcome.path, faults };
}
