/**
 * Report benchmark (issue 15): the HTML report of the default scenario on the largest preset
 * (8s-12t, 480 CPUs) against the plain run it draws, and the size of its model (the JSON embedded
 * in the page; the bench layer may not import the renderer in src/web).
 */
import { run } from '../api/run.js';
import { buildReport } from '../api/report.js';
import type { Bench } from './types.js';
import { timeMs } from './types.js';

export const reportBenches: Bench[] = [
  {
    name: 'report.default-8s-12t',
    target: 'the report costs at most 1.5 times the run it draws; its model stays under 2 MB of JSON',
    run() {
      const plain = timeMs(() => run({ scenario: 'default', platform: '8s-12t' }));
      const drawn = timeMs(() => JSON.stringify(buildReport({ scenario: 'default', platform: '8s-12t' }).model));
      const ratio = drawn.ms / plain.ms;
      const kb = Buffer.byteLength(drawn.value) / 1024;
      return { metrics: { runMs: plain.ms, reportMs: drawn.ms, ratio, modelKB: kb }, pass: ratio <= 1.5 && kb < 2048 };
    },
  },
];
