/**
 * The one scheduler. Each CPU runs a stack of frames: a task (a program started on it) and, on
 * top, interrupt handlers. At each step the scheduler lists what every CPU could do next
 * (step its program, take an interrupt, time out of a wait) and asks the choice source which
 * happens. Same choices, same trace.
 *
 * Two policies:
 * - `timed` (a run): discrete-event order by simulated time; the choice source only breaks
 *   exact ties. This is how a real machine behaves given the platform's costs.
 * - `free` (exploration): any enabled action may go next; timeouts and interrupt arrival are
 *   choices. This is what finds races.
 *
 * When only one action is enabled the scheduler takes a fast path with no choice recorded.
 * @see docs/architecture.md section 5; fast-check schedulerFor; TigerBeetle VOPR
 */
import { assert, ModelBug } from '../base/assert.js';
import type { ChoiceSource, SchedAction } from '../base/choice.js';
import { fnv1a32 } from '../base/prng.js';
import { callHandler, handlerEntry } from '../platform/Cpu.js';
import type { Cpu, PendingInterrupt } from '../platform/Cpu.js';
import { stepCalls } from '../platform/Exec.js';
import type { Prog, Step } from '../platform/Exec.js';
import type { Platform } from '../platform/Platform.js';
import { SleepBlocked } from './choices/ExhaustiveChoices.js';

/** Scheduling policy. */
export type SchedPolicy = 'timed' | 'free';

type Blocked =
  | { readonly kind: 'wait'; readonly until: () => boolean; readonly deadline: number; readonly label: string }
  | { readonly kind: 'halt' };

interface Frame {
  /** The frame's call stack (outermost first): its program and the subroutines it `call()`ed. */
  readonly gens: Prog<unknown>[];
  readonly kind: 'task' | 'irq';
  readonly nmi: boolean;
  readonly savedIrqEnabled: boolean;
  readonly label: string;
  blocked: Blocked | undefined;
  input: unknown;
  /** Label of the step the frame paused at (what it does next). */
  pauseLabel: string;
  onDone: ((value: unknown) => void) | undefined;
}

interface CpuRun {
  readonly cpu: Cpu;
  readonly stack: Frame[];
  dead: string | undefined;
  /** Hash of the labels this CPU has executed (symmetry detection). */
  hist: number;
}

/** What one CPU can do next. */
const enum ActKind {
  Step = 0,
  Irq = 1,
  Timeout = 2,
}

const ACT_NAMES = ['step', 'irq', 'timeout'] as const;

interface Action {
  run: CpuRun;
  kind: ActKind;
  time: number;
  irq: PendingInterrupt | undefined;
}

/**
 * Thrown at a choice point whose state was explored before (stateful search): like a node
 * whose every action sleeps, the execution is redundant.
 */
export class StateSeen extends SleepBlocked {
  override readonly name: string = 'StateSeen';
}

/** What the layers above add to a state fingerprint (the kernel's state). */
export interface StateFingerprinter {
  /** State of the whole machine that is not per CPU. */
  globalState(): string;
  /** State kept about one CPU outside the CPU itself (masks, per-CPU flags). */
  cpuState(cpu: Cpu): string;
}

/** One instance, thrown every time: building an Error (and its stack) per revisit is costly. */
const STATE_SEEN = new StateSeen('state explored before');

/** Why a run stopped. */
export type StopReason = 'done' | 'stopped' | 'budget' | 'deadlock';

/** Counters for reports and benchmarks. */
export interface SchedStats {
  steps: number;
  choices: number;
  fastSteps: number;
}

/** The scheduler. */
export class Scheduler {
  private readonly runs: CpuRun[];
  private readonly actions: Action[] = [];
  /** CPUs with frames or pending interrupts: the only ones collect() looks at. */
  private readonly busy = new Set<CpuRun>();
  private actCount = 0;
  /** Time of the last executed action. */
  now = 0;
  readonly stats: SchedStats = { steps: 0, choices: 0, fastSteps: 0 };
  /** Per-CPU notes of the last step label, for timelines. */
  private readonly listeners: ((cpu: Cpu, step: Step | 'done' | 'irq') => void)[] = [];

