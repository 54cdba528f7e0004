/**
 * The per-TDMR validation rules of TDH.SYS.CONFIG (section 6.2), in evaluation order, as a pure
 * function of the TDMR_INFO structures read so far. All arithmetic is 64-bit (bigint), because
 * the host can put any value in memory and overflow is itself a rule (T2, R2, R6, P1-P3).
 * @see TDX module ABI section 6; intel/tdx-module tdh_sys_config.c check_and_set_tdmrs()
 */
import type { U64 } from '../base/u64.js';
import { insideCmrs, MAX_PA } from './hpaChecks.js';
import {
  pamtOverlap,
  tdmrCode,
  tdmrPamtCode,
  tdmrRsvdCode,
  TDX_INVALID_PAMT,
  TDX_INVALID_RESERVED_IN_TDMR,
  TDX_INVALID_TDMR,
  TDX_NON_ORDERED_RESERVED_IN_TDMR,
  TDX_NON_ORDERED_TDMR,
  TDX_PAMT_OUTSIDE_CMRS,
  TDX_SUCCESS,
  TDX_TDMR_OUTSIDE_CMRS,
} from './status.js';

/** A range as the host wrote it (64-bit fields). */
export interface RawRange {
  readonly base: bigint;
  readonly size: bigint;
}

/** One TDMR_INFO structure as read from host memory. */
export interface TdmrInfo {
  readonly base: bigint;
  readonly size: bigint;
  /** PAMTs indexed by page size: 0 = 4K, 1 = 2M, 2 = 1G. */
  readonly pamt: readonly [RawRange, RawRange, RawRange];
  /** Reserved areas: base = OFFSET, size = SIZE. */
  readonly rsvd: readonly RawRange[];
}

/** Layout constants of section 5.1. */
export const TDMR_INFO_RSVD_OFFSET = 64;
const TWO64 = 1n << 64n;
const SZ_4K = 4096n;
const SZ_1G = 1n << 30n;
/** log2 of the page size each PAMT covers, by PAMT index. */
const PAMT_SHIFT = [12n, 21n, 30n] as const;

/** Decode a TDMR_INFO structure with `nrsvd` reserved-area slots. */
export function parseTdmrInfo(bytes: Uint8Array, nrsvd: number): TdmrInfo {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const q = (o: number): bigint => dv.getBigUint64(o, true);
  const rsvd: RawRange[] = [];
  for (let j = 0; j < nrsvd; j++) {
    rsvd.push({ base: q(TDMR_INFO_RSVD_OFFSET + 16 * j), size: q(TDMR_INFO_RSVD_OFFSET + 16 * j + 8) });
  }
  return { base: q(0), size: q(8), pamt: [{ base: q(48), size: q(56) }, { base: q(32), size: q(40) }, { base: q(16), size: q(24) }], rsvd };
}

/** Context the rules need beyond the TDMRs. */
export interface TdmrRuleEnv {
  readonly hkidShift: number;
  readonly cmrs: readonly { base: number; size: number }[];
  /** PAMT entry sizes by PAMT index (4K, 2M, 1G). */
  readonly entrySizes: readonly [number, number, number];
  /**
   * Dynamic PAMT enabled at this CONFIG: the PAMT_4K area is a bitmap of one bit per 4 KiB page
   * ((TDMR size / 4 KiB) / 8 bytes) instead of an entry per page.
   * @see intel/tdx-module 2.0.08 (1666adc4) tdh_sys_config.c check_pamt_addresses_and_size()
   */
  readonly dynamicPamt?: boolean;
}

function badAddr(v: bigint, hkidShift: number): boolean {
  return v >= MAX_PA || v >> BigInt(hkidShift) !== 0n;
}

/** The non-null reserved areas (prefix up to the first null slot). */
export function nonNullRsvd(t: TdmrInfo): RawRange[] {
  const out: RawRange[] = [];
  for (const r of t.rsvd) {
    if (r.size === 0n) {
      break;
    }
    out.push(r);
  }
  return out;
}

function overlap(a: RawRange, b: RawRange): boolean {
  return a.size > 0n && b.size > 0n && a.base < b.base + b.size && b.base < a.base + a.size;
}

/** The parts of the TDMR not covered by reserved areas, as [start, end) pairs. */
function freeSegments(t: TdmrInfo): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  let cursor = t.base;
  for (const r of nonNullRsvd(t)) {
    const s = t.base + r.base;
    if (s > cursor) {
      out.push([cursor, s]);
    }
    cursor = s + r.size > cursor ? s + r.size : cursor;
  }
  if (t.base + t.size > cursor) {
    out.push([cursor, t.base + t.size]);
  }
  return out;
}

function overlapsFree(p: RawRange, t: TdmrInfo): boolean {
  return p.size > 0n && freeSegments(t).some(([s, e]) => p.base < e && s < p.base + p.size);
}

function checkShape(i: number, t: TdmrInfo, prev: TdmrInfo | undefined, hkidShift: number): U64 {
  if (t.base + t.size >= TWO64) {
    return tdmrCode(TDX_INVALID_TDMR, i); // T2
  }
  if (prev !== undefined && (t.base < prev.base || t.base < prev.base + prev.size)) {
    return tdmrCode(TDX_NON_ORDERED_TDMR, i); // T3, T4
  }
  if (t.base % SZ_1G !== 0n || t.size % SZ_1G !== 0n || t.size === 0n) {
    return tdmrCode(TDX_INVALID_TDMR, i); // T5
  }
  if (badAddr(t.base, hkidShift) || badAddr(t.base + t.size - 1n, hkidShift)) {
    return tdmrCode(TDX_INVALID_TDMR, i); // T6, T7
  }
  return TDX_SUCCESS;
}

