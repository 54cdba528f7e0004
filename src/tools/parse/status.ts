/**
 * Parsing what an operator pastes into `tdxsim explain`: a 64-bit status in hex (with or
 * without 0x, underscores allowed), a status name, or a whole dmesg line that carries one:
 * `SEAMCALL (0x..) failed: 0x..` (6.8+), `SEAMCALL failed: CPU n: leaf n, error 0x...` (2022
 * drafts), KVM's `SEAMCALL TDH_MNG_CREATE failed: 0x..[, rcx 0x..]` (and tdxsim's older
 * `kvm_intel: TDH_MNG_CREATE failed: 0x%016llx`), `TDH.SYS.DISABLE failed: 0x..`.
 * A leaf given as a number (hex or decimal, version bits allowed) or a name is parsed too.
 */
import { LEAF } from '../../module/leafNumbers.js';
import { statusByName } from '../../module/status.js';
import { stripLogPrefix } from './dmesg.js';

/** A parsed STATUS argument. */
export type StatusArg =
  | { readonly ok: true; readonly status: bigint; readonly leafRaw?: bigint; readonly from: 'hex' | 'name' | 'line' }
  | { readonly ok: false; readonly message: string };

const RE_LINE = /SEAMCALL \((0x[0-9a-fA-F]{1,16})\) failed: (0x[0-9a-fA-F]{1,16})\b/;
const RE_DRAFT = /SEAMCALL failed: CPU \d+: leaf (\d{1,10}), error (0x[0-9a-fA-F]{1,16})\b/;
const RE_NAMED = /(?:^|SEAMCALL |kvm_intel: )(TDH[._][A-Z0-9._]+) failed: (0x[0-9a-fA-F]{1,16})\b/;
const RE_DISABLE = /TDH\.SYS\.DISABLE failed: (0x[0-9a-fA-F]{1,16})\b/;

/** Leaf number of a leaf name (TDH.SYS.RD, TDH_SYS_RD, tdh.sys.rd), or undefined. */
export function leafByName(name: string): number | undefined {
  const key = name.trim().toUpperCase().replace(/[.\-\s]/g, '_');
  const v = (LEAF as Record<string, number>)[key];
  return v;
}

/** Parse a leaf option: decimal, 0x hex, or a leaf name. RAX bits 23:16 (version) are kept. */
export function parseLeafArg(s: string): { ok: true; leafRaw: bigint } | { ok: false; message: string } {
  const t = s.trim();
  if (/^0x[0-9a-fA-F]{1,16}$/.test(t)) {
    return { ok: true, leafRaw: BigInt(t) };
  }
  if (/^[0-9]{1,10}$/.test(t)) {
    return { ok: true, leafRaw: BigInt(t) };
  }
  const byName = leafByName(t);
  if (byName !== undefined) {
    return { ok: true, leafRaw: BigInt(byName) };
  }
  return { ok: false, message: `--leaf "${s.slice(0, 80)}": expected a leaf number (decimal or 0x hex) or a name such as TDH.SYS.RD` };
}

/** Parse a STATUS argument. Never throws. */
export function parseStatusArg(input: string): StatusArg {
  if (input.length > 4096) {
    return { ok: false, message: `STATUS is ${input.length} characters long; expected a 64-bit status or one dmesg line` };
  }
  const raw = input.trim();
  if (raw === '') {
    return { ok: false, message: 'STATUS is empty; expected a 64-bit status such as 0xc000050000000000' };
  }
  const text = stripLogPrefix(raw).text;
  let m: RegExpExecArray | null;
  if ((m = RE_LINE.exec(text)) !== null) {
    return { ok: true, status: BigInt(m[2]!), leafRaw: BigInt(m[1]!), from: 'line' };
  }
  if ((m = RE_DRAFT.exec(text)) !== null) {
    return { ok: true, status: BigInt(m[2]!), leafRaw: BigInt(m[1]!), from: 'line' };
  }
  if ((m = RE_NAMED.exec(text)) !== null) {
    const leaf = leafByName(m[1]!);
    return { ok: true, status: BigInt(m[2]!), ...(leaf !== undefined ? { leafRaw: BigInt(leaf) } : {}), from: 'line' };
  }
  if ((m = RE_DISABLE.exec(text)) !== null) {
    return { ok: true, status: BigInt(m[1]!), leafRaw: BigInt(LEAF.TDH_SYS_DISABLE), from: 'line' };
  }
  const named = statusByName(raw.toUpperCase());
  if (named !== undefined) {
    return { ok: true, status: named.value, from: 'name' };
  }
  const hex = raw.replace(/_/g, '').replace(/^0[xX]/, '');
  if (/^[0-9a-fA-F]{1,16}$/.test(hex)) {
    return { ok: true, status: BigInt(`0x${hex}`), from: 'hex' };
  }
  if (/^[0-9a-fA-F]+$/.test(hex)) {
    return { ok: false, message: `STATUS "${raw.slice(0, 80)}" has ${hex.length} hex digits; a SEAMCALL status is 64 bits (at most 16 digits)` };
  }
  return { ok: false, message: `STATUS "${raw.slice(0, 80)}": expected a 64-bit status in hex (e.g. 0xc000050000000000 or c000050000000000), a status name, or a "SEAMCALL (0x..) failed: 0x.." line` };
}
