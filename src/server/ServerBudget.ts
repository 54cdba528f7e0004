/**
 * What the whole server holds, shared by its connections: open connections, live machines and
 * the estimated footprint of their simulated memory. Each Session charges and releases its own
 * share; a limit that is hit refuses the one request (or connection) that would cross it, with
 * a stable error code, and leaves every other connection alone.
 * @see docs/server.md "Limits"
 */
import { TdxsimError } from '../api/errors.js';
import type { ServerLimits } from './protocol.js';

/** Totals of one server. */
export class ServerBudget {
  connections = 0;
  machines = 0;
  memBytes = 0;

  constructor(readonly limits: ServerLimits) {}

  /** Throws TDXSIM_TOO_MANY_MACHINES when the server already has its maximum. */
  checkMachine(): void {
    if (this.machines >= this.limits.maxTotalMachines) {
      throw new TdxsimError('TDXSIM_TOO_MANY_MACHINES', `the server already has ${this.machines} machines (limit ${this.limits.maxTotalMachines} over all connections, --max-total-machines); try again later`);
    }
  }

  /** Throws TDXSIM_MEMORY_LIMIT when `growth` more bytes would cross the server's total. */
  checkMemory(growth: number): void {
    if (this.memBytes + growth > this.limits.maxTotalMemBytes) {
      throw new TdxsimError(
        'TDXSIM_MEMORY_LIMIT',
        `the server's machines hold about ${mib(this.memBytes)} of simulated memory; this request could add ${mib(growth)}, over the total limit of ${mib(this.limits.maxTotalMemBytes)} (--max-total-mem-bytes); try again later`,
      );
    }
  }
}

/** Bytes as MiB with one decimal. */
export function mib(n: number): string {
  return `${(n / 2 ** 20).toFixed(1)} MiB`;
}
