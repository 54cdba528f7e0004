/**
 * Running an exploration from the CLI: the search runs in worker threads (one per `--jobs`,
 * each a shard of the search; the results are merged as `tdxsim explore merge` does), so the
 * main thread can report progress (a line every 10 s on stderr off a terminal, a status line
 * on one) and stop the search on SIGINT or SIGTERM with a summary of what was done and what
 * remains.
 */
import { Worker } from 'node:worker_threads';

import { mergeExploreResults, TdxsimError } from '../api/index.js';
import type { ExploreRequest, ExploreResult } from '../api/index.js';
import type { WorkerInput } from './exploreWorker.js';

/** Progress as workers report it. */
interface Progress {
  readonly executions: number;
  readonly states: number;
  readonly depth: number;
  readonly elapsedMs: number;
  readonly fractionDone?: number;
  readonly remainingMs?: number;
}

type WorkerMessage = { type: 'progress'; progress: Progress } | { type: 'done'; result: ExploreResult } | { type: 'error'; code?: string; message: string; stack: string };

/** What the campaign ended with. */
export interface CampaignOutcome {
  readonly result: ExploreResult;
  /** The signal that stopped it, if one did. */
  readonly signal?: 'SIGINT' | 'SIGTERM';
}

/** Human duration: 3m12s, 1h04m. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) {
    return 'unknown';
  }
  const s = Math.round(ms / 1000);
  if (s < 60) {
    return `${s}s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  }
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One progress line from every worker's latest report. */
function progressLine(ps: readonly (Progress | undefined)[], t0: number): string {
  const got = ps.filter((p): p is Progress => p !== undefined);
  const ex = got.reduce((a, p) => a + p.executions, 0);
  const st = got.reduce((a, p) => a + p.states, 0);
  const fr = got.filter((p) => p.fractionDone !== undefined);
  const frac = fr.length === ps.length && fr.length > 0 ? fr.reduce((a, p) => a + (p.fractionDone ?? 0), 0) / fr.length : undefined;
  const rem = fr.length === ps.length && fr.length > 0 ? Math.max(...fr.map((p) => p.remainingMs ?? Infinity)) : undefined;
  const el = Date.now() - t0;
  return `explore: ${ex} executions, ${st} states, ${formatDuration(el)} elapsed${frac !== undefined ? `, ${(frac * 100).toFixed(1)}% done, about ${formatDuration(rem ?? Infinity)} remaining` : ''}`;
}

/**
 * Run the search in `jobs` workers and merge their results.
 * @throws TdxsimError when a worker fails on bad input
 */
export async function runCampaign(req: ExploreRequest, jobs: number, tty: boolean): Promise<CampaignOutcome> {
  const stop = new SharedArrayBuffer(4);
  const flag = new Int32Array(stop);
  const t0 = Date.now();
  const latest: (Progress | undefined)[] = Array.from({ length: jobs }, () => undefined);
  let signal: CampaignOutcome['signal'];
  const onSignal = (s: 'SIGINT' | 'SIGTERM') => (): void => {
    signal ??= s;
    Atomics.store(flag, 0, 1);
    process.stderr.write(`${tty ? '\r\x1b[K' : ''}explore: ${s}, stopping the search and summarizing\n`);
  };
  const sigint = onSignal('SIGINT');
  const sigterm = onSignal('SIGTERM');
  process.on('SIGINT', sigint);
  process.on('SIGTERM', sigterm);
  const timer = setInterval(
    () => {
      const line = progressLine(latest, t0);
      process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    },
    tty ? 500 : 10_000,
  );
  try {
    const results = await Promise.all(
      Array.from({ length: jobs }, (_, i) => {
        const shardReq: ExploreRequest = jobs === 1 ? req : { ...req, shard: { index: i, count: jobs } };
        const input: WorkerInput = { req: shardReq, stop };
        return new Promise<ExploreResult>((resolve, reject) => {
          const w = new Worker(new URL('./exploreWorker.js', import.meta.url), { workerData: input });
          w.on('message', (m: WorkerMessage) => {
            if (m.type === 'progress') {
              latest[i] = m.progress;
            } else if (m.type === 'done') {
              resolve(m.result);
            } else {
              // One worker failed: stop the others too.
              Atomics.store(flag, 0, 1);
              reject(m.code !== undefined ? new TdxsimError(m.code, m.message) : new Error(`explore worker ${i}: ${m.message}\n${m.stack}`));
            }
          });
          w.on('error', (e) => {
            Atomics.store(flag, 0, 1);
            reject(e);
          });
        });
      }),
    );
    const result = jobs === 1 ? (results[0] as ExploreResult) : mergeExploreResults(results);
    return { result, ...(signal !== undefined ? { signal } : {}) };
  } finally {
    clearInterval(timer);
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
    if (tty) {
      process.stderr.write('\r\x1b[K');
    }
  }
}
