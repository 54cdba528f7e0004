/**
 * Secure EPT entries as the TDX module stores them in their SEPT pages. The module keeps a TD's
 * Secure EPT decoded in `SecureEpt`; whenever a leaf changes an entry it also stores the entry's
 * 8 bytes into the SEPT page that holds it, as the module's own `atomic_mem_write_64b()` to the
 * entry would: an ordinary (cached, write-back) 64-bit store through the TD's private HKID, so
 * the line stays dirty under that KeyID in the LP's cache. A host that reads the page through
 * KeyID 0 then sees what the integrity model gives (zeros for a TD-owned line), and a write-back
 * of that dirty line can land over whatever the host later puts there.
 *
 * Where an entry lives: the entry of level L for a GPA is entry `(gpa >> (12 + 9 L)) & 511` of a
 * 4 KiB page of 512 entries. For the root level (3, or 4 with 5-level EPT) that page is the SEPT
 * root, TDCS page 3; below it, the page the parent non-leaf entry (level L + 1) points to.
 *
 * The in-page value of an entry is a function of its state, leaf bit and page PA in everything
 * the model reaches (no L2 VMs, no migration, no guest-side attributes); what is not modelled
 * is listed in docs/module.md ("Secure EPT entries in their pages").
 *
 * @see intel/tdx-module 1.5.01 (72d8cff) src/common/x86_defs/x86_defs.h ia32e_sept_t,
 *   SEPT_ENTRY_*_BIT_POSITION; src/common/memory_handlers/sept_manager.h SEPT_STATE_ENC_TO_MASK,
 *   sept_state_mask_e, SEPTE_INIT_VALUE, sept_update_state(), sept_unblock();
 *   src/common/memory_handlers/sept_manager.c sept_set_leaf_no_lock_internal(),
 *   sept_set_mapped_non_leaf(), secure_ept_walk() (set_hkid_to_pa() with the TD's HKID on every
 *   level); include/auto_gen/sept_state_lookup.h SEPT_STATE_*_ENCODING;
 *   src/common/accessors/ia32_accessors.h atomic_mem_write_64b() (a plain MOVQ store);
 *   src/common/memory_handlers/keyhole_manager.c (keyholes map WB unless asked for UC).
 *   The encodings and the leaves' writes are unchanged in 1.5.05 (checked against a copy of the
 *   1.5.05 release source).
 */
import { ModelBug } from '../base/assert.js';
import type { SeamEnv } from '../platform/Seam.js';
import type { SeptEntry } from './SecureEpt.js';
import { septSpan } from './SecureEpt.js';
import type { TdState } from './tdState.js';
import { SEPT_STATE } from './tdState.js';

/**
 * Bit positions of a Secure EPT entry.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/common/x86_defs/x86_defs.h SEPT_ENTRY_*_BIT_POSITION
 */
export const SEPT_ENTRY_BIT = {
  R: 0,
  W: 1,
  X: 2,
  /** MT[2:0] (memory type) in bits 5:3. */
  MT0: 3,
  IPAT: 6,
  /** Non-leaf (0) / leaf (1), also 1 for a 4 KiB leaf. */
  PS: 7,
  D: 9,
  /** Entry lock (host and guest side). */
  TDEL: 11,
  /** Host priority (with TDEL). */
  TDHP: 52,
  TDEX: 53,
  TDBW: 54,
  TDB: 55,
  TDP: 56,
  SVE: 63,
} as const;

const bit = (n: number): bigint => 1n << BigInt(n);

/**
 * State encodings (7 bits: bits 6:5 = PS:IPAT, bits 4:1 = TDP:TDB:TDBW:TDEX, bit 0 = D), for the
 * states the model reaches, plus REMOVED (the model has none: it needs an import in progress).
 * @see intel/tdx-module 1.5.01 (72d8cff) include/auto_gen/sept_state_lookup.h SEPT_STATE_*_ENCODING
 */
export const SEPT_STATE_ENCODING = {
  FREE: 0xe,
  REMOVED: 0xc,
  NL_MAPPED: 0x0,
  NL_BLOCKED: 0x8,
  MAPPED: 0x60,
  BLOCKED: 0x68,
  PENDING: 0x70,
  PENDING_BLOCKED: 0x78,
} as const;

/**
 * The entry bits of a state encoding: bit 0 to D, bits 4:1 to bits 56:53, bits 6:5 to bits 7:6.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/common/memory_handlers/sept_manager.h SEPT_STATE_ENC_TO_MASK
 */
