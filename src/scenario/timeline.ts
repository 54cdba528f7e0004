/**
 * Per-CPU timelines from the trace: SEAMCALLs (runs of the same leaf folded into one span),
 * IPIs, NMIs, WBINVDs, halts, kexec marks, poison and stale write-backs. Used by the HTML
 * report, by counterexample reports in the terminal and, as structured data, by `--json`.
 */
import { LINE_SIZE } from '../base/ids.js';
import type { TraceEvent } from '../base/trace.js';
import { hex } from '../base/u64.js';
import { leafName } from '../module/leafNumbers.js';

/** A structured field of a timeline mark (numbers are exact; addresses are hex strings). */
export type TimelineField = string | number | boolean;

/** One mark on a CPU's timeline. */
export interface TimelineEvent {
  /** Simulated time in ns since power-on. */
  readonly t: number;
  /** End time for spans (a run of SEAMCALLs). */
  readonly end?: number;
  readonly cpu: number;
  readonly kind: 'seamcall' | 'seamcall-fail' | 'ipi' | 'nmi' | 'wbinvd' | 'halt' | 'wake' | 'kexec' | 'mark' | 'poison' | 'stale-writeback';
  /** One line for people. */
  readonly label: string;
  /** The same facts for programs (leaf, status, vector, to, keyId, pa, lines...). */
  readonly fields: Readonly<Record<string, TimelineField>>;
}

interface OpenRun {
  leaf: number;
  t: number;
  end: number;
  n: number;
  fails: number;
  status: bigint;
}

/** The folded mark of a run of SEAMCALLs of one leaf. */
function seamcallMark(cpu: number, o: OpenRun): TimelineEvent {
  const label = `${leafName(o.leaf)}${o.n > 1 ? ` x${o.n}` : ''}${o.fails > 0 ? ` (${o.fails} failed)` : ''}`;
  return { t: o.t, end: o.end, cpu, kind: o.fails > 0 ? 'seamcall-fail' : 'seamcall', label, fields: { leaf: leafName(o.leaf), count: o.n, failed: o.fails, lastStatus: `0x${o.status.toString(16).padStart(16, '0')}` } };
}

/** The mark of one trace event that is not a SEAMCALL exit, or undefined. */
function markOf(e: TraceEvent): TimelineEvent | undefined {
  switch (e.kind) {
    case 'seamcall.fault':
      return { t: e.t, cpu: e.cpu, kind: 'seamcall-fail', label: `${leafName(e.leaf)}: ${e.fault}`, fields: { leaf: leafName(e.leaf), fault: e.fault } };
    case 'ipi.send':
      return { t: e.t, cpu: e.cpu, kind: e.nmi ? 'nmi' : 'ipi', label: `send ${e.vector} to CPU ${e.to}`, fields: { dir: 'send', vector: e.vector, to: e.to } };
    case 'ipi.deliver':
      return { t: e.t, cpu: e.cpu, kind: e.nmi ? 'nmi' : 'ipi', label: `take ${e.vector}`, fields: { dir: 'take', vector: e.vector, from: e.from } };
    case 'cache.flush':
      return e.op === 'wbinvd' ? { t: e.t, cpu: e.cpu, kind: 'wbinvd', label: `WBINVD (${e.dirtyLines} dirty lines)`, fields: { dirtyLines: e.dirtyLines } } : undefined;
    case 'cache.writeback':
      // The address first: a narrow column must not cut it.
      return e.stale
        ? { t: e.t, cpu: e.cpu, kind: 'stale-writeback', label: `${hex(e.line * LINE_SIZE)}: stale KeyID ${e.keyId} write-back (${e.lines} lines)`, fields: { pa: hex(e.line * LINE_SIZE), lines: e.lines, keyId: e.keyId, version: e.version, cause: e.cause } }
        : undefined;
    case 'cpu.halt':
      return { t: e.t, cpu: e.cpu, kind: 'halt', label: 'HLT', fields: {} };
    case 'cpu.wake':
      return { t: e.t, cpu: e.cpu, kind: 'wake', label: `woken by ${e.by}`, fields: { by: e.by } };
    case 'mem.poison':
      return { t: e.t, cpu: e.cpu, kind: 'poison', label: `poison at ${hex(e.pa)}: ${e.reason}`, fields: { pa: hex(e.pa), keyId: e.keyId, reason: e.reason } };
    case 'mark':
      return { t: e.t, cpu: e.cpu, kind: /kexec|crash|relocate/.test(e.label) ? 'kexec' : 'mark', label: e.detail === undefined ? e.label : `${e.label}: ${e.detail}`, fields: e.detail === undefined ? { mark: e.label } : { mark: e.label, detail: e.detail } };
    default:
      return undefined;
  }
}

