/**
 * Library entry for running scenarios: resolve the scenario (file, embedded name or object),
 * the platform (preset, file or inline object) and the profiles; validate everything before
 * anything runs; then run. Bad input throws TdxsimError with a stable code and a message that
 * names the input, the place and the problem.
 */
import { KERNEL_OVERRIDE_NAMES } from '../scenario/kernelOverrides.js';
import { createKernelSession, kernelProfileNames } from '../scenario/kernelSession.js';
import { parsePath } from '../sim/choices/path.js';
import { resultOf, runScenario, ScenarioRun } from '../scenario/runScenario.js';
import { parsePlan } from '../explore/faults.js';
import type { FaultPlan } from '../explore/faults.js';
import { runExplored } from '../explore/replayRun.js';
import { PathMismatch } from '../sim/choices/ReplayChoices.js';
import type { RunObserver, RunOutcome, RunResult, StepProgress } from '../scenario/runScenario.js';
import type { Finding } from '../scenario/findings.js';
import { needsKernel, parseScenario } from '../scenario/scenario.js';
import type { Scenario } from '../scenario/scenario.js';
import { MetadataTable } from '../module/metadata.js';
import { namedScenario, scenarioNames } from '../scenario/scenarios/index.js';
import { preset, presetNames } from '../platform/presets.js';
import { parsePlatformSpec } from '../platform/spec.js';
import type { PlatformSpec } from '../platform/spec.js';
import { formatTimestamp } from '../base/dmesg.js';
import type { TraceEvent } from '../base/trace.js';
import { leafName } from '../module/leafNumbers.js';
import { leafStatusDisplay } from '../module/status.js';
import { TdxsimError } from './errors.js';
import { readInputFile } from './parse/input.js';
import { parseJsonWithPlace } from './parse/json.js';
import { checkKernelName, checkModuleName, closestName } from './profileNames.js';
import { stepValueProblems } from './stepValues.js';

/** What the caller asks for; every field optional. */
export interface RunRequest {
  /** Path of a scenario JSON file. */
  readonly file?: string;
  /** Name of an embedded scenario. */
  readonly scenario?: string;
  /** A scenario object (library use). */
  readonly scenarioObject?: unknown;
  /** Preset name or platform JSON file path overriding the scenario's platform. */
  readonly platform?: string;
  readonly kernel?: string;
  readonly module?: string;
  readonly seed?: number;
  /** Replay this choice path ("0.2.1"). */
  readonly path?: string;
  /** Run only this variant of a scenario that has several. */
  readonly variant?: string;
  /** Exploration-style scheduling (any interleaving). */
  readonly free?: boolean;
  readonly recordTrace?: number;
  /** Called before each step of each machine (progress for long runs). */
  readonly onStep?: (s: StepProgress) => void;
}

/** A scenario ready to run. */
export interface PreparedRun {
  readonly scenario: Scenario;
  readonly spec: PlatformSpec;
  readonly platformLabel: string;
  readonly path: number[] | undefined;
}

const MAX_INPUT_BYTES = 16 * 2 ** 20;

/** Read and parse a JSON file (`-`: stdin), with errors that name the file and the problem. */
export function readJsonFile(file: string, what: string): unknown {
  const name = file === '-' ? 'stdin' : file;
  const text = readInputFile(file, `${what} file`, MAX_INPUT_BYTES).toString('utf8');
  const r = parseJsonWithPlace(text);
  if (!r.ok) {
    throw new TdxsimError('TDXSIM_BAD_JSON', `${what} file ${name}: invalid JSON at ${r.place}: ${r.message.split('\n').join(' ')}`);
  }
  return r.value;
}

