import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { tempFile } from '../../__test-helpers__/cli.js';
import { codeOf } from '../../__test-helpers__/errors.js';

import { classify, diagnose, diffLines } from '../../../src/tools/diagnose.js';
import type { DiagnoseResult } from '../../../src/tools/diagnose.js';
import { mainBoot, parseDmesg, stripLogPrefix } from '../../../src/tools/parse/dmesg.js';
import type { U64 } from '../../../src/base/u64.js';
import { seamcallErrLines } from '../../../src/kernel/tdx/seamcall.js';
import { seamRegs } from '../../../src/platform/Seam.js';

const FIX = 'test/fixtures/dmesg';

const tmp = tempFile;


const cache = new Map<string, DiagnoseResult>();
function diag(name: string): DiagnoseResult {
  let d = cache.get(name);
  if (d === undefined) {
    d = diagnose({ file: `${FIX}/${name}` });
    cache.set(name, d);
  }
  return d;
}

describe('diagnose: every fixture is classified and reproduced line for line', () => {
  const cases: [string, string, string, string][] = [
    ['linux-6.8-success.dmesg', 'success', 'ubuntu-6.8-intel', '1.5.05'],
    ['linux-6.18-success.journal', 'success', 'linux-6.18', '1.5.06'],
    ['spr-rsvd-exhausted.dmesg', 'reserved-areas-exhausted', 'ubuntu-6.8-intel', '1.5.05'],
    ['module-not-loaded.dmesg', 'module-not-loaded', 'linux-6.18', '1.5.06'],
    ['hibernation.dmesg', 'hibernation', 'linux-6.18', '1.5.06'],
    ['version-skew-6.8-tdx1.0.dmesg', 'version-skew', 'ubuntu-6.8-intel', '1.0'],
    ['version-skew-6.18-tdx1.5.dmesg', 'version-skew', 'linux-6.18', '1.5.01'],
    ['too-few-keyids.dmesg', 'too-few-keyids', 'linux-6.18', '1.5.06'],
    ['key-config-failure.dmesg', 'key-programming-failure', 'linux-6.18', '1.5.06'],
    ['pamt-alloc-failure.dmesg', 'pamt-allocation-failure', 'linux-6.18', '1.5.06'],
    ['msr-misconfiguration.dmesg', 'cpu-msr-misconfiguration', 'linux-6.18', '1.5.06'],
    ['kexec-not-initial-state.dmesg', 'module-not-in-initial-state', 'linux-6.18', '1.5.06'],
    ['no-tdx.dmesg', 'no-tdx', 'ubuntu-6.8-intel', '1.5.05'],
    ['tdmrs-exhausted.dmesg', 'tdmrs-exhausted', 'ubuntu-6.8-intel', '1.5.05'],
  ];
  for (const [file, cls, kernel, module] of cases) {
    it(`${file}: ${cls}`, () => {
      const d = diag(file);
      expect(d.classification.class).toBe(cls);
      expect(d.era.kernel).toBe(kernel);
      expect(d.era.module).toBe(module);
      expect(d.reproduction.method).toBe('simulator');
      expect(d.reproduction.matches).toBe(true);
      expect(d.reproduction.diff.every((x) => x.op === 'same')).toBe(true);
      expect(d.reproduction.compared.same).toBe(d.story.lines.filter((l) => l.text.startsWith(d.era.prefix)).length);
      expect(d.remedy.length).toBeGreaterThan(0);
    });
  }
});

