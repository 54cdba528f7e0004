/**
 * `tdxsim trace`: one execution as a Chrome/Perfetto trace file (scenario/chromeTrace.ts), for
 * ui.perfetto.dev, chrome://tracing or any tool that reads the Trace Event Format.
 */
import { chromeTrace } from '../scenario/chromeTrace.js';
import type { ChromeTrace } from '../scenario/chromeTrace.js';
import { recordExecution } from './execution.js';
import type { ExecutionRequest } from './execution.js';

/** Record the execution `req` names and convert it. */
export function traceScenario(req: ExecutionRequest): ChromeTrace {
  const x = recordExecution(req);
  const sc = x.scenario;
  return chromeTrace(x.events, {
    cpus: x.run.platform.cpus.map((c) => ({ id: c.id as number, packageId: c.packageId as number })),
    findings: x.outcome.findings,
    epochs: x.epochs,
    about: {
      tool: 'tdxsim',
      scenario: sc.name,
      platform: x.spec.name,
      kernel: x.kernel,
      seed: String(sc.seed),
      schedule: x.mode === 'explored' ? 'explored (as tdxsim replay)' : sc.schedule.policy,
      path: x.path,
      faults: x.faults,
      traceHash: x.outcome.traceHash,
      ...(x.droppedEvents > 0 ? { droppedEvents: `the first ${x.droppedEvents} events were not kept: the trace starts at t=${((x.events[0]?.t ?? 0) / 1e9).toFixed(6)} s with the last ${x.events.length}` } : {}),
    },
  });
}
