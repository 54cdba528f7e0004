/**
 * The bulk path of KVM's per-page TDH.PHYMEM.PAGE.WBINVD (a huge leaf's 512 write-backs taken in
 * one go, Platform.seamcallRepeat) against the single-call path: the same TD destroyed both ways
 * leaves the same machine (memory, caches, PAMT and module state, the page allocator), the same
 * dmesg, the same trace (every event, the hash), the same scheduler state (steps, per-CPU
 * history, clocks) and the same SEAMCALLs. The single path is forced by a step listener, which
 * the fast path never runs with (Scheduler.canFastStep).
 */
import { describe, expect, it } from 'vitest';

import type { IntervalMap } from '../../../../src/base/IntervalMap.js';
import type { Td } from '../../../../src/kernel/kvm/td.js';
import type { KernelProfileName } from '../../../../src/kernel/profiles.js';
import { leafName } from '../../../../src/module/leafNumbers.js';
import { kernelRig, observedState, recordBulkRuns } from '../../../__test-helpers__/kernelMachine.js';
import type { KernelRig } from '../../../__test-helpers__/kernelMachine.js';

const SZ_2M = 0x20_0000;

interface Destroyed {
  readonly ret: number;
  /** seamcallRepeat() calls that took a run of WBINVDs in one go. */
  readonly bulkRuns: number;
  /** 2 MiB leaves with a line cached under the HKID just before the teardown. */
  readonly cachedLeaves: number;
  /** SEAMCALL exits per leaf name during the teardown. */
  readonly perLeaf: Record<string, number>;
  readonly state: unknown;
}

/**
 * Build a TD of `pages` 4 KiB pages run on CPU 1 (small-2s, the module model), optionally arm
 * `faults` failures at `seamcall.status`, destroy it, and return what an observer can see.
 */
function destroy(kernel: KernelProfileName, single: boolean, pages: number, faults = 0): Destroyed {
  const r: KernelRig = kernelRig('small-2s', { module: 'real', kernel });
  expect(r.run(r.m.loadKvm())).toBe(0);
  const built = r.run(r.m.createTd({ pages, runCpu: 1 }));
  expect(built.ret).toBe(0);
  const td = built.td as Td;
  const p = r.m.platform;
  const leaves: number[] = [];
  for (const x of td.ranges) {
    for (let off = x.gpa % SZ_2M === 0 ? 0 : SZ_2M - (x.gpa % SZ_2M); off + SZ_2M <= x.size; off += SZ_2M) {
      leaves.push(x.pa + off);
    }
  }
  expect(leaves.length).toBe(3);
  // The guest's last writes, still cached dirty on CPU 1: 4 lines in the middle of the second
  // 2 MiB leaf, under the TD's HKID.
  p.store(p.cpu(1), (leaves[1] as number) + 0x3040, new Uint8Array(256).fill(0x5a), td.hkid, 'guest');
  const cachedLeaves = leaves.filter((pa) => p.cachedAnywhere(pa, SZ_2M, td.hkid)).length;
  p.tracer.recordLimit = 1_000_000;
  const t0 = p.tracer.eventCount;
  const runs = recordBulkRuns(p);
  if (single) {
    r.sched.onStep(() => undefined);
  }
  if (faults > 0) {
    r.faults.arm('seamcall.status', faults);
  }
  const ret = r.run(r.m.destroyTd(td));
  const events = p.tracer.events().slice(0);
  expect(p.tracer.eventCount - t0).toBe(events.length);
  const perLeaf: Record<string, number> = {};
  for (const e of events) {
    if (e.kind === 'seamcall.exit') {
      perLeaf[leafName(e.leaf)] = (perLeaf[leafName(e.leaf)] ?? 0) + 1;
    }
  }
  const k = r.m.kernel;
  const state = {
    ...observedState(r, events),
    traceEvents: p.tracer.eventCount,
    pageAlloc: (k.pageAlloc as unknown as { free: IntervalMap<number> }).free.entries(),
    tds: k.kvm.tds.length,
  };
  return { ret, bulkRuns: runs.length, cachedLeaves, perLeaf, state };
}

describe('KVM teardown: bulk PAGE.WBINVD of huge leaves = one SEAMCALL per page', () => {
  // 8 MiB on small-2s: 512 leaves of 4 KiB (where GPA and PA do not line up at 2 MiB), then
  // three 2 MiB leaves (docs/kernel.md).
  for (const kernel of ['linux-6.18', 'linux-6.16', 'linux-7.2'] as const) {
    it(`${kernel}: 8 MiB TD, same machine, dmesg, trace and scheduler state both ways`, () => {
      const bulk = destroy(kernel, false, 2048);
      const single = destroy(kernel, true, 2048);
      expect(bulk.ret).toBe(0);
      expect(single.ret).toBe(0);
      expect(single.bulkRuns).toBe(0);
      expect(bulk.bulkRuns).toBe(3);
      // One leaf goes through the per-page CLFLUSH branch (its dirty lines are written back by
      // the WBINVD of their page), the others through the uncached one.
      expect(bulk.cachedLeaves).toBe(1);
      expect(bulk.perLeaf).toEqual({
        'TDH.MEM.RANGE.BLOCK': 515,
        'TDH.MEM.TRACK': 515,
        'TDH.MEM.PAGE.REMOVE': 515,
        'TDH.PHYMEM.PAGE.WBINVD': 512 + 3 * 512 + 1,
        'TDH.VP.FLUSH': 1,
        'TDH.MNG.VPFLUSHDONE': 1,
        'TDH.PHYMEM.CACHE.WB': 2,
        'TDH.MNG.KEY.FREEID': 1,
        'TDH.PHYMEM.PAGE.RECLAIM': 17,
      });
      expect(single.perLeaf).toEqual(bulk.perLeaf);
      expect(single.state).toEqual(bulk.state);
    });
  }

  it('an armed seamcall.status fault: the bulk path waits until it is spent, the outcome is the same both ways', () => {
    const bulk = destroy('linux-6.18', false, 2048, 1);
    const single = destroy('linux-6.18', true, 2048, 1);
    // The injected TDX_SYS_BUSY hits the first RANGE.BLOCK: that 4 KiB leaf leaks.
    expect(bulk.ret).toBe(-5);
    expect(single.ret).toBe(-5);
    expect(bulk.bulkRuns).toBe(3);
    expect(single.state).toEqual(bulk.state);
  });
});
