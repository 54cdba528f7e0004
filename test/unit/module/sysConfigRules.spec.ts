/**
 * spec/module-abi.md section 6: for every TDH.SYS.CONFIG rule (and the CMR sanity check of
 * TDH.SYS.INIT), a case that passes the rule and a case that fails it, through a spawned
 * `tdxsim serve --stdio` on the ref preset. A "passing" case either succeeds or fails a *later*
 * rule, which shows the rule under test let it through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeTdmrInfo, encodeU64s } from './cfgA.js';
import type { TdmrInfoInput } from './cfgA.js';
import { Host, L, ServerClient } from './serverClient.js';

let client: ServerClient;
beforeAll(() => {
  client = new ServerClient();
});
afterAll(async () => {
  await client.close();
});

const OK = '0x0000000000000000';
const TWO64 = 1n << 64n;
type Edit = (t: [TdmrInfoInput, TdmrInfoInput]) => void;

const withHost = (fn: (h: Host) => Promise<void>, params: Record<string, unknown> = {}): Promise<void> => Host.using(client, fn, params);

const hex = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;

/** S2, CFG-A with `edit`, CONFIG(RCX=array, RDX=2, R8=32) from LP0. */
async function configWith(edit: Edit | undefined, opts: { array?: bigint[]; r8?: bigint; params?: Record<string, unknown>; pre?: (h: Host) => Promise<void> } = {}): Promise<string> {
  let out = '';
  await withHost(async (h) => {
    await h.boot('S2');
    await h.writeCfgA(edit, opts.array);
    await opts.pre?.(h);
    out = hex((await h.config(opts.r8 ?? 32n)).status);
  }, opts.params ?? {});
  return out;
}

function rule(name: string, pass: { edit?: Edit; array?: bigint[]; params?: Record<string, unknown>; expect?: string; pre?: (h: Host) => Promise<void> }, fail: { edit?: Edit; array?: bigint[]; params?: Record<string, unknown>; expect: string }): void {
  describe(name, () => {
    it(`passes → ${pass.expect ?? OK}`, async () => {
      expect(await configWith(pass.edit, pass)).toBe(pass.expect ?? OK);
    });
    it(`fails → ${fail.expect}`, async () => {
      expect(await configWith(fail.edit, fail)).toBe(fail.expect);
    });
  });
}

describe('6.0 CMR sanity (TDH.SYS.INIT)', () => {
  const init = async (cmrs: { base: string; size: string }[]): Promise<string> => {
    let s = '';
    await withHost(async (h) => {
      s = hex((await h.call(0, { rax: L.SYS_INIT })).status);
    }, { mcheck: { cmrs } });
    return s;
  };
  it('passes: null entries anywhere, adjacent CMRs', async () => {
    expect(await init([{ base: '0x0', size: '0x40000000' }, { base: '0x0', size: '0x0' }, { base: '0x40000000', size: '0x40000000' }, { base: '0x100000000', size: '0x100000000' }])).toBe(OK);
  });
  it('fails: overlapping, unaligned, beyond 2^52, HKID bits', async () => {
    expect(await init([{ base: '0x0', size: '0x80000000' }, { base: '0x7ffff000', size: '0x1000' }])).toBe('0xc0000a2200000000');
    expect(await init([{ base: '0x800', size: '0x1000' }])).toBe('0xc0000a2200000000');
    expect(await init([{ base: '0x0', size: '0x1001' }])).toBe('0xc0000a2200000000');
    expect(await init([{ base: '0xfffffffff000', size: '0x2000' }])).toBe('0xc0000a2200000000');
    expect(await init([{ base: '0x400000000000', size: '0x1000' }])).toBe('0xc0000a2200000000');
  });
});