export function septStateMask(enc: number): bigint {
  const e = BigInt(enc);
  return ((e & 1n) << BigInt(SEPT_ENTRY_BIT.D)) | (((e >> 1n) & 0xfn) << BigInt(SEPT_ENTRY_BIT.TDEX)) | (((e >> 5n) & 3n) << BigInt(SEPT_ENTRY_BIT.IPAT));
}

/** R, W and X. @see sept_manager.h SEPT_PERMISSIONS_RWX */
export const SEPT_PERMISSIONS_RWX = bit(SEPT_ENTRY_BIT.R) | bit(SEPT_ENTRY_BIT.W) | bit(SEPT_ENTRY_BIT.X);
/** Memory type write-back (6), what sept_set_leaf_no_lock_internal() and sept_unblock() set. @see x86_defs.h memory_type_t MT_WB */
export const MT_WB = 6;
/** HPA bits 51:12. @see sept_manager.h SEPT_HPA_MASK */
export const SEPT_HPA_MASK = 0x000f_ffff_ffff_f000n;

/**
 * A FREE entry with suppress-#VE set: what SEPT.ADD and ADDCX fill new SEPT pages with, and what
 * PAGE.REMOVE and SEPT.REMOVE leave behind = 0x80E0000000000000.
 * @see intel/tdx-module 1.5.01 (72d8cff) sept_manager.h SEPTE_INIT_VALUE, septe_set_free_or_removed_and_release_locks()
 */
export const SEPTE_INIT_VALUE = septStateMask(SEPT_STATE_ENCODING.FREE) | bit(SEPT_ENTRY_BIT.SVE);

/** The architectural (RCX) view of a leaf. @see sept_manager.h SEPT_ARCH_ENTRY_LEAF_MASK */
export const SEPT_ARCH_ENTRY_LEAF_MASK = SEPT_PERMISSIONS_RWX | (7n << BigInt(SEPT_ENTRY_BIT.MT0)) | SEPT_HPA_MASK | bit(SEPT_ENTRY_BIT.IPAT) | bit(SEPT_ENTRY_BIT.PS) | bit(SEPT_ENTRY_BIT.SVE);
/** The architectural (RCX) view of a non-leaf entry: RWX and PS, no HPA. @see sept_manager.h SEPT_ARCH_ENTRY_NON_LEAF_MASK */
export const SEPT_ARCH_ENTRY_NON_LEAF_MASK = SEPT_PERMISSIONS_RWX | bit(SEPT_ENTRY_BIT.PS);

/** The state encoding of a (non-FREE) model entry. */
export function septEncoding(e: SeptEntry): number {
  const E = SEPT_STATE_ENCODING;
  if (!e.leaf) {
    return e.state === SEPT_STATE.BLOCKED ? E.NL_BLOCKED : E.NL_MAPPED;
  }
  switch (e.state) {
    case SEPT_STATE.BLOCKED:
      return E.BLOCKED;
    case SEPT_STATE.PENDING:
      return E.PENDING;
    case SEPT_STATE.PENDING_BLOCKED:
      return E.PENDING_BLOCKED;
    default:
      return E.MAPPED;
  }
}

/**
 * The non-HPA bits of an entry, unlocked (TDEL and TDHP clear, as every leaf leaves them on
 * success), by how the module last wrote it:
 * - FREE: SEPTE_INIT_VALUE.
 * - Leaf MAPPED (PAGE.ADD, ACCEPT, UNBLOCK, DEMOTE's children of a mapped leaf): RWX, MT = WB,
 *   IPAT, state bits (IPAT|PS), SVE (sept_set_leaf_no_lock_internal(), sept_unblock()).
 * - Leaf PENDING (PAGE.AUG): as MAPPED without RWX, plus TDP.
 * - Leaf BLOCKED / PENDING_BLOCKED (RANGE.BLOCK): RWX cleared, TDB set (block_sept_entry()).
 * - Non-leaf NL_MAPPED (SEPT.ADD, DEMOTE, UNBLOCK): RWX, SVE, MT = 0 (sept_set_mapped_non_leaf()).
 * - Non-leaf NL_BLOCKED (RANGE.BLOCK): RWX cleared, TDB, SVE.
 * sept_update_state() sets SVE with every state change.
 */
function septeFlags(e: SeptEntry | undefined): bigint {
  if (e === undefined) {
    return SEPTE_INIT_VALUE;
  }
  const enc = septEncoding(e);
  let v = septStateMask(enc) | bit(SEPT_ENTRY_BIT.SVE);
  if (e.leaf) {
    v |= BigInt(MT_WB) << BigInt(SEPT_ENTRY_BIT.MT0);
  }
  if (enc === SEPT_STATE_ENCODING.MAPPED || enc === SEPT_STATE_ENCODING.NL_MAPPED) {
    v |= SEPT_PERMISSIONS_RWX;
  }
  return v;
}

