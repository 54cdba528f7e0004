/**
 * Every test vector of spec/module-abi.md section 10.3, each through the server protocol against
 * a spawned `tdxsim serve --stdio` on the `ref` preset, with CFG-A written into simulated memory
 * by the test (mem.write) exactly as a host would. Vectors kept back by the lead (the numbers
 * missing from the table) are covered where the table refers to them ("+#87" and so on).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { presetInput } from '../../../src/platform/presets.js';
import { tdParams } from './cfgA.js';
import { Host, L, ServerClient } from './serverClient.js';
import type { CallOut } from './serverClient.js';

let client: ServerClient;
beforeAll(() => {
  client = new ServerClient();
});
afterAll(async () => {
  await client.close();
});

const TDR = 0x40000000n;
const ALL_ONES = 0xffffffffffffffffn;

const withHost = (fn: (h: Host) => Promise<void>, params: Record<string, unknown> = {}): Promise<void> => Host.using(client, fn, params);

const st = (o: CallOut): string => `0x${o.status.toString(16).padStart(16, '0')}`;

/** +#87: S5 and TDH.MNG.CREATE(TDR, HKID 33). */
async function td87(h: Host): Promise<void> {
  await h.boot('S5');
  expect(st(await h.call(0, { rax: L.MNG_CREATE, rcx: TDR, rdx: 33n }))).toBe('0x0000000000000000');
}
/** +#96: key configured on package 0 (LP0). */
async function td96(h: Host): Promise<void> {
  await td87(h);
  expect((await h.call(0, { rax: L.MNG_KEY_CONFIG, rcx: TDR })).status).toBe(0n);
}
/** +#98: key configured on both packages. */
async function td98(h: Host): Promise<void> {
  await td96(h);
  expect((await h.call(2, { rax: L.MNG_KEY_CONFIG, rcx: TDR })).status).toBe(0n);
}
async function addTdcx(h: Host, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) {
    expect((await h.call(0, { rax: L.MNG_ADDCX, rcx: TDR + BigInt(i * 0x1000), rdx: TDR })).statusName).toBe('TDX_SUCCESS');
  }
}
/** +#102: 6 TDCX and TDH.MNG.INIT with valid TD_PARAMS at 0x10004000. */
async function td102(h: Host): Promise<void> {
  await td98(h);
  await addTdcx(h, 6);
  await h.write(0x10004000, tdParams());
  expect((await h.call(0, { rax: L.MNG_INIT, rcx: TDR, rdx: 0x10004000n })).statusName).toBe('TDX_SUCCESS');
}
/** +#107: one VCPU. */
async function td107(h: Host): Promise<void> {
  await td102(h);
  expect((await h.call(0, { rax: L.VP_CREATE, rcx: 0x4000a000n, rdx: TDR })).status).toBe(0n);
}
/** +#113: VPFLUSHDONE. */
async function td113(h: Host): Promise<void> {
  await td107(h);
  expect((await h.call(0, { rax: L.MNG_VPFLUSHDONE, rcx: TDR })).status).toBe(0n);
}
/** +#121: CACHE.WB done on both packages (via the interrupted path of #118/#119). */
async function td121(h: Host): Promise<void> {
  await td113(h);
  await h.fault('interrupt', 1, 1);
  expect(st(await h.call(0, { rax: L.PHYMEM_CACHE_WB, rcx: 0n }))).toBe('0x8000000300000000');
  expect((await h.call(1, { rax: L.PHYMEM_CACHE_WB, rcx: 1n })).status).toBe(0n);
  expect((await h.call(2, { rax: L.PHYMEM_CACHE_WB, rcx: 0n })).status).toBe(0n);
}
/** +#122: KEY.FREEID. */
async function td122(h: Host): Promise<void> {
  await td121(h);
  expect((await h.call(0, { rax: L.MNG_KEY_FREEID, rcx: TDR })).status).toBe(0n);
}

type Kot = Record<string, { state: string; wbinvdBitmap: number }>;
async function kot(h: Host): Promise<Kot> {
  return (await h.state())['kot'] as Kot;
}
async function sysState(h: Host): Promise<string> {
  return (await h.state())['sysState'] as string;
}