  /**
   * In the free policy, whether a `tick` is a preemption point. Exploration turns it off so
   * that only `yield`, `wait`, `halt` and interrupts interleave (coarse atomicity).
   */
  preemptOnTick = true;
  private readonly actionScratch: SchedAction[] = [];
  /** Kernel-side state for fingerprints (stateful search). */
  fingerprinter: StateFingerprinter | undefined;

  constructor(
    readonly platform: Platform,
    private readonly choices: ChoiceSource,
    readonly policy: SchedPolicy = 'timed',
  ) {
    this.runs = platform.cpus.map((cpu) => ({ cpu, stack: [], dead: undefined, hist: 0x811c9dc5 }));
    for (let i = 0; i < this.runs.length * 3; i++) {
      this.actions.push({ run: this.runs[0] as CpuRun, kind: ActKind.Step, time: 0, irq: undefined });
    }
  }

  /** Observe every step (for timelines). */
  onStep(fn: (cpu: Cpu, step: Step | 'done' | 'irq') => void): void {
    this.listeners.push(fn);
  }

  /** Start `prog` as the task of an idle CPU. `onDone` receives its return value. */
  spawn(cpu: Cpu, prog: Prog<unknown>, label = 'task', onDone?: (value: unknown) => void): void {
    const run = this.runs[cpu.id];
    assert(run !== undefined, `spawn: no CPU ${cpu.id}`);
    assert(run.stack.length === 0, `spawn: CPU ${cpu.id} is busy`);
    run.dead = undefined;
    cpu.halted = false;
    this.busy.add(run);
    run.stack.push({ gens: [prog], kind: 'task', nmi: false, savedIrqEnabled: cpu.irqEnabled, label, blocked: undefined, input: undefined, onDone, pauseLabel: '' });
  }

  /** True if the CPU has nothing to run (idle loop). */
  isIdle(cpu: Cpu): boolean {
    return (this.runs[cpu.id]?.stack.length ?? 0) === 0;
  }

  /** Why a CPU stopped for good, if it did. */
  deadReason(cpu: Cpu): string | undefined {
    return this.runs[cpu.id]?.dead;
  }

  /** Labels of the frames a CPU is running (bottom first). */
  frames(cpu: Cpu): string[] {
    return (this.runs[cpu.id]?.stack ?? []).map((f) => f.label);
  }

  /** The label of the step a CPU's innermost frame paused at (what it does next), or ''. */
  pausedAt(cpu: Cpu): string {
    const st = this.runs[cpu.id]?.stack;
    return st?.[st.length - 1]?.pauseLabel ?? '';
  }

  /** Forget every CPU's frames (the machine jumped to a new kernel). */
  resetCpu(cpu: Cpu): void {
    const run = this.runs[cpu.id];
    if (run !== undefined) {
      run.stack.length = 0;
      run.dead = undefined;
      run.hist = 0x811c9dc5;
    }
  }

  /**
   * Run a program on `cpu` to completion (other CPUs keep running too) and return its value.
   * @throws ModelBug on deadlock or when the step budget runs out.
   */
  runProgram<T>(cpu: Cpu, prog: Prog<T>, label = 'task', maxSteps = 50_000_000): T {
    let finished = false;
    let result: unknown;
    this.spawn(cpu, prog, label, (v) => {
      finished = true;
      result = v;
    });
    const why = this.run(() => finished, maxSteps);
    if (!finished) {
      throw new ModelBug(`program ${label} on CPU ${cpu.id} did not finish: ${why}`);
    }
    return result as T;
  }

  /** Run until `stop()` holds, nothing can run, or the budget is spent. */
  run(stop: () => boolean = () => false, maxSteps = 50_000_000): StopReason {
    for (let i = 0; i < maxSteps; i++) {
      if (stop()) {
        return 'stopped';
      }
      this.collect();
      if (this.actCount === 0) {
        return this.runs.some((r) => r.stack.length > 0 && r.dead === undefined) ? 'deadlock' : 'done';
      }
      const act = this.pick();
      if (this.choices.noteStep !== undefined && this.policy === 'free') {
        const key = this.keyOf(act);
        const fp = this.platform.fp;
        fp.begin();
        this.execute(act);
        this.choices.noteStep(key, fp.end(act.run.cpu.id));
        continue;
      }
      this.execute(act);
      // Fast path: while this CPU is the only one with anything to do, keep stepping it without
      // re-collecting (no choice exists, so the trace and the path are the same).
      if (act.kind === ActKind.Step && this.busy.size === 1 && this.policy === 'timed') {
        const run = act.run;
        const cpu = run.cpu;
        while (i + 1 < maxSteps && this.platform.irqTargets.size === 0 && cpu.pending.length === 0 && run.dead === undefined) {
          const top = run.stack[run.stack.length - 1];
          if (top === undefined || top.blocked !== undefined || stop()) {
            break;
          }
          i++;
          this.stats.steps++;
          this.stats.fastSteps++;
          this.platform.tracer.mix(cpu.id);
          this.resume(run, top);
        }
      }
    }
    return 'budget';
  }