describe('6.1 whole-call rules', () => {
  it('C1 passes: no conflicting holder; fails: LP1 inside KEY.CONFIG (global lock X) → SYS_BUSY; LP.INIT holder (S) → SYS_BUSY', () =>
    withHost(async (h) => {
      await h.boot('S2');
      await h.writeCfgA();
      const c = await h.begin(1, { rax: L.SYS_KEY_CONFIG });
      expect(hex((await h.config()).status)).toBe('0x8000020200000000');
      await h.end(c);
      const d = await h.begin(1, { rax: L.SYS_LP_INIT });
      expect(hex((await h.config()).status)).toBe('0x8000020200000000');
      await h.end(d);
      expect(hex((await h.config()).status)).toBe(OK);
    }));
  it('C2 passes in SYSINIT_DONE; fails in SYSCONFIG_DONE and SYS_READY', () =>
    withHost(async (h) => {
      await h.boot('S3');
      expect(hex((await h.config()).status)).toBe('0xc000050c00000000');
      await h.call(0, { rax: L.SYS_KEY_CONFIG });
      await h.call(2, { rax: L.SYS_KEY_CONFIG });
      expect(hex((await h.config()).status)).toBe('0xc000050c00000000');
    }));
  it('C3 fails with 3 of 4 LPs initialized; passes once the 4th is', () =>
    withHost(async (h) => {
      await h.boot('S1');
      for (const lp of [0, 1, 2]) {
        await h.call(lp, { rax: L.SYS_LP_INIT });
      }
      await h.writeCfgA();
      expect(hex((await h.config()).status)).toBe('0xc000050c00000000');
      await h.call(3, { rax: L.SYS_LP_INIT });
      expect(hex((await h.config()).status)).toBe(OK);
    }));
  const arrAt = async (h: Host, pa: bigint): Promise<string> => {
    await h.write(pa, encodeU64s([0x10000000n, 0x10000200n]));
    return hex((await h.call(0, { rax: L.SYS_CONFIG, rcx: pa, rdx: 2n, r8: 32n })).status);
  };
  it('C4 passes: array ending exactly at SEAMRR base, array through MKTME KeyID 31', () =>
    withHost(async (h) => {
      await h.boot('S2');
      await h.writeCfgA();
      expect(await arrAt(h, 0x7ffffe00n)).toBe(OK);
    }).then(() =>
      withHost(async (h) => {
        await h.boot('S2');
        await h.writeCfgA();
        expect(await arrAt(h, (31n << 46n) | 0x10001000n)).toBe(OK);
      }),
    ));
  it('C4 fails: unaligned, inside SEAMRR, private HKID 32, >= 2^52', () =>
    withHost(async (h) => {
      await h.boot('S2');
      await h.writeCfgA();
      expect(await arrAt(h, 0x10001100n)).toBe('0xc000010000000001');
      // Inside SEAMRR: the host cannot write there (the server refuses), so only the address is given.
      expect(hex((await h.call(0, { rax: L.SYS_CONFIG, rcx: 0x81fffe00n, rdx: 2n, r8: 32n })).status)).toBe('0xc000010000000001');
      expect(hex((await h.call(0, { rax: L.SYS_CONFIG, rcx: (32n << 46n) | 0x10001000n, rdx: 2n, r8: 32n })).status)).toBe('0xc000010000000001');
      expect(hex((await h.call(0, { rax: L.SYS_CONFIG, rcx: 1n << 52n, rdx: 2n, r8: 32n })).status)).toBe('0xc000010000000001');
    }));
  it('C5 passes with RDX=64 (then fails a later per-TDMR rule); fails with RDX=65', () =>
    withHost(async (h) => {
      await h.boot('S2');
      await h.writeCfgA();
      const arr = [0x10000000n, 0x10000200n, ...new Array<bigint>(62).fill(0n)];
      await h.write(0x10001000, encodeU64s(arr));
      expect(hex((await h.call(0, { rax: L.SYS_CONFIG, rcx: 0x10001000n, rdx: 64n, r8: 32n })).status)).toBe('0xc0000a0100000002');
      expect(hex((await h.call(0, { rax: L.SYS_CONFIG, rcx: 0x10001000n, rdx: 65n, r8: 32n })).status)).toBe('0xc000010000000002');
    }));
  it('C6 passes with RDX=1 (TDMR0 alone); fails with RDX=0', () =>
    withHost(async (h) => {
      await h.boot('S2');
      await h.writeCfgA();
      expect(hex((await h.call(0, { rax: L.SYS_CONFIG, rcx: 0x10001000n, rdx: 0n, r8: 32n })).status)).toBe('0xc000010000000002');
      expect(hex((await h.call(0, { rax: L.SYS_CONFIG, rcx: 0x10001000n, rdx: 1n, r8: 32n })).status)).toBe(OK);
    }));
  it('C7 passes with R8=63 (last private HKID); fails with 31, 64, and reserved bits 63:16', () =>
    withHost(async (h) => {
      await h.boot('S2');
      await h.writeCfgA();
      for (const r8 of [31n, 64n, 0x10020n]) {
        expect(hex((await h.config(r8)).status)).toBe('0xc000010000000008');
      }
      expect(hex((await h.config(63n)).status)).toBe(OK);
      const k = (await h.state())['kot'] as Record<string, { state: string }>;
      expect(k['63']?.state).toBe('HKID_RESERVED');
    }));
});

