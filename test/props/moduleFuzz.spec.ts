/**
 * Bad input never crashes the module model: random registers and random TDMR_INFO contents, in
 * every module state. Oracle: no exception; the module state changes only on success (except
 * the side effects the ABI documents for failures); dispatcher rejections change no register
 * but RAX. Seeds are pinned and printed in the titles; set FUZZ_SEED / FUZZ_RUNS to explore.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { deepClone } from '../../src/base/clone.js';
import { cpuId } from '../../src/base/ids.js';
import { createModuleMachine, seamcallSync } from '../../src/machine/moduleMachine.js';
import type { ModuleMachine } from '../../src/machine/moduleMachine.js';
import type { ModuleProfileName } from '../../src/module/profiles.js';
import { seamRegs, SEAM_REG_NAMES } from '../../src/platform/Seam.js';
import type { SeamRegs } from '../../src/platform/Seam.js';
import { preset } from '../../src/platform/presets.js';
import { CFG_A, cfgA, encodeTdmrInfo, encodeU64s, tdParams } from '../unit/module/cfgA.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20260311);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 150);
const TDR = 0x40000000n;

type R = Partial<Record<keyof SeamRegs, bigint>>;

function call(m: ModuleMachine, lp: number, r: R): SeamRegs {
  const o = seamcallSync(m, lp, seamRegs(r));
  if (o.kind !== 'ok') {
    throw new Error(o.kind);
  }
  return o.regs;
}
function must(m: ModuleMachine, lp: number, r: R): void {
  const o = call(m, lp, r);
  if (o.rax !== 0n) {
    throw new Error(`fixture call ${JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString(16) : v))} failed: ${o.rax.toString(16)}`);
  }
}
function write(m: ModuleMachine, pa: number, b: Uint8Array): void {
  m.platform.store(m.platform.cpu(cpuId(0)), pa, b, 0, 'host');
}

/** Named fixtures: each builds a fresh machine in that state. */
const FIXTURES: Record<string, (profile?: ModuleProfileName) => ModuleMachine> = {};
function fixture(name: string, prev: string | undefined, step: (m: ModuleMachine) => void): void {
  FIXTURES[name] = (profile) => {
    const m = prev === undefined ? fresh(profile) : (FIXTURES[prev] as (p?: ModuleProfileName) => ModuleMachine)(profile);
    step(m);
    return m;
  };
}
function fresh(profile: ModuleProfileName = '1.5.01'): ModuleMachine {
  const m = createModuleMachine(preset('ref') as NonNullable<ReturnType<typeof preset>>, { module: profile });
  for (const c of m.platform.cpus) {
    c.vmx = true;
  }
  return m;
}
fixture('S0', undefined, () => undefined);
fixture('S1', 'S0', (m) => must(m, 0, { rax: 33n }));
fixture('S2', 'S1', (m) => [0, 1, 2, 3].forEach((lp) => must(m, lp, { rax: 35n })));
fixture('S3', 'S2', (m) => {
  const [a, b] = cfgA();
  write(m, CFG_A.info0, encodeTdmrInfo(a));
  write(m, CFG_A.info1, encodeTdmrInfo(b));
  write(m, CFG_A.array, encodeU64s([0x10000000n, 0x10000200n]));
  must(m, 0, { rax: 45n, rcx: 0x10001000n, rdx: 2n, r8: 32n });
});
fixture('S4', 'S3', (m) => [0, 2].forEach((lp) => must(m, lp, { rax: 31n })));
fixture('S5', 'S4', (m) => {
  for (let i = 0; i < 512; i++) {
    must(m, 0, { rax: 36n, rcx: 0n });
  }
  for (let i = 0; i < 1024; i++) {
    must(m, 1, { rax: 36n, rcx: 0x100000000n });
  }
});
fixture('TD-created', 'S5', (m) => must(m, 0, { rax: 9n, rcx: TDR, rdx: 33n }));
fixture('TD-initialized', 'TD-created', (m) => {
  must(m, 0, { rax: 8n, rcx: TDR });
  must(m, 2, { rax: 8n, rcx: TDR });
  for (let i = 1; i <= 6; i++) {
    must(m, 0, { rax: 1n, rcx: TDR + BigInt(i * 0x1000), rdx: TDR });
  }
  write(m, 0x10004000, tdParams());
  must(m, 0, { rax: 21n, rcx: TDR, rdx: 0x10004000n });
  must(m, 0, { rax: 10n, rcx: 0x4000a000n, rdx: TDR });
  must(m, 0, { rax: 3n, rcx: 0x3n, rdx: TDR, r8: 0x4000c000n });
});
fixture('TD-blocked', 'TD-initialized', (m) => must(m, 0, { rax: 19n, rcx: TDR }));
fixture('TD-teardown', 'TD-blocked', (m) => {
  must(m, 0, { rax: 40n, rcx: 0n });
  must(m, 2, { rax: 40n, rcx: 0n });
  must(m, 0, { rax: 20n, rcx: TDR });
});
fixture('SHUTDOWN', 'S5', (m) => must(m, 0, { rax: 52n, rcx: 0n }));

