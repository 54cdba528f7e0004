/**
 * The JSON-lines protocol of `tdxsim serve`: one JSON object per line each way. Requests are
 * `{"id", "method", "params"}`; replies are `{"id", "result"}` or `{"id", "error": {"code",
 * "message"}}`. 64-bit values are hex strings ("0x..."), byte strings are hex.
 * @see docs/server.md
 */
import { TdxsimError } from '../api/errors.js';

/** Limits of one server: per connection and in total (documented in docs/server.md). */
export interface ServerLimits {
  /** Machines alive at once on one connection. */
  readonly maxMachines: number;
  /** Longest request line in bytes (the newline excluded). */
  readonly maxLineBytes: number;
  /** Largest mem.write / mem.read in bytes. */
  readonly maxMemBytes: number;
  /** Simulated-memory footprint (estimated bytes) of one connection's machines. */
  readonly maxConnMemBytes: number;
  /** Simulated-memory footprint of every machine of the server together. */
  readonly maxTotalMemBytes: number;
  /** Machines alive at once on the whole server. */
  readonly maxTotalMachines: number;
  /** TCP connections open at once; the next one gets TDXSIM_TOO_MANY_CONNECTIONS and is closed. */
  readonly maxConnections: number;
  /**
   * A TCP connection that completes no request line and reads no reply for this long is closed
   * (slow-loris, never-reading and forgotten clients). 0 disables. Not applied to --stdio.
   */
  readonly idleTimeoutMs: number;
}

/**
 * Defaults: generous for scripted hosts, small enough that one client cannot exhaust the server.
 * With them the server's own footprint stays near 1.2 GiB in the worst case (1 GiB of machines,
 * 1,024 connections with at most about 1 MiB of queued output each).
 */
export const DEFAULT_LIMITS: ServerLimits = {
  maxMachines: 8,
  maxLineBytes: 4 * 1024 * 1024,
  maxMemBytes: 1024 * 1024,
  maxConnMemBytes: 256 * 1024 * 1024,
  maxTotalMemBytes: 1024 * 1024 * 1024,
  maxTotalMachines: 2048,
  maxConnections: 1024,
  idleTimeoutMs: 300_000,
};

/** A request id as the client sent it (echoed back). */
export type RequestId = string | number | null;

/** Error reply. */
export function errorReply(id: RequestId, code: string, message: string): string {
  return JSON.stringify({ id, error: { code, message } });
}

/** Success reply. */
export function resultReply(id: RequestId, result: unknown): string {
  return JSON.stringify({ id, result });
}

function bad(message: string): TdxsimError {
  return new TdxsimError('TDXSIM_BAD_PARAMS', message);
}

/** The params object of a request (missing params = {}). */
export type Params = Readonly<Record<string, unknown>>;

/** A 64-bit value: "0x..." hex string (or a non-negative safe integer). */
export function u64Param(p: Params, name: string, dflt?: bigint, at = 'params'): bigint {
  const v = p[name];
  if (v === undefined && dflt !== undefined) {
    return dflt;
  }
  if (typeof v === 'string' && /^0x[0-9a-fA-F]{1,16}$/.test(v)) {
    return BigInt(v);
  }
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) {
    return BigInt(v);
  }
  throw bad(`${at}.${name}: expected a 64-bit value as a hex string such as "0x1f", got ${JSON.stringify(v) ?? 'nothing'}`);
}

/** A physical address or length (below 2^53). */
export function numParam(p: Params, name: string, dflt?: number): number {
  const v = p[name];
  if (v === undefined && dflt !== undefined) {
    return dflt;
  }
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) {
    return v;
  }
  if (typeof v === 'string' && /^0x[0-9a-fA-F]{1,16}$/.test(v)) {
    const n = Number(BigInt(v));
    if (Number.isSafeInteger(n)) {
      return n;
    }
  }
  throw bad(`params.${name}: expected a non-negative integer or hex string below 2^53, got ${JSON.stringify(v) ?? 'nothing'}`);
}

/** Optional number parameter. */
export function optNum(p: Params, name: string): number | undefined {
  return p[name] === undefined ? undefined : numParam(p, name);
}

/** A string parameter. */
export function strParam(p: Params, name: string): string {
  const v = p[name];
  if (typeof v !== 'string' || v.length === 0) {
    throw bad(`params.${name}: expected a non-empty string, got ${JSON.stringify(v) ?? 'nothing'}`);
  }
  return v;
}

/** An optional boolean parameter. */
export function optBool(p: Params, name: string): boolean | undefined {
  const v = p[name];
  if (v === undefined) {
    return undefined;
  }
  if (typeof v !== 'boolean') {
    throw bad(`params.${name}: expected true or false, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Hex bytes ("0a1b..." or "0x0a1b..."). */
export function bytesParam(p: Params, name: string, max: number): Uint8Array {
  const v = p[name];
  if (typeof v !== 'string') {
    throw bad(`params.${name}: expected a hex string of bytes, got ${JSON.stringify(v) ?? 'nothing'}`);
  }
  const h = v.startsWith('0x') ? v.slice(2) : v;
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) {
    throw bad(`params.${name}: expected an even number of hex digits`);
  }
  if (h.length / 2 > max) {
    throw new TdxsimError('TDXSIM_WRITE_TOO_LARGE', `params.${name}: ${h.length / 2} bytes is more than the limit of ${max} bytes per request; split the write`);
  }
  return Uint8Array.from(Buffer.from(h, 'hex'));
}

/** Format a 64-bit value as "0x%016x". */
export function hex64(v: bigint): string {
  return `0x${v.toString(16).padStart(16, '0')}`;
}
