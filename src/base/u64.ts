/**
 * 64-bit register values and SEAMCALL statuses. They are bigints because bit 63 (the TDX
 * error bit) is beyond what a JS number holds exactly.
 */

/** A 64-bit unsigned value (register or status). */
export type U64 = bigint & { readonly __brand: 'U64' };

const MASK64 = (1n << 64n) - 1n;

/** Truncate to 64 bits (two's complement for negatives). */
export function u64(v: bigint | number): U64 {
  const b = typeof v === 'number' ? BigInt(v) : v;
  return (b & MASK64) as U64;
}

/** All ones: -1 as a 64-bit register. */
export const U64_MAX: U64 = u64(MASK64);
export const ZERO: U64 = u64(0n);

/** Format as Linux's `0x%016llx`. */
export function hex16(v: bigint): string {
  return `0x${u64(v).toString(16).padStart(16, '0')}`;
}

/** Format as `0x%llx` (no padding). */
export function hex(v: bigint | number): string {
  return `0x${(typeof v === 'number' ? BigInt(v) : v).toString(16)}`;
}

/** Extract bits hi..lo (inclusive) as a bigint. */
export function bits(v: bigint, hi: number, lo: number): bigint {
  return (v >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n);
}

/** Convert a value known to be below 2^53 to a number; throws RangeError otherwise. */
export function toSafeNumber(v: bigint): number {
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`value ${hex(v)} does not fit a safe integer`);
  }
  return Number(v);
}

/** Parse "0x..." / decimal strings or numbers into a bigint; returns undefined if malformed. */
export function parseU64(s: string | number | bigint): U64 | undefined {
  if (typeof s === 'bigint') {
    return s >= 0n && s <= MASK64 ? (s as U64) : undefined;
  }
  if (typeof s === 'number') {
    return Number.isSafeInteger(s) && s >= 0 ? u64(s) : undefined;
  }
  const t = s.trim();
  if (!/^(0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/.test(t)) {
    return undefined;
  }
  const b = BigInt(t);
  return b <= MASK64 ? (b as U64) : undefined;
}
