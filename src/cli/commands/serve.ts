/**
 * `tdxsim serve --stdio | --port N [--host H]`: the SEAMCALL server, so that host code in any
 * language can drive the TDX module model over JSON lines.
 * @see docs/server.md
 */
import type { Command } from 'commander';

import { TdxsimError } from '../../api/errors.js';
// The serve command is the server's one entry point; it adapts CLI flags to server options.
import { DEFAULT_LIMITS, serveStdio, serveTcp } from '../../server/index.js';

interface ServeFlags {
  stdio?: boolean;
  port?: string;
  host: string;
  maxMachines: string;
  maxLineBytes: string;
  maxMemBytes: string;
}

function positive(name: string, v: string, max: number): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0 || n > max) {
    throw new TdxsimError('TDXSIM_BAD_ARGS', `--${name}: expected an integer from 0 to ${max}, got "${v}"`);
  }
  return n;
}

/** Register `serve`. */
export function registerServe(program: Command, _ctx?: unknown): void {
  program
    .command('serve')
    .description('run the SEAMCALL server: JSON lines over stdio or loopback TCP (see docs/server.md)')
    .option('--stdio', 'serve one session on stdin/stdout')
    .option('--port <n>', 'listen on TCP port n (0: any free port; the address is printed on stderr)')
    .option('--host <h>', 'TCP address to bind', '127.0.0.1')
    .option('--max-machines <n>', 'machines per connection', String(DEFAULT_LIMITS.maxMachines))
    .option('--max-line-bytes <n>', 'longest request line', String(DEFAULT_LIMITS.maxLineBytes))
    .option('--max-mem-bytes <n>', 'largest mem.write / mem.read', String(DEFAULT_LIMITS.maxMemBytes))
    .action(async (flags: ServeFlags) => {
      if ((flags.stdio === true) === (flags.port !== undefined)) {
        throw new TdxsimError('TDXSIM_BAD_ARGS', 'give exactly one of --stdio or --port N');
      }
      const limits = {
        maxMachines: positive('max-machines', flags.maxMachines, 1024),
        maxLineBytes: positive('max-line-bytes', flags.maxLineBytes, 256 * 1024 * 1024),
        maxMemBytes: positive('max-mem-bytes', flags.maxMemBytes, 64 * 1024 * 1024),
      };
      if (flags.stdio === true) {
        await serveStdio(limits);
        return;
      }
      const port = positive('port', flags.port ?? '', 65535);
      const { address } = await serveTcp({ port, host: flags.host, limits });
      process.stderr.write(`tdxsim serve: listening on ${address.address}:${address.port}\n`);
      await new Promise<never>(() => {
        // Serve until the process is killed.
      });
    });
}
