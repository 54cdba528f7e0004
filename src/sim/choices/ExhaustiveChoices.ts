/**
 * Exhaustive depth-first search over choice sequences by re-execution (stateless model
 * checking), with these reductions:
 * - sleep sets (partial-order reduction): after exploring action a at a node, a sibling branch
 *   need not try a again until something dependent with a has run;
 * - symmetry: among actions of CPUs whose execution signatures are identical, only the first
 *   is explored;
 * - dynamic partial-order reduction (`dpor`): a node explores only the actions that the race
 *   analysis of the executions below it asked for. After every execution each step is checked
 *   against the earlier steps of other CPUs it depends on (footprints, base/footprint.ts); the
 *   latest such step that does not already happen before this CPU's previous step is a race,
 *   and the node where it was chosen gets this CPU (or, if this CPU could not move there,
 *   every enabled action) added to its backtrack set. The actions of one CPU at a node (its
 *   step, a pending interrupt, a timeout) are alternatives of one thread: a node that explores
 *   one explores them all. Sleep sets then use footprints instead of labels.
 * An execution that reaches a node whose every enabled action sleeps is redundant: the choice
 * source throws `SleepBlocked` and the explorer discards it.
 * @see Godefroid, "Partial-Order Methods for the Verification of Concurrent Systems" (sleep sets);
 *      Flanagan and Godefroid, "Dynamic partial-order reduction for model checking software"
 *      (POPL 2005, the race analysis with clock vectors); TigerBeetle exhaustigen.zig
 *      (odometer enumeration)
 */
import type { ChoiceSource, SchedAction } from '../../base/choice.js';
import { dependent } from '../../base/footprint.js';
import type { StepFootprint } from '../../base/footprint.js';
import { stateKey } from '../stateStore.js';
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
  /** DPOR: keys to explore here (undefined: every key, as without DPOR). */
  backtrack: Set<string> | undefined;
  /** DPOR: footprints of the keys explored from here (for sleep sets). */
  fps: Map<string, StepFootprint> | undefined;
  /** DPOR: index, in the current execution's steps, of the step chosen here. */
  event: number;
}

/** One step of the current execution (DPOR). */
interface Event {
  readonly key: string;
  readonly fp: StepFootprint;
  /** Depth of the node that chose it, or -1 (the only enabled action, or below maxDepth). */
  readonly node: number;
}

/** This search explores part `index` of `count` (see ExhaustiveChoices). */
export interface ShardSpec {
  readonly index: number;
  readonly count: number;
}

/** Thrown at a state explored before whose every action is covered (stateful search). */
export class StateRevisit extends SleepBlocked {
  override readonly name: string = 'StateRevisit';
}

