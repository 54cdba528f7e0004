/**
 * Errors at the edges (CLI, server, library misuse) carry a stable `code`. The CLI maps them
 * to exit code 2 and prints only the message; the server copies the code into its replies.
 * @see vitest errors.ts; docs/conventions (rule 9)
 */

/** An error caused by the caller's input, with a stable code such as TDXSIM_BAD_SCENARIO. */
export class TdxsimError extends Error {
  override readonly name = 'TdxsimError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * True for TdxsimError (also across module copies): an error in the caller's input or
 * environment. A ModelBug (code TDXSIM_MODEL_BUG, a failed model assertion) is not one: the
 * CLI reports it as a bug (exit 3) and the server as TDXSIM_INTERNAL, never as bad input.
 */
export function isTdxsimError(e: unknown): e is TdxsimError {
  if (!(e instanceof Error) || e.name === 'ModelBug') {
    return false;
  }
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('TDXSIM_') && code !== 'TDXSIM_MODEL_BUG';
}
