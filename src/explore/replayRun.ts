/**
 * One execution the way `explore` runs it, outside the search: the scenario's deterministic
 * prefix (everything before the first kexec, crash or tdx.enable step) under the timed
 * scheduler, then the rest under the free scheduler with a given choice path, fault plan and
 * interrupt-latency choices. `replay`, `trace`, `inspect` and scenarios whose schedule policy is
 * `explored` (a counterexample saved by `explore --save-counterexample`) run executions this way,
 * so they see exactly what the explorer saw.
 */
import { ReplayChoices } from '../sim/choices/ReplayChoices.js';
import type { ScenarioRun } from '../scenario/runScenario.js';
import type { Scenario, ScenarioStep } from '../scenario/scenario.js';
import { DEFAULT_LATENCY_LADDER } from '../scenario/latency.js';
import { CompositeFaults, PlanFaults } from './faults.js';
import type { FaultPlan } from './faults.js';

/** Steps at which exploration starts (the concurrency of interest begins there). */
export const EXPLORE_FROM: ReadonlySet<string> = new Set(['kexec', 'crash', 'tdx.enable']);

/** A scenario's steps (with its first variant's) cut where exploration starts. */
export interface ExploreSplit {
  readonly prefix: ScenarioStep[];
  readonly rest: ScenarioStep[];
}

/** Cut the scenario's steps (and its first variant's) at the first step exploration starts from. */
export function splitForExplore(sc: Scenario): ExploreSplit {
  const steps = [...sc.steps, ...(sc.variants[0]?.steps ?? [])];
  const i = steps.findIndex((s) => EXPLORE_FROM.has(s.op));
  return i < 0 ? { prefix: [], rest: steps } : { prefix: steps.slice(0, i), rest: steps.slice(i) };
}

/** Whether the explored part ends with its only jump, so the next kernel need not boot. */
export function liteNextKernel(rest: readonly ScenarioStep[]): boolean {
  const last = rest[rest.length - 1];
  return last !== undefined && (last.op === 'kexec' || last.op === 'crash') && rest.filter((x) => x.op === 'kexec' || x.op === 'crash').length === 1;
}

/** Watches an execution step by step (inspect takes its snapshot through this). */
export interface ExecutionObserver {
  /** A scheduler starts driving the run (at the start, and when the free scheduler takes over). */
  scheduler?(run: ScenarioRun): void;
  /** Before scenario step `index` (0-based, counting the first variant's steps after the common ones). */
  beforeStep?(run: ScenarioRun, index: number, step: ScenarioStep): void;
  /** After scenario step `index`. */
  afterStep?(run: ScenarioRun, index: number, step: ScenarioStep): void;
}

/** How to run one explored execution. */
export interface ExploredRunOptions {
  readonly path: readonly number[];
  readonly plan: FaultPlan;
  /** Fault opportunities are two-way choices (as in exhaustive search). */
  readonly exhaustiveFaults: boolean;
  /** Interrupt latency is a choice (explore's default). */
  readonly latency: boolean;
  readonly observer?: ExecutionObserver;
}

/** Execute `steps` on `run`, telling the observer; `first` is the index of steps[0]. */
export function execSteps(run: ScenarioRun, steps: readonly ScenarioStep[], first: number, observer?: ExecutionObserver): void {
  steps.forEach((s, j) => {
    observer?.beforeStep?.(run, first + j, s);
    run.exec(s);
    observer?.afterStep?.(run, first + j, s);
  });
}

/**
 * Run an execution as the explorer does on `run` (freshly built under the timed policy, nothing
 * executed yet). The caller reads the outcome from `run` afterwards.
 * @throws PathMismatch when the path does not fit the run
 */
export function runExplored(run: ScenarioRun, opts: ExploredRunOptions): void {
  const { prefix, rest } = splitForExplore(run.scenario);
  opts.observer?.scheduler?.(run);
  execSteps(run, prefix, 0, opts.observer);
  run.kernel?.setLiteNextKernel?.(liteNextKernel(rest));
  const choices = new ReplayChoices(opts.path);
  run.platform.faults = new CompositeFaults([run.armed, new PlanFaults(opts.plan, choices, opts.exhaustiveFaults)]);
  run.reschedule(choices, 'free', opts.latency ? DEFAULT_LATENCY_LADDER : undefined);
  opts.observer?.scheduler?.(run);
  execSteps(run, rest, prefix.length, opts.observer);
}
