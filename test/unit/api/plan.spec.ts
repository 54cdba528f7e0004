import { readFileSync, truncateSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { tempFile } from '../../__test-helpers__/cli.js';
import { codeOf } from '../../__test-helpers__/errors.js';

import { metadataPreflight, plan, planJson, planSpec } from '../../../src/tools/plan.js';
import type { PlanResult } from '../../../src/tools/plan.js';
import { run } from '../../../src/api/run.js';
import { FIRST_CHOICE } from '../../../src/base/choice.js';
import { Scheduler } from '../../../src/sim/Scheduler.js';
import { kernelProfile } from '../../../src/kernel/profiles.js';
import type { KernelProfileName } from '../../../src/kernel/profiles.js';
import { consumed_tdmrs } from '../../../src/kernel/tdx/tdmr.js';
import { createMachine } from '../../../src/machine/Machine.js';
import { moduleProfile } from '../../../src/module/profiles.js';
import type { ModuleProfileName } from '../../../src/module/profiles.js';
import { preset } from '../../../src/platform/presets.js';
import { parsePlatformSpec } from '../../../src/platform/spec.js';
import type { PlatformSpec } from '../../../src/platform/spec.js';

const FIX = 'test/fixtures';
const M64 = `${FIX}/dmesg/linux-6.8-success.dmesg`;
const GiB = 2 ** 30;

const tmp = tempFile;


function layout(p: PlanResult): [string, string][] {
  return p.tdmrs.map((t) => [t.base, t.size]);
}

describe('plan: the 64 GiB, 3-TDMR machine of the spec (65667 pages = 262668 KB)', () => {
  it('plans the TDMRs and the PAMT exactly from a 6.8 dmesg', () => {
    // Mainline's holes from the memory list (linux-6.16; ubuntu-6.8-intel takes them from CMRs).
    const p = plan({ input: M64, kernel: 'linux-6.16' });
    expect(p.outcome).toBe('ok');
    expect(p.source.kind).toBe('node-ranges');
    expect(p.source.detail).toContain('lines 38-41');
    expect(layout(p)).toEqual([
      ['0x0', '0x80000000'],
      ['0x100000000', '0x780000000'],
      ['0x880000000', '0x800000000'],
    ]);
    expect(p.pamtPages).toBe(65667);
    expect(p.pamtKb).toBe(262668);
    expect(p.tdmrs.map((t) => t.pamt?.pages)).toEqual([2053, 30781, 32833]);
    expect(p.tdmrs.map((t) => t.pamt?.node)).toEqual([0, 0, 1]);
    expect(p.tdmrs[0]!.reserved[0]).toEqual({ offset: '0x0', size: '0x100000' });
    expect(p.dmesg).toEqual([
      'virt/tdx: BIOS enabled: private KeyID range [16, 64)',
      'virt/tdx: Disable ACPI S3. Turn off TDX in the BIOS to use ACPI S3.',
      'virt/tdx: 262668 KB allocated for PAMT',
      'virt/tdx: module initialized',
    ]);
    expect(p.headroom.tdmrs).toEqual({ used: 3, max: 64, free: 61, needed: 3 });
    expect(p.headroom.reservedAreas.max).toBe(16);
  });

  it('prints the PAMT line of each era', () => {
    const c = plan({ input: M64, compare: true }).compare!;
    const line = (k: string): string => c.find((x) => x.kernel === k)!.pamtLine;
    expect(line('linux-6.18')).toBe('virt/tdx: 262668 KB allocated for PAMT');
    expect(line('ubuntu-6.8-intel')).toBe('virt/tdx: 262668 KB allocated for PAMT');
    expect(line('tdx-host-v8')).toBe('tdx: 262668 KBs allocated for PAMT.');
    expect(line('tdx-host-rfc')).toBe('tdx: 65667 pages allocated for PAMT.');
    expect(c.map((x) => x.kernel)).toEqual(['linux-6.18', 'linux-6.6', 'ubuntu-6.8-intel', 'linux-6.16', 'linux-7.1', 'linux-7.2', 'tdx-host-v8', 'tdx-host-rfc']);
    expect(line('linux-7.1')).toBe('virt/tdx: 262668 KB allocated for PAMT');
    expect(c.find((x) => x.kernel === 'linux-7.1')!.dmesg.slice(-3)).toEqual(['virt/tdx: Module version: 1.5.16', 'virt/tdx: 262668 KB allocated for PAMT', 'virt/tdx: TDX-Module initialized']);
    expect(c.find((x) => x.kernel === 'linux-6.6')!.failure?.reason).toBe('no-host-support');
    const rfc = c.find((x) => x.kernel === 'tdx-host-rfc')!;
    expect(rfc.dmesg).toEqual(['tdx: 65667 pages allocated for PAMT.', 'tdx: TDX module initialized.']);
  });

  it('gives the same layout from the e820 table plus SRAT when the node ranges are missing', () => {
    const text = readFileSync(M64, 'utf8')
      .split('\n')
      .filter((l) => !/node +\d+: \[mem|Early memory node ranges/.test(l))
      .join('\n');
    const p = plan({ text });
    expect(p.source.kind).toBe('e820');
    expect(p.source.detail).toContain('"e820: update/remove" line(s) applied');
    expect(p.source.detail).toContain('nodes from SRAT');
    expect(layout(p)).toEqual(layout(plan({ input: M64 })));
    expect(p.pamtKb).toBe(262668);
  });

  it('falls back to the CMRs when the log has no memory map, and says so', () => {
    const text = ['[    0.000000] Linux version 6.1.0-rc8-tdx-host-v8', '[    5.000000] tdx: BIOS enabled: private KeyID range [16, 64)', '[    5.1] tdx: CMR: [0x0, 0x80000000)', '[    5.1] tdx: CMR: [0x100000000, 0x1080000000)'].join('\n');
    const p = plan({ text, kernel: 'tdx-host-v8' });
    expect(p.source.kind).toBe('cmrs');
    expect(p.assumptions.join(' ')).toContain('upper bound');
    expect(p.pamtLine).toBe('tdx: 262664 KBs allocated for PAMT.');
  });

  it('reads /proc/iomem (no NUMA information: one node)', () => {
    const p = plan({ input: `${FIX}/iomem/m64.iomem` });
    expect(p.input.kind).toBe('iomem');
    expect(p.source.kind).toBe('iomem');
    expect(layout(p)).toEqual([
      ['0x0', '0x80000000'],
      ['0x100000000', '0xf80000000'],
    ]);
    expect(p.pamtPages).toBe(2053 + 1026 * 62 + 1);
    expect(p.assumptions.join(' ')).toContain('no NUMA information');
  });

  it('reads a platform JSON file: spec 7.28 reserved areas of TDMR 0', () => {
    const p = plan({ input: `${FIX}/platform/spec-7-28.json` });
    expect(p.source.kind).toBe('platform');
    expect(layout(p)).toEqual([
      ['0x0', '0x80000000'],
      ['0x80000000', '0x40000000'],
    ]);
    expect(p.tdmrs[0]!.reserved).toEqual([
      { offset: '0x0', size: '0x100000' },
      { offset: '0x60000000', size: '0x10000000' },
    ]);
  });

  it('plans a preset by name', () => {
    const p = plan({ input: 'emr-2s-1t' });
    expect(p.input.kind).toBe('preset');
    expect(p.outcome).toBe('ok');
    const pages = p.tdmrs.reduce((s, t) => s + 1026 * t.sizeGiB + Math.ceil(t.sizeGiB / 256), 0);
    expect(p.pamtPages).toBe(pages);
  });
});

describe('plan: limits, headroom and failures', () => {
  it('TDMRs exhausted: the message, the errno, and how many would be needed', () => {
    const p = plan({ input: M64, maxTdmrs: 2 });
    expect(p.outcome).toBe('fail');
    expect(p.failure?.reason).toBe('tdmrs-exhausted');
    expect(p.dmesg.slice(-2)).toEqual(['virt/tdx: initialization failed: TDMRs exhausted.', 'virt/tdx: module initialization failed (-28)']);
    expect(p.headroom.tdmrs.needed).toBe(3);
    expect(p.pamtKb).toBe(262668);
    expect(p.headroom.notes.join(' ')).toContain('3 TDMRs needed');
  });

  it('warns when few TDMRs are left (consumed TDMRs reaching limit)', () => {
    const p = plan({ input: M64, maxTdmrs: 6 });
    expect(p.outcome).toBe('ok');
    expect(p.dmesg).toContain('virt/tdx: consumed TDMRs reaching limit: 3 used out of 6');
    expect(plan({ input: M64, maxTdmrs: 7 }).dmesg.join('\n')).not.toContain('reaching limit');
  });

  it('reserved areas exhausted on the SPR log, and the number needed', () => {
    const p = plan({ input: `${FIX}/dmesg/spr-rsvd-exhausted.dmesg`, kernel: 'linux-6.16' });
    expect(p.outcome).toBe('fail');
    expect(p.failure?.reason).toBe('reserved-areas-exhausted');
    expect(p.dmesg.slice(-2)).toEqual(['virt/tdx: initialization failed: TDMR [0x0, 0x40000000): reserved areas exhausted.', 'virt/tdx: module initialization failed (-28)']);
    expect(p.headroom.reservedAreas.needed).toBe(21);
    expect(plan({ input: `${FIX}/dmesg/spr-rsvd-exhausted.dmesg`, kernel: 'linux-6.16', maxReserved: 22 }).outcome).toBe('ok');
  });

  it('version skew before any TDMR: linux-6.8 with a 1.0 module, linux-6.18 with 1.5.01', () => {
    const a = plan({ input: M64, kernel: 'ubuntu-6.8-intel', module: '1.0' });
    expect(a.outcome).toBe('fail');
    expect(a.failure?.reason).toBe('version-skew');
    expect(a.dmesg.slice(2, 3)).toEqual(['virt/tdx: TDX module: attributes 0x0, vendor_id 0x8086, major_version 1, minor_version 0, build_date 0, build_num 0']);
    expect(a.dmesg.slice(-4)).toEqual([
      'virt/tdx: SEAMCALL (0x0000000000000022) failed: 0xc000050500000000',
      'virt/tdx: RCX 0x0000000000000000 RDX 0x9100000100000008 R08 0x0000000000000000',
      'virt/tdx: R09 0x0000000000000000 R10 0x0000000000000000 R11 0x0000000000000000',
      'virt/tdx: module initialization failed (-5)',
    ]);
    expect(a.tdmrs).toHaveLength(3);
    const b = plan({ input: M64, kernel: 'linux-6.18', module: '1.5.01' });
    expect(b.dmesg[2]).toBe('virt/tdx: SEAMCALL (0x0000000000000022) failed: 0xc0000c0000000000');
    expect(b.dmesg[3]).toBe('virt/tdx: RCX 0x0000000000000000 RDX 0xffffffffffffffff R08 0x0000000000000000');
    expect(metadataPreflight(kernelProfile('linux-6.18'), moduleProfile('1.5.06'))).toBeUndefined();
    expect(metadataPreflight(kernelProfile('tdx-host-v8'), moduleProfile('1.0'))).toBeUndefined();
  });

  it('boot-time refusals: too few KeyIDs, hibernation, no module', () => {
    const base = preset('small-2s')!;
    const few = planSpec({ ...base, keyids: { bits: 6, mktme: 62, tdx: 1 } });
    expect(few.failure?.reason).toBe('too-few-keyids');
    expect(few.dmesg).toEqual(['virt/tdx: BIOS enabled: private KeyID range [63, 64)', 'virt/tdx: initialization failed: too few private KeyIDs available.']);
    const hib = planSpec({ ...base, firmware: { hibernation: true, acpiS3: true } });
    expect(hib.dmesg[1]).toBe('virt/tdx: initialization failed: Hibernation support is enabled');
    const nomod = planSpec({ ...base, tdxModule: { loaded: false } });
    expect(nomod.dmesg.at(-1)).toBe('virt/tdx: module not loaded');
    // The ACPI S3 line is compile-time (CONFIG_ACPI && CONFIG_SUSPEND): firmware S3 or not.
    const noS3 = planSpec({ ...base, firmware: { hibernation: false, acpiS3: false } });
    expect(noS3.dmesg.slice(0, 2)).toEqual(['virt/tdx: BIOS enabled: private KeyID range [16, 64)', 'virt/tdx: Disable ACPI S3. Turn off TDX in the BIOS to use ACPI S3.']);
    const none = planSpec({ ...base, keyids: { bits: 6, mktme: 63, tdx: 0 } });
    expect(none.dmesg).toEqual([]);
    expect(none.failure?.reason).toBe('no-tdx-keyids');
  });

  it('estimates Dynamic PAMT: 2M and 1G levels plus a 4K bitmap', () => {
    const d = plan({ input: M64 }).dynamicPamt;
    expect(d.pamt2mKb).toBe(512);
    expect(d.pamt1gKb).toBe(12);
    expect(d.bitmapKb).toBe(2048);
    expect(d.staticKb).toBe(2572);
    expect(d.onDemandKbPer2M).toBe(8);
    expect(d.worstCaseKb).toBe(2572 + 64 * 512 * 8);
    expect(d.savedKb).toBe(262668 - 2572);
    expect(d.assumptions.length).toBeGreaterThan(2);
  });

  it('JSON form has the documented keys with hex strings', () => {
    const j = planJson(plan({ input: M64 })) as Record<string, unknown>;
    for (const k of ['outcome', 'pamtKb', 'tdmrs', 'dmesg', 'source', 'headroom', 'dynamicPamt']) {
      expect(j).toHaveProperty(k);
    }
    const t = (j['tdmrs'] as { base: string; size: string; reserved: unknown[]; pamt: unknown }[])[0]!;
    expect(t.base).toMatch(/^0x[0-9a-f]+$/);
    expect(t.size).toMatch(/^0x[0-9a-f]+$/);
    expect(t.pamt).toHaveProperty('base4k');
    expect(JSON.parse(JSON.stringify(j))).toEqual(j);
  });
});

/** Bring TDX up in the simulator and return the kernel's own TDMR list and TDX lines. */
function simulate(spec: PlatformSpec, kernel: KernelProfileName, module: ModuleProfileName): { tdmrs: { base: number; size: number; reserved: { offset: number; size: number }[]; pamt: number }[]; lines: string[] } {
  const m = createMachine({ spec, kernel, module });
  const sched = new Scheduler(m.platform, FIRST_CHOICE, 'timed');
  sched.runProgram(m.platform.cpu(0), m.bootKernel());
  sched.runProgram(m.platform.cpu(0), m.loadKvm());
  const list = m.kernel.tdx.tdx_tdmr_list;
  const tdmrs = list === undefined ? [] : consumed_tdmrs(list).map((t) => ({ base: t.base, size: t.size, reserved: t.reserved_areas.map((r) => ({ ...r })), pamt: t.pamt_4k_base }));
  const prefix = kernelProfile(kernel).strings.prefix;
  return { tdmrs, lines: m.dmesgLines().filter((l) => l.startsWith(prefix)) };
}

describe('plan agrees with the simulated kernel', () => {
  const specs: [string, PlatformSpec][] = [
    ['small-2s', preset('small-2s')!],
    ['ref', preset('ref')!],
    ['m64 (from the 6.8 log)', plan({ input: M64 }).platform],
    ['spec 7.28', plan({ input: `${FIX}/platform/spec-7-28.json` }).platform],
  ];
  for (const [name, spec] of specs) {
    for (const [kernel, module] of [
      ['linux-6.18', '1.5.06'],
      ['ubuntu-6.8-intel', '1.5.01'],
      ['tdx-host-rfc', '1.0'],
    ] as const) {
      it(`${name}, ${kernel} + ${module}: same TDMRs, reserved areas, PAMT addresses and TDX lines`, () => {
        const p = planSpec(spec, kernel, module);
        const s = simulate(spec, kernel, module);
        expect(p.outcome).toBe('ok');
        expect(p.tdmrs.map((t) => ({ base: Number(t.base), size: Number(t.size), reserved: t.reserved.map((r) => ({ offset: Number(r.offset), size: Number(r.size) })), pamt: Number(t.pamt?.base4k) }))).toEqual(s.tdmrs);
        // The RFC kernel also prints module information and CMRs, which a plan does not know.
        const skip = /TDX module: |CMR: /;
        expect(p.dmesg.filter((l) => !skip.test(l))).toEqual(s.lines.filter((l) => !skip.test(l)));
      });
    }
  }

  it('the version-skew lines equal the simulated ones', () => {
    const spec = preset('small-2s')!;
    for (const [kernel, module] of [
      ['ubuntu-6.8-intel', '1.0'],
      ['linux-6.18', '1.5.01'],
      ['linux-6.18', '1.0'],
    ] as const) {
      const r = run({ scenarioObject: { platform: 'small-2s', kernel, module, steps: [{ op: 'boot' }, { op: 'kvm.load' }] } });
      const lines = r.runs[0]!.dmesg.filter((l) => l.startsWith('virt/tdx: '));
      expect(planSpec(spec, kernel, module).dmesg).toEqual(lines);
    }
  });
});

describe('plan: bad input', () => {
  it('unknown profiles and bad limits', () => {
    expect(codeOf(() => plan({ input: M64, kernel: 'linux-9.9' })).code).toBe('TDXSIM_UNKNOWN_PROFILE');
    expect(codeOf(() => plan({ input: M64, module: 'tdx-3' })).message).toContain('1.5.06');
    expect(codeOf(() => plan({ input: M64, maxTdmrs: 0 })).code).toBe('TDXSIM_BAD_ARGS');
    expect(codeOf(() => plan({})).code).toBe('TDXSIM_BAD_ARGS');
  });

  it('missing file, empty, binary, garbage, too large', () => {
    expect(codeOf(() => plan({ input: '/nonexistent/dmesg.txt' })).message).toContain('not a preset');
    expect(codeOf(() => plan({ input: tmp('empty.txt', '') })).code).toBe('TDXSIM_EMPTY_INPUT');
    const bin = codeOf(() => plan({ input: tmp('bin.dat', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00, 0x0a])) }));
    expect(bin.code).toBe('TDXSIM_BINARY_INPUT');
    expect(bin.message).toContain('offset 6');
    const garbage = codeOf(() => plan({ input: tmp('g.txt', 'hello world\nthis is not a log\n') }));
    expect(garbage.code).toBe('TDXSIM_UNRECOGNIZED_INPUT');
    expect(garbage.message).toContain('line 1');
    const big = tmp('big.txt', '');
    truncateSync(big, 65 * 2 ** 20);
    expect(codeOf(() => plan({ input: big })).code).toBe('TDXSIM_INPUT_TOO_LARGE');
  });

  it('a dmesg without a memory map says so', () => {
    const e = codeOf(() => plan({ text: '[    0.000000] Linux version 6.8.0\n[    1.0] virt/tdx: module initialized\n' }));
    expect(e.code).toBe('TDXSIM_NO_MEMORY_MAP');
  });

  it('a cut-off or malformed dmesg line is a warning with its line number, never a refusal', () => {
    const text = readFileSync(M64, 'utf8');
    const cut = text.slice(0, text.indexOf('BIOS-e820: [mem 0x0000000100000000') + 30);
    const t = plan({ input: tmp('cut.dmesg', cut) });
    expect(t.warnings).toEqual(['line 11: malformed e820 line (the input ends in the middle of this line): "BIOS-e820: [mem 0x000000010000"; ignored']);
    const bad = text.replace('[mem 0x0000000000100000-0x000000007fffffff] usable', '[mem 0x0000000000100000-0xzz] usable');
    const b = plan({ input: tmp('bad.dmesg', bad) });
    expect(b.warnings).toEqual(['line 9: malformed e820 line: "BIOS-e820: [mem 0x0000000000100000-0xzz] usable"; ignored']);
    expect(b.outcome).toBe('ok');
    // Only input with no kernel-log shape at all is refused.
    expect(codeOf(() => plan({ text: 'hello world\nnothing here\n' })).code).toBe('TDXSIM_UNRECOGNIZED_INPUT');
  });

  it('bad JSON and bad platforms name the place', () => {
    const j = codeOf(() => plan({ input: tmp('p.json', '{\n  "name": "x",\n  "cpuModel": \n}') }));
    expect(j.code).toBe('TDXSIM_BAD_JSON');
    expect(j.message).toMatch(/line \d+, column \d+/);
    const raw = JSON.parse(readFileSync(`${FIX}/platform/spec-7-28.json`, 'utf8')) as Record<string, unknown>;
    const p = codeOf(() => plan({ input: tmp('p.json', JSON.stringify({ ...raw, cpuModel: 'pentium' })) }));
    expect(p.code).toBe('TDXSIM_BAD_PLATFORM');
    expect(p.message).toContain('cpuModel');
  });

  it('/proc/iomem read without root', () => {
    const e = codeOf(() => plan({ text: '00000000-00000000 : Reserved\n00000000-00000000 : System RAM\n' }));
    expect(e.code).toBe('TDXSIM_IOMEM_UNPRIVILEGED');
  });

  it('the rebuilt platform of a text input is a valid platform description', () => {
    const p = plan({ input: M64 });
    expect(parsePlatformSpec(JSON.parse(JSON.stringify(p.platform))).ok).toBe(true);
    expect(p.platform.memory.e820.reduce((s, e) => s + e.size, 0)).toBeGreaterThan(63 * GiB);
  });
});

