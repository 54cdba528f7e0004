/**
 * Choice paths as strings: "0.2.1.1.0". The empty path is "".
 */

/** Stringify a path. */
export function formatPath(path: readonly number[]): string {
  return path.join('.');
}

/** Parse a path; returns undefined when malformed. */
export function parsePath(s: string): number[] | undefined {
  const t = s.trim();
  if (t === '' || t === '-') {
    return [];
  }
  if (!/^\d+(\.\d+)*$/.test(t)) {
    return undefined;
  }
  return t.split('.').map(Number);
}
