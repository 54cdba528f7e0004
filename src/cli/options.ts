/** Option parsers shared by commands; they throw TdxsimError with the option's name. */
import type { Command } from 'commander';

import { checkKernelName, checkModuleName, TdxsimError } from '../api/index.js';

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
    .option('--kernel <kernel>', 'kernel profile (default: the scenario\'s, else linux-6.18): linux-6.18, linux-6.6, ubuntu-6.8-intel, linux-6.16, linux-7.1, linux-7.2, tdx-host-v8, tdx-host-rfc, and mutant-no-kexec-wbinvd (6.18 without kexec-time WBINVD, wrong on purpose) (tdxsim kernels; docs/kernel.md)', kernelArg('--kernel'))
    .option('--module <release>', 'TDX module release: 1.0, 1.5.01 ... 1.5.34, 2.0.02 ... 2.0.18, or RELEASE+sys-disable (default: the scenario\'s, the platform\'s, else the kernel\'s; tdxsim modules; docs/module.md)', moduleArg('--module'))
    .option('--seed <n>', 'seed for every random decision', parseUint('--seed'));
}

/** Print an alias's notice on stderr (stdout stays the command's output). */
function notice(n: string | undefined): void {
  if (n !== undefined) {
    process.stderr.write(`tdxsim: notice: ${n}\n`);
  }
}

/** Parse a kernel name or old alias (the alias's notice goes to stderr). */
export function kernelArg(option: string): (v: string) => string {
  return (v: string) => {
    const r = checkKernelName(v.trim(), option);
    notice(r.notice);
    return r.name;
  };
}

/** Parse a module release or old alias (the alias's notice goes to stderr). */
export function moduleArg(option: string): (v: string) => string {
  return (v: string) => {
    const r = checkModuleName(v.trim(), option);
    notice(r.notice);
    return r.name;
  };
}

/** Parse a comma-separated list with `one` (duplicates dropped, order kept). */
export function listArg(option: string, one: (option: string) => (v: string) => string): (v: string, prev?: string[]) => string[] {
  return (v: string, prev: string[] = []) => {
    const out = [...prev];
    for (const part of v.split(',')) {
      if (part.trim() === '') {
        throw new TdxsimError('TDXSIM_BAD_ARGS', `${option} "${v}": empty name in the list`);
      }
      const n = one(option)(part);
      if (!out.includes(n)) {
        out.push(n);
      }
    }
    return out;
  };
}
