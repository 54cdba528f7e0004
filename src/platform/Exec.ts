/**
 * What simulated code yields to the scheduler. Everything a CPU runs (kernel and module) is
 * a generator of Steps composed with `yield*`; a `yield` marks a point where another CPU may
 * run. The scheduler (sim/Scheduler.ts) gives each CPU's generator the answer to its step.
 */

/**
 * A scheduling point. A step's `label` names what the CPU does when it *resumes* from that
 * point ("cpus_stop_mask", "seamcall", ...). Labels starting with "local:" promise that the next
 * stretch of code touches only this CPU's own state; exploration uses that to skip redundant
 * interleavings (sleep sets).
 */
export type Step =
  /** Consume simulated time on this CPU (also a preemption point). */
  | { readonly op: 'tick'; readonly ns: number; readonly label?: string }
  /** A preemption point that takes no time. */
  | {
      readonly op: 'yield';
      readonly label?: string;
      /**
       * Loop-carried local state the program keeps across this point (e.g. the position of a
       * for_each_cpu walk). It is part of the CPU's history for state fingerprints: two CPUs
       * with the same labels but different local state must not look alike.
       */
      readonly local?: string;
    }
  /**
   * Block until `until()` is true (resumes with `true`) or `timeoutNs` of simulated time has
   * passed (resumes with `false`). `Infinity` waits forever. In exploration the timeout is a
   * choice.
   */
  | { readonly op: 'wait'; readonly until: () => boolean; readonly timeoutNs: number; readonly label: string }
  /** HLT: sleep until an interrupt (or NMI) arrives; resumes after its handler returns. */
  | { readonly op: 'halt' }
  /** This CPU stops executing for good (e.g. jumped into a dead loop with interrupts off). */
  | { readonly op: 'dead'; readonly label: string }
  /**
   * Call a subroutine (use `call()`, not this step directly). Not a scheduling point: the
   * runner starts `prog` at once, in the same step, and when it returns (or throws) resumes
   * the caller with its value (or exception), again in the same step. It means what `yield*`
   * means; the difference is cost: the callee's steps go straight to the runner instead of
   * resuming every caller frame on the way down and back up. Worth it where a callee takes
   * many steps under a deep stack (the SEAMCALL instruction, TDMR initialization).
   */
  | { readonly op: 'call'; readonly prog: Prog<unknown> };

/** The steps a runner acts on (calls are followed by `stepCalls`). */
export type PlainStep = Exclude<Step, { readonly op: 'call' }>;

/** A program or subroutine running on a simulated CPU. */
export type Prog<T = void> = Generator<Step, T, unknown>;

/** A program that yields nothing and returns `v` (for trivial branches). */
// eslint-disable-next-line require-yield
export function* done<T>(v: T): Prog<T> {
  return v;
}

/**
 * `yield* call(sub)` is `yield* sub` run by the scheduler as a separate generator frame: same
 * steps, same result, same exceptions, but each of `sub`'s steps costs O(1) instead of
 * O(depth of the caller's stack). @see the 'call' Step
 */
export function* call<T>(prog: Prog<T>): Prog<T> {
  return (yield { op: 'call', prog }) as T;
}

/**
 * Resume the innermost generator of a call stack with `input` and follow calls and returns
 * until it yields a real step (returned, with `stack` holding the generators below the one
 * that yielded it as callers) or the outermost generator returns (`done`). `gens` is the call
 * stack, outermost first; it is edited in place. An exception thrown by a callee is thrown
 * into its caller, as `yield*` would.
 */
export function stepCalls(gens: Prog<unknown>[], input: unknown): IteratorResult<PlainStep, unknown> {
  let gen = gens[gens.length - 1] as Prog<unknown>;
  let r: IteratorResult<Step, unknown>;
  let thrown = false;
  let error: unknown;
  let value: unknown = input;
  for (;;) {
    try {
      r = thrown ? gen.throw(error) : gen.next(value);
      thrown = false;
    } catch (e) {
      if (gens.length === 1) {
        throw e;
      }
      gens.pop();
      gen = gens[gens.length - 1] as Prog<unknown>;
      thrown = true;
      error = e;
      continue;
    }
    if (r.done === true) {
      if (gens.length === 1) {
        return r;
      }
      gens.pop();
      gen = gens[gens.length - 1] as Prog<unknown>;
      value = r.value;
      continue;
    }
    const step = r.value;
    if (step.op !== 'call') {
      return r as IteratorResult<PlainStep, unknown>; // narrowed by the check above
    }
    gen = step.prog;
    gens.push(gen);
    value = undefined;
  }
}

/** One tick of simulated time. */
export function* tick(ns: number, label?: string): Prog {
  yield label === undefined ? { op: 'tick', ns } : { op: 'tick', ns, label };
}

/** Block until `until()` or timeout; true if the condition was met. */
export function* waitUntil(until: () => boolean, timeoutNs: number, label: string): Prog<boolean> {
  if (until()) {
    return true;
  }
  const r = yield { op: 'wait', until, timeoutNs, label };
  return r === true;
}

/**
 * Run a program that must not block to completion, outside any scheduler (unit tests, the
 * SEAMCALL server). Ticks are summed; a wait whose condition is false times out at once.
 * @returns the program's result and the simulated time it consumed.
 */
export function runToCompletion<T>(prog: Prog<T>, maxSteps = 1e9): { value: T; ns: number } {
  let ns = 0;
  let input: unknown = undefined;
  const gens: Prog<unknown>[] = [prog];
  for (let i = 0; i < maxSteps; i++) {
    const r = stepCalls(gens, input);
    if (r.done === true) {
      return { value: r.value as T, ns };
    }
    const s = r.value;
    input = undefined;
    switch (s.op) {
      case 'tick':
        ns += s.ns;
        break;
      case 'yield':
        break;
      case 'wait':
        input = s.until();
        if (input === false && s.timeoutNs !== Infinity) {
          ns += s.timeoutNs;
        }
        if (input === false && s.timeoutNs === Infinity) {
          throw new Error(`runToCompletion: program waits forever at ${s.label}`);
        }
        break;
      case 'halt':
      case 'dead':
        throw new Error(`runToCompletion: program stopped (${s.op})`);
    }
  }
  throw new Error('runToCompletion: step budget exhausted');
}
