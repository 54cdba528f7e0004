/**
 * Silent-corruption checker: a cache line written back over a newer version of its memory.
 * On a bare platform every such write-back is corruption. After a kexec only those that hit
 * memory the new kernel wrote (or reserved for itself) count; the rest are old-kernel memory
 * nobody relies on any more.
 * @see docs/architecture.md section 4; linux-host.md section 6
 */
import { LINE_SIZE } from '../../base/ids.js';
import { hex } from '../../base/u64.js';
import type { StaleWriteback } from '../../platform/Platform.js';
import type { Finding } from '../findings.js';

/** Decide whether a stale write-back matters. */
export type RelevanceFilter = (w: StaleWriteback) => boolean;

/** What a physical address was (a TD's TDR page...), or undefined when nothing is known. */
export type PageDescriber = (pa: number) => string | undefined;

function who(writer: string): string {
  return writer;
}

/**
 * Turn stale write-backs into findings, one per (CPU, stale KeyID and writer, overwritten KeyID
 * and writer): a TD's worth of lines written back over a new kernel is one story, not thousands.
 */
export function corruptionFindings(stale: readonly StaleWriteback[], seed: number, path: string, relevant: RelevanceFilter = () => true, describe: PageDescriber = () => undefined): Finding[] {
  const groups = new Map<string, { first: StaleWriteback; lines: number; ranges: number }>();
  for (const w of stale) {
    if (!relevant(w)) {
      continue;
    }
    const key = `${w.cpu}|${w.key}|${w.staleWriter}|${w.overwrittenKey}|${w.overwrittenWriter}|${w.cause}`;
    const g = groups.get(key);
    if (g === undefined) {
      groups.set(key, { first: w, lines: w.lineEnd - w.lineStart, ranges: 1 });
    } else {
      g.lines += w.lineEnd - w.lineStart;
      g.ranges++;
    }
  }
  const out: Finding[] = [];
  for (const { first: w, lines, ranges } of groups.values()) {
    const pa = w.lineStart * LINE_SIZE;
    const page = describe(pa);
    const span = `${lines === 1 ? `line ${hex(pa)}` : ranges === 1 ? `${lines} lines from ${hex(pa)}` : `${lines} lines in ${ranges} ranges, first at ${hex(pa)}`}${page !== undefined ? ` (${page})` : ''}`;
    out.push({
      class: 'silent-corruption',
      message: `silent corruption: ${span}: a stale KeyID ${w.key} alias (written by ${who(w.staleWriter)}) was written back from CPU ${w.cpu}'s cache (${w.cause}) over newer data written through KeyID ${w.overwrittenKey} by ${who(w.overwrittenWriter)}`,
      t: w.t,
      seed,
      path,
      details: {
        pa: hex(pa),
        ...(page !== undefined ? { page } : {}),
        lines,
        ranges,
        staleKeyId: w.key,
        staleWriter: w.staleWriter,
        staleVersion: w.staleVer,
        fromCpu: w.cpu,
        cause: w.cause,
        overwrittenKeyId: w.overwrittenKey,
        overwrittenWriter: w.overwrittenWriter,
        overwrittenVersion: w.overwrittenVer,
        atNs: w.t,
      },
    });
  }
  return out;
}
