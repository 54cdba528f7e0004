/** `tdxsim explore` and `tdxsim replay`. */
import type { Command } from 'commander';

import { exploreScenario, namedScenario, replayScenario, TdxsimError } from '../../api/index.js';
import type { ExploreResult } from '../../api/index.js';
import type { CommandContext } from '../cli.js';
import { EXIT_FINDINGS, EXIT_OK } from '../exitCodes.js';
import { machineOptions, parseUint } from '../options.js';

const CLASSES = ['silent-corruption', 'cpu-still-running', 'seamcall-after-flush', 'machine-check', 'invariant', 'warning', 'model-bug', 'liveness'] as const;

function parseClasses(s: string): (typeof CLASSES)[number][] {
  const out = s.split(',').map((x) => x.trim());
  for (const c of out) {
    if (!(CLASSES as readonly string[]).includes(c)) {
      throw new TdxsimError('TDXSIM_BAD_ARGS', `--fail-on "${c}": expected one of ${CLASSES.join(', ')}`);
    }
  }
  return out as (typeof CLASSES)[number][];
}

interface ExploreOpts {
  failOn?: string;
  strategy?: string;
  budget?: number;
  time?: number;
  seed?: number;
  faults?: string;
  cpus?: number;
  json?: boolean;
  checkDeterminism?: boolean;
  symmetry?: boolean;
  latency?: boolean;
  platform?: string;
  kernel?: string;
  module?: string;
}

function source(s: string): { file: string } | { scenario: string } {
  if (s.endsWith('.json')) {
    return { file: s };
  }
  if (namedScenario(s) === undefined) {
    throw new TdxsimError('TDXSIM_UNKNOWN_SCENARIO', `"${s}" is neither an embedded scenario nor a .json file`);
  }
  return { scenario: s };
}

function common(o: ExploreOpts): Record<string, unknown> {
  return {
    ...(o.platform !== undefined ? { platform: o.platform } : {}),
    ...(o.kernel !== undefined ? { kernel: o.kernel } : {}),
    ...(o.module !== undefined ? { module: o.module } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.cpus !== undefined ? { cpus: o.cpus } : {}),
    ...(o.faults !== undefined ? { faults: o.faults } : {}),
    ...(o.latency === false ? { latency: false } : {}),
  };
}

/** Human-readable exploration result. */
export function formatExplore(r: ExploreResult): string {
  const d = r.details;
  const out: string[] = [];
  const stats = `${d.executions} executions (${d.redundant} pruned as redundant), ${d.states} states, depth ${d.maxDepth}, ${(d.elapsedMs / 1000).toFixed(2)} s`;
  if (d.nondeterminism !== undefined) {
    out.push(`NON-DETERMINISM: ${d.nondeterminism}`);
  }
  const cx = d.counterexample;
  if (cx !== undefined) {
    out.push(`replay: ${r.replay ?? ''}`);
    out.push(`FAILED: ${r.scenario}, strategy ${d.strategy}, seed ${d.seed}: ${stats}`);
    out.push(`finding [${cx.finding.class}]: ${cx.finding.message}`);
    out.push(`path ${cx.path === '' ? '(empty)' : cx.path} (shrunk from ${cx.originalPath === '' ? '(empty)' : cx.originalPath} in ${cx.shrinkAttempts} replays; replay ${cx.replayed ? 'reproduces it' : 'did NOT reproduce it'}); ${cx.faults}`);
    out.push('', 'timeline:', ...cx.timeline.map((l) => `  ${l}`), '', 'dmesg (tail):', ...cx.dmesgTail.map((l) => `  ${l}`));
    out.push('', 'hint: run the replay command to see this execution again; add --json for machine-readable output.');
  } else if (d.outcome === 'passed') {
    out.push(`PASSED: ${r.scenario}: ${d.complete ? `exhaustive search complete, no finding on any schedule: ` : ''}${stats}`);
  } else if (d.nondeterminism === undefined) {
    out.push(`no finding within the budget: ${r.scenario}, strategy ${d.strategy}, seed ${d.seed}: ${stats}`);
  }
  return `${out.join('\n')}\n`;
}

