/**
 * The report model: everything the HTML report shows, as plain JSON. Built by running a
 * scenario step by step with the trace recorded, taking cache snapshots after each step.
 */
import { LINE_SIZE } from '../base/ids.js';
import type { TraceEvent } from '../base/trace.js';
import { createKernelSession } from '../scenario/kernelSession.js';
import { ScenarioRun } from '../scenario/runScenario.js';
import { timelineOf } from '../scenario/timeline.js';
import type { TimelineEvent } from '../scenario/timeline.js';
import type { RunOutcome } from '../scenario/runScenario.js';
import { needsKernel } from '../scenario/scenario.js';
import { TdxsimError } from './errors.js';
import { prepareRun } from './run.js';
import { runReplayCommand } from './shell.js';
import type { RunRequest } from './run.js';

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

/** Dirty lines per CPU and KeyID at one moment. */
export interface CacheMoment {
  readonly label: string;
  readonly t: number;
  readonly cpus: { readonly cpu: number; readonly dirty: { readonly keyId: number; readonly lines: number }[] }[];
}

/** Everything the report renders. */
export interface ReportModel {
  readonly title: string;
  readonly scenario: string;
  readonly description: string;
  readonly seed: number;
  readonly variant: string | null;
  readonly platform: { readonly name: string; readonly cpuModel: string; readonly cpus: number; readonly packages: number };
  readonly kernel: string | null;
  readonly module: string | null;
  readonly memory: { readonly lanes: MapLane[]; readonly maxAddr: number };
  readonly timeline: { readonly cpus: number[]; readonly events: TimelineEvent[]; readonly tEnd: number };
  readonly caches: CacheMoment[];
  readonly findings: { readonly class: string; readonly message: string; readonly replay: string }[];
  readonly dmesg: string[];
  readonly verdict: string;
}

function cacheMoment(run: ScenarioRun, label: string): CacheMoment {
  return {
    label,
    t: run.sched.now,
    cpus: run.platform.cpus
      .map((c) => ({ cpu: c.id as number, dirty: [...c.cache.dirtyByKey()].map(([keyId, lines]) => ({ keyId, lines })) }))
      .filter((c) => c.dirty.length > 0),
  };
}

function platformLanes(run: ScenarioRun): MapLane[] {
  const spec = run.platform.spec;
  const lanes: MapLane[] = [
    { name: 'e820', kind: 'e820', regions: spec.memory.e820.map((e) => ({ base: e.base, end: e.base + e.size, label: e.type })) },
    { name: 'NUMA nodes', kind: 'node', regions: spec.memory.nodes.map((n) => ({ base: n.base, end: n.base + n.size, label: `node ${n.node}` })) },
    { name: 'CMRs', kind: 'cmr', regions: spec.cmrs.filter((c) => c.size > 0).map((c, i) => ({ base: c.base, end: c.base + c.size, label: `CMR ${i}` })) },
    { name: 'SEAMRR', kind: 'seamrr', regions: spec.seamrr.size > 0 ? [{ base: spec.seamrr.base, end: spec.seamrr.base + spec.seamrr.size, label: 'SEAMRR' }] : [] },
  ];
  // TD-owned memory, as the memory controller sees it (integrity owner per line).
  const owned: MapRegion[] = [];
  for (const iv of run.platform.memory.lines.entries()) {
    if (iv.value.td) {
      owned.push({ base: iv.start * LINE_SIZE, end: iv.end * LINE_SIZE, label: `KeyID ${iv.value.key} (${iv.value.writer})` });
    }
  }
  lanes.push({ name: 'TD-owned lines', kind: 'private', regions: owned.slice(0, 5000) });
  return lanes;
}

/** Build the report model for a scenario. */
export function buildReport(req: RunRequest & { variant?: string }): ReportModel {
  const p = prepareRun(req);
  const sc = p.scenario;
  let variant = sc.variants[0];
  if (req.variant !== undefined) {
    variant = sc.variants.find((v) => v.name === req.variant);
    if (variant === undefined) {
      throw new TdxsimError('TDXSIM_BAD_ARGS', `--variant "${req.variant}": the scenario has ${sc.variants.length === 0 ? 'no variants' : `variants ${sc.variants.map((v) => v.name).join(', ')}`}`);
    }
  }
  const steps = [...sc.steps, ...(variant?.steps ?? [])];
  const run = new ScenarioRun(sc, p.spec, { recordTrace: 500_000, ...(p.path !== undefined ? { path: p.path } : {}) }, needsKernel(sc) ? createKernelSession : undefined);
  const caches: CacheMoment[] = [cacheMoment(run, 'start')];
  steps.forEach((s, i) => {
    req.onStep?.({ run: variant?.name ?? sc.name, index: i, count: steps.length, op: s.op });
    run.exec(s);
    caches.push(cacheMoment(run, `after step ${i}: ${s.op}`));
  });
  const outcome: RunOutcome = run.outcome(variant?.name ?? sc.name, run.takenPath());
  const lanes = [...platformLanes(run), ...(run.kernel?.memoryLanes?.() ?? [])];
  let maxAddr = 1;
  for (const l of lanes) {
    for (const r of l.regions) {
      maxAddr = Math.max(maxAddr, r.end);
    }
  }
  const events = timelineOf(outcome.trace as TraceEvent[]);
  return {
    title: `tdxsim report: ${sc.name}${variant !== undefined ? ` / ${variant.name}` : ''}`,
    scenario: sc.name,
    description: sc.description,
    seed: sc.seed,
    variant: variant?.name ?? null,
    platform: { name: p.spec.name, cpuModel: p.spec.cpuModel, cpus: run.platform.cpus.length, packages: p.spec.topology.packages },
    kernel: needsKernel(sc) ? sc.kernel : null,
    module: needsKernel(sc) ? (sc.module ?? null) : null,
    memory: { lanes, maxAddr },
    timeline: { cpus: [...new Set(events.map((e) => e.cpu))].filter((c) => c >= 0).sort((a, b) => a - b), events, tEnd: events.reduce((m, e) => Math.max(m, e.end ?? e.t), run.sched.now) },
    caches,
    findings: outcome.findings.map((f) => ({ class: f.class, message: f.message, replay: runReplayCommand(req, sc.name, sc.variants.length > 1 ? variant?.name : undefined, f.seed, f.path) })),
    dmesg: outcome.dmesgFormatted,
    verdict: outcome.findings.length === 0 ? 'no findings' : `${outcome.findings.length} finding(s)`,
  };
}
