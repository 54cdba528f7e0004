/**
 * Exhaustive depth-first search over choice sequences by re-execution (stateless model
 * checking), with two reductions:
 * - sleep sets (partial-order reduction): after exploring action a at a node, a sibling branch
 *   need not try a again until something dependent with a has run;
 * - symmetry: among actions of CPUs whose execution signatures are identical, only the first
 *   is explored.
 * An execution that reaches a node whose every enabled action sleeps is redundant: the choice
 * source throws `SleepBlocked` and the explorer discards it.
 * @see Godefroid, "Partial-Order Methods for the Verification of Concurrent Systems" (sleep sets);
 *      TigerBeetle exhaustigen.zig (odometer enumeration)
 */
import type { ChoiceSource, SchedAction } from '../../base/choice.js';
import type { StateStore } from '../stateStore.js';

/** Thrown when every enabled action at a node is asleep: the execution is redundant. */
export class SleepBlocked extends Error {
  override readonly name: string = 'SleepBlocked';
}

interface Node {
  /** Keys of the options (action keys, or "#i" for plain choices). */
  keys: string[];
  /** Actions, for the independence test (undefined for plain choices). */
  actions: readonly SchedAction[] | undefined;
  chosen: number;
  /** Keys already fully explored at this node. */
  done: string[];
  /** Keys that need not be explored here. */
  sleep: Set<string>;
  /** At the split depth of a sharded search: keys another shard explores. */
  foreign: Set<string> | undefined;
}

/** This search explores part `index` of `count` (see ExhaustiveChoices). */
export interface ShardSpec {
  readonly index: number;
  readonly count: number;
}

/** Thrown when an execution reaches a split node none of whose branches belong to this shard. */
export class NotThisShard extends Error {
  override readonly name = 'NotThisShard';
}

/** Key of an action: what it is, not where it sits in the option list. */
export function actionKey(a: SchedAction): string {
  return `${a.cpu}:${a.kind}:${a.detail}`;
}

/** Two actions commute when they are on different CPUs and one only touches local state. */
export function independent(a: SchedAction, b: SchedAction): boolean {
  if (a.cpu === b.cpu || a.kind !== 'step' || b.kind !== 'step') {
    return false;
  }
  return a.detail.startsWith('local:') || b.detail.startsWith('local:');
}

/** Options for the exhaustive source. */
export interface ExhaustiveOptions {
  readonly sleepSets?: boolean;
  readonly symmetry?: boolean;
  /** Choices deeper than this take option 0 without branching. */
  readonly maxDepth?: number;
  /**
   * Explore only part of the tree. At `splitDepth` (a count of branching choices) the branches
   * are dealt round-robin, in depth-first order, to the shards; everything above is walked by
   * every shard (identically: sleep sets there do not depend on what lies below). Executions
   * and nodes above the split count for shard 0 only, so the shards' counts add up to one
   * run's.
   */
  readonly shard?: ShardSpec;
  readonly splitDepth?: number;
  /**
   * Stateful search: never explore a state twice (its fingerprint is in the store). Sleep sets
   * are then off: combined with state caching they can miss states.
   */
  readonly states?: StateStore;
}

/**
 * Branches of other shards before the chosen one count as done, as they would be in one
 * unsharded run (which explores them first): later siblings inherit the same sleep sets.
 */
function markForeignDone(node: Node): void {
  if (node.foreign === undefined) {
    return;
  }
  for (let i = 0; i < node.chosen; i++) {
    const k = node.keys[i] as string;
    if (node.foreign.has(k) && !node.done.includes(k)) {
      node.done.push(k);
    }
  }
}

/** Exhaustive DFS choice source. Call `begin()` before each execution, `advance()` after. */
export class ExhaustiveChoices implements ChoiceSource {
  private readonly stack: Node[] = [];
  private depth = 0;
  /** Nodes created so far (distinct states of the execution tree). */
  nodes = 0;
  /** Deepest choice depth seen. */
  maxDepthSeen = 0;
  /** Options skipped by sleep sets and symmetry. */
  pruned = 0;
  private readonly sleepSets: boolean;
  private readonly symmetry: boolean;
  private readonly maxDepth: number;
  /** Visited states (stateful search), if any. */
  readonly states: StateStore | undefined;
  /** Executions cut short at a state explored before. */
  revisits = 0;
  private readonly shard: ShardSpec;
  private readonly splitDepth: number;
  /** Branches dealt at the split depth so far (round-robin over shards). */
  private dealt = 0;
  /** Branching choices the current execution actually made. */
  private reached = 0;
  /** Nodes created above the split depth (walked by every shard). */
  nodesAboveSplit = 0;

  constructor(opts: ExhaustiveOptions = {}) {
    this.states = opts.states;
    this.sleepSets = opts.states === undefined && (opts.sleepSets ?? true);
    this.symmetry = opts.symmetry ?? true;
    this.maxDepth = opts.maxDepth ?? 10_000;
    this.shard = opts.shard ?? { index: 0, count: 1 };
    this.splitDepth = opts.splitDepth ?? 6;
  }

  /** Whether the current execution chose below the split depth (it belongs to one shard). */
  get belowSplit(): boolean {
    return this.reached > this.splitDepth;
  }

  /** Whether this shard counts the current execution (below the split: its own; above: shard 0). */
  get owns(): boolean {
    return this.shard.count === 1 || this.belowSplit || this.shard.index === 0;
  }

  /** Nodes this shard counts: its own subtrees, plus (shard 0) those above the split. */
  get ownedNodes(): number {
    return this.shard.count === 1 || this.shard.index === 0 ? this.nodes : this.nodes - this.nodesAboveSplit;
  }

