/**
 * Byte layout of the TD control structure fields the model materializes in their pages: the
 * TDR (through the TDX global private KeyID) and the TDCS management fields at the start of the
 * first TDCS page (through the TD's private HKID). The module keeps the decoded values in
 * `TdState`; whenever a leaf changes one of these fields it also stores the affected 64-byte
 * lines here, as the module's own stores to `tdr_ptr->...` / `tdcs_ptr->...` would, so that
 * the page's bytes read back through the right KeyID hold the fields at their offsets, and a
 * host read through KeyID 0 or a wrong private KeyID sees what the integrity model gives.
 *
 * Only fields whose offset the module source gives are laid out. Every other byte of these
 * lines is stored as zero: the reserved bytes (MNG.CREATE zeroes the TDR, MNG.ADDCX the TDCS
 * pages), and also TD_UUID (TDR 0x60, 32 bytes), which MNG.CREATE fills with RDRAND on the
 * module but the model does not draw, so it reads as zero here.
 *
 * Offsets (bytes from the start of the TDR page, or of the first TDCS page) and element sizes
 * (field id bits 33:32) are the ones of the module's metadata table.
 * @see intel/tdx-module 1.5.01 (72d8cff) include/auto_gen/tdr_tdcs_fields_lookup.c tdr_tdcs_lookup[]
 *   (.offset, .field_id); src/common/data_structures/td_control_structures.h tdr_t,
 *   tdcs_management_fields_t
 */
import { LINE_SIZE } from '../base/ids.js';
import type { SeamEnv } from '../platform/Seam.js';
import type { LeafCtx } from './leafCtx.js';
import type { TdState, VcpuState } from './tdState.js';
import { numTdvpsPages } from './tdState.js';

/** One laid-out field: byte offset, element size in bytes, element count. */
export interface LaidOutField {
  readonly offset: number;
  readonly size: 1 | 2 | 4 | 8;
  readonly elems: number;
}

/**
 * TDR fields (tdr_t: management fields at 0, key management fields at 0x100).
 * @see intel/tdx-module 1.5.01 (72d8cff) include/auto_gen/tdr_tdcs_fields_lookup.c entries 0..7
 */
export const TDR_LAYOUT = {
  FATAL: { offset: 0x00, size: 1, elems: 1 },
  NUM_TDCX: { offset: 0x04, size: 4, elems: 1 },
  CHLDCNT: { offset: 0x08, size: 8, elems: 1 },
  LIFECYCLE_STATE: { offset: 0x10, size: 4, elems: 1 },
  /** tdcx_pa[9]: the TDCX page PAs with the TD's HKID in the KeyID bits (assign_hkid_to_hpa()). */
  TDCX_PA: { offset: 0x18, size: 8, elems: 9 },
  HKID: { offset: 0x100, size: 2, elems: 1 },
  PKG_CONFIG_BITMAP: { offset: 0x108, size: 8, elems: 1 },
} as const satisfies Record<string, LaidOutField>;

/**
 * TDCS management fields (tdcs_management_fields_t at the start of the first TDCS page).
 * @see intel/tdx-module 1.5.01 (72d8cff) include/auto_gen/tdr_tdcs_fields_lookup.c entries 11..14
 */
export const TDCS_MGMT_LAYOUT = {
  NUM_VCPUS: { offset: 0x00, size: 4, elems: 1 },
  NUM_ASSOC_VCPUS: { offset: 0x04, size: 4, elems: 1 },
  OP_STATE: { offset: 0x08, size: 4, elems: 1 },
  NUM_L2_VMS: { offset: 0x10, size: 2, elems: 1 },
} as const satisfies Record<string, LaidOutField>;

/**
 * TDVPS management fields a host reads with TDH.VP.RD, at their offsets from the start of the
 * TDVPS (the TDVPR page; all of them lie in it, in lines 4 and 7), stored through the TD's HKID.
 * VCPU_STATE is written as the model's VP.RD value (1 once TDH.VP.INIT succeeded, else 0);
 * ASSOC_LPID is 0xFFFFFFFF while the VCPU is not associated. The guest-state field RAX (0x980),
 * which VP.RD/WR reach on debug TDs, always reads 0 in the model and is left at the zero
 * TDH.VP.CREATE wrote.
 * @see intel/tdx-module 1.5.01 (72d8cff) include/auto_gen/tdvps_fields_lookup.c entries 59-63
 *   (.offset, .field_id); src/common/data_structures/tdx_tdvps.h tdvps_management_t
 */
