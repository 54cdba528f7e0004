/**
 * The pure core of TDMR construction: which 1 GiB-aligned TD Memory Regions cover the TDX
 * memory list, how big each TDMR's PAMT is and where it goes, and which parts of each TDMR
 * are reserved (holes between memory ranges, and PAMTs that happen to live inside a TDMR).
 *
 * Nothing here touches a CPU or simulated memory: the caller passes the memory list, the
 * module's limits, a PAMT allocator and a log sink, and gets the layout or a negative errno
 * with the same dmesg lines Linux prints. `tdxsim plan` calls these without a scheduler; the
 * kernel model calls them from init_tdx_module().
 *
 * Identifiers follow Linux so that one grep finds the same function in both trees.
 * @see linux arch/x86/virt/vmx/tdx/tdx.c construct_tdmrs() and the helpers it calls (v6.18)
 */
import { PAGE_SIZE } from '../../base/ids.js';
import type { Logger } from '../../base/dmesg.js';
import { EINVAL, ENOMEM, ENOSPC } from '../errno.js';
import type { KernelStatus } from '../errno.js';
import {
  TDMR_ALIGNMENT,
  TDMR_INFO_ALIGNMENT,
  TDMR_INFO_HEADER_SIZE,
  TDMR_NR_WARN,
  TDMR_RSVD_AREA_SIZE,
  TDX_PAMT_FALLBACK_NID,
  TDX_PS_NR,
} from './defs.js';

/** One entry of the TDX memory list: a memblock range (PFNs, end exclusive) and its node. */
export interface TdxMemblock {
  readonly start_pfn: number;
  readonly end_pfn: number;
  readonly nid: number;
}

/** A physical range [start, end) in bytes. */
export interface PhysRange {
  readonly start: number;
  readonly end: number;
}

/** The module limits construct_tdmrs() needs (struct tdx_sys_info_tdmr). */
export interface TdxSysInfoTdmr {
  readonly max_tdmrs: number;
  readonly max_reserved_per_tdmr: number;
  /** Entry size per page size: [4K, 2M, 1G]. Pre-6.8 modules report one size for all. */
  readonly pamt_entry_size: readonly [number, number, number];
}

/** struct tdmr_reserved_area: offset from the TDMR base, and size. */
export interface TdmrReservedArea {
  offset: number;
  size: number;
}

/** struct tdmr_info (the kernel's copy; config_tdx_module() serialises it). */
export interface TdmrInfo {
  base: number;
  size: number;
  pamt_1g_base: number;
  pamt_1g_size: number;
  pamt_2m_base: number;
  pamt_2m_size: number;
  pamt_4k_base: number;
  pamt_4k_size: number;
  /** Used entries only (Linux keeps max_reserved_per_tdmr slots, the tail zeroed). */
  reserved_areas: TdmrReservedArea[];
  /** NUMA node the PAMT was requested from (bookkeeping for reports). */
  pamt_nid: number;
}

/** struct tdmr_info_list. */
export interface TdmrInfoList {
  tdmrs: TdmrInfo[];
  nr_consumed_tdmrs: number;
  /** Bytes per TDMR_INFO in the shared buffer: ALIGN(64 + 16·max_reserved, 512). */
  tdmr_sz: number;
  max_tdmrs: number;
}

/**
 * Allocates `nrPages` physically contiguous pages, preferring node `nid` (alloc_contig_pages
 * with node_online_map): returns the physical address, or undefined on failure.
 */
export type PamtAlloc = (nrPages: number, nid: number) => number | undefined;
/** Frees a contiguous range obtained from a PamtAlloc (free_contig_range). */
export type PamtFree = (pa: number, nrPages: number) => void;

/** The log levels these functions use (a base Logger fits). */
export type TdmrLog = Pick<Logger, 'warn' | 'err' | 'info'>;

/** TDMR end address. @see linux tdmr_end() */
export function tdmr_end(tdmr: TdmrInfo): number {
  return tdmr.base + tdmr.size;
}

/** Hex as Linux's `0x%llx`. */
function hx(n: number): string {
  return `0x${n.toString(16)}`;
}

/** An empty TDMR slot. */
function emptyTdmr(): TdmrInfo {
  return {
    base: 0,
    size: 0,
    pamt_1g_base: 0,
    pamt_1g_size: 0,
    pamt_2m_base: 0,
    pamt_2m_size: 0,
    pamt_4k_base: 0,
    pamt_4k_size: 0,
    reserved_areas: [],
    pamt_nid: 0,
  };
}

