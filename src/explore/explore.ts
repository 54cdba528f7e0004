/**
 * The explorer: runs a target many times under different schedules and fault plans, stops at
 * the first finding (or when the budget is spent, or when exhaustive search completes), shrinks
 * the counterexample and replays it. The result is plain data; formatting is the caller's.
 * @see fast-check RunDetails; TigerBeetle VOPR; madsim determinism check
 */
import type { ChoiceSource } from '../base/choice.js';
import { Prng } from '../base/prng.js';
import { ExhaustiveChoices, NotThisShard, SleepBlocked } from '../sim/choices/ExhaustiveChoices.js';
import type { ShardSpec } from '../sim/choices/ExhaustiveChoices.js';
import { formatPath } from '../sim/choices/path.js';
import { PctChoices } from '../sim/choices/PctChoices.js';
import { RandomChoices } from '../sim/choices/RandomChoices.js';
import { ReplayChoices } from '../sim/choices/ReplayChoices.js';
import { describePlan, formatPlan, NO_FAULTS, swarmPlan } from './faults.js';
import type { FaultPlan } from './faults.js';
import type { Finding } from '../scenario/findings.js';
import type { FindingClass } from '../scenario/scenario.js';
import type { TimelineEvent } from '../scenario/timeline.js';
import { shrinkPath } from './shrink.js';
import { AdaptiveStore } from '../sim/stateStore.js';

/** What one execution produced. */
export interface Execution {
  readonly findings: readonly Finding[];
  readonly traceHash: string;
  readonly steps: number;
  /** Per-CPU timeline marks and dmesg tail, when recording was asked for. */
  readonly timeline?: readonly TimelineEvent[];
  readonly dmesgTail?: readonly string[];
  /** What the execution ended with (targets built with `finalState`, for comparing searches). */
  readonly finalState?: string;
}

/** What the explorer gives a target for one execution. */
export interface ExecutionContext {
  readonly choices: ChoiceSource;
  readonly faults: FaultPlan;
  /** Fault opportunities are choices (exhaustive) rather than weighted draws. */
  readonly exhaustiveFaults: boolean;
  readonly record: boolean;
}

/** A system under exploration: deterministic given its context. */
export type ExploreTarget = (ctx: ExecutionContext) => Execution;

/** Search strategy. */
export type Strategy = 'exhaustive' | 'random' | 'pct';

/** Fault mode: none, swarm, or an explicit list of sites. */
export type FaultMode = 'none' | 'swarm' | readonly string[];

/** Options. */
export interface ExploreOptions {
  readonly strategy: Strategy;
  readonly seed: number;
  /** Maximum executions. */
  readonly budget?: number;
  /** Wall-clock budget in ms (needs `now`). */
  readonly timeMs?: number;
  /** Wall clock (ms) supplied by the caller; the model never reads real time itself. */
  readonly now?: () => number;
  /** When the caller's clock started (default: now() at the call); `timeMs` and `elapsedMs` count from it, so setup is included. */
  readonly startedAt?: number;
  readonly faults?: FaultMode;
  /** Run each execution twice and compare trace hashes. */
  readonly checkDeterminism?: boolean;
  readonly symmetry?: boolean;
  readonly sleepSets?: boolean;
  /** PCT bug depth. */
  readonly pctDepth?: number;
  /** Number of CPUs (PCT). */
  readonly cpus?: number;
  /** Finding classes that count as failures (default: all). */
  readonly failOn?: readonly FindingClass[];
  /** Library only: a finding counts only if this holds too (e.g. a detail of it). */
  readonly failIf?: (f: Finding) => boolean;
  readonly progress?: (p: ExploreProgress) => void;
  /** Milliseconds between progress calls (default 500). */
  readonly progressEveryMs?: number;
  /**
   * Polled between executions: true stops the search with outcome `interrupted` and
   * `stopped: 'signal'` (the CLI sets it on SIGINT/SIGTERM; the model never reads signals).
   */
  readonly shouldStop?: () => boolean;
  /** Explore part `index` of `count` (exhaustive: subtrees below `splitDepth`; random: every count-th run). */
  readonly shard?: ShardSpec;
  /** Branching depth at which exhaustive search deals subtrees to shards (default 6). */
  readonly splitDepth?: number;
  /**
   * Exhaustive search with `timeMs`: after a short probe (a tenth of the time, at most 3 s) the
   * explorer estimates the total time from the fraction of the tree done and refuses (outcome
   * `interrupted`, `stopped: 'refused'`) if it cannot finish in time, unless `force`.
   */
  readonly force?: boolean;
  /**
   * Exhaustive search: never explore a state twice (fingerprints, see Scheduler.fingerprint);
   * sleep sets are then off. Default false (stateless search with sleep sets).
   */
  readonly stateful?: boolean;
  /**
   * Exhaustive, stateless: dynamic partial-order reduction from the footprints the platform
   * and the kernel record at each step (sim/choices/ExhaustiveChoices.ts). Ignored when stateful.
   */
  readonly dpor?: boolean;
  /** Stateful search: memory for the visited-state table before it turns bit-state (default 1 GiB). */
  readonly stateMemoryBytes?: number;
}

