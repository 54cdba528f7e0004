/**
 * `tdxsim explore` runs the search in this worker thread, so that the main thread stays free
 * to handle SIGINT and SIGTERM: a signal sets a shared flag that the search reads between
 * executions, and the main thread then prints the summary of what was explored so far.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { exploreScenario } from '../api/index.js';
import type { ExploreRequest } from '../api/index.js';

/** What the main thread sends. */
export interface ExploreWorkerData {
  readonly req: ExploreRequest;
  /** One Int32: non-zero asks the search to stop. */
  readonly stop: SharedArrayBuffer;
}

/** What the worker sends back. */
export type ExploreWorkerMessage =
  | { kind: 'progress'; p: { executions: number; states: number; depth: number; findings: number; elapsedMs: number } }
  | { kind: 'done'; r: ReturnType<typeof exploreScenario> }
  | { kind: 'error'; name: string; code?: string; message: string; stack?: string };

const data = workerData as ExploreWorkerData;
const port = parentPort;
const flag = new Int32Array(data.stop);
try {
  const r = exploreScenario({
    ...data.req,
    now: () => Number(process.hrtime.bigint() / 1_000_000n),
    shouldStop: () => Atomics.load(flag, 0) !== 0,
    progress: (p) => port?.postMessage({ kind: 'progress', p } satisfies ExploreWorkerMessage),
  });
  port?.postMessage({ kind: 'done', r } satisfies ExploreWorkerMessage);
} catch (e) {
  const err = e as Error & { code?: unknown };
  port?.postMessage({ kind: 'error', name: err.name, ...(typeof err.code === 'string' ? { code: err.code } : {}), message: err.message, ...(err.stack !== undefined ? { stack: err.stack } : {}) } satisfies ExploreWorkerMessage);
}