  private push(run: CpuRun, kind: ActKind, time: number, irq: PendingInterrupt | undefined): void {
    let a = this.actions[this.actCount];
    if (a === undefined) {
      a = { run, kind, time, irq };
      this.actions.push(a);
    } else {
      a.run = run;
      a.kind = kind;
      a.time = time;
      a.irq = irq;
    }
    this.actCount++;
  }

  /** The earliest interrupt this CPU would accept now. */
  private takeable(cpu: Cpu): PendingInterrupt | undefined {
    let best: PendingInterrupt | undefined;
    for (const irq of cpu.pending) {
      // arrivalNs Infinity: exploration chose "never taken" (interrupts off for good).
      const ok = irq.arrivalNs !== Infinity && (irq.vector === 'NMI' ? !cpu.inNmi : cpu.irqEnabled);
      if (ok && (best === undefined || irq.arrivalNs < best.arrivalNs)) {
        best = irq;
      }
    }
    return best;
  }

  private collect(): void {
    this.actCount = 0;
    const free = this.policy === 'free';
    let timeouts = 0;
    const targets = this.platform.irqTargets;
    if (targets.size > 0) {
      for (const c of targets) {
        const r = this.runs[c.id];
        if (r !== undefined) {
          this.busy.add(r);
        }
      }
      targets.clear();
    }
    for (const run of this.busy) {
      const cpu = run.cpu;
      if (run.stack.length === 0 && cpu.pending.length === 0) {
        this.busy.delete(run);
        continue;
      }
      if (run.dead !== undefined) {
        continue;
      }
      const irq = cpu.pending.length > 0 ? this.takeable(cpu) : undefined;
      const irqTime = irq === undefined ? Infinity : Math.max(cpu.clockNs, irq.arrivalNs);
      const top = run.stack[run.stack.length - 1];
      if (top === undefined || top.blocked?.kind === 'halt') {
        if (irq !== undefined && (cpu.online || irq.vector === 'NMI')) {
          this.push(run, ActKind.Irq, irqTime, irq);
        }
        continue;
      }
      const b = top.blocked;
      if (b === undefined) {
        if (irq !== undefined && (free || irqTime <= cpu.clockNs)) {
          this.push(run, ActKind.Irq, irqTime, irq);
          if (!free) {
            continue;
          }
        }
        this.push(run, ActKind.Step, cpu.clockNs, undefined);
        continue;
      }
      // Blocked in a wait.
      if (b.until()) {
        this.push(run, ActKind.Step, Math.max(cpu.clockNs, this.now), undefined);
        continue;
      }
      if (irq !== undefined && (free || irqTime <= b.deadline)) {
        this.push(run, ActKind.Irq, irqTime, irq);
      }
      if (b.deadline !== Infinity && (free || !(irqTime <= b.deadline))) {
        this.push(run, ActKind.Timeout, b.deadline, undefined);
        timeouts++;
      }
    }
    if (free && timeouts > 0) {
      this.dropEarlyTimeouts();
    }
  }

  /**
   * Free policy: a timeout may fire only once no other CPU has something to do before the
   * deadline (time still bounds waits; only the order of what happens in time is free). This is
   * what keeps an NMI sent 1 µs ago from being "never delivered".
   */
  private dropEarlyTimeouts(): void {
    let w = 0;
    for (let i = 0; i < this.actCount; i++) {
      const a = this.actions[i] as Action;
      let keep = true;
      if (a.kind === ActKind.Timeout) {
        for (let j = 0; j < this.actCount; j++) {
          const o = this.actions[j] as Action;
          if (o.run !== a.run && o.kind !== ActKind.Timeout && o.time < a.time) {
            keep = false;
            break;
          }
        }
      }
      if (keep) {
        this.actions[i] = this.actions[w] as Action;
        this.actions[w] = a;
        w++;
      }
    }
    this.actCount = w;
  }

