/**
 * One exploration worker (`tdxsim explore --jobs N`, and the single search too, so that the
 * main thread stays free to take SIGINT/SIGTERM). It runs one shard of the search and posts
 * progress and the result; the main thread sets a shared flag to stop it.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { exploreScenario } from '../api/index.js';
import type { ExploreRequest } from '../api/index.js';

/** What the main thread hands a worker. */
export interface WorkerInput {
  readonly req: ExploreRequest;
  /** Int32Array[1]: non-zero asks the search to stop. */
  readonly stop: SharedArrayBuffer;
}

const input = workerData as WorkerInput;
const flag = new Int32Array(input.stop);
const port = parentPort;
const now = (): number => Number(process.hrtime.bigint() / 1_000_000n);
try {
  const r = exploreScenario({
    ...input.req,
    now,
    shouldStop: () => Atomics.load(flag, 0) !== 0,
    progressEveryMs: 1000,
    progress: (p) => port?.postMessage({ type: 'progress', progress: p }),
  });
  port?.postMessage({ type: 'done', result: r });
} catch (e) {
  const err = e as { code?: unknown; message?: unknown; stack?: unknown };
  port?.postMessage({ type: 'error', code: typeof err.code === 'string' ? err.code : undefined, message: String(err.message ?? e), stack: String(err.stack ?? '') });
}