/**
 * Bytes of one TDMR_INFO in the kernel's buffer: the header plus every reserved-area slot,
 * rounded up to the 512-byte alignment the module demands of each entry.
 * @see linux alloc_tdmr_list()
 */
export function tdmr_info_size(max_reserved_per_tdmr: number): number {
  const raw = TDMR_INFO_HEADER_SIZE + TDMR_RSVD_AREA_SIZE * max_reserved_per_tdmr;
  return Math.ceil(raw / TDMR_INFO_ALIGNMENT) * TDMR_INFO_ALIGNMENT;
}

/**
 * A zeroed TDMR list sized for the module's limits (the buffer itself is the caller's:
 * the kernel allocates `tdmr_sz * max_tdmrs` bytes for it).
 * @see linux alloc_tdmr_list()
 */
export function new_tdmr_list(sysinfo: TdxSysInfoTdmr): TdmrInfoList {
  return {
    tdmrs: [],
    nr_consumed_tdmrs: 0,
    tdmr_sz: tdmr_info_size(sysinfo.max_reserved_per_tdmr),
    max_tdmrs: sysinfo.max_tdmrs,
  };
}

function tdmr_entry(list: TdmrInfoList, idx: number): TdmrInfo {
  let t = list.tdmrs[idx];
  if (t === undefined) {
    t = emptyTdmr();
    list.tdmrs[idx] = t;
  }
  return t;
}

/**
 * Clip the memblock ranges to the TDX memory list: everything below 1 MiB is dropped (the
 * kernel never hands the first megabyte to the page allocator, and the TDX module may not be
 * able to use it), ranges that end up empty are skipped.
 * @param ranges memblock memory in ascending order
 * @see linux build_tdx_memlist()
 */
export function build_tdx_memlist(ranges: readonly TdxMemblock[]): TdxMemblock[] {
  const out: TdxMemblock[] = [];
  const firstUsablePfn = 0x100000 / PAGE_SIZE;
  for (const r of ranges) {
    const start_pfn = Math.max(r.start_pfn, firstUsablePfn);
    if (start_pfn >= r.end_pfn) {
      continue;
    }
    out.push({ start_pfn, end_pfn: r.end_pfn, nid: r.nid });
  }
  return out;
}

/**
 * Cover the memory list with as few 1 GiB-aligned TDMRs as the simple rule gives: one TDMR per
 * memory range, rounded out to 1 GiB, starting where the previous TDMR ended if the rounded
 * ranges would overlap. This may waste TDMRs on sparse maps; Linux accepts that for
 * simplicity and only warns when few are left.
 * @returns 0 or -ENOSPC ("TDMRs exhausted")
 * @see linux fill_out_tdmrs()
 */
export function fill_out_tdmrs(tmb_list: readonly TdxMemblock[], tdmr_list: TdmrInfoList, log: TdmrLog): KernelStatus {
  let tdmr_idx = 0;
  for (const tmb of tmb_list) {
    let tdmr = tdmr_entry(tdmr_list, tdmr_idx);
    let start = alignDownG(tmb.start_pfn * PAGE_SIZE);
    const end = alignUpG(tmb.end_pfn * PAGE_SIZE);
    // A non-empty slot means this memory block starts a new TDMR, unless the slot already
    // reaches past it (several blocks inside one GiB share a TDMR).
    if (tdmr.size !== 0) {
      if (end <= tdmr_end(tdmr)) {
        continue;
      }
      if (start < tdmr_end(tdmr)) {
        start = tdmr_end(tdmr);
      }
      tdmr_idx++;
      if (tdmr_idx >= tdmr_list.max_tdmrs) {
        log.warn('initialization failed: TDMRs exhausted.');
        return -ENOSPC;
      }
      tdmr = tdmr_entry(tdmr_list, tdmr_idx);
    }
    tdmr.base = start;
    tdmr.size = end - start;
  }
  tdmr_list.nr_consumed_tdmrs = tdmr_idx + 1;
  // Warn early so that an admin sees trouble coming before memory hot-add breaks it.
  if (tdmr_list.max_tdmrs - tdmr_list.nr_consumed_tdmrs < TDMR_NR_WARN) {
    log.warn(`consumed TDMRs reaching limit: ${tdmr_list.nr_consumed_tdmrs} used out of ${tdmr_list.max_tdmrs}`);
  }
  return 0;
}

