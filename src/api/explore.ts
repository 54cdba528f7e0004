/**
 * Library entry for exploration: a scenario becomes an ExploreTarget. The deterministic prefix
 * (everything before the first kexec, crash or concurrent tdx.enable step) runs once under the
 * timed scheduler and is snapshotted; every execution restores the snapshot and runs the rest
 * under the free scheduler with the explorer's choice source and fault plan.
 */
import { ModelBug } from '../base/assert.js';
import { SleepBlocked } from '../sim/choices/ExhaustiveChoices.js';
import { explore, replayPath } from '../explore/explore.js';
import type { Execution, ExecutionContext, ExploreDetails, ExploreProgress, ExploreTarget, FaultMode, Strategy } from '../explore/explore.js';
import { CompositeFaults, formatPlan, parsePlan, PlanFaults } from '../explore/faults.js';
import type { FaultPlan } from '../explore/faults.js';
import type { Finding } from '../scenario/findings.js';
import { createKernelSession } from '../scenario/kernelSession.js';
import { mergeDetails } from '../explore/merge.js';
import { liteNextKernel, splitForExplore } from '../explore/replayRun.js';
import { DEFAULT_LATENCY_LADDER } from '../scenario/latency.js';
import { parsePath } from '../sim/choices/path.js';
import { PathMismatch } from '../sim/choices/ReplayChoices.js';
import { ScenarioRun } from '../scenario/runScenario.js';
import type { RunObserver } from '../scenario/runScenario.js';
import type { FindingClass, Scenario, ScenarioInput } from '../scenario/scenario.js';
import { preset } from '../platform/presets.js';
import { needsKernel } from '../scenario/scenario.js';
import { timelineOf, withCauseMarks } from '../scenario/timeline.js';
import type { PlatformSpec } from '../platform/spec.js';
import { TdxsimError } from './errors.js';
import { checkStepCpus, prepareRun, readJsonFile, withCpus } from './run.js';

export { withCpus };
import { machineArgs, shellCommand } from './shell.js';
import type { RunRequest } from './run.js';

/** What the caller asks for. */
export interface ExploreRequest extends Omit<RunRequest, 'path' | 'free'> {
  readonly strategy?: Strategy;
  readonly budget?: number;
  readonly timeSec?: number;
  /** "none", "swarm" or a list "site[,site...]" / "site:n/d:max". */
  readonly faults?: string;
  readonly cpus?: number;
  readonly checkDeterminism?: boolean;
  readonly symmetry?: boolean;
  /**
   * Interrupt latency is a choice (nominal, after the 1 s REBOOT wait, never: a CPU may keep
   * interrupts off for any time). Default true; false restores nominal latencies only.
   */
  readonly latency?: boolean;
  /** Only these finding classes stop the search (default: any). */
  readonly failOn?: readonly FindingClass[];
  /** Library only: a finding counts only if this holds too. */
  readonly failIf?: (f: Finding) => boolean;
  /** Wall clock in ms; the time budget and the elapsed time count from before the scenario's setup. */
  readonly now?: () => number;
  readonly progress?: (p: ExploreProgress) => void;
  readonly progressEveryMs?: number;
  /** Polled between executions; true stops the search (the caller handles signals, e.g. SIGINT). */
  readonly shouldStop?: () => boolean;
  /** Explore part `index` of `count` of the search (see docs/explore.md "Campaigns"). */
  readonly shard?: { readonly index: number; readonly count: number };
  readonly splitDepth?: number;
  /** Run an exhaustive search even if its estimate says it cannot finish within `timeSec`. */
  readonly force?: boolean;
  /** Exhaustive: stateful search (never a state twice) instead of sleep sets. */
  readonly stateful?: boolean;
  /** Exhaustive, stateless: dynamic partial-order reduction from step footprints. */
  readonly dpor?: boolean;
  /** Stateful: bytes for the visited-state table before it turns bit-state. */
  readonly stateMemoryBytes?: number;
}

/** Result plus what is needed to print it. */
export interface ExploreResult {
  readonly details: ExploreDetails;
  readonly scenario: string;
  /**
   * What the search was (scenario, machine, strategy, seed, faults, latency, split): shards
   * merge only with shards of the same campaign.
   */
  readonly campaign: string;
  /** One-line replay command for the counterexample, if any. */
  readonly replay?: string;
  /**
   * One-line `tdxsim report ... --replay -o FILE` command that draws the counterexample as an
   * HTML page: the replay command's arguments (every option that shaped the run), shell-quoted.
   */
  readonly report?: string;
}