/** Register `explore` and `replay`. */
export function registerExplore(program: Command, ctx: CommandContext): void {
  machineOptions(
    program
      .command('explore')
      .description('search interleavings (and faults) of a scenario for findings; shrink and print a replayable counterexample')
      .argument('<scenario>', 'embedded scenario name or scenario .json file'),
  )
    .option('--strategy <s>', 'exhaustive | random | pct', 'random')
    .option('--budget <n>', 'maximum executions', parseUint('--budget'))
    .option('--time <s>', 'wall-clock budget in seconds', parseUint('--time'))
    .option('--faults <f>', 'none | swarm | SITE[,SITE...] (SITE or SITE:n/d:max)', 'none')
    .option('--cpus <n>', 'resize the platform to N logical CPUs', parseUint('--cpus'))
    .option('--check-determinism', 'run every execution twice and compare trace hashes')
    .option('--fail-on <classes>', 'only these finding classes stop the search (comma-separated)')
    .option('--no-symmetry', 'disable symmetry reduction')
    .option('--no-latency', 'nominal interrupt latency only (no "REBOOT IPI after the 1 s wait" or "never" choices)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExit codes: 0 no finding, 1 finding or non-determinism, 2 bad input.')
    .action((scenario: string, o: ExploreOpts) => {
      if (o.strategy !== 'exhaustive' && o.strategy !== 'random' && o.strategy !== 'pct') {
        throw new TdxsimError('TDXSIM_BAD_ARGS', `--strategy "${o.strategy ?? ''}": expected exhaustive, random or pct`);
      }
      const tty = process.stderr.isTTY === true;
      const r = exploreScenario({
        ...source(scenario),
        ...common(o),
        strategy: o.strategy,
        ...(o.budget !== undefined ? { budget: o.budget } : {}),
        ...(o.time !== undefined ? { timeSec: o.time } : {}),
        checkDeterminism: o.checkDeterminism === true,
        ...(o.failOn !== undefined ? { failOn: parseClasses(o.failOn) } : {}),
        symmetry: o.symmetry !== false,
        now: () => Number(process.hrtime.bigint() / 1_000_000n),
        ...(tty
          ? {
              progress: (p: { executions: number; states: number; depth: number; findings: number; elapsedMs: number }) => {
                process.stderr.write(`\r${p.executions} executions, ${Math.round(p.states / Math.max(0.001, p.elapsedMs / 1000))} states/s, depth ${p.depth}, ${p.findings} findings   `);
              },
            }
          : {}),
      });
      if (tty) {
        process.stderr.write('\r\x1b[K');
      }
      process.stdout.write(o.json === true ? `${JSON.stringify({ scenario: r.scenario, replay: r.replay ?? null, ...r.details }, null, 2)}\n` : formatExplore(r));
      ctx.exitCode = r.details.counterexample !== undefined || r.details.nondeterminism !== undefined ? EXIT_FINDINGS : EXIT_OK;
    });

  machineOptions(
    program
      .command('replay')
      .description('replay one choice path of a scenario and print its findings, timeline and dmesg')
      .argument('<scenario>', 'embedded scenario name or scenario .json file')
      .requiredOption('--path <p>', 'choice path (dot-separated)'),
  )
    .option('--faults <f>', 'fault plan of the run (as printed by explore)', 'none')
    .option('--fault-choices <mode>', 'binary (exhaustive search) or weighted', 'weighted')
    .option('--no-latency', 'nominal interrupt latency only (as explore --no-latency)')
    .option('--cpus <n>', 'resize the platform to N logical CPUs', parseUint('--cpus'))
    .option('--json', 'print JSON')
    .action((scenario: string, o: ExploreOpts & { path: string; faultChoices?: string }) => {
      if (o.faultChoices !== 'binary' && o.faultChoices !== 'weighted') {
        throw new TdxsimError('TDXSIM_BAD_ARGS', `--fault-choices "${o.faultChoices ?? ''}": expected binary or weighted`);
      }
      const r = replayScenario({ ...source(scenario), ...common(o), path: o.path, faultChoices: o.faultChoices });
      const ex = r.execution;
      if (o.json === true) {
        process.stdout.write(`${JSON.stringify({ scenario: r.scenario, path: r.path, faults: r.faults, findings: ex.findings, traceHash: ex.traceHash, timeline: ex.timeline, dmesgTail: ex.dmesgTail }, null, 2)}\n`);
      } else {
        const out = [`replay of ${r.scenario} path ${r.path === '' ? '(empty)' : r.path} (faults: ${r.faults}), trace hash ${ex.traceHash}`];
        out.push(...(ex.findings.length === 0 ? ['no findings'] : ex.findings.map((f) => `finding [${f.class}]: ${f.message}`)));
        out.push('', 'timeline:', ...(ex.timeline ?? []).map((l) => `  ${l}`), '', 'dmesg (tail):', ...(ex.dmesgTail ?? []).map((l) => `  ${l}`));
        process.stdout.write(`${out.join('\n')}\n`);
      }
      ctx.exitCode = ex.findings.length > 0 ? EXIT_FINDINGS : EXIT_OK;
    });
}
