/**
 * Splits a byte stream into lines with a length limit: a line longer than the limit is
 * discarded up to its newline and reported once, without buffering it.
 */

/** What the splitter yields. */
export type LineEvent = { kind: 'line'; line: string } | { kind: 'too-long'; bytes: number };

/** Incremental line splitter. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private discarding = false;
  private discarded = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Feed a chunk; returns the complete lines (and overflow events) it finished. */
  push(chunk: Buffer): LineEvent[] {
    const out: LineEvent[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl < 0) {
        this.append(chunk.subarray(start));
        return out;
      }
      this.append(chunk.subarray(start, nl));
      if (this.discarding) {
        out.push({ kind: 'too-long', bytes: this.discarded });
      } else {
        const line = (this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts)).toString('utf8').replace(/\r$/, '');
        if (line.trim() !== '') {
          out.push({ kind: 'line', line });
        }
      }
      this.parts = [];
      this.size = 0;
      this.discarding = false;
      this.discarded = 0;
      start = nl + 1;
    }
  }

  private append(b: Buffer): void {
    if (b.length === 0) {
      return;
    }
    if (this.discarding) {
      this.discarded += b.length;
      return;
    }
    if (this.size + b.length > this.maxLineBytes) {
      this.discarding = true;
      this.discarded = this.size + b.length;
      this.parts = [];
      this.size = 0;
      return;
    }
    this.parts.push(Buffer.from(b));
    this.size += b.length;
  }

  /** A final line without newline at end of stream. */
  end(): LineEvent[] {
    return this.push(Buffer.from('\n'));
  }
}
