/**
 * The report model: everything the HTML report shows, as plain JSON. The report draws an
 * execution the way `run` or `replay` judges it: the same code path runs it (`run()` for a
 * scenario, with its fixed schedule or `--path`; `replayScenario()` for an explored schedule,
 * with `--faults`/`--cpus`; an `explore` result file names its counterexample), and a
 * RunObserver watches from outside, recording the trace and cache snapshots. The verdict and the
 * exit code are therefore the ones `run` (or `replay`) gives.
 */
import { ModelBug } from '../base/assert.js';
import { LINE_SIZE } from '../base/ids.js';
import type { TraceEvent } from '../base/trace.js';
import type { Finding } from '../scenario/findings.js';
import type { RunOutcome, ScenarioRun } from '../scenario/runScenario.js';
import { needsKernel } from '../scenario/scenario.js';
import { namedScenario } from '../scenario/scenarios/index.js';
import { PathMismatch } from '../sim/choices/ReplayChoices.js';
import { timelineOf, withCauseMarks } from '../scenario/timeline.js';
import type { TimelineEvent } from '../scenario/timeline.js';
import { TdxsimError } from './errors.js';
import { replayScenario } from './explore.js';
import type { TargetObserver } from './explore.js';
import { prepareRun, readJsonFile, run } from './run.js';
import type { RunRequest } from './run.js';
import { machineArgs, runReplayCommand, shellCommand } from './shell.js';

/** A region on the memory map. */
export interface MapRegion {
  readonly base: number;
  readonly end: number;
  readonly label: string;
}

/** One lane of the memory map (CMRs, e820, TDMRs...). */
export interface MapLane {
  readonly name: string;
  readonly kind: string;
  readonly regions: MapRegion[];
}

/** One dirty cache range: lines [base, end) in bytes, cached through `keyId`. */
export interface DirtyRange {
  readonly keyId: number;
  readonly base: number;
  readonly end: number;
  readonly writer: string;
}

/** Dirty lines of every CPU at one moment, by address and KeyID. */
export interface CacheMoment {
  readonly label: string;
  readonly t: number;
  readonly cpus: { readonly cpu: number; readonly lines: number; readonly ranges: DirtyRange[]; readonly moreRanges: number }[];
}

/** An IPI or NMI from its sender to its receiver (delivery time `t1`). */
export interface ChartArrow {
  readonly t0: number;
  readonly t1: number;
  readonly from: number;
  readonly to: number;
  readonly nmi: boolean;
  readonly vector: string;
}

/** A stretch of time run by one kernel, relocate_kernel or purgatory. */
export interface Epoch {
  readonly t0: number;
  readonly t1: number;
  readonly label: string;
}

/** A finding with what the page needs to point at it. */
export interface ReportFinding {
  readonly class: string;
  readonly message: string;
  readonly replay: string;
  readonly t: number;
  /** The CPU it is about (null when none). */
  readonly cpu: number | null;
  /** Memory it concerns (the lines written back over newer data), in bytes. */
  readonly ranges: { readonly base: number; readonly end: number }[];
  /** Times of its stale write-backs (the chart marks them). */
  readonly writebacks: number[];
}

/** One execution as drawn: chart, memory map, caches, findings, dmesg. */
export interface ExecutionModel {
  /** "scenario's schedule", "counterexample", "default schedule". */
  readonly name: string;
  /** How it was scheduled, in words (and the path). */
  readonly schedule: string;
  readonly verdict: 'pass' | 'fail';
  readonly cpus: { readonly cpu: number; readonly pkg: number }[];
  readonly events: TimelineEvent[];
  readonly arrows: ChartArrow[];
  readonly epochs: Epoch[];
  readonly jumps: number[];
  readonly tEnd: number;
  readonly caches: CacheMoment[];
  readonly findings: ReportFinding[];
  readonly memory: { readonly lanes: MapLane[]; readonly maxAddr: number };
  readonly dmesg: string[];
}

/** The first place two executions differ (timeline event index and what each did there). */
export interface Divergence {
  readonly index: number;
  readonly mainT: number;
  readonly otherT: number;
  readonly main: string;
  readonly other: string;
}

