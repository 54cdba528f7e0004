/**
 * The bring-up behaviours of spec linux-host.md section 7 (items 1–19, 24, 26, 30–43), against
 * the stub module so that every status can be scripted.
 */
import { describe, expect, it } from 'vitest';

import { EACCES, EINVAL, EIO, ENODEV, ENOMEM, ENOSPC, EOPNOTSUPP, EPERM } from '../../../../src/kernel/errno.js';
import { kvm_create_td } from '../../../../src/kernel/kvm/td.js';
import { FAULT_PAMT_ALLOC } from '../../../../src/kernel/mm/page_alloc.js';
import { tdx_cpu_enable, tdx_enable, tdx_get_sysinfo, tdx_guest_keyid_alloc } from '../../../../src/kernel/tdx/tdx.js';
import { parseDmesg } from '../../../../src/tools/parse/dmesg.js';
import { kernelRig, tdxLines } from '../../../__test-helpers__/kernelMachine.js';
import type { KernelRig } from '../../../__test-helpers__/kernelMachine.js';

const G = 2 ** 30;
const SYS_INIT = 33;
const LP_INIT = 35;
const CONFIG = 45;
const KEY_CONFIG = 31;
const TDMR_INIT = 36;

/** VMXON + tdx_cpu_enable on every online CPU (what KVM's cpuhp setup does). */
function cpuEnableAll(r: KernelRig): number[] {
  return r.m.platform.cpus
    .filter((c) => c.online)
    .map((c) => {
      c.vmx = true;
      return r.run(r.m.tdxCpuEnable(c.id), c.id);
    });
}

function tdx(r: KernelRig): string[] {
  return tdxLines(r.lines()).filter((l) => !l.startsWith('virt/tdx: BIOS enabled') && !l.startsWith('virt/tdx: Disable ACPI'));
}

describe('boot detection (spec 7.1-7.7)', () => {
  it('7.1: MSR 0x87 faulting or without TDX KeyIDs: no line, -ENODEV', () => {
    for (const mode of ['fault', 'zero'] as const) {
      const r = kernelRig('small-2s', {
        boot: false,
        ...(mode === 'zero' ? { edit: (s) => void (s.keyids = { bits: 6, mktme: 15, tdx: 0 }) } : {}),
      });
      if (mode === 'fault') {
        r.m.platform.cpu(0).msrs.delete(0x87);
      }
      r.run(r.m.bootKernel());
      expect(r.lines().filter((l) => l.includes('tdx: '))).toEqual([]);
      expect(r.m.kernel.tdx.hostPlatform).toBe(false);
      expect(r.run(tdx_enable(r.m.kernel, r.m.platform.cpu(0)))).toBe(-ENODEV);
      expect(r.run(tdx_cpu_enable(r.m.kernel, r.m.platform.cpu(0)))).toBe(-ENODEV);
      expect(r.stub?.calls).toEqual([]);
    }
  });
  it('7.2: 48 TDX / 15 MKTME KeyIDs', () => {
    const r = kernelRig('small-2s');
    const t = r.m.kernel.tdx;
    expect(r.lines()).toContain('virt/tdx: BIOS enabled: private KeyID range [16, 64)');
    expect([t.tdx_global_keyid, t.tdx_guest_keyid_start, t.tdx_nr_guest_keyids]).toEqual([16, 17, 47]);
  });
  it('7.3: one TDX KeyID is too few', () => {
    const r = kernelRig('small-2s', { edit: (s) => void (s.keyids = { bits: 6, mktme: 15, tdx: 1 }) });
    expect(tdxLines(r.lines())).toEqual(['virt/tdx: BIOS enabled: private KeyID range [16, 17)', 'virt/tdx: initialization failed: too few private KeyIDs available.']);
    expect(r.m.kernel.tdx.hostPlatform).toBe(false);
    expect(r.m.kernel.tdx.memNotifierRegistered).toBe(false);
  });
  it('7.4: hibernation available', () => {
    const r = kernelRig('small-2s', { edit: (s) => void (s.firmware = { hibernation: true }) });
    expect(tdxLines(r.lines())).toEqual(['virt/tdx: BIOS enabled: private KeyID range [16, 64)', 'virt/tdx: initialization failed: Hibernation support is enabled']);
    expect(r.m.kernel.tdx.hostPlatform).toBe(false);
  });
  it('7.5: ACPI S3 switched off', () => {
    const r = kernelRig('small-2s');
    expect(r.lines()).toContain('virt/tdx: Disable ACPI S3. Turn off TDX in the BIOS to use ACPI S3.');
    expect(r.m.kernel.tdx.acpiS3Disabled).toBe(true);
  });
  it('7.6: erratum bug on SPR/EMR only, and only with TDX detected', () => {
    expect(kernelRig('ref').m.kernel.tdx.bugPwMce).toBe(true);
    expect(kernelRig('small-2s').m.kernel.tdx.bugPwMce).toBe(false);
    expect(kernelRig('ref', { edit: (s) => void (s.keyids = { bits: 6, mktme: 31, tdx: 1 }) }).m.kernel.tdx.bugPwMce).toBe(false);
  });
  it('7.7: guest KeyIDs lowest first, then -ENOSPC', () => {
    const r = kernelRig('small-2s', { edit: (s) => void (s.keyids = { bits: 6, mktme: 15, tdx: 3 }) });
    const k = r.m.kernel;
    expect([tdx_guest_keyid_alloc(k), tdx_guest_keyid_alloc(k), tdx_guest_keyid_alloc(k)]).toEqual([17, 18, -ENOSPC]);
  });
});

