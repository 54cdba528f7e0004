/**
 * An execution as Chrome/Perfetto Trace Event Format JSON (the "JSON Object Format" that
 * ui.perfetto.dev and chrome://tracing open): one process per package and one thread per CPU,
 * named by metadata events; SEAMCALLs as complete ('X') slices named after the leaf and, when it
 * failed, the status; IPIs and NMIs as flow arrows ('s' and 'f', binding point "enclosing
 * slice") from a short send slice on the sender to a take slice on the receiver; WBINVDs,
 * halts, wake-ups, the kexec jump, stale write-backs and other marks as thread instants;
 * findings as global instants; kernel epochs (old kernel, purgatory, next kernel) and dmesg on
 * their own tracks. Timestamps are simulated time in µs.
 * @see Trace Event Format (Google, the "JSON Object Format", phases X, i, s, f, M)
 */
import { LINE_SIZE } from '../base/ids.js';
import type { TraceEvent } from '../base/trace.js';
import { hex } from '../base/u64.js';
import { leafName } from '../module/leafNumbers.js';
import { statusName } from '../module/status.js';
import type { Finding } from './findings.js';
import type { KernelEpoch } from './runScenario.js';

/** One event of the trace file (the fields the format defines; `args` free-form). */
export interface ChromeTraceEvent {
  readonly name: string;
  readonly ph: 'X' | 'i' | 's' | 'f' | 'M';
  readonly ts: number;
  readonly pid: number;
  readonly tid: number;
  readonly cat?: string;
  readonly dur?: number;
  /** Instant scope: thread, process or global. */
  readonly s?: 't' | 'p' | 'g';
  /** Flow id (shared by the 's' and 'f' of one arrow). */
  readonly id?: number;
  /** Flow binding point: 'e' binds the end to the enclosing slice. */
  readonly bp?: 'e';
  readonly args?: Readonly<Record<string, unknown>>;
}

/** The whole file. */
export interface ChromeTrace {
  readonly traceEvents: ChromeTraceEvent[];
  readonly displayTimeUnit: 'ns';
  readonly otherData: Readonly<Record<string, string>>;
}

/** What besides the events the file shows. */
export interface ChromeTraceInput {
  /** Every CPU with its package (tracks exist for idle CPUs too). */
  readonly cpus: readonly { readonly id: number; readonly packageId: number }[];
  readonly findings: readonly Finding[];
  readonly epochs: readonly KernelEpoch[];
  /** Free-form facts for `otherData` (scenario, kernel, path...). */
  readonly about: Readonly<Record<string, string>>;
}

/** The process of package `p` (pid 0 holds the machine-wide tracks). */
const pidOf = (pkg: number): number => pkg + 1;
/** Machine-wide tracks. */
const MACHINE_PID = 0;
const EPOCH_TID = 0;
const DMESG_TID = 1;
/** Longest send/take slice (1 µs, in ns): long enough to see, clipped so slices never overlap. */
const POINT_NS = 1000;

const us = (ns: number): number => ns / 1000;

interface Slice {
  readonly cpu: number;
  readonly t: number;
  readonly end: number;
  readonly name: string;
  readonly args: Record<string, unknown>;
}

/** SEAMCALL slices from enter/exit pairs (per CPU), faults as zero-length slices. */
function seamcallSlices(events: readonly TraceEvent[], endNs: number): Slice[] {
  const out: Slice[] = [];
  const open = new Map<number, { t: number; leaf: number }>();
  for (const e of events) {
    if (e.kind === 'seamcall.enter') {
      open.set(e.cpu, { t: e.t, leaf: e.leaf });
    } else if (e.kind === 'seamcall.exit') {
      const o = open.get(e.cpu);
      open.delete(e.cpu);
      const ok = e.status === 0n;
      const name = ok ? leafName(e.leaf) : `${leafName(e.leaf)} ${statusName(e.status)}`;
      out.push({ cpu: e.cpu, t: o?.t ?? e.t, end: e.t, name, args: { leaf: leafName(e.leaf), status: `0x${e.status.toString(16).padStart(16, '0')}`, statusName: ok ? 'TDX_SUCCESS' : statusName(e.status) } });
    } else if (e.kind === 'seamcall.fault') {
      out.push({ cpu: e.cpu, t: e.t, end: e.t, name: `${leafName(e.leaf)} #${e.fault}`, args: { leaf: leafName(e.leaf), fault: e.fault } });
    }
  }
  // Still in the module when the trace ends (a CPU stopped by the jump mid-SEAMCALL).
  for (const [cpu, o] of open) {
    out.push({ cpu, t: o.t, end: Math.max(o.t, endNs), name: leafName(o.leaf), args: { leaf: leafName(o.leaf), unfinished: true } });
  }
  return out;
}

