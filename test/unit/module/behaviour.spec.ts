/**
 * Module behaviour beyond the spec's table: profiles, memory effects on the platform (KeyIDs,
 * integrity, dirty lines in the running LP's cache), locks under concurrency, fault sites, the
 * reduced TD build path, RDALL and the runtime-update handoff. In-process (createModuleMachine).
 */
import { describe, expect, it } from 'vitest';

import { cpuId } from '../../../src/base/ids.js';
import type { ModuleMachine } from '../../../src/machine/moduleMachine.js';
import type { ModuleProfileName } from '../../../src/module/profiles.js';
import { CountingFaults } from '../../../src/platform/Platform.js';
import { seamRegs } from '../../../src/platform/Seam.js';
import { preset } from '../../../src/platform/presets.js';
import { seamcallRegs as call, vmxModuleMachine } from '../../__test-helpers__/moduleMachine.js';
import type { SeamRegsIn as R } from '../../__test-helpers__/moduleMachine.js';
import { CFG_A, cfgA, encodeTdmrInfo, encodeU64s, tdParams } from './cfgA.js';

const TDR = 0x40000000n;

function mk(profile: ModuleProfileName = '1.5.01', faults = new CountingFaults()): ModuleMachine & { faults: CountingFaults } {
  const m = vmxModuleMachine(preset('ref') as NonNullable<ReturnType<typeof preset>>, { module: profile, faults });
  return { ...m, faults };
}
function ok(m: ModuleMachine, lp: number, r: R): void {
  expect(call(m, lp, r).rax.toString(16)).toBe('0');
}
function write(m: ModuleMachine, pa: number, b: Uint8Array, key = 0): void {
  m.platform.store(m.platform.cpu(cpuId(0)), pa, b, key, 'host');
}
function boot(m: ModuleMachine, to: 2 | 3 | 5): void {
  ok(m, 0, { rax: 33n });
  [0, 1, 2, 3].forEach((lp) => ok(m, lp, { rax: 35n }));
  if (to === 2) {
    return;
  }
  const [a, b] = cfgA();
  write(m, CFG_A.info0, encodeTdmrInfo(a));
  write(m, CFG_A.info1, encodeTdmrInfo(b));
  write(m, CFG_A.array, encodeU64s([0x10000000n, 0x10000200n]));
  ok(m, 0, { rax: 45n, rcx: 0x10001000n, rdx: 2n, r8: 32n });
  if (to === 3) {
    return;
  }
  ok(m, 0, { rax: 31n });
  ok(m, 2, { rax: 31n });
  for (let i = 0; i < 512; i++) {
    ok(m, 0, { rax: 36n, rcx: 0n });
  }
  for (let i = 0; i < 1024; i++) {
    ok(m, 0, { rax: 36n, rcx: 0x100000000n });
  }
}
function tdBuild(m: ModuleMachine): void {
  ok(m, 0, { rax: 9n, rcx: TDR, rdx: 33n });
  ok(m, 0, { rax: 8n, rcx: TDR });
  ok(m, 2, { rax: 8n, rcx: TDR });
  for (let i = 1; i <= 6; i++) {
    ok(m, 0, { rax: 1n, rcx: TDR + BigInt(i * 0x1000), rdx: TDR });
  }
  write(m, 0x10004000, tdParams());
  ok(m, 0, { rax: 21n, rcx: TDR, rdx: 0x10004000n });
}