/** Everything the report renders. */
export interface ReportModel {
  readonly title: string;
  readonly scenario: string;
  readonly description: string;
  readonly seed: number;
  readonly variant: string | null;
  readonly platform: { readonly name: string; readonly cpuModel: string; readonly cpus: number; readonly packages: number; readonly overridden: boolean };
  readonly kernel: string | null;
  readonly module: string | null;
  /** The verdict `run` (or `replay`) gives, and the same in words. */
  readonly verdict: 'pass' | 'fail';
  readonly verdictText: string;
  readonly main: ExecutionModel;
  /** Another schedule of the same scenario, side by side, with the first divergence. */
  readonly compare?: { readonly other: ExecutionModel; readonly divergence: Divergence | null };
}

/** What `report` is asked to draw. */
export interface ReportRequest extends RunRequest {
  /**
   * Draw an explored schedule the way `replay` runs it (prefix on the timed scheduler, the rest
   * with `path` on the free one, with faults and interrupt-latency choices).
   */
  readonly replay?: { readonly faults?: string; readonly faultChoices?: 'binary' | 'weighted'; readonly cpus?: number; readonly latency?: boolean };
  /** An `explore` result (or shard) file: draw its counterexample next to the default schedule. */
  readonly exploreResult?: string;
  /** Draw this other choice path of the same scenario next to the main one. */
  readonly comparePath?: string;
}

/**
 * The trace events the chart is drawn from (timelineOf, arrowsOf, epochsOf); the rest (memory
 * writes, ordinary write-backs: millions on a large host) are not kept.
 */
const DRAWN_KINDS: ReadonlySet<TraceEvent['kind']> = new Set(['seamcall.exit', 'seamcall.fault', 'ipi.send', 'ipi.deliver', 'cache.flush', 'cache.writeback', 'cpu.halt', 'cpu.wake', 'mem.poison', 'mark']);
/** Most trace events kept for a report. */
const MAX_DRAWN_EVENTS = 2_000_000;
/**
 * The events withCauseMarks needs (SEAMCALL entries and exits, cached stores, stale write-backs),
 * kept in a ring of this many: the last ones, where the stores before a kexec are.
 */
const MAX_CAUSE_EVENTS = 500_000;
/** Cache snapshots taken at WBINVDs, NMIs and stale write-backs (steps and kexec marks always get theirs). */
const MAX_EVENT_MOMENTS = 120;
/** Dirty ranges listed per CPU and moment. */
const MAX_RANGES_PER_CPU = 64;
/** Regions per memory-map lane. */
const MAX_LANE_REGIONS = 5000;
/**
 * purgatory() then early boot on the jumping CPU, 0.5 ms each, before the new kernel proper.
 * @see src/scenario/kernelSession.ts purgatory()
 */
const PURGATORY_NS = 1_000_000;
/** The `explore --out` result format. @see src/cli/commands/explore.ts SHARD_FORMAT */
const EXPLORE_FORMAT = 'tdxsim-explore/1';

function cacheMoment(run: ScenarioRun, label: string, t: number): CacheMoment {
  const cpus: CacheMoment['cpus'][number][] = [];
  for (const c of run.platform.cpus) {
    const dirty = c.cache.dirtyRanges().sort((a, b) => a.start - b.start || a.key - b.key);
    if (dirty.length === 0) {
      continue;
    }
    const lines = dirty.reduce((n, r) => n + (r.end - r.start), 0);
    const ranges = dirty.slice(0, MAX_RANGES_PER_CPU).map((r) => ({ keyId: r.key, base: r.start * LINE_SIZE, end: r.end * LINE_SIZE, writer: r.seg.writer }));
    cpus.push({ cpu: c.id as number, lines, ranges, moreRanges: dirty.length - ranges.length });
  }
  return { label, t, cpus };
}

