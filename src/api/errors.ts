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

/** True for TdxsimError (also across module copies). */
export function isTdxsimError(e: unknown): e is TdxsimError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === 'string' && (e as unknown as { code: string }).code.startsWith('TDXSIM_');
}
