/**
 * The one door through which every nondeterministic decision passes: which CPU steps next,
 * whether an interrupt lands here, whether a cache line is evicted now, whether a timeout
 * fires, whether a fault is injected. Implementations (random, replay, exhaustive) live in
 * explore/; the interface lives here so that every layer can ask.
 * @see fast-check schedulerFor; TigerBeetle VOPR.
 */
export interface ChoiceSource {
  /**
   * Pick one of `n` options (0..n-1). `n` is at least 1; with n === 1 no choice is recorded.
   * @param label names the decision site, for reports and replay diagnostics.
   */
  choose(n: number, label: string): number;
}

/** Always the first option: the canonical, "nothing unusual happens" schedule. */
export const FIRST_CHOICE: ChoiceSource = {
  choose: () => 0,
};
