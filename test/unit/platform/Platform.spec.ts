import { describe, expect, it } from 'vitest';

import { runToCompletion } from '../../../src/platform/Exec.js';
import type { Prog } from '../../../src/platform/Exec.js';
import { Platform } from '../../../src/platform/Platform.js';
import { preset } from '../../../src/platform/presets.js';
import { seamRegs } from '../../../src/platform/Seam.js';
import type { SeamHandler, SeamRegs } from '../../../src/platform/Seam.js';

const echo: SeamHandler = {
  // A tiny test handler: returns status = leaf number, RCX = LP id.
  *seamcall(regs: SeamRegs, env): Prog<SeamRegs> {
    yield { op: 'tick', ns: 10 };
    return { ...regs, rax: (regs.rax & 0xffffn) as SeamRegs['rax'], rcx: BigInt(env.lp) as SeamRegs['rcx'] };
  },
};

describe('SEAMCALL instruction', () => {
  it('#UD outside VMX operation', () => {
    const p = new Platform(preset('small-2s')!);
    p.seamHandler = echo;
    expect(runToCompletion(p.seamcall(p.cpu(0), seamRegs({ rax: 33n }))).value).toEqual({ kind: 'UD' });
  });
  it('#GP when SEAMRR is not enabled', () => {
    const spec = preset('small-2s')!;
    const p = new Platform({ ...spec, seamrr: { ...spec.seamrr, locked: false } });
    p.seamHandler = echo;
    p.cpu(0).vmx = true;
    expect(runToCompletion(p.seamcall(p.cpu(0), seamRegs({ rax: 33n }))).value).toEqual({ kind: 'GP' });
  });
  it('VMfailInvalid when no module is loaded', () => {
    const spec = preset('small-2s')!;
    const p = new Platform({ ...spec, tdxModule: { ...spec.tdxModule, loaded: false } });
    p.seamHandler = echo;
    p.cpu(0).vmx = true;
    expect(runToCompletion(p.seamcall(p.cpu(0), seamRegs({ rax: 33n }))).value).toEqual({ kind: 'VMFAILINVALID' });
  });
  it('otherwise calls the handler with the LP and registers', () => {
    const p = new Platform(preset('small-2s')!);
    p.seamHandler = echo;
    p.cpu(3).vmx = true;
    const r = runToCompletion(p.seamcall(p.cpu(3), seamRegs({ rax: 0x22n, rdx: 7n })));
    expect(r.value).toEqual({ kind: 'ok', regs: seamRegs({ rax: 0x22n, rcx: 3n, rdx: 7n }) });
    expect(r.ns).toBe(p.spec.costs.seamcallNs + 10);
  });
});

describe('platform MSRs and KeyIDs', () => {
  it('MSR 0x87 holds the KeyID partitioning and KeyIDs live in the top PA bits', () => {
    const p = new Platform(preset('ref')!);
    expect(p.cpu(0).msrs.get(0x87)).toBe((32n << 32n) | 31n);
    expect(p.keyIdShift).toBe(46);
    expect(p.withKeyId(0x40000000, 32)).toBe(0x0008000040000000);
    expect(p.splitKeyId(0x0008400010001000)).toEqual({ pa: 0x10001000, key: 33 });
    expect(p.isPrivateKey(31)).toBe(false);
    expect(p.isPrivateKey(32)).toBe(true);
    expect(p.isPrivateKey(63)).toBe(true);
    expect(p.cpus.map((c) => c.packageId)).toEqual([0, 0, 1, 1]);
  });
  it('errata follow the CPU model', () => {
    expect(new Platform(preset('spr-2s-256g')!).hasPartialWriteErratum).toBe(true);
    expect(new Platform(preset('emr-2s-1t')!).hasPartialWriteErratum).toBe(true);
    expect(new Platform(preset('gnr-2s-2t')!).hasPartialWriteErratum).toBe(false);
    const amd = new Platform(preset('amd-sme-2s')!);
    expect(amd.isAmd).toBe(true);
    expect(amd.cpu(0).msrs.has(0x87)).toBe(false);
  });
});

