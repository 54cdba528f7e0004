/**
 * Global metadata (TDH.SYS.RD / TDH.SYS.RDALL): the field table of section 5.6, per profile,
 * with values computed from the module's latched platform data and the profile, plus
 * overrides by field name. Field-id parsing and next-field behaviour live here too.
 * @see TDX module ABI sections 3.4, 3.5, 5.6; intel/tdx-module global_sys_fields_lookup.c
 */
import { cpuidConfigurable, cpuidConfigValue, cpuidLeafSubleaf } from './cpuidConfigurable.js';
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
  /**
   * The handoff data header at the start of this module's data region (absent: all zero).
   */
  readonly handoff?: { readonly valid: boolean; readonly hv: number; readonly size: number };
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
export const ALL_ONES = (1n << 64n) - 1n;
/** Reserved field-id bits: 31:24, 49:47, 55, 62. */
const RESERVED_MASK = (0xffn << 24n) | (0x7n << 47n) | (1n << 55n) | (1n << 62n);
const LAST_ELEM_MASK = 0xfn << 34n;
const LAST_FIELD_MASK = 0x1ffn << 38n;

/** Bits of TD_PARAMS.ATTRIBUTES a TD may set / must set. */
export const ATTRIBUTES_FIXED0 = 0x8000_0000_7000_0001n;
export const ATTRIBUTES_FIXED1 = 0n;
/** XFAM bits a TD may set / must set (every XCR0/XSS feature assumed supported). */
export const XFAM_FIXED0 = 0x6dbe7n;
export const XFAM_FIXED1 = 0x3n;
export const CONFIG_FLAGS_FIXED0 = 7n;
export const CONFIG_FLAGS_FIXED1 = 0n;
/**
 * IA32_ARCH_CAPABILITIES bits a TD may configure: SSB_NO (4), RRSBA (19), BHI_NO (20), PBRSB_NO (24).
 * @see intel/tdx-module 1.5.01 src/common/x86_defs/msr_defs.h (IA32_ARCH_CAPABILITIES_CONFIG_MASK)
 */