describe('spec 10.3: TDH.SYS.INIT / LP.INIT (vectors 1-11)', () => {
  it('#1 S0 LP0 SYS.INIT → 0x0, RCX..R10 zeroed, SYSINIT_DONE', () =>
    withHost(async (h) => {
      const r = await h.call(0, { rax: L.SYS_INIT, rdx: 0x11n, r8: 0x22n, r9: 0x33n, r10: 0x44n, r11: 0x55n });
      expect(st(r)).toBe('0x0000000000000000');
      expect([r.rcx, r.rdx, r.r8, r.r9, r.r10]).toEqual([0n, 0n, 0n, 0n, 0n]);
      expect(r.r11).toBe(0x55n); // not written by the leaf: unchanged
      expect(await sysState(h)).toBe('SYSINIT_DONE');
    }));
  it('#2 S1 LP1 SYS.INIT → SYS_INIT_NOT_PENDING, regs zeroed', () =>
    withHost(async (h) => {
      await h.boot('S1');
      const r = await h.call(1, { rax: L.SYS_INIT, rdx: 7n, r8: 7n, r9: 7n, r10: 7n });
      expect(st(r)).toBe('0xc000050000000000');
      expect([r.rcx, r.rdx, r.r8, r.r9, r.r10]).toEqual([0n, 0n, 0n, 0n, 0n]);
      expect(await sysState(h)).toBe('SYSINIT_DONE');
    }));
  it('#4 S1 LP0 SYS.INIT(RCX=1) → OPERAND_INVALID|RCX (RCX before state)', () =>
    withHost(async (h) => {
      await h.boot('S1');
      expect(st(await h.call(0, { rax: L.SYS_INIT, rcx: 1n }))).toBe('0xc000010000000001');
    }));
  it('#5 S0, CMR1 base 0x7FFFF000 overlapping CMR0 → CMR_LIST_INVALID, PENDING', () =>
    withHost(
      async (h) => {
        expect(st(await h.call(0, { rax: L.SYS_INIT }))).toBe('0xc0000a2200000000');
        expect(await sysState(h)).toBe('SYSINIT_PENDING');
      },
      { mcheck: { cmrs: [{ base: '0x0', size: '0x80000000' }, { base: '0x7ffff000', size: '0x100000000' }] } },
    ));
  it('#7 S0, 11 KeyID bits, 31 MKTME + 2017 TDX KeyIDs (last private HKID 2048) → 0xC000082500000800', () => {
    const ref = presetInput('ref');
    const msrOverrides = [0, 1, 2, 3].flatMap((cpu) => [
      { cpu, msr: 0x982, value: '0xb00000002' },
      { cpu, msr: 0x87, value: `0x${((2017n << 32n) | 31n).toString(16)}` },
    ]);
    return withHost(
      async (h) => {
        expect(st(await h.call(0, { rax: L.SYS_INIT }))).toBe('0xc000082500000800');
        expect(await sysState(h)).toBe('SYSINIT_PENDING');
      },
      { platform: { ...ref, msrOverrides } },
    );
  });
  it('#8 S0 LP.INIT → LP_INIT_NOT_PENDING, RCX=RDX=R8=0', () =>
    withHost(async (h) => {
      const r = await h.call(0, { rax: L.SYS_LP_INIT, rcx: 1n, rdx: 2n, r8: 3n });
      expect(st(r)).toBe('0xc000050b00000000');
      expect([r.rcx, r.rdx, r.r8]).toEqual([0n, 0n, 0n]);
    }));
  it('#10 S1+LP0 init, LP.INIT again → LP_INIT_DONE', () =>
    withHost(async (h) => {
      await h.boot('S1');
      expect((await h.call(0, { rax: L.SYS_LP_INIT })).status).toBe(0n);
      expect(st(await h.call(0, { rax: L.SYS_LP_INIT }))).toBe('0xc000050300000000');
    }));
  it("#11 S1, LP3's IA32_TSC_ADJUST differs → INCONSISTENT_MSR|0x3B, LP3 stays uninitialized", () =>
    withHost(async (h) => {
      await h.boot('S1');
      await client.call('lp.set', { machine: h.machine, lp: 3, msrs: { '0x3b': '0x1000' } });
      expect(st(await h.call(3, { rax: L.SYS_LP_INIT }))).toBe('0xc00009200000003b');
      const lps = (await h.state())['lps'] as { lpInit: boolean }[];
      expect(lps[3]?.lpInit).toBe(false);
    }));
});

