/**
 * The bulk path of init_tdmr()'s TDH.SYS.TDMR.INIT loop (a TDMR's calls taken in one go,
 * Platform.seamcallRepeat with `until`) against the single-call path: the same bring-up both
 * ways leaves the same machine (memory, caches with their evictions, module state), the same
 * dmesg, the same trace (every event, the hash) and the same scheduler state. The single path
 * is forced by a step listener, which the fast path never runs with (Scheduler.canFastStep).
 */
import { describe, expect, it } from 'vitest';

import type { KernelProfileName } from '../../../../src/kernel/profiles.js';
import { leafName } from '../../../../src/module/leafNumbers.js';
import { kernelRig, observedState, recordBulkRuns } from '../../../__test-helpers__/kernelMachine.js';

interface BroughtUp {
  readonly ret: number;
  /** Calls taken by seamcallRepeat() runs, per run. */
  readonly runs: number[];
  readonly tdmrInitCalls: number;
  readonly state: unknown;
}

/**
 * Boot small-2s (with `lines` cache lines per CPU) and load kvm_intel with TDX on (7.x kernels
 * initialize the module at boot), and return what an observer can see.
 */
function bringUp(kernel: KernelProfileName, module: string, single: boolean, lines: number, faults = 0): BroughtUp {
  const r = kernelRig('small-2s', {
    module: 'real',
    kernel,
    moduleProfile: module,
    boot: false,
    edit: (s) => {
      (s.cache as { linesPerCpu: number }).linesPerCpu = lines;
    },
  });
  const p = r.m.platform;
  p.tracer.recordLimit = 1_000_000;
  const t0 = p.tracer.eventCount;
  const runs = recordBulkRuns(p);
  if (single) {
    r.sched.onStep(() => undefined);
  }
  if (faults > 0) {
    r.faults.arm('seamcall.status', faults);
  }
  r.run(r.m.bootKernel());
  const ret = r.run(r.m.loadKvm());
  const events = p.tracer.events().slice(0);
  expect(p.tracer.eventCount - t0).toBe(events.length);
  const tdmrInitCalls = events.filter((e) => e.kind === 'seamcall.exit' && leafName(e.leaf) === 'TDH.SYS.TDMR.INIT').length;
  const state = observedState(r, events);
  return { ret, runs, tdmrInitCalls, state };
}

describe('tdx_enable(): bulk TDH.SYS.TDMR.INIT = one SEAMCALL per 4 MiB of TDMR', () => {
  // small-2s: three TDMRs of 2 GiB, 512 calls each.
  const cases = [
    { kernel: 'linux-6.18', module: '1.5.16', lines: 4096 },
    // 64 lines per CPU: the PAMT_2M lines (one per two calls) overflow the cache, so each run
    // evicts and writes back as it goes.
    { kernel: 'linux-6.18', module: '1.5.16', lines: 64 },
    { kernel: 'linux-7.2', module: '2.0.08', lines: 64 },
    { kernel: 'ubuntu-6.8-intel', module: '1.5.06', lines: 64 },
  ] as const;
  for (const c of cases) {
    it(`${c.kernel}, module ${c.module}, ${c.lines} lines per CPU: same machine, dmesg, trace and scheduler state both ways`, () => {
      const bulk = bringUp(c.kernel, c.module, false, c.lines);
      const single = bringUp(c.kernel, c.module, true, c.lines);
      expect(bulk.ret).toBe(0);
      expect(single.ret).toBe(0);
      expect(single.runs).toEqual([]);
      expect(bulk.runs).toEqual([512, 512, 512]);
      expect(bulk.tdmrInitCalls).toBe(1536);
      expect(single.tdmrInitCalls).toBe(1536);
      expect(single.state).toEqual(bulk.state);
    });
  }

  it('an injected SEAMCALL failure during bring-up: the same outcome both ways', () => {
    const bulk = bringUp('linux-6.18', '1.5.16', false, 64, 1);
    const single = bringUp('linux-6.18', '1.5.16', true, 64, 1);
    // The injected status hits the boot's first SEAMCALL; no TDMR.INIT is reached.
    expect(bulk.ret).toBe(-5);
    expect(bulk.runs).toEqual([]);
    expect(bulk.tdmrInitCalls).toBe(0);
    expect(single.ret).toBe(bulk.ret);
    expect(single.state).toEqual(bulk.state);
  });
});
