/**
 * The 2022 draft profiles (tdx-host-v8, tdx-host-rfc) against their patch mails: the rows of
 * the Linux audit of December 2026 (shared/audits/linux-2026-12.md #7-#16, #20, #23, #25).
 */
import { describe, expect, it } from 'vitest';

import { EFAULT, EINVAL, EIO, ENODEV } from '../../../src/kernel/errno.js';
import { TDH_SYS_LP_INIT, TDH_SYS_LP_SHUTDOWN } from '../../../src/kernel/tdx/defs.js';
import { sc_retry_prerr } from '../../../src/kernel/tdx/seamcall.js';
import { tdx_enable } from '../../../src/kernel/tdx/tdx.js';
import { kernelRig, tdxLines } from '../../__test-helpers__/kernelMachine.js';
import type { KernelRig } from '../../__test-helpers__/kernelMachine.js';

const levelOf = (r: KernelRig, text: string): string | undefined => r.m.kernel.dmesg.records().find((x) => x.text === text)?.level;

describe('tdx-host-v8 (9 Dec 2022)', () => {
  it('#8: no module: seamcall() prints "TDX module is not loaded." (pr_err_once), -ENODEV, then "initialization failed (-19)"', () => {
    const r = kernelRig('small-2s', { kernel: 'tdx-host-v8', module: 'real', edit: (s) => void (s.tdxModule = { loaded: false }) });
    r.m.kernel.bootCpu.vmx = true;
    expect(r.run(tdx_enable(r.m.kernel, r.m.kernel.bootCpu))).toBe(-EINVAL);
    expect(tdxLines(r.lines(), 'tdx: ').slice(1)).toEqual(['tdx: TDX module is not loaded.', 'tdx: initialization failed (-19)']);
    expect(levelOf(r, 'tdx: TDX module is not loaded.')).toBe('err');
  });
  it('#8: SEAM disabled (#GP): "[firmware bug]: TDX is not enabled by BIOS." and -ENODEV', () => {
    const r = kernelRig('small-2s', { kernel: 'tdx-host-v8', module: 'real', edit: (s) => void (s.seamrr.enabled = false) });
    r.m.kernel.bootCpu.vmx = true;
    expect(r.run(tdx_enable(r.m.kernel, r.m.kernel.bootCpu))).toBe(-EINVAL);
    expect(tdxLines(r.lines(), 'tdx: ').slice(1)).toEqual(['tdx: [firmware bug]: TDX is not enabled by BIOS.', 'tdx: initialization failed (-19)']);
  });
  it('#8: outside VMX operation (#UD): "CPU is not in VMX operation." and -EINVAL', () => {
    const r = kernelRig('small-2s', { kernel: 'tdx-host-v8', module: 'real' });
    expect(r.run(tdx_enable(r.m.kernel, r.m.kernel.bootCpu))).toBe(-EINVAL);
    expect(tdxLines(r.lines(), 'tdx: ').slice(1)).toEqual(['tdx: CPU is not in VMX operation.', 'tdx: initialization failed (-22)']);
  });
  it('#9: the module identity line (typo and all) before the CMR lines; build_date in decimal', () => {
    // A 1.0 build seen in real logs (canonical/tdx #331); the 1.0 profile's own build is unknown.
    const r = kernelRig('small-2s', { kernel: 'tdx-host-v8', module: 'real', kernelOverrides: { cpuInit: 'in-init' }, edit: (s) => void (s.tdxModule = { overrides: { BUILD_DATE: 20230206, BUILD_NUM: 457 } }) });
    expect(r.run(r.m.loadKvm())).toBe(0);
    const l = tdxLines(r.lines(), 'tdx: ');
    expect(l.slice(1, 3)).toEqual([
      'tdx: TDX module: atributes 0x0, vendor_id 0x8086, major_version 1, minor_version 0, build_date 20230206, build_num 457',
      'tdx: CMR: [0x0, 0x7c000000)',
    ]);
  });
  it('#10: no hibernation check; too few KeyIDs at info level', () => {
    const h = kernelRig('small-2s', { kernel: 'tdx-host-v8', edit: (s) => void (s.firmware = { hibernation: true }) });
    expect(tdxLines(h.lines(), 'tdx: ')).toEqual(['tdx: BIOS enabled: private KeyID range [16, 64)']);
    expect(h.m.kernel.tdx.hostPlatform).toBe(true);
    const k = kernelRig('small-2s', { kernel: 'tdx-host-v8', edit: (s) => void (s.keyids = { bits: 6, mktme: 15, tdx: 1 }) });
    expect(tdxLines(k.lines(), 'tdx: ')).toEqual(['tdx: BIOS enabled: private KeyID range [16, 17)', 'tdx: initialization failed: too few private KeyIDs available (1).']);
    expect(levelOf(k, 'tdx: initialization failed: too few private KeyIDs available (1).')).toBe('info');
  });
  it('#25: a pr_err_once line appears once per boot', () => {
    const r = kernelRig('small-2s', { kernel: 'tdx-host-v8', edit: (s) => void (s.keyids = { bits: 6, mktme: 15, tdx: 1 }) });
    const cpu = r.m.kernel.bootCpu;
    expect(r.run(tdx_enable(r.m.kernel, cpu))).toBe(-EINVAL);
    expect(r.run(tdx_enable(r.m.kernel, cpu))).toBe(-EINVAL);
    expect(tdxLines(r.lines(), 'tdx: ').filter((l) => l === 'tdx: initialization failed: TDX is disabled.')).toHaveLength(1);
  });
  it('#20: no X86_BUG_TDX_PW_MCE on an erratum part (so no PAMT reset either)', () => {
    expect(kernelRig('ref', { kernel: 'tdx-host-v8' }).m.kernel.tdx.bugPwMce).toBe(false);
    expect(kernelRig('ref', { kernel: 'tdx-host-rfc' }).m.kernel.tdx.bugPwMce).toBe(false);
    expect(kernelRig('ref', { kernel: 'linux-6.18' }).m.kernel.tdx.bugPwMce).toBe(true);
  });
});

