/** `tdxsim explore` and `tdxsim replay`. */
import { readFileSync, writeFileSync } from 'node:fs';

import type { Command } from 'commander';

import { counterexampleScenario, mergeExploreResults, namedScenario, presetInput, replayScenario, shellQuote, TdxsimError } from '../../api/index.js';
import type { ExploreRequest, ExploreResult } from '../../api/index.js';
import type { CommandContext } from '../cli.js';
import { formatDuration, runCampaign } from '../exploreCampaign.js';
import { EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_OK } from '../exitCodes.js';
import { timelineText } from '../format.js';
import { machineOptions, parseUint } from '../options.js';
import { writeOutput } from '../output.js';

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

export interface ExploreOpts {
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
  jobs?: number;
  shard?: string;
  splitDepth?: number;
  out?: string;
  saveCounterexample?: string;
  force?: boolean;
  stateful?: boolean;
  dpor?: boolean;
  stateMemory?: number;
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

/**
 * Above this many logical CPUs `explore` warns about the cost up front (without --time): every
 * CPU takes part in every execution, so an execution's length grows with the CPU count
 * (`explore kexec-race-2cpu --cpus 1000`: depth 3,996 per execution, 1,000 executions in 285 s).
 */
export const MANY_CPUS = 64;

/** Logical CPUs of a topology-bearing platform description, or undefined. */
function topologyCpus(p: unknown): number | undefined {
  if (typeof p !== 'object' || p === null || !('topology' in p)) {
    return undefined;
  }
  const t = (p as { topology?: { packages?: unknown; coresPerPackage?: unknown; threadsPerCore?: unknown } }).topology;
  const n = Number(t?.packages) * Number(t?.coresPerPackage) * Number(t?.threadsPerCore);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** The CPU count an exploration will run with, when it can be told without loading files. */
function exploreCpus(scenario: string, o: ExploreOpts): number | undefined {
  if (o.cpus !== undefined) {
    return o.cpus;
  }
  const plat = o.platform ?? (namedScenario(scenario) as { platform?: unknown } | undefined)?.platform;
  return typeof plat === 'string' ? topologyCpus(presetInput(plat)) : topologyCpus(plat);
}

/** The one-line cost warning for a large platform explored without --time, or undefined. */
export function cpuCostWarning(scenario: string, o: ExploreOpts): string | undefined {
  const n = exploreCpus(scenario, o);
  if (n === undefined || n <= MANY_CPUS || o.time !== undefined) {
    return undefined;
  }
  const runs = o.budget !== undefined ? `--budget ${o.budget}` : o.strategy === 'exhaustive' ? 'an exhaustive search' : 'the default budget of 1000 executions';
  return `explore: warning: ${n} logical CPUs: every CPU takes part in every execution, so executions are long and ${runs} may run for minutes; bound the run with --time SECONDS\n`;
}

/** Human-readable exploration result. */
export function formatExplore(r: ExploreResult): string {
  const d = r.details;
  const out: string[] = [];
  const store = d.stateStore === undefined ? '' : `, ${d.stateStore.stored} states stored (${d.stateStore.kind}, ${(d.stateStore.bytes / 2 ** 20).toFixed(1)} MiB), ${d.stateStore.revisits} revisits cut${d.stateStore.reopened !== undefined && d.stateStore.reopened > 0 ? `, ${d.stateStore.reopened} reopened for woken actions` : ''}`;
  const stats = `${d.executions} executions (${d.redundant} pruned as redundant), ${d.states} states${store}, depth ${d.maxDepth}, ${(d.elapsedMs / 1000).toFixed(2)} s`;
  if (d.nondeterminism !== undefined) {
    out.push(`NON-DETERMINISM: ${d.nondeterminism}`);
  }
  const cx = d.counterexample;
  if (cx !== undefined) {
    out.push(`replay: ${r.replay ?? ''}`);
    if (r.report !== undefined) {
      out.push(`report: ${r.report}`);
    }
    out.push(`FAILED: ${r.scenario}, strategy ${d.strategy}, seed ${d.seed}: ${stats}`);
    out.push(`finding [${cx.finding.class}]: ${cx.finding.message}`);
    out.push(`path ${cx.path === '' ? '(empty)' : cx.path} (shrunk from ${cx.originalPath === '' ? '(empty)' : cx.originalPath} in ${cx.shrinkAttempts} replays; replay ${cx.replayed ? 'reproduces it' : 'did NOT reproduce it'}); ${cx.faults}`);
    out.push('', 'timeline:', ...timelineText(cx.timeline).map((l) => `  ${l}`), '', 'dmesg (tail):', ...cx.dmesgTail.map((l) => `  ${l}`));
    out.push('', 'hint: run the replay command to see this execution again, or the report command to draw it as an HTML page; add --json for machine-readable output.');
  } else if (d.claim === 'proved') {
    out.push(`PASSED (proved): ${r.scenario}: exhaustive search complete, no finding on any schedule: ${stats}`);
  } else if (d.claim === 'proved-in-shard') {
    out.push(`PASSED in this shard: ${r.scenario}: exhaustive search of shard ${d.shard?.index ?? 0}/${d.shard?.count ?? 1} complete, no finding; merge every shard for the proof: ${stats}`);
  } else if (d.outcome === 'passed') {
    out.push(`NO FINDING (not a proof): ${r.scenario}: search complete, but the bit-state table may take a new state for a seen one and skip it: ${stats}`);
  } else if (d.stopped === 'refused') {
    out.push(`REFUSED: ${r.scenario}: exhaustive search estimated at ${formatDuration(d.elapsedMs + (d.remainingMs ?? Infinity))} (${((d.fractionDone ?? 0) * 100).toFixed(2)}% done after ${(d.elapsedMs / 1000).toFixed(1)} s), more than --time; pass --force to run it anyway, or split it with --jobs / --shard`);
  } else if (d.nondeterminism === undefined) {
    const why = d.stopped === 'signal' ? 'interrupted by a signal' : d.stopped === 'time' ? 'no finding within the time' : 'no finding within the budget';
    const rest = d.fractionDone !== undefined && d.strategy === 'exhaustive' ? `; ${(d.fractionDone * 100).toFixed(2)}% of the tree done, about ${formatDuration(d.remainingMs ?? Infinity)} remaining` : '';
    out.push(`${why}: ${r.scenario}, strategy ${d.strategy}, seed ${d.seed}: ${stats}${rest}`);
    out.push(`not a proof: ${d.strategy === 'exhaustive' ? 'the exhaustive search did not finish' : `a ${d.strategy} search tries only the schedules it draws`}; only a complete exhaustive search (--strategy exhaustive) proves there is no finding`);
  }
  if (d.shard !== undefined) {
    out.push(`shard ${d.shard.index}/${d.shard.count}: merge the shard files with tdxsim explore merge`);
  }
  return `${out.join('\n')}\n`;
}

/** `--shard I/N`. */
function parseShard(s: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (m === null || count < 1 || index >= count) {
    throw new TdxsimError('TDXSIM_BAD_ARGS', `--shard "${s}": expected I/N with 0 <= I < N`);
  }
  return { index, count };
}

/** Shard files: what --out writes. */
const SHARD_FORMAT = 'tdxsim-explore/1';

function toJson(r: ExploreResult): string {
  return `${JSON.stringify({ format: SHARD_FORMAT, scenario: r.scenario, campaign: r.campaign, replay: r.replay ?? null, report: r.report ?? null, ...r.details }, null, 2)}\n`;
}

function readShard(file: string): ExploreResult {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new TdxsimError('TDXSIM_BAD_MERGE', `explore merge: ${file}: ${(e as Error).message}`);
  }
  if (j['format'] !== SHARD_FORMAT) {
    throw new TdxsimError('TDXSIM_BAD_MERGE', `explore merge: ${file} is not a result written by explore --out`);
  }
  const { format: _f, scenario, campaign, replay, report, ...details } = j;
  return {
    scenario: String(scenario),
    campaign: String(campaign),
    ...(typeof replay === 'string' ? { replay } : {}),
    ...(typeof report === 'string' ? { report } : {}),
    details: details as unknown as ExploreResult['details'],
  };
}

function finish(r: ExploreResult, o: ExploreOpts, ctx: CommandContext): void {
  if (o.out !== undefined) {
    writeFileSync(o.out, toJson(r));
  }
  process.stdout.write(o.json === true ? toJson(r) : formatExplore(r));
  ctx.exitCode = r.details.counterexample !== undefined || r.details.nondeterminism !== undefined ? EXIT_FINDINGS : r.details.stopped === 'refused' ? EXIT_BAD_INPUT : EXIT_OK;
}

/** Register `explore` and `replay`. */
export function registerExplore(program: Command, ctx: CommandContext): void {
  machineOptions(
    program
      .command('explore')
      .description('search interleavings (and faults) of a scenario for findings; shrink and print a replayable counterexample. `explore merge FILES...` combines shard results')
      .argument('<scenario>', 'embedded scenario name or scenario .json file (or "merge")')
      .argument('[files...]', 'with "merge": shard result files written by --out'),
  )
    .option('--strategy <s>', 'exhaustive | random | pct', 'random')
    .option('--budget <n>', 'maximum executions (default: 1000 for random and pct; exhaustive runs to completion)', parseUint('--budget'))
    .option('--time <s>', 'wall-clock budget in seconds, setup included (default: none)', parseUint('--time'))
    .option('--faults <f>', 'none | swarm | SITE[,SITE...] (SITE or SITE:n/d:max)', 'none')
    .option('--cpus <n>', 'resize the platform to N logical CPUs', parseUint('--cpus'))
    .option('--check-determinism', 'run every execution twice and compare trace hashes')
    .option('--fail-on <classes>', 'only these finding classes stop the search (comma-separated)')
    .option('--no-symmetry', 'disable symmetry reduction')
    .option('--no-latency', 'nominal interrupt latency only (no "REBOOT IPI after the 1 s wait" or "never" choices)')
    .option('--jobs <n>', 'run N workers on local cores (shards of the search, merged)', parseUint('--jobs'))
    .option('--shard <i/n>', 'explore part I of N (0-based) of the search; write it with --out and merge the parts')
    .option('--split-depth <d>', 'branching depth at which exhaustive search deals subtrees to shards (default 6)', parseUint('--split-depth'))
    .option('--out <file>', 'write the result as JSON to FILE (a shard file for explore merge)')
    .option('--save-counterexample <file>', 'write the counterexample as a scenario file with its fixed schedule (tdxsim run FILE reproduces it)')
    .option('--stateful', 'exhaustive: never explore a state twice (state fingerprints, CPUs in canonical order) instead of sleep sets')
    .option('--dpor', 'exhaustive, stateless: dynamic partial-order reduction (only orders of steps whose footprints conflict)')
    .option('--state-memory <mb>', 'stateful: MiB for the visited-state table before it turns bit-state (default 1024)', parseUint('--state-memory'))
    .option('--force', 'run an exhaustive search even if its estimate says it cannot finish within --time')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nProgress: a line every 10 s on stderr (a status line on a terminal). SIGINT/SIGTERM stop the search with a summary.\nExit codes: 0 no finding, 1 finding or non-determinism, 2 bad input or refused (estimate beyond --time), 130/143 stopped by SIGINT/SIGTERM.')
    .action(async (scenario: string, files: string[], o: ExploreOpts) => {
      if (scenario === 'merge') {
        const r = mergeExploreResults(files.map(readShard));
        finish(r, o, ctx);
        return;
      }
      if (files.length > 0) {
        throw new TdxsimError('TDXSIM_BAD_ARGS', `explore ${scenario}: unexpected arguments ${files.join(' ')}`);
      }
      if (o.strategy !== 'exhaustive' && o.strategy !== 'random' && o.strategy !== 'pct') {
        throw new TdxsimError('TDXSIM_BAD_ARGS', `--strategy "${o.strategy ?? ''}": expected exhaustive, random or pct`);
      }
      const shard = o.shard === undefined ? undefined : parseShard(o.shard);
      const jobs = o.jobs ?? 1;
      if (jobs < 1 || jobs > 256) {
        throw new TdxsimError('TDXSIM_BAD_ARGS', `--jobs ${jobs}: expected 1..256`);
      }
      if (shard !== undefined && jobs > 1) {
        throw new TdxsimError('TDXSIM_BAD_ARGS', '--shard and --jobs: run one shard per process (or per machine), or --jobs alone');
      }
      const req: ExploreRequest = {
        ...source(scenario),
        ...common(o),
        strategy: o.strategy,
        ...(o.budget !== undefined ? { budget: o.budget } : {}),
        ...(o.time !== undefined ? { timeSec: o.time } : {}),
        checkDeterminism: o.checkDeterminism === true,
        ...(o.failOn !== undefined ? { failOn: parseClasses(o.failOn) } : {}),
        symmetry: o.symmetry !== false,
        ...(shard !== undefined ? { shard } : {}),
        ...(o.splitDepth !== undefined ? { splitDepth: o.splitDepth } : {}),
        ...(o.force === true ? { force: true } : {}),
        ...(o.stateful === true ? { stateful: true } : {}),
        ...(o.dpor === true ? { dpor: true } : {}),
        ...(o.stateMemory !== undefined ? { stateMemoryBytes: o.stateMemory * 2 ** 20 } : {}),
      };
      const warning = cpuCostWarning(scenario, o);
      if (warning !== undefined) {
        process.stderr.write(warning);
      }
      if (o.stateful === true && (jobs > 1 || shard !== undefined)) {
        // Each shard keeps its own state table and the subtrees of a stop protocol meet in the
        // same states, so every shard revisits most of what the others explore.
        process.stderr.write('explore: note: --stateful shards do not share their state tables; each shard re-explores most states the others reach (docs/explore.md "Campaigns")\n');
      }
      const { result, signal } = await runCampaign(req, jobs, process.stderr.isTTY === true);
      if (o.saveCounterexample !== undefined) {
        const cx = counterexampleScenario(req, result);
        if (cx !== undefined) {
          writeOutput(o.saveCounterexample, `${JSON.stringify(cx, null, 2)}\n`);
        }
        process.stderr.write(cx === undefined ? `no counterexample: ${o.saveCounterexample} not written\n` : `wrote the counterexample to ${o.saveCounterexample} (tdxsim run ${shellQuote(o.saveCounterexample)} reproduces it)\n`);
      }
      finish(result, o, ctx);
      if (signal !== undefined && result.details.counterexample === undefined) {
        ctx.exitCode = signal === 'SIGINT' ? 130 : 143;
      }
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
    .addHelpText('after', '\nExit codes: 0 no finding on this path, 1 a finding, 2 bad input (including a --path that does not fit the scenario).')
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
        out.push('', 'timeline:', ...timelineText(ex.timeline ?? []).map((l) => `  ${l}`), '', 'dmesg (tail):', ...(ex.dmesgTail ?? []).map((l) => `  ${l}`));
        process.stdout.write(`${out.join('\n')}\n`);
      }
      ctx.exitCode = ex.findings.length > 0 ? EXIT_FINDINGS : EXIT_OK;
    });
}
