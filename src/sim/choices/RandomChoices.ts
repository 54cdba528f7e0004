/**
 * Seeded random choices, recording the path taken so that the run can be replayed.
 */
import type { ChoiceSource } from '../../base/choice.js';
import type { Prng } from '../../base/prng.js';

/** Random choice source that records its path. */
export class RandomChoices implements ChoiceSource {
  readonly path: number[] = [];
  constructor(private readonly prng: Prng) {}
  choose(n: number): number {
    if (n <= 1) {
      return 0;
    }
    const k = this.prng.int(n);
    this.path.push(k);
    return k;
  }
}
