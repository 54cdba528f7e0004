import { describe, expect, it } from 'vitest';

import { diagnose } from '../../../src/tools/diagnose.js';
import { mainBoot, parseDmesg } from '../../../src/tools/parse/dmesg.js';
import type { TdxLine } from '../../../src/tools/parse/dmesg.js';
import { decodeText, splitLines } from '../../../src/api/parse/input.js';
import { parseIomem } from '../../../src/tools/parse/iomem.js';
import { jsonErrorOffset, parseJsonWithPlace } from '../../../src/api/parse/json.js';
import { isRebuilt, machineFromDmesg } from '../../../src/tools/parse/machine.js';
import { run } from '../../../src/api/run.js';
import { Memblock } from '../../../src/kernel/mm/memblock.js';
import { preset as presetSpec } from '../../../src/platform/presets.js';

function tdx(lines: string[]): TdxLine[] {
  return mainBoot(parseDmesg(lines)).tdx;
}

describe('dmesg parser: the TDX strings of every era', () => {
  it('module version lines', () => {
    const v = (l: string): unknown => {
      const t = tdx([l])[0];
      return t !== undefined && t.kind === 'module-version' ? [t.major, t.minor, t.update] : t?.kind;
    };
    expect(v('virt/tdx: Module version: 1.5.06')).toEqual([1, 5, 6]);
    expect(v('tdx: TDX module: attributes 0x0, vendor_id 0x8086, major_version 1, minor_version 0, build_date 20211209, build_num 160')).toEqual([1, 0, undefined]);
    expect(v('tdx: TDX module: vendor_id 0x8086, major_version 1, minor_version 5, build_date 20230323, build_num 672')).toEqual([1, 5, undefined]);
    expect(v('virt/tdx: TDX module version 1.5.06.00.0744')).toEqual([1, 5, 6]);
    expect(v('virt/tdx: TDX-Module 2.0.02, build date 20250101')).toEqual([2, 0, 2]);
  });

  it('CMR lines in their formats', () => {
    const c = (l: string): unknown => mainBoot(parseDmesg([l])).cmrs.map((x) => [x.base, x.end, x.variant]);
    expect(c('tdx: CMR: [0x0, 0x80000000)')).toEqual([[0, 0x80000000, 'plain']]);
    expect(c('tdx: BIOS-CMR[3]: [0x100000000, 0x1080000000)')).toEqual([[0x100000000, 0x1080000000, 'bios']]);
    expect(c('tdx: Kernel-sanitized-CMR[0]: [0x100000, 0x80000000)')).toEqual([[0x100000, 0x80000000, 'sanitized']]);
    expect(c('virt/tdx: CMR[1]: base 0x100000000, size 0x40000000')).toEqual([[0x100000000, 0x140000000, 'plain']]);
    expect(c('virt/tdx: CMR 2: [mem 0x100000000-0x13fffffff]')).toEqual([[0x100000000, 0x140000000, 'plain']]);
  });

  it('PAMT units, success and failure strings', () => {
    const k = (l: string): unknown => {
      const t = tdx([l])[0];
      return t === undefined ? undefined : t.kind === 'pamt-allocated' ? [t.value, t.unit] : t.kind === 'init-failed' ? ['failed', t.errno] : t.kind;
    };
    expect(k('virt/tdx: 262668 KB allocated for PAMT')).toEqual([262668, 'KB']);
    expect(k('tdx: 262668 KBs allocated for PAMT.')).toEqual([262668, 'KBs']);
    expect(k('tdx: 65667 pages allocated for PAMT.')).toEqual([65667, 'pages']);
    expect(k('virt/tdx: module initialized')).toBe('init-ok');
    expect(k('tdx: TDX module initialized.')).toBe('init-ok');
    expect(k('virt/tdx: TDX-Module initialized')).toBe('init-ok');
    expect(k('virt/tdx: module initialization failed (-28)')).toEqual(['failed', -28]);
    expect(k('tdx: initialization failed (-22)')).toEqual(['failed', -22]);
    expect(k('virt/tdx: TDX-Module initialization failed (-5)')).toEqual(['failed', -5]);
    expect(k('tdx: Failed to initialize TDX module. Shut it down.')).toEqual(['failed', undefined]);
    expect(k('tdx: initialization failed: too few private KeyIDs available (1).')).toBe('too-few-keyids');
    expect(k('virt/tdx: BIOS enabled: private KeyID range: [16, 64)')).toBe('keyid-range');
  });

  it('SEAMCALL failure lines with their register dumps', () => {
    const t = tdx(['virt/tdx: SEAMCALL (0x0000000000010016) failed: 0xc000010000000000', 'virt/tdx: RCX 0x0000000000000001 RDX 0x0000000000000002 R08 0x0000000000000003', 'virt/tdx: R09 0x0000000000000004 R10 0x0000000000000005 R11 0x0000000000000006']);
    expect(t[0]).toMatchObject({ kind: 'seamcall-failed', leaf: 22, leafRaw: 0x10016n, status: 0xc000010000000000n });
    expect(t[1]).toMatchObject({ kind: 'seamcall-regs', regs: { rcx: 1n, rdx: 2n, r8: 3n } });
    expect(t[2]).toMatchObject({ kind: 'seamcall-regs', regs: { r9: 4n, r10: 5n, r11: 6n } });
    const d = tdx(['tdx: SEAMCALL failed: CPU 7: leaf 33, error 0xc000050000000000.', 'tdx: additional output: rcx 0x1, rdx 0x2, r8 0x3, r9 0x4, r10 0x5, r11 0x6.']);
    expect(d[0]).toMatchObject({ kind: 'seamcall-failed', leaf: 33, cpu: 7 });
    expect(d[1]).toMatchObject({ kind: 'seamcall-regs', regs: { r11: 6n } });
    // v8 05/16 (no CPU) and the RFC's seamcall().
    const v8 = tdx(['tdx: SEAMCALL failed: leaf 32, error 0xc000050200000000.', 'tdx: SEAMCALL leaf 35 failed: 0x8000020300000000']);
    expect(v8[0]).toMatchObject({ kind: 'seamcall-failed', leaf: 32, leafRaw: 32n, status: 0xc000050200000000n });
    expect(v8[1]).toMatchObject({ kind: 'seamcall-failed', leaf: 35, leafRaw: 35n, status: 0x8000020300000000n });
  });

  it('memory lines: e820 (both formats), updates, node ranges, SRAT, topology, CPU', () => {
    const b = mainBoot(
      parseDmesg([
        'Linux version 6.18.0-rc1 (x)',
        'BIOS-e820: [mem 0x0000000000000000-0x000000000009ffff] usable',
        'BIOS-e820: 0000000000100000 - 0000000080000000 (usable)',
        'e820: update [mem 0x00000000-0x00000fff] usable ==> reserved',
        'e820: remove [mem 0x000a0000-0x000fffff] usable',
        'ACPI: SRAT: Node 1 PXM 1 [mem 0x880000000-0x107fffffff] hotplug',
        'Early memory node ranges',
        '  node   0: [mem 0x0000000000001000-0x000000000009ffff]',
        'Zone ranges:',
        'CPU topo: Max. logical packages:   2',
        'smpboot: CPU0: Intel(R) Xeon(R) Platinum 8592+ (family: 0x6, model: 0xcf, stepping: 0x2)',
        'smp: Brought up 2 nodes, 256 CPUs',
      ]),
    );
    expect(b.kernelVersion).toMatchObject({ major: 6, minor: 18 });
    expect(b.e820.map((e) => [e.base, e.end, e.type])).toEqual([
      [0, 0xa0000, 'usable'],
      [0x100000, 0x80000000, 'usable'],
    ]);
    expect(b.e820Updates.map((u) => [u.from, u.to ?? null])).toEqual([
      ['usable', 'reserved'],
      ['usable', null],
    ]);
    expect(b.srat).toEqual([{ node: 1, base: 0x880000000, end: 0x1080000000, line: 6 }]);
    expect(b.nodeRanges).toEqual([{ node: 0, base: 0x1000, end: 0xa0000, line: 8 }]);
    expect(b.topology).toMatchObject({ packages: 2, logicalCpus: 256, numaNodes: 2 });
    expect(b.cpu?.model).toBe(0xcf);
  });

  it('malformed relevant lines are problems; the rest is noise', () => {
    const f = parseDmesg(['random noise', 'BIOS-e820: [mem 0x0-0xfff usable', 'virt/tdx: SEAMCALL (0x22) failed: 0xzz', 'virt/tdx: something new in 2027']);
    expect(f.problems.map((p) => [p.line, p.message])).toEqual([
      [2, 'malformed e820 line'],
      [3, 'malformed SEAMCALL failure line'],
    ]);
    expect(mainBoot(f).tdx.map((t) => t.kind)).toEqual(['other']);
  });
});

