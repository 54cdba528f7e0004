/**
 * The CLI's inputs under a seeded fuzzer (the reliability campaign's CLI matrix, in the suite):
 * embedded scenarios and platform presets mutated field by field (prototype keys, huge and
 * negative numbers, wrong types, unknown fields, duplicated and reordered steps), option values
 * and status strings. Oracle: validation either accepts or throws a TdxsimError (exit 2) — never
 * another exception (exit 3); accepted scenarios run without a model bug. A few mutants also go
 * through the built CLI, whose exit code must be 0, 1 or 2 with no "internal error". The seed is
 * pinned and printed; set FUZZ_SEED / FUZZ_CASES to explore.
 */
import { describe, expect, it } from 'vitest';

import { isTdxsimError } from '../../src/api/errors.js';
import { explain } from '../../src/tools/explain.js';
import { exploreScenario } from '../../src/api/explore.js';
import { prepareRun, runPrepared } from '../../src/api/run.js';
import { namedScenario, scenarioNames } from '../../src/scenario/scenarios/index.js';
import { presetInput, presetNames } from '../../src/platform/presets.js';
import { tdxsim, tempFile } from '../__test-helpers__/cli.js';
import { prng } from './mulberry32.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261206);
const CASES = Number(process.env['FUZZ_CASES'] ?? 400);
/** Wall-clock budget for running accepted mutants (validation of every case is not bounded by it). */
const RUN_BUDGET_MS = Number(process.env['FUZZ_RUN_MS'] ?? 8_000);
const SPAWNED = Number(process.env['FUZZ_SPAWNED'] ?? 6);

const VALUES: unknown[] = ['__proto__', 'constructor', 'toString', '', 'x', '0x', '0xffffffffffffffff', '0x10000000000', '18446744073709551616', -1, 0, 1, 1.5, 2 ** 53, 2 ** 60, 1e308, null, true, [], {}, [1, 1], JSON.parse('{"__proto__":1}'), 'ref', 'small-2s', 'linux-6.8', 'tdx-1.0'];

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function mutate(v: Json, rnd: () => number, depth = 0): Json {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  if (Array.isArray(v)) {
    const out = [...v];
    const r = rnd();
    if (out.length > 0 && r < 0.4) {
      const i = Math.floor(rnd() * out.length);
      out[i] = mutate(out[i] as Json, rnd, depth + 1);
    } else if (out.length > 0 && r < 0.6) {
      out.splice(Math.floor(rnd() * out.length), 0, out[Math.floor(rnd() * out.length)] as Json);
    } else if (out.length > 1 && r < 0.75) {
      out.reverse();
    } else if (out.length > 0 && r < 0.9) {
      out.splice(Math.floor(rnd() * out.length), 1);
    } else {
      out.push(pick(VALUES) as Json);
    }
    return out;
  }
  if (v !== null && typeof v === 'object') {
    const out: { [k: string]: Json } = { ...v };
    const keys = Object.keys(out);
    const r = rnd();
    if (keys.length > 0 && r < 0.6 && depth < 6) {
      const k = pick(keys);
      out[k] = mutate(out[k] as Json, rnd, depth + 1);
    } else if (keys.length > 0 && r < 0.75) {
      delete out[pick(keys)];
    } else {
      Object.defineProperty(out, pick(['__proto__', 'constructor', 'bogus', 'toString']), { value: pick(VALUES), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return pick(VALUES) as Json;
}

function mutants(seed: number, n: number): { label: string; scenario: Json }[] {
  const rnd = prng(seed);
  const names = scenarioNames();
  const presets = presetNames();
  const out: { label: string; scenario: Json }[] = [];
  for (let i = 0; i < n; i++) {
    const base = JSON.parse(JSON.stringify(namedScenario(names[Math.floor(rnd() * names.length)] as string))) as { [k: string]: Json };
    if (rnd() < 0.25) {
      base['platform'] = JSON.parse(JSON.stringify(presetInput(presets[Math.floor(rnd() * presets.length)] as string))) as Json;
    }
    let m: Json = base;
    const rounds = 1 + Math.floor(rnd() * 3);
    for (let r = 0; r < rounds; r++) {
      m = mutate(m, rnd);
    }
    out.push({ label: `case ${i}`, scenario: m });
  }
  return out;
}

describe(`CLI input fuzzer (seed ${SEED}, ${CASES} mutated scenarios)`, () => {
  it('validation accepts or refuses with a TdxsimError; accepted scenarios run without a model bug', () => {
    console.log(`CLI input fuzzer: seed ${SEED}, ${CASES} cases (FUZZ_SEED=${SEED} FUZZ_CASES=${CASES} to reproduce)`);
    const crashes: string[] = [];
    let accepted = 0;
    let ran = 0;
    const t0 = performance.now();
    for (const { label, scenario } of mutants(SEED, CASES)) {
      const text = JSON.stringify(scenario);
      try {
        const p = prepareRun({ scenarioObject: scenario });
        accepted++;
        const t = p.spec.topology;
        // Big hosts (8s-12t: ten seconds a run) are validated, not run, to keep the test bounded.
        if (performance.now() - t0 < RUN_BUDGET_MS && t.packages * t.coresPerPackage * t.threadsPerCore <= 16) {
          const r = runPrepared(p);
          ran++;
          for (const f of r.findings) {
            if (f.class === 'model-bug') {
              crashes.push(`${label}: model-bug finding ${f.message}\n  ${text.slice(0, 400)}`);
            }
          }
        }
      } catch (e) {
        if (!isTdxsimError(e)) {
          crashes.push(`${label}: ${(e as Error).name}: ${(e as Error).message}\n  ${text.slice(0, 400)}`);
        }
      }
    }
    console.log(`CLI input fuzzer: ${accepted} accepted, ${ran} run, ${CASES - accepted} refused`);
    expect(crashes).toEqual([]);
  });

  it('explore and explain refuse bad values with a TdxsimError', () => {
    const rnd = prng(SEED + 1);
    const bad: string[] = [];
    for (let i = 0; i < 60; i++) {
      const v = String(VALUES[Math.floor(rnd() * VALUES.length)]);
      for (const f of [() => explain({ status: v }), () => explain({ status: '0xc000050000000000', leaf: v }), () => exploreScenario({ scenario: v, budget: 1 }), () => exploreScenario({ scenario: 'kexec-race-2cpu', budget: 1, faults: v })]) {
        try {
          f();
        } catch (e) {
          if (!isTdxsimError(e)) {
            bad.push(`${v}: ${(e as Error).name}: ${(e as Error).message}`);
          }
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('mutants through the built CLI exit 0, 1 or 2, never 3', () => {
    for (const { label, scenario } of mutants(SEED + 2, SPAWNED)) {
      const f = tempFile('fuzz.json', JSON.stringify(scenario));
      const r = tdxsim(['run', f]);
      expect([0, 1, 2], `${label}: ${r.stderr}`).toContain(r.status);
      expect(r.stderr).not.toMatch(/internal error|bug in the model/);
    }
  });
});