function platformLanes(run: ScenarioRun): MapLane[] {
  const spec = run.platform.spec;
  const lanes: MapLane[] = [
    { name: 'e820', kind: 'e820', regions: spec.memory.e820.map((e) => ({ base: e.base, end: e.base + e.size, label: e.type })) },
    { name: 'NUMA nodes', kind: 'node', regions: spec.memory.nodes.map((n) => ({ base: n.base, end: n.base + n.size, label: `node ${n.node}` })) },
    { name: 'CMRs', kind: 'cmr', regions: spec.cmrs.filter((c) => c.size > 0).map((c, i) => ({ base: c.base, end: c.base + c.size, label: `CMR ${i}` })) },
    { name: 'SEAMRR', kind: 'seamrr', regions: spec.seamrr.size > 0 ? [{ base: spec.seamrr.base, end: spec.seamrr.base + spec.seamrr.size, label: 'SEAMRR' }] : [] },
  ];
  // TD-owned memory, as the memory controller sees it (integrity owner per line), and memory a
  // kernel started by kexec or kdump wrote ("kernel#1" and later).
  const owned: MapRegion[] = [];
  const later: MapRegion[] = [];
  for (const iv of run.platform.memory.lines.entries()) {
    if (iv.value.td) {
      owned.push({ base: iv.start * LINE_SIZE, end: iv.end * LINE_SIZE, label: `KeyID ${iv.value.key} (${iv.value.writer})` });
    }
    if (/^kernel#[1-9]/.test(iv.value.writer)) {
      const last = later[later.length - 1];
      if (last !== undefined && last.end === iv.start * LINE_SIZE && last.label === `written by ${iv.value.writer}`) {
        (last as { end: number }).end = iv.end * LINE_SIZE;
      } else {
        later.push({ base: iv.start * LINE_SIZE, end: iv.end * LINE_SIZE, label: `written by ${iv.value.writer}` });
      }
    }
  }
  lanes.push({ name: 'TD-owned lines', kind: 'private', regions: owned.slice(0, MAX_LANE_REGIONS) });
  if (later.length > 0) {
    lanes.push({ name: 'next kernel memory', kind: 'newkernel', regions: later.slice(0, MAX_LANE_REGIONS) });
  }
  return lanes;
}

/** Stale write-backs: memory a stale alias overwrote (what a corruption finding is about). */
function overwrittenLane(run: ScenarioRun): MapLane {
  return {
    name: 'overwritten (stale write-back)',
    kind: 'overwritten',
    regions: run.platform.staleWritebacks.slice(0, MAX_LANE_REGIONS).map((w) => ({
      base: w.lineStart * LINE_SIZE,
      end: w.lineEnd * LINE_SIZE,
      label: `KeyID ${w.key} (${w.staleWriter}) from CPU ${w.cpu} over KeyID ${w.overwrittenKey} (${w.overwrittenWriter})`,
    })),
  };
}

/** Sender-to-receiver arrows: each delivery matched with the oldest pending send to that CPU. */
export function arrowsOf(events: readonly TraceEvent[]): ChartArrow[] {
  const pending = new Map<string, { t: number; from: number }[]>();
  const out: ChartArrow[] = [];
  for (const e of events) {
    if (e.kind === 'ipi.send') {
      const k = `${e.to}|${e.vector}`;
      const q = pending.get(k) ?? [];
      q.push({ t: e.t, from: e.cpu });
      pending.set(k, q);
    } else if (e.kind === 'ipi.deliver') {
      const s = pending.get(`${e.cpu}|${e.vector}`)?.shift();
      if (s !== undefined) {
        out.push({ t0: s.t, t1: e.t, from: s.from, to: e.cpu, nmi: e.nmi, vector: e.vector });
      }
    }
  }
  return out;
}