describe('spec 10.3: TDH.SYS.INFO / SYS.RD (vectors 13-32)', () => {
  const info = { rax: L.SYS_INFO, rcx: 0x10002000n, rdx: 1024n, r8: 0x10003000n, r9: 32n };
  it('#13 S0 SYS.INFO → LP_INIT_NOT_DONE, RDX=R9=0', () =>
    withHost(async (h) => {
      const r = await h.call(0, info);
      expect(st(r)).toBe('0xc000050200000000');
      expect([r.rdx, r.r9]).toEqual([0n, 0n]);
    }));
  it('#14 S0 SYS.RD → LP_INIT_NOT_DONE, RDX=-1, R8=0', () =>
    withHost(async (h) => {
      const r = await h.call(0, { rax: L.SYS_RD, rdx: 0x9100000100000008n, r8: 5n });
      expect(st(r)).toBe('0xc000050200000000');
      expect([r.rdx, r.r8]).toEqual([ALL_ONES, 0n]);
    }));
  it('#16 S2 SYS.INFO → 0x0, RDX=1024, R9=32, TDSYSINFO and CMR_INFO written', () =>
    withHost(async (h) => {
      await h.boot('S2');
      const r = await h.call(0, info);
      expect(st(r)).toBe('0x0000000000000000');
      expect([r.rdx, r.r9]).toEqual([1024n, 32n]);
      const s = new DataView((await h.read(0x10002000, 1024)).buffer);
      expect([s.getUint32(4, true), s.getUint16(14, true), s.getUint16(16, true), s.getUint8(18)]).toEqual([0x8086, 5, 1, 1]);
      expect([s.getUint16(32, true), s.getUint16(34, true), s.getUint16(36, true)]).toEqual([64, 16, 16]);
      const c = new DataView((await h.read(0x10003000, 512)).buffer);
      expect([c.getBigUint64(0, true), c.getBigUint64(8, true), c.getBigUint64(16, true), c.getBigUint64(24, true)]).toEqual([0n, 0x80000000n, 0x100000000n, 0x100000000n]);
      for (let i = 2; i < 32; i++) {
        expect([c.getBigUint64(16 * i, true), c.getBigUint64(16 * i + 8, true)]).toEqual([0n, 0n]);
      }
    }));
  it('#17 S2 SYS.INFO(RDX=1023) → OPERAND_INVALID|RDX, RDX=R9=0', () =>
    withHost(async (h) => {
      await h.boot('S2');
      const r = await h.call(0, { ...info, rdx: 1023n });
      expect(st(r)).toBe('0xc000010000000002');
      expect([r.rdx, r.r9]).toEqual([0n, 0n]);
    }));
  it('#19 S2 SYS.INFO(R8=0x10003100) → OPERAND_INVALID|R8, buffer already zero-filled', () =>
    withHost(async (h) => {
      await h.boot('S2');
      await h.write(0x10002000, new Uint8Array(1024).fill(0xaa));
      expect(st(await h.call(0, { ...info, r8: 0x10003100n }))).toBe('0xc000010000000008');
      expect((await h.read(0x10002000, 1024)).every((b) => b === 0)).toBe(true);
    }));
  it('#20 S2 SYS.INFO(R9=31) → OPERAND_INVALID|R9', () =>
    withHost(async (h) => {
      await h.boot('S2');
      expect(st(await h.call(0, { ...info, r9: 31n }))).toBe('0xc000010000000009');
    }));
  const rd = (h: Host, id: bigint): Promise<CallOut> => h.call(0, { rax: L.SYS_RD, rdx: id });
  it('#22 S2 SYS.RD(MAX_RESERVED_PER_TDMR) → R8=16, RDX=0x9100000100000010', () =>
    withHost(async (h) => {
      await h.boot('S2');
      const r = await rd(h, 0x9100000100000009n);
      expect([r.status, r.r8, r.rdx]).toEqual([0n, 16n, 0x9100000100000010n]);
    }));
  it('#23 S2 SYS.RD(PAMT_1G_ENTRY_SIZE) → R8=16, RDX=0x9800000100000000', () =>
    withHost(async (h) => {
      await h.boot('S2');
      const r = await rd(h, 0x9100000100000012n);
      expect([r.status, r.r8, r.rdx]).toEqual([0n, 16n, 0x9800000100000000n]);
    }));
  it('#25 S2 SYS.RD(CMR_BASE[1]) → R8=0x100000000, RDX=0x9000000300000082', () =>
    withHost(async (h) => {
      await h.boot('S2');
      const r = await rd(h, 0x9000000300000081n);
      expect([r.status, r.r8, r.rdx]).toEqual([0n, 0x100000000n, 0x9000000300000082n]);
    }));
  it('#26 S2 SYS.RD(CMR_SIZE[0]) → R8=0x80000000, RDX=0x9000000300000101', () =>
    withHost(async (h) => {
      await h.boot('S2');
      const r = await rd(h, 0x9000000300000100n);
      expect([r.status, r.r8, r.rdx]).toEqual([0n, 0x80000000n, 0x9000000300000101n]);
    }));
  it('#28 S2 SYS.RD(0x9100000100000007, no such field) → FIELD_ID_INCORRECT, RDX=-1, R8=0', () =>
    withHost(async (h) => {
      await h.boot('S2');
      const r = await rd(h, 0x9100000100000007n);
      expect([st(r), r.rdx, r.r8]).toEqual(['0xc0000c0000000000', ALL_ONES, 0n]);
    }));
  it('#29 S2 SYS.RD(LAST_ELEMENT=1) → FIELD_ID_INCORRECT, RDX=-1, R8=0', () =>
    withHost(async (h) => {
      await h.boot('S2');
      const r = await rd(h, 0x9100000500000008n);
      expect([st(r), r.rdx, r.r8]).toEqual(['0xc0000c0000000000', ALL_ONES, 0n]);
    }));
  it('#31 S2 SYS.RD(MAJOR) → R8=1; SYS.RD(MINOR) → R8=5', () =>
    withHost(async (h) => {
      await h.boot('S2');
      const a = await rd(h, 0x0800000100000004n);
      const b = await rd(h, 0x0800000100000003n);
      expect([a.status, a.r8, b.status, b.r8]).toEqual([0n, 1n, 0n, 5n]);
    }));
  it('#32 S2 SYS.RD(MAX_VCPUS_PER_TD) → FIELD_ID_INCORRECT on 1.5.01; SUCCESS on 1.5.06', async () => {
    await withHost(async (h) => {
      await h.boot('S2');
      expect(st(await rd(h, 0x9900000100000008n))).toBe('0xc0000c0000000000');
    });
    await withHost(
      async (h) => {
        await h.boot('S2');
        const r = await rd(h, 0x9900000100000008n);
        expect([r.status, r.r8]).toEqual([0n, 576n]);
      },
      { module: '1.5.06' },
    );
  });
});