describe('diagnose: the story', () => {
  it('a 6.8 success: KeyIDs, PAMT, success, facts with their lines', () => {
    const d = diag('linux-6.8-success.dmesg');
    expect(d.story.keyids).toEqual({ start: 16, end: 64, line: 44 });
    expect(d.story.pamt).toEqual({ value: 262668, unit: 'KB', kb: 262668, line: 61 });
    expect(d.story.success).toEqual({ line: 62, text: 'virt/tdx: module initialized' });
    expect(d.boot.kernelVersion).toBe('6.8.0-45-generic');
    expect(d.era.prefix).toBe('virt/tdx: ');
    expect(d.reproduction.source?.kind).toBe('node-ranges');
    expect(d.alternatives).toEqual([]);
  });

  it('the v8 era: "tdx: " prefix, CMR lines, KBs', () => {
    const d = diag('tdx-host-v8-success.dmesg');
    expect(d.classification.class).toBe('success');
    expect(d.era).toMatchObject({ prefix: 'tdx: ', pamtUnit: 'KBs', kernel: 'tdx-host-v8' });
    expect(d.story.cmrs).toEqual([
      { base: '0x0', end: '0x80000000', line: 53 },
      { base: '0x100000000', end: '0x1080000000', line: 54 },
    ]);
    expect(d.story.pamt?.kb).toBe(262668);
    // The model's v8 profile skips SYS.INIT/LP.INIT, so the simulated boot fails: reported, not hidden.
    expect(d.reproduction.matches).toBe(false);
    expect(d.reproduction.notes.join(' ')).toContain('limit of the model');
  });

  it('the 2022 RFC: pages, SEAMRR, module version line, BIOS and sanitized CMRs', () => {
    const d = diag('tdx-host-rfc-success.dmesg');
    expect(d.era).toMatchObject({ prefix: 'tdx: ', pamtUnit: 'pages', kernel: 'tdx-host-rfc', module: '1.0' });
    expect(d.story.pamt).toMatchObject({ value: 65667, unit: 'pages', kb: 262668 });
    expect(d.story.module?.version).toBe('1.0');
    expect(d.story.keyids).toMatchObject({ start: 16, end: 64 });
    expect(d.story.cmrs.map((c) => c.base)).toEqual(['0x0', '0x100000000']);
    const same = d.reproduction.diff.filter((x) => x.op === 'same').map((x) => x.log);
    expect(same).toContain('tdx: 65667 pages allocated for PAMT.');
    expect(same).toContain('tdx: TDX module initialized.');
  });

  it('version skew: the failing metadata read, its registers, and the pairs that would work', () => {
    const d = diag('version-skew-6.8-tdx1.0.dmesg');
    expect(d.story.metadataReads).toHaveLength(1);
    expect(d.story.metadataReads[0]).toMatchObject({ leaf: 34, leafName: 'TDH.SYS.RD', status: '0xc000050500000000', statusName: 'TDX_SYS_NOT_READY' });
    expect(d.story.metadataReads[0]!.registers).toMatchObject({ rdx: '0x9100000100000008' });
    expect(d.cause).toContain('TDH.SYS.RD');
    expect(d.remedy.join('\n')).toContain('Upgrade to TDX module 1.5.01 or later (your 1.0 lacks TDH.SYS.RD, which kernels from 6.8 use to read the module\'s metadata), by a BIOS/firmware update or the OS SEAM loader, to keep Ubuntu 24.04 linux-intel 6.8 (6.8.0-1006-intel or later)');
    const ok = d.alternatives.filter((a) => a.simulated === 'ok').map((a) => `${a.kernel}+${a.module}`);
    expect(ok).toContain('ubuntu-6.8-intel+1.5.01');
    const skew2 = diag('version-skew-6.18-tdx1.5.dmesg');
    expect(skew2.remedy.join('\n')).toContain('Upgrade to TDX module 1.5.05 or later');
    expect(skew2.classification.explanation).toContain('MAX_VCPUS_PER_TD');
  });

  it('remedies name the fix: nohibernate, BIOS KeyIDs, SEAM loader, cold boot', () => {
    expect(diag('hibernation.dmesg').remedy.join(' ')).toContain('nohibernate');
    expect(diag('too-few-keyids.dmesg').remedy.join(' ')).toContain('TDX KeyIDs in the BIOS');
    expect(diag('module-not-loaded.dmesg').remedy.join(' ')).toContain('SEAM Loader');
    expect(diag('kexec-not-initial-state.dmesg').remedy.join(' ')).toMatch(/cold-boot|TDH\.SYS\.DISABLE/);
    expect(diag('spr-rsvd-exhausted.dmesg').classification.evidence[0]!.text).toContain('reserved areas exhausted');
    expect(diag('no-tdx.dmesg').classification.explanation).toContain('no line');
    expect(diag('tdmrs-exhausted.dmesg').remedy[0]).toBe('65 TDMRs needed, the module allows 64: merge memory ranges (fewer, larger DIMM/NUMA regions) or use fewer 1 GiB windows');
    expect(diag('spr-rsvd-exhausted.dmesg').remedy[0]).toContain('22 reserved areas needed in one TDMR, the module allows 16: fewer holes between the CMRs per 1 GiB window');
  });

  it('reproduction can be skipped', () => {
    const d = diagnose({ file: `${FIX}/hibernation.dmesg`, reproduce: false });
    expect(d.reproduction.attempted).toBe(false);
    expect(d.classification.class).toBe('hibernation');
  });

  it('a log of several boots diagnoses the last one with TDX lines', () => {
    const a = readFileSync(`${FIX}/version-skew-6.8-tdx1.0.dmesg`, 'utf8');
    const b = readFileSync(`${FIX}/no-tdx.dmesg`, 'utf8');
    const c = readFileSync(`${FIX}/linux-6.8-success.dmesg`, 'utf8');
    const d = diagnose({ text: a + b + c, reproduce: false });
    expect(d.boot.boots).toBe(3);
    expect(d.classification.class).toBe('success');
    expect(d.warnings.join(' ')).toContain('3 boots');
  });

  it('noise does not matter: thousands of unrelated lines around the story', () => {
    const lines = readFileSync(`${FIX}/key-config-failure.dmesg`, 'utf8').split('\n');
    const noisy: string[] = [];
    for (const l of lines) {
      noisy.push(l);
      for (let i = 0; i < 200; i++) {
        noisy.push(`[   12.${String(i).padStart(6, '0')}] usb 1-${i % 9}: new high-speed USB device number ${i} using xhci_hcd tdx tdx: not really`);
      }
    }
    const d = diagnose({ text: noisy.join('\n'), reproduce: false });
    expect(d.classification.class).toBe('key-programming-failure');
  });
});

