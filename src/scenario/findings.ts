/**
 * Findings: what checkers report. A finding is worth something only if someone else can
 * replay it in one step, so each carries the seed and the choice path of its run.
 */
import type { FindingClass } from './scenario.js';

/** One checker result. */
export interface Finding {
  readonly class: FindingClass;
  /** One line, in the terms a kernel developer uses. */
  readonly message: string;
  /** Simulated time (ns) when it happened. */
  readonly t: number;
  readonly seed: number;
  /** Choice path of the run ("" when no choice was needed). */
  readonly path: string;
  /** Structured facts (line, KeyIDs, CPUs, versions...). */
  readonly details: Readonly<Record<string, string | number | boolean>>;
  /** The variant of the scenario it came from, if any. */
  readonly variant?: string;
}
