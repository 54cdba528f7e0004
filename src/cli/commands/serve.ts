/**
 * `tdxsim serve --stdio | --port N [--host H]`: the SEAMCALL server, so that host code in any
 * language can drive the TDX module model over JSON lines.
 * @see docs/server.md
 */
import type { Command } from 'commander';

import { TdxsimError } from '../../api/errors.js';
// The serve command is the server's one entry point; it adapts CLI flags to server options.
import { DEFAULT_LIMITS, isNonLoopbackHost, serveStdio, serveTcp } from '../../server/index.js';
import type { ServerLimits } from '../../server/index.js';

interface ServeFlags {
  stdio?: boolean;
  port?: string;
  host: string;
  maxMachines: string;
  maxTotalMachines: string;
  maxLineBytes: string;
  maxMemBytes: string;
  maxConnMemBytes: string;
  maxTotalMemBytes: string;
  maxConnections: string;
  idleTimeout: string;
}

function positive(name: string, v: string, max: number): number {
  const t = v.trim();
  const n = /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > max) {
    throw new TdxsimError('TDXSIM_BAD_ARGS', `--${name}: expected an integer from 0 to ${max}, got "${v}"`);
  }
  return n;
}

function limitsOf(f: ServeFlags): ServerLimits {
  const GiB = 2 ** 30;
  return {
    maxMachines: positive('max-machines', f.maxMachines, 1024),
    maxTotalMachines: positive('max-total-machines', f.maxTotalMachines, 1_000_000),
    maxLineBytes: positive('max-line-bytes', f.maxLineBytes, 256 * 2 ** 20),
    maxMemBytes: positive('max-mem-bytes', f.maxMemBytes, 64 * 2 ** 20),
    maxConnMemBytes: positive('max-conn-mem-bytes', f.maxConnMemBytes, 1024 * GiB),
    maxTotalMemBytes: positive('max-total-mem-bytes', f.maxTotalMemBytes, 1024 * GiB),
    maxConnections: positive('max-connections', f.maxConnections, 1_000_000),
    idleTimeoutMs: positive('idle-timeout', f.idleTimeout, 7 * 24 * 3600) * 1000,
  };
}

const L = DEFAULT_LIMITS;

/**
 * The one line `serve --stdio` prints on stderr when a person types at it (stdin is a terminal):
 * how to start, since the server itself prints nothing until it reads a request.
 */
export function stdioHint(stdinIsTty: boolean): string | undefined {
  return stdinIsTty
    ? 'tdxsim serve: one JSON request per line; type {"id":1,"method":"server.info"} to start, {"id":2,"method":"machine.create","params":{"platform":"ref"}} for a machine; Ctrl-D ends (docs/server.md)\n'
    : undefined;
}

/** Register `serve`. */
export function registerServe(program: Command, _ctx?: unknown): void {
  program
    .command('serve')
    .description('run the SEAMCALL server: JSON lines over stdio or TCP (see docs/server.md)')
    .option('--stdio', 'serve one session on stdin/stdout')
    .option('--port <n>', 'listen on TCP port n (0: any free port; the address is printed on stderr)')
    .option('--host <h>', 'TCP address to bind (anything but loopback prints a warning: there is no authentication)', '127.0.0.1')
    .option('--max-machines <n>', 'machines per connection', String(L.maxMachines))
    .option('--max-total-machines <n>', 'machines over all connections', String(L.maxTotalMachines))
    .option('--max-line-bytes <n>', 'longest request line', String(L.maxLineBytes))
    .option('--max-mem-bytes <n>', 'largest mem.write / mem.read', String(L.maxMemBytes))
    .option('--max-conn-mem-bytes <n>', "simulated-memory footprint of one connection's machines", String(L.maxConnMemBytes))
    .option('--max-total-mem-bytes <n>', 'simulated-memory footprint of all machines', String(L.maxTotalMemBytes))
    .option('--max-connections <n>', 'TCP connections open at once', String(L.maxConnections))
    .option('--idle-timeout <s>', 'close a TCP connection with no complete request and no reply read for s seconds (0: never)', String(L.idleTimeoutMs / 1000))
    .addHelpText('after', '\nExit codes: 0 stdin closed (or its reader went away), 2 bad arguments or cannot listen (port in use, no such address).')
    .action(async (flags: ServeFlags) => {
      if ((flags.stdio === true) === (flags.port !== undefined)) {
        throw new TdxsimError('TDXSIM_BAD_ARGS', 'give exactly one of --stdio or --port N');
      }
      const limits = limitsOf(flags);
      if (flags.stdio === true) {
        const hint = stdioHint(process.stdin.isTTY === true);
        if (hint !== undefined) {
          process.stderr.write(hint);
        }
        await serveStdio(limits);
        return;
      }
      const port = positive('port', flags.port ?? '', 65535);
      if (isNonLoopbackHost(flags.host)) {
        process.stderr.write(
          `tdxsim serve: warning: --host ${flags.host} accepts connections from the network; the server has no authentication or encryption, so anyone who can reach the port can drive it (limits: ${limits.maxConnections} connections, ${limits.maxTotalMachines} machines, ${limits.maxTotalMemBytes} bytes of simulated memory)\n`,
        );
      }
      const { address } = await serveTcp({ port, host: flags.host, limits });
      process.stderr.write(`tdxsim serve: listening on ${address.address}:${address.port}\n`);
      await new Promise<never>(() => {
        // Serve until the process is killed.
      });
    });
}