describe('tdx_cpu_enable (spec 7.8-7.13, 7.43)', () => {
  it('7.8/7.9: SYS.INIT once with RCX=0, LP.INIT per CPU, nothing the second time', () => {
    const r = kernelRig('small-2s');
    expect(cpuEnableAll(r)).toEqual([0, 0, 0, 0]);
    expect(r.stub!.calls.map((c) => [c.lp, c.leaf])).toEqual([
      [0, SYS_INIT],
      [0, LP_INIT],
      [1, LP_INIT],
      [2, LP_INIT],
      [3, LP_INIT],
    ]);
    expect(r.stub!.calls[0]!.rcx).toBe(0n);
    expect(r.run(r.m.tdxCpuEnable(1), 1)).toBe(0);
    expect(r.stub!.calls.length).toBe(5);
  });
  it('7.10/7.43: no module: "module not loaded", -ENODEV sticky; the CPU is marked incoherent anyway', () => {
    const r = kernelRig('small-2s', { edit: (s) => void (s.tdxModule = { loaded: false }) });
    expect(cpuEnableAll(r)).toEqual([-ENODEV, -ENODEV, -ENODEV, -ENODEV]);
    expect(tdx(r)).toEqual(['virt/tdx: module not loaded']);
    expect(r.m.kernel.cache_state_incoherent.values()).toEqual([true, false, false, false]);
  });
  it('7.11: TDH.SYS.INIT error: printed once, -EIO for every CPU', () => {
    const r = kernelRig('small-2s');
    r.stub!.fail(SYS_INIT, 0xc00009210000010an);
    expect(cpuEnableAll(r)).toEqual([-EIO, -EIO, -EIO, -EIO]);
    expect(tdx(r)).toEqual(['virt/tdx: SEAMCALL (0x0000000000000021) failed: 0xc00009210000010a']);
    expect(r.stub!.calls.length).toBe(1);
  });
  it('7.12: LP.INIT failure leaves the flag clear; the retry issues LP.INIT only', () => {
    const r = kernelRig('small-2s');
    r.stub!.fail(LP_INIT, 0xc000050300000000n);
    for (const c of r.m.platform.cpus) {
      c.vmx = true;
    }
    expect(r.run(r.m.tdxCpuEnable(0))).toBe(-EIO);
    expect(r.m.kernel.tdx.tdx_lp_initialized.get(0)).toBe(false);
    expect(r.run(r.m.tdxCpuEnable(0))).toBe(0);
    expect(r.stub!.leaves()).toEqual([SYS_INIT, LP_INIT, LP_INIT]);
    expect(tdx(r)).toEqual(['virt/tdx: SEAMCALL (0x0000000000000023) failed: 0xc000050300000000']);
  });
  it('7.13: outside VMX -EACCES, SEAM disabled -EOPNOTSUPP, no print', () => {
    const a = kernelRig('small-2s');
    expect(a.run(a.m.tdxCpuEnable(0))).toBe(-EACCES);
    const b = kernelRig('small-2s', { edit: (s) => void (s.seamrr.enabled = false) });
    b.m.platform.cpu(0).vmx = true;
    expect(b.run(b.m.tdxCpuEnable(0))).toBe(-EOPNOTSUPP);
    expect([...tdx(a), ...tdx(b)]).toEqual([]);
  });
});

