/**
 * The TDR and the TDCS management fields are laid out in their pages as the module lays them
 * out: after TDH.MNG.CREATE, KEY.CONFIG, ADDCX and INIT the TDR page read back through the
 * module's global private KeyID holds LIFECYCLE_STATE, NUM_TDCX, CHLDCNT, TDCX_PA[] and HKID at
 * the offsets of tdr_tdcs_fields_lookup.c; MNG.RD of a field equals those bytes; a host read
 * through KeyID 0 sees zeros and one through another private KeyID is poison.
 * @see intel/tdx-module 1.5.01 (72d8cff) include/auto_gen/tdr_tdcs_fields_lookup.c
 */
import { describe, expect, it } from 'vitest';

import { cpuId } from '../../../src/base/ids.js';
import type { ModuleMachine } from '../../../src/machine/moduleMachine.js';
import { TDCS_MGMT_LAYOUT, TDR_LAYOUT, TDVPS_MGMT_LAYOUT } from '../../../src/module/tdLayout.js';
import { preset } from '../../../src/platform/presets.js';
import { seamcallRegs as call, vmxModuleMachine } from '../../__test-helpers__/moduleMachine.js';
import { configureCfgA, tdParams } from './cfgA.js';

const TDR = 0x40000000;
const HKID = 33;
const LEAF = { VP_ENTER: 0n, VP_RD: 26n, MNG_ADDCX: 1n, VP_ADDCX: 4n, MNG_KEY_CONFIG: 8n, MNG_CREATE: 9n, VP_CREATE: 10n, MNG_RD: 11n, VP_FLUSH: 18n, VPFLUSHDONE: 19n, KEY_FREEID: 20n, MNG_INIT: 21n, VP_INIT: 22n, CACHE_WB: 40n } as const;


/** The REF preset booted to S5 (as in inprocess.spec.ts), then a TD created and initialized. */
function tdInitialized(): ModuleMachine {
  const spec = preset('ref');
  if (spec === undefined) {
    throw new Error('no ref preset');
  }
  const m = vmxModuleMachine(spec);
  expect(call(m, 0, { rax: 33n }).rax).toBe(0n);
  for (let lp = 0; lp < 4; lp++) {
    expect(call(m, lp, { rax: 35n }).rax).toBe(0n);
  }
  configureCfgA(m);
  expect(call(m, 0, { rax: LEAF.MNG_CREATE, rcx: BigInt(TDR), rdx: BigInt(HKID) }).rax).toBe(0n);
  return m;
}

function finishInit(m: ModuleMachine): void {
  expect(call(m, 0, { rax: LEAF.MNG_KEY_CONFIG, rcx: BigInt(TDR) }).rax).toBe(0n);
  expect(call(m, 2, { rax: LEAF.MNG_KEY_CONFIG, rcx: BigInt(TDR) }).rax).toBe(0n);
  for (let i = 1; i <= 6; i++) {
    expect(call(m, 0, { rax: LEAF.MNG_ADDCX, rcx: BigInt(TDR + i * 0x1000), rdx: BigInt(TDR) }).rax).toBe(0n);
  }
  m.platform.store(m.platform.cpu(cpuId(0)), 0x10004000, tdParams(), 0, 'host');
  expect(call(m, 0, { rax: LEAF.MNG_INIT, rcx: BigInt(TDR), rdx: 0x10004000n }).rax).toBe(0n);
}

/** Read [pa, pa+len) through `key` as the platform sees it (caches included), or the poisoned PA. */
function peek(m: ModuleMachine, pa: number, len: number, key: number): DataView | number {
  const r = m.platform.load(m.platform.cpu(cpuId(1)), pa, len, key);
  return r.ok ? new DataView(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength) : r.poisonPa;
}
function view(m: ModuleMachine, pa: number, len: number, key: number): DataView {
  const v = peek(m, pa, len, key);
  if (typeof v === 'number') {
    throw new Error(`poison at 0x${v.toString(16)}`);
  }
  return v;
}

