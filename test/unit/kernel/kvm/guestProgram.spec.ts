/**
 * The guest program KVM places in a TD's first page (td_guest_program() in kernel/kvm/td.ts, run
 * by the module's guest model): its stores spare the program page, so every vCPU's first
 * TDH.VP.ENTER runs it to its END. Before, the stores covered the program page and every vCPU but
 * the first halted at its first operation.
 */
import { describe, expect, it } from 'vitest';

import type { Td } from '../../../../src/kernel/kvm/td.js';
import { leafName } from '../../../../src/module/leafNumbers.js';
import type { TdxModule } from '../../../../src/module/TdxModule.js';
import { leafStatusDisplay } from '../../../../src/module/status.js';
import { kernelRig } from '../../../__test-helpers__/kernelMachine.js';

/** The program's operations as [op, a, b, c] hex strings, up to the first END. */
function decode(bytes: Uint8Array): string[][] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ops: string[][] = [];
  for (let at = 0; at + 32 <= bytes.length; at += 32) {
    const op = [0, 8, 16, 24].map((o) => `0x${dv.getBigUint64(at + o, true).toString(16)}`);
    ops.push(op);
    if (op[0] === '0x0') {
      break;
    }
  }
  return ops;
}

describe('KVM guest program', () => {
  it('stores over every private page but the program page, then END; each vCPU runs it on its first entry', () => {
    const r = kernelRig('small-2s', { module: 'real', kernel: 'linux-6.18' });
    expect(r.run(r.m.loadKvm())).toBe(0);
    const enters: string[] = [];
    r.m.platform.tracer.subscribe((e) => {
      if (e.kind === 'seamcall.exit' && leafName(e.leaf) === 'TDH.VP.ENTER') {
        enters.push(`${e.cpu} ${leafStatusDisplay(e.leaf, e.status)}`);
      }
    });
    const { ret, td: t } = r.run(r.m.createTd({ pages: 1024, runCpu: 1, vcpus: 3 }));
    expect(ret).toBe(0);
    const td = t as Td;
    // [1 MiB, 5 MiB) in three ranges: the 2 MiB-aligned middle one is a single 2 MiB leaf.
    expect(td.ranges.map((x) => [x.gpa, x.size])).toEqual([
      [0x100000, 0x100000],
      [0x200000, 0x200000],
      [0x400000, 0x100000],
    ]);
    const programPa = td.ranges[0]!.pa;
    const program = (): string[][] => {
      const rd = r.m.platform.load(r.m.platform.cpu(0), programPa, 4096, td.hkid);
      expect(rd.ok).toBe(true);
      return decode(rd.ok ? rd.bytes : new Uint8Array());
    };
    // ACCEPT each range; STORE 0xa5 (label TD 1) over each range, the first last and without
    // its first page (the program); END.
    const expected = [
      ['0x1', '0x100000', '0x100000', '0x0'],
      ['0x1', '0x200000', '0x200000', '0x0'],
      ['0x1', '0x400000', '0x100000', '0x0'],
      ['0x2', '0x400000', '0x100000', '0x1a5'],
      ['0x2', '0x200000', '0x200000', '0x1a5'],
      ['0x2', '0x101000', '0xff000', '0x1a5'],
      ['0x0', '0x0', '0x0', '0x0'],
    ];
    expect(program()).toEqual(expected);
    const st = (r.m.platform.seamHandler as TdxModule).state.tds.get(td.tdr)!;
    const guests = (): [number, boolean][] => td.vcpus.map((v) => st.vcpus.get(v.tdvpr)!.guest!).map((g) => [g.pc, g.halted]);
    // vCPU 0 ran on CPU 1 to its END (operation 6); vCPUs 1 and 2 have not run.
    expect(guests()).toEqual([
      [6, true],
      [0, false],
      [0, false],
    ]);
    const tdLines = (cpu: number): number =>
      r.m.platform
        .cpu(cpu)
        .cache.ranges()
        .filter((x) => x.key === td.hkid && x.seg.writer === 'td1')
        .reduce((n, x) => n + x.end - x.start, 0);
    expect([0, 1, 2, 3].map(tdLines)).toEqual([0, 4096, 0, 0]);
    // vCPU 1 on CPU 2 runs the program too: its stores take the lines over from CPU 1.
    expect(r.run(r.m.runTd(td, 2, 1))).toBe(0x4dn);
    expect(guests()).toEqual([
      [6, true],
      [6, true],
      [0, false],
    ]);
    expect([0, 1, 2, 3].map(tdLines)).toEqual([0, 0, 4096, 0]);
    expect(r.run(r.m.runTd(td, 3, 2))).toBe(0x4dn);
    expect([0, 1, 2, 3].map(tdLines)).toEqual([0, 0, 0, 4096]);
    // A halted guest exits at once: vCPU 1 on CPU 0 stores nothing.
    expect(r.run(r.m.runTd(td, 0, 1))).toBe(0x4dn);
    expect([0, 1, 2, 3].map(tdLines)).toEqual([0, 0, 0, 4096]);
    expect(guests()).toEqual([
      [6, true],
      [6, true],
      [6, true],
    ]);
    expect(enters).toEqual(['1 TDX_SUCCESS, exit reason 77 (TDCALL)', '2 TDX_SUCCESS, exit reason 77 (TDCALL)', '3 TDX_SUCCESS, exit reason 77 (TDCALL)', '0 TDX_SUCCESS, exit reason 77 (TDCALL)']);
    // The program page is what PAGE.ADD wrote, after all four entries.
    expect(program()).toEqual(expected);
    expect(r.m.platform.lineAt(programPa)).toMatchObject({ key: td.hkid, td: true, writer: 'tdx-module' });
  });
});