describe('tdx_enable state machine (spec 7.14-7.19)', () => {
  it('7.15/7.39: success prints the PAMT total and "module initialized"; again → 0 with no SEAMCALL', () => {
    const r = kernelRig('small-2s');
    cpuEnableAll(r);
    expect(r.run(r.m.tdxEnable())).toBe(0);
    expect(tdx(r)).toEqual(['virt/tdx: 24636 KB allocated for PAMT', 'virt/tdx: module initialized']);
    const n = r.stub!.calls.length;
    expect(r.run(r.m.tdxEnable())).toBe(0);
    expect(r.stub!.calls.length).toBe(n);
  });
  it('7.14/7.17/7.18: a metadata read failure: three lines, ERROR, later -EINVAL silently, sysinfo NULL', () => {
    const r = kernelRig('small-2s');
    r.stub!.fields.delete(0x9900000100000008n);
    cpuEnableAll(r);
    const k = r.m.kernel;
    const before = k.pageAlloc.allocated;
    expect(r.run(tdx_get_sysinfo(k, r.m.platform.cpu(0)))).toBeUndefined();
    expect(r.run(r.m.tdxEnable())).toBe(-EIO);
    expect(tdx(r)).toEqual([
      'virt/tdx: SEAMCALL (0x0000000000000022) failed: 0xc0000c0000000000',
      'virt/tdx: RCX 0x0000000000000000 RDX 0xffffffffffffffff R08 0x0000000000000000',
      'virt/tdx: R09 0x0000000000000000 R10 0x0000000000000000 R11 0x0000000000000000',
      'virt/tdx: module initialization failed (-5)',
    ]);
    expect(k.tdx.tdx_module_status).toBe('ERROR');
    expect(k.pageAlloc.allocated).toBe(before);
    const n = r.stub!.calls.length;
    expect(r.run(r.m.tdxEnable())).toBe(-EINVAL);
    expect(r.stub!.calls.length).toBe(n);
    expect(tdx(r).length).toBe(4);
    expect(r.run(tdx_get_sysinfo(k, r.m.platform.cpu(0)))).toBeUndefined();
  });
  it('7.16: concurrent callers serialise; only one initialises', () => {
    const r = kernelRig('small-2s');
    cpuEnableAll(r);
    const res: unknown[] = [];
    for (const id of [0, 1, 2]) {
      r.sched.spawn(r.m.platform.cpu(id), tdx_enable(r.m.kernel, r.m.platform.cpu(id)), `tdx_enable${id}`, (v) => res.push(v));
    }
    r.sched.run(() => res.length === 3);
    expect(res).toEqual([0, 0, 0]);
    expect(r.m.kernel.tdx.counters.init_tdx_module).toBe(1);
    expect(r.m.kernel.tdx.tdx_module_lock.contended).toBeGreaterThan(0);
    expect(tdx(r).filter((l) => l === 'virt/tdx: module initialized').length).toBe(1);
  });
  it('7.19: FEATURES0 without NO_RBP_MOD', () => {
    const r = kernelRig('small-2s');
    r.stub!.fields.set(0x0a00000300000008n, 0xf0ebfn & ~(1n << 18n));
    cpuEnableAll(r);
    expect(r.run(r.m.tdxEnable())).toBe(-EINVAL);
    expect(tdx(r)).toEqual(['virt/tdx: frame pointer (RBP) clobber bug present, upgrade TDX module', 'virt/tdx: module initialization failed (-22)']);
  });
});