/** Resolve a platform given as preset name, file path or object. */
export function resolvePlatform(p: unknown, label: string): PlatformSpec {
  if (typeof p === 'string') {
    const pre = preset(p);
    if (pre !== undefined) {
      return pre;
    }
    if (p.endsWith('.json')) {
      return resolvePlatform(readJsonFile(p, 'platform'), p);
    }
    throw new TdxsimError('TDXSIM_UNKNOWN_PRESET', `${label}: unknown platform preset "${p}" (known: ${presetNames().join(', ')}; or give a .json file)`);
  }
  const r = parsePlatformSpec(p);
  if (!r.ok) {
    throw new TdxsimError('TDXSIM_BAD_PLATFORM', r.problems.map((x) => `${label}: ${x.path}: ${x.message}`).join('\n'));
  }
  // The same check as the server's machine.create: an unknown metadata field is refused everywhere.
  const bad = MetadataTable.checkOverrides(r.spec.tdxModule.overrides ?? {});
  if (bad.length > 0) {
    throw new TdxsimError('TDXSIM_BAD_PLATFORM', bad.map((b) => `${label}: tdxModule.overrides: ${b}`).join('\n'));
  }
  return r.spec;
}

/**
 * Unknown `kernelOverrides` names are refused before the schema sees them, naming the closest
 * known behaviour point (the schema would only say "unrecognized key").
 */
function checkOverrideNames(raw: unknown, label: string): void {
  const o = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)['kernelOverrides'] : undefined;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    return;
  }
  const bad = Object.keys(o).filter((k) => !KERNEL_OVERRIDE_NAMES.includes(k));
  if (bad.length > 0) {
    throw new TdxsimError(
      'TDXSIM_BAD_SCENARIO',
      bad.map((k) => `${label}: kernelOverrides.${k}: unknown kernel behaviour point${closestName(k, KERNEL_OVERRIDE_NAMES) !== undefined ? ` (did you mean "${closestName(k, KERNEL_OVERRIDE_NAMES) ?? ''}"?)` : ''}; known: ${KERNEL_OVERRIDE_NAMES.join(', ')}`).join('\n'),
    );
  }
}

/** Every CPU a step names exists on `spec` (also after `--cpus` or `schedule.cpus` resized it). */
export function checkStepCpus(sc: Scenario, spec: PlatformSpec, label: string): void {
  sc.steps.concat(sc.variants.flatMap((v) => v.steps)).forEach((s, i) => {
    const cpus = [...('cpu' in s && typeof s.cpu === 'number' ? [s.cpu] : []), ...('cpus' in s ? s.cpus : []), ...('lateRebootIpi' in s ? s.lateRebootIpi : [])];
    for (const c of cpus) {
      if (c >= spec.topology.packages * spec.topology.coresPerPackage * spec.topology.threadsPerCore) {
        throw new TdxsimError('TDXSIM_BAD_SCENARIO', `${label}: step ${i} (${s.op}): CPU ${c} does not exist on platform ${spec.name}${spec.topology.logicalCpus !== undefined ? ` resized to ${spec.topology.logicalCpus} CPUs` : ''}`);
      }
    }
  });
}