describe('plan at scale', () => {
  it('a /proc/iomem of 130,000 RAM ranges is planned, not a stack overflow', () => {
    const lines: string[] = [];
    let b = 2 ** 32;
    for (let i = 0; i < 130_000; i++) {
      lines.push(`${b.toString(16)}-${(b + 0xffff).toString(16)} : System RAM`);
      b += 0x20000;
    }
    const p = plan({ text: `${lines.join('\n')}\n`, name: 'iomem130k.txt' });
    expect(p.input).toEqual({ name: 'iomem130k.txt', kind: 'iomem' });
    expect(p.memory.ranges).toBe(130_000);
    expect(p.failure?.reason).toBe('pamt-alloc');
  });
});

describe('plan refuses what run refuses', () => {
  it('an unknown tdxModule.overrides field is bad input', () => {
    const spec = JSON.parse(JSON.stringify(preset('small-2s'))) as Record<string, unknown>;
    spec['tdxModule'] = { overrides: { NOPE: 1 } };
    expect(codeOf(() => plan({ platform: spec }))).toEqual({ code: 'TDXSIM_BAD_PLATFORM', message: expect.stringMatching(/^platform: tdxModule.overrides: unknown metadata field "NOPE" \(known: NUM_PKGS, /) as unknown as string });
  });
});
