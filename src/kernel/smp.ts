/**
 * Cross-CPU primitives the TDX host code uses, as scheduler-visible programs: a sleeping
 * mutex, running a function on another CPU and waiting for it (smp_call_on_cpu), running one on
 * every online CPU (on_each_cpu), and WBINVD everywhere. Each send, wait and lock operation is
 * a point where other CPUs may run.
 * @see linux kernel/smp.c, kernel/locking/mutex.c, arch/x86/lib/cache-smp.c
 */
import { assert } from '../base/assert.js';
import type { Cpu } from '../platform/Cpu.js';
import type { Prog } from '../platform/Exec.js';
import { waitUntil } from '../platform/Exec.js';
import type { Platform } from '../platform/Platform.js';

/** A sleeping lock; contention is a 'wait' step until the owner unlocks. */
export class Mutex {
  private owner: number | undefined;
  /** How many lock() calls had to wait (for tests and reports). */
  contended = 0;

  constructor(readonly name: string) {}

  /** mutex_lock(). */
  *lock(cpu: Cpu): Prog {
    yield { op: 'yield', label: `mutex_lock(${this.name})` };
    if (this.owner !== undefined) {
      this.contended++;
      yield* waitUntil(() => this.owner === undefined, Infinity, `mutex_lock(${this.name})`);
    }
    // The wait resumed with the lock free and nothing ran in between: take it now.
    assert(this.owner === undefined, `mutex ${this.name}: taken while held`);
    this.owner = cpu.id;
  }

  /** mutex_unlock(). */
  unlock(cpu: Cpu): void {
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
  const box: CallBox<T> = { done: false, result: undefined };
  platform.sendIpi(from, target, 'CALL_FUNCTION', () => callAndStore(fn, target, box));
  yield* waitUntil(() => box.done, Infinity, `smp_call_on_cpu(${target.id})`);
  return box.result as T;
}

/** Where a cross-CPU call leaves its result. */
interface CallBox<T> {
  done: boolean;
  result: T | undefined;
}

/*
 * The work an IPI carries is a module-level generator applied to its arguments, never a
 * generator function created per call: measured on Node 20, such a closure keeps what it
 * captured (a whole explored machine) alive until a full GC (docs/architecture.md, Snapshots).
 */
function* callAndStore<T>(fn: (cpu: Cpu) => Prog<T>, target: Cpu, box: CallBox<T>): Prog {
  box.result = yield* fn(target);
  box.done = true;
}

/** on_each_cpu()'s work on one remote CPU: run it, then count it done. */
function* callAndCount(fn: (cpu: Cpu) => Prog<unknown>, target: Cpu, counter: { pending: number }): Prog {
  yield* fn(target);
  counter.pending--;
}

/**
 * Run `fn` on every online CPU (the caller included) and wait for all of them.
 * @see linux on_each_cpu()
 */
export function* on_each_cpu(platform: Platform, from: Cpu, fn: (cpu: Cpu) => Prog<unknown>): Prog {
  const counter = { pending: 0 };
  for (const c of platform.cpus) {
    if (c === from || !c.online) {
      continue;
    }
    counter.pending++;
    platform.sendIpi(from, c, 'CALL_FUNCTION', () => callAndCount(fn, c, counter));
  }
  yield* fn(from);
  yield* waitUntil(() => counter.pending === 0, Infinity, 'on_each_cpu');
}

/**
 * WBINVD on every online CPU.
 * @see linux wbinvd_on_all_cpus()
 */
export function* wbinvd_on_all_cpus(platform: Platform, from: Cpu): Prog {
  yield* on_each_cpu(platform, from, (c) => platform.wbinvd(c));
}