  private pick(): Action {
    if (this.actCount === 1) {
      this.stats.fastSteps++;
      return this.actions[0] as Action;
    }
    if (this.policy === 'free') {
      if (this.choices.visitState !== undefined && !this.choices.visitState(this.fingerprintFn, this.ranksFn)) {
        throw STATE_SEEN;
      }
      this.stats.choices++;
      let k: number;
      if (this.choices.chooseAction !== undefined) {
        const acts = this.actionScratch;
        acts.length = 0;
        for (let i = 0; i < this.actCount; i++) {
          acts.push(this.describe(this.actions[i] as Action));
        }
        k = this.choices.chooseAction(acts, 'sched');
      } else {
        k = this.choices.choose(this.actCount, 'sched');
      }
      this.traceChoice(k);
      return this.actions[k] as Action;
    }
    // Timed: earliest action; the choice source breaks exact ties.
    let min = Infinity;
    for (let i = 0; i < this.actCount; i++) {
      const t = (this.actions[i] as Action).time;
      if (t < min) {
        min = t;
      }
    }
    let ties = 0;
    for (let i = 0; i < this.actCount; i++) {
      const a = this.actions[i] as Action;
      if (a.time === min) {
        this.actions[i] = this.actions[ties] as Action;
        this.actions[ties] = a;
        ties++;
      }
    }
    if (ties === 1) {
      return this.actions[0] as Action;
    }
    this.stats.choices++;
    const k = this.choices.choose(ties, 'sched.tie');
    this.traceChoice(k);
    return this.actions[k] as Action;
  }

  /**
   * Fingerprint of everything that can affect the future at a choice point: per CPU its
   * execution history (every label it paused at and every wait outcome: a program's local state
   * is a function of these and of the shared state it read, which shows in its later labels),
   * its frames and where each paused, its flags, clock, wait deadline, pending interrupts and
   * cache occupancy, plus what the kernel keeps about it; then the machine-wide state. CPUs are
   * sorted by their descriptor, so states that differ by a permutation of identical CPUs share
   * one fingerprint (symmetry). `test/props/fingerprint.props.spec.ts` checks that two states
   * with one fingerprint behave the same on random continuations.
   */
  fingerprint(canonical = true): string {
    const fp = this.fingerprinter;
    const cpus: string[] = [];
    this.descriptors = cpus;
    for (const run of this.runs) {
      const c = run.cpu;
      let d = `${run.hist}|${run.dead ?? ''}|${c.clockNs}|${c.irqEnabled ? 1 : 0}${c.inNmi ? 1 : 0}${c.online ? 1 : 0}${c.halted ? 1 : 0}${c.vmx ? 1 : 0}|${c.cache.lineCount}|`;
      for (const f of run.stack) {
        d += `${f.label}:${f.pauseLabel}:${f.blocked === undefined ? '-' : f.blocked.kind === 'halt' ? 'h' : f.blocked.deadline}/`;
      }
      d += '|';
      for (const p of c.pending) {
        d += `${p.vector}@${p.arrivalNs}~${p.latencyClass ?? 0},`;
      }
      if (fp !== undefined) {
        d += `|${fp.cpuState(c)}`;
      }
      cpus.push(d);
    }
    if (canonical) {
      this.descriptors = cpus.slice();
      cpus.sort();
    }
    return `${this.platform.staleWritebacks.length}|${fp?.globalState() ?? ''}#${cpus.join('#')}`;
  }

  /** Per-CPU descriptors of the last fingerprint, in CPU order (for `canonicalRanks`). */
  private descriptors: string[] = [];
  private readonly fingerprintFn = (canonical?: boolean): string => this.fingerprint(canonical);
  private readonly ranksFn = (): readonly number[] => this.canonicalRanks();

