/** `tdxsim report SCENARIO -o report.html`: one self-contained HTML page of a run. */
import type { Command } from 'commander';

import { namedScenario, TdxsimError } from '../../api/index.js';
import type { ReportModel } from '../../api/index.js';
import { renderReport } from '../../web/render.js';
import type { CommandContext } from '../cli.js';
import { EXIT_SIGINT, EXIT_SIGTERM } from '../exitCodes.js';
import { runInWorker } from '../longRun.js';
import { machineOptions } from '../options.js';
import { writeOutput } from '../output.js';

interface ReportOpts {
  output?: string;
  platform?: string;
  kernel?: string;
  module?: string;
  seed?: number;
  variant?: string;
}

/** Register `report`. */
export function registerReport(program: Command, ctx: CommandContext): void {
  machineOptions(
    program
      .command('report')
      .description('run a scenario and write a self-contained HTML report (memory map, timeline, caches, findings)')
      .argument('<scenario>', 'embedded scenario name or scenario .json file')
      .requiredOption('-o, --output <file>', 'HTML file to write (written atomically; - for stdout)')
      .option('--variant <name>', 'which variant to show (default: the first)'),
  )
    .addHelpText('after', '\nProgress: a line every 10 s on stderr off a terminal (a status line on one). SIGINT/SIGTERM stop the run with a summary; no file is written.\nExit codes: 0 report written, 2 bad input or the file cannot be written (the previous file is left intact), 130/143 stopped by SIGINT/SIGTERM.')
    .action(async (scenario: string, o: ReportOpts) => {
      const isFile = scenario.endsWith('.json') || namedScenario(scenario) === undefined;
      if (isFile && !scenario.endsWith('.json')) {
        throw new TdxsimError('TDXSIM_UNKNOWN_SCENARIO', `"${scenario}" is neither an embedded scenario nor a .json file`);
      }
      const req = {
        ...(isFile ? { file: scenario } : { scenario }),
        ...(o.platform !== undefined ? { platform: o.platform } : {}),
        ...(o.kernel !== undefined ? { kernel: o.kernel } : {}),
        ...(o.module !== undefined ? { module: o.module } : {}),
        ...(o.seed !== undefined ? { seed: o.seed } : {}),
        ...(o.variant !== undefined ? { variant: o.variant } : {}),
      };
      const done = await runInWorker<ReportModel>({ kind: 'report', req }, scenario, process.stderr.isTTY === true, `${o.output === '-' ? 'nothing written' : `${o.output ?? ''} not written (a previous file is left intact)`}`);
      if (!('result' in done)) {
        ctx.exitCode = done.signal === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM;
        return;
      }
      const model = done.result;
      const html = renderReport(model);
      // Written only once everything succeeded, and atomically: a failed write leaves the previous report.
      const bytes = writeOutput(o.output as string, html);
      if (o.output !== '-') {
        process.stderr.write(`wrote ${o.output} (${bytes} bytes)\n`);
      }
    });
}
