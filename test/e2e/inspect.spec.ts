import { describe, expect, it } from 'vitest';

import { inspectScenario, parseMoment } from '../../src/api/index.js';
import { tdxsim } from '../__test-helpers__/cli.js';

const LINE = 0x17efa1000;

describe('tdxsim inspect: the machine at a moment of the default scenario', () => {
  it('after step 2 (td.create): the TD\'s dirty private lines sit in CPU 1\'s cache, every CPU is flagged', () => {
    const v = inspectScenario({ scenario: 'default', at: parseMoment('2'), cache: 1, line: LINE });
    expect(v.at).toEqual({ requested: '2', t: 27999294, where: 'after step 2 (td.create)' });
    expect(v.kernel).toEqual({ profile: 'linux-6.18', generation: 0, tdx_module_status: 'INITIALIZED', kexec: { stopping_cpu: -1, kexec_in_progress: false, nmiHandlerRegistered: false, crashing: false } });
    expect(v.cpus.map((c) => [c.cpu, c.package, c.online, c.vmx, c.cache_state_incoherent, c.dirtyLines, c.running])).toEqual([
      // CPU 0 ran TDH.SYS.TDMR.INIT: 3 lines of its own plus the PAMT_2M and PAMT_1G lines the
      // module stored through the global KeyID (6 GiB in 3 TDMRs: 768 + 3); and 2 Secure EPT lines
      // under the TD's HKID (line 0 of the SEPT root and of the level-2 SEPT page, stored by
      // TDH.MEM.SEPT.ADD: module/septLayout.ts).
      [0, 0, true, true, true, 776, 'idle'],
      [1, 0, true, true, true, 4096, 'idle'],
      [2, 1, true, true, true, 1, 'idle'],
      [3, 1, true, true, true, 0, 'idle'],
    ]);
    expect(v.module).toEqual({
      release: '1.5.06',
      sysState: 'SYS_READY',
      privateHkids: [16, 63],
      kot: [
        { hkid: 16, state: 'HKID_RESERVED', wbinvdBitmap: 0 },
        { hkid: 17, state: 'HKID_ASSIGNED', wbinvdBitmap: 0 },
      ],
      tds: [{ tdr: '0x17efed000', hkid: 17, lifecycle: 'TD_KEYS_CONFIGURED' }],
    });
    // Versions count cached stores: the Secure EPT entries the build stores (module/septLayout.ts)
    // come before the guest's, which now take version 1081 (561 before them); the ACCEPT's MOVDIR64B
    // of the page is 1076 (was 559), its entry stores in between.
    expect(v.cache).toEqual({ cpu: 1, lines: 4096, dirtyLines: 4096, ranges: [{ keyId: 17, base: '0x17efa1000', end: '0x17efe1000', lines: 4096, dirty: true, version: 1081, writer: 'td1' }] });
    expect(v.line).toEqual({ pa: '0x17efa1000', memory: { keyId: 17, tdOwned: true, poison: false, version: 1076, writer: 'tdx-module' }, cached: [{ cpu: 1, keyId: 17, dirty: true, version: 1081, writer: 'td1' }] });
  });

  it('at the jump: the others stopped in the REBOOT handler, KVM flushed CPU 1 before the stop, the TD\'s PAMT entries are still there', () => {
    const v = inspectScenario({ scenario: 'default', at: parseMoment('jump'), cache: 1, line: LINE, pamt: { base: 0x17ef00000, len: 0x200000 } });
    expect(v.at).toEqual({ requested: 'jump', t: 31111486, where: 'during step 3 (kexec), as CPU 0 jumps to the next kernel' });
    expect(v.kernel?.kexec).toEqual({ stopping_cpu: 0, kexec_in_progress: true, nmiHandlerRegistered: false, crashing: false });
    expect(v.cpus.map((c) => [c.cpu, c.online, c.vmx, c.halted, c.cache_state_incoherent, c.stopThisCpuRuns, c.dirtyLines, c.running])).toEqual([
      [0, true, false, false, false, 0, 0, 'kernel_kexec'],
      [1, false, false, true, false, 1, 0, 'REBOOT'],
      [2, false, false, true, false, 1, 0, 'REBOOT'],
      [3, false, false, true, false, 1, 0, 'REBOOT'],
    ]);
    expect(v.cache).toEqual({ cpu: 1, lines: 0, dirtyLines: 0, ranges: [] });
    expect(v.line?.memory).toEqual({ keyId: 17, tdOwned: true, poison: false, version: 1081, writer: 'td1' });
    expect(v.pamt?.ranges).toEqual([
      { base: '0x17ef00000', end: '0x17efe1000', pages: 225, pt: 'PT_REG', level: '4K', owner: '0x17efed000', ownerHkid: 17 },
      { base: '0x17efe1000', end: '0x17efe6000', pages: 5, pt: 'PT_TDCX', level: '4K', owner: '0x17efed000', ownerHkid: 17 },
      { base: '0x17efe6000', end: '0x17efe7000', pages: 1, pt: 'PT_TDVPR', level: '4K', owner: '0x17efed000', ownerHkid: 17 },
      { base: '0x17efe7000', end: '0x17efed000', pages: 6, pt: 'PT_TDCX', level: '4K', owner: '0x17efed000', ownerHkid: 17 },
      { base: '0x17efed000', end: '0x17efee000', pages: 1, pt: 'PT_TDR', level: '4K' },
      { base: '0x17efee000', end: '0x17f100000', pages: 274, pt: 'PT_RSVD' },
    ]);
  });

  it('at the end: the kexec\'d kernel runs, with its own tdx_module_status and flags', () => {
    const v = inspectScenario({ scenario: 'default', at: parseMoment('end'), pamt: { base: 0x1ffffe000, len: 0x4000 } });
    expect(v.kernel).toMatchObject({ profile: 'linux-6.18', generation: 1, tdx_module_status: 'UNINITIALIZED' });
    expect(v.cpus.every((c) => !c.cache_state_incoherent && c.online && !c.halted && c.stopThisCpuRuns === 0)).toBe(true);
    // The last TDMR ends at 8 GiB, the end of RAM: past it there is no PAMT.
    expect(v.pamt?.ranges).toEqual([
      { base: '0x1ffffe000', end: '0x200000000', pages: 2, pt: 'PT_RSVD' },
      { base: '0x200000000', end: '0x200002000', pages: 2, pt: 'no PAMT (not TDMR memory)' },
    ]);
  });

  it('a time: the first step boundary at or after it, on the CPU that reaches it', () => {
    const v = inspectScenario({ scenario: 'default', at: parseMoment('5ms') });
    expect(v.at.requested).toBe('0.005s');
    expect(v.at.t).toBeGreaterThanOrEqual(5_000_000);
    expect(v.at.t).toBeLessThan(5_100_000);
    expect(v.at.where).toBe('during step 1 (kvm.load), as CPU 0 reaches it');
    expect(v.module?.tds).toEqual([]);
  });

  it('a bare platform: the two aliases of one line, each dirty in its own CPU\'s cache', () => {
    const v = inspectScenario({ scenario: 'cache-alias', at: parseMoment('1'), line: 0x10000000 });
    expect(v.kernel).toBeNull();
    expect(v.module).toBeNull();
    expect(v.line).toEqual({
      pa: '0x10000000',
      memory: { keyId: 0, tdOwned: false, poison: false, version: 0, writer: 'firmware' },
      cached: [
        { cpu: 0, keyId: 17, dirty: true, version: 1, writer: 'CPU 0' },
        { cpu: 1, keyId: 0, dirty: true, version: 2, writer: 'CPU 1' },
      ],
    });
  });

  it('the CLI prints it like crash and refuses moments the run never reaches', () => {
    const r = tdxsim(['inspect', 'default', '--at', '2', '--cache', '1']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').slice(0, 9)).toEqual([
      'default at t=0.027999 s, after step 2 (td.create) (--at 2)',
      '',
      'KERNEL linux-6.18 (kernel 0)  tdx_module_status: INITIALIZED',
      '  stopping_cpu -1  kexec_in_progress false  NMI stop handler not registered',
      '',
      '  CPU  PKG  ONLINE  VMX  HLT  SEAM  NMI  INCOHERENT  STOP_MASK  STOPS  DIRTY  RUNNING',
      '    0    0  yes     yes  -    -     -    yes         -              0    776  idle',
      '    1    0  yes     yes  -    -     -    yes         -              0   4096  idle',
      '    2    1  yes     yes  -    -     -    yes         -              0      1  idle',
    ]);
    expect(r.stdout).toContain('     17  0x17efa1000         0x17efe1000          4096  yes       1081  td1\n');
    const bad = tdxsim(['inspect', 'default', '--at', '9']);
    expect([bad.status, bad.stdout, bad.stderr]).toEqual([2, '', 'tdxsim: --at 9: never reached: the scenario has steps 0 to 4\n']);
    const badAt = tdxsim(['inspect', 'default', '--at', 'soon']);
    expect([badAt.status, badAt.stderr]).toEqual([2, 'tdxsim: --at "soon": expected a step number (3), a simulated time with unit (1.5s, 30ms, 500us, 1000ns), jump or end\n']);
  });
});