function alignDownG(v: number): number {
  return v - (v % TDMR_ALIGNMENT);
}
function alignUpG(v: number): number {
  const r = v % TDMR_ALIGNMENT;
  return r === 0 ? v : v + (TDMR_ALIGNMENT - r);
}

/**
 * Bytes of the PAMT for one page size: one entry per page of that size in the TDMR, rounded
 * up to whole pages.
 * @param pgsz TDX_PS_4K, TDX_PS_2M or TDX_PS_1G
 * @see linux tdmr_get_pamt_sz()
 */
export function tdmr_get_pamt_sz(tdmr: Pick<TdmrInfo, 'size'>, pgsz: number, pamt_entry_size: number): number {
  const shift = 12 + 9 * pgsz;
  const entries = Math.floor(tdmr.size / 2 ** shift);
  const bytes = entries * pamt_entry_size;
  return Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
}

/**
 * Total PAMT bytes of one TDMR (all three page sizes).
 * @see linux tdmr_get_pamt_sz(), tdmr_set_up_pamt()
 */
export function tdmr_pamt_bytes(size: number, pamt_entry_size: readonly [number, number, number]): number {
  let total = 0;
  for (let pgsz = 0; pgsz < TDX_PS_NR; pgsz++) {
    total += tdmr_get_pamt_sz({ size }, pgsz, pamt_entry_size[pgsz] ?? 0);
  }
  return total;
}

/**
 * The node to allocate a TDMR's PAMT from: that of the first memory block ending above the
 * TDMR base (the TDMR's "own" memory). Falls back to node 0 with a warning.
 * @see linux tdmr_get_nid()
 */
export function tdmr_get_nid(tdmr: TdmrInfo, tmb_list: readonly TdxMemblock[], log: TdmrLog): number {
  const basePfn = Math.floor(tdmr.base / PAGE_SIZE);
  for (const tmb of tmb_list) {
    if (tmb.end_pfn > basePfn) {
      return tmb.nid;
    }
  }
  log.warn(`TDMR [${hx(tdmr.base)}, ${hx(tdmr_end(tdmr))}): unable to find local NUMA node for PAMT allocation, fallback to use node 0.`);
  return TDX_PAMT_FALLBACK_NID;
}

/**
 * Allocate one TDMR's PAMT as a single contiguous chunk and lay it out 4K | 2M | 1G. (The
 * structure lists the bases 1G, 2M, 4K; only the allocation order is 4K first.)
 * @returns 0 or -ENOMEM
 * @see linux tdmr_set_up_pamt()
 */
export function tdmr_set_up_pamt(
  tdmr: TdmrInfo,
  tmb_list: readonly TdxMemblock[],
  pamt_entry_size: readonly [number, number, number],
  alloc: PamtAlloc,
  log: TdmrLog,
): KernelStatus {
  const nid = tdmr_get_nid(tdmr, tmb_list, log);
  const pamt_size: number[] = [];
  let tdmr_pamt_size = 0;
  for (let pgsz = 0; pgsz < TDX_PS_NR; pgsz++) {
    const sz = tdmr_get_pamt_sz(tdmr, pgsz, pamt_entry_size[pgsz] ?? 0);
    pamt_size.push(sz);
    tdmr_pamt_size += sz;
  }
  const pamt = alloc(tdmr_pamt_size / PAGE_SIZE, nid);
  if (pamt === undefined) {
    return -ENOMEM;
  }
  const [sz4k = 0, sz2m = 0, sz1g = 0] = pamt_size;
  tdmr.pamt_4k_base = pamt;
  tdmr.pamt_4k_size = sz4k;
  tdmr.pamt_2m_base = pamt + sz4k;
  tdmr.pamt_2m_size = sz2m;
  tdmr.pamt_1g_base = pamt + sz4k + sz2m;
  tdmr.pamt_1g_size = sz1g;
  tdmr.pamt_nid = nid;
  return 0;
}

/**
 * The whole PAMT chunk of a TDMR: [pamt_4k_base, +all three sizes). Zero size if none yet.
 * @see linux tdmr_get_pamt()
 */
export function tdmr_get_pamt(tdmr: TdmrInfo): { pamt_base: number; pamt_size: number } {
  return { pamt_base: tdmr.pamt_4k_base, pamt_size: tdmr.pamt_4k_size + tdmr.pamt_2m_size + tdmr.pamt_1g_size };
}