describe('init_tdx_module steps (spec 7.24, 7.26, 7.30-7.38)', () => {
  it('7.24: TDMRs exhausted', () => {
    const r = kernelRig('small-2s');
    r.stub!.fields.set(0x9100000100000008n, 2n);
    cpuEnableAll(r);
    expect(r.run(r.m.tdxEnable())).toBe(-ENOSPC);
    expect(tdx(r)).toEqual(['virt/tdx: initialization failed: TDMRs exhausted.', 'virt/tdx: module initialization failed (-28)']);
  });
  it('7.26: each PAMT comes from the node of its TDMR', () => {
    const r = kernelRig('small-2s');
    cpuEnableAll(r);
    r.run(r.m.tdxEnable());
    const list = r.m.kernel.tdx.tdx_tdmr_list!;
    const pa = r.m.kernel.pageAlloc;
    expect(list.tdmrs.slice(0, list.nr_consumed_tdmrs).map((t) => [t.base / G, pa.nodeOfPfn(t.pamt_4k_base / 4096)])).toEqual([
      [0, 0],
      [4, 0],
      [6, 1],
    ]);
  });
  it('7.30: reserved areas exhausted: -ENOSPC, PAMTs freed', () => {
    const r = kernelRig('small-2s');
    r.stub!.fields.set(0x9100000100000009n, 1n);
    cpuEnableAll(r);
    const before = r.m.kernel.pageAlloc.allocated;
    expect(r.run(r.m.tdxEnable())).toBe(-ENOSPC);
    expect(tdx(r)).toEqual(['virt/tdx: initialization failed: TDMR [0x0, 0x80000000): reserved areas exhausted.', 'virt/tdx: module initialization failed (-28)']);
    expect(r.m.kernel.pageAlloc.allocated).toBe(before);
    expect(r.m.kernel.tdx.tdx_memlist).toEqual([]);
  });
  it('7.31: PAMT allocation failure: -ENOMEM, frees, no WBINVD', () => {
    const r = kernelRig('small-2s');
    cpuEnableAll(r);
    const before = r.m.kernel.pageAlloc.allocated;
    r.faults.arm(FAULT_PAMT_ALLOC, 1);
    expect(r.run(r.m.tdxEnable())).toBe(-ENOMEM);
    expect(r.m.kernel.pageAlloc.allocated).toBe(before);
    expect(r.m.kernel.tdx.counters.wbinvd_on_all_cpus).toBe(0);
    expect(tdx(r)).toEqual(['virt/tdx: module initialization failed (-12)']);
  });
  it('7.32/7.33: TDH.SYS.CONFIG registers; failure frees PAMTs without WBINVD or MOVDIR64B', () => {
    const r = kernelRig('ref');
    cpuEnableAll(r);
    r.stub!.fail(CONFIG, 0xc0000a0200000000n);
    const before = r.m.kernel.pageAlloc.allocated;
    expect(r.run(r.m.tdxEnable())).toBe(-EIO);
    const c = r.stub!.calls.find((x) => x.leaf === CONFIG)!;
    expect(c.rdx).toBe(2n);
    expect(c.r8).toBe(32n);
    expect(Number(c.rcx) % 512).toBe(0);
    expect(r.m.kernel.pageAlloc.allocated).toBe(before);
    expect(r.m.kernel.tdx.counters.wbinvd_on_all_cpus).toBe(0);
    expect(r.m.kernel.tdx.counters.pamt_reset_lines).toBe(0);
    expect(tdx(r)).toEqual(['virt/tdx: SEAMCALL (0x000000000000002d) failed: 0xc0000a0200000000', 'virt/tdx: module initialization failed (-5)']);
  });
  it('7.34/7.35: one WBINVD round, then KEY.CONFIG on the lowest online CPU of each package, in order', () => {
    const r = kernelRig('small-2s', { edit: (s) => void (s.topology.offlineAtBoot = [2]) });
    cpuEnableAll(r);
    const flushes: number[] = [];
    r.m.platform.tracer.subscribe((e) => {
      if (e.kind === 'cache.flush' && e.op === 'wbinvd') {
        flushes.push(e.cpu);
      }
      if (e.kind === 'seamcall.enter' && e.leaf === KEY_CONFIG) {
        flushes.push(-1);
      }
    });
    expect(r.run(r.m.tdxEnable())).toBe(0);
    expect([...flushes].sort((a, b) => a - b)).toEqual([-1, -1, 0, 1, 3]);
    expect(flushes.indexOf(-1)).toBe(3);
    expect(r.stub!.calls.filter((c) => c.leaf === KEY_CONFIG).map((c) => c.lp)).toEqual([0, 3]);
  });
  it('7.36: RND_NO_ENTROPY retried: 9 then success is fine, 10 fail', () => {
    const ok = kernelRig('small-2s');
    cpuEnableAll(ok);
    ok.stub!.fail(KEY_CONFIG, ...Array<bigint>(9).fill(0x8000020300000000n));
    expect(ok.run(ok.m.tdxEnable())).toBe(0);
    const bad = kernelRig('small-2s');
    cpuEnableAll(bad);
    bad.stub!.fail(KEY_CONFIG, ...Array<bigint>(10).fill(0x8000020300000000n));
    expect(bad.run(bad.m.tdxEnable())).toBe(-EIO);
    expect(bad.stub!.calls.filter((c) => c.leaf === KEY_CONFIG).length).toBe(10);
    expect(tdx(bad)).toEqual(['virt/tdx: SEAMCALL (0x000000000000001f) failed: 0x8000020300000000', 'virt/tdx: module initialization failed (-5)']);
    expect(bad.m.kernel.tdx.counters.wbinvd_on_all_cpus).toBe(2);
  });
  it('7.37: TDMR.INIT failure on an erratum part: second WBINVD, MOVDIR64B over every PAMT byte, frees', () => {
    const r = kernelRig('ref');
    cpuEnableAll(r);
    r.stub!.fail(TDMR_INIT, 0xc000010000000001n);
    const before = r.m.kernel.pageAlloc.allocated;
    expect(r.run(r.m.tdxEnable())).toBe(-EIO);
    const t = r.m.kernel.tdx;
    expect(t.counters.wbinvd_on_all_cpus).toBe(2);
    // ref: TDMRs [0,2G) and [4G,8G): (2053 + 4105) pages of PAMT.
    expect(t.counters.pamt_reset_lines).toBe(((2053 + 4105) * 4096) / 64);
    expect(r.m.kernel.pageAlloc.allocated).toBe(before);
    expect(tdx(r)).toEqual([
      'virt/tdx: SEAMCALL (0x0000000000000024) failed: 0xc000010000000001',
      'virt/tdx: RCX 0x0000000000000000 RDX 0x0000000000000000 R08 0x0000000000000000',
      'virt/tdx: R09 0x0000000000000000 R10 0x0000000000000000 R11 0x0000000000000000',
      'virt/tdx: module initialization failed (-5)',
    ]);
  });
  it('7.37: the same failure on a non-erratum part does no MOVDIR64B', () => {
    const r = kernelRig('small-2s');
    cpuEnableAll(r);
    r.stub!.fail(TDMR_INIT, 0xc000010000000001n);
    r.run(r.m.tdxEnable());
    expect(r.m.kernel.tdx.counters.pamt_reset_lines).toBe(0);
    expect(r.m.kernel.tdx.counters.wbinvd_on_all_cpus).toBe(2);
  });
  it('7.38: TDMR.INIT reissued with the same base until done (256 calls per GiB)', () => {
    const r = kernelRig('small-2s');
    cpuEnableAll(r);
    r.run(r.m.tdxEnable());
    const inits = r.stub!.calls.filter((c) => c.leaf === TDMR_INIT);
    expect(inits.length).toBe(256 * 6);
    expect(new Set(inits.map((c) => c.rcx))).toEqual(new Set([0n, 4n * BigInt(G), 6n * BigInt(G)]));
  });
});