/**
 * The 64-bit value of an entry in its SEPT page (undefined: FREE). `locked` sets TDEL, for the
 * entries a leaf leaves locked (PROMOTE's merged page).
 */
export function septeRaw(e: SeptEntry | undefined, locked = false): bigint {
  const v = septeFlags(e) | (e === undefined ? 0n : BigInt(e.pa) & SEPT_HPA_MASK);
  return locked ? v | bit(SEPT_ENTRY_BIT.TDEL) : v;
}

/**
 * The architectural view of an in-page value, as RCX reports it on SEPT errors and SEPT.RD: a
 * FREE entry is SVE alone, a leaf is masked with SEPT_ARCH_ENTRY_LEAF_MASK, a non-leaf with
 * SEPT_ARCH_ENTRY_NON_LEAF_MASK.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/common/memory_handlers/sept_manager.c
 *   set_arch_septe_details_in_vmm_regs(); sept_manager.h is_sept_free()
 */
export function septArchValue(raw: bigint): bigint {
  // SEPT_STATE_ENCODING_MASK: every bit a state encoding maps to.
  if ((raw & septStateMask(0x7f)) === septStateMask(SEPT_STATE_ENCODING.FREE)) {
    return bit(SEPT_ENTRY_BIT.SVE);
  }
  return raw & ((raw & bit(SEPT_ENTRY_BIT.PS)) !== 0n ? SEPT_ARCH_ENTRY_LEAF_MASK : SEPT_ARCH_ENTRY_NON_LEAF_MASK);
}

/** Index of the level-`level` entry for `gpa` in its SEPT page. @see sept_manager.c secure_ept_walk() get_ept_entry_idx() */
export function septeIndex(level: number, gpa: number): number {
  return Math.floor(gpa / septSpan(level)) % 512;
}

/**
 * PA of the SEPT page holding the level-`level` entry for `gpa`: the SEPT root (TDCS page 3) at
 * the root level, else the page of the parent non-leaf entry. Undefined when the walk has no
 * such page (the stores treat that as a model bug: a leaf only changes entries its walk reached).
 */
export function septPagePa(td: TdState, level: number, gpa: number): number | undefined {
  if (level >= td.septRootLevel) {
    return td.tdcx[3];
  }
  const parent = td.sept.get(level + 1, gpa);
  return parent === undefined || parent.leaf ? undefined : parent.pa;
}

/** Key of `flagWords`: the state encoding (-1: FREE) and the lock bit. */
function flagKey(e: SeptEntry | undefined, locked: boolean): number {
  return (e === undefined ? -1 : septEncoding(e)) * 2 + (locked ? 1 : 0);
}
/**
 * The flag bits of `septeFlags()` as two 32-bit halves, per state encoding and lock bit, for
 * every state the model has (the stores use these instead of BigInt arithmetic: no HPA bit
 * overlaps them, so an entry is flags + HPA split the same way).
 */
const flagWords: ReadonlyMap<number, readonly [number, number]> = new Map(
  [undefined, ...[SEPT_STATE.FREE, SEPT_STATE.BLOCKED, SEPT_STATE.PENDING, SEPT_STATE.PENDING_BLOCKED, SEPT_STATE.MAPPED].flatMap((state) => [true, false].map((leaf) => ({ state, leaf, pa: 0 })))].flatMap((e) =>
    [false, true].map((locked): [number, readonly [number, number]] => {
      const f = septeFlags(e) | (locked ? bit(SEPT_ENTRY_BIT.TDEL) : 0n);
      return [flagKey(e, locked), [Number(f & 0xffff_ffffn), Number(f >> 32n)]];
    }),
  ),
);
function flagsOf(e: SeptEntry | undefined, locked: boolean): readonly [number, number] {
  const w = flagWords.get(flagKey(e, locked));
  if (w === undefined) {
    throw new ModelBug(`septLayout: no encoding for SEPT state ${e?.state}`); // every model state is in the table
  }
  return w;
}

/** Write entry `e` (PA `pa`) little-endian at byte `at` of `view`, as `septeRaw()` encodes it. */
function putEntry(view: DataView, at: number, e: SeptEntry | undefined, pa: number, locked = false): void {
  const [lo, hi] = flagsOf(e, locked);
  const hpa = e === undefined ? 0 : pa;
  view.setUint32(at, lo + (hpa % 2 ** 32), true);
  view.setUint32(at + 4, hi + Math.floor(hpa / 2 ** 32), true);
}

