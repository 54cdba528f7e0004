/**
 * One connection's worth of protocol: parses request lines, runs methods, formats replies.
 * Malformed input gets an error reply and the session goes on; an exception that is not a
 * TdxsimError (a model bug) is reported as TDXSIM_INTERNAL without ending the session.
 * The session charges its machines and their memory footprint to the server's budget.
 * @see docs/server.md
 */
import type { SeamMachine } from '../api/seam.js';
import { isTdxsimError, TdxsimError } from '../api/errors.js';
import type { SessionState } from './methods.js';
import { checkParamNames, METHODS } from './methods.js';
import type { RequestId, ServerLimits } from './protocol.js';
import { DEFAULT_LIMITS, errorReply, resultReply } from './protocol.js';
import { mib, ServerBudget } from './ServerBudget.js';

function isId(v: unknown): v is RequestId {
  return v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

/** A protocol session (one per stdio stream or TCP connection). */
export class Session implements SessionState {
  readonly machines = new Map<string, SeamMachine>();
  /** Footprint last charged per machine id. */
  private readonly charged = new Map<string, number>();
  memBytes = 0;
  private machineCount = 0;
  nextMachine = 1;

  constructor(
    readonly limits: ServerLimits = DEFAULT_LIMITS,
    readonly budget: ServerBudget = new ServerBudget(limits),
  ) {}

  /** Handle one request line; returns the reply line (without newline). */
  handleLine(line: string): string {
    let req: unknown;
    try {
      req = JSON.parse(line);
    } catch (e) {
      return errorReply(null, 'TDXSIM_PARSE_ERROR', `request is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof req !== 'object' || req === null || Array.isArray(req)) {
      return errorReply(null, 'TDXSIM_BAD_REQUEST', 'a request is a JSON object {"id": ..., "method": "...", "params": {...}}');
    }
    const r = req as Record<string, unknown>;
    const id = isId(r['id']) ? r['id'] : null;
    if (r['id'] !== undefined && !isId(r['id'])) {
      return errorReply(null, 'TDXSIM_BAD_REQUEST', 'id must be a string, a number or null');
    }
    const method = r['method'];
    if (typeof method !== 'string') {
      return errorReply(id, 'TDXSIM_BAD_REQUEST', 'missing "method" (a string such as "seamcall")');
    }
    const fn = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
    if (fn === undefined) {
      return errorReply(id, 'TDXSIM_UNKNOWN_METHOD', `unknown method "${method}" (known: ${Object.keys(METHODS).join(', ')})`);
    }
    const params = r['params'] ?? {};
    if (typeof params !== 'object' || params === null || Array.isArray(params)) {
      return errorReply(id, 'TDXSIM_BAD_PARAMS', '"params" must be an object');
    }
    try {
      checkParamNames(method, params as Record<string, unknown>);
      return resultReply(id, fn(this, params as Record<string, unknown>));
    } catch (e) {
      if (isTdxsimError(e)) {
        return errorReply(id, e.code, e.message);
      }
      const err = e as Error;
      return errorReply(id, 'TDXSIM_INTERNAL', `model bug while handling ${method}: ${err.name}: ${err.message}`);
    } finally {
      this.account();
    }
  }

  /** Throws TDXSIM_MEMORY_LIMIT if `growth` more bytes would cross this connection's or the server's limit. */
  checkMemory(growth: number): void {
    if (this.memBytes + growth > this.limits.maxConnMemBytes) {
      throw new TdxsimError(
        'TDXSIM_MEMORY_LIMIT',
        `this connection's machines hold about ${mib(this.memBytes)} of simulated memory; this request could add ${mib(growth)}, over the limit of ${mib(this.limits.maxConnMemBytes)} per connection (--max-conn-mem-bytes); destroy a machine with machine.destroy`,
      );
    }
    this.budget.checkMemory(growth);
  }

  /** Re-measure every machine's footprint and charge the difference to the budget. */
  private account(): void {
    let total = 0;
    for (const [id, m] of this.machines) {
      const now = m.footprintBytes();
      this.charged.set(id, now);
      total += now;
    }
    for (const id of this.charged.keys()) {
      if (!this.machines.has(id)) {
        this.charged.delete(id);
      }
    }
    this.budget.memBytes += total - this.memBytes;
    this.budget.machines += this.machines.size - this.machineCount;
    this.machineCount = this.machines.size;
    this.memBytes = total;
  }

  /** Release everything this session holds (the connection closed). */
  close(): void {
    this.machines.clear();
    this.account();
  }

  /** Reply for a line that exceeded the length limit (its content is discarded). */
  lineTooLong(bytes: number): string {
    return errorReply(null, 'TDXSIM_LINE_TOO_LONG', `request line of at least ${bytes} bytes exceeds the limit of ${this.limits.maxLineBytes} bytes; it was discarded`);
  }
}
