/**
 * Merging the results of a sharded search (`--shard I/N`) into what one run would have
 * reported: counts add up (each execution and each node of the search tree belongs to exactly
 * one shard), the search is complete when every shard completed, and the counterexample is the
 * one an unsharded run meets first (the smallest `failureOrder`).
 */
import { exploreClaim } from './explore.js';
import type { ExploreDetails } from './explore.js';

function compareOrder(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) {
      return d;
    }
  }
  return a.length - b.length;
}

/**
 * Merge shard results.
 * @returns the merged details, or an error message (shards of different searches, missing or
 *          repeated shards)
 */
export function mergeDetails(parts: readonly ExploreDetails[]): ExploreDetails | string {
  const first = parts[0];
  if (first === undefined) {
    return 'nothing to merge';
  }
  const count = first.shard?.count ?? 1;
  const seen = new Set<number>();
  for (const p of parts) {
    if (p.strategy !== first.strategy || p.seed !== first.seed) {
      return `shards of different searches: ${first.strategy} seed ${first.seed} and ${p.strategy} seed ${p.seed}`;
    }
    if ((p.shard?.count ?? 1) !== count) {
      return `shards of different splits: /${count} and /${p.shard?.count ?? 1}`;
    }
    const i = p.shard?.index ?? 0;
    if (seen.has(i)) {
      return `shard ${i}/${count} given twice`;
    }
    seen.add(i);
  }
  const missing = [...Array(count).keys()].filter((i) => !seen.has(i));
  if (missing.length > 0) {
    return `missing shard(s) ${missing.map((i) => `${i}/${count}`).join(', ')}`;
  }
  const failed = parts.filter((p) => p.counterexample !== undefined).sort((a, b) => compareOrder(a.failureOrder ?? [], b.failureOrder ?? []));
  const cx = failed[0];
  const nondet = parts.find((p) => p.nondeterminism !== undefined)?.nondeterminism;
  const sum = (f: (p: ExploreDetails) => number): number => parts.reduce((a, p) => a + f(p), 0);
  const complete = parts.every((p) => p.complete);
  const outcome: ExploreDetails['outcome'] = cx !== undefined || nondet !== undefined ? 'failed' : complete || parts.every((p) => p.outcome === 'passed') ? 'passed' : 'interrupted';
  const stopped = parts.find((p) => p.stopped !== undefined)?.stopped;
  const fr = parts.filter((p) => p.fractionDone !== undefined);
  const bitstate = parts.find((p) => p.stateStore?.kind === 'bitstate')?.stateStore;
  const merged: Omit<ExploreDetails, 'claim'> = {
    outcome,
    strategy: first.strategy,
    seed: first.seed,
    executions: sum((p) => p.executions),
    redundant: sum((p) => p.redundant),
    states: sum((p) => p.states),
    maxDepth: Math.max(...parts.map((p) => p.maxDepth)),
    elapsedMs: Math.max(...parts.map((p) => p.elapsedMs)),
    complete: complete && cx === undefined,
    ...(cx?.counterexample !== undefined ? { counterexample: cx.counterexample } : {}),
    ...(cx?.failureOrder !== undefined ? { failureOrder: cx.failureOrder } : {}),
    ...(nondet !== undefined ? { nondeterminism: nondet } : {}),
    ...(stopped !== undefined && outcome === 'interrupted' ? { stopped } : {}),
    ...(fr.length === parts.length && !complete ? { fractionDone: fr.reduce((a, p) => a + (p.fractionDone ?? 0), 0) / fr.length, remainingMs: Math.max(...fr.map((p) => p.remainingMs ?? 0)) } : {}),
    // One bit-state shard makes the whole a partial search: keep its table's figures.
    ...(bitstate !== undefined ? { stateStore: bitstate } : {}),
  };
  return { ...merged, claim: exploreClaim(merged) };
}
