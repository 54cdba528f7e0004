/** Human-readable rendering of run results. */
import type { RunResult } from '../api/index.js';

/** Quote a path for a shell. */
function q(s: string): string {
  return s === '' ? '""' : s;
}

/** Render a run result for a terminal. */
export function formatRunResult(r: RunResult, invocation: string): string {
  const out: string[] = [];
  for (const run of r.runs) {
    if (r.runs.length > 1 || run.name !== r.scenario) {
      out.push(`== ${r.scenario} / ${run.name}`);
    }
    out.push(...run.dmesgFormatted);
    if (run.findings.length === 0) {
      out.push('-- no findings');
    }
    for (const f of run.findings) {
      out.push(`-- FINDING [${f.class}] ${f.message}`);
      out.push(`   replay: ${invocation} --seed ${f.seed} --path ${q(f.path)}`);
    }
    out.push('');
  }
  const exp = r.expected.length === 0 ? 'no findings' : r.expected.join(', ');
  out.push(`verdict: ${r.verdict} (expected: ${exp}; found: ${r.findings.length === 0 ? 'none' : [...new Set(r.findings.map((f) => f.class))].join(', ')})`);
  return `${out.join('\n')}\n`;
}

/** The --json form. */
export function runResultJson(r: RunResult): unknown {
  const one = r.runs.length === 1 ? r.runs[0] : undefined;
  return {
    scenario: r.scenario,
    verdict: r.verdict,
    seed: r.seed,
    expected: r.expected,
    dmesg: one?.dmesg ?? r.runs.flatMap((x) => x.dmesg),
    findings: r.findings,
    stats: one?.stats ?? Object.fromEntries(r.runs.map((x) => [x.name, x.stats])),
    runs: r.runs.map((x) => ({ name: x.name, path: x.path, traceHash: x.traceHash, dmesg: x.dmesg, findings: x.findings, stats: x.stats })),
  };
}