/** Kernel epochs from the kexec marks: old kernel, relocate_kernel, purgatory, new kernel. */
export function epochsOf(events: readonly TraceEvent[], tEnd: number, firstKernel: string): Epoch[] {
  const out: Epoch[] = [];
  let start = 0;
  let label = firstKernel;
  let generation = 0;
  let crash = false;
  const close = (t: number, next: string): void => {
    if (t > start) {
      out.push({ t0: start, t1: t, label });
    }
    start = t;
    label = next;
  };
  for (const e of events) {
    if (e.kind !== 'mark') {
      continue;
    }
    if (e.label === 'crash') {
      crash = true;
    } else if (e.label === 'relocate_kernel') {
      close(e.t, 'relocate_kernel, swap_pages');
    } else if (e.label === 'kexec jump') {
      generation++;
      close(e.t, 'purgatory, early boot');
      close(Math.min(tEnd, e.t + PURGATORY_NS), crash ? 'crash kernel' : `new kernel (kernel#${generation})`);
      crash = false;
    }
  }
  close(Math.max(tEnd, start), '');
  return out;
}

function findingCpu(f: Finding): number | null {
  const c = f.details['cpu'] ?? f.details['fromCpu'];
  return typeof c === 'number' ? c : null;
}

function reportFinding(f: Finding, run: ScenarioRun, replay: string): ReportFinding {
  let ranges: { base: number; end: number }[] = [];
  let writebacks: number[] = [];
  const d = f.details;
  if (f.class === 'silent-corruption') {
    // The same grouping as the corruption checker: CPU, stale KeyID and writer, overwritten KeyID and writer, cause.
    const mine = run.platform.staleWritebacks.filter((w) => w.cpu === d['fromCpu'] && w.key === d['staleKeyId'] && w.staleWriter === d['staleWriter'] && w.overwrittenKey === d['overwrittenKeyId'] && w.overwrittenWriter === d['overwrittenWriter'] && w.cause === d['cause']);
    ranges = mine.slice(0, 200).map((w) => ({ base: w.lineStart * LINE_SIZE, end: w.lineEnd * LINE_SIZE }));
    writebacks = [...new Set(mine.map((w) => w.t))].slice(0, 200);
  } else if (typeof d['pa'] === 'string' && /^0x[0-9a-f]+$/i.test(d['pa'])) {
    const base = parseInt(d['pa'], 16);
    ranges = [{ base, end: base + (typeof d['lines'] === 'number' ? d['lines'] : 1) * LINE_SIZE }];
  }
  return { class: f.class, message: f.message, replay, t: f.t, cpu: findingCpu(f), ranges, writebacks };
}

/** Watches one machine's run for the report: cache moments at steps and at the trace's turning points. */
class Recorder implements TargetObserver {
  readonly caches: CacheMoment[] = [];
  /** The trace events the page draws, from the start (the tracer's own ring keeps only the last ones). */
  readonly events: TraceEvent[] = [];
  /** A ring of the events that locate where stale lines were dirtied (see MAX_CAUSE_EVENTS). */
  private readonly causeRing: TraceEvent[] = [];
  private causeStart = 0;
  run: ScenarioRun | undefined;
  outcome: RunOutcome | undefined;
  /** Time of the last trace event seen (of any kind). */
  lastT = 0;
  private eventMoments = 0;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly only?: string) {}

  private now(run: ScenarioRun): number {
    return Math.max(run.sched.now, this.lastT);
  }

  private listen(run: ScenarioRun): void {
    this.run = run;
    this.unsubscribe = run.platform.tracer.subscribe((e) => {
      this.lastT = Math.max(this.lastT, e.t);
      if (DRAWN_KINDS.has(e.kind) && (e.kind !== 'cache.writeback' || e.stale) && this.events.length < MAX_DRAWN_EVENTS) {
        this.events.push(e);
      }
      if (e.kind === 'seamcall.enter' || e.kind === 'seamcall.exit' || e.kind === 'seamcall.fault' || (e.kind === 'mem.write' && (e.op === 'store' || e.op === 'store-fill')) || (e.kind === 'cache.writeback' && e.stale)) {
        this.keepForCauses(e);
      }
      const label = momentLabel(e);
      // The kexec path's marks always get theirs; WBINVDs, NMIs and write-backs up to a cap.
      const mark = e.kind === 'mark' && ['kexec', 'crash', 'relocate_kernel', 'kexec jump'].includes(e.label);
      if (label !== undefined && (mark || this.eventMoments < MAX_EVENT_MOMENTS)) {
        this.eventMoments += mark ? 0 : 1;
        this.caches.push(cacheMoment(run, label, e.t));
      }
    });
  }

  private keepForCauses(e: TraceEvent): void {
    if (this.causeRing.length < MAX_CAUSE_EVENTS) {
      this.causeRing.push(e);
    } else {
      this.causeRing[this.causeStart] = e;
      this.causeStart = (this.causeStart + 1) % MAX_CAUSE_EVENTS;
    }
  }

  /** The kept cause events, oldest first. */
  causeEvents(): TraceEvent[] {
    return [...this.causeRing.slice(this.causeStart), ...this.causeRing.slice(0, this.causeStart)];
  }

  started(run: ScenarioRun, name: string): void {
    if (this.only !== undefined && name !== this.only) {
      return;
    }
    this.caches.push(cacheMoment(run, 'start', 0));
    this.listen(run);
  }

  afterStep(run: ScenarioRun, _name: string, index: number, step: { op: string }): void {
    if (run === this.run) {
      this.caches.push(cacheMoment(run, `after step ${index}: ${step.op}`, this.now(run)));
    }
  }

  paused(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  resumed(run: ScenarioRun): void {
    this.listen(run);
  }

  finished(run: ScenarioRun, outcome: RunOutcome): void {
    if (run === this.run) {
      this.paused();
      this.outcome = outcome;
    }
  }
}