/**
 * Free every TDMR's PAMT chunk and forget it.
 * @see linux tdmrs_free_pamt_all()
 */
export function tdmrs_free_pamt_all(tdmr_list: TdmrInfoList, free: PamtFree): void {
  for (let i = 0; i < tdmr_list.nr_consumed_tdmrs; i++) {
    const tdmr = tdmr_entry(tdmr_list, i);
    const { pamt_base, pamt_size } = tdmr_get_pamt(tdmr);
    if (pamt_size === 0) {
      continue;
    }
    free(pamt_base, pamt_size / PAGE_SIZE);
    tdmr.pamt_4k_base = tdmr.pamt_2m_base = tdmr.pamt_1g_base = 0;
    tdmr.pamt_4k_size = tdmr.pamt_2m_size = tdmr.pamt_1g_size = 0;
  }
}

/**
 * Allocate PAMTs for all consumed TDMRs in index order; on the first failure free the ones
 * already allocated.
 * @see linux tdmrs_set_up_pamt_all()
 */
export function tdmrs_set_up_pamt_all(
  tdmr_list: TdmrInfoList,
  tmb_list: readonly TdxMemblock[],
  pamt_entry_size: readonly [number, number, number],
  alloc: PamtAlloc,
  free: PamtFree,
  log: TdmrLog,
): KernelStatus {
  for (let i = 0; i < tdmr_list.nr_consumed_tdmrs; i++) {
    const ret = tdmr_set_up_pamt(tdmr_entry(tdmr_list, i), tmb_list, pamt_entry_size, alloc, log);
    if (ret !== 0) {
      tdmrs_free_pamt_all(tdmr_list, free);
      return ret;
    }
  }
  return 0;
}

/**
 * Sum of all PAMT bytes, in KiB (the success line's number).
 * @see linux tdmrs_count_pamt_kb()
 */
export function tdmrs_count_pamt_kb(tdmr_list: TdmrInfoList): number {
  let bytes = 0;
  for (let i = 0; i < tdmr_list.nr_consumed_tdmrs; i++) {
    bytes += tdmr_get_pamt(tdmr_entry(tdmr_list, i)).pamt_size;
  }
  return Math.floor(bytes / 1024);
}

/** Pages counterpart of tdmrs_count_pamt_kb() (the 2022 drafts printed pages). */
export function tdmrs_count_pamt_pages(tdmr_list: TdmrInfoList): number {
  let bytes = 0;
  for (let i = 0; i < tdmr_list.nr_consumed_tdmrs; i++) {
    bytes += tdmr_get_pamt(tdmr_entry(tdmr_list, i)).pamt_size;
  }
  return bytes / PAGE_SIZE;
}

/**
 * Append one reserved area to a TDMR (no merging with its neighbours).
 * @returns 0, -EINVAL for a misaligned area (a WARN in Linux), or -ENOSPC
 *          ("reserved areas exhausted")
 * @see linux tdmr_add_rsvd_area()
 */
export function tdmr_add_rsvd_area(tdmr: TdmrInfo, addr: number, size: number, max_reserved_per_tdmr: number, log: TdmrLog): KernelStatus {
  if (addr % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0) {
    log.warn(`WARNING: reserved area [${hx(addr)}, ${hx(addr + size)}) not page aligned`);
    return -EINVAL;
  }
  if (tdmr.reserved_areas.length >= max_reserved_per_tdmr) {
    log.warn(`initialization failed: TDMR [${hx(tdmr.base)}, ${hx(tdmr_end(tdmr))}): reserved areas exhausted.`);
    return -ENOSPC;
  }
  tdmr.reserved_areas.push({ offset: addr - tdmr.base, size });
  return 0;
}

/**
 * Reserve the parts of a TDMR that no memory range covers. `ranges` is the TDX memory list in
 * Linux; ubuntu-6.8-intel passes the CMRs instead.
 * @see linux tdmr_populate_rsvd_holes()
 */