describe('spec 10.3: TDH.SYS.CONFIG (vectors 34-67)', () => {
  it('#34 S1 (only LP0, LP1 initialized) → CONFIG_NOT_PENDING, KOT[32] untouched', () =>
    withHost(async (h) => {
      await h.boot('S1');
      await h.call(0, { rax: L.SYS_LP_INIT });
      await h.call(1, { rax: L.SYS_LP_INIT });
      await h.writeCfgA();
      expect(st(await h.config())).toBe('0xc000050c00000000');
      expect(await sysState(h)).toBe('SYSINIT_DONE');
      expect((await kot(h))['32']).toBeUndefined();
    }));
  it('#35 S0 → CONFIG_NOT_PENDING', () =>
    withHost(async (h) => {
      await h.writeCfgA();
      expect(st(await h.config())).toBe('0xc000050c00000000');
    }));
  it('#37 S3 LP1 → CONFIG_NOT_PENDING', () =>
    withHost(async (h) => {
      await h.boot('S3');
      expect(st(await h.config(32n, 1))).toBe('0xc000050c00000000');
    }));
  const s2 = async (h: Host): Promise<void> => {
    await h.boot('S2');
    await h.writeCfgA();
  };
  it('#38 RDX=0 → OPERAND_INVALID|RDX', () =>
    withHost(async (h) => {
      await s2(h);
      expect(st(await h.call(0, { rax: L.SYS_CONFIG, rcx: 0x10001000n, rdx: 0n, r8: 32n }))).toBe('0xc000010000000002');
    }));
  it('#40 R8=31 → OPERAND_INVALID|R8', () =>
    withHost(async (h) => {
      await s2(h);
      expect(st(await h.config(31n))).toBe('0xc000010000000008');
    }));
  it('#41 R8=64 → OPERAND_INVALID|R8', () =>
    withHost(async (h) => {
      await s2(h);
      expect(st(await h.config(64n))).toBe('0xc000010000000008');
    }));
  it('#43 RCX=0x10001100 → OPERAND_INVALID|RCX', () =>
    withHost(async (h) => {
      await s2(h);
      expect(st(await h.call(0, { rax: L.SYS_CONFIG, rcx: 0x10001100n, rdx: 2n, r8: 32n }))).toBe('0xc000010000000001');
    }));
  it('#44 RCX=0x80000000 (inside SEAMRR) → OPERAND_INVALID|RCX', () =>
    withHost(async (h) => {
      await s2(h);
      expect(st(await h.call(0, { rax: L.SYS_CONFIG, rcx: 0x80000000n, rdx: 2n, r8: 32n }))).toBe('0xc000010000000001');
    }));
  it('#46 RCX with HKID 5 (MKTME KeyID): passes C4; array read through KeyID 5 (written through KeyID 5) → 0x0', () =>
    withHost(async (h) => {
      await h.boot('S2');
      await h.writeCfgA();
      await h.write(0x0001400010001000n, new Uint8Array(Buffer.from('00000010000000000002001000000000', 'hex')));
      expect(st(await h.call(0, { rax: L.SYS_CONFIG, rcx: 0x0001400010001000n, rdx: 2n, r8: 32n }))).toBe('0x0000000000000000');
    }));
  it('#47 array[1]=0x10000300 → OPERAND_INVALID|RCX; KOT[32] RESERVED; SYSINIT_DONE', () =>
    withHost(async (h) => {
      await h.boot('S2');
      await h.writeCfgA(undefined, [0x10000000n, 0x10000300n]);
      expect(st(await h.config())).toBe('0xc000010000000001');
      expect((await kot(h))['32']?.state).toBe('HKID_RESERVED');
      expect(await sysState(h)).toBe('SYSINIT_DONE');
    }));
  it('#49 array swapped → NON_ORDERED_TDMR(1)', () =>
    withHost(async (h) => {
      await h.boot('S2');
      await h.writeCfgA(undefined, [0x10000200n, 0x10000000n]);
      expect(st(await h.config())).toBe('0xc0000a0100000001');
    }));
  const variant = (name: string, edit: Parameters<Host['writeCfgA']>[0], expected: string): void => {
    it(`${name} → ${expected}`, () =>
      withHost(async (h) => {
        await h.boot('S2');
        await h.writeCfgA(edit);
        expect(st(await h.config())).toBe(expected);
      }));
  };
  variant('#50 TDMR1.BASE=0x40000000', (t) => (t[1].base = 0x40000000n), '0xc0000a0100000001');
  variant(
    '#52 TDMR0 reserved areas swapped: NON_ORDERED_RESERVED(0,1)',
    (t) =>
      (t[0].rsvd = [
        [0x7f000000n, 0x805000n],
        [0x0n, 0x100000n],
      ]),
    '0xc0000a2100000100',
  );
  variant(
    '#53 TDMR0 reserved areas overlap',
    (t) =>
      (t[0].rsvd = [
        [0x0n, 0x200000n],
        [0x100000n, 0x100000n],
      ]),
    '0xc0000a2100000100',
  );
  variant('#55 TDMR0.RSVD[0]={0,0x100800}: INVALID_RESERVED(0,0)', (t) => (t[0].rsvd[0] = [0x0n, 0x100800n]), '0xc0000a2000000000');
  variant('#56 TDMR0.RSVD[1] ends beyond TDMR: INVALID_RESERVED(0,1)', (t) => (t[0].rsvd[1] = [0x7ff00000n, 0x200000n]), '0xc0000a2000000100');
  variant('#58 TDMR0.PAMT_4K size 0x7FF000: INVALID_PAMT(0,4K)', (t) => (t[0].pamt4k[1] = 0x7ff000n), '0xc0000a1000000000');
  variant('#59 TDMR0.PAMT_1G base 0x7F804800: INVALID_PAMT(0,1G)', (t) => (t[0].pamt1g[0] = 0x7f804800n), '0xc0000a1000000200');
  variant('#61 TDMR0.PAMT_2M base 0x7F7FF000: PAMT_OVERLAP(0,4K,0)', (t) => (t[0].pamt2m[0] = 0x7f7ff000n), '0xc0000a1200000000');
  variant('#62 TDMR1.PAMT_1G base 0x7F804000: PAMT_OVERLAP(1,1G,0)', (t) => (t[1].pamt1g[0] = 0x7f804000n), '0xc0000a1200000201');
  variant(
    '#64 TDMR1 PAMTs in TDMR0 available area: PAMT_OVERLAP(1,4K,0)',
    (t) => {
      t[1].pamt4k[0] = 0x60000000n;
      t[1].pamt2m[0] = 0x61000000n;
      t[1].pamt1g[0] = 0x61008000n;
    },
    '0xc0000a1200000001',
  );
  variant(
    '#65 TDMR1 PAMTs outside CMRs: PAMT_OUTSIDE_CMRS(1,1G)',
    (t) => {
      t[1].pamt4k[0] = 0x2f0000000n;
      t[1].pamt2m[0] = 0x2f1000000n;
      t[1].pamt1g[0] = 0x2f1008000n;
    },
    '0xc0000a1100000201',
  );
  it('#67 after #47 failed, CONFIG(R8=33) → 0x0; KOT[32] leaked RESERVED, KOT[33] RESERVED, HKID 33', () =>
    withHost(async (h) => {
      await h.boot('S2');
      await h.writeCfgA(undefined, [0x10000000n, 0x10000300n]);
      expect(st(await h.config())).toBe('0xc000010000000001');
      await h.writeCfgA();
      expect(st(await h.config(33n))).toBe('0x0000000000000000');
      const k = await kot(h);
      expect([k['32']?.state, k['33']?.state]).toEqual(['HKID_RESERVED', 'HKID_RESERVED']);
      expect(((await h.state())['module'] as { hkid: number }).hkid).toBe(33);
    }));
});