describe('memory hotplug (spec 7.40, 7.41)', () => {
  it('7.41: before init and after a failed init every online is allowed', () => {
    const r = kernelRig('small-2s');
    expect(r.run(r.m.hotAddMemory(16 * G, G, 1))).toBe(0);
    cpuEnableAll(r);
    r.stub!.fields.delete(0x9100000100000008n);
    r.run(r.m.tdxEnable());
    expect(r.run(r.m.hotAddMemory(20 * G, G, 1))).toBe(0);
  });
  it('7.40: after success only ranges inside one TDX memory block may go online', () => {
    const r = kernelRig('small-2s');
    cpuEnableAll(r);
    r.run(r.m.tdxEnable());
    expect(r.run(r.m.hotAddMemory(5 * G, 128 * 2 ** 20, 0))).toBe(0);
    expect(r.run(r.m.hotAddMemory(16 * G, G, 1))).toBe(-EPERM);
    expect(r.run(r.m.hotAddMemory(6 * G - 2 ** 20, 2 * 2 ** 20, 0))).toBe(-EPERM);
  });
});

describe('KVM (spec 7.42, section 4)', () => {
  it('brings TDX up through kvm_intel and refuses to offline the last CPU of a package with a TD alive', () => {
    const r = kernelRig('small-2s');
    expect(r.run(r.m.loadKvm())).toBe(0);
    expect(r.m.kernel.kvm.enable_tdx).toBe(true);
    const { ret, td } = r.run(kvm_create_td(r.m.kernel, r.m.platform.cpu(0), { pages: 4, runCpu: 1 }));
    expect(ret).toBe(0);
    expect(td!.hkid).toBe(17);
    expect(r.run(r.m.cpuOffline(2))).toBe(0);
    expect(r.run(r.m.cpuOffline(3))).toBe(-16);
    expect(tdxLines(r.lines()).pop()).toBe(
      'kvm_intel: TDX requires all packages to have an online CPU. Delete all TDs in order to offline all CPUs of a package.',
    );
    expect(r.m.platform.cpu(3).online).toBe(true);
    expect(r.run(r.m.destroyTd(td!))).toBe(0);
    expect(r.run(r.m.cpuOffline(3))).toBe(0);
    expect(r.run(r.m.cpuOnline(3))).toBe(0);
    expect(r.m.kernel.tdx.tdx_lp_initialized.get(3)).toBe(true);
  });
  it('linux-7.1: the arch code (not KVM) refuses to offline the last CPU of a package while a guest KeyID is allocated, under virt/tdx (7.1.3 tdx_offline_cpu())', () => {
    const r = kernelRig('small-2s', { kernel: 'linux-7.1' });
    expect(r.run(r.m.loadKvm())).toBe(0);
    const { ret, td } = r.run(kvm_create_td(r.m.kernel, r.m.platform.cpu(0), { pages: 4, runCpu: 1 }));
    expect(ret).toBe(0);
    expect(r.run(r.m.cpuOffline(2))).toBe(0);
    expect(r.run(r.m.cpuOffline(3))).toBe(-16);
    expect(tdxLines(r.lines()).pop()).toBe(
      'virt/tdx: TDX requires all packages to have an online CPU. Delete all TDs in order to offline all CPUs of a package.',
    );
    expect(r.m.platform.cpu(3).online).toBe(true);
    // diagnose's parser reads the refusal under either prefix.
    const refusal = parseDmesg(r.m.kernel.dmesg.format()).boots.flatMap((b) => b.tdx).filter((t) => t.kind === 'kvm');
    expect(refusal.map((t) => [t.prefix, t.kind === 'kvm' ? t.what : ''])).toEqual([['virt/tdx: ', 'offline-package']]);
    expect(r.run(r.m.destroyTd(td!))).toBe(0);
    expect(r.run(r.m.cpuOffline(3))).toBe(0);
    expect(r.m.platform.cpu(3).vmx).toBe(false);
  });
  it('a missing module disables TDX but KVM loads; other errors fail the load', () => {
    const a = kernelRig('small-2s', { edit: (s) => void (s.tdxModule = { loaded: false }) });
    expect(a.run(a.m.loadKvm())).toBe(0);
    expect(a.m.kernel.kvm.enable_tdx).toBe(false);
    const b = kernelRig('small-2s');
    b.stub!.fields.set(0x9900000100000008n, 2n);
    expect(b.run(b.m.loadKvm())).toBe(-EINVAL);
    expect(tdxLines(b.lines()).pop()).toBe('kvm_intel: Disable TDX: MAX_VCPU_PER_TD (2) smaller than number of logical CPUs (4).');
  });
  it('late-online CPU runs tdx_cpu_enable; its failure makes the online fail (a CPU new after CONFIG never inits)', () => {
    const r = kernelRig('small-2s', { edit: (s) => void (s.topology.offlineAtBoot = [3]) });
    expect(r.run(r.m.loadKvm())).toBe(0);
    expect(r.run(r.m.cpuOnline(3))).toBe(-EIO);
    expect(r.m.platform.cpu(3).online).toBe(false);
    expect(r.m.platform.cpu(3).vmx).toBe(false);
    expect(tdxLines(r.lines()).pop()).toBe('virt/tdx: SEAMCALL (0x0000000000000023) failed: 0xc000050b00000000');
    expect(r.stub!.calls.filter((c) => c.leaf === LP_INIT).map((c) => c.lp)).toEqual([0, 1, 2, 3]);
  });
});