/** The TDR fields decoded from the page bytes at the source's offsets. */
function tdrFields(v: DataView): Record<string, number | bigint | bigint[]> {
  const L = TDR_LAYOUT;
  return {
    fatal: v.getUint8(L.FATAL.offset),
    numTdcx: v.getUint32(L.NUM_TDCX.offset, true),
    chldcnt: v.getBigUint64(L.CHLDCNT.offset, true),
    lifecycle: v.getUint32(L.LIFECYCLE_STATE.offset, true),
    tdcxPa: [...Array(L.TDCX_PA.elems).keys()].map((i) => v.getBigUint64(L.TDCX_PA.offset + 8 * i, true)),
    hkid: v.getUint16(L.HKID.offset, true),
    pkgConfigBitmap: v.getBigUint64(L.PKG_CONFIG_BITMAP.offset, true),
  };
}

describe('TD control structures in their pages', () => {
  it('offsets are the ones of tdr_tdcs_fields_lookup.c', () => {
    expect(Object.entries(TDR_LAYOUT).map(([k, f]) => `${k}@0x${f.offset.toString(16)}/${f.size}x${f.elems}`)).toEqual([
      'FATAL@0x0/1x1',
      'NUM_TDCX@0x4/4x1',
      'CHLDCNT@0x8/8x1',
      'LIFECYCLE_STATE@0x10/4x1',
      'TDCX_PA@0x18/8x9',
      'HKID@0x100/2x1',
      'PKG_CONFIG_BITMAP@0x108/8x1',
    ]);
    expect(Object.entries(TDCS_MGMT_LAYOUT).map(([k, f]) => `${k}@0x${f.offset.toString(16)}/${f.size}`)).toEqual([
      'NUM_VCPUS@0x0/4',
      'NUM_ASSOC_VCPUS@0x4/4',
      'OP_STATE@0x8/4',
      'NUM_L2_VMS@0x10/2',
    ]);
  });

  it('after MNG.CREATE the TDR holds HKID and TD_HKID_ASSIGNED; the rest of the page is zero', () => {
    const m = tdInitialized();
    const gk = m.module.state.hkid;
    const v = view(m, TDR, 4096, gk);
    expect(tdrFields(v)).toEqual({ fatal: 0, numTdcx: 0, chldcnt: 0n, lifecycle: 0, tdcxPa: Array(9).fill(0n), hkid: HKID, pkgConfigBitmap: 0n });
    const nonZero = [...new Uint8Array(v.buffer, v.byteOffset, 4096).entries()].filter(([, b]) => b !== 0).map(([i]) => i);
    expect(nonZero).toEqual([0x100]);
  });

  it('after KEY.CONFIG, ADDCX and INIT the TDR and TDCS bytes hold the fields; MNG.RD equals them', () => {
    const m = tdInitialized();
    finishInit(m);
    const gk = m.module.state.hkid;
    const unit = 2n ** BigInt(m.platform.keyIdShift);
    const tdr = tdrFields(view(m, TDR, 0x140, gk));
    expect(tdr).toEqual({
      fatal: 0,
      numTdcx: 6,
      chldcnt: 6n,
      lifecycle: 1,
      tdcxPa: [1, 2, 3, 4, 5, 6, 0, 0, 0].map((i) => (i === 0 ? 0n : BigInt(TDR + i * 0x1000) + BigInt(HKID) * unit)),
      hkid: HKID,
      pkgConfigBitmap: 3n,
    });
    // The TDCS management fields, through the TD's own HKID.
    const tdcs = view(m, TDR + 0x1000, 64, HKID);
    expect([tdcs.getUint32(0, true), tdcs.getUint32(4, true), tdcs.getUint32(8, true), tdcs.getUint16(0x10, true)]).toEqual([0, 0, 1, 0]);
    // MNG.RD of a field equals the bytes at its offset.
    const rd = (id: bigint): bigint => {
      const r = call(m, 0, { rax: LEAF.MNG_RD, rcx: BigInt(TDR), rdx: id });
      expect(r.rax).toBe(0n);
      return r.r8;
    };
    expect(rd(0x8010_0002_0000_0002n)).toBe(BigInt(tdr.numTdcx as number));
    expect(rd(0x8010_0003_0000_0004n)).toBe(tdr.chldcnt);
    expect(rd(0x8010_0002_0000_0005n)).toBe(BigInt(tdr.lifecycle as number));
    expect(rd(0x8110_0001_0000_0001n)).toBe(BigInt(tdr.hkid as number));
    expect(rd(0x8110_0003_0000_0002n)).toBe(tdr.pkgConfigBitmap);
    expect(rd(0x9010_0002_0000_0004n)).toBe(BigInt(tdcs.getUint32(8, true)));
  });

  it('the host sees zeros through KeyID 0 and poison through a wrong private KeyID, before and after write-back', () => {
    const m = tdInitialized();
    finishInit(m);
    const gk = m.module.state.hkid;
    for (const flushed of [false, true]) {
      if (flushed) {
        for (const c of m.platform.cpus) {
          m.platform.wbinvdNow(c);
        }
      }
      const host = view(m, TDR, 0x140, 0);
      expect([...new Uint8Array(host.buffer, host.byteOffset, 0x140)].every((b) => b === 0)).toBe(true);
      expect(peek(m, TDR, 64, HKID)).toBe(TDR);
      expect(peek(m, TDR + 0x1000, 64, gk)).toBe(TDR + 0x1000);
      // The module's own KeyID still reads the fields from memory once the lines are written back.
      expect(tdrFields(view(m, TDR, 0x140, gk)).lifecycle).toBe(1);
    }
  });

  it('VPFLUSHDONE and KEY.FREEID store the new lifecycle state', () => {
    const m = tdInitialized();
    finishInit(m);
    const gk = m.module.state.hkid;
    expect(call(m, 0, { rax: LEAF.VPFLUSHDONE, rcx: BigInt(TDR) }).rax).toBe(0n);
    expect(tdrFields(view(m, TDR, 0x140, gk)).lifecycle).toBe(2);
    expect(call(m, 0, { rax: LEAF.CACHE_WB, rcx: 0n }).rax).toBe(0n);
    expect(call(m, 2, { rax: LEAF.CACHE_WB, rcx: 0n }).rax).toBe(0n);
    expect(call(m, 0, { rax: LEAF.KEY_FREEID, rcx: BigInt(TDR) }).rax).toBe(0n);
    expect(tdrFields(view(m, TDR, 0x140, gk)).lifecycle).toBe(3);
  });

  it('VP.CREATE/ADDCX count in TDR CHLDCNT; VP.INIT and VP.FLUSH store NUM_VCPUS and NUM_ASSOC_VCPUS in the TDCS', () => {
    const m = tdInitialized();
    finishInit(m);
    const gk = m.module.state.hkid;
    const TDVPR = TDR + 0xa000;
    const chldcnt = (): bigint => tdrFields(view(m, TDR, 0x140, gk)).chldcnt as bigint;
    const tdcs = (): number[] => {
      const v = view(m, TDR + 0x1000, 64, HKID);
      return [v.getUint32(TDCS_MGMT_LAYOUT.NUM_VCPUS.offset, true), v.getUint32(TDCS_MGMT_LAYOUT.NUM_ASSOC_VCPUS.offset, true)];
    };
    expect(call(m, 0, { rax: LEAF.VP_CREATE, rcx: BigInt(TDVPR), rdx: BigInt(TDR) }).rax).toBe(0n);
    expect(chldcnt()).toBe(7n);
    for (let i = 1; i <= 5; i++) {
      expect(call(m, 0, { rax: LEAF.VP_ADDCX, rcx: BigInt(TDVPR + i * 0x1000), rdx: BigInt(TDVPR) }).rax).toBe(0n);
    }
    expect(chldcnt()).toBe(12n);
    expect(tdcs()).toEqual([0, 0]);
    expect(call(m, 1, { rax: LEAF.VP_INIT, rcx: BigInt(TDVPR) }).rax).toBe(0n);
    expect(tdcs()).toEqual([1, 1]);
    expect(call(m, 1, { rax: LEAF.VP_FLUSH, rcx: BigInt(TDVPR) }).rax).toBe(0n);
    expect(tdcs()).toEqual([1, 0]);
  });

  it('the TDVPS management fields VP.RD reads are in the TDVPR page at the offsets of tdvps_fields_lookup.c, through the TD\'s HKID', () => {
    const m = tdInitialized();
    finishInit(m);
    const TDVPR = TDR + 0xa000;
    const L = TDVPS_MGMT_LAYOUT;
    expect(Object.fromEntries(Object.entries(L).map(([k, f]) => [k, [f.offset, f.size]]))).toEqual({
      VCPU_STATE: [0x100, 1],
      VCPU_INDEX: [0x102, 4],
      NUM_TDVPS_PAGES: [0x107, 1],
      ASSOC_LPID: [0x1c8, 4],
      VCPU_EPOCH: [0x1d0, 8],
    });
    const tdvps = (): number[] => {
      const v = view(m, TDVPR, 0x200, HKID);
      return [v.getUint8(L.VCPU_STATE.offset), v.getUint32(L.VCPU_INDEX.offset, true), v.getUint8(L.NUM_TDVPS_PAGES.offset), v.getUint32(L.ASSOC_LPID.offset, true)];
    };
    const vpRd = (id: bigint, lp = 1): bigint => {
      const r = call(m, lp, { rax: LEAF.VP_RD, rcx: BigInt(TDVPR), rdx: id });
      expect(r.rax).toBe(0n);
      return r.r8;
    };
    // VP.CREATE: num_tdvps_pages = 1, assoc_lpid = -1 (tdh_vp_create.c).
    expect(call(m, 0, { rax: LEAF.VP_CREATE, rcx: BigInt(TDVPR), rdx: BigInt(TDR) }).rax).toBe(0n);
    expect(tdvps()).toEqual([0, 0, 1, 0xffff_ffff]);
    for (let i = 1; i <= 5; i++) {
      expect(call(m, 0, { rax: LEAF.VP_ADDCX, rcx: BigInt(TDVPR + i * 0x1000), rdx: BigInt(TDVPR) }).rax).toBe(0n);
    }
    expect(tdvps()).toEqual([0, 0, 6, 0xffff_ffff]);
    // VP.INIT on LP 1: initialized, index 0, associated with LP 1; VP.RD (on LP 1) reads the same.
    expect(call(m, 1, { rax: LEAF.VP_INIT, rcx: BigInt(TDVPR) }).rax).toBe(0n);
    expect(tdvps()).toEqual([1, 0, 6, 1]);
    expect([vpRd(0xa020_0002_0000_0002n), vpRd(0xa020_0000_0000_0003n), vpRd(0xa020_0002_0000_0004n)]).toEqual([0n, 6n, 1n]);
    // The lines are dirty in LP 1's cache under the TD's HKID; the host reads zeros through
    // KeyID 0 and poison through the global KeyID, before and after write-back.
    const line = (off: number): number => (TDVPR + off) / 64;
    expect([line(0x100), line(0x1c0)].map((l) => m.platform.cpu(cpuId(1)).cache.lookup(HKID, l)?.seg.dirty)).toEqual([true, true]);
    const gk = m.module.state.hkid;
    for (const flushed of [false, true]) {
      if (flushed) {
        m.platform.wbinvdNow(m.platform.cpu(cpuId(1)));
      }
      const host = view(m, TDVPR + 0x100, 0x100, 0);
      expect([...new Uint8Array(host.buffer, host.byteOffset, 0x100)].every((b) => b === 0)).toBe(true);
      expect(peek(m, TDVPR + 0x100, 64, gk)).toBe(TDVPR + 0x100);
      expect(tdvps()).toEqual([1, 0, 6, 1]);
    }
    // VP.FLUSH on LP 1: assoc_lpid back to -1.
    expect(call(m, 1, { rax: LEAF.VP_FLUSH, rcx: BigInt(TDVPR) }).rax).toBe(0n);
    expect(tdvps()).toEqual([1, 0, 6, 0xffff_ffff]);
  });
});
