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

/** How many stale write-backs get a cause mark: the first ones (a TD's worth of lines is one story). */
const MAX_CAUSE_MARKS = 16;

/**
 * The timeline with the cause of each of the first stale write-backs marked: where its line was
 * dirtied. The line a CPU wrote back stale was last stored by that same CPU through that KeyID
 * (a store by another CPU through the same KeyID would have taken the line from it), so the
 * cause is the last cached store on that CPU, through that KeyID, covering the line, before the
 * write-back; the mark names the SEAMCALL it ran in (the module's own store) and, through
 * `describe`, what the page was (a TD's TDR page). Linear: one pass to find the write-backs and,
 * when there are any, one pass over the stores.
 * @param marks the timeline (timelineOf), possibly of a shorter stretch than `events`
 * @param events every trace event of the run (the write-backs may come after the marks' end)
 * @param describe what a physical address was, if known
 * @returns the marks with one `mark` per cause, in time order
 */
export function withCauseMarks(marks: readonly TimelineEvent[], events: readonly TraceEvent[], describe: (pa: number) => string | undefined = () => undefined): TimelineEvent[] {
  const wanted: { cpu: number; keyId: number; line: number; t: number; store?: { t: number; leaf: number | undefined } }[] = [];
  for (const e of events) {
    if (e.kind === 'cache.writeback' && e.stale && !wanted.some((w) => w.cpu === e.cpu && w.keyId === e.keyId && w.line === e.line)) {
      wanted.push({ cpu: e.cpu, keyId: e.keyId, line: e.line, t: e.t });
      if (wanted.length === MAX_CAUSE_MARKS) {
        break;
      }
    }
  }
  if (wanted.length === 0) {
    return [...marks];
  }
  const inSeamcall = new Map<number, number>();
  for (const e of events) {
    if (e.kind === 'seamcall.enter') {
      inSeamcall.set(e.cpu, e.leaf);
    } else if (e.kind === 'seamcall.exit' || e.kind === 'seamcall.fault') {
      inSeamcall.delete(e.cpu);
    } else if (e.kind === 'mem.write' && (e.op === 'store' || e.op === 'store-fill')) {
      const l0 = Math.floor(e.pa / LINE_SIZE);
      const l1 = Math.ceil((e.pa + e.len) / LINE_SIZE);
      for (const w of wanted) {
        if (w.cpu === e.cpu && w.keyId === e.keyId && w.line >= l0 && w.line < l1 && e.t <= w.t) {
          w.store = { t: e.t, leaf: inSeamcall.get(e.cpu) };
        }
      }
    }
  }
  const causes: TimelineEvent[] = [];
  for (const w of wanted) {
    if (w.store === undefined) {
      continue;
    }
    const pa = w.line * LINE_SIZE;
    const page = describe(pa);
    const by = w.store.leaf !== undefined ? leafName(w.store.leaf) : 'a store';
    causes.push({
      t: w.store.t,
      cpu: w.cpu,
      kind: 'mark',
      label: `${hex(pa)}${page !== undefined ? ` (${page})` : ''}: dirtied through KeyID ${w.keyId} by ${by}; written back stale at ${(w.t / 1e9).toFixed(6)} s`,
      fields: { mark: 'stale-line-dirtied', pa: hex(pa), keyId: w.keyId, ...(w.store.leaf !== undefined ? { leaf: leafName(w.store.leaf) } : {}), ...(page !== undefined ? { page } : {}), writebackNs: w.t },
    });
  }
  return [...marks, ...causes].sort((a, b) => a.t - b.t || a.cpu - b.cpu);
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
