/**
 * TD-scope (TDR/TDCS) and VCPU-scope (TDVPS) metadata fields for TDH.MNG.RD/WR and
 * TDH.VP.RD/WR: a representative set of the fields the model keeps, with their field ids, element
 * counts and the host read/write masks of production and debug TDs from the module's tables. A
 * field id the table lacks answers TDX_METADATA_FIELD_ID_INCORRECT, as an unknown id does on the
 * module; a field whose host read mask is 0 answers TDX_METADATA_FIELD_NOT_READABLE.
 * @see intel/tdx-module 1.5.01 (72d8cff) include/auto_gen/tdr_tdcs_fields_lookup.c,
 *   include/auto_gen/tdvps_fields_lookup.c, src/common/metadata_handlers/metadata_generic.c
 *   md_check_as_single_element_id(), md_find_entry_idx(); metadata_td.c md_td_read_element(),
 *   md_td_write_element()
 */
import type { U64 } from '../base/u64.js';
import {
  TDX_METADATA_FIELD_ID_INCORRECT,
  TDX_METADATA_FIELD_NOT_READABLE,
  TDX_METADATA_FIELD_NOT_WRITABLE,
  TDX_METADATA_FIELD_VALUE_NOT_VALID,
  TDX_SUCCESS,
} from './status.js';
import type { TdState, VcpuState } from './tdState.js';
import { numTdvpsPages } from './tdState.js';

/** Who may read or write a field from the host: nobody, debug TDs only, or every TD. */
type Access = 'none' | 'debug' | 'all';

/** One field of the table. */
export interface TdField {
  readonly name: string;
  /** Canonical field id (element 0). */
  readonly id: bigint;
  readonly elems: number;
  readonly rd: Access;
  readonly wr: Access;
  /** Element value. */
  readonly get: (td: TdState, v: VcpuState | undefined, elem: number) => bigint;
}

const f = (name: string, id: bigint, rd: Access, get: TdField['get'], elems = 1, wr: Access = 'none'): TdField => ({ name, id, elems, rd, wr, get });
const hexWord = (hex: string, i: number): bigint => (hex === '' ? 0n : BigInt(`0x${hex.slice(i * 16, i * 16 + 16).match(/../g)?.reverse().join('') ?? '0'}`));

/** TDR and TDCS fields (context TD). */
export const TD_FIELDS: readonly TdField[] = [
  f('FATAL', 0x8010_0000_0000_0001n, 'all', (td) => (td.fatal ? 1n : 0n)),
  f('NUM_TDCX', 0x8010_0002_0000_0002n, 'all', (td) => BigInt(td.numTdcx)),
  f('CHLDCNT', 0x8010_0003_0000_0004n, 'all', (td) => BigInt(td.chldcnt)),
  f('LIFECYCLE_STATE', 0x8010_0002_0000_0005n, 'all', (td) => BigInt(td.lifecycle)),
  f('HKID', 0x8110_0001_0000_0001n, 'all', (td) => BigInt(td.hkid)),
  f('PKG_CONFIG_BITMAP', 0x8110_0003_0000_0002n, 'all', (td) => BigInt(td.pkgConfigBitmap)),
  f('NUM_VCPUS', 0x9010_0002_0000_0001n, 'all', (td) => BigInt(td.numVcpus)),
  f('NUM_ASSOC_VCPUS', 0x9010_0002_0000_0002n, 'all', (td) => BigInt(td.numAssocVcpus)),
  f('OP_STATE', 0x9010_0002_0000_0004n, 'all', (td) => BigInt(td.opState)),
  f('NUM_L2_VMS', 0x9010_0001_0000_0005n, 'all', (td) => BigInt(td.numL2Vms)),
  f('ATTRIBUTES', 0x1110_0003_0000_0000n, 'all', (td) => td.attributes),
  f('XFAM', 0x1110_0003_0000_0001n, 'all', (td) => td.xfam),
  f('MAX_VCPUS', 0x1110_0002_0000_0002n, 'all', (td) => BigInt(td.maxVcpus)),
  f('GPAW', 0x1110_0000_0000_0003n, 'all', (td) => (td.gpaw ? 1n : 0n)),
  f('EPTP', 0x1110_0003_0000_0004n, 'all', (td) => td.eptp),
  f('TSC_FREQUENCY', 0x1110_0001_0000_000cn, 'all', (td) => BigInt(td.tscFrequency)),
  f('VIRTUAL_TSC', 0x1110_0003_0000_000dn, 'none', () => 0n),
  f('HP_LOCK_TIMEOUT', 0x9110_0003_0000_0011n, 'all', (td) => BigInt(td.hpLockTimeoutUsec), 1, 'all'),
  f('TD_EPOCH', 0x9210_0003_0000_0000n, 'all', (td) => BigInt(td.tdEpoch)),
  f('MRTD', 0x1310_0003_0000_0000n, 'all', (td, _v, i) => hexWord(td.mrtd, i), 6),
  f('SEPT_ROOT', 0x2110_0003_0000_0000n, 'debug', () => 0n),
];

