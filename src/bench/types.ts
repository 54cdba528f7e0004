/**
 * A benchmark: measured numbers, not timed tests. `npm run bench` runs every registered
 * benchmark and writes bench-results/results.json.
 */
export interface Bench {
  /** Stable name, e.g. "platform.build-8s-12t". */
  readonly name: string;
  /** The target, in words (printed next to the result). */
  readonly target: string;
  /** Runs once and returns named measurements (ms, ops/s, MB...). */
  run(): Promise<BenchResult> | BenchResult;
}

/** Named measurements plus whether the target was met. */
export interface BenchResult {
  readonly metrics: Record<string, number>;
  readonly pass: boolean;
}

/** Wall-clock milliseconds of `fn` (benchmarks may read real time; the model may not). */
export function timeMs<T>(fn: () => T): { ms: number; value: T } {
  const t0 = process.hrtime.bigint();
  const value = fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, value };
}

/**
 * Wall-clock and process CPU milliseconds of `fn`. On a machine shared with other work the wall
 * time includes time the process waited for a core; the CPU time does not.
 */
export function timeCpuMs<T>(fn: () => T): { ms: number; cpuMs: number; value: T } {
  const c0 = process.cpuUsage();
  const { ms, value } = timeMs(fn);
  const c = process.cpuUsage(c0);
  return { ms, cpuMs: (c.user + c.system) / 1000, value };
}

/** Resident set size in MB. */
export function rssMb(): number {
  return process.memoryUsage().rss / 2 ** 20;
}

/** Run a full GC if node was started with --expose-gc. */
export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) {
    g();
  }
}
