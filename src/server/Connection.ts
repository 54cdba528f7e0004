/**
 * One stream of requests and replies (a TCP connection or stdin/stdout) with flow control:
 *
 * - replies are written one by one, never joined into one string (a chunk of 64 KiB can hold
 *   hundreds of requests whose replies together pass V8's string limit);
 * - backpressure: while the output's buffer is full (`write()` returned false) no request is
 *   handled and the input is paused, so a client that does not read its replies stops being
 *   read, and what the server holds for it stays bounded (one input chunk, one reply and the
 *   stream's high-water mark);
 * - fairness: at most BATCH requests (or BATCH_MS) are handled before the event loop serves
 *   other connections;
 * - idle timeout: a connection that completes no request line and drains no reply for
 *   `idleTimeoutMs` is closed (slow-loris and never-reading clients);
 * - an output error (EPIPE: the reader went away) ends the stream quietly.
 * @see docs/server.md "Limits"
 */
import type { Readable, Writable } from 'node:stream';

import type { LineEvent } from './LineSplitter.js';
import { LineSplitter } from './LineSplitter.js';
import { errorReply } from './protocol.js';
import type { Session } from './Session.js';

/** Requests handled before yielding to the event loop. */
const BATCH = 64;
/** Wall-clock time spent on one connection before yielding to the event loop. */
const BATCH_MS = 20;

/** Options of a Connection. */
export interface ConnectionOptions {
  /** Close after this long without a complete request line or a drained reply (0: never). */
  readonly idleTimeoutMs: number;
  /** Called once when the stream is finished (input ended and replies flushed, an error, or a timeout). */
  readonly onClose: (why: 'end' | 'error' | 'idle') => void;
  /** Called for an idle timeout before onClose: end the transport (TCP: end then destroy the socket). */
  readonly onIdle?: () => void;
}

/** Drives one session over an input and an output stream. */
export class Connection {
  private readonly split: LineSplitter;
  private queue: LineEvent[] = [];
  private next = 0;
  private blocked = false;
  private scheduled = false;
  private inputEnded = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly input: Readable,
    private readonly output: Writable,
    private readonly session: Session,
    private readonly opts: ConnectionOptions,
  ) {
    this.split = new LineSplitter(session.limits.maxLineBytes);
  }

  /** Start reading. */
  start(): void {
    this.input.on('data', (chunk: Buffer | string) => this.onData(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
    this.input.on('end', () => {
      this.inputEnded = true;
      this.enqueue(this.split.end());
      this.schedule();
    });
    this.input.on('error', () => this.close('error'));
    this.output.on('error', () => this.close('error'));
    this.output.on('drain', () => {
      this.blocked = false;
      this.touch();
      this.schedule();
    });
    if (this.opts.idleTimeoutMs > 0) {
      this.timer = setTimeout(() => this.idle(), this.opts.idleTimeoutMs);
      this.timer.unref();
    }
  }

  private onData(chunk: Buffer): void {
    this.enqueue(this.split.push(chunk));
    if (this.next < this.queue.length) {
      // Handle this chunk's requests before reading the next chunk.
      this.input.pause();
      this.schedule();
    }
  }

  private enqueue(events: LineEvent[]): void {
    for (const ev of events) {
      this.queue.push(ev);
    }
  }

  private schedule(): void {
    if (!this.scheduled && !this.closed) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.pump();
      });
    }
  }

  /** Handle queued requests until the queue is empty, the output is full, or the batch is used up. */
  private pump(): void {
    const t0 = performance.now();
    let n = 0;
    while (!this.closed && !this.blocked && this.next < this.queue.length) {
      if (n >= BATCH || performance.now() - t0 > BATCH_MS) {
        this.schedule();
        return;
      }
      const ev = this.queue[this.next++] as LineEvent;
      const reply = ev.kind === 'line' ? this.session.handleLine(ev.line) : this.session.lineTooLong(ev.bytes);
      this.touch();
      n++;
      if (!this.output.write(`${reply}\n`)) {
        this.blocked = true;
      }
    }
    if (this.closed || this.blocked || this.next < this.queue.length) {
      return;
    }
    this.queue = [];
    this.next = 0;
    if (this.inputEnded) {
      this.close('end');
    } else {
      this.input.resume();
    }
  }

  /** A request was completed or a reply drained: the client is alive. */
  private touch(): void {
    this.timer?.refresh();
  }

  private idle(): void {
    if (this.closed) {
      return;
    }
    const secs = this.opts.idleTimeoutMs / 1000;
    if (!this.blocked) {
      this.output.write(`${errorReply(null, 'TDXSIM_IDLE_TIMEOUT', `no complete request for ${secs} s (--idle-timeout); closing the connection`)}\n`);
    }
    this.opts.onIdle?.();
    this.close('idle');
  }

  /** Finish: release the session's machines and memory, stop the timer, report once. */
  close(why: 'end' | 'error' | 'idle'): void {
    if (this.closed) {
      return;
    }
    this.closed = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
    }
    this.queue = [];
    this.session.close();
    this.opts.onClose(why);
  }
}