export function tdmr_populate_rsvd_holes(tdmr: TdmrInfo, ranges: readonly PhysRange[], max_reserved_per_tdmr: number, log: TdmrLog): KernelStatus {
  let prev_end = tdmr.base;
  for (const r of ranges) {
    if (r.start >= tdmr_end(tdmr)) {
      break;
    }
    if (r.end < tdmr.base) {
      continue;
    }
    // Touching or overlapping the previous range: no hole in between.
    if (r.start <= prev_end) {
      prev_end = r.end;
      continue;
    }
    const ret = tdmr_add_rsvd_area(tdmr, prev_end, r.start - prev_end, max_reserved_per_tdmr, log);
    if (ret !== 0) {
      return ret;
    }
    prev_end = r.end;
  }
  if (prev_end < tdmr_end(tdmr)) {
    return tdmr_add_rsvd_area(tdmr, prev_end, tdmr_end(tdmr) - prev_end, max_reserved_per_tdmr, log);
  }
  return 0;
}

/**
 * Reserve every PAMT chunk (of any TDMR, this one included) that falls inside this TDMR,
 * clipped to it: the module must not treat its own metadata as convertible memory.
 * @see linux tdmr_populate_rsvd_pamts()
 */
export function tdmr_populate_rsvd_pamts(tdmr_list: TdmrInfoList, tdmr: TdmrInfo, max_reserved_per_tdmr: number, log: TdmrLog): KernelStatus {
  for (let i = 0; i < tdmr_list.nr_consumed_tdmrs; i++) {
    const tmp = tdmr_entry(tdmr_list, i);
    const { pamt_base, pamt_size } = tdmr_get_pamt(tmp);
    if (pamt_size === 0) {
      continue;
    }
    let base = pamt_base;
    let end = pamt_base + pamt_size;
    if (end <= tdmr.base || base >= tdmr_end(tdmr)) {
      continue;
    }
    base = Math.max(base, tdmr.base);
    end = Math.min(end, tdmr_end(tdmr));
    const ret = tdmr_add_rsvd_area(tdmr, base, end - base, max_reserved_per_tdmr, log);
    if (ret !== 0) {
      return ret;
    }
  }
  return 0;
}

/**
 * Order reserved areas by offset, as the module requires. Holes and PAMTs cannot overlap
 * (PAMTs live in RAM, holes are not RAM); an overlap would be a kernel bug, reported with a
 * WARN like rsvd_area_cmp_func().
 * @see linux rsvd_area_cmp_func()
 */
export function sort_rsvd_areas(tdmr: TdmrInfo, log: TdmrLog): void {
  tdmr.reserved_areas.sort((a, b) => a.offset - b.offset);
  const areas = tdmr.reserved_areas;
  for (let j = 1; j < areas.length; j++) {
    const p = areas[j - 1] as TdmrReservedArea;
    const c = areas[j] as TdmrReservedArea;
    if (p.offset + p.size > c.offset) {
      log.warn(`WARNING: overlapping reserved areas in TDMR [${hx(tdmr.base)}, ${hx(tdmr_end(tdmr))})`);
    }
  }
}

/**
 * Fill one TDMR's reserved areas: holes first, then PAMTs, then sort.
 * @see linux tdmr_populate_rsvd_areas()
 */
export function tdmr_populate_rsvd_areas(
  tdmr: TdmrInfo,
  holeRanges: readonly PhysRange[],
  tdmr_list: TdmrInfoList,
  max_reserved_per_tdmr: number,
  log: TdmrLog,
): KernelStatus {
  let ret = tdmr_populate_rsvd_holes(tdmr, holeRanges, max_reserved_per_tdmr, log);
  if (ret !== 0) {
    return ret;
  }
  ret = tdmr_populate_rsvd_pamts(tdmr_list, tdmr, max_reserved_per_tdmr, log);
  if (ret !== 0) {
    return ret;
  }
  sort_rsvd_areas(tdmr, log);
  return 0;
}

/**
 * Populate reserved areas of every consumed TDMR.
 * @see linux tdmrs_populate_rsvd_areas_all()
 */
export function tdmrs_populate_rsvd_areas_all(
  tdmr_list: TdmrInfoList,
  holeRanges: readonly PhysRange[],
  max_reserved_per_tdmr: number,
  log: TdmrLog,
): KernelStatus {
  for (let i = 0; i < tdmr_list.nr_consumed_tdmrs; i++) {
    const ret = tdmr_populate_rsvd_areas(tdmr_entry(tdmr_list, i), holeRanges, tdmr_list, max_reserved_per_tdmr, log);
    if (ret !== 0) {
      return ret;
    }
  }
  return 0;
}

