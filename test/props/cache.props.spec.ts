import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { Platform } from '../../src/platform/Platform.js';
import { preset } from '../../src/platform/presets.js';

const SEED = 4242;
// small-2s: 15 MKTME KeyIDs, TDX KeyIDs 16..63.
const KEYS = [0, 5, 16, 17, 40];

type Op =
  | { k: 'store'; cpu: number; line: number; key: number }
  | { k: 'fill'; cpu: number; line: number; n: number; key: number }
  | { k: 'movdir'; cpu: number; line: number; n: number; key: number }
  | { k: 'clflush'; cpu: number; line: number; n: number; key: number }
  | { k: 'wbinvd'; cpu: number }
  | { k: 'evict'; cpu: number; n: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('store' as const), cpu: fc.nat(3), line: fc.nat(31), key: fc.constantFrom(...KEYS) }),
  fc.record({ k: fc.constant('fill' as const), cpu: fc.nat(3), line: fc.nat(31), n: fc.integer({ min: 1, max: 8 }), key: fc.constantFrom(...KEYS) }),
  fc.record({ k: fc.constant('movdir' as const), cpu: fc.nat(3), line: fc.nat(31), n: fc.integer({ min: 1, max: 8 }), key: fc.constantFrom(...KEYS) }),
  fc.record({ k: fc.constant('clflush' as const), cpu: fc.nat(3), line: fc.nat(31), n: fc.integer({ min: 1, max: 8 }), key: fc.constantFrom(...KEYS) }),
  fc.record({ k: fc.constant('wbinvd' as const), cpu: fc.nat(3) }),
  fc.record({ k: fc.constant('evict' as const), cpu: fc.nat(3), n: fc.integer({ min: 1, max: 8 }) }),
);

function apply(p: Platform, op: Op): void {
  const c = p.cpu(op.k === 'wbinvd' || op.k === 'evict' ? op.cpu : op.cpu);
  switch (op.k) {
    case 'store':
      p.store(c, op.line * 64, new Uint8Array(64).fill(op.line), op.key, `w${op.cpu}`);
      break;
    case 'fill':
      p.storeFill(c, op.line * 64, op.n * 64, 7, op.key, `w${op.cpu}`);
      break;
    case 'movdir':
      p.movdir64b(c, op.line * 64, op.n * 64, op.key, 0, `w${op.cpu}`);
      break;
    case 'clflush':
      p.clflush(c, op.line * 64, op.n * 64, op.key);
      break;
    case 'wbinvd':
      p.wbinvdNow(c);
      break;
    case 'evict':
      p.evictLines(c, op.n);
      break;
  }
}

describe(`cache invariants (seed ${SEED})`, () => {
  it('after WBINVD a CPU holds no dirty line and no line at all', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), fc.nat(3), (ops, who) => {
        const p = new Platform({ ...preset('small-2s')!, cache: { linesPerCpu: 16, wbinvdSubBlocks: 4 } });
        ops.forEach((o) => apply(p, o));
        p.wbinvdNow(p.cpu(who));
        expect(p.cpu(who).cache.dirtyRanges()).toEqual([]);
        expect(p.cpu(who).cache.lineCount).toBe(0);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('capacity is never exceeded', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const p = new Platform({ ...preset('small-2s')!, cache: { linesPerCpu: 16, wbinvdSubBlocks: 4 } });
        ops.forEach((o) => {
          apply(p, o);
          for (const c of p.cpus) {
            expect(c.cache.lineCount).toBeLessThanOrEqual(16);
          }
        });
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('MOVDIR64B through KeyID k makes the lines k-owned; a different private KeyID reads poison', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), fc.nat(31), fc.integer({ min: 1, max: 4 }), fc.constantFrom(16, 17, 40), (ops, line, n, k) => {
        const p = new Platform(preset('small-2s')!);
        ops.forEach((o) => apply(p, o));
        p.movdir64b(p.cpu(0), line * 64, n * 64, k, 0x5a, 'movdir');
        for (let l = line; l < line + n; l++) {
          const st = p.memory.lineState(l);
          expect(st.key).toBe(k);
          expect(st.td).toBe(true);
          // No same-key copy survives anywhere.
          for (const c of p.cpus) {
            expect(c.cache.lookup(k, l)).toBeUndefined();
          }
        }
        const own = p.load(p.cpu(1), line * 64, n * 64, k);
        expect(own.ok).toBe(true);
        const other = k === 17 ? 40 : 17;
        // Only valid if no cached alias under `other` exists (a cached alias is what the CPU reads).
        const cachedOther = p.cpus.some((c) => c.cache.lookup(other, line) !== undefined);
        if (!cachedOther) {
          const r = p.load(p.cpu(1), line * 64, 64, other);
          expect(r).toEqual({ ok: false, poisonPa: line * 64 });
        }
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});
