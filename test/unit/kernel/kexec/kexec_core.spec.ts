/**
 * kernel_kexec() and the sysrq-c crash entry on linux-6.18: KVM's syscore shutdown line and
 * flush (audit 2026-12 rows 3, 4) and the sysrq announcement (row 24).
 */
import { describe, expect, it } from 'vitest';

import { crash_kexec, kernel_kexec } from '../../../../src/kernel/kexec/kexec_core.js';
import { kernelRig } from '../../../__test-helpers__/kernelMachine.js';

function tail(lines: string[], from: string): string[] {
  return lines.slice(lines.indexOf(from));
}

describe('kernel_kexec() (linux-6.18)', () => {
  it('kvm_shutdown() announces itself before "Starting new kernel" and flushes the CPUs TDX dirtied (row 3)', () => {
    const r = kernelRig('small-2s');
    expect(r.run(r.m.loadKvm())).toBe(0);
    const k = r.m.kernel;
    expect(r.run(kernel_kexec(k, r.m.platform.cpu(0)))).toBe(0);
    expect(tail(r.lines(), 'virt/tdx: module initialized')).toEqual(['virt/tdx: module initialized', 'kvm: exiting hardware virtualization', 'kexec_core: Starting new kernel']);
    expect(k.kexec_state.flushes.filter((f) => f.site === 'tdx_cpu_flush_cache_for_kexec').map((f) => f.cpu)).toEqual([0, 1, 2, 3]);
  });
  it('without kvm_intel there is no KVM line and no KVM flush', () => {
    const r = kernelRig('small-2s');
    const k = r.m.kernel;
    r.run(kernel_kexec(k, r.m.platform.cpu(0)));
    expect(r.lines()).not.toContain('kvm: exiting hardware virtualization');
    expect(r.lines()).toContain('kexec_core: Starting new kernel');
    expect(k.kexec_state.flushes.filter((f) => f.site === 'tdx_cpu_flush_cache_for_kexec')).toEqual([]);
  });
  it('no module: KVM loads with enable_tdx=0, flushed the failed SYS.INIT while unwinding, and does not flush at kexec (row 4)', () => {
    const r = kernelRig('small-2s', { module: 'real', edit: (s) => void (s.tdxModule = { loaded: false }) });
    expect(r.run(r.m.loadKvm())).toBe(0);
    const k = r.m.kernel;
    expect(k.kvm.enable_tdx).toBe(false);
    expect(k.kvm.loaded).toBe(true);
    // The VMFAILINVALID TDH.SYS.INIT dirtied CPU 0's flag; kvm_disable_virtualization() in
    // __tdx_bringup()'s unwind ran while enable_tdx was still set, so it was flushed then.
    expect(k.cache_state_incoherent.get(0)).toBe(false);
    expect(r.m.platform.cpus.map((c) => c.vmx)).toEqual([true, true, true, true]);
    k.cache_state_incoherent.set(1, true);
    r.run(kernel_kexec(k, r.m.platform.cpu(0)));
    expect(r.lines()).toContain('kvm: exiting hardware virtualization');
    expect(k.kexec_state.flushes.filter((f) => f.site === 'tdx_cpu_flush_cache_for_kexec')).toEqual([]);
  });
});

describe('crash_kexec() (sysrq-c)', () => {
  it('logs "sysrq: Trigger a crash" and then the panic (row 24)', () => {
    const r = kernelRig('small-2s');
    r.run(crash_kexec(r.m.kernel, r.m.platform.cpu(0)));
    expect(tail(r.lines(), 'sysrq: Trigger a crash')).toEqual(['sysrq: Trigger a crash', 'Kernel panic - not syncing: sysrq triggered crash']);
  });
});
