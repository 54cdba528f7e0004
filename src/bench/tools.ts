/**
 * Operator-tool benchmarks (issue 7): planning a memory map with thousands of regions, a
 * fast-check fuzz of the tools' parsers (plan input, diagnose, explain) over at least 100,000
 * inputs with no exception other than TdxsimError, and the full default `compat` matrix.
 */
import fc from 'fast-check';

import { compat } from '../tools/compat.js';
import { diagnose } from '../tools/diagnose.js';
import { isTdxsimError } from '../api/errors.js';
import { explain } from '../tools/explain.js';
import { plan } from '../tools/plan.js';
import type { Bench } from './types.js';
import { timeMs } from './types.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

/**
 * A dmesg with `n` memory ranges on 8 nodes: 256 MiB ranges separated by small firmware holes,
 * the way a host with many DIMM interleave sets reports them.
 */
export function manyRegionsDmesg(n: number): string {
  const h = (v: number): string => `0x${v.toString(16).padStart(16, '0')}`;
  const lines = ['[    0.000000] Linux version 6.18.0 (bench)', '[    0.000000] BIOS-provided physical RAM map:'];
  const ranges: string[] = [];
  let at = 4 * GiB;
  lines.push(`[    0.000000] BIOS-e820: [mem ${h(0)}-${h(0x9efff)}] usable`);
  lines.push(`[    0.000000] BIOS-e820: [mem ${h(0x100000)}-${h(0x7fffffff)}] usable`);
  ranges.push(`[    0.000000]   node   0: [mem ${h(0x1000)}-${h(0x9efff)}]`, `[    0.000000]   node   0: [mem ${h(0x100000)}-${h(0x7fffffff)}]`);
  for (let i = 0; i < n; i++) {
    const node = Math.floor((i * 8) / n);
    const end = at + 256 * MiB - 0x4000;
    lines.push(`[    0.000000] BIOS-e820: [mem ${h(at)}-${h(end - 1)}] usable`);
    lines.push(`[    0.000000] BIOS-e820: [mem ${h(end)}-${h(at + 256 * MiB - 1)}] reserved`);
    ranges.push(`[    0.000000]   node ${String(node).padStart(3)}: [mem ${h(at)}-${h(end - 1)}]`);
    at += 256 * MiB;
  }
  lines.push('[    0.000000] Early memory node ranges', ...ranges);
  lines.push('[    0.100000] virt/tdx: BIOS enabled: private KeyID range [16, 64)');
  return `${lines.join('\n')}\n`;
}

const planThousands: Bench = {
  name: 'tools.plan-4096-regions',
  target: '< 500 ms for 4096 memory ranges (dmesg parse, machine rebuild and TDMR plan)',
  run() {
    const text = manyRegionsDmesg(4096);
    // Default module limits: Linux runs out of TDMRs, as it would on such a host.
    const limited = timeMs(() => plan({ text }));
    const warm = timeMs(() => plan({ text }));
    // No limits: every TDMR, PAMT and reserved area is computed (about 1024 TDMRs).
    const full = timeMs(() => plan({ text, maxTdmrs: 1 << 14, maxReserved: 1 << 14 }));
    return {
      metrics: {
        regions: 4096,
        msDefaultLimits: limited.ms,
        msDefaultLimitsWarm: warm.ms,
        msNoLimits: full.ms,
        tdmrs: full.value.tdmrs.length,
        tdmrsNeeded: limited.value.headroom.tdmrs.needed,
        pamtKb: full.value.pamtKb,
      },
      pass: limited.ms < 500 && full.ms < 500 && limited.value.failure?.reason === 'tdmrs-exhausted' && full.value.outcome === 'ok',
    };
  },
};

const DMESG_BITS = ['BIOS-e820: [mem ', 'virt/tdx: ', 'tdx: ', '  node   0: [mem 0x', 'Early memory node ranges', 'SEAMCALL (0x', 'CMR: [0x', 'kvm_intel: tdx: ', '[    0.000000] ', 'Linux version 6.', '00001000-0009ffff : ', '{"name":'];

