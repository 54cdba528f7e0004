/**
 * Transports: stdio (one session for the process) and loopback TCP (one session per
 * connection). Replies to the lines of one input chunk are written together.
 * @see docs/server.md
 */
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';

import { LineSplitter } from './LineSplitter.js';
import type { ServerLimits } from './protocol.js';
import { DEFAULT_LIMITS } from './protocol.js';
import { Session } from './Session.js';

function pump(input: Readable, output: Writable, limits: ServerLimits, onEnd: () => void): void {
  const session = new Session(limits);
  const split = new LineSplitter(limits.maxLineBytes);
  const handle = (events: ReturnType<LineSplitter['push']>): void => {
    if (events.length === 0) {
      return;
    }
    let out = '';
    for (const ev of events) {
      out += `${ev.kind === 'line' ? session.handleLine(ev.line) : session.lineTooLong(ev.bytes)}\n`;
    }
    output.write(out);
  };
  input.on('data', (chunk: Buffer | string) => handle(split.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)));
  input.on('end', () => {
    handle(split.end());
    onEnd();
  });
}

/** Serve one session over stdin/stdout until stdin closes. */
export function serveStdio(limits: ServerLimits = DEFAULT_LIMITS, input: Readable = process.stdin, output: Writable = process.stdout): Promise<void> {
  return new Promise((resolve) => {
    pump(input, output, limits, resolve);
  });
}

/** Options of serveTcp. */
export interface TcpOptions {
  readonly port: number;
  /** Default 127.0.0.1 (loopback only). */
  readonly host?: string;
  readonly limits?: ServerLimits;
}

/** Listen on TCP; each connection gets its own session. Resolves once listening. */
export function serveTcp(opts: TcpOptions): Promise<{ server: Server; address: AddressInfo }> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const server = createServer((sock: Socket) => {
    sock.setNoDelay(true);
    pump(sock, sock, limits, () => sock.end());
    sock.on('error', () => sock.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      resolve({ server, address: server.address() as AddressInfo });
    });
  });
}