/** Fold the trace into timeline marks. */
export function timelineOf(events: readonly TraceEvent[]): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  const open = new Map<number, OpenRun>();
  const flush = (cpu: number): void => {
    const o = open.get(cpu);
    if (o !== undefined) {
      out.push(seamcallMark(cpu, o));
      open.delete(cpu);
    }
  };
  for (const e of events) {
    if (e.kind === 'seamcall.exit') {
      const o = open.get(e.cpu);
      const failed = ((e.status >> 63n) & 1n) === 1n ? 1 : 0;
      if (o !== undefined && o.leaf === e.leaf) {
        o.end = e.t;
        o.n++;
        o.fails += failed;
        o.status = e.status;
      } else {
        flush(e.cpu);
        open.set(e.cpu, { leaf: e.leaf, t: e.t, end: e.t, n: 1, fails: failed, status: e.status });
      }
      continue;
    }
    const m = markOf(e);
    if (m === undefined) {
      continue;
    }
    // Write-backs, wake-ups and poison happen beside a run of SEAMCALLs; the rest ends it.
    if (m.kind !== 'stale-writeback' && m.kind !== 'wake' && m.kind !== 'poison') {
      flush(e.cpu);
    }
    out.push(m);
  }
  for (const cpu of [...open.keys()]) {
    flush(cpu);
  }
  return out.sort((a, b) => a.t - b.t || a.cpu - b.cpu);
}

/** Format seconds like dmesg. */
function secs(ns: number): string {
  return (ns / 1e9).toFixed(6).padStart(12);
}

/** How to lay a timeline out as text. */
export interface TimelineFormat {
  /** At most this many CPU columns (the lowest-numbered CPUs that have marks). Default 6. */
  readonly maxCpus?: number;
  /** Only the last this many marks. Default: all. */
  readonly maxRows?: number;
  /**
   * Total width in characters (a terminal's columns): a label longer than its column wraps onto
   * continuation rows. Absent: columns are as wide as their longest label, nothing wraps or is cut.
   */
  readonly width?: number;
}

/** Cut `s` into pieces of at most `w` characters, at spaces where possible. */
function wrap(s: string, w: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (rest.length > w) {
    const sp = rest.lastIndexOf(' ', w);
    const at = sp > w / 2 ? sp : w;
    out.push(rest.slice(0, at));
    rest = rest.slice(at).trimStart();
  }
  out.push(rest);
  return out;
}

/** Narrowest column. */
const MIN_COLUMN = 12;

/** A text timeline with one column per CPU; labels are never cut (they wrap when a width is given). */
export function formatTimeline(events: readonly TimelineEvent[], fmt: TimelineFormat = {}): string[] {
  const cpus = [...new Set(events.map((e) => e.cpu))].filter((c) => c >= 0).sort((a, b) => a - b).slice(0, fmt.maxCpus ?? 6);
  const shown = events.filter((e) => cpus.includes(e.cpu)).slice(-(fmt.maxRows ?? Infinity));
  const longest = shown.reduce((m, e) => Math.max(m, e.label.length), 'CPU 000'.length);
  // 12 for the time, 2 spaces, then one separating space per column.
  const fit = fmt.width === undefined ? longest : Math.max(MIN_COLUMN, Math.floor((fmt.width - 14) / Math.max(1, cpus.length)) - 1);
  const W = Math.min(longest, fit);
  const head = `${'time (s)'.padStart(12)}  ${cpus.map((c) => `CPU ${c}`.padEnd(W)).join(' ')}`.trimEnd();
  const rows: string[] = [];
  for (const e of shown) {
    const pad = ' '.repeat((W + 1) * cpus.indexOf(e.cpu));
    wrap(e.label, W).forEach((piece, i) => {
      rows.push(`${i === 0 ? secs(e.t) : ' '.repeat(12)}  ${pad}${piece}`.trimEnd());
    });
  }
  return [head, ...rows];
}