export const IA32_ARCH_CAPABILITIES_CONFIG_MASK = 0x118_0010n;

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
  // NUM_HANDOFF_PAGES is what SEAMLDR put in the sysinfo table and TDH.SYS.INIT latched: the
  // release's SIGSTRUCT value (profiles.ts; 0 where no SIGSTRUCT is published; a
  // tdxModule.overrides entry stands for a different SEAMLDR input). HANDOFF_DATA_VALID/HV/SIZE
  // read the handoff header at the start of the data region as it stands (module audit row 24):
  // zeros on a first load (assumed: what SEAMLDR leaves in a fresh data region is not in the
  // sources read); valid, hv and the payload size from TDH.SYS.SHUTDOWN, which the next
  // module finds there; valid and size cleared, hv kept by TDH.SYS.UPDATE.
  // @see intel/tdx-module 1.5.01 (72d8cff) src/common/metadata_handlers/metadata_sys.c,
  //   tdh_sys_init.c check_module_build_time_defs(), loader_data.h handoff_data_header_t
  f('NUM_HANDOFF_PAGES', 0x8900000100000003n, 16, 1, (s) => BigInt(s.profile.numHandoffPages?.value ?? 0)),
  f('HANDOFF_DATA_VALID', 0x8900000000000004n, 8, 1, (s) => (s.handoff?.valid === true ? 1n : 0n)),
  f('HANDOFF_DATA_HV', 0x8900000100000005n, 16, 1, (s) => BigInt(s.handoff?.hv ?? 0)),
  f('HANDOFF_DATA_SIZE', 0x8900000200000006n, 32, 1, (s) => BigInt(s.handoff?.size ?? 0)),
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
  // NUM_CPUID_CONFIG and the CPUID_CONFIG fields follow the release's cpuid_configurable[]
  // (cpuidConfigurable.ts: 12 entries in 1.5.01, 18 in 1.5.05-2.0.02, 28 in 2.0.04 and 2.0.08).
  // The two CPUID_CONFIG fields have 32 elements in every release: past the table's end a leaf
  // reads all ones and a value 0. @see intel/tdx-module 1.5.01 metadata_sys.c
  f('NUM_CPUID_CONFIG', 0x9900000100000004n, 16, 1, (s) => BigInt(cpuidConfigurable(s.profile).length)),
  f('CONFIG_FLAGS_FIXED0', 0x9900000300000006n, 64, 1, c(CONFIG_FLAGS_FIXED0)),
  f('CONFIG_FLAGS_FIXED1', 0x9900000300000007n, 64, 1, c(CONFIG_FLAGS_FIXED1)),
  f('MAX_VCPUS_PER_TD', 0x9900000100000008n, 16, 1, (s) => BigInt(s.profile.maxVcpusPerTd)),
  // 1.5.06 on: MIN_VIRT_MAXPA (0x9900000000000009) follows here. Its value (the MIN_VIRT_MAXPA macro)
  // is in no stored source, so the model leaves the field out (TDH.SYS.RD: FIELD_ID_INCORRECT).
  // 1.5.28 on: MAX_EVENT_FILTERS = MAX_EVENT_FILTERS (1.5.34 metadata_sys.c), whose define is 512
  // in 2.0.08's tdx_api_defs.h (the 1.5 define was not read). @see intel/tdx-module 1666adc4 include/tdx_api_defs.h
  f('MAX_EVENT_FILTERS', 0x990000010000000an, 16, 1, c(512)),
  f('CPUID_CONFIG_LEAVES', 0x9900000300000400n, 64, 32, (s, k) => cpuidLeafSubleaf(cpuidConfigurable(s.profile), k)),
  // 1.5.01 reports CONFIG_DIRECT only; 1.5.05 on add ALLOW_DIRECT & native (see cpuidConfigValue).
  f('CPUID_CONFIG_VALUES', 0x9900000300000500n, 64, 32, (s, k) => cpuidConfigValue(cpuidConfigurable(s.profile), Math.floor(k / 2), (k % 2) as 0 | 1, !sysRdConfigDirectOnly(s.profile)), 2),
  f('IA32_ARCH_CAPABILITIES_CONFIG_MASK', 0x9900000300000600n, 64, 1, c(IA32_ARCH_CAPABILITIES_CONFIG_MASK)),
  f('NUM_ALLOWED_FMS', 0x9900000100000800n, 16, 1, c(0)),
  f('NUM_DISALLOWED_FMS', 0x9900000100000801n, 16, 1, c(0)),
  f('ALLOWED_FMS', 0x9900000300000810n, 64, 64, c(0)),
  f('DISALLOWED_FMS', 0x9900000300000850n, 64, 64, c(0)),
  // Migration, service-TD and TD-partitioning classes (table entries 46-64). Values from
  // metadata_sys.c md_sys_get_first_element_val_and_ptr(): MIG_ATTRIBUTES and the export/import
  // versions 0; MAX_MIGS 512 (service_td.h); MIN_TD_IMMUTABLE_STATE/TD_STATE/VP_STATE_EXPORT_PAGES
  // 3/2/5 (migration.h); MAX_SERVTDS 1 and SERVTD_ATTRIBUTES_FIXED_0/1 (service_td.h);
  // GUEST_L2_GPA_ATTR_MASK BITS(6,0)|BIT(15) (tdx_api_defs.h); ALLOWED_VM_CTLS BIT(0)
  // (td_control_structures.h); ALLOWED_L2_VCPU_CTLS BIT(0)|BIT(1), ALLOWED_L2_VM_DEBUG_CTLS
  // BIT(0)|BIT(1)|BIT(2) (tdx_tdvps.h); the FIXED1 fields 0. The source spells two names VPCU_.
  // @see intel/tdx-module 1.5.01 include/auto_gen/global_sys_fields_lookup.c, metadata_sys.c
  f('MIG_ATTRIBUTES', 0xa000000300000000n, 64, 1, c(0)),
  f('MIN_EXPORT_VERSION', 0x2000000100000001n, 16, 1, c(0)),
  f('MAX_EXPORT_VERSION', 0x2000000100000002n, 16, 1, c(0)),
  f('MIN_IMPORT_VERSION', 0x2000000100000003n, 16, 1, c(0)),
  f('MAX_IMPORT_VERSION', 0x2000000100000004n, 16, 1, c(0)),
  f('MAX_MIGS', 0xa000000100000010n, 16, 1, c(512)),
  // 1.5.34 and 2.0.18 add NUM_MEM_SCAN_CONTROL_PAGES, MAX_MEM_SCAN_RANGES and NUM_MEM_SCAN_CONTEXTS
  // after NUM_VP_STATE_PAGES; their macros' values are in no stored source, so they are left out.
  f('NUM_IMMUTABLE_STATE_PAGES', 0xa000000000000020n, 8, 1, c(3)),
  f('NUM_TD_STATE_PAGES', 0xa000000000000021n, 8, 1, c(2)),
  f('NUM_VP_STATE_PAGES', 0xa000000000000022n, 8, 1, c(5)),
  f('MAX_SERV_TDS', 0xa100000100000000n, 16, 1, c(1)),
  f('SERVTD_ATTR_FIXED0', 0xa100000300000001n, 64, 1, c(0x7ff_0000_0001n)),
  f('SERVTD_ATTR_FIXED1', 0xa100000300000002n, 64, 1, c(0)),
  f('GUEST_L2_GPA_ATTR_MASK', 0xa200000100000000n, 16, 1, c(0x807f)),
  f('VM_CTLS_FIXED0', 0xa200000300000001n, 64, 1, c(0x1)),
  f('VM_CTLS_FIXED1', 0xa200000300000002n, 64, 1, c(0)),
  f('VCPU_L2_CTLS_FIXED0', 0xa200000300000003n, 64, 1, c(0x3)),
  f('VCPU_L2_CTLS_FIXED1', 0xa200000300000004n, 64, 1, c(0)),
  f('VCPU_L2_DEBUG_CTLS_FIXED0', 0xa200000300000005n, 64, 1, c(0x7)),
  f('VCPU_L2_DEBUG_CTLS_FIXED1', 0xa200000300000006n, 64, 1, c(0)),
];