describe('machine rebuild', () => {
  it('from node ranges: RAM, node spans, KeyIDs, CPU model and topology, firmware ranges in the 4 GiB hole', () => {
    const b = mainBoot(
      parseDmesg([
        'Early memory node ranges',
        '  node   0: [mem 0x0000000000001000-0x000000000009ffff]',
        '  node   0: [mem 0x0000000000100000-0x000000007fffffff]',
        '  node   1: [mem 0x0000000100000000-0x000000017fffffff]',
        'virt/tdx: BIOS enabled: private KeyID range [32, 64)',
        'smpboot: CPU0: Intel(R) Xeon(R) (family: 0x6, model: 0x8f, stepping: 0x8)',
        'CPU topo: Max. logical packages:   2',
        'CPU topo: Max. threads per core:   2',
        'CPU topo: Num. cores per package:    56',
      ]),
    );
    const m = machineFromDmesg(b);
    expect(isRebuilt(m)).toBe(true);
    if (!isRebuilt(m)) {
      return;
    }
    expect(m.source.kind).toBe('node-ranges');
    expect(m.platform.keyids).toEqual({ bits: 6, mktme: 31, tdx: 32 });
    expect(m.platform.cpuModel).toBe('sapphire-rapids');
    expect(m.platform.topology).toEqual({ packages: 2, coresPerPackage: 56, threadsPerCore: 2 });
    expect(m.platform.memory.nodes).toEqual([
      { node: 0, base: 0x1000, size: 0x80000000 - 0x1000 },
      { node: 1, base: 0x100000000, size: 0x80000000 },
    ]);
    expect(Number(m.platform.seamrr.base)).toBeGreaterThanOrEqual(0x80000000);
    expect(Number(m.platform.seamrr.base)).toBeLessThan(0x100000000);
    expect(m.platform.smrr.valid).toBe(true);
  });

  it('without a memory map it says what is missing', () => {
    const m = machineFromDmesg(mainBoot(parseDmesg(['virt/tdx: module initialized'])));
    expect(isRebuilt(m)).toBe(false);
    expect(m.missing[0]).toContain('memory map');
  });
});

