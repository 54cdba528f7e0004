/**
 * Shrinking a counterexample: the shortest choice path that still fails with the same class of
 * finding. Paths are replayed with option 0 past their end, so truncation is always legal.
 * @see fast-check shrinking; Hypothesis "shortlex" order
 */

/** Shortlex order: shorter first, then smaller sum. */
function better(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) {
    return a.length < b.length;
  }
  const sa = a.reduce((s, x) => s + x, 0);
  const sb = b.reduce((s, x) => s + x, 0);
  return sa < sb;
}

/** Result of shrinking. */
export interface ShrinkResult {
  readonly path: number[];
  /** Replays attempted. */
  readonly attempts: number;
  /** Improvements accepted. */
  readonly shrinks: number;
}

/**
 * Shrink `path` while `fails(candidate)` holds.
 * @param maxAttempts replay budget
 */
export function shrinkPath(path: readonly number[], fails: (p: number[]) => boolean, maxAttempts = 2000): ShrinkResult {
  let best = [...path];
  let attempts = 0;
  let shrinks = 0;
  const tryCand = (cand: number[]): boolean => {
    if (attempts >= maxAttempts || !better(cand, best)) {
      return false;
    }
    attempts++;
    if (fails(cand)) {
      best = cand;
      shrinks++;
      return true;
    }
    return false;
  };
  // Trailing zeros are implied.
  const trim = (p: number[]): number[] => {
    let n = p.length;
    while (n > 0 && p[n - 1] === 0) {
      n--;
    }
    return p.slice(0, n);
  };
  tryCand(trim(best));
  let changed = true;
  while (changed && attempts < maxAttempts) {
    changed = false;
    // 1. Shortest failing prefix.
    for (let len = 0; len < best.length; len++) {
      if (tryCand(trim(best.slice(0, len)))) {
        changed = true;
        break;
      }
    }
    // 2. Delete single choices (later ones first).
    for (let i = best.length - 1; i >= 0; i--) {
      if (tryCand(trim([...best.slice(0, i), ...best.slice(i + 1)]))) {
        changed = true;
      }
    }
    // 3. Lower single choices towards 0.
    for (let i = 0; i < best.length; i++) {
      const v = best[i] as number;
      for (let w = 0; w < v; w++) {
        const cand = [...best];
        cand[i] = w;
        if (tryCand(trim(cand))) {
          changed = true;
          break;
        }
      }
    }
  }
  return { path: best, attempts, shrinks };
}