/** Validate a request into a runnable scenario; throws TdxsimError on bad input. */
export function prepareRun(req: RunRequest): PreparedRun {
  let raw: unknown;
  let label: string;
  if (req.file !== undefined && req.scenario !== undefined) {
    throw new TdxsimError('TDXSIM_BAD_ARGS', 'give either a scenario file or --scenario NAME, not both');
  }
  if (req.file !== undefined) {
    raw = readJsonFile(req.file, 'scenario');
    label = req.file;
  } else if (req.scenarioObject !== undefined) {
    raw = req.scenarioObject;
    label = 'scenario';
  } else {
    const name = req.scenario ?? 'default';
    raw = namedScenario(name);
    label = `scenario ${name}`;
    if (raw === undefined) {
      throw new TdxsimError('TDXSIM_UNKNOWN_SCENARIO', `unknown scenario "${name}" (known: ${scenarioNames().join(', ')})`);
    }
  }
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const o = { ...(raw as Record<string, unknown>) };
    if (req.platform !== undefined) {
      o['platform'] = req.platform;
    }
    if (req.kernel !== undefined) {
      o['kernel'] = req.kernel;
    }
    if (req.module !== undefined) {
      o['module'] = req.module;
    }
    if (req.seed !== undefined) {
      o['seed'] = req.seed;
    }
    raw = o;
  }
  checkOverrideNames(raw, label);
  const r = parseScenario(raw);
  const sc = r.scenario;
  if (sc === undefined) {
    throw new TdxsimError('TDXSIM_BAD_SCENARIO', (r.ok ? [] : r.problems).map((p) => `${label}: ${p.path}: ${p.message}`).join('\n'));
  }
  // Every problem at once: order rules, profile names, the platform, then step values.
  const errors: TdxsimError[] = r.ok ? [] : [new TdxsimError('TDXSIM_BAD_SCENARIO', r.problems.map((p) => `${label}: ${p.path}: ${p.message}`).join('\n'))];
  const collect = <T>(f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      if (e instanceof TdxsimError) {
        errors.push(e);
        return undefined;
      }
      throw e;
    }
  };
  if (req.variant !== undefined) {
    const v = sc.variants.find((x) => x.name === req.variant);
    if (v === undefined) {
      throw new TdxsimError('TDXSIM_BAD_ARGS', `--variant "${req.variant}": ${label} has ${sc.variants.length === 0 ? 'no variants' : `variants ${sc.variants.map((x) => x.name).join(', ')}`}`);
    }
    sc.variants = [v];
  }
  if (needsKernel(sc)) {
    if (!kernelProfileNames().includes(sc.kernel)) {
      sc.kernel = collect(() => checkKernelName(sc.kernel, `${label}: kernel`).name) ?? sc.kernel;
    }
    if (sc.module !== undefined) {
      const m = sc.module;
      sc.module = collect(() => checkModuleName(m, `${label}: module`).name) ?? m;
    }
  }
  const spec = collect(() => resolvePlatform(sc.platform, `${label}: platform`));
  const stepProblems = spec === undefined ? [] : stepValueProblems(sc, spec);
  if (stepProblems.length > 0) {
    errors.push(new TdxsimError('TDXSIM_BAD_SCENARIO', stepProblems.map((m) => `${label}: ${m}`).join('\n')));
  }
  const [first] = errors;
  if (first !== undefined) {
    // One kind of problem keeps its own code (TDXSIM_UNKNOWN_PRESET, ...); several are a bad scenario.
    throw errors.length === 1 ? first : new TdxsimError('TDXSIM_BAD_SCENARIO', errors.map((e) => e.message).join('\n'));
  }
  if (spec === undefined) {
    throw new TdxsimError('TDXSIM_BAD_SCENARIO', `${label}: platform: not resolved`);
  }
  checkStepCpus(sc, spec, label);
  let path: number[] | undefined;
  if (req.path !== undefined) {
    path = parsePath(req.path);
    if (path === undefined) {
      throw new TdxsimError('TDXSIM_BAD_PATH', `--path "${req.path}": expected dot-separated choice indices such as 0.2.1`);
    }
  }
  return { scenario: sc, spec, platformLabel: typeof sc.platform === 'string' ? sc.platform : spec.name, path };
}

/** Run a prepared scenario. */
export function runPrepared(p: PreparedRun, req: Pick<RunRequest, 'free' | 'recordTrace' | 'onStep'> & { readonly observer?: RunObserver } = {}): RunResult {
  const sched = p.scenario.schedule;
  if (sched.policy === 'explored') {
    return runExploredScenario(p, req.recordTrace, req.observer, req.onStep);
  }
  const path = p.path ?? (sched.policy === 'free' && sched.path !== '' ? parsePath(sched.path) : undefined);
  return runScenario(
    p.scenario,
    p.spec,
    {
      policy: req.free === true || sched.policy === 'free' ? 'free' : 'timed',
      ...(path !== undefined ? { path } : {}),
      ...(req.recordTrace !== undefined ? { recordTrace: req.recordTrace } : {}),
      ...(req.observer !== undefined ? { observer: req.observer } : {}),
      ...(req.onStep !== undefined ? { onStep: req.onStep } : {}),
    },
    needsKernel(p.scenario) ? createKernelSession : undefined,
  );
}

