/** Human-readable rendering of run results. */
import { formatTimeline, noteText, seamcallLines } from '../api/index.js';
import type { RunResult, TimelineEvent } from '../api/index.js';

/**
 * A timeline as text for stdout: on a terminal as wide as the terminal (long labels wrap),
 * otherwise (a file, a pipe) every label whole on one line. Shard files of older versions
 * stored the timeline as text rows; those are printed as they are.
 */
export function timelineText(events: readonly (TimelineEvent | string)[], maxRows?: number): string[] {
  if (events.some((e) => typeof e === 'string')) {
    return events.map(String);
  }
  const width = process.stdout.isTTY === true ? process.stdout.columns : undefined;
  return formatTimeline(events as TimelineEvent[], { ...(width !== undefined ? { width } : {}), ...(maxRows !== undefined ? { maxRows } : {}) });
}

/** Render a run result for a terminal; `replay` gives the command that replays a finding of a run. */
export function formatRunResult(r: RunResult, replay: (runName: string, seed: number, path: string) => string, seamcalls = false): string {
  const out: string[] = [];
  if (r.kernel.includes(' with overrides: ')) {
    // A changed kernel is said first: its dmesg still says the version it is based on.
    out.push(`-- kernel: ${r.kernel}`);
  }
  for (const run of r.runs) {
    if (r.runs.length > 1 || run.name !== r.scenario) {
      out.push(`== ${r.scenario} / ${run.name}`);
    }
    // Each kernel's dmesg starts at "Linux version"; a later kernel (kexec, kdump) gets a header
    // so that its lines (often the one that matters: the next kernel's TDH.SYS.INIT failure) stand apart.
    let kernels = 0;
    for (const l of run.dmesgFormatted) {
      if (/^\[ *\d+\.\d+\] Linux version /.test(l) && kernels++ > 0) {
        out.push(`-- kernel ${kernels} (started by the jump):`);
      }
      out.push(l);
    }
    if (seamcalls) {
      const lines = seamcallLines(run.trace);
      out.push(`-- SEAMCALLs (${lines.length}):`, ...lines.map((l) => `   ${l}`));
    }
    // Return codes and statuses by name (`kvm.load: -5 (EIO)`); --json keeps the raw notes.
    for (const n of run.notes) {
      out.push(`-- note: ${noteText(n)}`);
    }
    if (run.findings.length === 0) {
      out.push('-- no findings');
    }
    for (const f of run.findings) {
      out.push(`-- FINDING [${f.class}] ${f.message}`);
      out.push(`   replay: ${replay(run.name, f.seed, f.path)}`);
    }
    // Where each stale line was dirtied (timeline marks of withCauseMarks): the cause of a corruption.
    for (const m of run.timelineEvents) {
      if (m.fields['mark'] === 'stale-line-dirtied') {
        out.push(`-- cause: CPU ${m.cpu} at ${(m.t / 1e9).toFixed(6)} s: ${m.label}`);
      }
    }
    if (run.findings.some((f) => f.class === 'cpu-still-running') && run.timelineEvents.length > 0) {
      out.push('-- timeline (end of the old kernel):', ...timelineText(run.timelineEvents, 40).map((l) => `   ${l}`));
    }
    out.push('');
  }
  const exp = r.expected.length === 0 ? 'no findings' : r.expected.join(', ');
  out.push(`verdict: ${r.verdict} (expected: ${exp}; found: ${r.findings.length === 0 ? 'none' : [...new Set(r.findings.map((f) => f.class))].join(', ')})`);
  return `${out.join('\n')}\n`;
}

/** Most lines one section of a text report prints; the rest is counted (the --json form has all). */
export const MAX_SECTION_LINES = 200;

/**
 * Bounded text for a long list: consecutive items with the same `key` become one line (rendered
 * with their count and first and last item); a block of 2 to 4 items repeated as a whole at least
 * 3 times in a row (a SEAMCALL failure line with its two register lines) becomes one line per
 * item of the block, each with the repeat count and its copy in the last repetition; after `max`
 * lines the rest is one count line. Linear in the number of items, so a log of a million
 * repeated lines prints a few lines.
 */
export function collapseRuns<T>(items: readonly T[], key: (x: T) => string, render: (first: T, last: T, count: number) => string, indent: string, max = MAX_SECTION_LINES): string[] {
  const out: string[] = [];
  let hidden = 0;
  const emit = (first: T, last: T, count: number): void => {
    if (out.length < max) {
      out.push(render(first, last, count));
    } else {
      hidden += count;
    }
  };
  let i = 0;
  while (i < items.length) {
    const first = items[i] as T;
    const k = key(first);
    let j = i + 1;
    while (j < items.length && key(items[j] as T) === k) {
      j++;
    }
    const block = j === i + 1 ? repeatedBlockAt(items, key, i) : undefined;
    if (block !== undefined) {
      // A block of lines repeated as a whole (a SEAMCALL failure line and its register lines):
      // each of its lines once, counted, with its copy in the last repetition.
      for (let q = 0; q < block.size; q++) {
        emit(items[i + q] as T, items[i + (block.repeats - 1) * block.size + q] as T, block.repeats);
      }
      i += block.size * block.repeats;
      continue;
    }
    emit(first, items[j - 1] as T, j - i);
    i = j;
  }
  if (hidden > 0) {
    out.push(`${indent}... ${hidden} more (every one is in the --json output)`);
  }
  return out;
}

/** The longest block of items that is folded when it repeats as a whole. */
const MAX_BLOCK_SIZE = 4;
/** A block is folded when it repeats at least this often in a row. */
const MIN_BLOCK_REPEATS = 3;

/**
 * The block of 2 to MAX_BLOCK_SIZE items starting at `i` that repeats at least
 * MIN_BLOCK_REPEATS times in a row (the shortest such block), or undefined. Constant work when
 * there is none; otherwise proportional to what it folds, so a pass stays linear.
 */
function repeatedBlockAt<T>(items: readonly T[], key: (x: T) => string, i: number): { size: number; repeats: number } | undefined {
  for (let size = 2; size <= MAX_BLOCK_SIZE; size++) {
    if (i + size * MIN_BLOCK_REPEATS > items.length) {
      return undefined;
    }
    const keys: string[] = [];
    for (let q = 0; q < size; q++) {
      keys.push(key(items[i + q] as T));
    }
    if (keys.every((x) => x === keys[0])) {
      continue;
    }
    let repeats = 1;
    while (i + (repeats + 1) * size <= items.length && keys.every((x, q) => key(items[i + repeats * size + q] as T) === x)) {
      repeats++;
    }
    if (repeats >= MIN_BLOCK_REPEATS) {
      return { size, repeats };
    }
  }
  return undefined;
}