describe('spec 10.3: TDH.SYS.KEY.CONFIG (vectors 68-74)', () => {
  it('#68 S2 → KEY_CONFIG_NOT_PENDING', () =>
    withHost(async (h) => {
      await h.boot('S2');
      expect(st(await h.call(0, { rax: L.SYS_KEY_CONFIG }))).toBe('0xc000050700000000');
    }));
  it('#69-71 S3: LP0 → 0x0; LP1 (same package) → KEY_CONFIGURED; LP3 → 0x0, bitmap 0b11, SYS_READY', () =>
    withHost(async (h) => {
      await h.boot('S3');
      expect(st(await h.call(0, { rax: L.SYS_KEY_CONFIG }))).toBe('0x0000000000000000');
      expect(st(await h.call(1, { rax: L.SYS_KEY_CONFIG }))).toBe('0x0000081500000000');
      expect(((await h.state())['module'] as { pkgConfigBitmap: number }).pkgConfigBitmap).toBe(1);
      expect(st(await h.call(3, { rax: L.SYS_KEY_CONFIG }))).toBe('0x0000000000000000');
      const m = (await h.state())['module'] as { pkgConfigBitmap: number; sysState: string };
      expect([m.pkgConfigBitmap, m.sysState]).toEqual([3, 'SYS_READY']);
    }));
  it('#73 S3, PCONFIG entropy error once: KEY.CONFIG ×2 → KEY_GENERATION_FAILED then 0x0 (bit rolled back)', () =>
    withHost(async (h) => {
      await h.boot('S3');
      await h.fault('pconfig.entropy', 1);
      expect(st(await h.call(0, { rax: L.SYS_KEY_CONFIG }))).toBe('0x8000080000000000');
      expect(((await h.state())['module'] as { pkgConfigBitmap: number }).pkgConfigBitmap).toBe(0);
      expect(st(await h.call(0, { rax: L.SYS_KEY_CONFIG }))).toBe('0x0000000000000000');
    }));
  it('#74 S3, LP2 executing KEY.CONFIG → LP0 KEY.CONFIG → SYS_BUSY', () =>
    withHost(async (h) => {
      await h.boot('S3');
      const call = await h.begin(2, { rax: L.SYS_KEY_CONFIG });
      expect(st(await h.call(0, { rax: L.SYS_KEY_CONFIG }))).toBe('0x8000020200000000');
      expect((await h.end(call)).status).toBe(0n);
      expect((await h.call(0, { rax: L.SYS_KEY_CONFIG })).status).toBe(0n);
    }));
});

describe('spec 10.3: TDH.SYS.TDMR.INIT (vectors 76-85)', () => {
  it('#76/#77/#79/#80 TDMR0: call 1 RDX=0 (next 0x400000), call 255 RDX=0, call 512 RDX=0x80000000, call 513 ALREADY_INITIALIZED RDX=0', () =>
    withHost(async (h) => {
      await h.boot('S4');
      const first = await h.call(0, { rax: L.SYS_TDMR_INIT, rcx: 0n });
      expect([first.status, first.rdx]).toEqual([0n, 0n]);
      const tdmrs = (await h.state())['tdmrs'] as { nextInit: string }[];
      expect(tdmrs[0]?.nextInit).toBe('0x400000');
      const rest = await h.callMany(0, { rax: L.SYS_TDMR_INIT, rcx: 0n }, 511);
      expect([rest[253]?.status, rest[253]?.rdx]).toEqual([0n, 0n]); // call 255
      expect([rest[510]?.status, rest[510]?.rdx]).toEqual([0n, 0x80000000n]); // call 512
      const r = await h.call(0, { rax: L.SYS_TDMR_INIT, rcx: 0n, rdx: 0x1234n });
      expect([st(r), r.rdx]).toEqual(['0x00000a0300000000', 0n]);
    }));
  it('#82 RCX=0x100000 → OPERAND_INVALID|RCX; #83 RCX with HKID 1 bits → OPERAND_INVALID|RCX', () =>
    withHost(async (h) => {
      await h.boot('S4');
      expect(st(await h.call(0, { rax: L.SYS_TDMR_INIT, rcx: 0x100000n }))).toBe('0xc000010000000001');
      expect(st(await h.call(0, { rax: L.SYS_TDMR_INIT, rcx: 0x0000400100000000n }))).toBe('0xc000010000000001');
    }));
  it('#85 TDMR1, 1024th call → RDX=0x200000000', () =>
    withHost(async (h) => {
      await h.boot('S4');
      const rs = await h.callMany(0, { rax: L.SYS_TDMR_INIT, rcx: 0x100000000n }, 1024);
      expect([rs[1023]?.status, rs[1023]?.rdx]).toEqual([0n, 0x200000000n]);
      expect(rs[254]?.rdx).toBe(0x100000000n);
      expect(rs[255]?.rdx).toBe(0x140000000n);
    }));
});

