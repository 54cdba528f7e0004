/**
 * Global metadata (TDH.SYS.RD / TDH.SYS.RDALL): the field table of section 5.6, per profile,
 * with values computed from the module's latched platform data and the profile, plus
 * overrides by field name. Field-id parsing and next-field behaviour live here too.
 * @see TDX module ABI sections 3.4, 3.5, 5.6; intel/tdx-module global_sys_fields_lookup.c
 */
import type { ModuleProfile } from './profiles.js';

/** Where metadata values come from. */
export interface MetadataSource {
  readonly profile: ModuleProfile;
  /** Number of packages (MCHECK tot_num_sockets). */
  readonly numPkgs: number;
  /** CPUID(1).EAX of the packages' CPUs. */
  readonly pkgFms: number;
  /** MCHECK CMRs (up to 32). */
  readonly cmrs: readonly { base: number; size: number }[];
  /** RCX of the successful TDH.SYS.INIT (0). */
  readonly sysAttributes: bigint;
}

/** One table entry: `numFields` fields of `numElems` elements each. */
export interface MetadataField {
  readonly name: string;
  /** Class code (bits 61:56). */
  readonly cls: number;
  /** Field code of element 0 (bits 23:0). */
  readonly code: number;
  /** Element size in bits. */
  readonly bits: 8 | 16 | 32 | 64;
  readonly nonArch: boolean;
  readonly numFields: number;
  readonly numElems: number;
  /** Value of element k (0..numFields*numElems-1). */
  readonly value: (src: MetadataSource, k: number) => bigint;
}

const SIZE_CODE: Record<MetadataField['bits'], bigint> = { 8: 0n, 16: 1n, 32: 2n, 64: 3n };
const CONTEXT_MASK = 0x7n << 52n;
const ALL_ONES = (1n << 64n) - 1n;
/** Reserved field-id bits: 31:24, 49:47, 55, 62. */
const RESERVED_MASK = (0xffn << 24n) | (0x7n << 47n) | (1n << 55n) | (1n << 62n);
const LAST_ELEM_MASK = 0xfn << 34n;
const LAST_FIELD_MASK = 0x1ffn << 38n;

/** The CPUID_CONFIG leaves of M15, in index order: [leaf, subleaf] (subleaf -1 = n/a). */
export const CPUID_CONFIG_LEAVES: readonly (readonly [number, number])[] = [
  [0x1, -1],
  [0x4, 0],
  [0x4, 1],
  [0x4, 2],
  [0x4, 3],
  [0x7, 0],
  [0x7, 1],
  [0xa, -1],
  [0x1c, -1],
  [0x80000008, -1],
  [0x7, 2],
  [0x23, 0],
];

/** Bits of TD_PARAMS.ATTRIBUTES a TD may set / must set. */
export const ATTRIBUTES_FIXED0 = 0x8000_0000_7000_0001n;
export const ATTRIBUTES_FIXED1 = 0n;
/** XFAM bits a TD may set / must set (every XCR0/XSS feature assumed supported). */
export const XFAM_FIXED0 = 0x6dbe7n;
export const XFAM_FIXED1 = 0x3n;
export const CONFIG_FLAGS_FIXED0 = 7n;
export const CONFIG_FLAGS_FIXED1 = 0n;
/** IA32_ARCH_CAPABILITIES bits a TD may configure. */
export const IA32_ARCH_CAPABILITIES_CONFIG_MASK = 0x0c0_e0ebn;

const c = (x: bigint | number) => (): bigint => BigInt(x);

function f(name: string, id: bigint, bits: MetadataField['bits'], numFields: number, value: MetadataField['value'], numElems = 1): MetadataField {
  return { name, cls: Number((id >> 56n) & 0x3fn), code: Number(id & 0xffffffn), bits, nonArch: (id >> 63n) === 1n, numFields, numElems, value };
}