/** One instance each: building an Error (and its stack) per redundant execution is costly. */
const STATE_REVISIT = new StateRevisit('state explored before');
const ALL_ASLEEP = new SleepBlocked('all enabled actions sleep');

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
   * Stateful search: never explore a state twice (its fingerprint is in the store). With sleep
   * sets on, they come from footprints and each state remembers the sleep set it was first
   * reached with: a later visit whose sleep set lacks some of those actions explores exactly
   * them (Godefroid's sleep sets with state caching), otherwise it is cut.
   */
  readonly states?: StateStore;
  /**
   * Dynamic partial-order reduction from step footprints (stateless search only; ignored with
   * `states`). Sleep sets, if on, use footprints too.
   */
  readonly dpor?: boolean;
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
  private readonly dpor: boolean;
  /** DPOR: the steps of the current execution. */
  private events: Event[] = [];
  /** DPOR: depth of the node whose choice the next noted step is. */
  private pendingNode = -1;
  /** DPOR: races found (backtrack entries added). */
  races = 0;
  /**
   * DPOR: the scheduler reports every step with its footprint (present only with `dpor`, so
   * that other searches do not pay for recording).
   */
  readonly noteStep?: (key: string, fp: StepFootprint) => void;
  /** Sleep sets from footprints (DPOR, or stateful search with sleep sets). */
  private readonly footprints: boolean;
  /**
   * Stateful search with sleep sets: for states first reached with a non-empty sleep set, that
   * set (interned, actions named by canonical CPU rank). A state absent here was reached with
   * an empty one: every later visit is covered.
   */
  private readonly stateSleep = new Map<number, number>();
  private readonly sleepIds = new Map<string, number>();
  private readonly sleepSetsById: (readonly string[])[] = [];
  /** The state key and canonical CPU ranks of the choice point about to be decided. */
  private pendingState: { key: number; ranks: readonly number[] } | undefined;
  /** Stateful: visits of a known state that woke some of its sleeping actions. */
  reopened = 0;

  constructor(opts: ExhaustiveOptions = {}) {
    this.states = opts.states;
    this.sleepSets = opts.sleepSets ?? true;
    this.symmetry = opts.symmetry ?? true;
    this.maxDepth = opts.maxDepth ?? 10_000;
    this.shard = opts.shard ?? { index: 0, count: 1 };
    this.splitDepth = opts.splitDepth ?? 6;
    this.dpor = opts.dpor === true && opts.states === undefined;
    this.footprints = this.dpor || (opts.states !== undefined && this.sleepSets);
    if (this.footprints) {
      this.noteStep = (key, fp) => this.note(key, fp);
    }
  }

  /** Entries of the state/sleep-set table and their approximate bytes (for the report). */
  get sleepTable(): { readonly entries: number; readonly bytes: number } {
    return { entries: this.stateSleep.size, bytes: this.stateSleep.size * 52 };
  }

  private internSleep(keys: readonly string[]): number {
    const name = keys.join('\n');
    let id = this.sleepIds.get(name);
    if (id === undefined) {
      id = this.sleepSetsById.length;
      this.sleepIds.set(name, id);
      this.sleepSetsById.push(keys);
    }
    return id;
  }

  /**
   * Stateful search at a new sched node: record the state with its sleep set, or, if it was
   * seen before, cut the execution (every action explored then is covered) or mark asleep all
   * but the actions that slept then and are awake now.
   * @throws SleepBlocked (a StateRevisit) when the visit is covered
   */
  private visitWithSleep(keys: readonly string[], actions: readonly SchedAction[], sleep: Set<string>): void {
    const st = this.pendingState;
    this.pendingState = undefined;
    const store = this.states;
    if (st === undefined || store === undefined) {
      return;
    }
    const canon = (i: number): string => {
      const a = actions[i] as SchedAction;
      return `${st.ranks[a.cpu] ?? a.cpu}:${a.kind}:${a.detail}`;
    };
    const asleep: string[] = [];
    keys.forEach((k, i) => {
      if (sleep.has(k)) {
        asleep.push(canon(i));
      }
    });
    asleep.sort();
    if (store.addKey(st.key)) {
      if (asleep.length > 0) {
        this.stateSleep.set(st.key, this.internSleep(asleep));
      }
      return;
    }
    const id = this.stateSleep.get(st.key);
    const before = id === undefined ? undefined : this.sleepSetsById[id];
    const now = new Set(asleep);
    const wake = before === undefined ? [] : before.filter((c) => !now.has(c));
    if (wake.length === 0) {
      this.revisits++;
      throw STATE_REVISIT;
    }
    // Explored at the first visit: everything but the woken actions.
    this.reopened++;
    const woken = new Set(wake);
    keys.forEach((k, i) => {
      if (!woken.has(canon(i))) {
        sleep.add(k);
      }
    });
    const keep = (before as readonly string[]).filter((c) => now.has(c));
    if (keep.length === 0) {
      this.stateSleep.delete(st.key);
    } else {
      this.stateSleep.set(st.key, this.internSleep(keep));
    }
  }

  private note(key: string, fp: StepFootprint): void {
    const node = this.pendingNode;
    this.pendingNode = -1;
    const idx = this.events.length;
    this.events.push({ key, fp, node });
    const n = node >= 0 ? this.stack[node] : undefined;
    if (n !== undefined) {
      n.event = idx;
      n.fps?.set(key, fp);
    }
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
    this.pendingState = undefined;
    this.depth = 0;
    this.reached = 0;
    this.events = [];
    this.pendingNode = -1;
  }

  /** The path taken by the current execution. */
  path(): number[] {
    return this.stack.slice(0, this.depth).map((n) => n.chosen);
  }

  visitState(fingerprint: () => string, ranks?: () => readonly number[]): boolean {
    // Only new nodes: an execution replays its path's prefix through states already recorded.
    if (this.states === undefined || this.stack[this.depth] !== undefined || this.depth >= this.maxDepth) {
      return true;
    }
    if (this.footprints) {
      // Decided in at(), once the sleep set of the node is known.
      const key = stateKey(fingerprint());
      this.pendingState = { key, ranks: ranks?.() ?? [] };
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
      if (actions !== undefined) {
        this.pendingNode = d;
      }
      return existing.chosen;
    }
    const sleep = this.footprints ? this.inheritSleepDpor(d, actions) : this.inheritSleep(d, actions);
    if (this.footprints && this.states !== undefined && actions !== undefined) {
      this.visitWithSleep(keys, actions, sleep);
    }
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
    /** DPOR: representative of each option under symmetry (itself if none). */
    const reps = keys.map((_, i) => i);
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
          reps[i] = first;
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
    // DPOR: a sched node starts with its first action (and the other actions of that CPU);
    // a sharded search explores every action down to the split depth, so that every shard
    // walks the same tree above it.
    const dporNode = this.dpor && actions !== undefined && !(this.shard.count > 1 && d <= this.splitDepth);
    if (chosen < 0) {
      this.pruned += keys.length;
      this.stack.push({ keys, actions, chosen: 0, done: [...keys], sleep, foreign, backtrack: undefined, fps: undefined, event: -1 });
      if (foreign !== undefined && keys.some((k) => !sleep.has(k))) {
        throw new NotThisShard('every branch here belongs to another shard');
      }
      throw ALL_ASLEEP;
    }
    const node: Node = { keys, actions, chosen, done: [], sleep, foreign, backtrack: undefined, fps: this.footprints && actions !== undefined ? new Map(this.inheritedFps) : undefined, event: -1 };
    if (dporNode) {
      node.backtrack = new Set();
      this.reps.set(node, reps);
      this.addCpu(node, (actions[chosen] as SchedAction).cpu);
    }
    markForeignDone(node);
    this.stack.push(node);
    this.reached = d + 1;
    if (actions !== undefined) {
      this.pendingNode = d;
    }
    return chosen;
  }

  /** DPOR: footprints of the sleep set just inherited (for the new node). */
  private readonly inheritedFps = new Map<string, StepFootprint>();

  /** DPOR: representatives per option of the nodes that have a backtrack set. */
  private readonly reps = new WeakMap<Node, number[]>();

  /** DPOR: explore every action of `cpu` at `node` (through their symmetry representatives). */
  private addCpu(node: Node, cpu: number): void {
    const bt = node.backtrack;
    const acts = node.actions;
    if (bt === undefined || acts === undefined) {
      return;
    }
    const reps = this.reps.get(node);
    for (let i = 0; i < acts.length; i++) {
      if ((acts[i] as SchedAction).cpu === cpu) {
        const k = node.keys[reps?.[i] ?? i] as string;
        if (!node.sleep.has(k) || k === node.keys[i]) {
          this.addBacktrack(node, k);
        }
      }
    }
  }

  private addBacktrack(node: Node, k: string): void {
    const bt = node.backtrack as Set<string>;
    if (!bt.has(k)) {
      bt.add(k);
      this.races++;
    }
  }

  /** DPOR: explore every action at `node`. */
  private addAll(node: Node): void {
    const acts = node.actions;
    if (node.backtrack === undefined || acts === undefined) {
      return;
    }
    const cpus = new Set(acts.map((a) => a.cpu));
    for (const c of cpus) {
      this.addCpu(node, c);
    }
  }

  /**
   * DPOR race analysis of the execution just finished (Flanagan and Godefroid's, with clock
   * vectors over the steps): for each step j of CPU p, the latest earlier step i of another
   * CPU that j depends on and that does not happen before p's previous step is a race; the
   * node that chose i must also try p there (all of p's actions), or, if p could not move
   * there, everything enabled there.
   */
  private analyzeRaces(): void {
    const ev = this.events;
    const n = ev.length;
    if (n === 0) {
      return;
    }
    let ncpu = 0;
    for (const e of ev) {
      ncpu = Math.max(ncpu, e.fp.cpu + 1);
    }
    const clocks = new Int32Array(n * ncpu).fill(-1);
    const lastOf = new Int32Array(ncpu).fill(-1);
    const cj = new Int32Array(ncpu);
    for (let j = 0; j < n; j++) {
      const ej = ev[j] as Event;
      const fj = ej.fp;
      const p = fj.cpu;
      if (fj.all && ej.node >= 0) {
        // A step that depends on everything (a timeout, the end of a program the scenario
        // waits for, after which the execution may stop) races with whatever every other CPU
        // would do next, including steps this execution never ran: try them all first.
        const node = this.stack[ej.node];
        if (node !== undefined) {
          this.addAll(node);
        }
      }
      const prev = lastOf[p] as number;
      if (prev >= 0) {
        cj.set(clocks.subarray(prev * ncpu, prev * ncpu + ncpu));
      } else {
        cj.fill(-1);
      }
      const base = prev >= 0 ? prev * ncpu : -1;
      let raced = false;
      for (let i = j - 1; i >= 0; i--) {
        const fi = (ev[i] as Event).fp;
        const q = fi.cpu;
        if (q === p) {
          continue;
        }
        const known = i <= (cj[q] as number);
        if (known && raced) {
          continue;
        }
        if (!dependent(fi, fj)) {
          continue;
        }
        if (!raced && !(base >= 0 && i <= (clocks[base + q] as number))) {
          raced = true;
          this.race(i, j);
        }
        if (!known) {
          const bi = i * ncpu;
          for (let c = 0; c < ncpu; c++) {
            const v = clocks[bi + c] as number;
            if (v > (cj[c] as number)) {
              cj[c] = v;
            }
          }
          if (i > (cj[q] as number)) {
            cj[q] = i;
          }
        }
      }
      cj[p] = j;
      clocks.set(cj, j * ncpu);
      lastOf[p] = j;
    }
  }

  /** Steps i and j race: make the node that chose i try j's CPU first. */
  private race(i: number, j: number): void {
    const ev = this.events;
    const ei = ev[i] as Event;
    if (ei.node < 0) {
      return;
    }
    const node = this.stack[ei.node];
    if (node?.backtrack === undefined || node.actions === undefined) {
      return;
    }
    const p = (ev[j] as Event).fp.cpu;
    if (node.actions.some((a) => a.cpu === p)) {
      this.addCpu(node, p);
    } else {
      this.addAll(node);
    }
  }

  /**
   * DPOR sleep set of a new node at depth d: what slept or was done at the nearest sched node
   * above, still enabled here, and independent (by footprint) of every step since that node's
   * choice.
   */
  private inheritSleepDpor(d: number, actions: readonly SchedAction[] | undefined): Set<string> {
    const out = new Set<string>();
    this.inheritedFps.clear();
    if (!this.sleepSets || actions === undefined) {
      return out;
    }
    let pd = d - 1;
    while (pd >= 0 && (this.stack[pd] as Node).actions === undefined) {
      pd--;
    }
    const parent = this.stack[pd];
    if (parent === undefined || parent.fps === undefined || parent.event < 0) {
      return out;
    }
    const here = new Set(actions.map(actionKey));
    const since = this.events.slice(parent.event);
    for (const k of [...parent.sleep, ...parent.done]) {
      const f = parent.fps.get(k);
      if (f === undefined || !here.has(k)) {
        continue;
      }
      if (since.every((e) => !dependent(f, e.fp))) {
        out.add(k);
        this.inheritedFps.set(k, f);
      }
    }
    return out;
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
    if (this.dpor) {
      this.analyzeRaces();
    }
    // Forget nodes beyond what this execution reached (a shorter run).
    this.stack.length = Math.min(this.stack.length, this.depth);
    while (this.stack.length > 0) {
      const node = this.stack[this.stack.length - 1] as Node;
      const cur = node.keys[node.chosen] as string;
      if (!node.done.includes(cur)) {
        node.done.push(cur);
      }
      const bt = node.backtrack;
      const next = node.keys.findIndex((k) => !node.done.includes(k) && !node.sleep.has(k) && node.foreign?.has(k) !== true && (bt === undefined || bt.has(k)));
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
