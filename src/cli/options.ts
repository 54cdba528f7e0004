/** Option parsers shared by commands; they throw TdxsimError with the option's name. */
import { TdxsimError } from '../api/index.js';

/** Parse a non-negative integer option. */
export function parseUint(name: string): (v: string) => number {
  return (v: string) => {
    if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v.trim())) {
      throw new TdxsimError('TDXSIM_BAD_ARGS', `${name} "${v}": expected a non-negative integer`);
    }
    const n = Number(BigInt(v.trim()));
    if (!Number.isSafeInteger(n)) {
      throw new TdxsimError('TDXSIM_BAD_ARGS', `${name} "${v}": too large`);
    }
    return n;
  };
}
