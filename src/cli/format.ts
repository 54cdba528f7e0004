/** Human-readable rendering of run results. */
import type { RunResult } from '../api/index.js';
import { seamcallLines } from '../api/index.js';

/** Render a run result for a terminal; `replay` gives the command that replays a finding of a run. */
export function formatRunResult(r: RunResult, replay: (runName: string, seed: number, path: string) => string, seamcalls = false): string {
  const out: string[] = [];
  for (const run of r.runs) {
    if (r.runs.length > 1 || run.name !== r.scenario) {
      out.push(`== ${r.scenario} / ${run.name}`);
    }
    out.push(...run.dmesgFormatted);
    if (seamcalls) {
      const lines = seamcallLines(run.trace);
      out.push(`-- SEAMCALLs (${lines.length}):`, ...lines.map((l) => `   ${l}`));
    }
    for (const n of run.notes) {
      out.push(`-- note: ${n}`);
    }
    if (run.findings.length === 0) {
      out.push('-- no findings');
    }
    for (const f of run.findings) {
      out.push(`-- FINDING [${f.class}] ${f.message}`);
      out.push(`   replay: ${replay(run.name, f.seed, f.path)}`);
    }
    if (run.findings.some((f) => f.class === 'cpu-still-running') && run.timeline.length > 0) {
      out.push('-- timeline (end of the old kernel):', ...run.timeline.map((l) => `   ${l}`));
    }
    out.push('');
  }
  const exp = r.expected.length === 0 ? 'no findings' : r.expected.join(', ');
  out.push(`verdict: ${r.verdict} (expected: ${exp}; found: ${r.findings.length === 0 ? 'none' : [...new Set(r.findings.map((f) => f.class))].join(', ')})`);
  return `${out.join('\n')}\n`;
}

/** The --json form. */
export function runResultJson(r: RunResult, seamcalls = false): unknown {
  const one = r.runs.length === 1 ? r.runs[0] : undefined;
  return {
    scenario: r.scenario,
    verdict: r.verdict,
    seed: r.seed,
    expected: r.expected,
    dmesg: one?.dmesg ?? r.runs.flatMap((x) => x.dmesg),
    findings: r.findings,
    stats: one?.stats ?? Object.fromEntries(r.runs.map((x) => [x.name, x.stats])),
    notes: one?.notes ?? r.runs.flatMap((x) => x.notes),
    runs: r.runs.map((x) => ({ name: x.name, path: x.path, traceHash: x.traceHash, dmesg: x.dmesg, notes: x.notes, findings: x.findings, stats: x.stats, ...(seamcalls ? { seamcalls: seamcallLines(x.trace) } : {}) })),
  };
}
