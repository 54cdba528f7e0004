/**
 * Probabilistic concurrency testing: each CPU gets a random priority; the highest-priority
 * enabled CPU runs; at d-1 random change points the running CPU drops to the lowest priority.
 * Finds a bug of depth d with probability at least 1/(n·k^(d-1)).
 * @see Burckhardt, Kothari, Musuvathi, Nagarakatte, "A Randomized Scheduler with Probabilistic
 *      Guarantees of Finding Bugs" (ASPLOS 2010)
 */
import type { ChoiceSource, SchedAction } from '../../base/choice.js';
import type { Prng } from '../../base/prng.js';

/** PCT choice source; records its path for replay. */
export class PctChoices implements ChoiceSource {
  readonly path: number[] = [];
  private readonly prio = new Map<number, number>();
  private readonly changeAt: Set<number>;
  private step = 0;
  private low = 0;

  /**
   * @param cpus number of CPUs
   * @param depth bug depth d (number of priority change points + 1)
   * @param steps expected scheduling steps k (change points are drawn in [1, k])
   */
  constructor(
    private readonly prng: Prng,
    cpus: number,
    depth: number,
    steps: number,
  ) {
    const order = prng.shuffle([...Array(cpus).keys()]);
    order.forEach((cpu, i) => this.prio.set(cpu, depth + i));
    this.changeAt = new Set();
    for (let i = 0; i < depth - 1; i++) {
      this.changeAt.add(1 + prng.int(Math.max(1, steps)));
    }
    this.low = depth - 1;
  }

  choose(n: number): number {
    if (n <= 1) {
      return 0;
    }
    const k = this.prng.int(n);
    this.path.push(k);
    return k;
  }

  chooseAction(actions: readonly SchedAction[]): number {
    if (actions.length <= 1) {
      return 0;
    }
    this.step++;
    let best = 0;
    let bestP = -Infinity;
    actions.forEach((a, i) => {
      const p = this.prio.get(a.cpu) ?? 0;
      if (p > bestP) {
        bestP = p;
        best = i;
      }
    });
    if (this.changeAt.has(this.step)) {
      const cpu = (actions[best] as SchedAction).cpu;
      this.prio.set(cpu, this.low--);
      bestP = -Infinity;
      actions.forEach((a, i) => {
        const p = this.prio.get(a.cpu) ?? 0;
        if (p > bestP) {
          bestP = p;
          best = i;
        }
      });
    }
    // Among actions of the chosen CPU (step, interrupt, timeout), pick at random.
    const cpu = (actions[best] as SchedAction).cpu;
    const same = actions.map((a, i) => (a.cpu === cpu ? i : -1)).filter((i) => i >= 0);
    const k = same.length === 1 ? best : (same[this.prng.int(same.length)] as number);
    this.path.push(k);
    return k;
  }
}