describe('profiles', () => {
  it('1.0: no TDH.SYS.RD (NOT_READY before ready, OPERAND_INVALID|RAX after), SYS.INFO says SYS_RD=0, no leaf versions', () => {
    const m = mk('1.0');
    boot(m, 2);
    expect(call(m, 0, { rax: 34n, rdx: 0x9100000100000008n }).rax).toBe(0xc000050500000000n);
    ok(m, 0, { rax: 32n, rcx: 0x10002000n, rdx: 1024n, r8: 0x10003000n, r9: 32n });
    const s = m.platform.load(m.platform.cpu(cpuId(0)), 0x10002000, 32, 0);
    expect(s.ok && [s.bytes[14], s.bytes[16], s.bytes[18]]).toEqual([0, 1, 0]);
    const m2 = mk('1.0');
    boot(m2, 5);
    expect(call(m2, 0, { rax: 34n, rdx: 0x9100000100000008n }).rax).toBe(0xc000010000000000n);
    expect(call(m2, 0, { rax: 3n | (1n << 16n) }).rax).toBe(0xc000010000000000n);
  });
  it('1.5.06: VP.INIT version 1 reaches the leaf (1.5.01 rejects it in the dispatcher)', () => {
    for (const [p, expected] of [
      ['1.5.01', 0xc000010000000000n],
      ['1.5.06', 0n],
    ] as const) {
      const m = mk(p);
      boot(m, 5);
      tdBuild(m);
      ok(m, 0, { rax: 10n, rcx: 0x4000a000n, rdx: TDR });
      // The five TDCX pages TDH.VP.INIT needs (TDVPS_BASE_SIZE 0x6000 / 4096 - 1).
      for (let i = 0; i < 5; i++) {
        ok(m, 0, { rax: 4n, rcx: 0x4000b000n + BigInt(i * 0x1000), rdx: 0x4000a000n });
      }
      expect(call(m, 0, { rax: 22n | (1n << 16n), rcx: 0x4000a000n, r8: 0n }).rax).toBe(expected);
    }
  });
  it('overrides: MAX_TDMRS limits CONFIG, and SYS.RD reports it', () => {
    const spec = preset('ref') as NonNullable<ReturnType<typeof preset>>;
    const m = vmxModuleMachine({ ...spec, tdxModule: { ...spec.tdxModule, overrides: { MAX_TDMRS: 1 } } });
    boot(m, 2);
    expect(call(m, 0, { rax: 34n, rdx: 0x9100000100000008n }).r8).toBe(1n);
    const [a, b] = cfgA();
    write(m, CFG_A.info0, encodeTdmrInfo(a));
    write(m, CFG_A.info1, encodeTdmrInfo(b));
    write(m, CFG_A.array, encodeU64s([0x10000000n, 0x10000200n]));
    expect(call(m, 0, { rax: 45n, rcx: 0x10001000n, rdx: 2n, r8: 32n }).rax).toBe(0xc000010000000002n);
  });
});

