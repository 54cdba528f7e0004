/**
 * tdxsim as a library: every example of docs/api.md, in one strict TypeScript file that the test
 * suite compiles and runs (test/e2e/library-examples.spec.ts). Run it yourself with
 * `npx tsc -p examples && node examples/.build/library.js`.
 */
import { buildReport, compat, createSeamMachine, diagnose, explain, exploreScenario, isTdxsimError, namedScenario, plan, regsFrom, replayScenario, run, runJson } from 'tdxsim';
import type { RunJson, RunResult, ScenarioInput } from 'tdxsim';
import { renderReport } from 'tdxsim/web';

// Run an embedded scenario, then your own object; bad input is a TdxsimError with a code.
const r: RunResult = run({ scenario: 'kexec-mutant' });
console.log('run:', r.verdict, r.findings.map((f) => f.class).join(','));
// `tdxsim run --json` prints runJson(result): top-level dmesg, stats and notes, and one entry per machine.
const j: RunJson = runJson(r);
console.log('run json:', j.verdict, j.runs.length, j.dmesg.length === r.runs[0]?.dmesg.length);
const mine: ScenarioInput = { ...(namedScenario('bringup') as ScenarioInput), seed: 7 };
console.log('own scenario:', run({ scenarioObject: mine, platform: 'small-2s' }).verdict);
try {
  run({ scenario: 'nope' });
} catch (e) {
  if (!isTdxsimError(e)) {
    throw e;
  }
  console.log('bad input:', e.code);
}

// Explore, then replay the counterexample.
const x = exploreScenario({ scenario: 'kexec-race-2cpu', strategy: 'random', budget: 200 });
const cx = x.details.counterexample;
if (cx === undefined) {
  throw new Error('expected the stop race');
}
console.log('explore:', x.replay);
const again = replayScenario({ scenario: 'kexec-race-2cpu', path: cx.path });
console.log('replay:', again.execution.findings[0]?.class);

// The report (model, verdict as `run` gives it), and the HTML page `tdxsim report` writes.
const report = buildReport({ scenario: 'default' });
const html: string = renderReport(report.model);
console.log('report verdict:', report.verdict);
console.log('report:', html.startsWith('<!doctype html>'), html.length > 10_000);

// Operator tools.
console.log('plan:', plan({ input: 'ref' }).outcome);
console.log('explain:', explain({ status: '0xc000050000000000' }).name);
const dmesg = ['[    0.000000] Linux version 6.8.0-45-generic (buildd@lcy02) #45-Ubuntu SMP', '[    2.000000] virt/tdx: BIOS enabled: private KeyID range [32, 64)', '[    9.000000] virt/tdx: module not loaded'].join('\n');
console.log('diagnose:', diagnose({ text: dmesg, name: 'boot.log', reproduce: false }).classification.class);
console.log('compat:', compat({ kernels: ['linux-6.18'], modules: ['1.5.06'] }).cells.length);

// The SEAMCALL machine in-process.
const m = createSeamMachine({ platform: 'ref' });
const sc = m.seamcall(0, regsFrom({ rax: 0x21n }));
console.log('seamcall:', sc.outcome, sc.statusName);
m.memWrite(0x10001000, Uint8Array.of(1, 2, 3, 4));
const back = m.memRead(0x10001000, 4);
console.log('memory:', 'data' in back ? Buffer.from(back.data).toString('hex') : 'poison');