export const TDVPS_MGMT_LAYOUT = {
  VCPU_STATE: { offset: 0x100, size: 1, elems: 1 },
  VCPU_INDEX: { offset: 0x102, size: 4, elems: 1 },
  NUM_TDVPS_PAGES: { offset: 0x107, size: 1, elems: 1 },
  ASSOC_LPID: { offset: 0x1c8, size: 4, elems: 1 },
  VCPU_EPOCH: { offset: 0x1d0, size: 8, elems: 1 },
} as const satisfies Record<string, LaidOutField>;

/** TDVPR lines holding laid-out fields: 4 (state, index, page count) and 7 (association, epoch). */
export type TdvpsLine = 4 | 7;
/** Line 4 (0x100): VCPU_STATE, VCPU_INDEX, NUM_TDVPS_PAGES. */
export const TDVPS_LINE_STATE: TdvpsLine = 4;
/** Line 7 (0x1C0): ASSOC_LPID, VCPU_EPOCH. */
export const TDVPS_LINE_ASSOC: TdvpsLine = 7;

/** The TDR lines a leaf may store: 0 (state, counts, TDCX_PA[0..4]), 1 (TDCX_PA[5..8]), 4 (key management). */
export type TdrLine = 0 | 1 | 4;

/** Line 0 holds FATAL, NUM_TDCX, CHLDCNT, LIFECYCLE_STATE (and TDCX_PA[0..4]). */
export const TDR_LINE_STATE: TdrLine = 0;
/** Line 4 (0x100) holds HKID and PKG_CONFIG_BITMAP. */
export const TDR_LINE_KEYS: TdrLine = 4;

/** The TDR line holding TDCX_PA[index]. */
export function tdrLineOfTdcx(index: number): TdrLine {
  return Math.floor((TDR_LAYOUT.TDCX_PA.offset + 8 * index) / LINE_SIZE) === 0 ? 0 : 1;
}

/** Scratch buffer for the line being stored (SeamEnv.write copies its input). */
const scratchLine = new Uint8Array(LINE_SIZE);
const scratchView = new DataView(scratchLine.buffer);

/**
 * Write element `elem` of `f` into the line starting at byte `lineBase`, if it lies there.
 * Values are numbers: every laid-out value is below 2^53 (a PA with KeyID bits is below 2^52).
 */
function put(view: DataView, lineBase: number, f: LaidOutField, elem: number, value: number): void {
  const at = f.offset + elem * f.size - lineBase;
  if (at < 0 || at + f.size > LINE_SIZE) {
    return;
  }
  switch (f.size) {
    case 1:
      view.setUint8(at, value & 0xff);
      break;
    case 2:
      view.setUint16(at, value & 0xffff, true);
      break;
    case 4:
      view.setUint32(at, value >>> 0, true);
      break;
    case 8:
      view.setUint32(at, value % 2 ** 32, true);
      view.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
      break;
  }
}

/**
 * The 64 bytes of TDR line `line` for `td` (little-endian, as the module stores them).
 * `hkidShift` is the lowest KeyID bit of a physical address (52 - KeyID bits).
 */
export function tdrLineBytes(td: TdState, line: TdrLine, hkidShift: number, bytes = new Uint8Array(LINE_SIZE)): Uint8Array {
  bytes.fill(0);
  const view = bytes === scratchLine ? scratchView : new DataView(bytes.buffer, bytes.byteOffset, LINE_SIZE);
  const base = line * LINE_SIZE;
  const L = TDR_LAYOUT;
  if (line === TDR_LINE_KEYS) {
    put(view, base, L.HKID, 0, td.hkid);
    put(view, base, L.PKG_CONFIG_BITMAP, 0, td.pkgConfigBitmap);
    return bytes;
  }
  put(view, base, L.FATAL, 0, td.fatal ? 1 : 0);
  put(view, base, L.NUM_TDCX, 0, td.numTdcx);
  put(view, base, L.CHLDCNT, 0, td.chldcnt);
  put(view, base, L.LIFECYCLE_STATE, 0, td.lifecycle);
  for (let i = 0; i < td.tdcx.length && i < L.TDCX_PA.elems; i++) {
    put(view, base, L.TDCX_PA, i, tdcxPaValue(td.tdcx[i] ?? 0, td.hkid, hkidShift));
  }
  return bytes;
}

