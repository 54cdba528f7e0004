/**
 * The worker thread of `tdxsim run` and `tdxsim report`: it runs the scenario (or builds the
 * report model) and posts each step as it starts and then the result, so the main thread stays
 * free to print progress and to answer SIGINT/SIGTERM with a summary.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { buildReport } from '../api/report.js';
import { run } from '../api/run.js';
import type { ReportRequest } from '../api/report.js';

/** What the main thread hands the worker. */
export interface RunWorkerInput {
  readonly kind: 'run' | 'report';
  readonly req: ReportRequest;
}

const input = workerData as RunWorkerInput;
const port = parentPort;
try {
  const req = { ...input.req, onStep: (step: unknown): void => port?.postMessage({ type: 'step', step }) };
  const result = input.kind === 'run' ? run(req) : buildReport(req);
  port?.postMessage({ type: 'done', result });
} catch (e) {
  const err = e as { name?: unknown; code?: unknown; message?: unknown; stack?: unknown };
  port?.postMessage({ type: 'error', name: String(err.name ?? 'Error'), code: typeof err.code === 'string' ? err.code : undefined, message: String(err.message ?? e), stack: String(err.stack ?? '') });
}
