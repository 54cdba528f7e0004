/** `tdxsim trace SCENARIO -o trace.json`: one execution as a Chrome/Perfetto trace file. */
import type { Command } from 'commander';

import { namedScenario, TdxsimError, traceScenario } from '../../api/index.js';
import type { ExecutionRequest } from '../../api/index.js';
import type { CommandContext } from '../cli.js';
import { machineOptions, parseUint } from '../options.js';
import { writeOutput } from '../output.js';

/** The options of an execution to look at (trace, inspect). */
export interface ExecutionOpts {
  platform?: string;
  kernel?: string;
  module?: string;
  seed?: number;
  variant?: string;
  path?: string;
  faults?: string;
  cpus?: number;
  latency?: boolean;
  faultChoices?: string;
}

/** The scenario argument: an embedded name or a .json file (`-`: stdin). */
function scenarioSource(s: string): { file: string } | { scenario: string } {
  if (s.endsWith('.json') || s === '-') {
    return { file: s };
  }
  if (namedScenario(s) === undefined) {
    throw new TdxsimError('TDXSIM_UNKNOWN_SCENARIO', `"${s}" is neither an embedded scenario nor a .json file (tdxsim scenarios lists them)`);
  }
  return { scenario: s };
}

/** The execution request from the command line. */
export function executionRequest(scenario: string, o: ExecutionOpts): ExecutionRequest {
  if (o.faultChoices !== undefined && o.faultChoices !== 'binary' && o.faultChoices !== 'weighted') {
    throw new TdxsimError('TDXSIM_BAD_ARGS', `--fault-choices "${o.faultChoices}": expected binary or weighted`);
  }
  return {
    ...scenarioSource(scenario),
    ...(o.platform !== undefined ? { platform: o.platform } : {}),
    ...(o.kernel !== undefined ? { kernel: o.kernel } : {}),
    ...(o.module !== undefined ? { module: o.module } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.variant !== undefined ? { variant: o.variant } : {}),
    ...(o.path !== undefined ? { path: o.path } : {}),
    ...(o.faults !== undefined ? { faults: o.faults } : {}),
    ...(o.cpus !== undefined ? { cpus: o.cpus } : {}),
    ...(o.latency === false ? { latency: false } : {}),
    ...(o.faultChoices === 'binary' || o.faultChoices === 'weighted' ? { faultChoices: o.faultChoices } : {}),
  };
}

/** The options that pick an execution: the machine, a variant, and replay's path, faults and CPUs. */
export function executionOptions(cmd: Command): Command {
  return machineOptions(cmd)
    .option('--variant <name>', 'which variant (default: the first)')
    .option('--path <p>', 'replay this choice path as explore and replay do (timed up to the first kexec, crash or tdx.enable step, then free)')
    .option('--faults <f>', 'with --path: the fault plan (as printed by explore)')
    .option('--fault-choices <mode>', 'with --faults: binary (exhaustive search) or weighted')
    .option('--cpus <n>', 'resize the platform to N logical CPUs (as explore --cpus)', parseUint('--cpus'))
    .option('--no-latency', 'nominal interrupt latency only (as explore --no-latency)');
}

/** Register `trace`. */
export function registerTrace(program: Command, _ctx: CommandContext): void {
  executionOptions(
    program
      .command('trace')
      .description('record one execution as Chrome/Perfetto trace JSON (open it in ui.perfetto.dev or chrome://tracing): CPU tracks by package, SEAMCALL slices, IPI/NMI arrows, findings, kernel epochs')
      .argument('<scenario>', 'embedded scenario name or scenario .json file')
      .requiredOption('-o, --output <file>', 'trace file to write (written atomically; - for stdout)'),
  )
    .addHelpText('after', '\nExit codes: 0 trace written, 2 bad input or the file cannot be written.')
    .action((scenario: string, o: ExecutionOpts & { output: string }) => {
      const trace = traceScenario(executionRequest(scenario, o));
      const bytes = writeOutput(o.output, `${JSON.stringify(trace)}\n`);
      const dropped = trace.otherData['droppedEvents'];
      if (dropped !== undefined) {
        process.stderr.write(`tdxsim: warning: ${dropped}\n`);
      }
      if (o.output !== '-') {
        const findings = trace.traceEvents.filter((e) => e.cat === 'finding').map((e) => e.name.replace(/^finding: /, ''));
        process.stderr.write(`wrote ${o.output} (${trace.traceEvents.length} events, ${bytes} bytes; findings: ${findings.length === 0 ? 'none' : [...new Set(findings)].join(', ')})\n`);
      }
    });
}
