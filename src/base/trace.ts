/**
 * Typed trace events: the one inspection stream that checkers, the recorder, the server and
 * the HTML report subscribe to. Model code emits; nothing reaches into model objects.
 * @see XState InspectionEvent / system.inspect(); v86's bus between core and UI.
 */
import { fnv1a32 } from './prng.js';

/** Fields every event carries. */
interface Base {
  /** Simulated time (ns since platform power-on). */
  readonly t: number;
  /** The CPU the event happened on, or -1 for platform-wide events. */
  readonly cpu: number;
}

/** The trace event union. */
export type TraceEvent =
  | (Base & { readonly kind: 'seamcall.enter'; readonly leaf: number; readonly rax: bigint })
  | (Base & { readonly kind: 'seamcall.exit'; readonly leaf: number; readonly status: bigint })
  | (Base & { readonly kind: 'seamcall.fault'; readonly leaf: number; readonly fault: 'UD' | 'GP' | 'VMFAILINVALID' })
  | (Base & {
      readonly kind: 'cache.writeback';
      readonly line: number;
      readonly lines: number;
      readonly keyId: number;
      readonly version: number;
      /** Memory already held a newer version: a stale alias overwrote it. */
      readonly stale: boolean;
      readonly cause: 'evict' | 'wbinvd' | 'wbnoinvd' | 'clflush' | 'bulk' | 'snoop';
    })
  | (Base & { readonly kind: 'cache.flush'; readonly op: 'wbinvd' | 'wbnoinvd'; readonly dirtyLines: number })
  | (Base & { readonly kind: 'mem.write'; readonly pa: number; readonly len: number; readonly keyId: number; readonly op: string })
  | (Base & { readonly kind: 'mem.poison'; readonly pa: number; readonly keyId: number; readonly reason: string })
  | (Base & { readonly kind: 'ipi.send'; readonly to: number; readonly vector: string; readonly nmi: boolean })
  | (Base & { readonly kind: 'ipi.deliver'; readonly vector: string; readonly nmi: boolean; /** The sending CPU. */ readonly from: number })
  | (Base & { readonly kind: 'cpu.halt' })
  | (Base & { readonly kind: 'cpu.wake'; readonly by: string })
  | (Base & { readonly kind: 'cpu.state'; readonly online: boolean; readonly vmx: boolean })
  | (Base & { readonly kind: 'sched.choose'; readonly label: string; readonly n: number; readonly pick: number })
  | (Base & { readonly kind: 'dmesg'; readonly level: string; readonly text: string })
  | (Base & { readonly kind: 'mark'; readonly label: string; readonly detail?: string })
  | (Base & { readonly kind: 'finding'; readonly finding: string; readonly detail: string });

/** The `kind` tags. */
export type TraceKind = TraceEvent['kind'];

/** Receives trace events. */
export type TraceListener = (ev: TraceEvent) => void;

function mixNumber(h: number, n: number): number {
  let x = h ^ (n >>> 0);
  x = Math.imul(x, 0x01000193);
  if (n >= 4294967296 || n < 0) {
    // The high word (zero, and skipped, for the common 0 <= n < 2^32).
    x ^= Math.floor(n / 4294967296) >>> 0;
  }
  return Math.imul(x, 0x01000193) >>> 0;
}

function mixBigint(h: number, v: bigint): number {
  if (v >= 0n && v < 0x1_0000_0000n) {
    // Same result without the bigint arithmetic (leaf numbers, TDX_SUCCESS): high word 0.
    return mixNumber(mixNumber(h, Number(v)), 0);
  }
  return mixNumber(mixNumber(h, Number(v & 0xffffffffn)), Number((v >> 32n) & 0xffffffffn));
}

/** Strings hashed so far (event kinds, ops, labels): FNV-1a once per distinct short string. */
const stringHashes = new Map<string, number>();
const STRING_MEMO_MAX = 4096;
const STRING_MEMO_LEN = 64;

/**
 * A string's 32-bit hash (FNV-1a from the standard basis), memoized for short strings: the
 * value does not depend on the memo, which only saves hashing the same kind or op again.
 */
function stringHash(s: string): number {
  const known = stringHashes.get(s);
  if (known !== undefined) {
    return known;
  }
  const h = fnv1a32(s);
  if (s.length <= STRING_MEMO_LEN) {
    if (stringHashes.size >= STRING_MEMO_MAX) {
      stringHashes.clear();
    }
    stringHashes.set(s, h);
  }
  return h;
}

/** The last op `memWrite` hashed and its hash: callers repeat one op in long runs. */
let lastOp = '';
let lastOpHash = stringHash(lastOp);

/** stringHash(op) of an op that is not the last one, remembered (the caller checks `lastOp` first: inlined, the common case costs one comparison). */
function newOpHash(op: string): number {
  lastOpHash = stringHash(op);
  lastOp = op;
  return lastOpHash;
}

const KIND_SEAMCALL_ENTER = stringHash('seamcall.enter');
const KIND_SEAMCALL_EXIT = stringHash('seamcall.exit');
const KIND_MEM_WRITE = stringHash('mem.write');

/**
 * Fold one event's fields into a 32-bit hash: numbers directly, strings (the kind first) by
 * their string hash, bigints by value. The specialized emitters below fold the same fields in
 * the same order, so an event hashes the same whether it is built or not.
 */