/** Every global field the model knows, in table order (MAX_VCPUS_PER_TD only in profiles that list it). */
const CATALOG: readonly MetadataField[] = [
  f('NUM_PKGS', 0x0000000200000000n, 32, 1, (s) => BigInt(s.numPkgs)),
  f('PKG_FMS', 0x0000000200000001n, 32, 8, (s, k) => (k < s.numPkgs ? BigInt(s.pkgFms) : 0n)),
  f('VENDOR_ID', 0x0800000200000000n, 32, 1, c(0x8086)),
  f('BUILD_DATE', 0x8800000200000001n, 32, 1, (s) => BigInt(s.profile.buildDate?.value ?? 0)),
  f('BUILD_NUM', 0x8800000100000002n, 16, 1, (s) => BigInt(s.profile.buildNum?.value ?? 0)),
  f('MINOR_VERSION', 0x0800000100000003n, 16, 1, (s) => BigInt(s.profile.minor)),
  f('MAJOR_VERSION', 0x0800000100000004n, 16, 1, (s) => BigInt(s.profile.major)),
  f('UPDATE_VERSION', 0x0800000100000005n, 16, 1, (s) => BigInt(s.profile.update ?? 0)),
  f('INTERNAL_VERSION', 0x0800000100000006n, 16, 1, c(0)),
  f('MODULE_HV', 0x8900000100000000n, 16, 1, c(0)),
  f('MIN_UPDATE_HV', 0x8900000100000001n, 16, 1, c(0)),
  f('NO_DOWNGRADE', 0x8900000000000002n, 8, 1, c(0)),
  f('NUM_HANDOFF_PAGES', 0x8900000100000003n, 16, 1, c(4)),
  f('HANDOFF_DATA_VALID', 0x8900000000000004n, 8, 1, c(0)),
  f('HANDOFF_DATA_HV', 0x8900000100000005n, 16, 1, c(0)),
  f('HANDOFF_DATA_SIZE', 0x8900000200000006n, 32, 1, c(0)),
  f('SYS_ATTRIBUTES', 0x0a00000200000000n, 32, 1, (s) => s.sysAttributes),
  f('NUM_TDX_FEATURES', 0x0a00000000000001n, 8, 1, c(1)),
  f('TDX_FEATURES0', 0x0a00000300000008n, 64, 1, (s) => s.profile.tdxFeatures0),
  f('NUM_CMRS', 0x9000000100000000n, 16, 1, c(32)),
  f('CMR_BASE', 0x9000000300000080n, 64, 32, (s, k) => BigInt(s.cmrs[k]?.base ?? 0)),
  f('CMR_SIZE', 0x9000000300000100n, 64, 32, (s, k) => BigInt(s.cmrs[k]?.size ?? 0)),
  f('MAX_TDMRS', 0x9100000100000008n, 16, 1, c(64)),
  f('MAX_RESERVED_PER_TDMR', 0x9100000100000009n, 16, 1, c(16)),
  f('PAMT_4K_ENTRY_SIZE', 0x9100000100000010n, 16, 1, c(16)),
  f('PAMT_2M_ENTRY_SIZE', 0x9100000100000011n, 16, 1, c(16)),
  f('PAMT_1G_ENTRY_SIZE', 0x9100000100000012n, 16, 1, c(16)),
  // 1.5.28+ and 2.0.08+ (Dynamic PAMT). Value from 1.5.34's metadata_sys.c, assumed the same in
  // the other releases that list the field. @see intel/tdx-module 9fd3c8b1 metadata_sys.c
  f('PAMT_PAGE_BITMAP_ENTRY_BITS', 0x9100000000000013n, 8, 1, c(1)),
  f('TDR_BASE_SIZE', 0x9800000100000000n, 16, 1, c(4096)),
  f('TDCS_BASE_SIZE', 0x9800000100000100n, 16, 1, c(0x6000)),
  f('TDCS_SIZE_PER_L2_VM', 0x9800000100000101n, 16, 1, c(0x1000)),
  f('TDVPS_BASE_SIZE', 0x9800000100000200n, 16, 1, c(0x6000)),
  f('TDVPS_SIZE_PER_L2_VM', 0x9800000100000201n, 16, 1, c(0x3000)),
  f('ATTRIBUTES_FIXED0', 0x1900000300000000n, 64, 1, c(ATTRIBUTES_FIXED0)),
  f('ATTRIBUTES_FIXED1', 0x1900000300000001n, 64, 1, c(ATTRIBUTES_FIXED1)),
  f('XFAM_FIXED0', 0x1900000300000002n, 64, 1, c(XFAM_FIXED0)),
  f('XFAM_FIXED1', 0x1900000300000003n, 64, 1, c(XFAM_FIXED1)),
  f('NUM_CPUID_CONFIG', 0x9900000100000004n, 16, 1, c(CPUID_CONFIG_LEAVES.length)),
  f('CONFIG_FLAGS_FIXED0', 0x9900000300000006n, 64, 1, c(CONFIG_FLAGS_FIXED0)),
  f('CONFIG_FLAGS_FIXED1', 0x9900000300000007n, 64, 1, c(CONFIG_FLAGS_FIXED1)),
  f('MAX_VCPUS_PER_TD', 0x9900000100000008n, 16, 1, (s) => BigInt(s.profile.maxVcpusPerTd)),
  f('CPUID_CONFIG_LEAVES', 0x9900000300000400n, 64, 32, (_s, k) => {
    const l = CPUID_CONFIG_LEAVES[k];
    return l === undefined ? ALL_ONES : BigInt(l[0]) | (BigInt(l[1] >>> 0) << 32n);
  }),
  f('CPUID_CONFIG_VALUES', 0x9900000300000500n, 64, 32, (_s, k) => (Math.floor(k / 2) < CPUID_CONFIG_LEAVES.length ? ALL_ONES : 0n), 2),
  f('IA32_ARCH_CAPABILITIES_CONFIG_MASK', 0x9900000300000600n, 64, 1, c(IA32_ARCH_CAPABILITIES_CONFIG_MASK)),
  f('NUM_ALLOWED_FMS', 0x9900000100000800n, 16, 1, c(0)),
  f('NUM_DISALLOWED_FMS', 0x9900000100000801n, 16, 1, c(0)),
  f('ALLOWED_FMS', 0x9900000300000810n, 64, 64, c(0)),
  f('DISALLOWED_FMS', 0x9900000300000850n, 64, 64, c(0)),
];