/** The line of one store (a store copies what it is given, so one buffer serves every call). */
const scratchLine = new Uint8Array(64);
const scratchView = new DataView(scratchLine.buffer);

/** Writer name of the module's stores. */
const WRITER = 'tdx-module';

/**
 * Store the level-`level` entry for `gpa`, as the decoded Secure EPT now holds it, into its SEPT
 * page: a cached store through the TD's HKID on this LP. The module stores the 8-byte entry; the
 * model stores the whole 64-byte line holding it, the other 7 entries as the decoded Secure EPT
 * has them. The bytes that end up in the cache are the same (every change to an entry is
 * stored, so the line already holds those values), and a whole line that this LP holds on its
 * own is replaced in place (Platform.store), which a partial store is not. (A line a host made
 * unreadable through the TD's KeyID, e.g. by a write through another KeyID, reads back as the
 * decoded entries here rather than as zeros around the new entry; neither is poison.)
 */
export function storeSepte(env: SeamEnv, td: TdState, level: number, gpa: number): void {
  const page = septPagePa(td, level, gpa);
  if (page === undefined) {
    throw new ModelBug(`storeSepte: no SEPT page holds the level-${level} entry of GPA 0x${gpa.toString(16)}`);
  }
  const span = septSpan(level);
  const first = septeIndex(level, gpa) & ~7;
  const gpa0 = (Math.floor(gpa / span) - (septeIndex(level, gpa) - first)) * span;
  for (let i = 0; i < 8; i++) {
    putEntry(scratchView, 8 * i, undefined, 0);
  }
  for (const r of td.sept.runs(level, gpa0, gpa0 + 8 * span)) {
    const i0 = (r.gpa - gpa0) / span;
    const n = r.size / span;
    for (let k = 0; k < n; k++) {
      putEntry(scratchView, 8 * (i0 + k), r, r.pa + k * span);
    }
  }
  env.write(page + 8 * first, scratchLine, td.hkid, WRITER);
}

/**
 * Store a run of level-`level` leaf entries in one state whose pages are contiguous (the
 * decoded Secure EPT's own ranges, `SecureEpt.leafRuns()`): one cached store per SEPT page the
 * run touches. The model's guest ACCEPTs a range per operation where the module writes the same
 * entries one TDCALL at a time; the work is per entry of the run, no more than the AUGs that
 * created them.
 */
export function storeSepteRun(env: SeamEnv, td: TdState, level: number, run: { gpa: number; pa: number; size: number; state: number }): void {
  const span = septSpan(level);
  const pageSpan = span * 512;
  const end = run.gpa + run.size;
  let at = run.gpa;
  while (at < end) {
    const chunkEnd = Math.min(end, (Math.floor(at / pageSpan) + 1) * pageSpan);
    const page = septPagePa(td, level, at);
    if (page === undefined) {
      throw new ModelBug(`storeSepteRun: no SEPT page holds the level-${level} entry of GPA 0x${at.toString(16)}`);
    }
    const n = Math.ceil((chunkEnd - at) / span);
    const bytes = new Uint8Array(8 * n);
    const view = new DataView(bytes.buffer);
    const pa0 = run.pa + (at - run.gpa);
    const e = { state: run.state, leaf: true, pa: pa0 };
    for (let i = 0; i < n; i++) {
      putEntry(view, 8 * i, e, pa0 + i * span);
    }
    env.write(page + 8 * septeIndex(level, at), bytes, td.hkid, WRITER);
    at = chunkEnd;
  }
}

/**
 * The 4 KiB of a SEPT page whose 512 entries are `e` with its PA stepping by the child size
 * (DEMOTE's new page: the split entry, unblocked and unlocked, per child; PROMOTE's merged page
 * as it leaves it: the children locked). `childLevel` is the level of the 512 entries.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mem_page_demote.c
 *   sept_split_entry(); tdh_mem_page_promote.c is_sept_page_valid_for_merge()
 */
export function septPageOfRun(e: SeptEntry, childLevel: number, locked = false): Uint8Array {
  const bytes = new Uint8Array(4096);
  const view = new DataView(bytes.buffer);
  const span = septSpan(childLevel);
  for (let i = 0; i < 512; i++) {
    putEntry(view, 8 * i, e, e.pa + i * span, locked);
  }
  return bytes;
}
