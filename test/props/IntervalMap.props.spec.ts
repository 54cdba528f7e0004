import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { IntervalMap } from '../../src/base/IntervalMap.js';

const SEED = 20261122;
const SPAN = 64;

type Op = { kind: 'set'; s: number; e: number; v: number } | { kind: 'del'; s: number; e: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), s: fc.nat(SPAN), e: fc.nat(SPAN), v: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('del' as const), s: fc.nat(SPAN), e: fc.nat(SPAN) }),
);

function normalize(op: Op): Op {
  const s = Math.min(op.s, op.e);
  const e = Math.max(op.s, op.e);
  return { ...op, s, e };
}

describe(`IntervalMap against a naive array model (seed ${SEED})`, () => {
  it('agrees on every point, coalesces maximally and never overlaps', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), fc.nat(SPAN), fc.nat(SPAN), (ops, qa, qb) => {
        const m = new IntervalMap<number>();
        const naive: (number | undefined)[] = new Array<number | undefined>(SPAN).fill(undefined);
        for (const raw of ops) {
          const op = normalize(raw);
          if (op.kind === 'set') {
            m.set(op.s, op.e, op.v);
            for (let i = op.s; i < op.e; i++) {
              naive[i] = op.v;
            }
          } else {
            m.delete(op.s, op.e);
            for (let i = op.s; i < op.e; i++) {
              naive[i] = undefined;
            }
          }
        }
        for (let i = 0; i < SPAN; i++) {
          expect(m.get(i)).toBe(naive[i]);
        }
        const all = m.entries();
        for (let k = 1; k < all.length; k++) {
          const a = all[k - 1]!;
          const b = all[k]!;
          expect(a.end).toBeLessThanOrEqual(b.start);
          // Maximal: touching neighbours never hold equal values.
          expect(a.end === b.start && a.value === b.value).toBe(false);
        }
        const lo = Math.min(qa, qb);
        const hi = Math.max(qa, qb);
        let covered = 0;
        for (let i = lo; i < hi; i++) {
          covered += naive[i] === undefined ? 0 : 1;
        }
        expect(m.covered(lo, hi)).toBe(covered);
      }),
      { seed: SEED, numRuns: 400 },
    );
  });
});