/** TDVPS fields (context VP). */
export const VP_FIELDS: readonly TdField[] = [
  f('RAX', 0x1020_0003_0000_0000n, 'debug', () => 0n, 1, 'debug'),
  f('VCPU_STATE', 0xa020_0000_0000_0000n, 'debug', (_td, v) => (v?.initialized === true ? 1n : 0n)),
  f('VCPU_INDEX', 0xa020_0002_0000_0002n, 'all', (_td, v) => BigInt(v?.vcpuIndex ?? 0)),
  f('NUM_TDVPS_PAGES', 0xa020_0000_0000_0003n, 'all', (_td, v) => BigInt(v === undefined ? 0 : numTdvpsPages(v))),
  f('ASSOC_LPID', 0xa020_0002_0000_0004n, 'all', (_td, v) => BigInt.asUintN(32, BigInt(v?.associatedLp ?? -1))),
  f('VCPU_EPOCH', 0xa020_0003_0000_0006n, 'all', (_td, v) => BigInt(v?.vcpuEpoch ?? 0)),
];

/** HP_LOCK_TIMEOUT's valid range in microseconds (MIN/MAX_HP_LOCK_TIMEOUT_USEC). */
const HP_LOCK_TIMEOUT_MIN = 10_000n;
const HP_LOCK_TIMEOUT_MAX = 100_000_000n;

const CLASS = (id: bigint): number => Number((id >> 56n) & 0x3fn);
const CODE = (id: bigint): number => Number(id & 0xff_ffffn);
const SIZE_CODE = (id: bigint): number => Number((id >> 32n) & 3n);

/** The field and element an id names, or undefined. */
export interface FieldHit {
  readonly field: TdField;
  readonly elem: number;
}

/**
 * md_check_as_single_element_id() then md_find_entry_idx(): reserved bits (31:24, 49:47, 55,
 * 62), LAST_ELEMENT_IN_FIELD and LAST_FIELD_IN_SEQUENCE must be zero; the class and field code
 * must fall in a field's range. Context, size, INC_SIZE and WRITE_MASK_VALID are ignored.
 */
export function lookupField(table: readonly TdField[], id: bigint): FieldHit | undefined {
  const reserved = (id & 0xff00_0000n) | (id & (7n << 47n)) | (id & (1n << 55n)) | (id & (1n << 62n));
  if (reserved !== 0n || ((id >> 34n) & 0xfn) !== 0n || ((id >> 38n) & 0x1ffn) !== 0n) {
    return undefined;
  }
  for (const field of table) {
    const code = CODE(field.id);
    if (CLASS(field.id) === CLASS(id) && CODE(id) >= code && CODE(id) < code + field.elems) {
      return { field, elem: CODE(id) - code };
    }
  }
  return undefined;
}

function allowed(a: Access, debug: boolean): boolean {
  return a === 'all' || (a === 'debug' && debug);
}

/** Element mask of a field's element size. */
function sizeMask(field: TdField): bigint {
  return (1n << BigInt(8 << SIZE_CODE(field.id))) - 1n;
}

/** Read one element: the status and value (0 on error). */
export function readField(table: readonly TdField[], id: bigint, td: TdState, v: VcpuState | undefined): { status: U64; value: bigint } {
  const hit = lookupField(table, id);
  if (hit === undefined) {
    return { status: TDX_METADATA_FIELD_ID_INCORRECT, value: 0n };
  }
  if (!allowed(hit.field.rd, (td.attributes & 1n) === 1n)) {
    return { status: TDX_METADATA_FIELD_NOT_READABLE, value: 0n };
  }
  return { status: TDX_SUCCESS, value: hit.field.get(td, v, hit.elem) & sizeMask(hit.field) };
}

/**
 * Write one element under `mask`: FIELD_NOT_WRITABLE when the field's host write mask and the
 * request mask have no bit in common; HP_LOCK_TIMEOUT outside its range is
 * FIELD_VALUE_NOT_VALID. @returns the status and the old value (R8 of TDH.MNG.WR).
 */
export function writeField(table: readonly TdField[], id: bigint, td: TdState, v: VcpuState | undefined, value: bigint, mask: bigint): { status: U64; old: bigint } {
  const hit = lookupField(table, id);
  if (hit === undefined) {
    return { status: TDX_METADATA_FIELD_ID_INCORRECT, old: 0n };
  }
  const old = hit.field.get(td, v, hit.elem) & sizeMask(hit.field);
  if (!allowed(hit.field.wr, (td.attributes & 1n) === 1n) || (mask & sizeMask(hit.field)) === 0n) {
    return { status: TDX_METADATA_FIELD_NOT_WRITABLE, old: 0n };
  }
  const next = (old & ~mask) | (value & mask);
  if (hit.field.name === 'HP_LOCK_TIMEOUT') {
    if (next < HP_LOCK_TIMEOUT_MIN || next > HP_LOCK_TIMEOUT_MAX) {
      return { status: TDX_METADATA_FIELD_VALUE_NOT_VALID, old: 0n };
    }
    td.hpLockTimeoutUsec = Number(next);
  }
  return { status: TDX_SUCCESS, old };
}