describe('diagnose: classification rules on synthetic logs', () => {
  const cls = (lines: string[]): string => classify(mainBoot(parseDmesg(lines))).cls;
  it('covers the remaining classes', () => {
    expect(cls(['virt/tdx: BIOS enabled: private KeyID range [16, 64)', 'virt/tdx: initialization failed: TDMRs exhausted.', 'virt/tdx: module initialization failed (-28)'])).toBe('tdmrs-exhausted');
    expect(cls(['virt/tdx: BIOS enabled: private KeyID range [16, 64)', 'virt/tdx: SEAMCALL (0x000000000000002d) failed: 0xc000050c00000000', 'virt/tdx: module initialization failed (-5)'])).toBe('cpus-offline');
    expect(cls(['virt/tdx: SEAMCALL (0x000000000000002d) failed: 0xc0000a1200000201', 'virt/tdx: module initialization failed (-5)'])).toBe('config-rejected');
    expect(cls(['virt/tdx: frame pointer (RBP) clobber bug present, upgrade TDX module', 'virt/tdx: module initialization failed (-22)'])).toBe('version-skew');
    expect(cls(['virt/tdx: BIOS enabled: private KeyID range [16, 64)'])).toBe('not-initialized');
    expect(cls(['tdx: Guest detected'])).toBe('tdx-guest');
    expect(cls(['virt/tdx: module initialization failed (-5)'])).toBe('unknown-failure');
    expect(cls(['virt/tdx: 1034220 KB allocated for PAMT', 'virt/tdx: TDX-Module initialized'])).toBe('success');
    expect(cls(['virt/tdx: module initialized', 'kvm_intel: Disable TDX: MAX_VCPU_PER_TD (576) smaller than number of logical CPUs (960).'])).toBe('kvm-refused');
    expect(cls(['virt/tdx: SEAMCALL (0x0000000000000021) failed: 0xc000091400000000'])).toBe('cpu-msr-misconfiguration');
    expect(cls(['virt/tdx: SEAMCALL (0x0000000000000021) failed: 0x8000ff00ffff0000'])).toBe('module-not-loaded');
    // A failure after a successful init (a late CPU) does not undo the init, but it is a failure at run time.
    expect(cls(['virt/tdx: module initialized', 'virt/tdx: SEAMCALL (0x0000000000000023) failed: 0xc000050b00000000'])).toBe('runtime-seamcall-failure');
  });

  it('strips every timestamp and prefix form', () => {
    expect(stripLogPrefix('[    8.431219] virt/tdx: module initialized').text).toBe('virt/tdx: module initialized');
    expect(stripLogPrefix('<6>[    8.431219] virt/tdx: x').text).toBe('virt/tdx: x');
    expect(stripLogPrefix('Mar 04 10:12:03 host kernel: virt/tdx: x').text).toBe('virt/tdx: x');
    expect(stripLogPrefix('2025-03-04T10:12:03.123456+00:00 host kernel: virt/tdx: x').text).toBe('virt/tdx: x');
    expect(stripLogPrefix('[Tue Mar  4 10:12:03 2025] virt/tdx: x').text).toBe('virt/tdx: x');
    expect(stripLogPrefix('kern  :info  : [    1.000000] virt/tdx: x').text).toBe('virt/tdx: x');
    expect(stripLogPrefix('[    1.000000] [    T1] virt/tdx: x').text).toBe('virt/tdx: x');
  });

  it('diffs line for line', () => {
    const d = diffLines(
      [
        { text: 'a', line: 1 },
        { text: 'b', line: 2 },
        { text: 'c', line: 3 },
      ],
      ['a', 'x', 'c'],
    );
    expect(d.map((x) => x.op)).toEqual(['same', 'extra', 'missing', 'same']);
  });
});

