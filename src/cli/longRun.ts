/**
 * `tdxsim run` and `tdxsim report` in a worker thread, as `explore` runs its search: the main
 * thread prints progress (a line every 10 s on stderr off a terminal, a status line on one) and
 * answers SIGINT/SIGTERM with a summary of how far the run got (a run is all or nothing, so it
 * prints no partial result and writes no file) and exit code 130/143.
 */
import { Worker } from 'node:worker_threads';

import { isTdxsimError, TdxsimError } from '../api/index.js';
import type { StepProgress } from '../api/index.js';
import { formatDuration } from './exploreCampaign.js';
import type { RunWorkerInput } from './runWorker.js';

type Message = { type: 'step'; step: StepProgress } | { type: 'done'; result: unknown } | { type: 'error'; name: string; code?: string; message: string; stack: string };

/** How a run in the worker ended. */
export type LongRunOutcome<T> = { readonly result: T } | { readonly signal: 'SIGINT' | 'SIGTERM' };

/**
 * Milliseconds between progress lines: 10 s off a terminal, 1 s on one. TDXSIM_PROGRESS_MS
 * overrides both (the tests use it to see a line without waiting).
 */
function progressEveryMs(tty: boolean): number {
  const env = Number(process.env['TDXSIM_PROGRESS_MS']);
  return Number.isSafeInteger(env) && env > 0 ? env : tty ? 1000 : 10_000;
}

/** "step 3 of 5 (kexec)", with the variant when the scenario has several machines. */
function where(label: string, s: StepProgress | undefined): string {
  if (s === undefined) {
    return `${label}: preparing (reading and checking the scenario and platform)`;
  }
  return `${label}${s.run !== label ? ` / ${s.run}` : ''}: step ${s.index + 1} of ${s.count} (${s.op})`;
}

/** The error the worker reported, as the main thread would have thrown it. */
function rethrow(m: Extract<Message, { type: 'error' }>): Error {
  const e = m.code !== undefined ? new TdxsimError(m.code, m.message) : new Error(m.message);
  if (m.name === 'ModelBug' || !isTdxsimError(e)) {
    const bug = new Error(m.message);
    bug.name = m.name;
    bug.stack = m.stack;
    return bug;
  }
  return e;
}

/**
 * Run `input` in a worker; `label` names the run in progress lines ("run default"). Resolves
 * with the result, or with the signal that stopped it after the summary is printed.
 * @throws TdxsimError for bad input, Error for a bug in the model
 */
export async function runInWorker<T>(input: RunWorkerInput, label: string, tty: boolean, stopped: string): Promise<LongRunOutcome<T>> {
  const t0 = Date.now();
  let at: StepProgress | undefined;
  const w = new Worker(new URL('./runWorker.js', import.meta.url), { workerData: input });
  const line = (): string => `${input.kind}: ${where(label, at)}, ${formatDuration(Date.now() - t0)} elapsed`;
  const timer = setInterval(() => process.stderr.write(tty ? `\r${line()}\x1b[K` : `${line()}\n`), progressEveryMs(tty));
  let onSignal: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
  const sigint = (): void => onSignal?.('SIGINT');
  const sigterm = (): void => onSignal?.('SIGTERM');
  process.on('SIGINT', sigint);
  process.on('SIGTERM', sigterm);
  try {
    return await new Promise<LongRunOutcome<T>>((resolve, reject) => {
      onSignal = (s): void => {
        onSignal = undefined;
        process.stderr.write(`${tty ? '\r\x1b[K' : ''}${input.kind}: ${s} after ${formatDuration(Date.now() - t0)} at ${where(label, at)}; stopped, ${stopped}\n`);
        void w.terminate().then(() => resolve({ signal: s }));
      };
      w.on('message', (m: Message) => {
        if (m.type === 'step') {
          at = m.step;
        } else if (m.type === 'done') {
          resolve({ result: m.result as T });
        } else {
          reject(rethrow(m));
        }
      });
      w.on('error', reject);
    });
  } finally {
    clearInterval(timer);
    process.off('SIGINT', sigint);
    process.off('SIGTERM', sigterm);
    if (tty) {
      process.stderr.write('\r\x1b[K');
    }
  }
}
