/**
 * Properties of TDMR construction over random memory maps: coverage, alignment, no overlap,
 * sorted disjoint reserved areas, and the closed-form PAMT total.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { pamtPagesClosedForm, planTdmrs } from '../../src/kernel/tdx/tdmr.js';
import type { PamtAlloc, TdxMemblock } from '../../src/kernel/tdx/tdmr.js';

const SEED = Number(process.env.FC_SEED ?? 20240915);
const G = 2 ** 30;
const PAGE = 4096;

/** Sorted, disjoint memblock ranges (page granular), a few nodes. */
const memMap = fc
  .array(fc.record({ gapPages: fc.integer({ min: 0, max: 3 * 262144 }), lenPages: fc.integer({ min: 1, max: 4 * 262144 }), nid: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 24 })
  .map((parts) => {
    const out: TdxMemblock[] = [];
    let pfn = 0;
    for (const p of parts) {
      pfn += p.gapPages;
      out.push({ start_pfn: pfn, end_pfn: pfn + p.lenPages, nid: p.nid });
      pfn += p.lenPages;
    }
    return out;
  });

/** PAMTs go either far away or into the top of the map's RAM (to exercise PAMT reserved areas). */
function allocFor(map: readonly TdxMemblock[], inside: boolean): PamtAlloc {
  let far = 2 ** 47;
  const last = map[map.length - 1]!;
  let top = last.end_pfn * PAGE;
  return (pages) => {
    if (inside && top - pages * PAGE >= last.start_pfn * PAGE) {
      top -= pages * PAGE;
      return top;
    }
    const pa = far;
    far += pages * PAGE;
    return pa;
  };
}

describe(`kernel TDMR properties (seed ${SEED})`, () => {
  it(`TDMRs cover the memlist, are 1 GiB aligned and disjoint; reserved areas sorted and disjoint (seed ${SEED})`, () => {
    fc.assert(
      fc.property(memMap, fc.boolean(), (map, inside) => {
        const p = planTdmrs(map, { max_tdmrs: 64, max_reserved_per_tdmr: 16, pamt_entry_size: [16, 16, 16] }, allocFor(map, inside));
        if (!p.ok) {
          // The only allowed failures are Linux's own, with its message.
          expect(p.log.some((l) => /TDMRs exhausted\.|reserved areas exhausted\./.test(l.text))).toBe(true);
          return;
        }
        const t = p.tdmrs;
        for (let i = 0; i < t.length; i++) {
          const x = t[i]!;
          expect(x.base % G).toBe(0);
          expect(x.size % G).toBe(0);
          expect(x.size).toBeGreaterThan(0);
          if (i > 0) {
            expect(x.base).toBeGreaterThanOrEqual(t[i - 1]!.base + t[i - 1]!.size);
          }
          let prevEnd = 0;
          for (const r of x.reserved_areas) {
            expect(r.offset).toBeGreaterThanOrEqual(prevEnd);
            expect(r.offset % PAGE).toBe(0);
            expect(r.size % PAGE).toBe(0);
            expect(r.offset + r.size).toBeLessThanOrEqual(x.size);
            prevEnd = r.offset + r.size;
          }
        }
        for (const m of map) {
          const s = Math.max(m.start_pfn * PAGE, 0x100000);
          const e = m.end_pfn * PAGE;
          if (s >= e) {
            continue;
          }
          // Every byte of the range lies in some TDMR: walk TDMRs in order.
          let cur = s;
          for (const x of t) {
            if (x.base <= cur && cur < x.base + x.size) {
              cur = Math.min(e, x.base + x.size);
            }
          }
          expect(cur).toBe(e);
        }
        const pages = t.reduce((sum, x) => sum + (x.pamt_4k_size + x.pamt_2m_size + x.pamt_1g_size) / PAGE, 0);
        expect(pages).toBe(t.reduce((sum, x) => sum + pamtPagesClosedForm(x.size / G), 0));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});