  /**
   * After `fingerprint()`: for each CPU id, the position of its descriptor in the fingerprint's
   * sorted CPU list (CPUs with equal descriptors, which symmetry treats as one, share the
   * first position). Stateful search names actions by these ranks, so that what it remembers
   * about a state holds for every permutation of it.
   */
  canonicalRanks(): number[] {
    const d = this.descriptors;
    const sorted = d.slice().sort();
    const first = new Map<string, number>();
    sorted.forEach((x, i) => {
      if (!first.has(x)) {
        first.set(x, i);
      }
    });
    const ranks: number[] = new Array(this.runs.length).fill(0);
    this.runs.forEach((r, i) => {
      ranks[r.cpu.id] = first.get(d[i] as string) ?? i;
    });
    return ranks;
  }

  /** What `describe` names an action's detail. */
  private detailOf(a: Action): string {
    const top = a.run.stack[a.run.stack.length - 1];
    return a.kind === ActKind.Irq ? (a.irq?.vector ?? 'irq') : a.kind === ActKind.Timeout ? (top?.blocked?.kind === 'wait' ? top.blocked.label : 'timeout') : (top?.pauseLabel ?? '');
  }

  /** The action key choice sources see (`actionKey()` of `describe()`). */
  private keyOf(a: Action): string {
    return `${a.run.cpu.id}:${ACT_NAMES[a.kind]}:${this.detailOf(a)}`;
  }

  private describe(a: Action): SchedAction {
    const detail = this.detailOf(a);
    const c = a.run.cpu;
    const sig = `${a.run.hist}|${a.run.stack.map((f) => f.pauseLabel).join('/')}|${c.irqEnabled ? 1 : 0}${c.inNmi ? 1 : 0}${c.online ? 1 : 0}|${c.pending.map((p) => (p.latencyClass === undefined ? p.vector : `${p.vector}~${p.latencyClass}`)).join(',')}|${a.kind}`;
    return { cpu: c.id, kind: ACT_NAMES[a.kind], detail, sig };
  }

  private traceChoice(k: number): void {
    const a = this.actions[k] as Action;
    this.platform.tracer.emit({ kind: 'sched.choose', t: a.time, cpu: a.run.cpu.id, label: ACT_NAMES[a.kind] ?? 'step', n: this.actCount, pick: k });
  }

  private execute(act: Action): void {
    const run = act.run;
    const cpu = run.cpu;
    this.stats.steps++;
    if (act.time > cpu.clockNs) {
      cpu.clockNs = act.time;
    }
    const fp = this.platform.fp;
    if (cpu.clockNs > this.now) {
      // Simulated time is a maximum over CPUs: raising it commutes with other raises and
      // conflicts with a wait that resumes at it (footprint roles: raise = read, resume = write).
      fp.r('now');
      this.now = cpu.clockNs;
    }
    this.platform.current = cpu;
    this.platform.tracer.mix(cpu.id);
    switch (act.kind) {
      case ActKind.Irq:
        this.deliver(run, act.irq as PendingInterrupt);
        return;
      case ActKind.Timeout: {
        // Whether a timeout may fire depends on every other CPU's next action and its time.
        fp.everything();
        const top = run.stack[run.stack.length - 1] as Frame;
        top.blocked = undefined;
        top.input = false;
        // The wait's outcome is an input of the program: part of its history.
        run.hist = fnv1a32('!timeout', run.hist);
        this.resume(run, top);
        return;
      }
      case ActKind.Step: {
        const top = run.stack[run.stack.length - 1] as Frame;
        if (top.blocked !== undefined) {
          if (fp.on && top.blocked.kind === 'wait') {
            // The wait ends because its condition holds: the step reads what the condition reads.
            this.readCondition(top.blocked.until);
            fp.w('now');
          }
          top.blocked = undefined;
          top.input = true;
        }
        this.resume(run, top);
        return;
      }
    }
  }

  /** Exploration fault sites that act at a CPU's step: early eviction, a stray NMI. */
  private injectAt(cpu: Cpu): void {
    const f = this.platform.faults;
    if (f.shouldFail('cache.evict', cpu.id)) {
      this.platform.evictLines(cpu, Math.max(1, cpu.cache.lineCount >> 1));
    }
    if (f.shouldFail('nmi', cpu.id)) {
      this.platform.sendIpi(cpu, cpu, 'NMI');
    }
  }

  /**
   * Evaluate a wait's condition while recording its footprint. A condition that records no
   * access reads state nobody declared: the step then depends on everything.
   */
  private readCondition(until: () => boolean): boolean {
    const fp = this.platform.fp;
    const before = fp.count;
    const v = until();
    if (fp.count === before) {
      fp.everything();
    }
    return v;
  }