/**
 * Fields that exist only where a profile lists them in `extraFields` (the fields later releases
 * added whose values a source gives; see ModuleProfile.extraFields).
 */
const OPTIONAL_FIELDS = new Set(['MAX_VCPUS_PER_TD', 'PAMT_PAGE_BITMAP_ENTRY_BITS']);

/** Names of every field the model knows (valid keys for `tdxModule.overrides`). */
export const METADATA_FIELD_NAMES: readonly string[] = CATALOG.map((x) => x.name);

/** Canonical field id of element k of `field`. */
export function fieldId(field: MetadataField, k = 0): bigint {
  return ((field.nonArch ? 1n : 0n) << 63n) | (BigInt(field.cls) << 56n) | (SIZE_CODE[field.bits] << 32n) | BigInt(field.code + k);
}

/** Result of looking up a field id for TDH.SYS.RD. */
export type FieldLookup = { kind: 'null' } | { kind: 'incorrect' } | { kind: 'ok'; index: number; elem: number };

/**
 * The global metadata table of one module instance: the profile's fields with overrides applied.
 * Overrides name a field (all elements) or `NAME[k]` (one element); overriding an optional field
 * the profile lacks (MAX_VCPUS_PER_TD) adds it.
 */
export class MetadataTable {
  readonly fields: readonly MetadataField[];
  private readonly overrides: ReadonlyMap<string, bigint>;

  constructor(profile: ModuleProfile, overrides: Readonly<Record<string, number | bigint>> = {}) {
    const o = new Map<string, bigint>();
    for (const [k, val] of Object.entries(overrides)) {
      o.set(k, BigInt(val));
    }
    this.overrides = o;
    const has = (name: string): boolean => [...o.keys()].some((k) => k === name || k.startsWith(`${name}[`));
    this.fields = CATALOG.filter((x) => !OPTIONAL_FIELDS.has(x.name) || profile.extraFields.includes(x.name) || has(x.name));
  }

  /** Problems with override names (unknown field, element out of range). */
  static checkOverrides(overrides: Readonly<Record<string, unknown>>): string[] {
    const out: string[] = [];
    for (const k of Object.keys(overrides)) {
      const m = /^([A-Z0-9_]+)(?:\[(\d+)\])?$/.exec(k);
      const field = m === null ? undefined : CATALOG.find((x) => x.name === m[1]);
      if (m === null || field === undefined) {
        out.push(`unknown metadata field "${k}" (known: ${METADATA_FIELD_NAMES.join(', ')})`);
      } else if (m[2] !== undefined && Number(m[2]) >= field.numFields * field.numElems) {
        out.push(`${k}: element out of range (0..${field.numFields * field.numElems - 1})`);
      }
    }
    return out;
  }

  /** Value of element k of the field with table index `index`, masked to its width. */
  value(src: MetadataSource, index: number, k: number): bigint {
    const field = this.fields[index];
    if (field === undefined) {
      return 0n;
    }
    const o = this.overrides.get(`${field.name}[${k}]`) ?? this.overrides.get(field.name);
    const raw = o ?? field.value(src, k);
    return raw & ((1n << BigInt(field.bits)) - 1n);
  }

  /** Value of a field by name (element k), or undefined if this table lacks it. */
  valueByName(src: MetadataSource, name: string, k = 0): bigint | undefined {
    const i = this.fields.findIndex((x) => x.name === name);
    return i < 0 ? undefined : this.value(src, i, k);
  }

  /** Parse a TDH.SYS.RD field id: null id, malformed/unknown, or (table index, element). */
  lookup(id: bigint): FieldLookup {
    if ((id | CONTEXT_MASK) === ALL_ONES) {
      return { kind: 'null' };
    }
    if ((id & (RESERVED_MASK | LAST_ELEM_MASK | LAST_FIELD_MASK)) !== 0n) {
      return { kind: 'incorrect' };
    }
    const cls = Number((id >> 56n) & 0x3fn);
    const code = Number(id & 0xffffffn);
    for (let i = 0; i < this.fields.length; i++) {
      const fl = this.fields[i] as MetadataField;
      if (fl.cls === cls && code >= fl.code && code < fl.code + fl.numFields * fl.numElems) {
        return { kind: 'ok', index: i, elem: code - fl.code };
      }
    }
    return { kind: 'incorrect' };
  }

  /** The id following element `elem` of field `index`, or -1 (all ones) at the end. */
  nextId(index: number, elem: number): bigint {
    const fl = this.fields[index];
    if (fl !== undefined && elem + 1 < fl.numFields * fl.numElems) {
      return fieldId(fl, elem + 1);
    }
    const nx = this.fields[index + 1];
    return nx === undefined ? ALL_ONES : fieldId(nx, 0);
  }

  /** The first field id of the context (NUM_PKGS). */
  firstId(): bigint {
    const fl = this.fields[0];
    return fl === undefined ? ALL_ONES : fieldId(fl, 0);
  }
}
