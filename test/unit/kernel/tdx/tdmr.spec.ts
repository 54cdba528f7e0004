import { describe, expect, it } from 'vitest';

import { ENOMEM, ENOSPC } from '../../../../src/kernel/errno.js';
import {
  build_tdx_memlist,
  collectLog,
  construct_tdmrs,
  consumed_tdmrs,
  fill_out_tdmrs,
  new_tdmr_list,
  pamtPagesClosedForm,
  planTdmrs,
  tdmr_get_nid,
  tdmr_pamt_bytes,
  tdmrs_count_pamt_kb,
} from '../../../../src/kernel/tdx/tdmr.js';
import type { PamtAlloc, TdxMemblock, TdxSysInfoTdmr } from '../../../../src/kernel/tdx/tdmr.js';

const G = 2 ** 30;
const M = 2 ** 20;
const SYS: TdxSysInfoTdmr = { max_tdmrs: 64, max_reserved_per_tdmr: 16, pamt_entry_size: [16, 16, 16] };
const mb = (start: number, end: number, nid = 0): TdxMemblock => ({ start_pfn: start / 4096, end_pfn: end / 4096, nid });
/** PAMTs placed far above every test map (outside all TDMRs). */
function bumpAlloc(base = 2 ** 46): PamtAlloc {
  let next = base;
  return (pages) => {
    const pa = next;
    next += pages * 4096;
    return pa;
  };
}

describe('build_tdx_memlist (spec 7.20)', () => {
  it('clips below 1 MiB and drops ranges entirely below it', () => {
    const l = build_tdx_memlist([mb(0, 0x9f000), mb(0, 2 * G), mb(4 * G, 8 * G, 1)]);
    expect(l).toEqual([mb(M, 2 * G), mb(4 * G, 8 * G, 1)]);
  });
});

describe('fill_out_tdmrs', () => {
  it('spec 7.21: three ranges, three TDMRs', () => {
    const log = collectLog();
    const list = new_tdmr_list(SYS);
    expect(fill_out_tdmrs([mb(M, 2 * G), mb(4 * G, 34 * G), mb(34 * G, 66 * G, 1)], list, log)).toBe(0);
    expect(consumed_tdmrs(list).map((t) => [t.base / G, (t.base + t.size) / G])).toEqual([
      [0, 2],
      [4, 34],
      [34, 66],
    ]);
    expect(log.lines).toEqual([]);
  });
  it('spec 7.22: two ranges in one GiB share a TDMR', () => {
    const list = new_tdmr_list(SYS);
    fill_out_tdmrs([mb(M, 256 * M), mb(512 * M, 768 * M)], list, collectLog());
    expect(consumed_tdmrs(list).map((t) => [t.base, t.size])).toEqual([[0, G]]);
  });
  it('spec 7.23: start bumped to the previous end', () => {
    const list = new_tdmr_list(SYS);
    fill_out_tdmrs([mb(M, 2 * G), mb(1.5 * G, 3.5 * G)], list, collectLog());
    expect(consumed_tdmrs(list).map((t) => [t.base / G, (t.base + t.size) / G])).toEqual([
      [0, 2],
      [2, 4],
    ]);
  });
  it('spec 7.24: TDMRs exhausted', () => {
    const log = collectLog();
    const list = new_tdmr_list({ ...SYS, max_tdmrs: 2 });
    const r = fill_out_tdmrs([mb(M, G), mb(2 * G, 3 * G), mb(4 * G, 5 * G)], list, log);
    expect(r).toBe(-ENOSPC);
    expect(log.lines).toEqual([{ level: 'warn', text: 'virt/tdx: initialization failed: TDMRs exhausted.' }]);
  });
  it('spec 7.25: warns at 61 of 64, not at 60', () => {
    const ranges = (n: number): TdxMemblock[] => Array.from({ length: n }, (_, i) => mb(i * 2 * G + (i === 0 ? M : 0), i * 2 * G + G));
    const l61 = collectLog();
    fill_out_tdmrs(ranges(61), new_tdmr_list(SYS), l61);
    expect(l61.lines.map((l) => l.text)).toEqual(['virt/tdx: consumed TDMRs reaching limit: 61 used out of 64']);
    const l60 = collectLog();
    fill_out_tdmrs(ranges(60), new_tdmr_list(SYS), l60);
    expect(l60.lines).toEqual([]);
  });
});

