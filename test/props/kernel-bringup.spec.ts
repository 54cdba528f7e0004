/**
 * Property: over random memory maps and module limits, the real module accepts whatever the
 * kernel builds (TDH.SYS.CONFIG and the rest succeed), or the kernel has already failed with
 * the message Linux prints. Also: the PAMT total printed equals the closed form over the TDMRs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { pamtPagesClosedForm } from '../../src/kernel/tdx/tdmr.js';
import { kernelRig } from '../__test-helpers__/kernelMachine.js';

const SEED = Number(process.env.FC_SEED ?? 4242);
const G = 2 ** 30;
const M = 2 ** 20;

const layout = fc.record({
  segs: fc.array(fc.record({ gap: fc.integer({ min: 0, max: 2048 }), len: fc.integer({ min: 1, max: 3072 }) }), { minLength: 1, maxLength: 12 }),
  split: fc.integer({ min: 0, max: 100 }),
  maxTdmrs: fc.integer({ min: 1, max: 64 }),
  maxRsvd: fc.integer({ min: 1, max: 16 }),
});

describe(`kernel bring-up over random memory maps (seed ${SEED})`, () => {
  it(`module accepts the kernel's TDMRs or Linux already failed (seed ${SEED})`, () => {
    fc.assert(
      fc.property(layout, ({ segs, split, maxTdmrs, maxRsvd }) => {
        const usable: { base: number; size: number }[] = [];
        let at = 4 * G;
        for (const s of segs) {
          at += s.gap * 2 * M;
          usable.push({ base: at, size: s.len * 2 * M });
          at += s.len * 2 * M;
        }
        const end = at;
        const splitAt = 4 * G + Math.floor(((end - 4 * G) * split) / 100 / G) * G;
        const r = kernelRig('small-2s', {
          module: 'real',
          edit: (spec) => {
            const low = spec.memory.e820.slice(0, 5);
            spec.memory.e820 = [...low, ...usable.map((u) => ({ ...u, type: 'usable' as const }))];
            spec.memory.nodes = splitAt > 4 * G && splitAt < end ? [{ node: 0, base: 0, size: splitAt }, { node: 1, base: splitAt, size: end - splitAt }] : [];
            spec.cmrs = [{ base: 0, size: 0x7c000000 }, ...usable];
            spec.tdxModule = { loaded: true, overrides: { MAX_TDMRS: maxTdmrs, MAX_RESERVED_PER_TDMR: maxRsvd } };
          },
        });
        const ret = r.run(r.m.loadKvm());
        const tdx = r.lines().filter((l) => l.startsWith('virt/tdx: '));
        if (ret === 0) {
          expect(tdx[tdx.length - 1]).toBe('virt/tdx: module initialized');
          const list = r.m.kernel.tdx.tdx_tdmr_list!;
          const tdmrs = list.tdmrs.slice(0, list.nr_consumed_tdmrs);
          const kb = (tdmrs.reduce((s, t) => s + pamtPagesClosedForm(t.size / G), 0) * 4096) / 1024;
          expect(tdx).toContain(`virt/tdx: ${kb} KB allocated for PAMT`);
          return;
        }
        expect(tdx.some((l) => l.includes('SEAMCALL'))).toBe(false);
        expect(tdx.some((l) => /initialization failed: (TDMRs exhausted\.|TDMR \[0x[0-9a-f]+, 0x[0-9a-f]+\): reserved areas exhausted\.)$/.test(l))).toBe(true);
      }),
      { seed: SEED, numRuns: 40 },
    );
  });
});