  /**
   * Fraction of the tree already explored, from the DFS stack: at each depth the share of the
   * node's options done, scaled by the share of the parent's options its branch stands for.
   * Coarse (subtrees are assumed equal), but free, and it only grows.
   */
  progress(): number {
    let frac = 0;
    let scale = 1;
    for (let d = 0; d < this.stack.length; d++) {
      const n = this.stack[d] as Node;
      const w = n.keys.length;
      frac += (scale * n.chosen) / w;
      scale /= w;
    }
    return Math.min(1, frac);
  }

  /** Start an execution. */
  begin(): void {
    this.depth = 0;
    this.reached = 0;
  }

  /** The path taken by the current execution. */
  path(): number[] {
    return this.stack.slice(0, this.depth).map((n) => n.chosen);
  }

  visitState(fingerprint: () => string): boolean {
    // Only new nodes: an execution replays its path's prefix through states already recorded.
    if (this.states === undefined || this.stack[this.depth] !== undefined || this.depth >= this.maxDepth) {
      return true;
    }
    if (this.states.add(fingerprint())) {
      return true;
    }
    this.revisits++;
    return false;
  }

  choose(n: number): number {
    if (n <= 1) {
      return 0;
    }
    const keys: string[] = [];
    for (let i = 0; i < n; i++) {
      keys.push(`#${i}`);
    }
    return this.at(keys, undefined);
  }

  chooseAction(actions: readonly SchedAction[]): number {
    if (actions.length <= 1) {
      return 0;
    }
    // Copy: the scheduler reuses its action array for the next choice.
    return this.at(actions.map(actionKey), actions.slice());
  }

  private at(keys: string[], actions: readonly SchedAction[] | undefined): number {
    const d = this.depth++;
    if (d > this.maxDepthSeen) {
      this.maxDepthSeen = d;
    }
    if (d >= this.maxDepth) {
      return 0;
    }
    const existing = this.stack[d];
    if (existing !== undefined) {
      this.reached = d + 1;
      return existing.chosen;
    }
    const sleep = this.inheritSleep(d, actions);
    if (this.states !== undefined && actions !== undefined) {
      // Stateful search: an ample set of one. A step labelled local: touches only its CPU's
      // own state, so it commutes with everything else enabled here and is invisible to the
      // other CPUs: taking it first loses no state. (Sleep sets are off in stateful search.)
      const local = actions.findIndex((a) => a.kind === 'step' && a.detail.startsWith('local:'));
      if (local >= 0) {
        keys.forEach((k, i) => {
          if (i !== local) {
            sleep.add(k);
          }
        });
      }
    }
    if (this.symmetry && actions !== undefined) {
      const seen = new Map<string, number>();
      actions.forEach((a, i) => {
        if (a.sig === undefined) {
          return;
        }
        const first = seen.get(a.sig);
        if (first === undefined) {
          seen.set(a.sig, i);
        } else if (actions[first]?.cpu !== a.cpu) {
          sleep.add(keys[i] as string);
        }
      });
    }
    let foreign: Set<string> | undefined;
    if (this.shard.count > 1 && d === this.splitDepth) {
      // Deal this node's branches round-robin; the order is the same in every shard.
      foreign = new Set();
      for (const k of keys) {
        if (!sleep.has(k) && this.dealt++ % this.shard.count !== this.shard.index) {
          foreign.add(k);
        }
      }
    }
    const chosen = keys.findIndex((k) => !sleep.has(k) && foreign?.has(k) !== true);
    this.nodes++;
    if (d <= this.splitDepth) {
      this.nodesAboveSplit++;
    }
    if (chosen < 0) {
      this.pruned += keys.length;
      this.stack.push({ keys, actions, chosen: 0, done: [...keys], sleep, foreign });
      if (foreign !== undefined && keys.some((k) => !sleep.has(k))) {
        throw new NotThisShard('every branch here belongs to another shard');
      }
      throw new SleepBlocked('all enabled actions sleep');
    }
    const node: Node = { keys, actions, chosen, done: [], sleep, foreign };
    markForeignDone(node);
    this.stack.push(node);
    this.reached = d + 1;
    return chosen;
  }

  /** Sleep set of a new node at depth d: the parent's sleep and done actions that commute with the parent's choice. */
  private inheritSleep(d: number, actions: readonly SchedAction[] | undefined): Set<string> {
    const out = new Set<string>();
    const parent = this.stack[d - 1];
    if (!this.sleepSets || parent === undefined || parent.actions === undefined || actions === undefined) {
      return out;
    }
    const chosenAct = parent.actions[parent.chosen];
    if (chosenAct === undefined) {
      return out;
    }
    const here = new Set(actions.map(actionKey));
    for (const k of [...parent.sleep, ...parent.done]) {
      const a = parent.actions.find((x) => actionKey(x) === k);
      if (a !== undefined && here.has(k) && independent(a, chosenAct)) {
        out.add(k);
      }
    }
    return out;
  }

  /** Move to the next unexplored path. @returns false when the search is complete. */
  advance(): boolean {
    // Forget nodes beyond what this execution reached (a shorter run).
    this.stack.length = Math.min(this.stack.length, this.depth);
    while (this.stack.length > 0) {
      const node = this.stack[this.stack.length - 1] as Node;
      const cur = node.keys[node.chosen] as string;
      if (!node.done.includes(cur)) {
        node.done.push(cur);
      }
      const next = node.keys.findIndex((k) => !node.done.includes(k) && !node.sleep.has(k) && node.foreign?.has(k) !== true);
      if (next >= 0) {
        node.chosen = next;
        markForeignDone(node);
        return true;
      }
      this.pruned += node.keys.filter((k) => node.sleep.has(k)).length;
      this.stack.pop();
    }
    return false;
  }
}
