/**
 * Properties of the operator tools: plans of random memory maps (closed-form PAMT total,
 * alignment, coverage, reserved areas), a dmesg round trip giving the same plan, and parsers
 * that never throw on arbitrary input (the tools only ever throw TdxsimError).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { diagnose } from '../../src/tools/diagnose.js';
import { isTdxsimError } from '../../src/api/errors.js';
import { explain } from '../../src/tools/explain.js';
import { parseDmesg } from '../../src/tools/parse/dmesg.js';
import { parseIomem } from '../../src/tools/parse/iomem.js';
import { jsonErrorOffset } from '../../src/api/parse/json.js';
import { parseLeafArg, parseStatusArg } from '../../src/tools/parse/status.js';
import { PlanAllocator, plan, planSpec } from '../../src/tools/plan.js';
import { Memblock } from '../../src/kernel/mm/memblock.js';
import { PageAllocator } from '../../src/kernel/mm/page_alloc.js';
import { parsePlatformSpec } from '../../src/platform/spec.js';
import type { PlatformSpec, PlatformSpecInput } from '../../src/platform/spec.js';

const SEED = Number(process.env.FC_SEED ?? 20250304);
const G = 2 ** 30;
const M = 2 ** 20;

/** Sorted, disjoint RAM ranges (MiB granular, starting at 1 MiB) on a few nodes. */
const ramMap = fc
  .array(fc.record({ gapMiB: fc.integer({ min: 0, max: 3 * 1024 }), lenMiB: fc.integer({ min: 1, max: 5 * 1024 }), node: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 20 })
  .map((parts) => {
    const out: { base: number; end: number; node: number }[] = [];
    let at = M;
    for (const p of parts) {
      at += p.gapMiB * M;
      out.push({ base: at, end: at + p.lenMiB * M, node: p.node });
      at += p.lenMiB * M;
    }
    return out;
  });

function specOf(ram: readonly { base: number; end: number; node: number }[]): PlatformSpec {
  const top = ram[ram.length - 1]!.end;
  const fw = Math.ceil(top / G) * G;
  const input: PlatformSpecInput = {
    name: 'prop',
    cpuModel: 'granite-rapids',
    topology: { packages: 1, coresPerPackage: 1, threadsPerCore: 2 },
    memory: { e820: ram.map((r) => ({ base: r.base, size: r.end - r.base, type: 'usable' as const })), nodes: ram.map((r) => ({ node: r.node, base: r.base, size: r.end - r.base })) },
    cmrs: [{ base: 0, size: fw }],
    seamrr: { base: fw, size: 0x2000000, enabled: true, locked: true },
    smrr: { base: 0, size: 0, valid: false, locked: false },
    keyids: { bits: 6, mktme: 15, tdx: 48 },
  };
  const r = parsePlatformSpec(input);
  if (!r.ok) {
    throw new Error(JSON.stringify(r.problems));
  }
  return r.spec;
}

function dmesgOf(ram: readonly { base: number; end: number; node: number }[]): string {
  const h = (n: number): string => `0x${n.toString(16).padStart(16, '0')}`;
  return [
    '[    0.000000] Linux version 6.18.0 (prop)',
    '[    0.000000] Early memory node ranges',
    ...ram.map((r) => `[    0.000000]   node ${String(r.node).padStart(3)}: [mem ${h(r.base)}-${h(r.end - 1)}]`),
    '[    0.000000] virt/tdx: BIOS enabled: private KeyID range [16, 64)',
    '',
  ].join('\n');
}

describe(`plan properties (seed ${SEED})`, () => {
  it('the PAMT total equals the closed form 1026·N + ceil(N/256) per N-GiB TDMR; TDMRs aligned, disjoint, covering', () => {
    fc.assert(
      fc.property(ramMap, (ram) => {
        const p = planSpec(specOf(ram), 'linux-6.18', '1.5.06', 1 << 12, 1 << 12);
        expect(p.outcome).toBe('ok');
        let closed = 0;
        let prevEnd = 0;
        for (const t of p.tdmrs) {
          const base = Number(t.base);
          const size = Number(t.size);
          expect(base % G).toBe(0);
          expect(size % G).toBe(0);
          expect(base).toBeGreaterThanOrEqual(prevEnd);
          prevEnd = base + size;
          const n = size / G;
          closed += 1026 * n + Math.ceil(n / 256);
          expect(t.pamt?.pages).toBe(1026 * n + Math.ceil(n / 256));
          let last = -1;
          for (const r of t.reserved) {
            const off = Number(r.offset);
            expect(off).toBeGreaterThan(last);
            expect(off + Number(r.size)).toBeLessThanOrEqual(size);
            last = off + Number(r.size) - 1;
          }
        }
        expect(p.pamtPages).toBe(closed);
        expect(p.pamtKb).toBe(closed * 4);
        // Every byte of RAM above 1 MiB lies in some TDMR.
        for (const r of ram) {
          expect(p.tdmrs.some((t) => Number(t.base) <= r.base && r.base < Number(t.base) + Number(t.size))).toBe(true);
          expect(p.tdmrs.some((t) => Number(t.base) < r.end && r.end <= Number(t.base) + Number(t.size))).toBe(true);
        }
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  it('with the module limits, a plan fails only the way Linux does, with its message', () => {
    fc.assert(
      fc.property(ramMap, fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 6 }), (ram, maxTdmrs, maxReserved) => {
        const p = planSpec(specOf(ram), 'ubuntu-6.8-intel', '1.5.01', maxTdmrs, maxReserved);
        if (p.outcome === 'ok') {
          expect(p.headroom.tdmrs.used).toBeLessThanOrEqual(maxTdmrs);
          expect(p.headroom.reservedAreas.used).toBeLessThanOrEqual(maxReserved);
          expect(p.dmesg.at(-1)).toBe('virt/tdx: module initialized');
          return;
        }
        expect(['tdmrs-exhausted', 'reserved-areas-exhausted']).toContain(p.failure?.reason);
        expect(p.dmesg.at(-1)).toBe('virt/tdx: module initialization failed (-28)');
        expect(p.headroom.tdmrs.needed > maxTdmrs || p.headroom.reservedAreas.needed > maxReserved).toBe(true);
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  it('a dmesg of the same memory plans exactly like the platform description', () => {
    fc.assert(
      fc.property(ramMap, (ram) => {
        const a = plan({ text: dmesgOf(ram), maxTdmrs: 1 << 12, maxReserved: 1 << 12 });
        const b = planSpec(specOf(ram), 'linux-6.18', undefined, 1 << 12, 1 << 12);
        expect(a.source.kind).toBe('node-ranges');
        expect(a.tdmrs.map((t) => [t.base, t.size, t.reserved.length])).toEqual(b.tdmrs.map((t) => [t.base, t.size, t.reserved.length]));
        expect(a.pamtKb).toBe(b.pamtKb);
      }),
      { seed: SEED, numRuns: 60 },
    );
  });
});

describe(`plan's allocator mirrors the kernel model's page allocator (seed ${SEED})`, () => {
  it('same addresses for random maps, reservations and alloc/free sequences', () => {
    const ops = fc.array(fc.oneof(fc.record({ op: fc.constant('alloc' as const), pages: fc.integer({ min: 1, max: 300_000 }), nid: fc.integer({ min: 0, max: 4 }) }), fc.record({ op: fc.constant('free' as const), which: fc.nat() })), { maxLength: 40 });
    fc.assert(
      fc.property(ramMap, ops, fc.boolean(), (ram, seq, reserve) => {
        const mb = new Memblock(ram.map((r) => ({ base: r.base, size: r.end - r.base, nid: r.node })));
        const reserved = reserve ? [{ start_pfn: 0, end_pfn: 0x100 }, { start_pfn: 0x1000, end_pfn: 0x5000 }] : [];
        const kernel = new PageAllocator(mb, reserved);
        const mine = new PlanAllocator(mb.pfnRanges(), reserved);
        const live: { pa: number; pages: number }[] = [];
        for (const o of seq) {
          if (o.op === 'alloc') {
            const a = kernel.alloc_contig_pages(o.pages, o.nid);
            const b = mine.alloc_contig_pages(o.pages, o.nid);
            expect(b).toBe(a);
            if (a !== undefined) {
              live.push({ pa: a, pages: o.pages });
            }
          } else if (live.length > 0) {
            const [x] = live.splice(o.which % live.length, 1);
            kernel.free_contig_range(x!.pa, x!.pages);
            mine.free_contig_range(x!.pa, x!.pages);
          }
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

/** Lines that look like the relevant ones, with random damage. */
const dmesgish = fc.array(
  fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom('BIOS-e820: [mem ', 'virt/tdx: ', 'tdx: ', '  node   0: [mem 0x', 'Early memory node ranges', 'SEAMCALL (0x', 'CMR: [0x', 'kvm_intel: tdx: ', '[    0.000000] ', 'Linux version 6.').chain((p) => fc.string({ maxLength: 60 }).map((s) => p + s)),
    fc.tuple(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })).map(([a, b]) => `BIOS-e820: [mem 0x${a.toString(16)}-0x${b.toString(16)}] usable`),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((s) => `virt/tdx: SEAMCALL (0x0000000000000022) failed: 0x${s.toString(16)}`),
  ),
  { maxLength: 30 },
);

function onlyTdxsimErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!isTdxsimError(e)) {
      throw e;
    }
  }
}

describe(`parsers never throw (seed ${SEED})`, () => {
  it('parseDmesg, parseIomem, parseStatusArg, parseLeafArg, jsonErrorOffset return on any input', () => {
    fc.assert(
      fc.property(dmesgish, fc.string({ maxLength: 200 }), (lines, s) => {
        parseDmesg(lines);
        parseIomem(lines);
        parseStatusArg(s);
        parseLeafArg(s);
        jsonErrorOffset(s);
        jsonErrorOffset(`{"a": ${s}`);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('plan, diagnose and explain throw nothing but TdxsimError', () => {
    fc.assert(
      fc.property(dmesgish, fc.string({ maxLength: 120 }), (lines, s) => {
        const text = lines.join('\n');
        onlyTdxsimErrors(() => plan({ text }));
        onlyTdxsimErrors(() => diagnose({ text, reproduce: false }));
        onlyTdxsimErrors(() => explain({ status: s }));
        onlyTdxsimErrors(() => explain({ status: text.slice(0, 300) }));
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });
});
