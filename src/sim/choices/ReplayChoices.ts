/**
 * Replays a recorded choice path. Fails loudly when the path does not fit the run (a choice
 * out of range), which means the model or the inputs changed. Past the end of the path it
 * takes option 0, so a shrunk (shortened) path still runs to completion.
 * @see fast-check schedulerFor ("unable to find next task")
 */
import type { ChoiceSource } from '../../base/choice.js';

/**
 * A replayed path that does not fit the run: bad input (a mistyped `--path`, or one recorded
 * with other options), not a model bug. Its code makes the CLI exit 2 and the explorer's
 * shrinker treat the candidate as not failing.
 */
export class PathMismatch extends Error {
  override readonly name = 'PathMismatch';
  readonly code = 'TDXSIM_BAD_PATH';
}

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
      throw new PathMismatch(`--path does not fit this scenario: choice ${this.i} is ${k} but only ${n} options exist there (at ${label}); was it recorded with other options (--platform, --kernel, --module, --cpus, --faults, --seed)?`);
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