/** Built on first use: binary-string arbitraries are costly to create. */
function fuzzInput(): fc.Arbitrary<string> {
  return fc.oneof(
  fc.string({ maxLength: 120 }),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constantFrom(...DMESG_BITS).chain((p) => fc.string({ maxLength: 80 }).map((s) => p + s)),
  fc.array(fc.constantFrom(...DMESG_BITS).chain((p) => fc.string({ maxLength: 40 }).map((s) => p + s)), { maxLength: 12 }).map((a) => a.join('\n')),
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((s) => `virt/tdx: SEAMCALL (0x0000000000000022) failed: 0x${s.toString(16)}`),
    fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((s) => s.toString(16)),
  );
}

const parserFuzz: Bench = {
  name: 'tools.parser-fuzz',
  target: '>= 100,000 fast-check inputs through the plan, diagnose and explain parsers, no exception but TdxsimError',
  run() {
    const runs = 100_000;
    let rejected = 0;
    const { ms, value } = timeMs(() =>
      fc.check(
        fc.property(fuzzInput(), (text) => {
          for (const f of [() => plan({ text }), () => diagnose({ text, reproduce: false }), () => explain({ status: text.slice(0, 4096) })]) {
            try {
              f();
            } catch (e) {
              if (!isTdxsimError(e)) {
                throw e;
              }
              rejected++;
            }
          }
        }),
        { numRuns: runs, seed: 7 },
      ),
    );
    const inputs = value.numRuns;
    return {
      metrics: { inputs, ms, inputsPerSec: Math.round((inputs / ms) * 1000), tdxsimErrors: rejected, uncaught: value.failed ? 1 : 0 },
      pass: !value.failed && inputs >= runs,
    };
  },
};

const compatMatrix: Bench = {
  name: 'tools.compat-matrix',
  target: '< 10 s for the full default matrix (every kernel profile × every module release, each booted with kvm_intel tdx=1 on small-2s)',
  run() {
    const { ms, value } = timeMs(() => compat());
    const count = (v: string): number => value.cells.filter((c) => c.verdict === v).length;
    return {
      metrics: { seconds: ms / 1000, cells: value.cells.length, msPerCell: ms / value.cells.length, ok: count('ok'), fail: count('fail'), kvm: count('kvm'), none: count('none') },
      pass: ms < 10_000 && value.cells.length > 0,
    };
  },
};

/** The operator-tool benchmarks. */
/** A successful 6.8 boot followed by `n` identical runtime SEAMCALL failure lines. */
function failureLog(n: number): string {
  const boot = [
    '[    0.000000] Linux version 6.8.0-45-generic (bench)',
    '[    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000007fffffff] usable',
    '[    0.000000] BIOS-e820: [mem 0x0000000100000000-0x000000087fffffff] usable',
    '[    2.000000] virt/tdx: BIOS enabled: private KeyID range [16, 64)',
    '[    9.000000] virt/tdx: 262668 KB allocated for PAMT',
    '[    9.000000] virt/tdx: module initialized',
  ];
  return `${boot.join('\n')}\n${'[   99.000000] virt/tdx: SEAMCALL (0x0000000000000022) failed: 0xc0000c0000000000\n'.repeat(n)}`;
}

const diagnoseFailures: Bench = {
  name: 'tools.diagnose-failure-lines',
  target: 'linear in SEAMCALL failure lines with reproduction: 32,000 lines take less than 8x the time of 4,000 (it was quadratic: 8,000 lines took 26 s)',
  run() {
    const small = timeMs(() => diagnose({ text: failureLog(4000), name: 'bench', reproduce: true }));
    const big = timeMs(() => diagnose({ text: failureLog(32_000), name: 'bench', reproduce: true }));
    return {
      metrics: { ms4000: small.ms, ms32000: big.ms, ratio: big.ms / small.ms },
      pass: big.ms < 8 * small.ms,
    };
  },
};

export const toolBenches: Bench[] = [planThousands, parserFuzz, compatMatrix, diagnoseFailures];