/** Progress report. */
export interface ExploreProgress {
  readonly executions: number;
  readonly states: number;
  readonly depth: number;
  readonly findings: number;
  readonly elapsedMs: number;
  /** Exhaustive: estimated fraction of the (reduced) tree explored, 0..1. */
  readonly fractionDone?: number;
  /** Exhaustive: estimated time still needed. */
  readonly remainingMs?: number;
}

/** A shrunk counterexample. */
export interface Counterexample {
  readonly finding: Finding;
  /** Path of the execution that first failed. */
  readonly originalPath: string;
  /** Shortest path that still fails with the same class. */
  readonly path: string;
  readonly shrinkAttempts: number;
  readonly shrinks: number;
  /** The replay of the shrunk path reproduced the same finding class. */
  readonly replayed: boolean;
  /** The shrunk execution's per-CPU marks (scenario/timeline.ts formats them as text). */
  readonly timeline: readonly TimelineEvent[];
  readonly dmesgTail: readonly string[];
  readonly faults: string;
  /** The plan as a `--faults` argument for replay. */
  readonly faultsArg: string;
  /** Faults were two-way choices (exhaustive search): replay must use the same encoding. */
  readonly exhaustiveFaults: boolean;
}

/**
 * What a search result claims. `proved`: an exhaustive search covered every (reduced) schedule
 * with no finding, so none exists in the whole space (of the `failOn` classes, if given).
 * `not-proved`: no finding, but the search did not cover the space (a random or PCT search, a
 * budget, time or signal stop, or a bit-state table that may take a new state for a seen one).
 * `proved-in-shard`: one shard of an exhaustive search is complete; merge the shards for the
 * whole. `counterexample`, `nondeterminism`: a finding; `refused`: not run (estimate beyond time).
 */
export type ExploreClaim = 'proved' | 'proved-in-shard' | 'not-proved' | 'counterexample' | 'nondeterminism' | 'refused';

/** The claim of a result, from its other fields. */
export function exploreClaim(d: Omit<ExploreDetails, 'claim'>): ExploreClaim {
  if (d.counterexample !== undefined) {
    return 'counterexample';
  }
  if (d.nondeterminism !== undefined) {
    return 'nondeterminism';
  }
  if (d.stopped === 'refused') {
    return 'refused';
  }
  if (!d.complete || d.strategy !== 'exhaustive' || d.stateStore?.kind === 'bitstate') {
    return 'not-proved';
  }
  return d.shard !== undefined ? 'proved-in-shard' : 'proved';
}

/** Result of an exploration. */
export interface ExploreDetails {
  readonly outcome: 'passed' | 'failed' | 'interrupted';
  /** What the result shows: a proof of absence, only "no finding so far", or a finding. */
  readonly claim: ExploreClaim;
  readonly strategy: Strategy;
  readonly seed: number;
  readonly executions: number;
  /** Executions discarded as redundant by sleep sets. */
  readonly redundant: number;
  /** Distinct states (nodes of the execution tree for exhaustive; distinct final hashes otherwise). */
  readonly states: number;
  readonly maxDepth: number;
  readonly elapsedMs: number;
  /** Why an interrupted search stopped: its execution budget, its time budget, or the caller (shouldStop). */
  readonly stoppedBy?: 'budget' | 'time' | 'request';
  /** Exhaustive search covered every (reduced) schedule. */
  readonly complete: boolean;
  readonly counterexample?: Counterexample;
  readonly nondeterminism?: string;
  /** Why an interrupted search stopped. */
  readonly stopped?: 'budget' | 'time' | 'signal' | 'refused';
  /** Exhaustive: estimated fraction of the tree explored, and the time the rest would take. */
  readonly fractionDone?: number;
  readonly remainingMs?: number;
  /** The part of the search this result covers (absent: all of it). */
  readonly shard?: ShardSpec;
  /**
   * Position of the counterexample's execution in the order one unsharded run visits them
   * (exhaustive: its original path, depth-first order is lexicographic; random: its run
   * index), so merged shards report the failure one run would have found first.
   */
  readonly failureOrder?: readonly number[];
  /**
   * Stateful search: states stored, bytes used (fingerprints and the sleep sets states were
   * first reached with), whether the table went bit-state, visits cut as covered, and visits
   * that explored actions asleep at the state's first visit.
   */
  readonly stateStore?: { readonly stored: number; readonly bytes: number; readonly kind: 'exact' | 'bitstate'; readonly revisits: number; readonly reopened?: number };
}

