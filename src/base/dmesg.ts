/**
 * The dmesg log: a bounded ring of records stamped with *simulated* time, printed the way
 * Linux prints them (`[    1.630945] virt/tdx: module initialized`). Ported code logs
 * through a scoped logger whose prefix plays the role of Linux's pr_fmt().
 * @see linux kernel/printk/printk.c print_time(); arch/x86/virt/vmx/tdx/tdx.c pr_fmt
 */

import type { FootprintRecorder } from './footprint.js';

/** printk levels we use. */
export type LogLevel = 'emerg' | 'crit' | 'err' | 'warn' | 'notice' | 'info' | 'debug';

/** One dmesg record. */
export interface DmesgRecord {
  /** Simulated time in nanoseconds since this kernel's boot. */
  readonly ns: number;
  readonly cpu: number;
  readonly level: LogLevel;
  /** The full line, prefix included, without the timestamp. */
  readonly text: string;
}

/** A pr_* style logger with a fixed prefix. */
export interface Logger {
  emerg(text: string): void;
  err(text: string): void;
  warn(text: string): void;
  info(text: string): void;
  notice(text: string): void;
  debug(text: string): void;
  /** The same sink with another prefix appended to this one. */
  scope(prefix: string): Logger;
}

/** Where the log gets the time and the current CPU from. */
export interface LogClock {
  nowNs(): number;
  currentCpu(): number;
}

/** Format a timestamp like Linux: `[%5lu.%06lu]`. */
export function formatTimestamp(ns: number): string {
  const us = Math.floor(ns / 1000);
  const sec = Math.floor(us / 1_000_000);
  const frac = us % 1_000_000;
  return `[${String(sec).padStart(5, ' ')}.${String(frac).padStart(6, '0')}]`;
}

/**
 * A logger bound to a Dmesg and a prefix. A class rather than closures so that snapshots
 * (base/clone.ts) copy it along with its Dmesg.
 */
export class ScopedLogger implements Logger {
  constructor(
    readonly sink: Dmesg,
    readonly prefix: string,
  ) {}
  emerg(text: string): void {
    this.sink.log('emerg', this.prefix + text);
  }
  err(text: string): void {
    this.sink.log('err', this.prefix + text);
  }
  warn(text: string): void {
    this.sink.log('warn', this.prefix + text);
  }
  info(text: string): void {
    this.sink.log('info', this.prefix + text);
  }
  notice(text: string): void {
    this.sink.log('notice', this.prefix + text);
  }
  debug(text: string): void {
    this.sink.log('debug', this.prefix + text);
  }
  scope(more: string): Logger {
    return new ScopedLogger(this.sink, this.prefix + more);
  }
}

/** Where records are mirrored as trace events (so the trace holds the dmesg too). */
export interface DmesgMirror {
  emit(ev: { kind: 'dmesg'; t: number; cpu: number; level: string; text: string }): void;
}

/** A kernel's log buffer. */
export class Dmesg {
  private readonly ring: DmesgRecord[] = [];
  private dropped = 0;
  private readonly listeners: ((r: DmesgRecord) => void)[] = [];
  /** Footprints of exploration: the ring is shared by every CPU (the order of lines is state). */
  footprint: FootprintRecorder | undefined;

  /**
   * @param clock source of simulated time and current CPU (an object, not closures, if the
   *   owner is ever snapshotted)
   * @param capacity records kept (older ones are dropped, as in the printk ring)
   * @param mirror optional trace sink for every record
   */
  constructor(
    private readonly clock: LogClock,
    private readonly capacity = 1 << 16,
    private readonly mirror?: DmesgMirror,
  ) {}

  /** Append a record. */
  log(level: LogLevel, text: string): void {
    this.footprint?.w('dmesg');
    // Records never change once logged: frozen, snapshots share them.
    const r: DmesgRecord = Object.freeze({ ns: this.clock.nowNs(), cpu: this.clock.currentCpu(), level, text });
    if (this.ring.length >= this.capacity) {
      this.ring.shift();
      this.dropped++;
    }
    this.ring.push(r);
    this.mirror?.emit({ kind: 'dmesg', t: r.ns, cpu: r.cpu, level, text });
    for (const l of this.listeners) {
      l(r);
    }
  }

  /** Subscribe to new records. */
  onRecord(fn: (r: DmesgRecord) => void): void {
    this.listeners.push(fn);
  }

  /** A logger whose lines start with `prefix` (e.g. "virt/tdx: "). */
  scope(prefix: string): Logger {
    return new ScopedLogger(this, prefix);
  }

  /** All records still in the ring. */
  records(): readonly DmesgRecord[] {
    return this.ring;
  }

  /** Records lost to the ring bound. */
  get droppedCount(): number {
    return this.dropped;
  }

  /** Lines without timestamps (the `--json` form). */
  lines(minLevel: LogLevel = 'debug'): string[] {
    return this.ring.filter((r) => levelRank(r.level) <= levelRank(minLevel)).map((r) => r.text);
  }

  /** Lines with timestamps, as `dmesg` prints them. */
  format(minLevel: LogLevel = 'info'): string[] {
    return this.ring
      .filter((r) => levelRank(r.level) <= levelRank(minLevel))
      .map((r) => `${formatTimestamp(r.ns)} ${r.text}`);
  }
}

const RANK: Record<LogLevel, number> = { emerg: 0, crit: 2, err: 3, warn: 4, notice: 5, info: 6, debug: 7 };

/** Numeric printk level (lower is more severe). */
export function levelRank(l: LogLevel): number {
  return RANK[l];
}