describe('tdx-host-rfc (2022)', () => {
  it('#11: no module: "TDX module is not loaded." at info level, TDX_MODULE_NONE, -ENODEV, no LP.SHUTDOWN', () => {
    const r = kernelRig('small-2s', { kernel: 'tdx-host-rfc', module: 'real', edit: (s) => void (s.tdxModule = { loaded: false }) });
    r.m.kernel.bootCpu.vmx = true;
    expect(r.run(tdx_enable(r.m.kernel, r.m.kernel.bootCpu))).toBe(-ENODEV);
    expect(tdxLines(r.lines(), 'tdx: ')).toEqual(['tdx: TDX module is not loaded.']);
    expect(levelOf(r, 'tdx: TDX module is not loaded.')).toBe('info');
    expect(r.m.kernel.tdx.tdx_module_status).toBe('NONE');
    expect(r.run(tdx_enable(r.m.kernel, r.m.kernel.bootCpu))).toBe(-ENODEV);
  });
  it('#12/#16: a failing SEAMCALL prints "SEAMCALL leaf %llu failed: 0x%llx", -EFAULT; the shutdown line is pr_info', () => {
    const r = kernelRig('small-2s', { kernel: 'tdx-host-rfc' });
    for (const c of r.m.platform.cpus) {
      c.vmx = true;
    }
    r.stub!.fail(TDH_SYS_LP_INIT, 0xc000050200000000n);
    expect(r.run(tdx_enable(r.m.kernel, r.m.kernel.bootCpu))).toBe(-EFAULT);
    const l = tdxLines(r.lines(), 'tdx: ');
    expect(l).toEqual(['tdx: SEAMCALL leaf 35 failed: 0xc000050200000000', 'tdx: Failed to initialize TDX module. Shut it down.']);
    expect(levelOf(r, 'tdx: Failed to initialize TDX module. Shut it down.')).toBe('info');
    expect(r.stub!.leaves().filter((x) => x === TDH_SYS_LP_SHUTDOWN)).toHaveLength(4);
  });
  it('#12: a status without bit 63 counts as success in the RFC, as -EIO in 6.18', () => {
    for (const [kernel, want] of [['tdx-host-rfc', 0], ['linux-6.18', -EIO]] as const) {
      const r = kernelRig('small-2s', { kernel });
      const cpu = r.m.kernel.bootCpu;
      cpu.vmx = true;
      r.stub!.fail(TDH_SYS_LP_INIT, 0x0000000000000001n);
      expect(r.run(sc_retry_prerr(r.m.kernel, cpu, BigInt(TDH_SYS_LP_INIT), {}, 'seamcall_prerr')).err, kernel).toBe(want);
    }
  });
  it('#13: platform_has_tdx() needs SEAMRR and enough KeyIDs for the stop_this_cpu WBINVD', async () => {
    const { stop_this_cpu_wants_wbinvd } = await import('../../../src/kernel/kexec/process.js');
    const ok = kernelRig('small-2s', { kernel: 'tdx-host-rfc' });
    expect(stop_this_cpu_wants_wbinvd(ok.m.kernel, ok.m.platform.cpu(1))).toBe(true);
    const one = kernelRig('small-2s', { kernel: 'tdx-host-rfc', edit: (s) => void (s.keyids = { bits: 6, mktme: 15, tdx: 1 }) });
    expect(stop_this_cpu_wants_wbinvd(one.m.kernel, one.m.platform.cpu(1))).toBe(false);
    const off = kernelRig('small-2s', { kernel: 'tdx-host-rfc', edit: (s) => void (s.seamrr.enabled = false) });
    expect(stop_this_cpu_wants_wbinvd(off.m.kernel, off.m.platform.cpu(1))).toBe(false);
  });
  it('#15: build_date printed as the decimal YYYYMMDD', () => {
    const r = kernelRig('small-2s', { kernel: 'tdx-host-rfc', module: 'real', edit: (s) => void (s.tdxModule = { overrides: { BUILD_DATE: 20230206, BUILD_NUM: 457 } }) });
    expect(r.run(r.m.loadKvm())).toBe(0);
    expect(tdxLines(r.lines(), 'tdx: ')[0]).toBe('tdx: TDX module: attributes 0x0, vendor_id 0x8086, major_version 1, minor_version 0, build_date 20230206, build_num 457');
  });
  it('#23: memory hot-add is refused on a TDX platform, before and after init', () => {
    const r = kernelRig('small-2s', { kernel: 'tdx-host-rfc' });
    expect(r.run(r.m.kernel.add_memory(r.m.kernel.bootCpu, 0x200000000, 0x8000000, 1))).toBe(-EINVAL);
    expect(tdxLines(r.lines(), 'tdx: ')).toEqual(['tdx: Unable to add memory [0x200000000, 0x208000000) on TDX enabled platform.']);
    const v8 = kernelRig('small-2s', { kernel: 'tdx-host-v8' });
    expect(v8.run(v8.m.kernel.add_memory(v8.m.kernel.bootCpu, 0x200000000, 0x8000000, 1))).toBe(0);
  });
});

describe('kexec stop wait (audit row 2)', () => {
  it('kernel_kexec waits for ever after the NMIs (stop_other_cpus() is smp_ops.stop_other_cpus(1)): a CPU that takes the NMI 50 ms late is halted before the jump', async () => {
    const { kernel_kexec } = await import('../../../src/kernel/kexec/kexec_core.js');
    const { STOP_REBOOT_WAIT_NS } = await import('../../../src/kernel/kexec/smp.js');
    const r = kernelRig('small-2s', { kernel: 'linux-6.18' });
    const k = r.m.kernel;
    const late = r.m.platform.cpu(1);
    late.lateVector.set('REBOOT', 2_000_000_000);
    late.lateVector.set('NMI', 50_000_000);
    const t0 = r.m.platform.nowNs;
    expect(r.run(kernel_kexec(k, k.bootCpu))).toBe(0);
    expect(late.halted).toBe(true);
    expect(k.kexec_state.jumpNs! - t0).toBeGreaterThan(STOP_REBOOT_WAIT_NS + 50_000_000);
    expect(k.dmesg.lines()).toContain('Shutting down cpus with NMI');
  });
});
