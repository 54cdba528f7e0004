/**
 * `npm run bench`: runs every benchmark, prints a table and writes bench-results/results.json.
 * Usage: node dist/bench/main.js [name-substring...]
 */
import { mkdirSync, writeFileSync } from 'node:fs';

import { exploreBenches } from './explore.js';
import { kernelBenches } from './kernel.js';
import { moduleBenches } from './module.js';
import { platformBenches } from './platform.js';
import { tdBenches } from './td.js';
import { toolBenches } from './tools.js';
import type { Bench } from './types.js';
import { reportBenches } from './report.js';

const ALL: Bench[] = [...platformBenches, ...kernelBenches, ...moduleBenches, ...tdBenches, ...exploreBenches, ...toolBenches];

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  if (filters.includes('--help') || filters.includes('-h')) {
    console.log(`usage: node --expose-gc dist/bench/main.js [FILTER...]  (runs the benchmarks whose name contains a FILTER; all without one)\nbenchmarks: ${[...ALL, ...reportBenches].map((b) => b.name).join(', ')}`);
    return;
  }
  const chosen = [...ALL, ...reportBenches].filter((b) => filters.length === 0 || filters.some((f) => b.name.includes(f)));
  if (chosen.length === 0) {
    // Nothing to run: say so, and leave the previous results file alone.
    console.error(`no benchmark matches ${filters.map((f) => JSON.stringify(f)).join(', ')} (benchmarks: ${[...ALL, ...reportBenches].map((b) => b.name).join(', ')})`);
    process.exitCode = 2;
    return;
  }
  const results: Record<string, { target: string; pass: boolean; metrics: Record<string, number> }> = {};
  let failed = 0;
  for (const b of chosen) {
    const r = await b.run();
    results[b.name] = { target: b.target, pass: r.pass, metrics: r.metrics };
    if (!r.pass) {
      failed++;
    }
    const m = Object.entries(r.metrics)
      .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(2)}`)
      .join(' ');
    console.log(`${r.pass ? 'PASS' : 'MISS'} ${b.name}: ${m}  (target: ${b.target})`);
  }
  mkdirSync('bench-results', { recursive: true });
  writeFileSync('bench-results/results.json', `${JSON.stringify({ node: process.version, results }, null, 2)}\n`);
  console.log(`wrote bench-results/results.json (${chosen.length} benchmarks, ${failed} missed target)`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