describe('other inputs', () => {
  it('/proc/iomem: top-level entries only, unprivileged reads detected', () => {
    const f = parseIomem(['00001000-0009ffff : System RAM', '  00100000-001fffff : Kernel code', '100000000-107fffffff : System RAM']);
    expect(f.entries.map((e) => [e.base, e.end, e.name])).toEqual([
      [0x1000, 0xa0000, 'System RAM'],
      [0x100000000, 0x1080000000, 'System RAM'],
    ]);
    expect(parseIomem(['00000000-00000000 : System RAM']).allZero).toBe(true);
  });

  it('text decoding: CRLF, cut-off last line, binary refused', () => {
    const t = splitLines(decodeText(Buffer.from('a\r\nb\r\nc'), 'x', 'input'), 'x');
    expect(t.lines).toEqual(['a', 'b', 'c']);
    expect(t.endsMidLine).toBe(true);
    expect(() => decodeText(Buffer.from([0x41, 0x00]), 'x', 'input')).toThrow(/NUL byte at offset 1/);
    expect(() => decodeText(Buffer.from([0xff, 0xfe, 0xfd, 0x41]), 'x', 'input')).toThrow(/binary data/);
  });

  it('JSON errors have a place', () => {
    expect(jsonErrorOffset('{"a": 1}')).toBeUndefined();
    expect(jsonErrorOffset('{"a": 1,}')).toEqual({ offset: 8, expected: 'a string' });
    expect(parseJsonWithPlace('{\n  "a": tru\n}')).toMatchObject({ ok: false, place: 'line 2, column 8' });
    expect(parseJsonWithPlace('[1, 2')).toMatchObject({ ok: false, message: 'expected "," or "]", found the end of the input' });
  });
});

/**
 * Linux prints "Early memory node ranges" at boot; the kernel model does not (yet), so the round
 * trip adds them from the platform's memblock, as Linux would print them.
 */
function withNodeRanges(dmesg: readonly string[], preset: string): string {
  const spec = presetSpec(preset)!;
  const h = (n: number): string => `0x${n.toString(16).padStart(16, '0')}`;
  const ranges = Memblock.fromE820(spec).pfnRanges().map((r) => `[    0.000000]   node ${String(r.nid).padStart(3)}: [mem ${h(r.start_pfn * 4096)}-${h(r.end_pfn * 4096 - 1)}]`);
  const at = dmesg.findIndex((l) => l.includes('virt/tdx:') || l.includes('tdx:'));
  return [...dmesg.slice(0, at), '[    0.000000] Early memory node ranges', ...ranges, ...dmesg.slice(at)].join('\n');
}

describe('round trip: diagnose reads what the simulated kernel prints', () => {
  for (const [preset, kernel] of [
    ['small-2s', 'linux-6.18'],
    ['small-2s', 'ubuntu-6.8-intel'],
    ['ref', 'ubuntu-6.8-intel'],
    ['small-2s', 'tdx-host-rfc'],
  ] as const) {
    it(`${preset}, ${kernel}`, () => {
      const r = run({ scenarioObject: { platform: preset, kernel, steps: [{ op: 'boot' }, { op: 'kvm.load' }] } });
      const d = diagnose({ text: withNodeRanges(r.runs[0]!.dmesgFormatted, preset) });
      expect(d.classification.class).toBe('success');
      expect(d.era.kernel).toBe(kernel);
      expect(d.reproduction.matches).toBe(true);
    });
  }
});