/** The memory list as byte ranges (the default hole source). */
export function memlist_ranges(tmb_list: readonly TdxMemblock[]): PhysRange[] {
  return tmb_list.map((t) => ({ start: t.start_pfn * PAGE_SIZE, end: t.end_pfn * PAGE_SIZE }));
}

/**
 * Build the TDMRs that cover the memory list: fill them out, allocate their PAMTs, then
 * populate reserved areas. On a reserved-area failure the PAMTs are freed here.
 * @param holeRanges where holes are computed from (defaults to the memory list)
 * @returns 0, -ENOSPC or -ENOMEM; `tdmr_list` holds the layout on success
 * @see linux construct_tdmrs()
 */
export function construct_tdmrs(
  tmb_list: readonly TdxMemblock[],
  tdmr_list: TdmrInfoList,
  sysinfo: TdxSysInfoTdmr,
  alloc: PamtAlloc,
  free: PamtFree,
  log: TdmrLog,
  holeRanges: readonly PhysRange[] = memlist_ranges(tmb_list),
): KernelStatus {
  let ret = fill_out_tdmrs(tmb_list, tdmr_list, log);
  if (ret !== 0) {
    return ret;
  }
  ret = tdmrs_set_up_pamt_all(tdmr_list, tmb_list, sysinfo.pamt_entry_size, alloc, free, log);
  if (ret !== 0) {
    return ret;
  }
  ret = tdmrs_populate_rsvd_areas_all(tdmr_list, holeRanges, sysinfo.max_reserved_per_tdmr, log);
  if (ret !== 0) {
    tdmrs_free_pamt_all(tdmr_list, free);
  }
  return ret;
}

/** The consumed TDMRs (the part of the list the module is told about). */
export function consumed_tdmrs(tdmr_list: TdmrInfoList): TdmrInfo[] {
  return tdmr_list.tdmrs.slice(0, tdmr_list.nr_consumed_tdmrs);
}

/**
 * Closed form of the PAMT size of an N GiB TDMR with 16-byte entries, in pages:
 * 1024·N (4K) + 2·N (2M) + ceil(N/256) (1G).
 */
export function pamtPagesClosedForm(nGiB: number): number {
  return 1026 * nGiB + Math.ceil(nGiB / 256);
}

/** A log sink that records lines (for plan tools and tests). */
export interface CollectedLog extends TdmrLog {
  readonly lines: { level: 'err' | 'warn' | 'info'; text: string }[];
}

/** A TdmrLog that records what it is told, with the `virt/tdx: ` prefix Linux adds. */
export function collectLog(prefix = 'virt/tdx: '): CollectedLog {
  const lines: { level: 'err' | 'warn' | 'info'; text: string }[] = [];
  return {
    lines,
    err: (t) => lines.push({ level: 'err', text: prefix + t }),
    warn: (t) => lines.push({ level: 'warn', text: prefix + t }),
    info: (t) => lines.push({ level: 'info', text: prefix + t }),
  };
}

/** Result of planTdmrs(). */
export type TdmrPlan =
  | { readonly ok: true; readonly tdmrs: TdmrInfo[]; readonly pamtKb: number; readonly log: CollectedLog['lines'] }
  | { readonly ok: false; readonly ret: KernelStatus; readonly tdmrs: TdmrInfo[]; readonly log: CollectedLog['lines'] };

/**
 * One-call planner for tools without a kernel: memblock ranges in, layout (or Linux's
 * failure and message) out. PAMTs come from `alloc`; on failure they are freed via `free`.
 */
export function planTdmrs(
  memblock: readonly TdxMemblock[],
  sysinfo: TdxSysInfoTdmr,
  alloc: PamtAlloc,
  free: PamtFree = () => undefined,
  holeRanges?: readonly PhysRange[],
  prefix = 'virt/tdx: ',
): TdmrPlan {
  const log = collectLog(prefix);
  const tmb = build_tdx_memlist(memblock);
  const list = new_tdmr_list(sysinfo);
  const ret = construct_tdmrs(tmb, list, sysinfo, alloc, free, log, holeRanges ?? memlist_ranges(tmb));
  if (ret !== 0) {
    return { ok: false, ret, tdmrs: consumed_tdmrs(list), log: log.lines };
  }
  return { ok: true, tdmrs: consumed_tdmrs(list), pamtKb: tdmrs_count_pamt_kb(list), log: log.lines };
}
