/** Option parsers shared by commands; they throw TdxsimError with the option's name. */
import type { Command } from 'commander';

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

/**
 * The options that choose the simulated machine and its randomness, shared by run, report,
 * explore and replay: `--platform`, `--kernel`, `--module`, `--seed`.
 */
export function machineOptions(cmd: Command): Command {
  return cmd
    .option('--platform <preset|file.json>', 'platform preset or description file')
    .option('--kernel <profile>', 'kernel profile (linux-6.18, linux-6.8, tdx-host-v8, tdx-host-rfc, cmr-holes)')
    .option('--module <profile>', 'TDX module profile (tdx-1.0, tdx-1.5, tdx-1.5-late)')
    .option('--seed <n>', 'seed for every random decision', parseUint('--seed'));
}