describe('memory effects', () => {
  it('TDMR.INIT writes the PAMT with MOVDIR64B through the global KeyID (TD-owned lines)', () => {
    const m = mk();
    boot(m, 3);
    ok(m, 0, { rax: 31n });
    ok(m, 2, { rax: 31n });
    ok(m, 0, { rax: 36n, rcx: 0n });
    expect(m.platform.lineAt(0x7f000000)).toMatchObject({ key: 32, td: true });
    expect(m.platform.lineAt(0x7f000000 + 0x4000 - 64)).toMatchObject({ key: 32, td: true });
    expect(m.platform.lineAt(0x7f004000).td).toBe(false); // the next call's slice
    expect(m.platform.lineAt(0x7f800000)).toMatchObject({ key: 32, td: true }); // PAMT_2M entries 0-1, zeroed
    expect(m.platform.lineAt(0x7f804000)).toMatchObject({ key: 0, td: false }); // PAMT_1G: not before the GiB's last call
    // A host read of TD-owned memory returns zeros; reading through the global KeyID is fine in SEAM only.
    const r = m.platform.load(m.platform.cpu(cpuId(1)), 0x7f000000, 8, 0);
    expect(r.ok && [...r.bytes]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });
  it('TDMR.INIT (audit row 21): each call zeroes and stores its own two PAMT_2M entries; the 256th call of a GiB writes its PAMT_1G entry; the stores stay dirty in the LP cache', () => {
    const m = mk();
    boot(m, 3);
    ok(m, 0, { rax: 31n });
    ok(m, 2, { rax: 31n });
    const cache = (lp: number) => m.platform.cpu(cpuId(lp)).cache;
    const line2m = 0x7f800000 / 64;
    const line1g = 0x7f804000 / 64;
    // Call 1 on LP 0: entries 0 and 1 (bytes 0-31 of the first PAMT_2M line).
    ok(m, 0, { rax: 36n, rcx: 0n });
    expect(cache(0).lookup(32, line2m)?.seg).toMatchObject({ dirty: true, writer: 'tdx-module', fill: 0 });
    expect(cache(0).dirtyByKey().get(32)).toBe(1);
    // Call 2 on LP 1: entries 2 and 3, same line, not line-aligned: no MOVDIR64B, the store moves
    // the line to LP 1's cache (dirty) and LP 0 loses its copy.
    ok(m, 1, { rax: 36n, rcx: 0n });
    expect(cache(0).lookup(32, line2m)).toBeUndefined();
    expect(cache(1).lookup(32, line2m)?.seg.dirty).toBe(true);
    expect(cache(1).lookup(32, line2m + 1)).toBeUndefined();
    // Call 3 on LP 1: entries 4 and 5, the next line.
    ok(m, 1, { rax: 36n, rcx: 0n });
    expect(m.platform.lineAt(0x7f800040)).toMatchObject({ key: 32, td: true });
    expect(cache(1).dirtyByKey().get(32)).toBe(2);
    expect(m.platform.lineAt(0x7f804000)).toMatchObject({ key: 0, td: false });
    // Calls 4..255 of GiB 0 on LP 1: still no PAMT_1G entry; the 256th writes it.
    for (let i = 4; i < 256; i++) {
      ok(m, 1, { rax: 36n, rcx: 0n });
    }
    expect(m.platform.lineAt(0x7f804000)).toMatchObject({ key: 0, td: false });
    expect(cache(1).lookup(32, line1g)).toBeUndefined();
    expect(call(m, 1, { rax: 36n, rcx: 0n }).rdx).toBe(0x40000000n);
    expect(m.platform.lineAt(0x7f804000)).toMatchObject({ key: 32, td: true });
    expect(cache(1).lookup(32, line1g)?.seg).toMatchObject({ dirty: true, writer: 'tdx-module', fill: 0 });
    // GiB 0's 512 PAMT_2M entries are 128 lines, all dirty on LP 1, plus the PAMT_1G line.
    expect(cache(1).dirtyByKey().get(32)).toBe(129);
    // The first call of GiB 1 writes PAMT_2M entries 512-513 (a new line) and no PAMT_1G entry.
    ok(m, 1, { rax: 36n, rcx: 0n });
    expect(cache(1).dirtyByKey().get(32)).toBe(130);
    expect(m.platform.lineAt(0x7f804000 + 64)).toMatchObject({ key: 0, td: false });
  });
  it('MNG.CREATE zeroes the TDR through the global KeyID; KEY.CONFIG leaves its TDR line dirty in the LP cache', () => {
    const m = mk();
    boot(m, 5);
    write(m, Number(TDR), new Uint8Array(4096).fill(0x55));
    ok(m, 0, { rax: 9n, rcx: TDR, rdx: 33n });
    expect(m.platform.lineAt(Number(TDR))).toMatchObject({ key: 32, td: true });
    // MNG.CREATE stored HKID (TDR+0x100) and LIFECYCLE_STATE (TDR+0x10) on LP 0 (tdh_mng_create.c).
    const keysLine = (Number(TDR) + 0x100) / 64;
    expect(m.platform.cpu(cpuId(0)).cache.lookup(32, keysLine)?.seg.dirty).toBe(true);
    expect(m.platform.cpu(cpuId(0)).cache.lookup(32, Number(TDR) / 64)?.seg.dirty).toBe(true);
    // KEY.CONFIG on LP 2 (one package of two) stores PKG_CONFIG_BITMAP (TDR+0x108) only: that line
    // moves to LP 2's cache, dirty; LP 0 keeps line 0 (tdh_mng_key_config.c).
    ok(m, 2, { rax: 8n, rcx: TDR });
    expect(m.platform.cpu(cpuId(2)).cache.lookup(32, keysLine)?.seg.dirty).toBe(true);
    expect(m.platform.cpu(cpuId(0)).cache.lookup(32, keysLine)).toBeUndefined();
    expect(m.platform.cpu(cpuId(2)).cache.lookup(32, Number(TDR) / 64)).toBeUndefined();
  });
  it('ADDCX fills TDCX pages through the TD KeyID; PAGE.ADD copies the source through the TD KeyID after SEPT.ADD', () => {
    const m = mk();
    boot(m, 5);
    tdBuild(m);
    expect(m.platform.lineAt(0x40001000)).toMatchObject({ key: 33, td: true });
    // PAGE.ADD needs the SEPT path: levels 3, 2 and 1 for GPA 0.
    for (const [lvl, page] of [
      [3n, 0x4000c000n],
      [2n, 0x4000d000n],
      [1n, 0x4000e000n],
    ] as const) {
      ok(m, 0, { rax: 3n, rcx: lvl, rdx: TDR, r8: page });
    }
    const src = new Uint8Array(4096).map((_v, i) => i & 0xff);
    write(m, 0x10005000, src);
    ok(m, 0, { rax: 2n, rcx: 0n, rdx: TDR, r8: 0x4000b000n, r9: 0x10005000n });
    expect(m.platform.lineAt(0x4000b000)).toMatchObject({ key: 33, td: true });
    const rd = m.platform.load(m.platform.cpu(cpuId(0)), 0x4000b000, 16, 33);
    expect(rd.ok && [...rd.bytes]).toEqual([...src.subarray(0, 16)]);
    // Same GPA again: the leaf entry is MAPPED.
    const again = call(m, 0, { rax: 2n, rcx: 0n, rdx: TDR, r8: 0x4000f000n, r9: 0x10005000n });
    expect([again.rax, again.rdx >> 8n]).toEqual([0xc0000b0d00000001n, 4n]);
    // AUG of a 2M page at GPA 2M: PENDING, page content untouched.
    ok(m, 0, { rax: 6n, rcx: 0x200000n | 1n, rdx: TDR, r8: 0x60000000n });
    expect(call(m, 0, { rax: 24n, rcx: 0x60001000n }).r8).toBe(1n);
    expect(m.platform.lineAt(0x60000000).td).toBe(false);
  });
  it('SYS.INFO and RDALL write through the KeyID in the address (a dirty line in the caller\'s cache)', () => {
    const m = mk();
    boot(m, 2);
    ok(m, 1, { rax: 32n, rcx: 0x10002000n, rdx: 1024n, r8: 0x10003000n, r9: 32n });
    expect(m.platform.cpu(cpuId(1)).cache.lookup(0, 0x10002000 / 64)?.seg.dirty).toBe(true);
    // RDALL: the whole context, resumable.
    let start = 0xffffffffffffffffn;
    let pages = 0;
    let values = 0;
    for (;;) {
      const r = call(m, 0, { rax: 37n, rdx: 0x10006000n, r8: start });
      pages++;
      const l = m.platform.load(m.platform.cpu(cpuId(0)), 0x10006000, 4096, 0);
      if (!l.ok) {
        throw new Error('poison');
      }
      const dv = new DataView(l.bytes.buffer);
      values += (dv.getUint16(0, true) - 8) / 8 - dv.getUint16(2, true);
      if (r.rax === 0n) {
        expect(r.r8).toBe(0xffffffffffffffffn);
        break;
      }
      expect(r.rax).toBe(0xc0000c0400000000n);
      start = r.r8;
    }
    expect(pages).toBe(1);
    // 335 elements of the first 46 entries + the 19 migration/service-TD/partitioning fields.
    expect(values).toBe(1 + 8 + 7 + 7 + 3 + 1 + 32 + 32 + 5 + 5 + 4 + 3 + 32 + 64 + 1 + 2 + 128 + 19);
  });
});

describe('locks and faults', () => {
  it('TDMR mutex: a second LP on the same TDMR gets OPERAND_BUSY|RCX; another TDMR proceeds', () => {
    const m = mk();
    boot(m, 3);
    ok(m, 0, { rax: 31n });
    ok(m, 2, { rax: 31n });
    const p = m.platform;
    const cpu1 = p.cpu(cpuId(1));
    const prog = p.seamcall(cpu1, seamRegs({ rax: 36n, rcx: 0n }));
    prog.next();
    prog.next(); // LP1 now inside TDMR.INIT holding TDMR0's mutex
    expect(call(m, 0, { rax: 36n, rcx: 0n }).rax).toBe(0x8000020000000001n);
    ok(m, 0, { rax: 36n, rcx: 0x100000000n });
    let r = prog.next();
    while (r.done !== true) {
      r = prog.next();
    }
    expect(r.value.kind === 'ok' && r.value.regs.rax).toBe(0n);
    ok(m, 0, { rax: 36n, rcx: 0n });
  });
  it('rdrand: SYS.INIT, LP.INIT and MNG.CREATE return RND_NO_ENTROPY and change no state', () => {
    const m = mk();
    m.faults.arm('rdrand', 1);
    expect(call(m, 0, { rax: 33n }).rax).toBe(0x8000020300000000n);
    expect(m.module.state.sysState).toBe(0);
    ok(m, 0, { rax: 33n });
    m.faults.arm('rdrand', 1);
    expect(call(m, 0, { rax: 35n }).rax).toBe(0x8000020300000000n);
    expect(m.module.state.lpIsInit[0]).toBe(false);
  });
  it('pconfig.busy: KEY.CONFIG → OPERAND_BUSY|KET, retry succeeds', () => {
    const m = mk();
    boot(m, 3);
    m.faults.arm('pconfig.busy', 1);
    expect(call(m, 0, { rax: 31n }).rax).toBe(0x80000200000000bbn);
    ok(m, 0, { rax: 31n });
  });
});

describe('runtime update (SYS.SHUTDOWN → new image → SYS.UPDATE)', () => {
  it('hands TDMRs, KOT and TDs to the new module', () => {
    const m = mk();
    boot(m, 5);
    tdBuild(m);
    ok(m, 0, { rax: 52n, rcx: 0n });
    expect(call(m, 1, { rax: 33n }).rax).toBe(0xc000050600000000n);
    m.module.installUpdate();
    expect(call(m, 0, { rax: 53n }).rax).toBe(0xc000050800000000n); // not SYSINIT_DONE yet
    ok(m, 0, { rax: 33n });
    [0, 1, 2, 3].forEach((lp) => ok(m, lp, { rax: 35n }));
    ok(m, 0, { rax: 53n });
    expect(m.module.state.sysState).toBe(3);
    expect(call(m, 0, { rax: 24n, rcx: TDR }).rcx).toBe(4n); // the TDR is still PT_TDR
    expect(call(m, 0, { rax: 9n, rcx: 0x40020000n, rdx: 33n }).rax).toBe(0xc000082000000000n); // HKID 33 still assigned
    // Without handoff data: INVALID_HANDOFF.
    m.module.installUpdate();
    ok(m, 0, { rax: 33n });
    [0, 1, 2, 3].forEach((lp) => ok(m, lp, { rax: 35n }));
    expect(call(m, 0, { rax: 53n }).rax).toBe(0xc000050900000000n);
  });
});