function hashEvent(ev: TraceEvent, seed: number): number {
  let h = seed;
  const o = ev as unknown as Record<string, unknown>;
  for (const k in o) {
    const v = o[k];
    if (typeof v === 'number') {
      h = mixNumber(h, v);
    } else if (typeof v === 'string') {
      h = mixNumber(h, stringHash(v));
    } else if (typeof v === 'bigint') {
      h = mixBigint(h, v);
    } else if (typeof v === 'boolean') {
      h = mixNumber(h, v ? 1 : 2);
    }
  }
  return h;
}

/**
 * Fan-out of trace events with an optional bounded recorder and a running hash used by the
 * determinism check (same seed, same hash).
 */
export class Tracer {
  private readonly listeners: TraceListener[] = [];
  /** The last `recordLimit` events: a ring once full, `recordHead` being the oldest. */
  private recorded: TraceEvent[] = [];
  private recordHead = 0;
  private hashLo = 0x811c9dc5;
  private hashHi = 0x01000193;
  private count = 0;

  /** @param recordLimit events kept in memory for reports (0 = none). */
  constructor(public recordLimit = 0) {}

  /** Subscribe; returns an unsubscribe function. */
  subscribe(fn: TraceListener): () => void {
    this.listeners.push(fn);
    return () => {
      const i = this.listeners.indexOf(fn);
      if (i >= 0) {
        this.listeners.splice(i, 1);
      }
    };
  }

  /** Emit one event. */
  emit(ev: TraceEvent): void {
    this.deliver(ev, hashEvent(ev, this.hashLo));
  }

  /** Fold an event whose hash the caller computed (as hashEvent would), record it, notify. */
  private deliver(ev: TraceEvent, hashLo: number): void {
    this.folded(hashLo);
    if (this.recordLimit > 0) {
      if (this.recorded.length < this.recordLimit) {
        this.unwrap();
        this.recorded.push(ev);
      } else {
        // Full: overwrite the oldest (no shifting of thousands of entries per event).
        this.recorded[this.recordHead] = ev;
        this.recordHead = (this.recordHead + 1) % this.recorded.length;
      }
    }
    for (const l of this.listeners) {
      l(ev);
    }
  }

  /** True when events are recorded or listened to (otherwise only their hash matters). */
  get observed(): boolean {
    return this.recordLimit > 0 || this.listeners.length > 0;
  }

  /** Fold an event's hash (computed by the caller, as hashEvent would) into the running hash. */
  private folded(hashLo: number): void {
    this.count++;
    this.hashLo = hashLo;
    this.hashHi = mixNumber(this.hashHi ^ this.count, hashLo);
  }

  /**
   * `emit({ kind: 'seamcall.enter', t, cpu, leaf, rax })`, building the event only when someone
   * records or listens: the hot path of every SEAMCALL. Same hash either way.
   */
  seamcallEnter(t: number, cpu: number, leaf: number, rax: bigint): void {
    const h = mixBigint(mixNumber(mixNumber(mixNumber(mixNumber(this.hashLo, KIND_SEAMCALL_ENTER), t), cpu), leaf), rax);
    if (this.observed) {
      this.deliver({ kind: 'seamcall.enter', t, cpu, leaf, rax }, h);
      return;
    }
    this.folded(h);
  }

  /** `emit({ kind: 'seamcall.exit', t, cpu, leaf, status })`, lazily (see seamcallEnter). */
  seamcallExit(t: number, cpu: number, leaf: number, status: bigint): void {
    const h = mixBigint(mixNumber(mixNumber(mixNumber(mixNumber(this.hashLo, KIND_SEAMCALL_EXIT), t), cpu), leaf), status);
    if (this.observed) {
      this.deliver({ kind: 'seamcall.exit', t, cpu, leaf, status }, h);
      return;
    }
    this.folded(h);
  }

  /** `emit({ kind: 'mem.write', t, cpu, pa, len, keyId, op })`, lazily (see seamcallEnter). */
  memWrite(t: number, cpu: number, pa: number, len: number, keyId: number, op: string): void {
    const h = mixNumber(mixNumber(mixNumber(mixNumber(mixNumber(mixNumber(mixNumber(this.hashLo, KIND_MEM_WRITE), t), cpu), pa), len), keyId), op === lastOp ? lastOpHash : newOpHash(op));
    if (this.observed) {
      this.deliver({ kind: 'mem.write', t, cpu, pa, len, keyId, op }, h);
      return;
    }
    this.folded(h);
  }

  /** Fold a raw number into the hash without emitting an event (fast path). */
  mix(n: number): void {
    this.hashLo = Math.imul(this.hashLo ^ n, 0x01000193) >>> 0;
  }

  /** The running hash as 16 hex digits. */
  get hash(): string {
    return (this.hashHi >>> 0).toString(16).padStart(8, '0') + (this.hashLo >>> 0).toString(16).padStart(8, '0');
  }

  /** Events emitted so far. */
  get eventCount(): number {
    return this.count;
  }

  /** Recorded events (bounded). */
  events(): readonly TraceEvent[] {
    this.unwrap();
    return this.recorded;
  }

  /** Put the ring back in order, oldest first. */
  private unwrap(): void {
    if (this.recordHead !== 0) {
      this.recorded = [...this.recorded.slice(this.recordHead), ...this.recorded.slice(0, this.recordHead)];
      this.recordHead = 0;
    }
  }
}