/**
 * 1.5.01's TDH.SYS.RD reports CPUID_CONFIG_VALUES as CONFIG_DIRECT only; 1.5.05's adds
 * ALLOW_DIRECT & native. Releases after 1.5.05 are taken to keep 1.5.05's rule.
 * @see intel/tdx-module 1.5.01 (72d8cff) and 1.5.05 (e98d9639) metadata_sys.c
 */
function sysRdConfigDirectOnly(p: ModuleProfile): boolean {
  return p.release === '1.5.01' || p.release === '1.0';
}

/**
 * Fields that exist only where a profile lists them in `extraFields` (the fields later releases
 * added whose values a source gives; see ModuleProfile.extraFields).
 */
const OPTIONAL_FIELDS = new Set(['MAX_VCPUS_PER_TD', 'PAMT_PAGE_BITMAP_ENTRY_BITS', 'MAX_EVENT_FILTERS']);

/** Names of every field the model knows (valid keys for `tdxModule.overrides`). */
export const METADATA_FIELD_NAMES: readonly string[] = CATALOG.map((x) => x.name);

/**
 * The TDH.SYS.RD field id of a global metadata field named as the module's table names it
 * (`MAX_TDMRS`, any case), or of one element (`CMR_BASE[3]`): the canonical id of element k.
 * Undefined for a name the model's table lacks or an element past the field's end. The name maps
 * to the same id in every release; a release without the field answers that id with
 * TDX_METADATA_FIELD_ID_INCORRECT, as the module does.
 * @see intel/tdx-module 1.5.01 include/auto_gen/global_sys_fields_lookup.c (names and ids)
 */
export function metadataFieldIdByName(name: string): bigint | undefined {
  const m = /^\s*([A-Za-z][A-Za-z0-9_]*)(?:\[(\d+)\])?\s*$/.exec(name);
  if (m === null) {
    return undefined;
  }
  const field = CATALOG.find((x) => x.name === (m[1] ?? '').toUpperCase());
  const k = m[2] === undefined ? 0 : Number(m[2]);
  if (field === undefined || k >= field.numFields * field.numElems) {
    return undefined;
  }
  return fieldId(field, k);
}

/** How many elements a global metadata field has (fields x elements per field), or undefined for an unknown name. */
export function metadataFieldElements(name: string): number | undefined {
  const field = CATALOG.find((x) => x.name === name);
  return field === undefined ? undefined : field.numFields * field.numElems;
}

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

  /**
   * The id TDH.SYS.RD returns after reading element `elem` of field `index` with input id `id`.
   * Inside a table entry the *input* id comes back with field_code + 1 (the element stride,
   * INC_SIZE + 1, is 1 for every global entry): the element size, non-arch, WRITE_MASK_VALID and
   * INC_SIZE bits are echoed, the context code is 0. Crossing to the next entry gives that entry's
   * canonical id; after the last entry, -1.
   * @see intel/tdx-module 1.5.01 metadata_generic.c md_get_next_item_with_iterator(), tdh_sys_rd.c
   */
  nextId(id: bigint, index: number, elem: number): bigint {
    const fl = this.fields[index];
    if (fl !== undefined && elem + 1 < fl.numFields * fl.numElems) {
      return (id & ~(CONTEXT_MASK | 0xffffffn)) | BigInt(fl.code + elem + 1);
    }
    const nx = this.fields[index + 1];
    return nx === undefined ? ALL_ONES : fieldId(nx, 0);
  }

  /**
   * Whether the field of `b` starting at element `bElem` continues a TDH.SYS.RDALL sequence that ends with the
   * field of `a` starting at element `aElem`: same class, contiguous field codes, equal element
   * count and element size. The non-arch bit is not compared.
   * @see intel/tdx-module 1.5.01 metadata_generic.c is_sequential_field_id(), md_dump_sequence()
   */
  sequential(a: number, aElem: number, b: number, bElem: number): boolean {
    const fa = this.fields[a];
    const fb = this.fields[b];
    if (fa === undefined || fb === undefined) {
      return false;
    }
    return fa.cls === fb.cls && fa.code + aElem + fa.numElems === fb.code + bElem && fa.numElems === fb.numElems && fa.bits === fb.bits;
  }

  /** The first field id of the context (NUM_PKGS). */
  firstId(): bigint {
    const fl = this.fields[0];
    return fl === undefined ? ALL_ONES : fieldId(fl, 0);
  }
}
