/**
 * A page allocator over the memblock memory: free ranges per NUMA node in an interval map,
 * contiguous allocations only (what TDX needs: alloc_contig_pages() for PAMTs,
 * alloc_pages_exact() for the TDMR buffer, single pages for the address array and TD pages).
 * Nothing costs O(pages): a 4 GiB PAMT is one interval operation.
 *
 * Placement is deterministic: the highest free range of the preferred node that fits, then
 * the other online nodes in order (alloc_contig_pages() with node_online_map).
 * @see linux mm/page_alloc.c alloc_contig_pages(), free_contig_range()
 */
import { assert } from '../../base/assert.js';
import { IntervalMap } from '../../base/IntervalMap.js';
import { PAGE_SIZE } from '../../base/ids.js';
import type { Memblock } from './memblock.js';

/** Fault site: every contiguous allocation may be made to fail (`pamt.alloc` for PAMTs). */
export const FAULT_PAMT_ALLOC = 'pamt.alloc';

/** The buddy allocator's observable behaviour for contiguous ranges. */
export class PageAllocator {
  /** PFN ranges → node id, for free pages only. */
  private readonly free = new IntervalMap<number>();
  /** Every managed PFN → node id (free or not). */
  private readonly nodeOf = new IntervalMap<number>();
  private readonly nodes: number[];
  private allocatedPages = 0;

  /**
   * @param memblock memory handed to the allocator
   * @param reserved PFN ranges kept back (the first MiB, the kernel image, firmware tables)
   */
  constructor(memblock: Memblock, reserved: readonly { start_pfn: number; end_pfn: number }[] = []) {
    for (const r of memblock.pfnRanges()) {
      this.free.set(r.start_pfn, r.end_pfn, r.nid);
      this.nodeOf.set(r.start_pfn, r.end_pfn, r.nid);
    }
    for (const r of reserved) {
      this.free.delete(r.start_pfn, r.end_pfn);
    }
    this.nodes = [...new Set(memblock.pfnRanges().map((r) => r.nid))].sort((a, b) => a - b);
  }

  /**
   * Allocate `nrPages` contiguous pages, preferring node `nid`, starting at a multiple of
   * `alignPages` (a power of two; the buddy allocator's order alignment, e.g. 512 for the
   * 2 MiB pages a TD maps as huge pages).
   * @returns the physical address, or undefined when no node has such a range
   */
  alloc_contig_pages(nrPages: number, nid: number, alignPages = 1): number | undefined {
    assert(Number.isSafeInteger(nrPages) && nrPages > 0, `alloc_contig_pages: bad size ${nrPages}`);
    assert(Number.isSafeInteger(alignPages) && alignPages > 0, `alloc_contig_pages: bad alignment ${alignPages}`);
    const order = [nid, ...this.nodes.filter((n) => n !== nid)];
    for (const n of order) {
      const ivs = this.free.entries();
      for (let i = ivs.length - 1; i >= 0; i--) {
        const iv = ivs[i];
        if (iv === undefined || iv.value !== n || iv.end - iv.start < nrPages) {
          continue;
        }
        const start = Math.floor((iv.end - nrPages) / alignPages) * alignPages;
        if (start < iv.start) {
          continue;
        }
        this.free.delete(start, start + nrPages);
        this.allocatedPages += nrPages;
        return start * PAGE_SIZE;
      }
    }
    return undefined;
  }

  /** Allocate whole pages for `bytes` (alloc_pages_exact / kzalloc of a page or more). */
  alloc_pages_exact(bytes: number, nid = 0): number | undefined {
    return this.alloc_contig_pages(Math.max(1, Math.ceil(bytes / PAGE_SIZE)), nid);
  }

  /** Give back a range obtained from this allocator. */
  free_contig_range(pa: number, nrPages: number): void {
    const pfn = pa / PAGE_SIZE;
    assert(Number.isSafeInteger(pfn), `free_contig_range: unaligned ${pa}`);
    assert(this.free.entries(pfn, pfn + nrPages).length === 0, `free_contig_range: double free at 0x${pa.toString(16)}`);
    for (const iv of this.nodeOf.entries(pfn, pfn + nrPages)) {
      this.free.set(iv.start, iv.end, iv.value);
    }
    this.allocatedPages -= nrPages;
  }

  /** Online a hot-added range. */
  addRange(start_pfn: number, end_pfn: number, nid: number): void {
    this.free.set(start_pfn, end_pfn, nid);
    this.nodeOf.set(start_pfn, end_pfn, nid);
    if (!this.nodes.includes(nid)) {
      this.nodes.push(nid);
      this.nodes.sort((a, b) => a - b);
    }
  }

  /** Node of a managed page (undefined: not managed here). */
  nodeOfPfn(pfn: number): number | undefined {
    return this.nodeOf.get(pfn);
  }

  /** Free pages on node `nid`. */
  freePagesOn(nid: number): number {
    return this.free.entries().filter((iv) => iv.value === nid).reduce((s, iv) => s + iv.end - iv.start, 0);
  }

  /** Pages handed out and not yet freed. */
  get allocated(): number {
    return this.allocatedPages;
  }
}