function checkReserved(i: number, t: TdmrInfo): U64 {
  const n = t.rsvd.length;
  for (let j = 0; j < n; j++) {
    const r = t.rsvd[j] as RawRange;
    if (r.size === 0n) {
      if (j + 1 < n && (t.rsvd[j + 1] as RawRange).size !== 0n) {
        return tdmrRsvdCode(TDX_NON_ORDERED_RESERVED_IN_TDMR, i, j); // R1
      }
      continue;
    }
    if (r.base + r.size >= TWO64) {
      return tdmrRsvdCode(TDX_INVALID_RESERVED_IN_TDMR, i, j); // R2
    }
    const p = j > 0 ? (t.rsvd[j - 1] as RawRange) : undefined;
    if (p !== undefined && (r.base < p.base || r.base < p.base + p.size)) {
      return tdmrRsvdCode(TDX_NON_ORDERED_RESERVED_IN_TDMR, i, j); // R3, R4
    }
    if (r.base % SZ_4K !== 0n || r.size % SZ_4K !== 0n) {
      return tdmrRsvdCode(TDX_INVALID_RESERVED_IN_TDMR, i, j); // R5
    }
    if (t.base + r.base >= TWO64 || t.base + r.base + r.size >= TWO64) {
      return tdmrRsvdCode(TDX_INVALID_RESERVED_IN_TDMR, i, j); // R6
    }
    if (r.base + r.size > t.size) {
      return tdmrRsvdCode(TDX_INVALID_RESERVED_IN_TDMR, i, j); // R7
    }
  }
  return TDX_SUCCESS;
}

function pamtRequired(t: TdmrInfo, pt: 0 | 1 | 2, env: TdmrRuleEnv): bigint {
  if (pt === 0 && env.dynamicPamt === true) {
    return (t.size >> PAMT_SHIFT[0]) / 8n;
  }
  return (t.size >> PAMT_SHIFT[pt]) * BigInt(env.entrySizes[pt]);
}

function checkPamtShapes(i: number, t: TdmrInfo, env: TdmrRuleEnv): U64 {
  for (const pt of [2, 1, 0] as const) {
    const p = t.pamt[pt];
    const bad =
      p.base + p.size >= TWO64 ||
      p.base % SZ_4K !== 0n ||
      p.size % SZ_4K !== 0n ||
      badAddr(p.base, env.hkidShift) ||
      p.base + p.size - 1n < 0n ||
      badAddr(p.base + p.size - 1n, env.hkidShift) ||
      p.size < pamtRequired(t, pt, env);
    if (bad) {
      return tdmrPamtCode(TDX_INVALID_PAMT, i, pt); // P1, P2, P3
    }
  }
  return TDX_SUCCESS;
}

function checkPamtOverlaps(i: number, tdmrs: readonly TdmrInfo[]): U64 {
  const t = tdmrs[i] as TdmrInfo;
  for (let j = 0; j < i; j++) {
    const o = tdmrs[j] as TdmrInfo;
    for (const pt of [0, 1, 2] as const) {
      if (o.pamt.some((q) => overlap(t.pamt[pt], q))) {
        return pamtOverlap(i, pt, j); // P4
      }
    }
  }
  if (overlap(t.pamt[0], t.pamt[1]) || overlap(t.pamt[0], t.pamt[2])) {
    return pamtOverlap(i, 0, i); // P5
  }
  if (overlap(t.pamt[1], t.pamt[2])) {
    return pamtOverlap(i, 1, i);
  }
  for (let j = 0; j <= i; j++) {
    const o = tdmrs[j] as TdmrInfo;
    for (const pt of [0, 1, 2] as const) {
      if (overlapsFree(t.pamt[pt], o)) {
        return pamtOverlap(i, pt, j); // P6, this TDMR's PAMTs in TDMR j
      }
    }
    if (j < i) {
      for (const pt of [0, 1, 2] as const) {
        if (overlapsFree(o.pamt[pt], t)) {
          return pamtOverlap(j, pt, i); // P6, TDMR j's PAMTs in this TDMR
        }
      }
    }
  }
  return TDX_SUCCESS;
}

/**
 * Check TDMR `i` (all rules for TDMR i; TDMRs 0..i-1 already passed).
 * @returns TDX_SUCCESS or the first failing rule's status.
 */
export function checkTdmr(i: number, tdmrs: readonly TdmrInfo[], env: TdmrRuleEnv): U64 {
  const t = tdmrs[i] as TdmrInfo;
  let s = checkShape(i, t, i > 0 ? tdmrs[i - 1] : undefined, env.hkidShift);
  if (s === TDX_SUCCESS) {
    s = checkReserved(i, t);
  }
  if (s === TDX_SUCCESS) {
    s = checkPamtShapes(i, t, env);
  }
  if (s === TDX_SUCCESS) {
    s = checkPamtOverlaps(i, tdmrs);
  }
  if (s !== TDX_SUCCESS) {
    return s;
  }
  for (const pt of [2, 1, 0] as const) {
    const p = t.pamt[pt];
    if (!insideCmrs(env.cmrs, p.base, p.base + p.size)) {
      return tdmrPamtCode(TDX_PAMT_OUTSIDE_CMRS, i, pt); // P7
    }
  }
  if (!freeSegments(t).every(([a, b]) => insideCmrs(env.cmrs, a, b))) {
    return tdmrCode(TDX_TDMR_OUTSIDE_CMRS, i); // A1
  }
  return TDX_SUCCESS;
}