/** The moments worth a cache snapshot: the kexec path's marks, WBINVDs, NMIs, stale write-backs. */
function momentLabel(e: TraceEvent): string | undefined {
  switch (e.kind) {
    case 'mark':
      if (e.label === 'relocate_kernel') {
        return `just before the jump (relocate_kernel on CPU ${e.cpu})`;
      }
      return ['kexec', 'crash', 'kexec jump', 'stop_this_cpu', 'crash_nmi_callback'].includes(e.label) ? `${e.label} on CPU ${e.cpu}` : undefined;
    case 'cache.flush':
      return `${e.op.toUpperCase()} on CPU ${e.cpu}`;
    case 'ipi.deliver':
      return e.nmi ? `NMI taken on CPU ${e.cpu}` : undefined;
    case 'cache.writeback':
      return e.stale ? `stale write-back from CPU ${e.cpu}` : undefined;
    default:
      return undefined;
  }
}

function executionModel(rec: Recorder, name: string, schedule: string, verdict: 'pass' | 'fail', firstKernel: string, replayOf: (f: Finding) => string): ExecutionModel {
  const run = rec.run;
  const outcome = rec.outcome;
  if (run === undefined || outcome === undefined) {
    throw new ModelBug(`report: ${name}: the run was not observed to its end`);
  }
  const trace = rec.events;
  // The chart's marks, plus where each stale line was dirtied (CPU 0's last SEAMCALL dirtying a TDR line...).
  const events = withCauseMarks(timelineOf(trace), rec.causeEvents(), run.pageDescriber());
  const tEnd = events.reduce((m, e) => Math.max(m, e.end ?? e.t), Math.max(run.sched.now, rec.lastT));
  const lanes = [...platformLanes(run), ...(run.kernel?.memoryLanes?.() ?? []), overwrittenLane(run)];
  let maxAddr = 1;
  for (const l of lanes) {
    for (const r of l.regions) {
      maxAddr = Math.max(maxAddr, r.end);
    }
  }
  return {
    name,
    schedule,
    verdict,
    cpus: run.platform.cpus.map((c) => ({ cpu: c.id as number, pkg: c.packageId as number })),
    events,
    arrows: arrowsOf(trace),
    epochs: epochsOf(trace, tEnd, firstKernel),
    jumps: trace.filter((e) => e.kind === 'mark' && e.label === 'kexec jump').map((e) => e.t),
    tEnd,
    caches: rec.caches.sort((a, b) => a.t - b.t),
    findings: outcome.findings.map((f) => reportFinding(f, run, replayOf(f))),
    memory: { lanes, maxAddr },
    dmesg: outcome.dmesgFormatted,
  };
}