  private takeInput(frame: Frame): unknown {
    const v = frame.input;
    frame.input = undefined;
    return v;
  }

  private deliver(run: CpuRun, irq: PendingInterrupt): void {
    const cpu = run.cpu;
    this.platform.fp.w('pending', cpu.id);
    const i = cpu.pending.indexOf(irq);
    cpu.pending.splice(i, 1);
    const nmi = irq.vector === 'NMI';
    if (cpu.halted) {
      cpu.halted = false;
      this.platform.tracer.emit({ kind: 'cpu.wake', t: cpu.clockNs, cpu: cpu.id, by: irq.vector });
    }
    this.platform.tracer.emit({ kind: 'ipi.deliver', t: cpu.clockNs, cpu: cpu.id, vector: irq.vector, nmi, from: irq.from });
    run.hist = fnv1a32(`!irq:${irq.vector}`, run.hist);
    const handler = cpu.handlers.get(irq.vector);
    let gen: Prog<unknown>;
    if (handler !== undefined) {
      gen = callHandler(handler, cpu, irq);
    } else if (irq.payload !== undefined) {
      gen = irq.payload();
    } else {
      return; // spurious: nobody listens on this vector
    }
    run.stack.push({
      gens: [gen],
      kind: 'irq',
      nmi,
      savedIrqEnabled: cpu.irqEnabled,
      label: irq.vector,
      blocked: undefined,
      input: undefined,
      onDone: undefined,
      pauseLabel: handler !== undefined ? handlerEntry(handler, cpu, irq) : '',
    });
    if (nmi) {
      cpu.inNmi = true;
    } else {
      cpu.irqEnabled = false;
    }
    for (const l of this.listeners) {
      l(cpu, 'irq');
    }
  }

  private resume(run: CpuRun, frame: Frame): void {
    const cpu = run.cpu;
    cpu.stepCount++;
    if (this.policy === 'free') {
      this.injectAt(cpu);
    }
    let r = stepCalls(frame.gens, this.takeInput(frame));
    // Coarse atomicity in exploration: run through ticks without offering a choice.
    while (!this.preemptOnTick && this.policy === 'free' && r.done !== true && r.value.op === 'tick') {
      cpu.clockNs += r.value.ns;
      r = stepCalls(frame.gens, undefined);
    }
    if (r.done === true) {
      run.stack.pop();
      if (frame.kind === 'irq') {
        if (frame.nmi) {
          cpu.inNmi = false;
        } else {
          cpu.irqEnabled = frame.savedIrqEnabled;
        }
      }
      // HLT returns once the interrupt that woke it has been handled.
      const below = run.stack[run.stack.length - 1];
      if (below !== undefined && below.blocked?.kind === 'halt') {
        below.blocked = undefined;
      }
      for (const l of this.listeners) {
        l(cpu, 'done');
      }
      if (frame.onDone !== undefined) {
        // Whoever waits for this program looks at the whole machine when it ends.
        this.platform.fp.everything();
      }
      frame.onDone?.(r.value);
      return;
    }
    const s = r.value;
    frame.pauseLabel = s.op === 'wait' ? s.label : s.op === 'halt' ? 'halt' : (s.label ?? '');
    run.hist = fnv1a32(frame.pauseLabel, run.hist);
    if (s.op === 'yield' && s.local !== undefined) {
      run.hist = fnv1a32(s.local, run.hist);
    }
    for (const l of this.listeners) {
      l(cpu, s);
    }
    switch (s.op) {
      case 'tick':
        cpu.clockNs += s.ns;
        return;
      case 'yield':
        return;
      case 'wait':
        if (this.platform.fp.on ? this.readCondition(s.until) : s.until()) {
          frame.input = true;
        } else {
          frame.blocked = { kind: 'wait', until: s.until, deadline: s.timeoutNs === Infinity ? Infinity : cpu.clockNs + s.timeoutNs, label: s.label };
        }
        return;
      case 'halt':
        frame.blocked = { kind: 'halt' };
        cpu.halted = true;
        this.platform.tracer.emit({ kind: 'cpu.halt', t: cpu.clockNs, cpu: cpu.id });
        return;
      case 'dead':
        run.dead = s.label;
        return;
    }
  }
}
