/**
 * Transports: stdio (one session for the process) and TCP (one session per connection, loopback
 * by default). Flow control, fairness and the idle timeout live in Connection; the limits on
 * connections, machines and memory over the whole server live in ServerBudget.
 * @see docs/server.md
 */
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';

import { TdxsimError } from '../api/errors.js';
import { Connection } from './Connection.js';
import type { ServerLimits } from './protocol.js';
import { DEFAULT_LIMITS, errorReply } from './protocol.js';
import { ServerBudget } from './ServerBudget.js';
import { Session } from './Session.js';

/** How long a closing socket may take to flush its last reply before it is destroyed. */
const CLOSE_GRACE_MS = 5000;

/**
 * Serve one session over stdin/stdout until stdin closes, or until stdout's reader goes away
 * (EPIPE), which ends the session quietly. No idle timeout: the session is the process's own.
 */
export function serveStdio(limits: ServerLimits = DEFAULT_LIMITS, input: Readable = process.stdin, output: Writable = process.stdout): Promise<'end' | 'error'> {
  return new Promise((resolve) => {
    const conn = new Connection(input, output, new Session(limits), {
      idleTimeoutMs: 0,
      onClose: (why) => {
        if (why !== 'end') {
          input.destroy();
        }
        resolve(why === 'end' ? 'end' : 'error');
      },
    });
    conn.start();
  });
}

/** Options of serveTcp. */
export interface TcpOptions {
  readonly port: number;
  /** Default 127.0.0.1 (loopback only). */
  readonly host?: string;
  readonly limits?: ServerLimits;
}

/** A listening server and what it holds. */
export interface TcpServer {
  readonly server: Server;
  readonly address: AddressInfo;
  readonly budget: ServerBudget;
}

function closeSoon(sock: Socket, last?: string): void {
  if (last === undefined) {
    sock.end();
  } else {
    sock.end(last);
  }
  setTimeout(() => sock.destroy(), CLOSE_GRACE_MS).unref();
}

function onConnection(sock: Socket, limits: ServerLimits, budget: ServerBudget): void {
  sock.on('error', () => sock.destroy());
  if (budget.connections >= limits.maxConnections) {
    closeSoon(sock, `${errorReply(null, 'TDXSIM_TOO_MANY_CONNECTIONS', `the server already has ${budget.connections} connections (limit ${limits.maxConnections}, --max-connections); try again later`)}\n`);
    return;
  }
  budget.connections++;
  sock.setNoDelay(true);
  const conn = new Connection(sock, sock, new Session(limits, budget), {
    idleTimeoutMs: limits.idleTimeoutMs,
    onIdle: () => closeSoon(sock),
    onClose: (why) => {
      budget.connections--;
      if (why === 'end') {
        closeSoon(sock);
      } else if (why === 'error') {
        sock.destroy();
      }
    },
  });
  sock.on('close', () => conn.close('error'));
  conn.start();
}

/** The message for a listen error, naming the address and the problem. */
function listenProblem(e: NodeJS.ErrnoException, host: string, port: number): string {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch (e.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${where}: port ${port} is in use (choose another with --port, or --port 0 for any free port)`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: ${host} is not an address of this machine (--host)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot listen on ${where}: host "${host}" does not resolve (--host)`;
    case 'EACCES':
      return `cannot listen on ${where}: permission denied (ports below 1024 need privileges)`;
    default:
      return `cannot listen on ${where}: ${e.code ?? e.message}`;
  }
}

/**
 * Listen on TCP; each connection gets its own session. Resolves once listening; a listen error
 * (port in use, no such address) rejects with a TdxsimError (TDXSIM_LISTEN).
 */
export function serveTcp(opts: TcpOptions): Promise<TcpServer> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const host = opts.host ?? '127.0.0.1';
  const budget = new ServerBudget(limits);
  // allowHalfOpen: a client may send its requests, then FIN, and still read every reply.
  const server = createServer({ allowHalfOpen: true }, (sock: Socket) => onConnection(sock, limits, budget));
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new TdxsimError('TDXSIM_LISTEN', listenProblem(e, host, opts.port))));
    server.listen(opts.port, host, () => {
      resolve({ server, address: server.address() as AddressInfo, budget });
    });
  });
}

/** True if `host` binds beyond this machine (anything but a loopback address or "localhost"). */
export function isNonLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  return !(h === 'localhost' || h === '::1' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h));
}