const IMPLEMENTED = [1, 2, 3, 6, 8, 9, 10, 19, 20, 21, 22, 24, 27, 28, 31, 32, 33, 34, 35, 36, 37, 40, 41, 44, 45, 52, 53];
const INTERESTING: bigint[] = [
  0n,
  1n,
  2n,
  3n,
  31n,
  32n,
  33n,
  63n,
  64n,
  0xffffn,
  0x10000n,
  TDR,
  0x40001000n,
  0x4000a000n,
  0x4000b000n,
  0x40000800n,
  0x10000000n,
  0x10000200n,
  0x10001000n,
  0x10004000n,
  0x10005000n,
  0x7f000000n,
  0x80000000n,
  0x90000000n,
  0x100000000n,
  0x1f0000000n,
  0x200000000n,
  0x0008000040000000n,
  0x0001400010001000n,
  0x000fc00000000000n,
  1n << 52n,
  0x9100000100000008n,
  0x9000000300000081n,
  0xffffffffffffffffn,
  0x8000000000000000n,
];
const reg = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...INTERESTING) }, { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x3fff }).map((p) => BigInt(p) * 0x1000n) });
const rax = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...IMPLEMENTED).map(BigInt) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map(BigInt) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...IMPLEMENTED), fc.integer({ min: 0, max: 255 })).map(([l, v]) => BigInt(l) | (BigInt(v) << 16n)) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) },
);
const regsArb = fc.record({ rax, rcx: reg, rdx: reg, r8: reg, r9: reg, r10: reg, r11: reg });
const u64Field = fc.oneof(fc.constantFrom(...INTERESTING, 0x40000000n, 0x1000n, 0x4000n, 0x800000n, 0x805000n, 0x100000n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }));
/** Random TDMR_INFO contents (and a random PA array), written where CONFIG reads them. */
const memArb = fc.option(
  fc.record({
    which: fc.constantFrom(CFG_A.info0, CFG_A.info1),
    fields: fc.array(u64Field, { minLength: 40, maxLength: 40 }),
    array: fc.option(fc.array(u64Field, { minLength: 1, maxLength: 4 })),
  }),
);

const STATE_ONLY_ON_SUCCESS_EXCEPT: Record<number, string[]> = {
  45: ['kot', 'hkid'], // CONFIG: HKID reserved before the per-TDMR checks
  40: ['wbt'], // CACHE.WB: progress kept on INTERRUPTED_RESUMABLE; a start resets it
};
const DISPATCHER_STATUSES = new Set([0xc000050500000000n, 0xc000050600000000n, 0xc000010000000000n]);
/**
 * Versioned leaves that refuse a too-high version themselves, after their first register writes
 * (SEPT.ADD, SEPT.REMOVE, MNG.RD, PROMOTE, VP.RD: module audit row 18): their OPERAND_INVALID|RAX
 * is not a dispatcher rejection when a version is given.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/tdx_vmm_dispatcher.c
 */
const LEAF_CHECKS_OWN_VERSION = new Set([3, 11, 23, 26, 30]);

function moduleState(m: ModuleMachine, drop: string[]): string {
  const s = m.module.snapshot();
  for (const k of drop) {
    delete s[k];
  }
  return JSON.stringify(s);
}

interface MemInput {
  which: number;
  fields: bigint[];
  array: bigint[] | null;
}