/** The first timeline event where two executions differ (by CPU and what it did; not by time). */
export function firstDivergence(a: readonly TimelineEvent[], b: readonly TimelineEvent[]): Divergence | null {
  const key = (e: TimelineEvent): string => `CPU ${e.cpu}: ${e.label}`;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i] as TimelineEvent;
    const y = b[i] as TimelineEvent;
    if (key(x) !== key(y)) {
      return { index: i, mainT: x.t, otherT: y.t, main: key(x), other: key(y) };
    }
  }
  if (a.length === b.length) {
    return null;
  }
  const x = a[n];
  const y = b[n];
  return { index: n, mainT: x?.t ?? (a[n - 1]?.t ?? 0), otherT: y?.t ?? (b[n - 1]?.t ?? 0), main: x === undefined ? '(ends)' : key(x), other: y === undefined ? '(ends)' : key(y) };
}

/** What an explore result file says about its campaign and counterexample. */
interface ExploreFile {
  readonly req: ReportRequest;
  readonly path: string | undefined;
  readonly faults: string;
  readonly binary: boolean;
}

function readExploreResult(file: string): ExploreFile {
  const j = readJsonFile(file, 'explore result');
  const o = typeof j === 'object' && j !== null ? (j as Record<string, unknown>) : {};
  if (o['format'] !== EXPLORE_FORMAT || typeof o['campaign'] !== 'string') {
    throw new TdxsimError('TDXSIM_BAD_ARGS', `explore result file ${file}: not an explore result (expected "format": "${EXPLORE_FORMAT}", written by explore --out)`);
  }
  let c: unknown;
  try {
    c = JSON.parse(o['campaign']);
  } catch {
    c = undefined;
  }
  // [scenario, platform, kernel, module, cpus, strategy, seed, faults, latency, ...] (src/api/explore.ts campaign)
  if (!Array.isArray(c) || typeof c[0] !== 'string' || typeof c[6] !== 'number') {
    throw new TdxsimError('TDXSIM_BAD_ARGS', `explore result file ${file}: "campaign" is not one explore wrote`);
  }
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const src = c[0] as string;
  const cx = o['counterexample'] as Record<string, unknown> | undefined;
  const req: ReportRequest = {
    ...(src.endsWith('.json') || namedScenario(src) === undefined ? { file: src } : { scenario: src }),
    ...(str(c[1]) !== undefined ? { platform: str(c[1]) } : {}),
    ...(str(c[2]) !== undefined ? { kernel: str(c[2]) } : {}),
    ...(str(c[3]) !== undefined ? { module: str(c[3]) } : {}),
    seed: c[6] as number,
    replay: { ...(typeof c[4] === 'number' ? { cpus: c[4] } : {}), latency: c[8] !== false },
  };
  return {
    req,
    path: cx !== undefined && typeof cx['path'] === 'string' ? cx['path'] : undefined,
    faults: cx !== undefined && typeof cx['faultsArg'] === 'string' ? cx['faultsArg'] : 'none',
    binary: cx !== undefined && cx['exhaustiveFaults'] === true,
  };
}

/** The `tdxsim replay` command for an explored schedule. */
function replayCommand(req: ReportRequest, name: string, seed: number, path: string): string {
  const r = req.replay ?? {};
  return shellCommand([
    'tdxsim',
    'replay',
    req.file ?? req.scenario ?? name,
    '--seed',
    String(seed),
    '--path',
    path,
    ...(r.faults !== undefined && r.faults !== 'none' ? ['--faults', r.faults] : []),
    ...(r.faultChoices === 'binary' ? ['--fault-choices', 'binary'] : []),
    ...(r.cpus !== undefined ? ['--cpus', String(r.cpus)] : []),
    ...machineArgs(req),
    ...(r.latency === false ? ['--no-latency'] : []),
  ]);
}

interface Drawn {
  readonly model: ExecutionModel;
  readonly verdict: 'pass' | 'fail';
  readonly verdictText: string;
  readonly variant: string | null;
}