describe('diagnose: bad input', () => {
  it('garbage, binary, empty, truncated, not a log', () => {
    expect(codeOf(() => diagnose({ text: 'just some words\nand more words\n' })).code).toBe('TDXSIM_NOT_DMESG');
    expect(codeOf(() => diagnose({ file: tmp('b.bin', Buffer.from([1, 2, 0, 3])) })).code).toBe('TDXSIM_BINARY_INPUT');
    expect(codeOf(() => diagnose({ file: tmp('e.txt', '') })).code).toBe('TDXSIM_EMPTY_INPUT');
    expect(codeOf(() => diagnose({ file: '/nonexistent' })).code).toBe('TDXSIM_FILE');
    expect(codeOf(() => diagnose({})).code).toBe('TDXSIM_BAD_ARGS');
    const text = readFileSync(`${FIX}/version-skew-6.8-tdx1.0.dmesg`, 'utf8');
    const cut = text.slice(0, text.indexOf('SEAMCALL (0x00000000000000') + 26);
    // A cut-off last line is no refusal: it is matched against the strings it could start.
    const d = diagnose({ file: tmp('cut.dmesg', cut) });
    expect(d.warnings.join('\n')).toMatch(/line 56 is cut off: .*SEAMCALL \(0x%016llx\) failed: 0x%016llx/);
  });

  it('a log without TDX lines says so (and is not an error)', () => {
    const d = diag('no-tdx.dmesg');
    expect(d.story.lines).toEqual([]);
    expect(d.classification.title).toContain('no TDX lines');
  });
});

describe('diagnose at scale', () => {
  it('20,000 SEAMCALL failure lines after a successful init: a runtime failure, not success, in linear time', () => {
    const base = readFileSync('test/fixtures/dmesg/linux-6.8-success.dmesg', 'utf8');
    const noise = Array.from({ length: 20_000 }, () => '[   99.000000] virt/tdx: SEAMCALL (0x0000000000000022) failed: 0xc0000c0000000000').join('\n');
    const d = diagnose({ text: `${base}${noise}\n`, name: 'sc20k.dmesg', reproduce: false });
    expect(d.classification.class).toBe('runtime-seamcall-failure');
    expect(d.classification.explanation.startsWith('the TDX module initialised (line 62), then 20000 SEAMCALL failure(s) at run time: 20000 × TDH.SYS.RD returned')).toBe(true);
  });
});