describe('2022 RFC detection (tdx-host-rfc)', () => {
  it('SEAMRR probing: boot CPU messages, and an AP that disagrees disables TDX', () => {
    const ok = kernelRig('small-2s', { kernel: 'tdx-host-rfc' });
    // Audit row 14: RFC detection prints nothing on success.
    expect(tdxLines(ok.lines(), 'tdx: ')).toEqual([]);
    expect(ok.m.kernel.tdx.hostPlatform).toBe(true);
    const bad = kernelRig('small-2s', { kernel: 'tdx-host-rfc', edit: (s) => void (s.msrOverrides = [{ cpu: 2, msr: 0x1400, value: '0x0' }]) });
    expect(tdxLines(bad.lines(), 'tdx: ').pop()).toBe('tdx: Inconsistent SEAMRR configuration by BIOS');
    expect(bad.m.kernel.tdx.hostPlatform).toBe(false);
    const unlocked = kernelRig('small-2s', { kernel: 'tdx-host-rfc', edit: (s) => void (s.seamrr.locked = false) });
    expect(tdxLines(unlocked.lines(), 'tdx: ')).toEqual(['tdx: SEAMRR is not enabled by BIOS']);
    expect(unlocked.m.kernel.dmesg.records().find((r) => r.text === 'tdx: SEAMRR is not enabled by BIOS')?.level).toBe('info');
  });
  it('v8 has no SYS.INIT/LP.INIT: TDH.SYS.INFO fails on an uninitialised LP, with the draft error format', () => {
    const r = kernelRig('small-2s', { kernel: 'tdx-host-v8', module: 'real' });
    expect(r.run(r.m.loadKvm())).toBe(-EINVAL);
    // Audit row 7: v8 05/16 prints no CPU number.
    expect(tdxLines(r.lines(), 'tdx: ').slice(1)).toEqual([
      'tdx: SEAMCALL failed: leaf 32, error 0xc000050200000000.',
      expect.stringMatching(/^tdx: additional output: rcx 0x[0-9a-f]+, rdx 0x0, r8 0x[0-9a-f]+, r9 0x0, r10 0x0, r11 0x0\.$/),
      'tdx: initialization failed (-5)',
    ]);
  });
});