/** Run with `run()` (the scenario's schedule, or `path`) and draw one of its machines. */
function drawRun(req: ReportRequest, name: string, firstKernel: string): Drawn {
  const recorders = new Map<string, Recorder>();
  const observer = {
    started(r: ScenarioRun, runName: string): void {
      const rec = new Recorder();
      recorders.set(runName, rec);
      rec.started(r, runName);
    },
    afterStep(r: ScenarioRun, runName: string, i: number, s: { op: string }): void {
      recorders.get(runName)?.afterStep(r, runName, i, s);
    },
    finished(r: ScenarioRun, out: RunOutcome): void {
      recorders.get(out.name)?.finished(r, out);
    },
  };
  let res: ReturnType<typeof run>;
  try {
    res = run({ ...req, recordTrace: 0 }, observer);
  } catch (e) {
    if ((e instanceof TdxsimError || e instanceof PathMismatch) && e.code === 'TDXSIM_BAD_PATH' && req.path !== undefined) {
      throw new TdxsimError('TDXSIM_BAD_PATH', `${e instanceof PathMismatch ? `--path ${req.path}: ${e.message.replace(/^--path /, '')}` : e.message} (a path printed by explore or replay is drawn with --replay)`);
    }
    throw e;
  }
  // The variant drawn: the one asked for, else the first whose run has findings, else the first.
  const shown = res.runs.find((r) => r.name === req.variant) ?? res.runs.find((r) => r.findings.length > 0) ?? (res.runs[0] as RunOutcome);
  const rec = recorders.get(shown.name) as Recorder;
  const multi = res.runs.length > 1 || req.variant !== undefined;
  const sched = req.path !== undefined ? `choice path ${req.path === '' ? '(empty)' : req.path}` : 'the scenario\'s schedule';
  const got = [...new Set(res.findings.map((f) => f.class))].sort();
  const verdictText = `verdict ${res.verdict} (expected: ${res.expected.length === 0 ? 'none' : res.expected.join(', ')}; found: ${got.length === 0 ? 'none' : got.join(', ')})`;
  const model = executionModel(rec, name, sched, shown.findings.length > 0 ? 'fail' : 'pass', firstKernel, (f) => runReplayCommand(req, res.scenario, multi ? shown.name : undefined, f.seed, f.path));
  return { model, verdict: res.verdict, verdictText, variant: multi ? shown.name : null };
}

/** Replay an explored schedule with `replayScenario()` and draw it. */
function drawReplay(req: ReportRequest, path: string, name: string, firstKernel: string): Drawn {
  const r = req.replay ?? {};
  const rec = new Recorder();
  const res = replayScenario(
    {
      ...req,
      path,
      ...(r.faults !== undefined ? { faults: r.faults } : {}),
      ...(r.faultChoices !== undefined ? { faultChoices: r.faultChoices } : {}),
      ...(r.cpus !== undefined ? { cpus: r.cpus } : {}),
      ...(r.latency !== undefined ? { latency: r.latency } : {}),
    },
    { observer: rec, recordTrace: 0 },
  );
  const n = res.execution.findings.length;
  const seed = rec.run?.scenario.seed ?? 0;
  if (rec.outcome === undefined && rec.run !== undefined) {
    // The execution stopped at a model assertion (a model-bug finding): draw it up to there.
    rec.outcome = { ...rec.run.outcome(res.scenario, []), findings: [...res.execution.findings] };
  }
  const model = executionModel(rec, name, `explored schedule: path ${path === '' ? '(empty)' : path}, faults ${res.faults}`, n > 0 ? 'fail' : 'pass', firstKernel, () => replayCommand(req, res.scenario, seed, path));
  return { model, verdict: n > 0 ? 'fail' : 'pass', verdictText: n > 0 ? `replay: ${n} finding(s)` : 'replay: no findings', variant: null };
}

/** The result of `buildReport`: the model, and the verdict `run` (or `replay`) gives. */
export interface ReportResult {
  readonly model: ReportModel;
  readonly verdict: 'pass' | 'fail';
}

/**
 * Build the report of a scenario run, an explored schedule (`replay`), or an explore result's
 * counterexample (with the default schedule next to it).
 * @throws TdxsimError for bad input, as `run` and `replay` do
 */