describe('memory, integrity and caches', () => {
  const LINE = 0x10000000;
  it('a host read of a TD-owned line returns zeros; the owning key reads the data', () => {
    const p = new Platform(preset('small-2s')!);
    p.movdir64b(p.cpu(0), LINE, 64, 17, 0x5a, 'td');
    expect(p.load(p.cpu(1), LINE, 4, 0)).toEqual({ ok: true, bytes: new Uint8Array(4) });
    expect(p.load(p.cpu(1), LINE, 4, 17)).toEqual({ ok: true, bytes: new Uint8Array(4).fill(0x5a) });
    expect(p.load(p.cpu(1), LINE, 4, 18)).toEqual({ ok: false, poisonPa: LINE });
  });
  it('a cached store becomes memory only on write-back, with its integrity tag', () => {
    const p = new Platform(preset('small-2s')!);
    p.storeFill(p.cpu(0), LINE, 128, 0x33, 17, 'td');
    expect(p.lineAt(LINE).key).toBe(0);
    expect(p.cpu(0).cache.dirtyByKey()).toEqual(new Map([[17, 2]]));
    expect(p.wbinvdNow(p.cpu(0))).toBe(2);
    expect(p.lineAt(LINE)).toMatchObject({ key: 17, td: true, writer: 'td', fill: 0x33 });
    expect(p.staleWritebacks).toEqual([]);
  });
  it('storing one line again on the CPU holding it replaces it in place; another CPU takes it over', () => {
    const spec = preset('small-2s')!;
    const p = new Platform({ ...spec, cache: { linesPerCpu: 4, wbinvdSubBlocks: 4 } });
    const line = (b: number): Uint8Array => new Uint8Array(64).fill(b);
    p.store(p.cpu(0), LINE, line(1), 17, 'module');
    p.store(p.cpu(0), LINE, line(2), 17, 'module');
    p.store(p.cpu(0), LINE, line(3), 17, 'module');
    expect(p.cpu(0).cache.lineCount).toBe(1);
    expect(p.load(p.cpu(1), LINE, 2, 17)).toEqual({ ok: true, bytes: new Uint8Array([3, 3]) });
    // Three other lines fill the cache; the re-stored line is still the most recent, so the
    // oldest of them is evicted first when a fifth line arrives.
    for (let i = 1; i <= 3; i++) {
      p.store(p.cpu(0), LINE + 64 * i, line(0x10 + i), 17, 'module');
    }
    p.store(p.cpu(0), LINE, line(4), 17, 'module');
    p.store(p.cpu(0), LINE + 64 * 4, line(0x14), 17, 'module');
    expect(p.cpu(0).cache.lineCount).toBe(4);
    expect(p.lineAt(LINE + 64)).toMatchObject({ key: 17, td: true, fill: -1 });
    expect(p.cpu(0).cache.lookup(17, LINE / 64)?.bytes?.[0]).toBe(4);
    // A store from CPU 1 drops CPU 0's copy (same KeyID, coherent).
    p.store(p.cpu(1), LINE, line(5), 17, 'module');
    expect(p.cpu(0).cache.lookup(17, LINE / 64)).toBeUndefined();
    expect(p.load(p.cpu(0), LINE, 1, 17)).toEqual({ ok: true, bytes: new Uint8Array([5]) });
    expect(p.staleWritebacks).toEqual([]);
  });
  it('a stale alias written back over newer data is recorded', () => {
    const p = new Platform(preset('small-2s')!);
    p.storeFill(p.cpu(0), LINE, 64, 0x11, 17, 'old kernel');
    p.movdir64b(p.cpu(1), LINE, 64, 0, 0x22, 'new kernel');
    p.wbinvdNow(p.cpu(0));
    expect(p.staleWritebacks).toHaveLength(1);
    expect(p.staleWritebacks[0]).toMatchObject({ cpu: 0, key: 17, staleWriter: 'old kernel', overwrittenKey: 0, overwrittenWriter: 'new kernel', lineStart: LINE / 64, lineEnd: LINE / 64 + 1, cause: 'wbinvd' });
    expect(p.load(p.cpu(1), LINE, 1, 0)).toEqual({ ok: true, bytes: new Uint8Array(1) });
  });
  it('shared-version stores (TDMR.INIT PAMT entries): a run after MOVDIR64Bs keeps one version, one memory range and one cache range, evicted from its start', () => {
    const spec = preset('small-2s')!;
    const p = new Platform({ ...spec, cache: { linesPerCpu: 4, wbinvdSubBlocks: 4 } });
    for (let i = 0; i < 6; i++) {
      p.movdir64b(p.cpu(0), LINE + 64 * i, 64, 32, 0, 'tdx-module');
      p.storeFill(p.cpu(0), LINE + 64 * i, 64, 0, 32, 'tdx-module', true);
      p.storeFill(p.cpu(0), LINE + 64 * i, 64, 0, 32, 'tdx-module', true); // the same line again: no change
    }
    const ver = p.lineAt(LINE).ver;
    expect(p.lineAt(LINE + 64 * 5)).toEqual({ ver, key: 32, td: true, poison: false, writer: 'tdx-module', fill: 0 });
    expect(p.memory.lines.entries(LINE / 64, LINE / 64 + 6)).toHaveLength(1);
    // Lines 0-1 left (oldest first); lines 2-5 are one dirty range.
    expect(p.cpu(0).cache.ranges()).toEqual([{ key: 32, start: LINE / 64 + 2, end: LINE / 64 + 6, seg: { ver, dirty: true, writer: 'tdx-module', fill: 0, seq: 1 } }]);
    expect(p.staleWritebacks).toEqual([]);
  });
  it('shared-version stores: a later write through another KeyID, or a later cached store, is newer (a write-back over it is stale)', () => {
    const p = new Platform(preset('small-2s')!);
    p.movdir64b(p.cpu(0), LINE, 64, 32, 0, 'tdx-module');
    p.storeFill(p.cpu(0), LINE, 64, 0, 32, 'tdx-module', true);
    const ver = p.cpu(0).cache.lookup(32, LINE / 64)?.seg.ver;
    expect(ver).toBe(p.lineAt(LINE).ver);
    // The host clears the page through KeyID 0 while the module's line is still dirty.
    p.movdir64b(p.cpu(1), LINE, 64, 0, 0, 'kernel');
    expect(p.lineAt(LINE).ver).toBe((ver ?? 0) + 1);
    p.storeFill(p.cpu(1), LINE + 64, 64, 7, 0, 'kernel');
    // A cached store after it is newer than the module's line (it shares the number of the
    // direct write just before it, as any cached store does).
    expect(p.cpu(1).cache.lookup(0, LINE / 64 + 1)?.seg.ver).toBe((ver ?? 0) + 1);
    expect(p.wbinvdNow(p.cpu(0))).toBe(1);
    expect(p.staleWritebacks).toHaveLength(1);
    expect(p.staleWritebacks[0]).toMatchObject({ cpu: 0, key: 32, staleWriter: 'tdx-module', staleVer: ver, overwrittenKey: 0, overwrittenWriter: 'kernel', lineStart: LINE / 64, cause: 'wbinvd' });
  });
  it('bounded capacity: a bulk store keeps only what fits; LRU eviction writes back', () => {
    const spec = preset('small-2s')!;
    const p = new Platform({ ...spec, cache: { linesPerCpu: 8, wbinvdSubBlocks: 4 } });
    p.storeFill(p.cpu(0), LINE, 64 * 100, 1, 0, 'a');
    expect(p.cpu(0).cache.lineCount).toBe(8);
    expect(p.lineAt(LINE).writer).toBe('a');
    expect(p.lineAt(LINE + 64 * 92).writer).toBe('firmware');
    p.storeFill(p.cpu(0), 0x20000000, 64 * 3, 2, 0, 'b');
    expect(p.cpu(0).cache.lineCount).toBe(8);
    expect(p.lineAt(LINE + 64 * 92).writer).toBe('a');
    expect(p.lineAt(LINE + 64 * 95).writer).toBe('firmware');
  });
  it('same-key copies are coherent: a store on one CPU supersedes the copy on another', () => {
    const p = new Platform(preset('small-2s')!);
    p.store(p.cpu(0), LINE, new Uint8Array([1, 2, 3]), 0, 'a');
    p.store(p.cpu(1), LINE + 1, new Uint8Array([9]), 0, 'b');
    expect(p.cpu(0).cache.lookup(0, LINE / 64)).toBeUndefined();
    expect(p.load(p.cpu(2), LINE, 3, 0)).toEqual({ ok: true, bytes: new Uint8Array([1, 9, 3]) });
  });
  it('partial writes poison TD-owned lines on erratum parts only', () => {
    for (const [name, poisoned] of [['spr-2s-256g', true], ['gnr-2s-2t', false]] as const) {
      const p = new Platform(preset(name)!);
      p.movdir64b(p.cpu(0), LINE, 64, 17, 0, 'td');
      p.partialWrite(p.cpu(0), LINE + 8, new Uint8Array(8), 0, 'dma');
      expect(p.lineAt(LINE).poison, name).toBe(poisoned);
      expect(p.load(p.cpu(0), LINE, 8, 0).ok, name).toBe(!poisoned);
    }
  });
  it('CLFLUSH writes back and invalidates the line in every cache', () => {
    const p = new Platform(preset('small-2s')!);
    p.storeFill(p.cpu(2), LINE, 64, 7, 0, 'x');
    p.clflush(p.cpu(0), LINE, 64, 0);
    expect(p.cpu(2).cache.lineCount).toBe(0);
    expect(p.lineAt(LINE)).toMatchObject({ writer: 'x', fill: 7 });
  });
  it('WBNOINVD writes back and keeps lines clean', () => {
    const p = new Platform(preset('small-2s')!);
    p.storeFill(p.cpu(0), LINE, 64 * 4, 7, 0, 'x');
    expect(p.wbnoinvdNow(p.cpu(0))).toBe(4);
    expect(p.cpu(0).cache.lineCount).toBe(4);
    expect(p.cpu(0).cache.dirtyRanges()).toEqual([]);
  });
});

describe('IPIs and NMIs', () => {
  it('arrive after the platform latency', () => {
    const p = new Platform(preset('small-2s')!);
    p.cpu(0).clockNs = 1000;
    p.sendIpi(p.cpu(0), p.cpu(1), 'REBOOT');
    p.sendIpi(p.cpu(0), p.cpu(2), 'NMI');
    expect(p.cpu(1).pending[0]).toMatchObject({ vector: 'REBOOT', arrivalNs: 1000 + p.spec.costs.ipiLatencyNs, from: 0 });
    expect(p.cpu(2).pending[0]).toMatchObject({ vector: 'NMI', arrivalNs: 1000 + p.spec.costs.nmiLatencyNs });
  });
});