describe("KVM's checks after tdx_get_sysinfo() and their unwind (audit 2026-12 row 5)", () => {
  const FEATURES0 = 0x0a00000300000008n;
  const ATTRIBUTES_FIXED1 = 0x1900000300000001n;
  const XFAM_FIXED1 = 0x1900000300000003n;
  /** State after a failed bring-up: both cpuhp states gone, VMX off, TDX off, module left initialized. */
  function unwound(r: KernelRig): void {
    expect(r.m.kernel.cpuhp.map((s) => s.name)).toEqual([]);
    expect(r.m.platform.cpus.map((c) => c.vmx)).toEqual([false, false, false, false]);
    expect(r.m.kernel.kvm.enable_tdx).toBe(false);
    expect(r.m.kernel.kvm.loaded).toBe(false);
    expect(r.m.kernel.tdx.tdx_module_status).toBe('INITIALIZED');
  }
  it('features0 without TOPOLOGY_ENUM (bit 20): silent -EINVAL on linux-6.18, unwound', () => {
    const r = kernelRig('small-2s');
    r.stub!.fields.set(FEATURES0, 0xf0fbfn);
    expect(r.run(r.m.loadKvm())).toBe(-EINVAL);
    expect(tdxLines(r.lines()).pop()).toBe('virt/tdx: module initialized');
    unwound(r);
  });
  it('a module forcing an attribute KVM does not support, or an XFAM state the host lacks: same', () => {
    for (const [field, value] of [
      [ATTRIBUTES_FIXED1, 1n],
      [XFAM_FIXED1, 0x3n | (1n << 19n)],
    ] as const) {
      const r = kernelRig('small-2s');
      r.stub!.fields.set(field, value);
      expect(r.run(r.m.loadKvm())).toBe(-EINVAL);
      expect(tdxLines(r.lines()).pop()).toBe('virt/tdx: module initialized');
      unwound(r);
    }
  });
  it('MAX_VCPU_PER_TD too small: the one printed check, unwound the same way', () => {
    const r = kernelRig('small-2s');
    r.stub!.fields.set(0x9900000100000008n, 2n);
    expect(r.run(r.m.loadKvm())).toBe(-EINVAL);
    unwound(r);
  });
  it('before the Sept 2025 fix the silent checks returned 0: kvm_intel loads with enable_tdx set', () => {
    const r = kernelRig('small-2s', { kernelOverrides: { kvmSysinfoErrEinval: false } });
    r.stub!.fields.set(FEATURES0, 0xf0fbfn);
    expect(r.run(r.m.loadKvm())).toBe(0);
    expect(r.m.kernel.kvm.enable_tdx).toBe(true);
    expect(r.m.kernel.kvm.loaded).toBe(true);
    // get_sysinfo_err removed the TDX hotplug state; kvm_init() turned VMX back on.
    expect(r.m.kernel.cpuhp.map((s) => s.name)).toEqual(['kvm/cpu:online']);
    expect(r.m.platform.cpus.map((c) => c.vmx)).toEqual([true, true, true, true]);
  });
  it('the real default module of linux-6.18 (1.5.06, features0 0x2e1f0fbf) passes every check', () => {
    const r = kernelRig('small-2s', { module: 'real' });
    expect(r.run(r.m.loadKvm())).toBe(0);
    expect(r.m.kernel.kvm.enable_tdx).toBe(true);
    expect(r.m.kernel.cpuhp.map((s) => s.name)).toEqual(['kvm/cpu:online', 'kvm/cpu/tdx:online']);
  });
  it('a tdx_enable() failure unwinds through tdx_bringup_err: VMX off everywhere, flags flushed (row 4)', () => {
    const r = kernelRig('small-2s');
    r.stub!.fail(CONFIG, 0xc0000a0200000000n);
    expect(r.run(r.m.loadKvm())).toBe(-EIO);
    expect(r.m.kernel.cpuhp.map((s) => s.name)).toEqual([]);
    expect(r.m.platform.cpus.map((c) => c.vmx)).toEqual([false, false, false, false]);
    // enable_tdx was still set while kvm_disable_virtualization() ran: every CPU flushed.
    expect(r.m.platform.cpus.map((c) => r.m.kernel.cache_state_incoherent.get(c.id))).toEqual([false, false, false, false]);
  });
  it('CPU offline flushes only while TDX is enabled (row 4)', () => {
    const on = kernelRig('small-2s');
    expect(on.run(on.m.loadKvm())).toBe(0);
    expect(on.m.kernel.cache_state_incoherent.get(3)).toBe(true);
    expect(on.run(on.m.cpuOffline(3))).toBe(0);
    expect(on.m.kernel.cache_state_incoherent.get(3)).toBe(false);
    const off = kernelRig('small-2s');
    expect(off.run(off.m.loadKvm({ tdx: false }))).toBe(0);
    off.m.kernel.cache_state_incoherent.set(3, true);
    expect(off.run(off.m.cpuOffline(3))).toBe(0);
    expect(off.m.kernel.cache_state_incoherent.get(3)).toBe(true);
  });
});

