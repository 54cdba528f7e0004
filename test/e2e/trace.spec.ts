import { describe, expect, it } from 'vitest';

import { traceScenario } from '../../src/api/index.js';
import type { ChromeTrace, ChromeTraceEvent } from '../../src/api/index.js';
import { tdxsim } from '../__test-helpers__/cli.js';
import { traceFormatProblems } from '../__test-helpers__/traceFormat.js';

/** The NMI arrows: [sender CPU, receiver CPU, send ts, take ts]. */
function nmiArrows(t: ChromeTrace): [number, number, number, number][] {
  const s = t.traceEvents.filter((e) => e.ph === 's' && e.cat === 'nmi');
  return s.map((a) => {
    const f = t.traceEvents.find((e) => e.ph === 'f' && e.id === a.id) as ChromeTraceEvent;
    return [a.tid, f.tid, a.ts, f.ts];
  });
}

const at = (t: ChromeTrace, name: string): ChromeTraceEvent[] => t.traceEvents.filter((e) => e.name === name);

describe('tdxsim trace: Chrome/Perfetto trace files', () => {
  it('the stop race: a well-formed file with the NMI arrow from CPU 0 to CPU 1 before the jump', () => {
    const t = traceScenario({ scenario: 'kexec-stop-race' });
    expect(traceFormatProblems(t)).toEqual([]);
    // Tracks: package 0 holds CPU 0, package 1 holds CPU 1 (small-2c: two packages of one core).
    expect(t.traceEvents.filter((e) => e.ph === 'M' && e.name !== 'process_sort_index' && e.name !== 'thread_sort_index').map((e) => [e.name, e.pid, e.tid, (e.args as { name: string }).name])).toEqual([
      ['process_name', 0, 0, 'machine'],
      ['thread_name', 0, 0, 'kernel epochs and findings'],
      ['thread_name', 0, 1, 'dmesg'],
      ['process_name', 1, 0, 'package 0'],
      ['process_name', 2, 0, 'package 1'],
      ['thread_name', 1, 0, 'CPU 0'],
      ['thread_name', 2, 1, 'CPU 1'],
    ]);
    const arrows = nmiArrows(t);
    expect(arrows).toHaveLength(1);
    const [from, to, sent, taken] = arrows[0]!;
    expect([from, to]).toEqual([0, 1]);
    const jump = at(t, 'kexec jump');
    expect(jump).toHaveLength(1);
    expect(jump[0]).toMatchObject({ ph: 'i', s: 't', pid: 1, tid: 0 });
    expect(sent).toBeLessThan(taken);
    expect(taken).toBeLessThan(jump[0]!.ts);
    // The REBOOT IPI arrow too, and the send/take slices the arrows bind to.
    expect(t.traceEvents.filter((e) => e.ph === 's' && e.name === 'REBOOT').map((e) => e.tid)).toEqual([0]);
    expect(at(t, 'send NMI to CPU 1')).toHaveLength(1);
    expect(at(t, 'take NMI from CPU 0')).toHaveLength(1);
    // The finding as a global instant at the jump, epochs on the machine track.
    const finding = t.traceEvents.filter((e) => e.cat === 'finding');
    expect(finding.map((e) => [e.name, e.ph, e.s, e.ts])).toEqual([['finding: cpu-still-running', 'i', 'g', jump[0]!.ts]]);
    expect(t.traceEvents.filter((e) => e.cat === 'epoch').map((e) => [e.name, e.ts])).toEqual([
      ['linux-6.18 kernel 0', 0],
      ['purgatory', jump[0]!.ts],
      ["linux-6.18 kexec'd kernel 1", jump[0]!.ts + 1000],
    ]);
    // SEAMCALLs are complete slices named after the leaf; the first is TDH.SYS.INIT on CPU 0.
    const sc = t.traceEvents.filter((e) => e.cat === 'seamcall');
    expect(sc[0]).toMatchObject({ name: 'TDH.SYS.INIT', ph: 'X', pid: 1, tid: 0, args: { status: '0x0000000000000000', statusName: 'TDX_SUCCESS' } });
    expect(t.otherData).toMatchObject({ scenario: 'kexec-stop-race', kernel: 'linux-6.18', schedule: 'free', path: '1.1.0.0.2.0.1.1.0.0', faults: 'none' });
  });

  it('the race explore finds, replayed from its path, has the same NMI arrow', () => {
    const t = traceScenario({ scenario: 'kexec-race-2cpu', path: '1.1.0.0.2.0.1.1' });
    expect(traceFormatProblems(t)).toEqual([]);
    expect(nmiArrows(t).map(([a, b]) => [a, b])).toEqual([[0, 1]]);
    expect(t.otherData).toMatchObject({ schedule: 'explored (as tdxsim replay)', path: '1.1.0.0.2.0.1.1' });
    expect(t.traceEvents.filter((e) => e.cat === 'finding').map((e) => e.name)).toEqual(['finding: cpu-still-running']);
  });

  it('a passing kexec has no NMI and no finding, and every SEAMCALL failure is named with its status', () => {
    const t = traceScenario({ scenario: 'kexec-linux-6.18' });
    expect(traceFormatProblems(t)).toEqual([]);
    expect(nmiArrows(t)).toEqual([]);
    expect(t.traceEvents.filter((e) => e.cat === 'finding')).toEqual([]);
    // The kexec'd kernel's TDH.SYS.INIT fails (the module is already initialized).
    const failed = t.traceEvents.filter((e) => e.cat === 'seamcall' && (e.args as { statusName: string }).statusName !== 'TDX_SUCCESS');
    expect(failed.length).toBeGreaterThan(0);
    for (const e of failed) {
      expect(e.name).toBe(`${(e.args as { leaf: string }).leaf} ${(e.args as { statusName: string }).statusName}`);
    }
  });

  it('kdump (crash kernel epoch, NMI shootdown) and a bare-platform scenario are well-formed too', () => {
    const k = traceScenario({ scenario: 'kdump' });
    expect(traceFormatProblems(k)).toEqual([]);
    expect(k.traceEvents.filter((e) => e.cat === 'epoch').map((e) => e.name)).toEqual(['linux-6.18 kernel 0', 'purgatory', 'linux-6.18 crash kernel 1']);
    expect(nmiArrows(k).length).toBeGreaterThan(0);
    const bare = traceScenario({ scenario: 'cache-alias', variant: 'cpu1-then-cpu0' });
    expect(traceFormatProblems(bare)).toEqual([]);
    expect(bare.otherData['kernel']).toBe('none');
    expect(bare.traceEvents.filter((e) => e.cat === 'epoch').map((e) => e.name)).toEqual(['bare platform']);
    expect(bare.traceEvents.filter((e) => e.cat === 'finding').map((e) => e.name)).toEqual(['finding: silent-corruption']);
  });

  it('the CLI writes the same file to stdout with -o -, and refuses bad input with exit 2', () => {
    const r = tdxsim(['trace', 'kexec-stop-race', '-o', '-']);
    expect(r.status).toBe(0);
    const t = JSON.parse(r.stdout) as ChromeTrace;
    expect(traceFormatProblems(t)).toEqual([]);
    expect(t).toEqual(JSON.parse(JSON.stringify(traceScenario({ scenario: 'kexec-stop-race' }))));
    const bad = tdxsim(['trace', 'kexec-race-2cpu', '--path', '9.9.9', '-o', '-']);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^tdxsim: --path 9\.9\.9: does not fit this scenario/);
  });

  it('the format checker itself rejects an unmatched flow, overlapping slices, an unnamed track and an X without dur', () => {
    const M = [
      { name: 'process_name', ph: 'M', ts: 0, pid: 1, tid: 0, args: { name: 'p' } },
      { name: 'thread_name', ph: 'M', ts: 0, pid: 1, tid: 0, args: { name: 't' } },
    ];
    expect(traceFormatProblems({ traceEvents: [...M, { name: 'a', ph: 'X', ts: 0, dur: 5, pid: 1, tid: 0 }, { name: 'b', ph: 'X', ts: 3, dur: 5, pid: 1, tid: 0 }] })).toEqual(['track 1/0: slice [3, 8] overlaps [0, 5] without nesting']);
    expect(traceFormatProblems({ traceEvents: [...M, { name: 'a', ph: 'X', ts: 0, dur: 5, pid: 1, tid: 0 }, { name: 'n', cat: 'nmi', ph: 's', id: 1, ts: 1, pid: 1, tid: 0 }] })).toEqual(['flow nmi:1: 1 starts and 0 ends']);
    expect(traceFormatProblems({ traceEvents: [...M, { name: 'a', ph: 'X', ts: 0, pid: 1, tid: 0 }] })).toEqual(['event 2 (X a): X needs dur >= 0']);
    expect(traceFormatProblems({ traceEvents: [...M, { name: 'a', ph: 'i', s: 't', ts: 0, pid: 1, tid: 7 }] })).toEqual(['track 1/7 has events but no thread_name']);
    expect(traceFormatProblems({ traceEvents: [...M, { name: 'a', ph: 'B', ts: 5, pid: 1, tid: 0 }, { name: 'a', ph: 'E', ts: 4, pid: 1, tid: 0 }] })).toEqual(['event 3 (E a): B/E out of time order on track 1/0']);
  });
});