describe('PAMT sizing and allocation (spec 7.26)', () => {
  it('closed form 1026·N + ceil(N/256) pages', () => {
    for (const n of [1, 2, 30, 32, 64, 255, 256, 257, 1024]) {
      expect(tdmr_pamt_bytes(n * G, [16, 16, 16]) / 4096).toBe(pamtPagesClosedForm(n));
    }
  });
  it('doc example: TDMRs of 2, 30, 32 GiB take 65667 pages = 262668 KB', () => {
    const p = planTdmrs([mb(M, 2 * G), mb(4 * G, 34 * G), mb(34 * G, 66 * G, 1)], SYS, bumpAlloc());
    expect(p.ok).toBe(true);
    if (p.ok) {
      expect(p.pamtKb).toBe(262668);
      expect(p.tdmrs.reduce((s, t) => s + t.pamt_4k_size + t.pamt_2m_size + t.pamt_1g_size, 0) / 4096).toBe(65667);
    }
  });
  it('lays out 4K | 2M | 1G from one chunk on the node of the first block ending above the base', () => {
    const nodes: number[] = [];
    const alloc: PamtAlloc = (pages, nid) => {
      nodes.push(nid);
      return 2 ** 46 + nodes.length * 2 ** 36;
    };
    const p = planTdmrs([mb(M, 2 * G), mb(4 * G, 8 * G, 1)], SYS, alloc);
    expect(nodes).toEqual([0, 1]);
    expect(p.ok).toBe(true);
    const t = p.tdmrs[1]!;
    expect(t.pamt_2m_base).toBe(t.pamt_4k_base + t.pamt_4k_size);
    expect(t.pamt_1g_base).toBe(t.pamt_2m_base + t.pamt_2m_size);
    expect([t.pamt_4k_size, t.pamt_2m_size, t.pamt_1g_size]).toEqual([4 * 1024 * 4096, 8 * 4096, 4096]);
  });
  it('spec 7.31: allocation failure frees earlier PAMTs and returns -ENOMEM', () => {
    const freed: number[] = [];
    let calls = 0;
    const alloc: PamtAlloc = () => (++calls === 2 ? undefined : 2 ** 46 + calls * 2 ** 36);
    const list = new_tdmr_list(SYS);
    const tmb = build_tdx_memlist([mb(M, 2 * G), mb(4 * G, 8 * G, 1)]);
    const r = construct_tdmrs(tmb, list, SYS, alloc, (pa) => freed.push(pa), collectLog());
    expect(r).toBe(-ENOMEM);
    expect(freed).toEqual([2 ** 46 + 2 ** 36]);
    expect(tdmrs_count_pamt_kb(list)).toBe(0);
  });
});

describe('reserved areas', () => {
  it('spec 7.27/7.28: the clipped first MiB and the hole, in order', () => {
    const p = planTdmrs([mb(0, 1.5 * G), mb(1.75 * G, 3 * G)], SYS, bumpAlloc());
    expect(p.ok).toBe(true);
    expect(p.tdmrs.map((t) => [t.base, t.size])).toEqual([
      [0, 2 * G],
      [2 * G, G],
    ]);
    expect(p.tdmrs[0]!.reserved_areas).toEqual([
      { offset: 0, size: 0x100000 },
      { offset: 0x60000000, size: 0x10000000 },
    ]);
    expect(p.tdmrs[1]!.reserved_areas).toEqual([]);
  });
  it('spec 7.29: a PAMT inside a TDMR becomes a reserved area, sorted by offset', () => {
    // PAMT for a 4 GiB TDMR placed at 1 GiB inside the TDMR itself.
    const p = planTdmrs([mb(M, 4 * G)], SYS, () => G);
    expect(p.ok).toBe(true);
    const pamt = tdmr_pamt_bytes(4 * G, [16, 16, 16]);
    expect(p.tdmrs[0]!.reserved_areas).toEqual([
      { offset: 0, size: M },
      { offset: G, size: pamt },
    ]);
  });
  it('spec 7.30: reserved areas exhausted frees PAMTs', () => {
    const holes: TdxMemblock[] = [];
    for (let i = 0; i < 20; i++) {
      holes.push(mb(M + i * 8 * M, M + i * 8 * M + 4 * M));
    }
    const freed: number[] = [];
    const p = planTdmrs(holes, SYS, bumpAlloc(), (pa) => freed.push(pa));
    expect(p.ok).toBe(false);
    if (!p.ok) {
      expect(p.ret).toBe(-ENOSPC);
    }
    expect(p.log.map((l) => l.text)).toEqual(['virt/tdx: initialization failed: TDMR [0x0, 0x40000000): reserved areas exhausted.']);
    expect(freed).toEqual([2 ** 46]);
  });
  it('tdmr_get_nid falls back to node 0 with a warning', () => {
    const log = collectLog();
    const t = { base: 8 * G, size: G, pamt_1g_base: 0, pamt_1g_size: 0, pamt_2m_base: 0, pamt_2m_size: 0, pamt_4k_base: 0, pamt_4k_size: 0, reserved_areas: [], pamt_nid: 0 };
    expect(tdmr_get_nid(t, [mb(M, G, 3)], log)).toBe(0);
    expect(tdmr_get_nid(t, [mb(M, G, 3), mb(8 * G, 9 * G, 2)], log)).toBe(2);
    expect(log.lines.map((l) => l.text)).toEqual([
      'virt/tdx: TDMR [0x200000000, 0x240000000): unable to find local NUMA node for PAMT allocation, fallback to use node 0.',
    ]);
});
});