/** The HTML file a printed report command writes: the scenario's name, kept to file-name characters. */
function reportFileName(scenario: string): string {
  const base = scenario.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '');
  return `${base === '' ? 'scenario' : base}-counterexample.html`;
}

/** How a scenario becomes an exploration target. */
export interface TargetOptions {
  readonly latency?: boolean;
  /** Record each execution's machine state at the jump (DPOR soundness tests). */
  readonly finalState?: boolean;
  /** Record this many trace events of the prefix and of recorded executions (reports). */
  readonly recordTrace?: number;
  /** Watches the prefix and each recorded execution (the HTML report); see RunObserver. */
  readonly observer?: TargetObserver;
}

/**
 * A RunObserver that also hears when the prefix's machine is put aside (`paused`, before it is
 * copied for the executions) and when an execution's copy starts (`resumed`).
 */
export interface TargetObserver extends RunObserver {
  paused?(run: ScenarioRun): void;
  resumed?(run: ScenarioRun): void;
}

/** Build the target for a prepared scenario. */
export function scenarioTarget(sc: Scenario, spec: PlatformSpec, opts: TargetOptions = {}): ExploreTarget {
  const ladder = opts.latency === false ? undefined : DEFAULT_LATENCY_LADDER;
  const { prefix, rest } = splitForExplore(sc);
  const factory = needsKernel(sc) ? createKernelSession : undefined;
  const watch = opts.observer;
  const base = new ScenarioRun(sc, spec, { policy: 'timed', recordTrace: opts.recordTrace ?? 0 }, factory);
  watch?.started?.(base, sc.name);
  prefix.forEach((s, i) => {
    base.exec(s);
    watch?.afterStep?.(base, sc.name, i, s);
  });
  // The observer lets go of the prefix's machine before it is compiled into a template.
  watch?.paused?.(base);
  // When the explored part ends with the jump, the next kernel's boot adds nothing to check.
  base.kernel?.setLiteNextKernel?.(liteNextKernel(rest));
  // Footprints (DPOR) are declared by the platform and by the reboot paths of the kernel
  // (kexec, kdump). Any other kernel code explored here (a second boot, tdx_enable, hotplug)
  // has shared state nobody records: then every step counts as dependent on every other.
  base.platform.fp.coarse = !(rest.length === 1 && (rest[0]?.op === 'kexec' || rest[0]?.op === 'crash'));
  base.kernel?.setRecordJumpState?.(opts.finalState === true);
  const snapshot = base.template();
  return (ctx: ExecutionContext): Execution => {
    const run = snapshot.instantiate();
    run.platform.faults = new CompositeFaults([run.armed, new PlanFaults(ctx.faults, ctx.choices, ctx.exhaustiveFaults)]);
    run.platform.tracer.recordLimit = ctx.record ? Math.max(200_000, opts.recordTrace ?? 0) : 0;
    run.reschedule(ctx.choices, 'free', ladder);
    if (!run.platform.fp.coarse && [...ctx.faults.sites.keys()].some((site) => site !== 'cache.evict' && site !== 'nmi')) {
      // Faults that run unrecorded kernel code (CPU offline) or change SEAMCALL results.
      run.platform.fp.coarse = true;
    }
    watch?.resumed?.(run);
    try {
      rest.forEach((s, i) => {
        run.exec(s);
        watch?.afterStep?.(run, sc.name, prefix.length + i, s);
      });
    } catch (e) {
      if (e instanceof SleepBlocked || !(e instanceof ModelBug)) {
        throw e;
      }
      // A broken model invariant under this schedule is a finding (class model-bug), shrunk
      // and replayed like any other.
      return { findings: [{ class: 'model-bug', message: `model bug: ${e.message}`, t: run.sched.now, seed: sc.seed, path: '', details: {} }], traceHash: run.platform.tracer.hash, steps: run.sched.stats.steps };
    }
    if (!ctx.record) {
      return { findings: run.findings(sc.name, ''), traceHash: run.platform.tracer.hash, steps: run.sched.stats.steps, ...(opts.finalState === true ? { finalState: run.finalState() } : {}) };
    }
    const out = run.outcome(sc.name, []);
    watch?.finished?.(run, out);
    return {
      findings: out.findings,
      traceHash: out.traceHash,
      steps: run.sched.stats.steps,
      timeline: withCauseMarks(timelineOf(run.platform.tracer.events()), run.platform.tracer.events(), run.pageDescriber()),
      dmesgTail: out.dmesgFormatted.slice(-25),
    };
  };
}