/** The thread instant of a trace event, if it gets one. */
function instantOf(e: TraceEvent): { name: string; args: Record<string, unknown> } | undefined {
  switch (e.kind) {
    case 'cache.flush':
      return { name: `${e.op.toUpperCase()} (${e.dirtyLines} dirty lines)`, args: { dirtyLines: e.dirtyLines } };
    case 'cache.writeback':
      return e.stale ? { name: `stale write-back ${hex(e.line * LINE_SIZE)}`, args: { pa: hex(e.line * LINE_SIZE), lines: e.lines, keyId: e.keyId, version: e.version, cause: e.cause } } : undefined;
    case 'cpu.halt':
      return { name: 'HLT', args: {} };
    case 'cpu.wake':
      return { name: `woken by ${e.by}`, args: { by: e.by } };
    case 'mem.poison':
      return { name: `poison ${hex(e.pa)}`, args: { pa: hex(e.pa), keyId: e.keyId, reason: e.reason } };
    case 'mark':
      return { name: e.label, args: e.detail === undefined ? {} : { detail: e.detail } };
    default:
      return undefined;
  }
}

/** Send and take points (grouped per CPU and time), the flows between them. */
function ipiPoints(events: readonly TraceEvent[]): { points: Map<number, Map<number, string[]>>; flows: { from: number; ts: number; to: number; te: number; vector: string }[] } {
  const points = new Map<number, Map<number, string[]>>();
  const add = (cpu: number, t: number, name: string): void => {
    const m = points.get(cpu) ?? new Map<number, string[]>();
    points.set(cpu, m);
    m.set(t, [...(m.get(t) ?? []), name]);
  };
  const pending = new Map<string, number[]>();
  const flows: { from: number; ts: number; to: number; te: number; vector: string }[] = [];
  for (const e of events) {
    if (e.kind === 'ipi.send') {
      add(e.cpu, e.t, `send ${e.vector} to CPU ${e.to}`);
      const k = `${e.cpu}>${e.to}:${e.vector}`;
      pending.set(k, [...(pending.get(k) ?? []), e.t]);
    } else if (e.kind === 'ipi.deliver') {
      add(e.cpu, e.t, `take ${e.vector} from CPU ${e.from}`);
      // Interrupts of one vector from one sender arrive in the order they were sent.
      const k = `${e.from}>${e.cpu}:${e.vector}`;
      const q = pending.get(k) ?? [];
      const ts = q.shift();
      if (ts !== undefined) {
        flows.push({ from: e.from, ts, to: e.cpu, te: e.t, vector: e.vector });
      }
    }
  }
  return { points, flows };
}

/** The first value in sorted `xs` above `t`, or Infinity (binary search). */
function firstAbove(xs: readonly number[], t: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((xs[mid] as number) > t) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return xs[lo] ?? Infinity;
}

/** Point slices, each as long as POINT_NS allows without crossing another slice's edge on its CPU. */
function pointSlices(points: Map<number, Map<number, string[]>>, seamcalls: readonly Slice[]): Slice[] {
  const edges = new Map<number, number[]>();
  for (const s of seamcalls) {
    const e = edges.get(s.cpu) ?? [];
    edges.set(s.cpu, e);
    e.push(s.t, s.end);
  }
  for (const e of edges.values()) {
    e.sort((a, b) => a - b);
  }
  const out: Slice[] = [];
  for (const [cpu, m] of points) {
    const cpuEdges = edges.get(cpu) ?? [];
    const times = [...m.keys()].sort((a, b) => a - b);
    times.forEach((t, i) => {
      const next = Math.min(times[i + 1] ?? Infinity, firstAbove(cpuEdges, t), t + POINT_NS);
      out.push({ cpu, t, end: next, name: (m.get(t) ?? []).join('; '), args: {} });
    });
  }
  return out;
}

