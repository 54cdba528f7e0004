/** Number helpers for the text parsers: hex and decimal strings to safe JS numbers. */

/** Parse a hex string (with or without 0x) into a safe integer, or undefined. */
export function hexNum(s: string): number | undefined {
  const t = s.trim().replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{1,16}$/.test(t)) {
    return undefined;
  }
  const b = BigInt(`0x${t}`);
  return b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : undefined;
}

/** Parse a hex string into a bigint (up to 64 bits), or undefined. */
export function hexBig(s: string): bigint | undefined {
  const t = s.trim().replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{1,16}$/.test(t)) {
    return undefined;
  }
  return BigInt(`0x${t}`);
}

/** Parse a decimal string (optionally signed) into a safe integer, or undefined. */
export function decNum(s: string): number | undefined {
  const t = s.trim();
  if (!/^-?[0-9]{1,16}$/.test(t)) {
    return undefined;
  }
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `0x%llx`. */
export function hx(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

/** Human size: "64 GiB", "1.5 TiB", "640 KiB". */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const s = Number.isInteger(v) ? String(v) : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2);
  return `${s} ${units[u]}`;
}
