/**
 * Footprints: what one scheduler step read and wrote of the state other CPUs can see. The
 * platform records its hardware state (memory line ranges, each CPU's cache, pending
 * interrupts, the global write version, stale write-backs, the module behind SEAMCALL); the
 * kernel records its shared variables (the stop protocol's mask, stopping CPU, flags, counters
 * of cross-CPU calls); the scheduler records simulated time and marks steps that observe
 * everything (a timeout, whose firing depends on every other CPU's clock; the end of a program
 * the scenario waits for, after which the scenario inspects every CPU). Two steps of different
 * CPUs are dependent when their footprints conflict (one writes what the other reads or
 * writes); dynamic partial-order reduction (sim/choices/ExhaustiveChoices.ts) reverses exactly
 * those pairs. State a CPU alone touches (its registers, flags, per-CPU variables read only by
 * itself) needs no record: steps of one CPU are always ordered.
 * @see C. Flanagan, P. Godefroid, "Dynamic partial-order reduction for model checking
 *      software" (POPL 2005): the dependence relation of its race analysis
 */

/** One access to a shared variable; `i` is an element (a CPU's bit of a mask), -1 the whole. */
export interface Access {
  readonly v: string;
  readonly i: number;
  readonly w: boolean;
}

/** What one step touched. */
export interface StepFootprint {
  readonly cpu: number;
  /** The step observes or changes everything (conflicts with every step of another CPU). */
  readonly all: boolean;
  readonly acc: readonly Access[];
  /** Physical memory line ranges, as triples [first line, end line, 1 if written else 0]. */
  readonly mem: readonly number[];
}

/** Collects the footprint of the step running now; records nothing while off. */
export class FootprintRecorder {
  /** Recording (the scheduler turns it on around each step when a search asks for footprints). */
  on = false;
  /**
   * Every step conflicts with every other: set when the explored code includes shared state
   * nobody records (then reduction falls back to exploring every order).
   */
  coarse = false;
  private all = false;
  private acc: Access[] = [];
  private mem: number[] = [];
  /** Accesses reported since `begin()`, repeats included. */
  private touches = 0;

  /** Read of shared variable `v` (element `i`, or -1: all of it). */
  r(v: string, i = -1): void {
    if (this.on) {
      this.touches++;
      this.add(v, i, false);
    }
  }

  /** Write of shared variable `v` (element `i`, or -1: all of it). */
  w(v: string, i = -1): void {
    if (this.on) {
      this.touches++;
      this.add(v, i, true);
    }
  }

  /** Read of physical memory lines [l0, l1). */
  memR(l0: number, l1: number): void {
    if (this.on && l1 > l0) {
      this.touches++;
      this.mem.push(l0, l1, 0);
    }
  }

  /** Write of physical memory lines [l0, l1). */
  memW(l0: number, l1: number): void {
    if (this.on && l1 > l0) {
      this.touches++;
      this.mem.push(l0, l1, 1);
    }
  }

  /** The step depends on everything. */
  everything(): void {
    if (this.on) {
      this.touches++;
      this.all = true;
    }
  }

  /** Accesses reported since `begin()`, repeats included (to test whether a predicate reported any). */
  get count(): number {
    return this.touches;
  }

  /** Start recording a step. */
  begin(): void {
    this.on = true;
    this.all = false;
    this.acc = [];
    this.mem = [];
    this.touches = 0;
  }

  /** Stop recording and return the step's footprint. */
  end(cpu: number): StepFootprint {
    this.on = false;
    return { cpu, all: this.all || this.coarse, acc: this.acc, mem: this.mem };
  }

  private add(v: string, i: number, w: boolean): void {
    const last = this.acc[this.acc.length - 1];
    if (last !== undefined && last.v === v && last.i === i && (last.w || !w)) {
      return;
    }
    this.acc.push({ v, i, w });
  }
}

/** Do two accesses conflict (same variable, overlapping elements, at least one write)? */
function accessConflict(a: Access, b: Access): boolean {
  return a.v === b.v && (a.w || b.w) && (a.i < 0 || b.i < 0 || a.i === b.i);
}

/**
 * Are two steps dependent: same CPU (program order), or conflicting footprints? Independent
 * steps of different CPUs commute: either order leaves the same state and neither enables or
 * disables the other.
 */
export function dependent(a: StepFootprint, b: StepFootprint): boolean {
  if (a.cpu === b.cpu || a.all || b.all) {
    return true;
  }
  for (const x of a.acc) {
    for (const y of b.acc) {
      if (accessConflict(x, y)) {
        return true;
      }
    }
  }
  const am = a.mem;
  const bm = b.mem;
  for (let i = 0; i < am.length; i += 3) {
    for (let j = 0; j < bm.length; j += 3) {
      if ((am[i + 2] === 1 || bm[j + 2] === 1) && (am[i] as number) < (bm[j + 1] as number) && (bm[j] as number) < (am[i + 1] as number)) {
        return true;
      }
    }
  }
  return false;
}
