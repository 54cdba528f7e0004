/**
 * Model-bug assertions. They are always on: a failed assertion means the *model* is wrong,
 * never that the simulated hardware or software misbehaved (that is a finding).
 * @see TigerBeetle TIGER_STYLE: assertions as documentation.
 */

/** Thrown when the model's own invariants break. The explorer classifies it as a crash. */
export class ModelBug extends Error {
  override readonly name = 'ModelBug';
  readonly code = 'TDXSIM_MODEL_BUG';
}

/** Throw ModelBug unless `cond` holds. */
export function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) {
    throw new ModelBug(msg);
  }
}

/** Throw ModelBug: a code path the model believes unreachable was reached. */
export function unreachable(what: never | string): never {
  throw new ModelBug(`unreachable: ${String(what)}`);
}
