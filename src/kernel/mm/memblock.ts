/**
 * memblock: the boot-time view of RAM. Built from the firmware e820 map ('usable' and
 * 'reserved-kern' ranges become memory, split at NUMA node boundaries) or injected directly
 * (a crash kernel boots with only the crashkernel= reservation as its memory).
 * @see linux mm/memblock.c, arch/x86/kernel/e820.c e820__memblock_setup()
 */
import { PAGE_SIZE } from '../../base/ids.js';
import type { PlatformSpec } from '../../platform/spec.js';
import type { TdxMemblock } from '../tdx/tdmr.js';

/** One memblock region. */
export interface MemblockRegion {
  readonly base: number;
  readonly size: number;
  readonly nid: number;
}

/** The memblock memory type, in ascending address order. */
export class Memblock {
  private readonly regions: MemblockRegion[];

  /** @param regions memory regions (sorted and split by node by the caller or the factory) */
  constructor(regions: readonly MemblockRegion[]) {
    this.regions = [...regions].sort((a, b) => a.base - b.base);
  }

  /** memblock.memory from the e820 map and the SRAT node ranges. */
  static fromE820(spec: PlatformSpec): Memblock {
    const ram = spec.memory.e820.filter((e) => e.type === 'usable' || e.type === 'reserved-kern');
    const out: MemblockRegion[] = [];
    for (const e of ram) {
      for (const piece of splitByNode(e.base, e.base + e.size, spec)) {
        out.push(piece);
      }
    }
    return new Memblock(mergeAdjacent(out));
  }

  /** The regions. */
  get memory(): readonly MemblockRegion[] {
    return this.regions;
  }

  /** for_each_mem_pfn_range(): whole pages only. */
  pfnRanges(): TdxMemblock[] {
    const out: TdxMemblock[] = [];
    for (const r of this.regions) {
      const start_pfn = Math.ceil(r.base / PAGE_SIZE);
      const end_pfn = Math.floor((r.base + r.size) / PAGE_SIZE);
      if (start_pfn < end_pfn) {
        out.push({ start_pfn, end_pfn, nid: r.nid });
      }
    }
    return out;
  }

  /** memblock_add_node() for hot-added memory. */
  add(base: number, size: number, nid: number): void {
    this.regions.push({ base, size, nid });
    this.regions.sort((a, b) => a.base - b.base);
  }

  /** Total bytes. */
  get totalBytes(): number {
    return this.regions.reduce((s, r) => s + r.size, 0);
  }
}

function splitByNode(start: number, end: number, spec: PlatformSpec): MemblockRegion[] {
  const nodes = [...spec.memory.nodes].sort((a, b) => a.base - b.base);
  if (nodes.length === 0) {
    return [{ base: start, size: end - start, nid: 0 }];
  }
  const out: MemblockRegion[] = [];
  let cur = start;
  for (const n of nodes) {
    const ns = Math.max(cur, n.base);
    const ne = Math.min(end, n.base + n.size);
    if (ns < ne) {
      if (ns > cur) {
        out.push({ base: cur, size: ns - cur, nid: 0 });
      }
      out.push({ base: ns, size: ne - ns, nid: n.node });
      cur = ne;
    }
  }
  if (cur < end) {
    out.push({ base: cur, size: end - cur, nid: 0 });
  }
  return out;
}

/** memblock merges adjacent regions of the same node. */
function mergeAdjacent(rs: MemblockRegion[]): MemblockRegion[] {
  const sorted = [...rs].sort((a, b) => a.base - b.base);
  const out: MemblockRegion[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && last.base + last.size === r.base && last.nid === r.nid) {
      out[out.length - 1] = { base: last.base, size: last.size + r.size, nid: r.nid };
    } else {
      out.push(r);
    }
  }
  return out;
}
