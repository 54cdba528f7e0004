/** Helpers for asserting on TdxsimError. */
import { isTdxsimError } from '../../src/api/errors.js';

/** Run `fn`, which must throw a TdxsimError; return its code and message. */
export function codeOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isTdxsimError(e)) {
      return { code: e.code, message: e.message };
    }
    throw e;
  }
  throw new Error('expected a TdxsimError');
}
