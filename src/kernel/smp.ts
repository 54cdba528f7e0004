/**
 * Cross-CPU primitives the TDX host code uses, as scheduler-visible programs: a sleeping
 * mutex, running a function on another CPU and waiting for it (smp_call_on_cpu), running one on
 * every online CPU (on_each_cpu), and WBINVD everywhere. Each send, wait and lock operation is
 * a point where other CPUs may run.
 * @see linux kernel/smp.c, kernel/locking/mutex.c, arch/x86/lib/cache-smp.c
 */
import { assert } from '../base/assert.js';
import type { FootprintRecorder } from '../base/footprint.js';
import type { Cpu } from '../platform/Cpu.js';
import type { Prog } from '../platform/Exec.js';
import { waitUntil } from '../platform/Exec.js';
import type { Platform } from '../platform/Platform.js';

/** A sleeping lock; contention is a 'wait' step until the owner unlocks. */
export class Mutex {
  private owner: number | undefined;
  /** How many lock() calls had to wait (for tests and reports). */
  contended = 0;

  /** Footprints (exploration): the lock word is shared. */
  fp: FootprintRecorder | undefined;

  constructor(readonly name: string) {}

  private free(): boolean {
    this.fp?.r(`mutex:${this.name}`);
    return this.owner === undefined;
  }

  /** mutex_lock(). */
  *lock(cpu: Cpu): Prog {
    yield { op: 'yield', label: `mutex_lock(${this.name})` };
    this.fp?.w(`mutex:${this.name}`);
    if (this.owner !== undefined) {
      this.contended++;
      yield* waitUntil(() => this.free(), Infinity, `mutex_lock(${this.name})`);
    }
    // The wait resumed with the lock free and nothing ran in between: take it now.
    assert(this.owner === undefined, `mutex ${this.name}: taken while held`);
    this.owner = cpu.id;
  }

  /** mutex_unlock(). */
  unlock(cpu: Cpu): void {
    this.fp?.w(`mutex:${this.name}`);
    assert(this.owner === cpu.id, `mutex ${this.name}: unlocked by CPU ${cpu.id}, owner ${String(this.owner)}`);
    this.owner = undefined;
  }

  /** The CPU holding it, if any. */
  get holder(): number | undefined {
    return this.owner;
  }
}

/**
 * Run `fn` on `target` and wait for its result. Another CPU gets a CALL_FUNCTION IPI carrying
 * the work; the caller sleeps until it is done. On the calling CPU itself the work runs inline.
 * @see linux smp_call_on_cpu()
 */
export function* smp_call_on_cpu<T>(platform: Platform, from: Cpu, target: Cpu, fn: (cpu: Cpu) => Prog<T>): Prog<T> {
  if (target === from) {
    return yield* fn(from);
  }
  const box: CallBox<T> = { done: false, result: undefined, fp: platform.fp, from: from.id };
  platform.sendIpi(from, target, 'CALL_FUNCTION', () => callAndStore(fn, target, box));
  yield* waitUntil(() => callDone(box), Infinity, `smp_call_on_cpu(${target.id})`);
  return box.result as T;
}

/** Where a cross-CPU call leaves its result. */
interface CallBox<T> {
  done: boolean;
  result: T | undefined;
  /** Footprints: the box is shared between caller `from` and the target. */
  readonly fp: FootprintRecorder;
  readonly from: number;
}

function callDone(box: CallBox<unknown>): boolean {
  box.fp.r('smp_call', box.from);
  return box.done;
}

/*
 * The work an IPI carries is a module-level generator applied to its arguments, never a
 * generator function created per call: measured on Node 20, such a closure keeps what it
 * captured (a whole explored machine) alive until a full GC (docs/architecture.md, Snapshots).
 */
function* callAndStore<T>(fn: (cpu: Cpu) => Prog<T>, target: Cpu, box: CallBox<T>): Prog {
  box.result = yield* fn(target);
  box.fp.w('smp_call', box.from);
  box.done = true;
}

/** on_each_cpu()'s work on one remote CPU: run it, then count it done. */
function* callAndCount(fn: (cpu: Cpu) => Prog<unknown>, target: Cpu, counter: CallCounter): Prog {
  yield* fn(target);
  counter.fp.w('on_each_cpu', counter.from);
  counter.pending--;
}

/** on_each_cpu()'s count of remote calls still running, shared by the caller and the targets. */
interface CallCounter {
  pending: number;
  readonly fp: FootprintRecorder;
  readonly from: number;
}

function allCalled(counter: CallCounter): boolean {
  counter.fp.r('on_each_cpu', counter.from);
  return counter.pending === 0;
}

/**
 * Run `fn` on every online CPU (the caller included) and wait for all of them.
 * @see linux on_each_cpu()
 */
export function* on_each_cpu(platform: Platform, from: Cpu, fn: (cpu: Cpu) => Prog<unknown>): Prog {
  const counter: CallCounter = { pending: 0, fp: platform.fp, from: from.id };
  platform.fp.r('online');
  for (const c of platform.cpus) {
    if (c === from || !c.online) {
      continue;
    }
    counter.pending++;
    platform.sendIpi(from, c, 'CALL_FUNCTION', () => callAndCount(fn, c, counter));
  }
  yield* fn(from);
  yield* waitUntil(() => allCalled(counter), Infinity, 'on_each_cpu');
}

/**
 * WBINVD on every online CPU.
 * @see linux wbinvd_on_all_cpus()
 */
export function* wbinvd_on_all_cpus(platform: Platform, from: Cpu): Prog {
  yield* on_each_cpu(platform, from, (c) => platform.wbinvd(c));
}