describe('v6.8 init_tdx_module() order (audit 2026-12 row 18)', () => {
  const SYS_RD = 34;
  /** mem_hotplug_lock's holder at every TDH.SYS.RD. */
  function holdersAtSysRd(r: KernelRig): (number | undefined)[] {
    const seen: (number | undefined)[] = [];
    const stub = r.stub!;
    const orig = stub.seamcall.bind(stub);
    stub.seamcall = function* (regs, env) {
      if (Number(regs.rax & 0xffffn) === SYS_RD) {
        seen.push(r.m.kernel.mem_hotplug_lock.holder);
      }
      return yield* orig(regs, env);
    };
    return seen;
  }
  it('6.8 reads the TDMR metadata under get_online_mems(), 6.18 before it', () => {
    const old = kernelRig('small-2s', { kernel: 'ubuntu-6.8-intel' });
    const oldSeen = holdersAtSysRd(old);
    cpuEnableAll(old);
    expect(old.run(old.m.tdxEnable())).toBe(0);
    expect(oldSeen).toEqual([0, 0, 0, 0, 0]);
    const cur = kernelRig('small-2s');
    const curSeen = holdersAtSysRd(cur);
    cpuEnableAll(cur);
    expect(cur.run(cur.m.tdxEnable())).toBe(0);
    expect(curSeen.length).toBeGreaterThan(5);
    expect(new Set(curSeen)).toEqual(new Set([undefined]));
  });
  it('6.8: a failed read unwinds through err_free_tdxmem with the same dmesg', () => {
    // The mainline 6.8 order, without the TDH.SYS.INFO lines Ubuntu's build adds.
    const r = kernelRig('small-2s', { kernel: 'ubuntu-6.8-intel', kernelOverrides: { moduleInfoViaSysInfo: false } });
    cpuEnableAll(r);
    r.stub!.fail(SYS_RD, 0xc0000c0000000000n);
    expect(r.run(r.m.tdxEnable())).toBe(-EIO);
    expect(tdx(r)).toEqual([
      'virt/tdx: SEAMCALL (0x0000000000000022) failed: 0xc0000c0000000000',
      'virt/tdx: RCX 0x0000000000000000 RDX 0x9100000100000008 R08 0x0000000000000000',
      'virt/tdx: R09 0x0000000000000000 R10 0x0000000000000000 R11 0x0000000000000000',
      'virt/tdx: module initialization failed (-5)',
    ]);
    expect(r.m.kernel.tdx.tdx_memlist).toEqual([]);
    expect(r.m.kernel.mem_hotplug_lock.holder).toBeUndefined();
  });
});

describe('ACPI S3 (audit 2026-12 row 22)', () => {
  it('the line is compile-time: printed and S3 switched off even when the firmware has no S3', () => {
    const r = kernelRig('small-2s', { edit: (s) => void (s.firmware = { acpiS3: false }) });
    expect(tdxLines(r.lines())).toEqual(['virt/tdx: BIOS enabled: private KeyID range [16, 64)', 'virt/tdx: Disable ACPI S3. Turn off TDX in the BIOS to use ACPI S3.']);
    expect(r.m.kernel.tdx.acpiS3Disabled).toBe(true);
    const v8 = kernelRig('small-2s', { kernel: 'tdx-host-v8' });
    expect(v8.m.kernel.tdx.acpiS3Disabled).toBe(false);
  });
});

describe('CMRs through TDH.SYS.RD (the CMR-holes patch; audit 2026-12 row 19)', () => {
  it('reads NUM_CMRS, then every CMR base, then every size, and takes the holes from them', () => {
    const r = kernelRig('small-2s', { kernel: 'linux-6.18', kernelOverrides: { holes: 'cmrs', moduleInfoViaSysInfo: false } });
    r.stub!.fields.set(0x9000000100000000n, 2n);
    r.stub!.fields.set(0x9000000300000080n, 0n);
    r.stub!.fields.set(0x9000000300000081n, 0x100000000n);
    r.stub!.fields.set(0x9000000300000100n, 0x7c000000n);
    r.stub!.fields.set(0x9000000300000101n, 0x100000000n);
    cpuEnableAll(r);
    expect(r.run(r.m.tdxEnable())).toBe(0);
    const cmrReads = r.stub!.calls.filter((c) => c.leaf === 34 && c.rdx >> 56n === 0x90n).map((c) => `0x${c.rdx.toString(16)}`);
    expect(cmrReads).toEqual(['0x9000000100000000', '0x9000000300000080', '0x9000000300000081', '0x9000000300000100', '0x9000000300000101']);
    expect(r.m.kernel.tdx.tdx_sysinfo?.cmrs).toEqual([
      { start: 0, end: 0x7c000000 },
      { start: 0x100000000, end: 0x200000000 },
    ]);
  });
});