/** Convert a recorded execution. */
export function chromeTrace(events: readonly TraceEvent[], input: ChromeTraceInput): ChromeTrace {
  const endNs = events.reduce((m, e) => Math.max(m, e.t), 0);
  const pkgOf = new Map(input.cpus.map((c) => [c.id, c.packageId]));
  const track = (cpu: number): { pid: number; tid: number } => (cpu < 0 ? { pid: MACHINE_PID, tid: EPOCH_TID } : { pid: pidOf(pkgOf.get(cpu) ?? 0), tid: cpu });
  const out: ChromeTraceEvent[] = [];
  const meta = (name: string, pid: number, tid: number, args: Record<string, unknown>): void => {
    out.push({ name, ph: 'M', ts: 0, pid, tid, args });
  };
  meta('process_name', MACHINE_PID, 0, { name: 'machine' });
  meta('process_sort_index', MACHINE_PID, 0, { sort_index: 0 });
  meta('thread_name', MACHINE_PID, EPOCH_TID, { name: 'kernel epochs and findings' });
  meta('thread_name', MACHINE_PID, DMESG_TID, { name: 'dmesg' });
  for (const pkg of [...new Set(input.cpus.map((c) => c.packageId))].sort((a, b) => a - b)) {
    meta('process_name', pidOf(pkg), 0, { name: `package ${pkg}` });
    meta('process_sort_index', pidOf(pkg), 0, { sort_index: pidOf(pkg) });
  }
  for (const c of input.cpus) {
    meta('thread_name', pidOf(c.packageId), c.id, { name: `CPU ${c.id}` });
    meta('thread_sort_index', pidOf(c.packageId), c.id, { sort_index: c.id });
  }
  const timed: ChromeTraceEvent[] = [];
  for (const ep of input.epochs) {
    timed.push({ name: ep.name, cat: 'epoch', ph: 'X', ts: us(ep.start), dur: us(ep.end - ep.start), pid: MACHINE_PID, tid: EPOCH_TID, args: { kind: ep.kind } });
  }
  const seamcalls = seamcallSlices(events, endNs);
  for (const s of seamcalls) {
    timed.push({ name: s.name, cat: 'seamcall', ph: 'X', ts: us(s.t), dur: us(s.end - s.t), ...track(s.cpu), args: s.args });
  }
  const { points, flows } = ipiPoints(events);
  for (const s of pointSlices(points, seamcalls)) {
    timed.push({ name: s.name, cat: 'ipi', ph: 'X', ts: us(s.t), dur: us(s.end - s.t), ...track(s.cpu), args: s.args });
  }
  flows.forEach((f, i) => {
    const cat = f.vector === 'NMI' ? 'nmi' : 'ipi';
    timed.push({ name: f.vector, cat, ph: 's', id: i + 1, ts: us(f.ts), ...track(f.from) });
    timed.push({ name: f.vector, cat, ph: 'f', bp: 'e', id: i + 1, ts: us(f.te), ...track(f.to) });
  });
  for (const e of events) {
    const inst = instantOf(e);
    if (inst !== undefined) {
      timed.push({ name: inst.name, cat: e.kind, ph: 'i', s: 't', ts: us(e.t), ...track(e.cpu), args: inst.args });
    } else if (e.kind === 'dmesg') {
      timed.push({ name: e.text, cat: 'dmesg', ph: 'i', s: 't', ts: us(e.t), pid: MACHINE_PID, tid: DMESG_TID, args: { level: e.level, cpu: e.cpu } });
    }
  }
  for (const f of input.findings) {
    timed.push({ name: `finding: ${f.class}`, cat: 'finding', ph: 'i', s: 'g', ts: us(f.t), pid: MACHINE_PID, tid: EPOCH_TID, args: { message: f.message, seed: f.seed, path: f.path } });
  }
  timed.sort((a, b) => a.ts - b.ts);
  return { traceEvents: [...out, ...timed], displayTimeUnit: 'ns', otherData: { ...input.about } };
}
