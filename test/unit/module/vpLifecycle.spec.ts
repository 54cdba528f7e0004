/**
 * The VCPU side of the TD lifecycle as the module source runs it (audit rows 1-4, 14, 19, 26),
 * through the SEAMCALL server on the `ref` preset: TDH.VP.ADDCX, TDH.VP.INIT's TDCX and VCPU-count
 * checks and its LP association, TDH.VP.FLUSH's check order, TDH.MNG.VPFLUSHDONE refusing while a
 * VCPU is associated, and teardown with every page reclaimed. Every status is asserted.
 * @see intel/tdx-module 1.5.01 (72d8cff) tdh_vp_addcx.c, tdh_vp_init.c, tdh_vp_flush.c,
 *   tdh_mng_vpflushdone.c, tdh_phymem_page_reclaim.c, tdh_phymem_page_wbinvd.c, tdh_mem_sept_add.c
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SEPT_ADD_OP_STATES } from '../../../src/module/leaves/tdhMemSeptAdd.js';
import { VP_ADDCX_OP_STATES } from '../../../src/module/leaves/tdhVpAddcx.js';
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
const TDVPR = 0x4000a000n;
/** The five TDCX pages of TDVPS_BASE_SIZE 0x6000: 0x4000b000-0x4000f000. */
const TDCX = [0, 1, 2, 3, 4].map((i) => 0x4000b000n + BigInt(i * 0x1000));

const SUCCESS = '0x0000000000000000';
const TDCX_NUM_INCORRECT = '0xc000061000000000';
const VCPU_NOT_ASSOCIATED = '0x8000070200000000';
const FLUSHVP_NOT_DONE = '0x8000082400000000';
const VCPU_STATE_INCORRECT = '0xc000070000000000';
const MAX_VCPUS_EXCEEDED = '0xc000070500000000';

const st = (o: CallOut): string => `0x${o.status.toString(16).padStart(16, '0')}`;

const withHost = (fn: (h: Host) => Promise<void>, params: Record<string, unknown> = {}): Promise<void> => Host.using(client, fn, params);

/** S5, then MNG.CREATE (HKID 33), KEY.CONFIG on both packages, `tdcs` TDCS pages, MNG.INIT. */
async function tdInitialized(h: Host, params: Parameters<typeof tdParams>[0] = {}, tdcs = 6): Promise<void> {
  await h.boot('S5');
  expect(st(await h.call(0, { rax: L.MNG_CREATE, rcx: TDR, rdx: 33n }))).toBe(SUCCESS);
  expect(st(await h.call(0, { rax: L.MNG_KEY_CONFIG, rcx: TDR }))).toBe(SUCCESS);
  expect(st(await h.call(2, { rax: L.MNG_KEY_CONFIG, rcx: TDR }))).toBe(SUCCESS);
  for (let i = 1; i <= tdcs; i++) {
    expect(st(await h.call(0, { rax: L.MNG_ADDCX, rcx: TDR + BigInt(i * 0x1000), rdx: TDR }))).toBe(SUCCESS);
  }
  await h.write(0x10004000, tdParams(params));
  expect(st(await h.call(0, { rax: L.MNG_INIT, rcx: TDR, rdx: 0x10004000n }))).toBe(SUCCESS);
}

async function vpAddcxAll(h: Host, tdvpr = TDVPR, pages = TDCX): Promise<void> {
  for (const pa of pages) {
    expect(st(await h.call(0, { rax: L.VP_ADDCX, rcx: pa, rdx: tdvpr }))).toBe(SUCCESS);
  }
}

interface TdView {
  chldcnt: number;
  numVcpus: number;
  numAssocVcpus: number;
  lifecycle: string;
}
async function td(h: Host): Promise<TdView | undefined> {
  return ((await h.state())['module'] as { tds: TdView[] }).tds[0];
}