describe('6.2 per-TDMR rules', () => {
  rule(
    'T1 TDMR_INFO address check (any 512-aligned shared address)',
    { array: [0x10000000n, 0x10000400n], pre: async (h) => h.write(0x10000400, await h.read(0x10000200, 512)) }, { array: [0x10000000n, 0x80000000n], expect: '0xc000010000000001' });
  rule('T2 BASE + SIZE overflow', {}, { edit: (t) => (t[1].size = TWO64 - 0x100000000n), expect: '0xc0000a0000000001' });
  rule('T3 sorted', {}, { array: [0x10000200n, 0x10000000n], expect: '0xc0000a0100000001' });
  rule(
    'T4 no overlap (adjacent TDMRs allowed)',
    {
      edit: (t) => {
        t[1].base = 0x80000000n;
        t[1].size = 0x180000000n;
        t[1].pamt4k = [0x1f0000000n, 0x1800000n];
        t[1].pamt2m = [0x1f1800000n, 0xc000n];
        t[1].pamt1g = [0x1f180c000n, 0x1000n];
        t[1].rsvd = [
          [0x0n, 0x80000000n],
          [0x170000000n, 0x180d000n],
        ];
      },
    },
    { edit: (t) => (t[1].base = 0x40000000n), expect: '0xc0000a0100000001' },
  );
  rule('T5 alignment and size', {}, { edit: (t) => (t[1].size = 0x100001000n), expect: '0xc0000a0000000001' });
  describe('T5 more failures', () => {
    it('unaligned base, zero size', async () => {
      expect(await configWith((t) => (t[1].base = 0x100200000n))).toBe('0xc0000a0000000001');
      expect(await configWith((t) => (t[1].size = 0n))).toBe('0xc0000a0000000001');
    });
  });
  rule('T6 base below 2^52 with zero HKID bits', {}, { edit: (t) => (t[1].base = 0x0000400100000000n), expect: '0xc0000a0000000001' });
  rule('T7 last byte below 2^52 with zero HKID bits', {}, { edit: (t) => ((t[1].base = 0x3fffc0000000n), (t[1].size = 0x80000000n)), expect: '0xc0000a0000000001' });
  rule(
    'R1 null slots only at the tail (OFFSET of a null slot ignored)',
    { edit: (t) => (t[1].rsvd = [[0xf0000000n, 0x1009000n], [0x12345000n, 0n]]) },
    { edit: (t) => (t[1].rsvd = [[0n, 0n], [0xf0000000n, 0x1009000n]]), expect: '0xc0000a2100000001' },
  );
  rule('R2 OFFSET + SIZE overflow', {}, { edit: (t) => (t[0].rsvd[1] = [0x7f000000n, TWO64 - 0x1000n]), expect: '0xc0000a2000000100' });
  rule('R3 sorted', {}, { edit: (t) => (t[0].rsvd = [[0x7f000000n, 0x805000n], [0x0n, 0x100000n]]), expect: '0xc0000a2100000100' });
  rule(
    'R4 no overlap (touching allowed)',
    { edit: (t) => (t[0].rsvd = [[0x0n, 0x100000n], [0x100000n, 0x100000n], [0x7f000000n, 0x805000n]]) },
    { edit: (t) => (t[0].rsvd = [[0x0n, 0x200000n], [0x100000n, 0x100000n]]), expect: '0xc0000a2100000100' },
  );
  rule('R5 4 KiB alignment', {}, { edit: (t) => (t[0].rsvd[0] = [0x800n, 0x100000n]), expect: '0xc0000a2000000000' });
  rule('R6 BASE + OFFSET (+ SIZE) overflow', {}, { edit: (t) => (t[1].rsvd = [[TWO64 - 0x100000000n, 0x1000n]]), expect: '0xc0000a2000000001' });
  rule('R7 contained (may end exactly at the TDMR end)', { edit: (t) => (t[0].rsvd[1] = [0x7f000000n, 0x1000000n]) }, { edit: (t) => (t[0].rsvd[1] = [0x7ff00000n, 0x200000n]), expect: '0xc0000a2000000100' });
  rule('P1 PAMT_1G shape and size', {}, { edit: (t) => (t[0].pamt1g = [0x7f804000n, 0n]), expect: '0xc0000a1000000200' });
  rule('P2 PAMT_2M size >= (SIZE/2M)*16 (exact size passes)', {}, { edit: (t) => (t[1].pamt2m = [0x1f1000000n, 0x7000n]), expect: '0xc0000a1000000101' });
  rule('P3 PAMT_4K size >= (SIZE/4K)*16 (exact size passes)', {}, { edit: (t) => (t[0].pamt4k = [0x7f000000n, 0x7ff000n]), expect: '0xc0000a1000000000' });
  rule(
    "P4 no overlap with earlier TDMRs' PAMTs (touching allowed)",
    {
      edit: (t) => {
        t[0].rsvd[1] = [0x7f000000n, 0x806000n];
        t[1].pamt1g = [0x7f805000n, 0x1000n];
      },
    },
    { edit: (t) => (t[1].pamt1g = [0x7f804000n, 0x1000n]), expect: '0xc0000a1200000201' },
  );
  rule('P5 own PAMTs disjoint (2M vs 1G)', {}, { edit: (t) => (t[0].pamt1g = [0x7f803000n, 0x1000n]), expect: '0xc0000a1200000100' });
  rule(
    'P6 PAMTs only in reserved parts of TDMRs (second case: earlier PAMT in this TDMR)',
    {
      edit: (t) => {
        t[0].pamt4k = [0x1f2000000n, 0x800000n];
        t[0].pamt2m = [0x1f2800000n, 0x4000n];
        t[0].pamt1g = [0x1f2804000n, 0x1000n];
        t[1].rsvd = [[0xf0000000n, 0x2805000n]];
      },
    },
    {
      edit: (t) => {
        t[0].pamt4k = [0x180000000n, 0x800000n];
        t[0].pamt2m = [0x180800000n, 0x4000n];
        t[0].pamt1g = [0x180804000n, 0x1000n];
      },
      expect: '0xc0000a1200010000',
    },
  );
  rule(
    'P7 PAMTs inside CMRs (a chain of adjacent CMRs counts)',
    {
      params: { mcheck: { cmrs: [{ base: '0x0', size: '0x40000000' }, { base: '0x40000000', size: '0x40000000' }, { base: '0x100000000', size: '0x100000000' }] } },
      edit: (t) => {
        t[0].pamt4k = [0x3fc00000n, 0x800000n];
        t[0].rsvd = [
          [0x0n, 0x100000n],
          [0x3fc00000n, 0x800000n],
          [0x7f800000n, 0x5000n],
        ];
      },
    },
    {
      edit: (t) => {
        t[1].pamt4k = [0x2f0000000n, 0x1000000n];
        t[1].pamt2m = [0x2f1000000n, 0x8000n];
        t[1].pamt1g = [0x2f1008000n, 0x1000n];
      },
      expect: '0xc0000a1100000201',
    },
  );
  const tdmr0Of4G: Edit = (t) => {
    t[0].size = 0x100000000n;
    t[0].pamt4k = [0x7e000000n, 0x1000000n];
    t[0].pamt2m = [0x7f000000n, 0x8000n];
    t[0].pamt1g = [0x7f008000n, 0x1000n];
    t[0].rsvd = [
      [0x0n, 0x100000n],
      [0x7e000000n, 0x1009000n],
    ];
  };
  rule(
    'A1 non-reserved parts inside CMRs (a reserved area may cover the CMR gap)',
    {
      edit: (t) => {
        tdmr0Of4G(t);
        t[0].rsvd.push([0x80000000n, 0x80000000n]);
      },
    },
    { edit: tdmr0Of4G, expect: '0xc0000a0200000000' },
  );
});

describe('a valid CONFIG latches what TDMR.INIT uses', () => {
  it('TDMR table, PAMT reserved pages, state', () =>
    withHost(async (h) => {
      await h.boot('S2');
      await h.writeCfgA();
      expect(hex((await h.config()).status)).toBe(OK);
      const s = await h.state();
      const tdmrs = s['tdmrs'] as { base: string; size: string; reserved: unknown[] }[];
      expect(tdmrs.map((t) => [t.base, t.size, t.reserved.length])).toEqual([
        ['0x0', '0x80000000', 2],
        ['0x100000000', '0x100000000', 1],
      ]);
      expect(s['sysState']).toBe('SYSCONFIG_DONE');
      // The host's TDMR_INFO memory is not modified by the module.
      expect(Buffer.from(await h.read(0x10000000, 16)).toString('hex')).toBe(Buffer.from(encodeTdmrInfo({ base: 0n, size: 0x80000000n, pamt1g: [0n, 0n], pamt2m: [0n, 0n], pamt4k: [0n, 0n], rsvd: [] }).subarray(0, 16)).toString('hex'));
    }));
});
