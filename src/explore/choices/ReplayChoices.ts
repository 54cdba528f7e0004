/**
 * Replays a recorded choice path. Fails loudly when the path does not fit the run (a choice
 * out of range), which means the model or the inputs changed. Past the end of the path it
 * takes option 0, so a shrunk (shortened) path still runs to completion.
 * @see fast-check schedulerFor ("unable to find next task")
 */
import { ModelBug } from '../../base/assert.js';
import type { ChoiceSource } from '../../base/choice.js';

/** Replay choice source. */
export class ReplayChoices implements ChoiceSource {
  private i = 0;
  readonly taken: number[] = [];
  constructor(private readonly path: readonly number[]) {}
  choose(n: number, label: string): number {
    if (n <= 1) {
      return 0;
    }
    const k = this.i < this.path.length ? (this.path[this.i] as number) : 0;
    if (k >= n) {
      throw new ModelBug(`replay: choice ${this.i} is ${k} but only ${n} options exist at ${label}`);
    }
    this.i++;
    this.taken.push(k);
    return k;
  }
  /** Choices consumed so far. */
  get position(): number {
    return this.i;
  }
}