describe('spec 10.3: TD lifecycle (vectors 86-128)', () => {
  it('#86 S4 (no TDMR.INIT) MNG.CREATE → ADDR_RANGE_ERROR|RCX', () =>
    withHost(async (h) => {
      await h.boot('S4');
      expect(st(await h.call(0, { rax: L.MNG_CREATE, rcx: TDR, rdx: 33n }))).toBe('0xc000010100000001');
    }));
  it('#87-89 MNG.CREATE → 0x0; same TDR again → PAGE_METADATA_INCORRECT|RCX; HKID 33 again → HKID_NOT_FREE', () =>
    withHost(async (h) => {
      await td87(h);
      expect(st(await h.call(0, { rax: L.MNG_CREATE, rcx: TDR, rdx: 34n }))).toBe('0xc000030000000001');
      expect(st(await h.call(0, { rax: L.MNG_CREATE, rcx: 0x40001000n, rdx: 33n }))).toBe('0xc000082000000000');
    }));
  it('#91 RDX=31 → |RDX; #92 RCX=0x40002800 → |RCX; #94 RCX in hole → ADDR_RANGE_ERROR|RCX', () =>
    withHost(async (h) => {
      await h.boot('S5');
      expect(st(await h.call(0, { rax: L.MNG_CREATE, rcx: 0x40002000n, rdx: 31n }))).toBe('0xc000010000000002');
      expect(st(await h.call(0, { rax: L.MNG_CREATE, rcx: 0x40002800n, rdx: 34n }))).toBe('0xc000010000000001');
      expect(st(await h.call(0, { rax: L.MNG_CREATE, rcx: 0x90000000n, rdx: 34n }))).toBe('0xc000010100000001');
    }));
  it('#95 +#87 MNG.ADDCX → TD_KEYS_NOT_CONFIGURED', () =>
    withHost(async (h) => {
      await td87(h);
      expect(st(await h.call(0, { rax: L.MNG_ADDCX, rcx: 0x40001000n, rdx: TDR }))).toBe('0x8000081000000000');
    }));
  it('#96-98 MNG.KEY.CONFIG LP0 → 0x0, LP1 → KEY_CONFIGURED, LP2 → 0x0 and KEYS_CONFIGURED', () =>
    withHost(async (h) => {
      await td96(h);
      expect(st(await h.call(1, { rax: L.MNG_KEY_CONFIG, rcx: TDR }))).toBe('0x0000081500000000');
      expect(st(await h.call(2, { rax: L.MNG_KEY_CONFIG, rcx: TDR }))).toBe('0x0000000000000000');
      const tds = ((await h.state())['module'] as { tds: { lifecycle: string }[] }).tds;
      expect(tds[0]?.lifecycle).toBe('TD_KEYS_CONFIGURED');
    }));
  it('#100 5 TDCX, MNG.INIT → TDCS_NOT_ALLOCATED, RCX=0; #101 6 TDCX, RDX=0x10004200 → |RDX', () =>
    withHost(async (h) => {
      await td98(h);
      await addTdcx(h, 5);
      await h.write(0x10004000, tdParams());
      const r = await h.call(0, { rax: L.MNG_INIT, rcx: TDR, rdx: 0x10004000n });
      expect([st(r), r.rcx]).toEqual(['0xc000060600000000', 0n]);
      expect((await h.call(0, { rax: L.MNG_ADDCX, rcx: 0x40006000n, rdx: TDR })).status).toBe(0n);
      expect(st(await h.call(0, { rax: L.MNG_INIT, rcx: TDR, rdx: 0x10004200n }))).toBe('0xc000010000000002');
    }));
  it('#102-104 MNG.INIT → 0x0; again → OP_STATE_INCORRECT; 7th ADDCX → OP_STATE_INCORRECT', () =>
    withHost(async (h) => {
      await td102(h);
      expect(st(await h.call(0, { rax: L.MNG_INIT, rcx: TDR, rdx: 0x10004000n }))).toBe('0xc000060800000000');
      expect(st(await h.call(0, { rax: L.MNG_ADDCX, rcx: 0x40007000n, rdx: TDR }))).toBe('0xc000060800000000');
    }));
  it('#106 6 TDCX before MNG.INIT: VP.CREATE → OP_STATE_INCORRECT', () =>
    withHost(async (h) => {
      await td98(h);
      await addTdcx(h, 6);
      expect(st(await h.call(0, { rax: L.VP_CREATE, rcx: 0x4000a000n, rdx: TDR }))).toBe('0xc000060800000000');
    }));
  it('#107 +#102 VP.CREATE → 0x0, PT_TDVPR, chldcnt += 1', () =>
    withHost(async (h) => {
      await td102(h);
      expect(st(await h.call(0, { rax: L.VP_CREATE, rcx: 0x4000a000n, rdx: TDR }))).toBe('0x0000000000000000');
      const md = await h.call(0, { rax: L.PHYMEM_PAGE_RDMD, rcx: 0x4000a000n });
      expect([md.status, md.rcx, md.rdx]).toEqual([0n, 6n, TDR]);
      const tds = ((await h.state())['module'] as { tds: { chldcnt: number }[] }).tds;
      expect(tds[0]?.chldcnt).toBe(7);
    }));
  it('#109 +#102, no SEPT pages: PAGE.ADD → EPT_WALK_FAILED|RCX, RCX=0x8000000000000000, RDX=3', () =>
    withHost(async (h) => {
      await td102(h);
      const r = await h.call(0, { rax: L.MEM_PAGE_ADD, rcx: 0n, rdx: TDR, r8: 0x4000b000n, r9: 0x10005000n });
      expect([st(r), r.rcx, r.rdx]).toEqual(['0xc0000b0000000001', 0x8000000000000000n, 3n]);
    }));
  it('#110 +#102 RECLAIM(TDR) → LIFECYCLE_STATE_INCORRECT, RCX=4, RDX=0, R8=0', () =>
    withHost(async (h) => {
      await td102(h);
      const r = await h.call(0, { rax: L.PHYMEM_PAGE_RECLAIM, rcx: TDR, rdx: 9n, r8: 9n });
      expect([st(r), r.rcx, r.rdx, r.r8]).toEqual(['0xc000060700000000', 4n, 0n, 0n]);
    }));
  it('#112 S5 RECLAIM(0x40010800) → OPERAND_INVALID|RCX', () =>
    withHost(async (h) => {
      await h.boot('S5');
      expect(st(await h.call(0, { rax: L.PHYMEM_PAGE_RECLAIM, rcx: 0x40010800n }))).toBe('0xc000010000000001');
    }));
  it('#113 +#107 VPFLUSHDONE → 0x0, BLOCKED, KOT[33] FLUSHED with bitmap 0b11', () =>
    withHost(async (h) => {
      await td113(h);
      expect((await kot(h))['33']).toEqual({ state: 'HKID_FLUSHED', wbinvdBitmap: 3 });
      const tds = ((await h.state())['module'] as { tds: { lifecycle: string }[] }).tds;
      expect(tds[0]?.lifecycle).toBe('TD_BLOCKED');
    }));
  it('#115 CACHE.WB(RCX=2) → |RCX; #116 no FLUSHED HKID → NO_HKID_READY_TO_WBCACHE', () =>
    withHost(async (h) => {
      await h.boot('S5');
      expect(st(await h.call(0, { rax: L.PHYMEM_CACHE_WB, rcx: 2n }))).toBe('0xc000010000000001');
      expect(st(await h.call(0, { rax: L.PHYMEM_CACHE_WB, rcx: 0n }))).toBe('0x0000082100000000');
    }));
  it('#118 interrupt after sub-block 1 → INTERRUPTED_RESUMABLE, pkg0 intr_point 2; #119 LP1 resume → bitmap 0b10; #121 LP2 → 0b00', () =>
    withHost(async (h) => {
      await td113(h);
      await h.fault('interrupt', 1, 1);
      expect(st(await h.call(0, { rax: L.PHYMEM_CACHE_WB, rcx: 0n }))).toBe('0x8000000300000000');
      const wbt = ((await h.state())['module'] as { wbt: { intrPoint: number }[] }).wbt;
      expect(wbt[0]?.intrPoint).toBe(2);
      expect(st(await h.call(1, { rax: L.PHYMEM_CACHE_WB, rcx: 1n }))).toBe('0x0000000000000000');
      expect((await kot(h))['33']?.wbinvdBitmap).toBe(2);
      expect(st(await h.call(2, { rax: L.PHYMEM_CACHE_WB, rcx: 0n }))).toBe('0x0000000000000000');
      expect((await kot(h))['33']?.wbinvdBitmap).toBe(0);
    }));
  it('#122 KEY.FREEID → 0x0, TEARDOWN, KOT[33] FREE; #124 RECLAIM TDCX → RCX=5, RDX=TDR, R8=0; #125 RECLAIM TDR → RCX=4', () =>
    withHost(async (h) => {
      await td122(h);
      expect((await kot(h))['33']).toBeUndefined();
      const r = await h.call(0, { rax: L.PHYMEM_PAGE_RECLAIM, rcx: 0x40001000n });
      expect([r.status, r.rcx, r.rdx, r.r8]).toEqual([0n, 5n, TDR, 0n]);
      expect((await h.call(0, { rax: L.PHYMEM_PAGE_RDMD, rcx: 0x40001000n })).rcx).toBe(0n);
      // TDR still has children: TD_ASSOCIATED_PAGES_EXIST.
      expect(st(await h.call(0, { rax: L.PHYMEM_PAGE_RECLAIM, rcx: TDR }))).toBe('0xc000040000000000');
      for (const pa of [0x40002000n, 0x40003000n, 0x40004000n, 0x40005000n, 0x40006000n, 0x4000a000n]) {
        expect((await h.call(0, { rax: L.PHYMEM_PAGE_RECLAIM, rcx: pa })).status).toBe(0n);
      }
      const t = await h.call(0, { rax: L.PHYMEM_PAGE_RECLAIM, rcx: TDR });
      expect([t.status, t.rcx, t.rdx, t.r8]).toEqual([0n, 4n, 0n, 0n]);
      // Linux then flushes the TDR's global-KeyID lines.
      expect((await h.call(0, { rax: L.PHYMEM_PAGE_WBINVD, rcx: 0x0008000040000000n })).status).toBe(0n);
    }));
  it('#127 S5+#87 PAGE.WBINVD(TDR with HKID 32) → PAGE_METADATA_INCORRECT|RCX', () =>
    withHost(async (h) => {
      await td87(h);
      expect(st(await h.call(0, { rax: L.PHYMEM_PAGE_WBINVD, rcx: 0x0008000040000000n }))).toBe('0xc000030000000001');
    }));
  it('#128 +#122 MNG.CREATE(0x40020000, 33) → 0x0 (HKID reusable)', () =>
    withHost(async (h) => {
      await td122(h);
      expect(st(await h.call(0, { rax: L.MNG_CREATE, rcx: 0x40020000n, rdx: 33n }))).toBe('0x0000000000000000');
    }));
});

