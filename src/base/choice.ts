/**
 * The one door through which every nondeterministic decision passes: which CPU steps next,
 * whether an interrupt lands here, whether a cache line is evicted now, whether a timeout
 * fires, whether a fault is injected. Implementations (random, replay, exhaustive, PCT) live in
 * explore/; the interface lives here so that every layer can ask.
 * @see fast-check schedulerFor; TigerBeetle VOPR.
 */

import type { StepFootprint } from './footprint.js';

/** What a scheduling option does, so that reducing choice sources can reason about it. */
export interface SchedAction {
  readonly cpu: number;
  readonly kind: 'step' | 'irq' | 'timeout';
  /**
   * The label of the point the CPU paused at (what it will do next), or the vector for `irq`.
   * Labels starting with "local:" promise that the next step touches only this CPU's state.
   */
  readonly detail: string;
  /**
   * Signature of the CPU's observable execution state (history of labels, frames, flags,
   * pending vectors). Two actions of different CPUs with equal signatures are symmetric.
   */
  readonly sig?: string;
}

/** A source of decisions. */
export interface ChoiceSource {
  /**
   * Pick one of `n` options (0..n-1). `n` is at least 1; with n === 1 no choice is recorded.
   * @param label names the decision site, for reports and replay diagnostics.
   */
  choose(n: number, label: string): number;
  /**
   * Optional: pick among scheduling actions. Sources that reduce the search (sleep sets, PCT)
   * implement it; the scheduler falls back to `choose` otherwise.
   */
  chooseAction?(actions: readonly SchedAction[], label: string): number;
  /**
   * Optional (stateful search): the scheduler is at a choice point in the state that
   * `fingerprint()` names (`canonical` false: CPUs not sorted, for tests). @returns false if that state was explored before (the scheduler
   * then abandons the execution). `ranks()`, called after `fingerprint()`, gives each CPU id's
   * position in the fingerprint's canonical CPU order (equal CPUs share one).
   */
  visitState?(fingerprint: (canonical?: boolean) => string, ranks?: () => readonly number[]): boolean;
  /**
   * Optional (dynamic partial-order reduction): called after every step the scheduler executes
   * in the free policy, choice or not, with the step's action key (`cpu:kind:detail`, as
   * `chooseAction` saw it) and what it read and wrote. Its presence turns recording on.
   */
  noteStep?(key: string, footprint: StepFootprint): void;
}

/** Always the first option: the canonical, "nothing unusual happens" schedule. */
export const FIRST_CHOICE: ChoiceSource = {
  choose: () => 0,
};