function faultMode(s: string | undefined): FaultMode {
  if (s === undefined || s === 'none') {
    return 'none';
  }
  if (s === 'swarm') {
    return 'swarm';
  }
  const p = parsePlan(s);
  if (typeof p === 'string') {
    throw new TdxsimError('TDXSIM_BAD_FAULTS', `--faults: ${p}`);
  }
  return [...p.sites.keys()];
}

/** Validate and explore. */
export function exploreScenario(req: ExploreRequest): ExploreResult {
  const startedAt = req.now?.();
  const p = prepareRun(req);
  const spec = req.cpus === undefined ? p.spec : withCpus(p.spec, req.cpus);
  checkStepCpus(p.scenario, spec, '--cpus');
  const target = scenarioTarget(p.scenario, spec, { latency: req.latency ?? true });
  const strategy = req.strategy ?? 'random';
  const details = explore(target, {
    strategy,
    seed: p.scenario.seed,
    ...(req.budget !== undefined ? { budget: req.budget } : {}),
    ...(req.timeSec !== undefined ? { timeMs: req.timeSec * 1000 } : {}),
    ...(req.now !== undefined ? { now: req.now } : {}),
    ...(startedAt !== undefined ? { startedAt } : {}),
    ...(req.shouldStop !== undefined ? { shouldStop: req.shouldStop } : {}),
    faults: faultMode(req.faults),
    checkDeterminism: req.checkDeterminism ?? false,
    symmetry: req.symmetry ?? true,
    ...(req.failOn !== undefined ? { failOn: req.failOn } : {}),
    ...(req.failIf !== undefined ? { failIf: req.failIf } : {}),
    cpus: spec.topology.packages * spec.topology.coresPerPackage * spec.topology.threadsPerCore,
    ...(req.progress !== undefined ? { progress: req.progress } : {}),
    ...(req.progressEveryMs !== undefined ? { progressEveryMs: req.progressEveryMs } : {}),
    ...(req.shouldStop !== undefined ? { shouldStop: req.shouldStop } : {}),
    ...(req.shard !== undefined ? { shard: req.shard } : {}),
    ...(req.splitDepth !== undefined ? { splitDepth: req.splitDepth } : {}),
    ...(req.force !== undefined ? { force: req.force } : {}),
    ...(req.stateful !== undefined ? { stateful: req.stateful } : {}),
    ...(req.dpor !== undefined ? { dpor: req.dpor } : {}),
    ...(req.stateMemoryBytes !== undefined ? { stateMemoryBytes: req.stateMemoryBytes } : {}),
  });
  const campaign = JSON.stringify([req.file ?? p.scenario.name, req.platform ?? null, req.kernel ?? null, req.module ?? null, req.cpus ?? null, strategy, p.scenario.seed, req.faults ?? 'none', req.latency ?? true, req.symmetry ?? true, req.splitDepth ?? null, req.budget ?? null, req.stateful ?? false, ...(req.dpor === true ? ['dpor'] : [])]);
  const cx = details.counterexample;
  const src = req.file ?? p.scenario.name;
  // The arguments that reproduce the counterexample, shared by the replay and the report command.
  const reproduce =
    cx === undefined
      ? undefined
      : [
          src,
          '--seed',
          String(p.scenario.seed),
          '--path',
          cx.path,
          ...(cx.faultsArg !== 'none' ? ['--faults', cx.faultsArg] : []),
          ...(cx.exhaustiveFaults && cx.faultsArg !== 'none' ? ['--fault-choices', 'binary'] : []),
          ...(req.cpus !== undefined ? ['--cpus', String(req.cpus)] : []),
          ...machineArgs(req),
          ...(req.latency === false ? ['--no-latency'] : []),
        ];
  const replay = reproduce === undefined ? undefined : shellCommand(['tdxsim', 'replay', ...reproduce]);
  const report = reproduce === undefined ? undefined : shellCommand(['tdxsim', 'report', ...reproduce, '--replay', '-o', reportFileName(p.scenario.name)]);
  return { details, scenario: p.scenario.name, campaign, ...(replay !== undefined ? { replay } : {}), ...(report !== undefined ? { report } : {}) };
}

/**
 * Merge the results of the shards of one campaign into what one run would have reported.
 * @throws TdxsimError TDXSIM_BAD_MERGE for shards of different campaigns, or missing shards
 */
