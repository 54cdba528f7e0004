/** `tdxsim run`: run a scenario and print its dmesg transcript and findings. */
import { existsSync } from 'node:fs';

import type { Command } from 'commander';

import { namedScenario, runJson } from '../../api/index.js';
import type { RunRequest, RunResult } from '../../api/index.js';
import { runReplayCommand } from '../../api/shell.js';
import type { CommandContext } from '../cli.js';
import { EXIT_FINDINGS, EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM } from '../exitCodes.js';
import { formatRunResult } from '../format.js';
import { colourWanted, highlightRunText } from '../highlight.js';
import { runInWorker } from '../longRun.js';
import { machineOptions } from '../options.js';

interface RunOpts {
  scenario?: string;
  platform?: string;
  kernel?: string;
  module?: string;
  seed?: number;
  path?: string;
  variant?: string;
  json?: boolean;
  seamcalls?: boolean;
}

/** Trace events kept for --seamcalls (the recorder keeps the last ones). */
const SEAMCALL_TRACE_EVENTS = 2_000_000;

/** Register `run`. */
export function registerRun(program: Command, ctx: CommandContext): void {
  machineOptions(
    program
      .command('run')
      .description('run a scenario (default: the embedded one) and print its dmesg and findings')
      .argument('[scenario]', 'scenario file, or the name of an embedded scenario when no such file exists (as --scenario)')
      .option('--scenario <name>', 'embedded scenario to run'),
  )
    .option('--path <p>', 'replay this choice path (dot-separated)')
    .option('--variant <name>', 'run only this variant of a scenario that has several')
    .option('--json', 'print JSON')
    .option('--seamcalls', 'also print every SEAMCALL: time, CPU, leaf and status')
    .addHelpText('after', '\nProgress: a line every 10 s on stderr off a terminal (a status line on one). SIGINT/SIGTERM stop the run with a summary of how far it got.\nExit codes: 0 verdict pass, 1 findings (verdict fail), 2 bad input, 130/143 stopped by SIGINT/SIGTERM.')
    .action(async (arg: string | undefined, o: RunOpts) => {
      // `run kexec-rfc-td` means the embedded scenario, unless a file of that name exists.
      const byName = arg !== undefined && o.scenario === undefined && !arg.endsWith('.json') && !existsSync(arg) && namedScenario(arg) !== undefined;
      const file = byName ? undefined : arg;
      if (byName) {
        o.scenario = arg;
      }
      const req: RunRequest = {
        ...(file !== undefined ? { file } : {}),
        ...(o.scenario !== undefined ? { scenario: o.scenario } : {}),
        ...(o.platform !== undefined ? { platform: o.platform } : {}),
        ...(o.kernel !== undefined ? { kernel: o.kernel } : {}),
        ...(o.module !== undefined ? { module: o.module } : {}),
        ...(o.seed !== undefined ? { seed: o.seed } : {}),
        ...(o.path !== undefined ? { path: o.path } : {}),
        ...(o.variant !== undefined ? { variant: o.variant } : {}),
        ...(o.seamcalls === true ? { recordTrace: SEAMCALL_TRACE_EVENTS } : {}),
      };
      const label = file ?? o.scenario ?? 'default';
      const done = await runInWorker<RunResult>({ kind: 'run', req }, label, process.stderr.isTTY === true, 'nothing printed (a run prints its result only once it has finished)');
      if (!('result' in done)) {
        ctx.exitCode = done.signal === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM;
        return;
      }
      const r = done.result;
      const multi = r.runs.length > 1 || o.variant !== undefined;
      const replay = (runName: string, seed: number, path: string): string => runReplayCommand({ ...o, ...(file !== undefined ? { file } : {}) }, r.scenario, multi ? runName : undefined, seed, path);
      if (o.json === true) {
        process.stdout.write(`${JSON.stringify(runJson(r, { seamcalls: o.seamcalls === true }), null, 2)}\n`);
      } else {
        const text = formatRunResult(r, replay, o.seamcalls === true);
        process.stdout.write(colourWanted(process.stdout.isTTY === true, process.env) ? highlightRunText(text) : text);
      }
      ctx.exitCode = r.verdict === 'pass' ? EXIT_OK : EXIT_FINDINGS;
    });
}
