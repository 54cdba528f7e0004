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

function who(writer: string): string {
  return writer;
}

/** Turn stale write-backs into findings. */
export function corruptionFindings(stale: readonly StaleWriteback[], seed: number, path: string, relevant: RelevanceFilter = () => true): Finding[] {
  const out: Finding[] = [];
  for (const w of stale) {
    if (!relevant(w)) {
      continue;
    }
    const pa = w.lineStart * LINE_SIZE;
    const lines = w.lineEnd - w.lineStart;
    const span = lines === 1 ? `line ${hex(pa)}` : `${lines} lines from ${hex(pa)}`;
    out.push({
      class: 'silent-corruption',
      message: `silent corruption: ${span}: a stale KeyID ${w.key} alias (written by ${who(w.staleWriter)}) was written back from CPU ${w.cpu}'s cache (${w.cause}) over newer data written through KeyID ${w.overwrittenKey} by ${who(w.overwrittenWriter)}`,
      t: w.t,
      seed,
      path,
      details: {
        pa: hex(pa),
        lines,
        staleKeyId: w.key,
        staleWriter: w.staleWriter,
        staleVersion: w.staleVer,
        fromCpu: w.cpu,
        cause: w.cause,
        overwrittenKeyId: w.overwrittenKey,
        overwrittenWriter: w.overwrittenWriter,
        overwrittenVersion: w.overwrittenVer,
      },
    });
  }
  return out;
}