export function mergeExploreResults(parts: readonly ExploreResult[]): ExploreResult {
  const first = parts[0];
  const other = parts.find((x) => x.campaign !== first?.campaign);
  if (first === undefined || other !== undefined) {
    throw new TdxsimError('TDXSIM_BAD_MERGE', first === undefined ? 'explore merge: no shard results given' : `explore merge: shards of different campaigns (${first.campaign} and ${other?.campaign ?? ''})`);
  }
  const merged = mergeDetails(parts.map((x) => x.details));
  if (typeof merged === 'string') {
    throw new TdxsimError('TDXSIM_BAD_MERGE', `explore merge: ${merged}`);
  }
  const winner = parts.find((x) => x.details.counterexample !== undefined && x.details.counterexample === merged.counterexample);
  return {
    details: merged,
    scenario: first.scenario,
    campaign: first.campaign,
    ...(winner?.replay !== undefined ? { replay: winner.replay } : {}),
    ...(winner?.report !== undefined ? { report: winner.report } : {}),
  };
}

/** What a replay produced. */
export interface ReplayResult {
  readonly execution: Execution;
  readonly scenario: string;
  readonly path: string;
  readonly faults: string;
}

/** Replay one path of a scenario, recording the timeline. */
export function replayScenario(req: ExploreRequest & { path: string; faultChoices?: 'binary' | 'weighted' }, watch?: { readonly observer: TargetObserver; readonly recordTrace: number }): ReplayResult {
  const p = prepareRun(req);
  const spec = req.cpus === undefined ? p.spec : withCpus(p.spec, req.cpus);
  checkStepCpus(p.scenario, spec, '--cpus');
  const path = parsePath(req.path);
  if (path === undefined) {
    throw new TdxsimError('TDXSIM_BAD_PATH', `--path "${req.path}": expected dot-separated choice indices such as 0.2.1`);
  }
  let plan: FaultPlan = { sites: new Map() };
  if (req.faults !== undefined && req.faults !== 'none') {
    const parsed = parsePlan(req.faults);
    if (typeof parsed === 'string') {
      throw new TdxsimError('TDXSIM_BAD_FAULTS', `--faults: ${parsed}`);
    }
    plan = parsed;
  }
  const target = scenarioTarget(p.scenario, spec, { latency: req.latency ?? true, ...(watch ?? {}) });
  let execution: Execution;
  try {
    execution = replayPath(target, path, plan, true, req.faultChoices === 'binary');
  } catch (e) {
    if (e instanceof PathMismatch) {
      throw new TdxsimError('TDXSIM_BAD_PATH', `--path ${req.path}: ${e.message.replace(/^--path /, '')}`);
    }
    throw e;
  }
  return { execution, scenario: p.scenario.name, path: req.path, faults: formatPlan(plan) };
}

/**
 * The counterexample of an exploration as a scenario file that `tdxsim run FILE` reproduces: the
 * explored steps (the first variant's appended), the machine as explored (platform inlined when
 * it came from a file), and a schedule of policy `explored` with the shrunk path, the fault plan,
 * the latency setting and the CPU count. The expected findings stay the scenario's own, so `run`
 * fails with the same finding while the bug is there. Undefined when there is no counterexample.
 */
export function counterexampleScenario(req: ExploreRequest, r: ExploreResult): ScenarioInput | undefined {
  const cx = r.details.counterexample;
  if (cx === undefined) {
    return undefined;
  }
  const sc = prepareRun(req).scenario;
  const platform = typeof sc.platform === 'string' && preset(sc.platform) === undefined ? (readJsonFile(sc.platform, 'platform') as Record<string, unknown>) : sc.platform;
  const binary = cx.exhaustiveFaults && cx.faultsArg !== 'none';
  return {
    name: sc.name,
    description: `Counterexample found by tdxsim explore (strategy ${r.details.strategy}, seed ${r.details.seed}): [${cx.finding.class}] ${cx.finding.message}`,
    platform,
    kernel: sc.kernel,
    ...(sc.module !== undefined ? { module: sc.module } : {}),
    ...(sc.kernelOverrides !== undefined ? { kernelOverrides: sc.kernelOverrides } : {}),
    seed: sc.seed,
    steps: [...sc.steps, ...(sc.variants[0]?.steps ?? [])],
    schedule: { policy: 'explored', path: cx.path, faults: cx.faultsArg, faultChoices: binary ? 'binary' : 'weighted', latency: req.latency ?? true, ...(req.cpus !== undefined ? { cpus: req.cpus } : {}) },
    expect: { findings: [...sc.expect.findings] },
  };
}