function failing(ex: Execution, failOn: readonly FindingClass[] | undefined, failIf: ((f: Finding) => boolean) | undefined): Finding | undefined {
  return ex.findings.find((f) => (failOn === undefined || failOn.includes(f.class)) && (failIf === undefined || failIf(f)));
}

/** Replay a path; returns the execution. */
export function replayPath(target: ExploreTarget, path: readonly number[], faults: FaultPlan, record: boolean, exhaustiveFaults: boolean): Execution {
  return target({ choices: new ReplayChoices(path), faults, exhaustiveFaults, record });
}

/** Explore. */
export function explore(target: ExploreTarget, opts: ExploreOptions): ExploreDetails {
  const now = opts.now ?? (() => 0);
  const t0 = opts.startedAt ?? now();
  const root = new Prng(opts.seed);
  // Without a budget: exhaustive search runs to completion, a timed search until its time is
  // up, and random/PCT stop after 1,000 executions.
  const budget = opts.budget ?? (opts.strategy === 'exhaustive' || opts.timeMs !== undefined ? Infinity : 1000);
  const shard = opts.shard ?? { index: 0, count: 1 };
  if (!Number.isInteger(shard.count) || shard.count < 1 || !Number.isInteger(shard.index) || shard.index < 0 || shard.index >= shard.count) {
    throw new RangeError(`shard ${shard.index}/${shard.count}: expected 0 <= index < count`);
  }
  const store = opts.strategy === 'exhaustive' && opts.stateful === true ? new AdaptiveStore(opts.stateMemoryBytes ?? 2 ** 30) : undefined;
  const exh = opts.strategy === 'exhaustive' ? new ExhaustiveChoices({ symmetry: opts.symmetry ?? true, sleepSets: opts.sleepSets ?? true, shard, ...(opts.splitDepth !== undefined ? { splitDepth: opts.splitDepth } : {}), ...(store !== undefined ? { states: store } : {}), dpor: opts.dpor === true }) : undefined;
  const probeMs = opts.timeMs === undefined ? Infinity : Math.min(3000, opts.timeMs / 10);
  let probed = opts.force === true || exh === undefined || opts.timeMs === undefined;
  let runIndex = shard.index;
  let failureOrder: number[] | undefined;
  const estimate = (): { fractionDone: number; remainingMs: number } | undefined => {
    if (exh === undefined) {
      return undefined;
    }
    const f = exh.progress();
    const el = now() - t0;
    return { fractionDone: f, remainingMs: f > 0 ? Math.round((el / f) * (1 - f)) : Infinity };
  };
  const hashes = new Set<string>();
  let executions = 0;
  let redundant = 0;
  let maxDepth = 0;
  let pctSteps = 50;
  const faultMode = opts.faults ?? 'none';
  const lastProgress = { t: t0 };
  for (;;) {
    // Sharded random search: the budget numbers runs across shards, so the shards together
    // run exactly the runs one search would.
    if (exh === undefined ? runIndex >= budget : executions >= budget) {
      return done('interrupted', false, undefined, undefined, 'budget');
    }
    if (opts.timeMs !== undefined && now() - t0 >= opts.timeMs) {
      return done('interrupted', false, undefined, undefined, 'time');
    }
    if (opts.shouldStop?.() === true) {
      return done('interrupted', false, undefined, undefined, 'signal');
    }
    if (!probed && now() - t0 >= probeMs) {
      probed = true;
      const e = estimate();
      if (e !== undefined && now() - t0 + e.remainingMs > (opts.timeMs ?? Infinity)) {
        return done('interrupted', false, undefined, undefined, 'refused');
      }
    }
    // Random and PCT runs are numbered across shards: shard i takes runs i, i+n, i+2n...
    const thisRun = runIndex;
    runIndex += shard.count;
    const runPrng = root.fork(`run${thisRun}`);
    const plan: FaultPlan = faultMode === 'none' ? NO_FAULTS : faultMode === 'swarm' ? swarmPlan(runPrng.fork('swarm')) : { sites: new Map(faultMode.map((s) => [s, { weight: { numerator: 1, denominator: 4 }, max: 1 }])) };
    let choices: ChoiceSource;
    let recorded: { path: number[] } | undefined;
    if (exh !== undefined) {
      exh.begin();
      choices = exh;
    } else if (opts.strategy === 'pct') {
      const pct = new PctChoices(runPrng.fork('pct'), opts.cpus ?? 4, opts.pctDepth ?? 3, pctSteps);
      choices = pct;
      recorded = pct;
    } else {
      const rnd = new RandomChoices(runPrng.fork('sched'));
      choices = rnd;
      recorded = rnd;
    }
    const ctx: ExecutionContext = { choices, faults: plan, exhaustiveFaults: exh !== undefined, record: false };
    let ex: Execution;
    try {
      ex = target(ctx);
    } catch (e) {
      if (e instanceof NotThisShard) {
        // Another shard explores every branch here: not an execution of this shard.
        if (exh !== undefined && !exh.advance()) {
          return done('passed', true);
        }
        continue;
      }
      if (e instanceof SleepBlocked) {
        if (exh?.owns !== false) {
          redundant++;
          executions++;
        }
        if (exh !== undefined && !exh.advance()) {
          return done('passed', true);
        }
        continue;
      }
      throw e;
    }
    if (exh !== undefined && !exh.owns) {
      // Above the split depth: shard 0 counts and checks this execution.
      if (!exh.advance()) {
        return done('passed', true);
      }
      continue;
    }
    executions++;
    const path = exh !== undefined ? exh.path() : (recorded?.path ?? []);
    maxDepth = Math.max(maxDepth, path.length, exh?.maxDepthSeen ?? 0);
    pctSteps = Math.max(pctSteps, ex.steps);
    hashes.add(ex.traceHash);
    if (opts.checkDeterminism === true) {
      const again = target({ ...ctx, choices: new ReplayChoices(path) });
      if (again.traceHash !== ex.traceHash) {
        return done('failed', false, `non-determinism detected at execution ${executions}: trace hash ${ex.traceHash} then ${again.traceHash} (path ${formatPath(path)})`);
      }
    }
    const bad = failing(ex, opts.failOn, opts.failIf);
    if (bad !== undefined) {
      failureOrder = exh !== undefined ? [...path] : [thisRun];
      return done('failed', false, undefined, counterexample(target, bad, path, plan, exh !== undefined, opts.failIf));
    }
    if (opts.progress !== undefined && now() - lastProgress.t >= (opts.progressEveryMs ?? 500)) {
      lastProgress.t = now();
      opts.progress({ executions, states: exh?.ownedNodes ?? hashes.size, depth: maxDepth, findings: 0, elapsedMs: now() - t0, ...estimate() });
    }
    if (exh !== undefined && !exh.advance()) {
      return done('passed', true);
    }
  }

  function done(outcome: ExploreDetails['outcome'], complete: boolean, nondeterminism?: string, cx?: Counterexample, stopped?: ExploreDetails['stopped']): ExploreDetails {
    const e = complete ? { fractionDone: 1, remainingMs: 0 } : estimate();
    // The two names callers use: `stopped` (signal, refused) and `stoppedBy` (request).
    const stoppedBy: ExploreDetails['stoppedBy'] = stopped === 'signal' ? 'request' : stopped === 'refused' ? undefined : stopped;
    const d: Omit<ExploreDetails, 'claim'> = {
      outcome,
      strategy: opts.strategy,
      seed: opts.seed,
      executions,
      redundant,
      states: exh?.ownedNodes ?? hashes.size,
      maxDepth,
      elapsedMs: now() - t0,
      complete,
      ...(stoppedBy !== undefined ? { stoppedBy } : {}),
      ...(cx !== undefined ? { counterexample: cx } : {}),
      ...(nondeterminism !== undefined ? { nondeterminism } : {}),
      ...(stopped !== undefined ? { stopped } : {}),
      ...(e !== undefined && Number.isFinite(e.remainingMs) ? e : {}),
      ...(shard.count > 1 ? { shard } : {}),
      ...(failureOrder !== undefined ? { failureOrder } : {}),
      ...(store !== undefined ? { stateStore: { stored: store.size, bytes: store.bytes + (exh?.sleepTable.bytes ?? 0), kind: store.kind, revisits: exh?.revisits ?? 0, reopened: exh?.reopened ?? 0 } } : {}),
    };
    return { ...d, claim: exploreClaim(d) };
  }
}

function counterexample(target: ExploreTarget, finding: Finding, path: readonly number[], plan: FaultPlan, exhaustiveFaults: boolean, failIf?: (f: Finding) => boolean): Counterexample {
  const cls = finding.class;
  const same = (f: Finding): boolean => f.class === cls && (failIf === undefined || failIf(f));
  const run = (p: readonly number[], record: boolean): Execution => target({ choices: new ReplayChoices(p), faults: plan, exhaustiveFaults, record });
  const fails = (p: number[]): boolean => {
    try {
      return run(p, false).findings.some(same);
    } catch {
      return false;
    }
  };
  const s = shrinkPath(path, fails);
  const final = run(s.path, true);
  const again = final.findings.find(same);
  return {
    finding: again ?? finding,
    originalPath: formatPath(path),
    path: formatPath(s.path),
    shrinkAttempts: s.attempts,
    shrinks: s.shrinks,
    replayed: again !== undefined,
    timeline: final.timeline ?? [],
    dmesgTail: final.dmesgTail ?? [],
    faults: describePlan(plan),
    faultsArg: formatPlan(plan),
    exhaustiveFaults,
  };
}
