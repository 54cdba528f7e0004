/**
 * Physical memory as the memory controller sees it: per 64-byte line, the content version, the
 * KeyID it was last written with, the TD-owner (integrity) bit and poison. Bulk state lives in
 * an interval map over line indices, so a 12 TiB host costs as much as its number of distinct
 * ranges. Explicit bytes (structures a host or the module writes) live in a sparse page store.
 * @see docs/architecture.md section 4; TDX module ABI section 8.2 (integrity).
 */
import { CowPages } from '../base/cow.js';
import { IntervalMap } from '../base/IntervalMap.js';
import { LINE_SIZE, PAGE_SIZE } from '../base/ids.js';

/** Line state at the memory controller. */
export interface LineState {
  /** Content version: a global write counter; 0 is the power-on content. */
  readonly ver: number;
  /** KeyID the data was encrypted with. */
  readonly key: number;
  /** TD-owner bit: last written through a private (TDX) KeyID. */
  readonly td: boolean;
  /** Poisoned (e.g. by a partial write on an erratum part); reading it is a machine check. */
  readonly poison: boolean;
  /** Who wrote it, for findings ("kernel#1", "module", "td#33"). */
  readonly writer: string;
  /** Every byte equals `fill` (0..255), or -1 when the bytes are in the page store. */
  readonly fill: number;
}

/** The power-on state of every line. */
export const POWER_ON_LINE: LineState = { ver: 0, key: 0, td: false, poison: false, writer: 'firmware', fill: 0 };

/** Field-wise equality, used to coalesce ranges. */
export function sameLine(a: LineState, b: LineState): boolean {
  return (
    a.ver === b.ver &&
    a.key === b.key &&
    a.td === b.td &&
    a.poison === b.poison &&
    a.writer === b.writer &&
    a.fill === b.fill
  );
}

const LINES_PER_PAGE = PAGE_SIZE / LINE_SIZE;

/** The memory array behind the caches. */
export class PhysicalMemory {
  /** Line index → state; unmapped lines are POWER_ON_LINE. */
  readonly lines = new IntervalMap<LineState>(sameLine);
  /** Page index → 4 KiB of explicit bytes (plaintext as written); shared with snapshots until written. */
  private readonly pages = new CowPages(PAGE_SIZE);

  /** State of one line. */
  lineState(line: number): LineState {
    return this.lines.get(line) ?? POWER_ON_LINE;
  }

  /** Maximal state ranges over [lineStart, lineEnd), gaps filled with POWER_ON_LINE. */
  ranges(lineStart: number, lineEnd: number): { start: number; end: number; value: LineState }[] {
    const out: { start: number; end: number; value: LineState }[] = [];
    let cursor = lineStart;
    for (const iv of this.lines.entries(lineStart, lineEnd)) {
      if (iv.start > cursor) {
        out.push({ start: cursor, end: iv.start, value: POWER_ON_LINE });
      }
      out.push(iv);
      cursor = iv.end;
    }
    if (cursor < lineEnd) {
      out.push({ start: cursor, end: lineEnd, value: POWER_ON_LINE });
    }
    return out;
  }

  /** Set the state of [lineStart, lineEnd). Explicit bytes, if any, are given per line. */
  write(lineStart: number, lineEnd: number, st: LineState, data?: ReadonlyMap<number, Uint8Array>): void {
    this.lines.set(lineStart, lineEnd, st);
    if (st.fill >= 0) {
      // Drop pages whose lines are now all fill-based.
      const p0 = Math.ceil(lineStart / LINES_PER_PAGE);
      const p1 = Math.floor(lineEnd / LINES_PER_PAGE);
      if (p1 - p0 < this.pages.size) {
        for (let p = p0; p < p1; p++) {
          this.pages.delete(p);
        }
      } else {
        for (const p of [...this.pages.keys()]) {
          if (p >= p0 && p < p1) {
            this.pages.delete(p);
          }
        }
      }
    } else if (data !== undefined) {
      for (const [line, bytes] of data) {
        this.putLineBytes(line, bytes);
      }
    }
  }

  /** Store 64 explicit bytes for a line (state must say fill = -1). */
  putLineBytes(line: number, bytes: Uint8Array): void {
    const page = Math.floor(line / LINES_PER_PAGE);
    this.pages.writable(page).set(bytes.subarray(0, LINE_SIZE), (line % LINES_PER_PAGE) * LINE_SIZE);
  }

  /** The 64 bytes stored for a line, as written (plaintext of its key). */
  lineBytes(line: number, st: LineState = this.lineState(line)): Uint8Array {
    if (st.fill >= 0) {
      return new Uint8Array(LINE_SIZE).fill(st.fill);
    }
    const buf = this.pages.get(Math.floor(line / LINES_PER_PAGE));
    if (buf === undefined) {
      return new Uint8Array(LINE_SIZE);
    }
    const off = (line % LINES_PER_PAGE) * LINE_SIZE;
    return buf.slice(off, off + LINE_SIZE);
  }

  /** Number of explicit pages held (for memory accounting). */
  get explicitPages(): number {
    return this.pages.size;
  }
}
