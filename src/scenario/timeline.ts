/**
 * Per-CPU timelines from the trace: SEAMCALLs (runs of the same leaf folded into one span),
 * IPIs, NMIs, WBINVDs, halts, kexec marks, poison and stale write-backs. Used by the HTML
 * report and by counterexample reports in the terminal.
 */
import { LINE_SIZE } from '../base/ids.js';
import type { TraceEvent } from '../base/trace.js';
import { hex } from '../base/u64.js';
import { leafName } from '../module/leafNumbers.js';

/** One mark on a CPU's timeline. */
export interface TimelineEvent {
  readonly t: number;
  /** End time for spans (a run of SEAMCALLs). */
  readonly end?: number;
  readonly cpu: number;
  readonly kind: 'seamcall' | 'seamcall-fail' | 'ipi' | 'nmi' | 'wbinvd' | 'halt' | 'wake' | 'kexec' | 'mark' | 'poison' | 'stale-writeback';
  readonly label: string;
}

/** Fold the trace into timeline marks. */
export function timelineOf(events: readonly TraceEvent[]): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  const open = new Map<number, { leaf: number; t: number; end: number; n: number; fails: number }>();
  const flush = (cpu: number): void => {
    const o = open.get(cpu);
    if (o !== undefined) {
      out.push({ t: o.t, end: o.end, cpu, kind: o.fails > 0 ? 'seamcall-fail' : 'seamcall', label: `${leafName(o.leaf)}${o.n > 1 ? ` x${o.n}` : ''}${o.fails > 0 ? ` (${o.fails} failed)` : ''}` });
      open.delete(cpu);
    }
  };
  for (const e of events) {
    switch (e.kind) {
      case 'seamcall.exit': {
        const o = open.get(e.cpu);
        const failed = ((e.status >> 63n) & 1n) === 1n ? 1 : 0;
        if (o !== undefined && o.leaf === e.leaf) {
          o.end = e.t;
          o.n++;
          o.fails += failed;
        } else {
          flush(e.cpu);
          open.set(e.cpu, { leaf: e.leaf, t: e.t, end: e.t, n: 1, fails: failed });
        }
        break;
      }
      case 'seamcall.fault':
        flush(e.cpu);
        out.push({ t: e.t, cpu: e.cpu, kind: 'seamcall-fail', label: `${leafName(e.leaf)}: ${e.fault}` });
        break;
      case 'ipi.send':
        flush(e.cpu);
        out.push({ t: e.t, cpu: e.cpu, kind: e.nmi ? 'nmi' : 'ipi', label: `send ${e.vector} to CPU ${e.to}` });
        break;
      case 'ipi.deliver':
        flush(e.cpu);
        out.push({ t: e.t, cpu: e.cpu, kind: e.nmi ? 'nmi' : 'ipi', label: `take ${e.vector}` });
        break;
      case 'cache.flush':
        if (e.op === 'wbinvd') {
          flush(e.cpu);
          out.push({ t: e.t, cpu: e.cpu, kind: 'wbinvd', label: `WBINVD (${e.dirtyLines} dirty lines)` });
        }
        break;
      case 'cache.writeback':
        if (e.stale) {
          out.push({ t: e.t, cpu: e.cpu, kind: 'stale-writeback', label: `stale KeyID ${e.keyId} write-back at ${hex(e.line * LINE_SIZE)} (${e.lines} lines)` });
        }
        break;
      case 'cpu.halt':
        flush(e.cpu);
        out.push({ t: e.t, cpu: e.cpu, kind: 'halt', label: 'HLT' });
        break;
      case 'cpu.wake':
        out.push({ t: e.t, cpu: e.cpu, kind: 'wake', label: `woken by ${e.by}` });
        break;
      case 'mem.poison':
        out.push({ t: e.t, cpu: e.cpu, kind: 'poison', label: `poison at ${hex(e.pa)}: ${e.reason}` });
        break;
      case 'mark':
        flush(e.cpu);
        out.push({ t: e.t, cpu: e.cpu, kind: /kexec|crash|relocate/.test(e.label) ? 'kexec' : 'mark', label: e.detail === undefined ? e.label : `${e.label}: ${e.detail}` });
        break;
      default:
        break;
    }
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

/** A text timeline with one column per CPU (at most `maxCpus` columns, `maxRows` rows from the end). */
export function formatTimeline(events: readonly TimelineEvent[], maxCpus = 6, maxRows = 60): string[] {
  const cpus = [...new Set(events.map((e) => e.cpu))].filter((c) => c >= 0).sort((a, b) => a - b).slice(0, maxCpus);
  const W = 34;
  const head = `${'time (s)'.padStart(12)}  ${cpus.map((c) => `CPU ${c}`.padEnd(W)).join(' ')}`;
  const rows = events
    .filter((e) => cpus.includes(e.cpu))
    .slice(-maxRows)
    .map((e) => {
      const col = cpus.indexOf(e.cpu);
      // One event per row, so a long label may run past its column: nothing is cut (the
      // address of a stale write-back is the part that matters).
      return `${secs(e.t)}  ${' '.repeat((W + 1) * col)}${e.label}`.trimEnd();
    });
  return [head, ...rows];
}
