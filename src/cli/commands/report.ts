/**
 * `tdxsim report SCENARIO|RESULT.json -o report.html`: one self-contained HTML page of an
 * execution. The run is the one `run` (or, with `--replay`, `replay`) makes, and so are the
 * verdict and the exit code.
 */
import type { Command } from 'commander';

import { reportSource, TdxsimError } from '../../api/index.js';
import type { ReportRequest, ReportResult } from '../../api/index.js';
import { renderReport } from '../../web/render.js';
import type { CommandContext } from '../cli.js';
import { EXIT_FINDINGS, EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM } from '../exitCodes.js';
import { runInWorker } from '../longRun.js';
import { machineOptions, parseUint } from '../options.js';
import { writeOutput } from '../output.js';

interface ReportOpts {
  output?: string;
  platform?: string;
  kernel?: string;
  module?: string;
  seed?: number;
  variant?: string;
  path?: string;
  comparePath?: string;
  replay?: boolean;
  faults?: string;
  faultChoices?: string;
  cpus?: number;
  latency?: boolean;
}

/** Register `report`. */
export function registerReport(program: Command, ctx: CommandContext): void {
  machineOptions(
    program
      .command('report')
      .description('run a scenario, an explored schedule or an explore result\'s counterexample and write a self-contained HTML report (sequence chart, memory map, caches, findings)')
      .argument('<scenario>', 'embedded scenario name, scenario .json file, or explore result .json (explore --out)')
      .requiredOption('-o, --output <file>', 'HTML file to write (written atomically; - for stdout)')
      .option('--variant <name>', 'which variant to show (default: the first with findings, else the first)'),
  )
    .option('--path <p>', 'choice path: as `run --path`, or with --replay as `replay --path` (an explore counterexample)')
    .option('--compare-path <p>', 'draw this other choice path of the same scenario side by side, with the first divergence marked')
    .option('--replay', 'run the schedule as `tdxsim replay` does (explored: free scheduler after the prefix, faults, latency choices)')
    .option('--faults <f>', 'with --replay: fault plan of the run (as printed by explore)')
    .option('--fault-choices <mode>', 'with --replay: binary (exhaustive search) or weighted')
    .option('--cpus <n>', 'with --replay: resize the platform to N logical CPUs', parseUint('--cpus'))
    .option('--no-latency', 'with --replay: nominal interrupt latency only (as explore --no-latency)')
    .addHelpText(
      'after',
      '\nAn explore counterexample: replace `tdxsim replay` in the printed replay line with `tdxsim report --replay`\nand add -o FILE; or give the result file of `explore --out` (its counterexample next to the default schedule).\n\nExit codes: as `run` (or `replay` with --replay): 0 verdict pass, 1 findings (verdict fail; the report is written),\n2 bad input or the file cannot be written (the previous file is left intact),\n130/143 stopped by SIGINT/SIGTERM (no file is written).\n\nProgress: a line every 10 s on stderr off a terminal (a status line on one).',
    )
    .action(async (scenario: string, o: ReportOpts) => {
      if (o.faultChoices !== undefined && o.faultChoices !== 'binary' && o.faultChoices !== 'weighted') {
        throw new TdxsimError('TDXSIM_BAD_ARGS', `--fault-choices "${o.faultChoices}": expected binary or weighted`);
      }
      const replay = o.replay === true || o.faults !== undefined || o.faultChoices !== undefined || o.cpus !== undefined || o.latency === false;
      const src = reportSource(scenario);
      if ('exploreResult' in src && (o.path !== undefined || replay || o.comparePath !== undefined || o.variant !== undefined)) {
        throw new TdxsimError('TDXSIM_BAD_ARGS', `${scenario} is an explore result: it names its own schedule (drop --path, --compare-path, --variant and the replay options)`);
      }
      const req: ReportRequest = {
        ...src,
        ...(o.platform !== undefined ? { platform: o.platform } : {}),
        ...(o.kernel !== undefined ? { kernel: o.kernel } : {}),
        ...(o.module !== undefined ? { module: o.module } : {}),
        ...(o.seed !== undefined ? { seed: o.seed } : {}),
        ...(o.variant !== undefined ? { variant: o.variant } : {}),
        ...(o.path !== undefined ? { path: o.path } : {}),
        ...(o.comparePath !== undefined ? { comparePath: o.comparePath } : {}),
        ...(replay
          ? {
              replay: {
                ...(o.faults !== undefined ? { faults: o.faults } : {}),
                ...(o.faultChoices === 'binary' || o.faultChoices === 'weighted' ? { faultChoices: o.faultChoices } : {}),
                ...(o.cpus !== undefined ? { cpus: o.cpus } : {}),
                ...(o.latency === false ? { latency: false } : {}),
              },
            }
          : {}),
      };
      const done = await runInWorker<ReportResult>({ kind: 'report', req }, scenario, process.stderr.isTTY === true, `${o.output === '-' ? 'nothing written' : `${o.output ?? ''} not written (a previous file is left intact)`}`);
      if (!('result' in done)) {
        ctx.exitCode = done.signal === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM;
        return;
      }
      const r = done.result;
      const html = renderReport(r.model);
      // Written only once everything succeeded, and atomically: a failed write leaves the previous report.
      const bytes = writeOutput(o.output as string, html);
      if (o.output !== '-') {
        process.stderr.write(`wrote ${o.output} (${bytes} bytes): ${r.model.verdictText}\n`);
      }
      ctx.exitCode = r.verdict === 'pass' ? EXIT_OK : EXIT_FINDINGS;
    });
}
