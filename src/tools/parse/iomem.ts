/**
 * /proc/iomem reader. Top-level entries (no indentation) describe the physical address map;
 * "System RAM" entries are what the kernel's memblock holds (give or take the kernel's own
 * trimming). Nested entries (Kernel code, PCI devices...) are ignored. Read without root,
 * /proc/iomem shows every address as zero; that is reported as a problem, not planned.
 */
import { hexNum } from './num.js';

/** One top-level /proc/iomem entry: [base, end) and its name. */
export interface IomemEntry {
  readonly base: number;
  readonly end: number;
  readonly name: string;
  readonly line: number;
}

/** What parseIomem() found. */
export interface IomemFacts {
  readonly entries: IomemEntry[];
  readonly problems: { line: number; message: string; text: string }[];
  /** Lines that had the iomem shape (used to tell iomem from other text). */
  readonly shaped: number;
  /** True if every address read was zero (an unprivileged read). */
  readonly allZero: boolean;
}

const RE_ENTRY = /^(\s*)([0-9a-fA-F]+)-([0-9a-fA-F]+) : (.+)$/;

/** True if a line has the /proc/iomem shape. */
export function isIomemLine(line: string): boolean {
  return RE_ENTRY.test(line);
}

/** Parse /proc/iomem text. Never throws. */
export function parseIomem(lines: readonly string[]): IomemFacts {
  const entries: IomemEntry[] = [];
  const problems: IomemFacts['problems'] = [];
  let shaped = 0;
  let nonZero = false;
  lines.forEach((raw, i) => {
    const ln = i + 1;
    if (raw.trim() === '') {
      return;
    }
    const m = RE_ENTRY.exec(raw);
    if (m === null) {
      problems.push({ line: ln, message: 'not a /proc/iomem line ("start-end : name" expected)', text: raw.slice(0, 200) });
      return;
    }
    shaped++;
    const a = hexNum(m[2]!);
    const b = hexNum(m[3]!);
    if (a === undefined || b === undefined) {
      problems.push({ line: ln, message: 'address beyond 2^53', text: raw.slice(0, 200) });
      return;
    }
    if (a !== 0 || b !== 0) {
      nonZero = true;
    }
    if (b < a) {
      problems.push({ line: ln, message: 'range ends before it starts', text: raw.slice(0, 200) });
      return;
    }
    if (m[1] !== '') {
      return;
    }
    entries.push({ base: a, end: b + 1, name: m[4]!.trim(), line: ln });
  });
  return { entries, problems, shaped, allZero: shaped > 0 && !nonZero };
}