describe('diagnose: a healthy init followed by failing SEAMCALLs at run time', () => {
  /** The model's own failure lines for TDH.SYS.RD (seamcall_prerr_ret: status line plus two register lines). */
  const rdFailure = (t: number): string[] =>
    seamcallErrLines(34n, { ret: 0xc0000c0000000000n as U64, out: seamRegs({ rdx: 0xffffffffffffffffn }) }, 'seamcall_prerr_ret').map((l) => `[  ${(100 + t / 1000).toFixed(6)}] virt/tdx: ${l}`);
  const base = readFileSync('test/fixtures/dmesg/linux-6.8-success.dmesg', 'utf8');

  it('thousands of runtime TDH.SYS.RD failures after "module initialized" are named, counted and explained, never "success"', () => {
    const text = `${base}${Array.from({ length: 3000 }, (_, i) => rdFailure(i).join('\n')).join('\n')}\n`;
    const d = diagnose({ text, name: 'rd3k.dmesg', reproduce: false });
    expect(d.classification.class).toBe('runtime-seamcall-failure');
    expect(d.classification.title).toBe('SEAMCALL failures at run time, not at initialisation (TD build, run or teardown, or a later metadata read)');
    expect(d.classification.explanation).toBe(
      'the TDX module initialised (line 62), then 3000 SEAMCALL failure(s) at run time: 3000 × TDH.SYS.RD returned TDX_METADATA_FIELD_ID_INCORRECT (0xc0000c0000000000): the metadata field id is malformed or this module version does not have the field; reads of the module\'s global metadata after initialisation (the log does not name the reader): TDX stays up; each read failed for its caller',
    );
    expect(d.classification.evidence.map((e) => e.line)).toEqual([62, 64]);
    expect(d.cause).toBe(d.classification.explanation);
    expect(d.remedy.at(-1)).toBe(
      'TDX initialised and stays usable: these are later reads of module metadata; find the reader (KVM, a tool or a driver reading TDX metadata) from what ran at those timestamps, and give it a module that has the field or stop it asking',
    );
    // The init succeeded, so the runtime failure does not pick the module release.
    expect(d.inferred.module.profile).toBe('1.5.05');
  });

  it('only private-page removal leaves failed (RANGE.BLOCK, TRACK, PAGE.REMOVE, PAGE.WBINVD): said to be KVM removing private memory', () => {
    const block = '[  130.000000] kvm_intel: SEAMCALL TDH_MEM_RANGE_BLOCK failed: 0x8000020200000000, rcx 0x0, rdx 0x17efe6000';
    const track = '[  130.000001] kvm_intel: SEAMCALL TDH_MEM_TRACK failed: 0x8000020200000000';
    const d = diagnose({ text: `${base}${block}\n${track}\n`, name: 'removal.dmesg', reproduce: false });
    expect(d.classification.class).toBe('runtime-seamcall-failure');
    expect(d.classification.explanation).toMatch(
      /^the TDX module initialised \(line 62\), then 2 SEAMCALL failure\(s\) at run time: 1 × TDH\.MEM\.RANGE\.BLOCK returned TDX_SYS_BUSY \(0x8000020200000000\): [^;]+; 1 × TDH\.MEM\.TRACK returned TDX_SYS_BUSY \(0x8000020200000000\): [^;]+; while KVM removed a TD's private memory \(at teardown from Linux 6\.16, or when the guest gave pages back\): the host's TDX came up, a TD operation failed$/,
    );
  });

  it('several runtime leaves and statuses: each pair counted in order of first appearance', () => {
    const lp = '[  120.000000] virt/tdx: SEAMCALL (0x0000000000000023) failed: 0xc000050500000000';
    const text = `${base}${rdFailure(1).join('\n')}\n${lp}\n${lp}\n${rdFailure(2).join('\n')}\n`;
    const d = diagnose({ text, name: 'mixed.dmesg', reproduce: false });
    expect(d.classification.class).toBe('runtime-seamcall-failure');
    expect(d.classification.explanation).toMatch(
      /^the TDX module initialised \(line 62\), then 4 SEAMCALL failure\(s\) at run time: 2 × TDH\.SYS\.RD returned TDX_METADATA_FIELD_ID_INCORRECT \(0xc0000c0000000000\): [^;]+; 2 × TDH\.SYS\.LP\.INIT returned TDX_SYS_NOT_READY \(0xc000050500000000\): [^;]+; after initialisation: the host's TDX came up, later SEAMCALLs failed$/,
    );
  });
});