/**
 * A TDCX_PA entry as the module records it: the page PA with the TD's HKID in the KeyID bits.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mng_add_cx.c (tdcx_pa[] = assign_hkid_to_hpa())
 */
export function tdcxPaValue(pa: number, hkid: number, hkidShift: number): number {
  return pa + hkid * 2 ** hkidShift;
}

/** The 64 bytes of the first line of the first TDCS page (the management fields). */
export function tdcsMgmtLineBytes(td: TdState): Uint8Array {
  const bytes = new Uint8Array(LINE_SIZE);
  const view = new DataView(bytes.buffer);
  const L = TDCS_MGMT_LAYOUT;
  put(view, 0, L.NUM_VCPUS, 0, td.numVcpus);
  put(view, 0, L.NUM_ASSOC_VCPUS, 0, td.numAssocVcpus);
  put(view, 0, L.OP_STATE, 0, td.opState);
  put(view, 0, L.NUM_L2_VMS, 0, td.numL2Vms);
  return bytes;
}


/** The 64 bytes of TDVPR line `line` of `vcpu` (little-endian, as the module stores them). */
export function tdvpsLineBytes(vcpu: VcpuState, line: TdvpsLine): Uint8Array {
  const bytes = new Uint8Array(LINE_SIZE);
  const view = new DataView(bytes.buffer);
  const base = line * LINE_SIZE;
  const L = TDVPS_MGMT_LAYOUT;
  if (line === TDVPS_LINE_STATE) {
    put(view, base, L.VCPU_STATE, 0, vcpu.initialized ? 1 : 0);
    put(view, base, L.VCPU_INDEX, 0, vcpu.vcpuIndex ?? 0);
    put(view, base, L.NUM_TDVPS_PAGES, 0, numTdvpsPages(vcpu));
    return bytes;
  }
  put(view, base, L.ASSOC_LPID, 0, vcpu.associatedLp);
  put(view, base, L.VCPU_EPOCH, 0, vcpu.vcpuEpoch ?? 0);
  return bytes;
}

/**
 * Store TDVPR lines of the VCPU whose TDVPR page is at `tdvprPa`, through the TD's HKID, on this
 * LP (cached stores, as the module's own stores to the TDVPS through its TD-KeyID mapping).
 */
export function storeTdvpsLines(env: SeamEnv, td: TdState, vcpu: VcpuState, tdvprPa: number, ...lines: TdvpsLine[]): void {
  for (const line of lines) {
    env.write(tdvprPa + line * LINE_SIZE, tdvpsLineBytes(vcpu, line), td.hkid, 'tdx-module');
  }
}

/**
 * Store TDR lines of `td` through the global private KeyID `globalHkid`: cached stores, so the
 * dirty lines stay in this LP's cache as the module's own stores would. O(lines), not O(page).
 */
export function storeTdrLines(env: SeamEnv, td: TdState, globalHkid: number, hkidShift: number, ...lines: TdrLine[]): void {
  for (const line of lines) {
    // The scratch line is safe to reuse: a store copies what it is given.
    env.write(td.tdrPa + line * LINE_SIZE, tdrLineBytes(td, line, hkidShift, scratchLine), globalHkid, 'tdx-module');
  }
}

/** Store the TDCS management line of `td` through its HKID (once the TDCS exists). */
export function storeTdcsMgmtLine(env: SeamEnv, td: TdState): void {
  const pa = td.tdcx[0];
  if (pa !== undefined) {
    env.write(pa, tdcsMgmtLineBytes(td), td.hkid, 'tdx-module');
  }
}

/** `storeTdrLines` from a leaf: through the module's global private KeyID. */
export function storeTdr(ctx: LeafCtx, td: TdState, ...lines: TdrLine[]): void {
  storeTdrLines(ctx.env, td, ctx.m.hkid, ctx.m.hkidShift, ...lines);
}