export function buildReport(req: ReportRequest): ReportResult {
  let main: Drawn;
  let other: Drawn | undefined;
  let base: ReportRequest = req;
  if (req.exploreResult !== undefined) {
    const x = readExploreResult(req.exploreResult);
    base = { ...x.req, ...(req.platform !== undefined ? { platform: req.platform } : {}) };
    const p = prepareRun(base);
    const firstKernel = needsKernel(p.scenario) ? `${p.scenario.kernel} (kernel#0)` : 'bare platform';
    if (x.path === undefined) {
      main = drawRun(base, 'default schedule (the search found no counterexample)', firstKernel);
    } else {
      base = { ...base, replay: { ...base.replay, faults: x.faults, ...(x.binary ? { faultChoices: 'binary' } : {}) } };
      main = drawReplay(base, x.path, 'counterexample', firstKernel);
      // The explorer's default schedule: the same machine, every choice its first option, no faults.
      other = drawReplay({ ...base, replay: { ...base.replay, faults: 'none', faultChoices: 'weighted' } }, '', 'default schedule (first option at every choice, no faults)', firstKernel);
    }
  } else {
    const p = prepareRun(req);
    const firstKernel = needsKernel(p.scenario) ? `${p.scenario.kernel} (kernel#0)` : 'bare platform';
    if (req.replay !== undefined) {
      if (req.path === undefined) {
        throw new TdxsimError('TDXSIM_BAD_ARGS', '--replay (or --faults, --fault-choices, --cpus, --no-latency): give the explored schedule with --path');
      }
      main = drawReplay(req, req.path, 'explored schedule', firstKernel);
      if (req.comparePath !== undefined) {
        other = drawReplay(req, req.comparePath, `path ${req.comparePath}`, firstKernel);
      }
    } else {
      main = drawRun(req, req.path !== undefined ? `path ${req.path}` : 'the scenario\'s schedule', firstKernel);
      if (req.comparePath !== undefined) {
        other = drawRun({ ...req, path: req.comparePath }, `path ${req.comparePath === '' ? '(empty)' : req.comparePath}`, firstKernel);
      }
    }
  }
  const p = prepareRun(base);
  const sc = p.scenario;
  const spec = main.model.cpus.length;
  const model: ReportModel = {
    title: `tdxsim report: ${sc.name}${main.variant !== null ? ` / ${main.variant}` : ''}`,
    scenario: sc.name,
    description: sc.description,
    seed: sc.seed,
    variant: main.variant,
    platform: { name: p.spec.name, cpuModel: p.spec.cpuModel, cpus: spec, packages: new Set(main.model.cpus.map((c) => c.pkg)).size, overridden: base.platform !== undefined || base.replay?.cpus !== undefined },
    kernel: needsKernel(sc) ? sc.kernel : null,
    module: needsKernel(sc) ? (sc.module ?? null) : null,
    verdict: main.verdict,
    verdictText: main.verdictText,
    main: main.model,
    ...(other !== undefined ? { compare: { other: other.model, divergence: firstDivergence(main.model.events, other.model.events) } } : {}),
  };
  return { model, verdict: main.verdict };
}

/**
 * What the `report` argument names: an embedded scenario, a scenario file, or an explore result
 * file (a .json whose "format" is the explore result format).
 * @throws TdxsimError TDXSIM_UNKNOWN_SCENARIO when it is none of them
 */
export function reportSource(arg: string): { readonly scenario: string } | { readonly file: string } | { readonly exploreResult: string } {
  if (!arg.endsWith('.json')) {
    if (namedScenario(arg) === undefined) {
      throw new TdxsimError('TDXSIM_UNKNOWN_SCENARIO', `"${arg}" is neither an embedded scenario nor a .json file`);
    }
    return { scenario: arg };
  }
  const j = readJsonFile(arg, 'scenario');
  return typeof j === 'object' && j !== null && (j as Record<string, unknown>)['format'] === EXPLORE_FORMAT ? { exploreResult: arg } : { file: arg };
}