/**
 * The SEAMCALLs of a run's recorded trace, one line each: time as dmesg prints it, CPU, leaf and
 * status (`[    0.028267] CPU 1 TDH.VP.FLUSH -> TDX_SUCCESS`); a SEAMCALL that faulted (#UD,
 * #GP, VMfailInvalid) says so. Only what the recorder kept (RunRequest.recordTrace events).
 */
export function seamcallLines(trace: readonly unknown[]): string[] {
  const out: string[] = [];
  for (const x of trace as readonly TraceEvent[]) {
    if (x.kind === 'seamcall.exit') {
      out.push(`${formatTimestamp(x.t)} CPU ${x.cpu} ${leafName(x.leaf)} -> ${leafStatusDisplay(x.leaf, x.status)}`);
    } else if (x.kind === 'seamcall.fault') {
      out.push(`${formatTimestamp(x.t)} CPU ${x.cpu} ${leafName(x.leaf)} -> ${x.fault === 'VMFAILINVALID' ? 'VMfailInvalid' : `#${x.fault}`}`);
    }
  }
  return out;
}

/**
 * Validate and run. A `path` that the run does not use up is bad input (TDXSIM_BAD_PATH).
 * `observer` watches the runs (the report draws them); it does not change what runs.
 */
export function run(req: RunRequest, observer?: RunObserver): RunResult {
  const p = prepareRun(req);
  const r = runPrepared(p, { ...req, ...(observer !== undefined ? { observer } : {}) });
  if (p.path !== undefined && p.path.length > 0) {
    const used = Math.max(...r.runs.map((x) => (x.path === '' ? 0 : x.path.split('.').length)));
    if (used < p.path.length) {
      throw new TdxsimError('TDXSIM_BAD_PATH', `--path ${req.path ?? ''}: does not fit this scenario: it has ${p.path.length} choices but the run made only ${used}; was it recorded with other options (--platform, --kernel, --module, --seed, --variant)?`);
    }
  }
  return r;
}

/** Resize the platform to `cpus` logical CPUs (keeping packages when they divide evenly). */
export function withCpus(spec: PlatformSpec, cpus: number): PlatformSpec {
  if (cpus < 1 || cpus > 4096) {
    throw new TdxsimError('TDXSIM_BAD_ARGS', `--cpus ${cpus}: expected 1..4096`);
  }
  const pk = spec.topology.packages;
  const topology = cpus % pk === 0 ? { ...spec.topology, coresPerPackage: cpus / pk, threadsPerCore: 1, logicalCpus: undefined, offlineAtBoot: [] } : { ...spec.topology, packages: 1, coresPerPackage: cpus, threadsPerCore: 1, logicalCpus: undefined, offlineAtBoot: [] };
  return { ...spec, topology: { ...topology, logicalCpus: cpus } };
}

/** Parse a schedule's or `--faults` fault plan; bad input names where it came from. */
export function faultPlanOf(faults: string, where: string): FaultPlan {
  const plan = parsePlan(faults);
  if (typeof plan === 'string') {
    throw new TdxsimError('TDXSIM_BAD_FAULTS', `${where}: ${plan}`);
  }
  return plan;
}

/**
 * A scenario whose schedule is `explored` (a counterexample saved by `explore
 * --save-counterexample`): one execution exactly as explore and replay run it.
 */
function runExploredScenario(p: PreparedRun, recordTrace: number | undefined, observer?: RunObserver, onStep?: (s: StepProgress) => void): RunResult {
  const sc = p.scenario;
  const sched = sc.schedule;
  const path = p.path ?? parsePath(sched.path) ?? [];
  const plan = faultPlanOf(sched.faults, `${sc.name}: schedule.faults`);
  const spec = sched.cpus === undefined ? p.spec : withCpus(p.spec, sched.cpus);
  checkStepCpus(sc, spec, `${sc.name}: schedule.cpus`);
  const run = new ScenarioRun(sc, spec, { policy: 'timed', recordTrace: recordTrace ?? 5000 }, needsKernel(sc) ? createKernelSession : undefined);
  const name = sc.variants[0]?.name ?? sc.name;
  const count = sc.steps.length + (sc.variants[0]?.steps.length ?? 0);
  // The report watches this execution as it watches any run (RunObserver), progress sees each step.
  observer?.started?.(run, name);
  try {
    runExplored(run, {
      path,
      plan,
      exhaustiveFaults: sched.faultChoices === 'binary',
      latency: sched.latency,
      observer: {
        beforeStep: (_r, index, step) => onStep?.({ run: name, index, count, op: step.op }),
        afterStep: (r, index, step) => observer?.afterStep?.(r, name, index, step),
      },
    });
  } catch (e) {
    if (e instanceof PathMismatch) {
      throw new TdxsimError('TDXSIM_BAD_PATH', `${sc.name}: schedule.path: ${e.message.replace(/^--path /, '')}`);
    }
    throw e;
  }
  const outcome = run.outcome(name, path);
  observer?.finished?.(run, outcome);
  return resultOf(sc, [outcome]);
}

/** One machine (the scenario, or one variant) in the `run --json` form. */
export interface RunJsonMachine {
  readonly name: string;
  readonly path: string;
  readonly traceHash: string;
  readonly dmesg: readonly string[];
  readonly notes: readonly string[];
  readonly findings: readonly Finding[];
  readonly stats: RunOutcome['stats'];
  /** The timeline's marks as data. */
  readonly timeline: RunOutcome['timelineEvents'];
  /** With `seamcalls`: one line per SEAMCALL (`tdxsim run --seamcalls`). */
  readonly seamcalls?: readonly string[];
}

/**
 * What `tdxsim run --json` prints. The top-level `dmesg`, `stats` and `notes` are the one
 * machine's when the scenario has one; with variants, `dmesg` and `notes` are every variant's in
 * order and `stats` is keyed by variant name (each variant's own are in `runs`).
 */
export interface RunJson {
  readonly scenario: string;
  /** The kernel profile, with the scenario's kernelOverrides if any. */
  readonly kernel: string;
  readonly verdict: RunResult['verdict'];
  readonly seed: number;
  readonly expected: RunResult['expected'];
  readonly dmesg: readonly string[];
  readonly findings: readonly Finding[];
  readonly stats: RunOutcome['stats'] | Record<string, RunOutcome['stats']>;
  readonly notes: readonly string[];
  readonly runs: readonly RunJsonMachine[];
}

/**
 * The `run --json` form of a run result: the same object the CLI prints, so a program can move
 * between the library and the CLI (`runJson(run(req))` equals `JSON.parse` of `tdxsim run --json`).
 * It leaves out what only the library keeps: formatted dmesg, the text timeline and trace events.
 */
export function runJson(r: RunResult, opts: { readonly seamcalls?: boolean } = {}): RunJson {
  const one = r.runs.length === 1 ? r.runs[0] : undefined;
  return {
    scenario: r.scenario,
    kernel: r.kernel,
    verdict: r.verdict,
    seed: r.seed,
    expected: r.expected,
    dmesg: one?.dmesg ?? r.runs.flatMap((x) => x.dmesg),
    findings: r.findings,
    stats: one?.stats ?? Object.fromEntries(r.runs.map((x) => [x.name, x.stats])),
    notes: one?.notes ?? r.runs.flatMap((x) => x.notes),
    runs: r.runs.map((x) => ({ name: x.name, path: x.path, traceHash: x.traceHash, dmesg: x.dmesg, notes: x.notes, findings: x.findings, stats: x.stats, timeline: x.timelineEvents, ...(opts.seamcalls === true ? { seamcalls: seamcallLines(x.trace) } : {}) })),
  };
}
