/**
 * Kernel and module profile names at the edges: a release or kernel name, or an old alias
 * (resolved, with a one-line notice of what it now means); anything else is bad input with the
 * list of known names and the closest one suggested.
 */
import { KERNEL_PROFILE_NAMES, resolveKernelProfile } from '../kernel/profiles.js';
import type { KernelProfileName } from '../kernel/profiles.js';
import { MODULE_PROFILE_ALIASES, MODULE_PROFILE_NAMES, resolveModuleProfile, SYS_DISABLE_SUFFIX } from '../module/profiles.js';
import type { ModuleProfileName } from '../module/profiles.js';
import { KERNEL_PROFILE_ALIASES } from '../kernel/profiles.js';
import { TdxsimError } from './errors.js';

/** Edit distance (insertions, deletions, substitutions), for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur.push(Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

/** The known name closest to `name` (ties: the first in catalogue order). */
export function closestName(name: string, known: readonly string[]): string | undefined {
  // A release written without its zero padding ("1.5.1", "2.0.8") is that release.
  const v = /^(\d+)\.(\d+)\.(\d)$/.exec(name);
  if (v !== null && known.includes(`${v[1]}.${v[2]}.0${v[3]}`)) {
    return `${v[1]}.${v[2]}.0${v[3]}`;
  }
  let best: string | undefined;
  let bestD = Infinity;
  const n = name.toLowerCase();
  for (const k of known) {
    // A name that contains the input or is contained by it ("6.18", "linux-6.18-rc1") is closest.
    const e = distance(n, k.toLowerCase());
    const d = k.includes(n) || n.includes(k) ? e / 100 : e;
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function unknown(kind: string, label: string, name: string, known: readonly string[], aliases: readonly string[]): TdxsimError {
  const near = closestName(name, [...known, ...aliases]);
  const hint = near !== undefined ? `; did you mean "${near}"?` : '';
  return new TdxsimError('TDXSIM_UNKNOWN_PROFILE', `${label}: unknown ${kind} "${name}" (known: ${known.join(', ')}${aliases.length > 0 ? `; old names: ${aliases.join(', ')}` : ''})${hint}`);
}

/** A module release name or alias; throws TDXSIM_UNKNOWN_PROFILE (exit 2) for anything else. */
export function checkModuleName(name: string, label = '--module'): { name: ModuleProfileName; notice?: string } {
  const r = resolveModuleProfile(name);
  if (r === undefined) {
    throw unknown('module release', label, name, [...MODULE_PROFILE_NAMES, `RELEASE${SYS_DISABLE_SUFFIX} (1.5.01 and later)`], Object.keys(MODULE_PROFILE_ALIASES));
  }
  return r;
}

/** A kernel name or alias; throws TDXSIM_UNKNOWN_PROFILE (exit 2) for anything else. */
export function checkKernelName(name: string, label = '--kernel'): { name: KernelProfileName; notice?: string } {
  const r = resolveKernelProfile(name);
  if (r === undefined) {
    throw unknown('kernel', label, name, KERNEL_PROFILE_NAMES, Object.keys(KERNEL_PROFILE_ALIASES));
  }
  return r;
}