describe('TDH.VP.ADDCX / VP.INIT / VP.FLUSH / MNG.VPFLUSHDONE (audit rows 1-4)', () => {
  it('a TD from MNG.CREATE through VP.ADDCX, VP.INIT on LP1, VP.FLUSH and teardown: every status', () =>
    withHost(async (h) => {
      await tdInitialized(h);
      expect(st(await h.call(0, { rax: L.VP_CREATE, rcx: TDVPR, rdx: TDR }))).toBe(SUCCESS);
      // Row 1: without its TDCX pages the VCPU cannot be initialized.
      expect(st(await h.call(1, { rax: L.VP_INIT, rcx: TDVPR }))).toBe(TDCX_NUM_INCORRECT);
      // Row 2: VP.FLUSH with two errors at once (no TDCX pages, not associated with LP0):
      // map_tdvps() comes first, so TDCX_NUM_INCORRECT wins.
      expect(st(await h.call(0, { rax: L.VP_FLUSH, rcx: TDVPR }))).toBe(TDCX_NUM_INCORRECT);
      await vpAddcxAll(h);
      const md = await h.call(0, { rax: L.PHYMEM_PAGE_RDMD, rcx: TDCX[0]! });
      expect([st(md), md.rcx, md.rdx, md.r8]).toEqual([SUCCESS, 5n, TDR, 0n]);
      expect((await td(h))?.chldcnt).toBe(6 + 1 + 5);
      // Complete TDVPS, never associated: now VCPU_NOT_ASSOCIATED.
      expect(st(await h.call(0, { rax: L.VP_FLUSH, rcx: TDVPR }))).toBe(VCPU_NOT_ASSOCIATED);
      expect(st(await h.call(1, { rax: L.VP_INIT, rcx: TDVPR }))).toBe(SUCCESS);
      expect(await td(h)).toMatchObject({ numVcpus: 1, numAssocVcpus: 1 });
      expect(st(await h.call(1, { rax: L.VP_INIT, rcx: TDVPR }))).toBe(VCPU_STATE_INCORRECT);
      expect(st(await h.call(0, { rax: L.VP_ADDCX, rcx: 0x40010000n, rdx: TDVPR }))).toBe(VCPU_STATE_INCORRECT);
      // Row 3: still associated with LP1.
      expect(st(await h.call(0, { rax: L.MNG_VPFLUSHDONE, rcx: TDR }))).toBe(FLUSHVP_NOT_DONE);
      expect(st(await h.call(0, { rax: L.VP_FLUSH, rcx: TDVPR }))).toBe(VCPU_NOT_ASSOCIATED);
      expect(st(await h.call(1, { rax: L.VP_FLUSH, rcx: TDVPR }))).toBe(SUCCESS);
      expect(await td(h)).toMatchObject({ numVcpus: 1, numAssocVcpus: 0 });
      expect(st(await h.call(1, { rax: L.VP_FLUSH, rcx: TDVPR }))).toBe(VCPU_NOT_ASSOCIATED);
      expect(st(await h.call(0, { rax: L.MNG_VPFLUSHDONE, rcx: TDR }))).toBe(SUCCESS);
      // After VPFLUSHDONE the TD is TD_BLOCKED: VP.FLUSH says keys are not configured.
      expect(st(await h.call(1, { rax: L.VP_FLUSH, rcx: TDVPR }))).toBe('0x8000081000000000');
      expect(st(await h.call(0, { rax: L.PHYMEM_CACHE_WB, rcx: 0n }))).toBe(SUCCESS);
      expect(st(await h.call(2, { rax: L.PHYMEM_CACHE_WB, rcx: 0n }))).toBe(SUCCESS);
      expect(st(await h.call(0, { rax: L.MNG_KEY_FREEID, rcx: TDR }))).toBe(SUCCESS);
      // KVM's order: the VCPU's TDCX pages, its TDVPR, the TDCS pages, the TDR, then WBINVD.
      for (const pa of TDCX) {
        const r = await h.call(0, { rax: L.PHYMEM_PAGE_RECLAIM, rcx: pa });
        expect([st(r), r.rcx, r.rdx, r.r8]).toEqual([SUCCESS, 5n, TDR, 0n]);
      }
      const v = await h.call(0, { rax: L.PHYMEM_PAGE_RECLAIM, rcx: TDVPR });
      expect([st(v), v.rcx, v.rdx, v.r8]).toEqual([SUCCESS, 6n, TDR, 0n]);
      for (let i = 1; i <= 6; i++) {
        expect(st(await h.call(0, { rax: L.PHYMEM_PAGE_RECLAIM, rcx: TDR + BigInt(i * 0x1000) }))).toBe(SUCCESS);
      }
      const t = await h.call(0, { rax: L.PHYMEM_PAGE_RECLAIM, rcx: TDR });
      expect([st(t), t.rcx, t.rdx, t.r8]).toEqual([SUCCESS, 4n, 0n, 0n]);
      expect(st(await h.call(0, { rax: L.PHYMEM_PAGE_WBINVD, rcx: 0x0008000040000000n }))).toBe(SUCCESS);
      expect(((await h.state())['module'] as { tds: unknown[] }).tds).toEqual([]);
    }));

  it('a skipped VP.FLUSH: VPFLUSHDONE refuses (FLUSHVP_NOT_DONE) and the HKID stays assigned until the flush', () =>
    withHost(async (h) => {
      await tdInitialized(h);
      expect(st(await h.call(0, { rax: L.VP_CREATE, rcx: TDVPR, rdx: TDR }))).toBe(SUCCESS);
      await vpAddcxAll(h);
      expect(st(await h.call(3, { rax: L.VP_INIT, rcx: TDVPR }))).toBe(SUCCESS);
      const r = await h.call(0, { rax: L.MNG_VPFLUSHDONE, rcx: TDR });
      expect([st(r), r.rcx]).toEqual([FLUSHVP_NOT_DONE, TDR]); // RCX untouched
      expect(((await h.state())['kot'] as Record<string, { state: string }>)['33']?.state).toBe('HKID_ASSIGNED');
      expect((await td(h))?.lifecycle).toBe('TD_KEYS_CONFIGURED');
      // CACHE.WB finds nothing to flush; FREEID refuses: the host cannot get the HKID back.
      expect(st(await h.call(0, { rax: L.PHYMEM_CACHE_WB, rcx: 0n }))).toBe('0x0000082100000000');
      expect(st(await h.call(0, { rax: L.MNG_KEY_FREEID, rcx: TDR }))).toBe('0xc000060700000000');
      expect(st(await h.call(3, { rax: L.VP_FLUSH, rcx: TDVPR }))).toBe(SUCCESS);
      expect(st(await h.call(0, { rax: L.MNG_VPFLUSHDONE, rcx: TDR }))).toBe(SUCCESS);
    }));

  it('row 4: VP.CREATE has no VCPU-count check; VP.INIT of VCPU max_vcpus+1 → MAX_VCPUS_EXCEEDED, the index given back', () =>
    withHost(async (h) => {
      await tdInitialized(h, { maxVcpus: 1 });
      const second = 0x40020000n;
      const secondTdcx = [0, 1, 2, 3, 4].map((i) => 0x40021000n + BigInt(i * 0x1000));
      expect(st(await h.call(0, { rax: L.VP_CREATE, rcx: TDVPR, rdx: TDR }))).toBe(SUCCESS);
      expect(st(await h.call(0, { rax: L.VP_CREATE, rcx: second, rdx: TDR }))).toBe(SUCCESS);
      await vpAddcxAll(h);
      await vpAddcxAll(h, second, secondTdcx);
      expect(st(await h.call(0, { rax: L.VP_INIT, rcx: TDVPR }))).toBe(SUCCESS);
      expect(st(await h.call(1, { rax: L.VP_INIT, rcx: second }))).toBe(MAX_VCPUS_EXCEEDED);
      expect(await td(h)).toMatchObject({ numVcpus: 1, numAssocVcpus: 1 });
    }));

  it('one L2 VM: VP.INIT needs MIN_TDVPS_PAGES + 3 = 9 pages (TDCX_NUM_INCORRECT at 6); VP.ADDCX stops at 15', () =>
    withHost(async (h) => {
      await tdInitialized(h, { numL2: 1 }, 7);
      expect(st(await h.call(0, { rax: L.VP_CREATE, rcx: TDVPR, rdx: TDR }))).toBe(SUCCESS);
      const pages = Array.from({ length: 14 }, (_, i) => 0x40020000n + BigInt(i * 0x1000));
      await vpAddcxAll(h, TDVPR, pages.slice(0, 5));
      expect(st(await h.call(0, { rax: L.VP_INIT, rcx: TDVPR }))).toBe(TDCX_NUM_INCORRECT);
      await vpAddcxAll(h, TDVPR, pages.slice(5, 8));
      // Index 7 (L2 MSR bitmaps) was filled with all-ones; reads through the TD KeyID are zeros to the host.
      await vpAddcxAll(h, TDVPR, pages.slice(8));
      expect(st(await h.call(0, { rax: L.VP_ADDCX, rcx: 0x40030000n, rdx: TDVPR }))).toBe(TDCX_NUM_INCORRECT);
      expect(st(await h.call(0, { rax: L.VP_INIT, rcx: TDVPR }))).toBe(SUCCESS);
    }));

  it('VP.ADDCX operand errors: RDX not a TDVPR → PAGE_METADATA_INCORRECT|RDX; RCX not free → |RCX', () =>
    withHost(async (h) => {
      await tdInitialized(h);
      expect(st(await h.call(0, { rax: L.VP_CREATE, rcx: TDVPR, rdx: TDR }))).toBe(SUCCESS);
      expect(st(await h.call(0, { rax: L.VP_ADDCX, rcx: TDCX[0]!, rdx: TDR }))).toBe('0xc000030000000002');
      expect(st(await h.call(0, { rax: L.VP_ADDCX, rcx: TDR + 0x1000n, rdx: TDVPR }))).toBe('0xc000030000000001');
      expect(st(await h.call(0, { rax: L.VP_ADDCX, rcx: TDCX[0]! + 0x800n, rdx: TDVPR }))).toBe('0xc000010000000001');
    }));

  it('TDH.VP.INIT version 1 on 1.5.06 (x2APIC ID in R8) behaves as version 0; 1.5.01 refuses the version', async () => {
    await withHost(
      async (h) => {
        await tdInitialized(h);
        expect(st(await h.call(0, { rax: L.VP_CREATE, rcx: TDVPR, rdx: TDR }))).toBe(SUCCESS);
        expect(st(await h.call(0, { rax: L.VP_INIT | (1n << 16n), rcx: TDVPR, r8: 0n }))).toBe(TDCX_NUM_INCORRECT);
        await vpAddcxAll(h);
        expect(st(await h.call(0, { rax: L.VP_INIT | (1n << 16n), rcx: TDVPR, r8: 0n }))).toBe(SUCCESS);
      },
      { module: 'tdx-1.5-late' },
    );
    await withHost(async (h) => {
      await tdInitialized(h);
      expect(st(await h.call(0, { rax: L.VP_CREATE, rcx: TDVPR, rdx: TDR }))).toBe(SUCCESS);
      await vpAddcxAll(h);
      expect(st(await h.call(0, { rax: L.VP_INIT | (1n << 16n), rcx: TDVPR, r8: 0n }))).toBe('0xc000010000000000');
    });
  });
});