function runOne(base: ModuleMachine, lp: number, regs: R, mem: MemInput | null): void {
  const m = deepClone(base);
  if (mem !== null) {
    const b = new Uint8Array(512);
    const dv = new DataView(b.buffer);
    mem.fields.forEach((v, i) => dv.setBigUint64(8 * i, v, true));
    write(m, mem.which, b);
    if (mem.array !== null) {
      write(m, CFG_A.array, encodeU64s(mem.array));
    }
  }
  const leaf = Number(regs.rax ?? 0n) & 0xffff;
  const drop = STATE_ONLY_ON_SUCCESS_EXCEPT[leaf] ?? [];
  const before = moduleState(m, drop);
  const input = seamRegs(regs);
  const out = call(m, lp, regs);
  if (out.rax !== 0n) {
    expect(moduleState(m, drop)).toBe(before);
  }
  const ownVersion = LEAF_CHECKS_OWN_VERSION.has(leaf) && ((regs.rax ?? 0n) >> 16n) % 256n !== 0n && (regs.rax ?? 0n) >> 24n === 0n;
  if (DISPATCHER_STATUSES.has(out.rax) && !ownVersion) {
    for (const n of SEAM_REG_NAMES) {
      if (n !== 'rax') {
        expect(out[n]).toBe(input[n]);
      }
    }
  }
  // Whatever happened, no lock is left held once the SEAMCALL returned.
  expect(m.module.state.globalLock.free).toBe(true);
  expect(m.module.state.kotLock.free).toBe(true);
}

describe(`module fuzz (seed ${SEED}, ${RUNS} runs per state)`, () => {
  const states: [string, ModuleProfileName][] = [...Object.keys(FIXTURES).map((s): [string, ModuleProfileName] => [s, '1.5.01']), ['S0', '1.0'], ['S2', '1.0'], ['S2', '1.5.06']];
  for (const [name, profile] of states) {
    it(`random registers and TDMR_INFO in ${name} (${profile}), seed ${SEED}`, () => {
      const base = (FIXTURES[name] as (p?: ModuleProfileName) => ModuleMachine)(profile);
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 3 }), regsArb, memArb, (lp, regs, mem) => runOne(base, lp, regs, mem)),
        { seed: SEED, numRuns: RUNS },
      );
    });
  }

  it(`random TDMR_INFO contents with a well-formed CONFIG call in S2, seed ${SEED}`, () => {
    const base = (FIXTURES['S2'] as () => ModuleMachine)();
    const tdmrArb = fc.record({ base: u64Field, size: u64Field, p: fc.array(u64Field, { minLength: 6, maxLength: 6 }), rsvd: fc.array(fc.tuple(u64Field, u64Field), { maxLength: 16 }) });
    fc.assert(
      fc.property(fc.array(tdmrArb, { minLength: 1, maxLength: 2 }), (tdmrs) => {
        const m = deepClone(base);
        tdmrs.forEach((t, i) => {
          write(m, CFG_A.info0 + 0x200 * i, encodeTdmrInfo({ base: t.base, size: t.size, pamt1g: [t.p[0] as bigint, t.p[1] as bigint], pamt2m: [t.p[2] as bigint, t.p[3] as bigint], pamt4k: [t.p[4] as bigint, t.p[5] as bigint], rsvd: t.rsvd }));
        });
        write(m, CFG_A.array, encodeU64s(tdmrs.map((_t, i) => BigInt(CFG_A.info0 + 0x200 * i))));
        const out = call(m, 0, { rax: 45n, rcx: BigInt(CFG_A.array), rdx: BigInt(tdmrs.length), r8: 32n });
        const rows = m.module.state.tdmrs;
        if (out.rax === 0n) {
          // Independent sanity of what was accepted: sorted, disjoint, 1 GiB granular, in range.
          rows.forEach((r, i) => {
            expect(r.base % 0x40000000).toBe(0);
            expect(r.size % 0x40000000).toBe(0);
            expect(r.size).toBeGreaterThan(0);
            expect(r.base + r.size).toBeLessThanOrEqual(2 ** 46);
            if (i > 0) {
              const p = rows[i - 1] as (typeof rows)[number];
              expect(r.base).toBeGreaterThanOrEqual(p.base + p.size);
            }
          });
        } else {
          expect(m.module.state.sysState).toBe(1);
          expect(out.rax >> 63n).toBe(1n);
        }
      }),
      { seed: SEED, numRuns: RUNS * 2 },
    );
  });
});
