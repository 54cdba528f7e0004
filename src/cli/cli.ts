/**
 * Builds the commander program. Each command lives in commands/<name>.ts and registers itself.
 * Errors: TdxsimError → its message on stderr, exit 2; anything else is a model bug → exit 3
 * with a short report (no stack trace unless TDXSIM_DEBUG is set).
 */
import { Command, CommanderError } from 'commander';

import { isTdxsimError } from '../api/index.js';
import { registerCatalogue } from './commands/catalogue.js';
import { registerCompat } from './commands/compat.js';
import { registerDiagnose } from './commands/diagnose.js';
import { registerExplain } from './commands/explain.js';
import { registerExplore } from './commands/explore.js';
import { registerInspect } from './commands/inspect.js';
import { registerPlan } from './commands/plan.js';
import { registerReport } from './commands/report.js';
import { registerRun } from './commands/run.js';
import { registerSchema } from './commands/schema.js';
import { registerServe } from './commands/serve.js';
import { registerTrace } from './commands/trace.js';
import { EXIT_BAD_INPUT, EXIT_MODEL_BUG } from './exitCodes.js';

/** The CLI. */
export interface Cli {
  run(argv: string[]): Promise<number>;
}

/** Shared state between a command's action and the runner. */
export interface CommandContext {
  exitCode: number;
}

/** Create the CLI. */
export function createCli(): Cli {
  const ctx: CommandContext = { exitCode: 0 };
  const program = new Command();
  program
    .name('tdxsim')
    .description('An executable, deterministic model of an Intel TDX host: platform, TDX module and Linux host kernel.')
    .version('0.1.0')
    .exitOverride()
    // Commander's own errors (unknown option, missing argument) look like the tool's own messages.
    .configureOutput({ outputError: (s, write) => write(`tdxsim: ${s.replace(/^error: /, '').trimEnd()} (see tdxsim help COMMAND)\n`) });
  registerRun(program, ctx);
  registerSchema(program, ctx);
  registerReport(program, ctx);
  registerTrace(program, ctx);
  registerInspect(program, ctx);
  registerExplore(program, ctx);
  registerServe(program, ctx);
  registerPlan(program, ctx);
  registerDiagnose(program, ctx);
  registerExplain(program, ctx);
  registerCompat(program, ctx);
  registerCatalogue(program, ctx);
  return {
    async run(argv: string[]): Promise<number> {
      try {
        await program.parseAsync(argv);
        return ctx.exitCode;
      } catch (e) {
        if (e instanceof CommanderError) {
          return e.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
        }
        if (isTdxsimError(e)) {
          process.stderr.write(`tdxsim: ${e.message.split('\n').join('\ntdxsim: ')}\n`);
          return EXIT_BAD_INPUT;
        }
        const err = e as Error;
        process.stderr.write(`tdxsim: internal error (${err.name}): ${err.message}\n`);
        if (process.env['TDXSIM_DEBUG'] !== undefined) {
          process.stderr.write(`${err.stack ?? ''}\n`);
        } else {
          process.stderr.write('tdxsim: this is a bug in the model; re-run with TDXSIM_DEBUG=1 for a stack trace and report it.\n');
        }
        return EXIT_MODEL_BUG;
      }
    },
  };
}