describe('spec 10.3: dispatcher, shutdown, update, kexec, 1.0 (vectors 130-146)', () => {
  it('#130 RAX reserved bit 56 → OPERAND_INVALID|RAX; #131 VP.INIT v1 on 1.5.01 → OPERAND_INVALID|RAX', () =>
    withHost(async (h) => {
      await h.boot('S5');
      expect(st(await h.call(0, { rax: 0x0100000000000021n }))).toBe('0xc000010000000000');
      expect(st(await h.call(0, { rax: 22n | (1n << 16n) }))).toBe('0xc000010000000000');
    }));
  it('#133 S0 RAX=69 → SYS_NOT_READY (before the unknown-leaf check)', () =>
    withHost(async (h) => {
      expect(st(await h.call(0, { rax: 69n }))).toBe('0xc000050500000000');
    }));
  it('#134 S5 SYS.SHUTDOWN(RCX=1) → OPERAND_INVALID|RCX', () =>
    withHost(async (h) => {
      await h.boot('S5');
      expect(st(await h.call(0, { rax: L.SYS_SHUTDOWN, rcx: 1n }))).toBe('0xc000010000000001');
    }));
  it('#136 S5, LP2 inside a SEAMCALL: SYS.SHUTDOWN → SYS_BUSY, state back to READY', () =>
    withHost(async (h) => {
      await h.boot('S5');
      const call = await h.begin(2, { rax: L.MNG_CREATE, rcx: TDR, rdx: 33n });
      expect(st(await h.call(0, { rax: L.SYS_SHUTDOWN, rcx: 0n }))).toBe('0x8000020200000000');
      expect(await sysState(h)).toBe('SYS_READY');
      expect((await h.end(call)).status).toBe(0n);
    }));
  it('#135/#137 SYS.SHUTDOWN → 0x0; then LP1 SYS.RD → SYS_SHUTDOWN with registers unchanged', () =>
    withHost(async (h) => {
      await h.boot('S5');
      expect(st(await h.call(0, { rax: L.SYS_SHUTDOWN, rcx: 0n }))).toBe('0x0000000000000000');
      const r = await h.call(1, { rax: L.SYS_RD, rdx: 0x9100000100000008n, r8: 0x77n });
      expect([st(r), r.rdx, r.r8]).toEqual(['0xc000050600000000', 0x9100000100000008n, 0x77n]);
      // LP.SHUTDOWN still runs (no-op on 1.5).
      expect((await h.call(1, { rax: L.SYS_LP_SHUTDOWN })).status).toBe(0n);
    }));
  it('#139 S3 SYS.SHUTDOWN → SYS_NOT_READY; #140 S0 SYS.UPDATE → SYS_STATE_INCORRECT', async () => {
    await withHost(async (h) => {
      await h.boot('S3');
      expect(st(await h.call(0, { rax: L.SYS_SHUTDOWN, rcx: 0n }))).toBe('0xc000050500000000');
    });
    await withHost(async (h) => {
      expect(st(await h.call(0, { rax: L.SYS_UPDATE }))).toBe('0xc000050800000000');
    });
  });
  it('#142/#143/#145 S5 then kexec (module state kept): SYS.INIT → NOT_PENDING, LP1 LP.INIT → LP_INIT_NOT_PENDING, CONFIG → CONFIG_NOT_PENDING', () =>
    withHost(async (h) => {
      await h.boot('S5');
      // kexec: a new kernel on the same platform and module; the module sees nothing of it.
      expect(st(await h.call(0, { rax: L.SYS_INIT }))).toBe('0xc000050000000000');
      expect(st(await h.call(1, { rax: L.SYS_LP_INIT }))).toBe('0xc000050b00000000');
      expect(st(await h.config())).toBe('0xc000050c00000000');
      // SYS.RD still works on LPs the old kernel initialized.
      expect((await h.call(1, { rax: L.SYS_RD, rdx: 0x9100000100000008n })).r8).toBe(64n);
    }));
  it('#146 [1.0] LP.SHUTDOWN → 0x0, SYS_SHUTDOWN; later SYS.INIT on LP1 → SYS_SHUTDOWN', () =>
    withHost(
      async (h) => {
        expect(st(await h.call(0, { rax: L.SYS_LP_SHUTDOWN }))).toBe('0x0000000000000000');
        expect(await sysState(h)).toBe('SYS_SHUTDOWN');
        expect(st(await h.call(1, { rax: L.SYS_INIT }))).toBe('0xc000050600000000');
      },
      { module: '1.0' },
    ));
});