describe('row 26: op_state tables', () => {
  it('SEPT.ADD is allowed in {1,2,3,6,7,8,9}; VP.CREATE/VP.ADDCX in {1,7}', () => {
    expect([...SEPT_ADD_OP_STATES].sort((a, b) => a - b)).toEqual([1, 2, 3, 6, 7, 8, 9]);
    expect([...VP_ADDCX_OP_STATES].sort((a, b) => a - b)).toEqual([1, 7]);
  });
});

describe('row 14: lock modes', () => {
  it('two PAGE.WBINVDs of one page run at once (PAMT entry shared)', () =>
    withHost(async (h) => {
      await h.boot('S5');
      const call = await h.begin(0, { rax: L.PHYMEM_PAGE_WBINVD, rcx: 0x40040000n });
      expect(st(await h.call(1, { rax: L.PHYMEM_PAGE_WBINVD, rcx: 0x40040000n }))).toBe(SUCCESS);
      expect(st(await h.end(call))).toBe(SUCCESS);
    }));
  it('two SEPT.ADDs of one TD run at once (TDR shared); a MNG.VPFLUSHDONE (TDR exclusive) meanwhile → OPERAND_BUSY|RCX', () =>
    withHost(async (h) => {
      await tdInitialized(h);
      const call = await h.begin(0, { rax: L.MEM_SEPT_ADD, rcx: 3n, rdx: TDR, r8: 0x40040000n });
      expect(st(await h.call(1, { rax: L.MEM_SEPT_ADD, rcx: (1n << 39n) | 3n, rdx: TDR, r8: 0x40041000n }))).toBe(SUCCESS);
      expect(st(await h.call(2, { rax: L.MNG_VPFLUSHDONE, rcx: TDR }))).toBe('0x8000020000000001');
      expect(st(await h.end(call))).toBe(SUCCESS);
    }));
});

describe('row 19: PAGE.RECLAIM writes RCX/RDX/R8 only after the PT_NDA/PT_RSVD check', () => {
  it('RECLAIM of a PAMT page (PT_RSVD) → PAGE_METADATA_INCORRECT|RCX with RCX = RDX = R8 = 0; RDMD still reports RCX = 1', () =>
    withHost(async (h) => {
      await h.boot('S5');
      const r = await h.call(0, { rax: L.PHYMEM_PAGE_RECLAIM, rcx: 0x7f000000n, rdx: 9n, r8: 9n });
      expect([st(r), r.rcx, r.rdx, r.r8]).toEqual(['0xc000030000000001', 0n, 0n, 0n]);
      const md = await h.call(0, { rax: L.PHYMEM_PAGE_RDMD, rcx: 0x7f000000n });
      expect([st(md), md.rcx]).toEqual([SUCCESS, 1n]);
    }));
});
