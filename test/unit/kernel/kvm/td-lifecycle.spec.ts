/**
 * The TD lifecycle as KVM 6.16–6.18 runs it, against the real module on small-2s (CPUs 0–1 in
 * package 0, 2–3 in package 1): vCPU migration (VP.FLUSH on the old CPU by IPI, VP.ENTER on the
 * new one, the per-CPU associated_tdvcpus lists), private page release (RANGE.BLOCK, TRACK,
 * PAGE.REMOVE, PAGE.WBINVD), a teardown whose VP.FLUSH is skipped (VPFLUSHDONE refuses, KVM
 * prints nothing) and refused reclaims in the 6.18 and Ubuntu 6.8 print formats. Every SEAMCALL
 * is checked as "cpu leaf status" from the trace.
 */
import { describe, expect, it } from 'vitest';

import { run } from '../../../../src/api/index.js';
import type { TraceEvent } from '../../../../src/base/trace.js';
import { EINVAL, EIO } from '../../../../src/kernel/errno.js';
import { associated_tdvcpus, FAULT_KVM_RECLAIM_STALE, FAULT_KVM_SKIP_VP_FLUSH, seamcall_regs_line, sept_children_first, tdx_bug_on_line, tdx_sept_remove_private_spte } from '../../../../src/kernel/kvm/td.js';
import type { Td } from '../../../../src/kernel/kvm/td.js';
import type { KernelProfileName } from '../../../../src/kernel/profiles.js';
import { leafName } from '../../../../src/module/leafNumbers.js';
import type { TdxModule } from '../../../../src/module/TdxModule.js';
import { describeStatus, leafStatusDisplay } from '../../../../src/module/status.js';
import { seamRegs } from '../../../../src/platform/Seam.js';
import { diagnose } from '../../../../src/tools/diagnose.js';
import { explain } from '../../../../src/tools/explain.js';
import { kernelRig } from '../../../__test-helpers__/kernelMachine.js';
import type { KernelRig } from '../../../__test-helpers__/kernelMachine.js';

interface Lifecycle {
  readonly r: KernelRig;
  readonly td: Td;
  /** SEAMCALLs since the TD was built, as "cpu leaf status". */
  readonly calls: string[];
  /** kvm_intel lines and unprefixed SEAMCALL lines of dmesg. */
  kvmLines(): string[];
}

/** A TD of 4 MiB built by KVM and run on CPU 1 (ranges: 1 MiB of 4 KiB leaves, then 2 MiB leaves). */
function lifecycle(kernel: KernelProfileName = 'linux-6.18'): Lifecycle {
  const r = kernelRig('small-2s', { module: 'real', kernel });
  expect(r.run(r.m.loadKvm())).toBe(0);
  const { ret, td } = r.run(r.m.createTd({ pages: 1024, runCpu: 1 }));
  expect(ret).toBe(0);
  const calls: string[] = [];
  r.m.platform.tracer.subscribe((e) => {
    if (e.kind === 'seamcall.exit') {
      calls.push(`${e.cpu} ${leafName(e.leaf)} ${leafStatusDisplay(e.leaf, e.status)}`);
    }
  });
  return { r, td: td as Td, calls, kvmLines: () => r.lines().filter((l) => l.startsWith('kvm_intel: ') || l.startsWith('SEAMCALL ')) };
}

/** Pages RECLAIMed by a linux-6.16+ teardown: each vCPU's TDCX and TDVPR, SEPT pages, TDCS, TDR (never private memory). */
function controlCount(td: Td): number {
  return td.vcpus.reduce((n, v) => n + v.tdcx.length + 1, 0) + td.sept.length + td.tdcs.length + 1;
}

const BLOCK_TRACK_REMOVE = ['0 TDH.MEM.RANGE.BLOCK TDX_SUCCESS', '0 TDH.MEM.TRACK TDX_SUCCESS', '0 TDH.MEM.PAGE.REMOVE TDX_SUCCESS'];
const WBINVD = '0 TDH.PHYMEM.PAGE.WBINVD TDX_SUCCESS';
const RECLAIM = '0 TDH.PHYMEM.PAGE.RECLAIM TDX_SUCCESS';

/**
 * The SEAMCALLs of a successful linux-6.16+ teardown (docs/kernel.md, "TD teardown order"):
 * the guest_memfd release first, with the HKID assigned: per private leaf in GPA order
 * RANGE.BLOCK, MEM.TRACK, PAGE.REMOVE and one PAGE.WBINVD per 4 KiB page (512 for a 2 MiB
 * leaf); then tdx_mmu_release_hkid(): VP.FLUSH on the CPU the vCPU is loaded on (if any),
 * VPFLUSHDONE, CACHE.WB on CPUs 0 and 2 (one per package of small-2s), KEY.FREEID; then RECLAIM
 * of the TDCX pages and TDVPR, the SEPT pages, the TDCS pages and the TDR, and the TDR's
 * PAGE.WBINVD. Private memory is never RECLAIMed.
 */
function upstreamTeardown(td: Td, vpFlushCpu: number | undefined): string[] {
  const out = privateZap(td);
  if (vpFlushCpu !== undefined) {
    out.push(`${vpFlushCpu} TDH.VP.FLUSH TDX_SUCCESS`);
  }
  out.push('0 TDH.MNG.VPFLUSHDONE TDX_SUCCESS', '0 TDH.PHYMEM.CACHE.WB TDX_SUCCESS', '2 TDH.PHYMEM.CACHE.WB TDX_SUCCESS', '0 TDH.MNG.KEY.FREEID TDX_SUCCESS');
  out.push(...Array<string>(controlCount(td)).fill(RECLAIM), WBINVD);
  return out;
}

/** The guest_memfd release of a RUNNABLE TD: BLOCK, TRACK, REMOVE, WBINVD per 4 KiB page, per leaf in GPA order. */
function privateZap(td: Td): string[] {
  const out: string[] = [];
  for (const x of td.ranges) {
    for (let off = 0; off < x.size; ) {
      const huge = (x.gpa + off) % 0x20_0000 === 0 && (x.pa + off) % 0x20_0000 === 0 && x.size - off >= 0x20_0000;
      out.push(...BLOCK_TRACK_REMOVE, ...Array<string>(huge ? 512 : 1).fill(WBINVD));
      off += huge ? 0x20_0000 : 0x1000;
    }
  }
  return out;
}

describe('vCPU migration (tdx_vcpu_load, tdx_flush_vp_on_cpu, associated_tdvcpus)', () => {
  it('each move flushes the vCPU off the old CPU first, VP.ENTER associates it with the new one; teardown flushes the last CPU', () => {
    const { r, td, calls, kvmLines } = lifecycle();
    const k = r.m.kernel;
    expect(td.vcpus[0]?.cpu).toBe(1);
    expect(associated_tdvcpus(k, 1)).toEqual([td.vcpus[0]]);
    expect(associated_tdvcpus(k, 0)).toEqual([]);
    // KVM_RUN from a task on CPU 0: VP.FLUSH runs on CPU 1 (by IPI), then VP.ENTER on CPU 0
    // returns the TDG.VP.VMCALL<HLT> exit (RAX 77: status class SUCCESS, exit reason 77).
    expect(r.run(r.m.runTd(td, 0), 0)).toBe(77n);
    expect(calls).toEqual(['1 TDH.VP.FLUSH TDX_SUCCESS', '0 TDH.VP.ENTER TDX_SUCCESS, exit reason 77 (TDCALL)']);
    expect(associated_tdvcpus(k, 0)).toEqual([td.vcpus[0]]);
    expect(associated_tdvcpus(k, 1)).toEqual([]);
    // Running again on the same CPU flushes nothing.
    expect(r.run(r.m.runTd(td, 0), 0)).toBe(77n);
    expect(calls.slice(2)).toEqual(['0 TDH.VP.ENTER TDX_SUCCESS, exit reason 77 (TDCALL)']);
    expect(r.run(r.m.runTd(td, 1), 1)).toBe(77n);
    expect(calls.slice(3)).toEqual(['0 TDH.VP.FLUSH TDX_SUCCESS', '1 TDH.VP.ENTER TDX_SUCCESS, exit reason 77 (TDCALL)']);
    expect(td.vcpus[0]?.cpu).toBe(1);
    calls.length = 0;
    // 1 MiB of 4 KiB leaves (256), then one 2 MiB leaf and 1 MiB of 4 KiB leaves again.
    const want = upstreamTeardown(td, 1);
    expect(want.length).toBe(512 * 4 + (3 + 512) + 1 + 4 + (5 + 1 + 4 + 6 + 1) + 1);
    expect(r.run(r.m.destroyTd(td))).toBe(0);
    expect(calls).toEqual(want);
    expect(r.m.kernel.kvm.nr_configured_hkid).toBe(0);
    expect(r.m.kernel.kvm.tds).toEqual([]);
    expect(associated_tdvcpus(k, 1)).toEqual([]);
    expect(td.vcpus[0]?.cpu).toBe(-1);
    expect(kvmLines()).toEqual([]);
  });

  it('taking the CPU offline flushes the vCPUs on its list first (tdx_disable_virtualization_cpu), then WBINVD', () => {
    const { r, td, calls } = lifecycle();
    const k = r.m.kernel;
    expect(r.run(r.m.cpuOffline(1))).toBe(0);
    expect(calls).toEqual(['1 TDH.VP.FLUSH TDX_SUCCESS']);
    expect(associated_tdvcpus(k, 1)).toEqual([]);
    expect(td.vcpus[0]?.cpu).toBe(-1);
    expect(k.cache_state_incoherent.get(1)).toBe(false);
    // The vCPU is on no CPU: the teardown has nothing to flush and VPFLUSHDONE succeeds.
    calls.length = 0;
    const want = upstreamTeardown(td, undefined);
    expect(r.run(r.m.destroyTd(td))).toBe(0);
    expect(calls).toEqual(want);
  });

  it('at kexec, KVM\'s shutdown flushes the vCPU on CPU 1 (VP.FLUSH) before that CPU\'s WBINVD', () => {
    const res = run({ scenario: 'kexec-linux-6.18', recordTrace: 200_000 });
    expect(res.verdict).toBe('pass');
    const trace = (res.runs[0]?.trace ?? []) as readonly TraceEvent[];
    const from = trace.findIndex((e) => e.kind === 'dmesg' && e.text === 'kvm: exiting hardware virtualization');
    expect(from).toBeGreaterThan(0);
    const cpu1 = trace
      .slice(from)
      .filter((e) => e.cpu === 1 && (e.kind === 'seamcall.exit' || e.kind === 'cache.flush'))
      .map((e) => (e.kind === 'seamcall.exit' ? `${leafName(e.leaf)} ${describeStatus(e.status).display}` : e.kind === 'cache.flush' ? `${e.op} ${e.dirtyLines}` : ''));
    expect(cpu1.slice(0, 2)).toEqual(['TDH.VP.FLUSH TDX_SUCCESS', 'wbinvd 4096']);
  });

  it('the td-migrate scenario passes with no finding and its notes show both moves', () => {
    const res = run({ scenario: 'td-migrate' });
    expect(res.verdict).toBe('pass');
    const one = res.runs[0];
    expect(one?.findings).toEqual([]);
    expect(one?.notes).toEqual(['kvm.load: 0', 'td.create: 0', 'td.run on CPU 0: TDH.VP.ENTER 0x4d', 'td.run on CPU 1: TDH.VP.ENTER 0x4d', 'td.destroy: 0']);
    expect(one?.dmesg.filter((l) => l.startsWith('kvm_intel: '))).toEqual([]);
  });
});

describe('private page release (tdx_sept_remove_private_spte)', () => {
  it('BLOCK, TRACK, REMOVE, WBINVD per 4 KiB leaf; the pages leave the TD and teardown does not reclaim them', () => {
    const { r, td, calls, kvmLines } = lifecycle();
    const before = td.ranges.map((x) => ({ ...x }));
    expect(before[0]).toEqual({ gpa: 0x100000, pa: before[0]?.pa, size: 0x100000 });
    expect(r.run(r.m.releaseTdMemory(td, 0x110000, 0x2000))).toBe(0);
    expect(calls).toEqual([...BLOCK_TRACK_REMOVE, WBINVD, ...BLOCK_TRACK_REMOVE, WBINVD]);
    const pa0 = before[0]?.pa as number;
    expect(td.ranges.slice(0, 2)).toEqual([
      { gpa: 0x100000, pa: pa0, size: 0x10000 },
      { gpa: 0x112000, pa: pa0 + 0x12000, size: 0xee000 },
    ]);
    expect(td.ranges.slice(2)).toEqual(before.slice(1));
    calls.length = 0;
    const want = upstreamTeardown(td, 1);
    expect(r.run(r.m.destroyTd(td))).toBe(0);
    // The two released leaves are not zapped again; only control and SEPT pages are RECLAIMed.
    expect(calls).toEqual(want);
    expect(calls.filter((c) => c.includes('RECLAIM')).length).toBe(5 + 1 + 4 + 6 + 1);
    expect(kvmLines()).toEqual([]);
  });

  it('a whole 2 MiB leaf is removed at level 1 and written back page by page (512 PAGE.WBINVDs)', () => {
    const { r, td, calls } = lifecycle();
    const huge = td.ranges.find((x) => x.gpa % 0x20_0000 === 0 && x.pa % 0x20_0000 === 0 && x.size >= 0x20_0000);
    expect(huge).toBeDefined();
    const gpa = huge?.gpa as number;
    expect(r.run(r.m.releaseTdMemory(td, gpa, 0x20_0000))).toBe(0);
    expect(calls).toEqual([...BLOCK_TRACK_REMOVE, ...Array<string>(512).fill(WBINVD)]);
    expect(td.ranges.some((x) => x.gpa <= gpa && x.gpa + x.size > gpa)).toBe(false);
  });

  it('refuses a range that is unaligned, outside private memory or splits a 2 MiB leaf, before any SEAMCALL', () => {
    const { r, td, calls } = lifecycle();
    const huge = td.ranges.find((x) => x.gpa % 0x20_0000 === 0 && x.pa % 0x20_0000 === 0 && x.size >= 0x20_0000);
    expect(r.run(r.m.releaseTdMemory(td, 0x110800, 0x1000))).toBe(-EINVAL);
    expect(r.run(r.m.releaseTdMemory(td, 0x4000_0000, 0x1000))).toBe(-EINVAL);
    expect(r.run(r.m.releaseTdMemory(td, 0xff000, 0x2000))).toBe(-EINVAL);
    expect(r.run(r.m.releaseTdMemory(td, (huge?.gpa as number) + 0x1000, 0x1000))).toBe(-EINVAL);
    // Ends inside the 2 MiB leaf that starts the next range.
    expect(r.run(r.m.releaseTdMemory(td, (huge?.gpa as number) - 0x1000, 0x2000))).toBe(-EINVAL);
    expect(calls).toEqual([]);
    // The same start with the whole leaf: one 4 KiB leaf, then the 2 MiB one.
    expect(r.run(r.m.releaseTdMemory(td, (huge?.gpa as number) - 0x1000, 0x201000))).toBe(0);
    expect(calls.length).toBe(4 + 3 + 512);
  });

  it('removing a leaf twice: RANGE.BLOCK finds the SEPT entry free, pr_tdx_error_2 prints the entry and level/state, -EIO', () => {
    const { r, td, calls, kvmLines } = lifecycle();
    const pa = (td.ranges[0]?.pa as number) + 0x10000;
    const cpu0 = r.m.platform.cpu(0);
    expect(r.run(tdx_sept_remove_private_spte(r.m.kernel, cpu0, td, 0x110000, 0, pa))).toBe(0);
    calls.length = 0;
    expect(r.run(tdx_sept_remove_private_spte(r.m.kernel, cpu0, td, 0x110000, 0, pa))).toBe(-EIO);
    expect(calls).toEqual(['0 TDH.MEM.RANGE.BLOCK TDX_EPT_ENTRY_STATE_INCORRECT|RCX']);
    expect(kvmLines()).toEqual(['kvm_intel: SEAMCALL TDH_MEM_RANGE_BLOCK failed: 0xc0000b0d00000001, rcx 0x8000000000000000, rdx 0x0']);
  });

  it('the td-release scenario passes with no finding', () => {
    const res = run({ scenario: 'td-release' });
    expect(res.verdict).toBe('pass');
    expect(res.runs[0]?.findings).toEqual([]);
    expect(res.runs[0]?.notes).toEqual(['kvm.load: 0', 'td.create: 0', 'td.release 0x110000+0x10000: 0', 'td.destroy: 0']);
  });
});

describe('teardown order per kernel (docs/kernel.md, "TD teardown order")', () => {
  it('linux-6.16 and linux-7.2 run the upstream order: private leaves removed with the HKID assigned, then the HKID released, then control and SEPT pages reclaimed', () => {
    for (const kernel of ['linux-6.16', 'linux-7.2'] as const) {
      const { r, td, calls, kvmLines } = lifecycle(kernel);
      const want = upstreamTeardown(td, 1);
      expect(r.run(r.m.destroyTd(td))).toBe(0);
      expect(calls).toEqual(want);
      expect(kvmLines()).toEqual([]);
      expect(r.m.kernel.kvm.tds).toEqual([]);
    }
  });

  it('ubuntu-6.8-intel keeps the out-of-tree order: the HKID released first, then every private leaf RECLAIMed (a 2 MiB leaf whole), no BLOCK/REMOVE', () => {
    const { r, td, calls, kvmLines } = lifecycle('ubuntu-6.8-intel');
    expect(r.run(r.m.destroyTd(td))).toBe(0);
    // 512 4 KiB leaves and one 2 MiB leaf, then 4 SEPT pages, 5 TDCX, the TDVPR, 6 TDCS pages, the TDR.
    expect(calls).toEqual([
      '1 TDH.VP.FLUSH TDX_SUCCESS',
      '0 TDH.MNG.VPFLUSHDONE TDX_SUCCESS',
      '0 TDH.PHYMEM.CACHE.WB TDX_SUCCESS',
      '2 TDH.PHYMEM.CACHE.WB TDX_SUCCESS',
      '0 TDH.MNG.KEY.FREEID TDX_SUCCESS',
      ...Array<string>(512 + 1 + 4 + 5 + 1 + 6 + 1).fill(RECLAIM),
      WBINVD,
    ]);
    expect(kvmLines()).toEqual([]);
  });

  it('a TD whose build stopped at its second PAGE.AUG: the two mapped leaves are removed without MEM.TRACK (not RUNNABLE), the unmapped ones freed without a SEAMCALL, every page back', () => {
    const r = kernelRig('small-2s');
    expect(r.run(r.m.loadKvm())).toBe(0);
    const stub = r.stub!;
    const before = r.m.kernel.pageAlloc.allocated;
    // PAGE.AUG (leaf 6): the first succeeds, the second fails (TDX_OPERAND_INVALID).
    stub.fail(6, 0n, 0xc000010000000000n);
    const { ret, td } = r.run(r.m.createTd({ pages: 4 }));
    expect(ret).toBe(-EIO);
    expect(td?.state).toBe('failed');
    expect(td?.mappedEnd).toBe(0x102000);
    stub.calls.length = 0;
    expect(r.run(r.m.destroyTd(td as Td))).toBe(0);
    // RANGE.BLOCK 7, PAGE.REMOVE 29, PAGE.WBINVD 41; VP.FLUSH 18, VPFLUSHDONE 19, CACHE.WB 40, FREEID 20, RECLAIM 28.
    expect(stub.calls.map((c) => c.leaf)).toEqual([7, 29, 41, 7, 29, 41, 18, 19, 40, 40, 20, ...Array<number>(5 + 1 + 3 + 6 + 1).fill(28), 41]);
    expect(r.m.kernel.pageAlloc.allocated).toBe(before);
    expect(r.m.kernel.kvm.tds).toEqual([]);
  });

  it('ubuntu-6.8-intel, the same stopped build: the HKID released first, then RECLAIM of the two mapped leaves only, every page back', () => {
    const r = kernelRig('small-2s', { kernel: 'ubuntu-6.8-intel' });
    expect(r.run(r.m.loadKvm())).toBe(0);
    const stub = r.stub!;
    const before = r.m.kernel.pageAlloc.allocated;
    stub.fail(6, 0n, 0xc000010000000000n);
    const { ret, td } = r.run(r.m.createTd({ pages: 4 }));
    expect(ret).toBe(-EIO);
    stub.calls.length = 0;
    expect(r.run(r.m.destroyTd(td as Td))).toBe(0);
    expect(stub.calls.map((c) => c.leaf)).toEqual([18, 19, 40, 40, 20, ...Array<number>(2 + 3 + 5 + 1 + 6 + 1).fill(28), 41]);
    expect(r.m.kernel.pageAlloc.allocated).toBe(before);
  });

  it('Secure EPT pages are reclaimed after the pages below them (PTs, then their PD, then the PDPT)', () => {
    // Allocation order is depth first, parents first: PDPT a, PD b, PTs c and d, PD e, PT f.
    expect(sept_children_first({ sept: [0xa, 0xb, 0xc, 0xd, 0xe, 0xf], septLevel: [3, 2, 1, 1, 2, 1] })).toEqual([0xc, 0xd, 0xb, 0xf, 0xe, 0xa]);
    expect(sept_children_first({ sept: [1, 2], septLevel: [3, 2] })).toEqual([2, 1]);
    expect(sept_children_first({ sept: [], septLevel: [] })).toEqual([]);
    // The 4 MiB TD: PDPT, PD, the PT of [1 MiB, 2 MiB), the PT of [4 MiB, 5 MiB).
    const { td } = lifecycle();
    expect(td.septLevel).toEqual([3, 2, 1, 1]);
    expect(sept_children_first(td)).toEqual([td.sept[2], td.sept[3], td.sept[1], td.sept[0]]);
  });
});

describe('TDX_BUG_ON() (6.19+: linux-7.1, linux-7.2)', () => {
  const BLOCK_618 = 'kvm_intel: SEAMCALL TDH_MEM_RANGE_BLOCK failed: 0xc0000b0d00000001, rcx 0x8000000000000000, rdx 0x0';
  const BLOCK_71 = 'kvm_intel: SEAMCALL TDH_MEM_RANGE_BLOCK failed: 0xc0000b0d00000001, entry 0x8000000000000000, level_state 0x0';

  it('names the extra values after KVM\'s variables; the RECLAIM format keeps its stray comma', () => {
    const out = { rcx: 0x11n, rdx: 0x22n, r8: 0x33n };
    expect(tdx_bug_on_line('TDH_VP_FLUSH', 0x8000070200000000n, 'pr_tdx_error', out)).toBe('SEAMCALL TDH_VP_FLUSH failed: 0x8000070200000000');
    expect(tdx_bug_on_line('TDH_MNG_INIT', 0xc000010000000000n, 'pr_tdx_error_1', out)).toBe('SEAMCALL TDH_MNG_INIT failed: 0xc000010000000000, rcx 0x11');
    expect(tdx_bug_on_line('TDH_MEM_PAGE_AUG', 0x1n, 'pr_tdx_error_2', out)).toBe('SEAMCALL TDH_MEM_PAGE_AUG failed: 0x1, entry 0x11, level_state 0x22');
    expect(tdx_bug_on_line('TDH_PHYMEM_PAGE_RECLAIM', 0xc000030000000001n, 'pr_tdx_error_3', out)).toBe('SEAMCALL TDH_PHYMEM_PAGE_RECLAIM failed: 0xc000030000000001, rcx 0x11, rdx, 0x22, r8 0x33');
  });

  it('linux-7.1: only the VM\'s first failure prints; linux-6.18 prints every one; both bug the VM (KVM_BUG_ON, TDX_BUG_ON)', () => {
    for (const [kernel, lines] of [
      ['linux-7.1', [BLOCK_71]],
      ['linux-6.18', [BLOCK_618, BLOCK_618]],
    ] as const) {
      const { r, td, kvmLines } = lifecycle(kernel);
      const pa = (td.ranges[0]?.pa as number) + 0x10000;
      const cpu0 = r.m.platform.cpu(0);
      expect(r.run(tdx_sept_remove_private_spte(r.m.kernel, cpu0, td, 0x110000, 0, pa))).toBe(0);
      expect(r.run(tdx_sept_remove_private_spte(r.m.kernel, cpu0, td, 0x110000, 0, pa))).toBe(-EIO);
      expect(r.run(tdx_sept_remove_private_spte(r.m.kernel, cpu0, td, 0x110000, 0, pa))).toBe(-EIO);
      expect(kvmLines()).toEqual(lines);
      expect(td.bugged).toBe(true);
    }
  });

  it('linux-7.1: a refused RECLAIM has no VM (NULL): every one prints, in the TDX_BUG_ON_3 format', () => {
    const { r, td, kvmLines } = lifecycle('linux-7.1');
    r.faults.arm(FAULT_KVM_RECLAIM_STALE, 2);
    expect(r.run(r.m.destroyTd(td))).toBe(-EIO);
    const line = 'kvm_intel: SEAMCALL TDH_PHYMEM_PAGE_RECLAIM failed: 0xc000030000000001, rcx 0x0, rdx, 0x0, r8 0x0';
    expect(kvmLines()).toEqual([line, line]);
    expect(td.bugged).toBe(false);
    // diagnose reads the 6.19+ line like the 6.16 one.
    const d = diagnose({ text: r.lines().join('\n'), name: 'linux-7.1 reclaim', reproduce: false });
    expect(d.classification.class).toBe('runtime-seamcall-failure');
  });
});

describe('TD creation with a package offline (__tdx_td_init)', () => {
  it('refuses before TDH.MNG.CREATE with KVM\'s warning and -EIO; the HKID goes back', () => {
    const r = kernelRig('small-2s', { module: 'real' });
    expect(r.run(r.m.loadKvm())).toBe(0);
    expect(r.run(r.m.cpuOffline(2))).toBe(0);
    expect(r.run(r.m.cpuOffline(3))).toBe(0);
    const before = r.lines().length;
    const calls: string[] = [];
    r.m.platform.tracer.subscribe((e) => {
      if (e.kind === 'seamcall.exit') {
        calls.push(leafName(e.leaf));
      }
    });
    const { ret, td } = r.run(r.m.createTd({ pages: 16 }));
    expect(ret).toBe(-EIO);
    expect(td).toBeUndefined();
    expect(calls).toEqual([]);
    expect(r.lines().slice(before)).toEqual(['kvm_intel: All packages need to have online CPU to create TD. Online CPU and retry.']);
    expect(r.m.kernel.kvm.nr_configured_hkid).toBe(0);
  });
});

describe('clearing what KVM gets back (tdx_clear_page, tdx_quirk_reset_page)', () => {
  it('linux-6.16 zeroes every reclaimed and removed page with MOVDIR64B; linux-6.18 only on erratum parts', () => {
    for (const kernel of ['linux-6.16', 'linux-6.18'] as const) {
      const { r, td } = lifecycle(kernel);
      const mem = r.m.platform.memory;
      const released = (td.ranges[0]?.pa as number) + 0x10000;
      expect(r.run(r.m.releaseTdMemory(td, 0x110000, 0x1000))).toBe(0);
      const tdr = td.tdr;
      const control = td.tdcs[0] as number;
      expect(r.run(r.m.destroyTd(td))).toBe(0);
      if (kernel === 'linux-6.16') {
        for (const pa of [released, tdr, control]) {
          expect(mem.lineState(pa / 64)).toMatchObject({ writer: 'kvm:tdx_clear_page', td: false, key: 0, fill: 0 });
        }
      } else {
        // Not cleared: the lines keep what the module or the TD last wrote.
        expect(mem.lineState(tdr / 64).writer).not.toBe('kvm:tdx_clear_page');
        expect(mem.lineState(released / 64).writer).not.toBe('kvm:tdx_clear_page');
      }
    }
  });
});

describe('teardown without VP.FLUSH (fault kvm.vp_flush.skip)', () => {
  it('linux-6.18: private memory goes first; VPFLUSHDONE answers TDX_FLUSHVP_NOT_DONE, KVM prints nothing: the HKID and every control and SEPT page leak', () => {
    const { r, td, calls, kvmLines } = lifecycle();
    r.faults.arm(FAULT_KVM_SKIP_VP_FLUSH, 1);
    const zap = privateZap(td);
    const allocated = r.m.kernel.pageAlloc.allocated;
    expect(r.run(r.m.destroyTd(td))).toBe(-EIO);
    expect(calls).toEqual([...zap, '0 TDH.MNG.VPFLUSHDONE TDX_FLUSHVP_NOT_DONE']);
    // The 4 MiB of private memory went back to the allocator; nothing else did.
    expect(td.ranges).toEqual([]);
    expect(allocated - r.m.kernel.pageAlloc.allocated).toBe(1024);
    expect(r.m.kernel.kvm.tds).toEqual([td]);
    expect(describeStatus(0x8000_0824_0000_0000n).name).toBe('TDX_FLUSHVP_NOT_DONE');
    expect(kvmLines()).toEqual([]);
    expect(r.m.kernel.kvm.nr_configured_hkid).toBe(1);
    expect(td.vcpus[0]?.cpu).toBe(1);
  });

  it('the embedded scenario shows td.destroy -5 and no KVM line', () => {
    const res = run({ scenario: 'td-teardown-no-vp-flush' });
    expect(res.verdict).toBe('pass');
    expect(res.runs[0]?.notes).toEqual(['kvm.load: 0', 'td.create: 0', 'td.destroy: -5']);
    expect(res.runs[0]?.dmesg.filter((l) => l.startsWith('kvm_intel: '))).toEqual([]);
  });
});

describe('refused TDH.PHYMEM.PAGE.RECLAIM (fault kvm.reclaim.stale)', () => {
  const LINE_618 = 'kvm_intel: SEAMCALL TDH_PHYMEM_PAGE_RECLAIM failed: 0xc000030000000001, rcx 0x0, rdx 0x0, r8 0x0';
  const LINE_UBUNTU = 'SEAMCALL (0x000000000000001c) failed: 0xc000030000000001 RCX 0x0000000000000000 RDX 0x0000000000000000 R8 0x0000000000000000 R9 0x0000000000000000 R10 0x0000000000000000 R11 0x0000000000000000';

  it('linux-6.18: the second RECLAIM of a page finds its PAMT entry free; pr_tdx_error_3, the teardown goes on', () => {
    const { r, td, calls, kvmLines } = lifecycle();
    r.faults.arm(FAULT_KVM_RECLAIM_STALE, 1);
    // The first RECLAIM is the first TDCX page's (tdx_vcpu_free()): private memory is removed, not reclaimed.
    const nReclaim = controlCount(td);
    expect(r.run(r.m.destroyTd(td))).toBe(-EIO);
    const reclaims = calls.filter((c) => c.includes('RECLAIM'));
    expect(reclaims.slice(0, 2)).toEqual(['0 TDH.PHYMEM.PAGE.RECLAIM TDX_SUCCESS', '0 TDH.PHYMEM.PAGE.RECLAIM TDX_PAGE_METADATA_INCORRECT|RCX']);
    expect(reclaims.length).toBe(nReclaim + 1);
    expect(calls[calls.length - 1]).toBe(WBINVD);
    expect(kvmLines()).toEqual([LINE_618]);
    expect(td.state).toBe('torn-down');
  });

  it('ubuntu-6.8-intel prints the out-of-tree KVM one-liner of the real reports, once per refused page', () => {
    const { r, td, kvmLines } = lifecycle('ubuntu-6.8-intel');
    r.faults.arm(FAULT_KVM_RECLAIM_STALE, 3);
    expect(r.run(r.m.destroyTd(td))).toBe(-EIO);
    expect(kvmLines()).toEqual([LINE_UBUNTU, LINE_UBUNTU, LINE_UBUNTU]);
  });

  it('explain knows what RECLAIM\'s PAGE_METADATA_INCORRECT and VPFLUSHDONE\'s FLUSHVP_NOT_DONE mean', () => {
    expect(explain({ status: '0xc000030000000001', leaf: '28' }).meaning).toBe(
      'TDH.PHYMEM.PAGE.RECLAIM found the page\'s PAMT entry free (PT_NDA) or reserved: no TD owns the page (RCX, RDX and R8 come back zero)',
    );
    expect(explain({ status: '0x8000082400000000', leaf: '19' }).meaning).toBe('TDH.MNG.VPFLUSHDONE: a VCPU of the TD is still associated with a logical CPU');
  });

  it('seamcall_regs_line() prints all six output registers as 16 hex digits', () => {
    expect(seamcall_regs_line(28n, 0xc000030000000001n, seamRegs({ r8: 0x410f759000n }))).toBe(
      'SEAMCALL (0x000000000000001c) failed: 0xc000030000000001 RCX 0x0000000000000000 RDX 0x0000000000000000 R8 0x000000410f759000 R9 0x0000000000000000 R10 0x0000000000000000 R11 0x0000000000000000',
    );
  });

  it('both embedded scenarios pass, and diagnose classifies their dmesg as runtime-seamcall-failure', () => {
    // linux-6.18 prints __tdx_reclaim_page()'s WARN_ON_ONCE splat (tdx.c:316 in 6.18.2) before the
    // line, and diagnose names it; Ubuntu 6.8's splats are not modelled.
    const splat618 =
      "; WARNING splat(s) from __tdx_reclaim_page() at arch/x86/kvm/vmx/tdx.c:316 (line 20): KVM's WARN_ON_ONCE()/KVM_BUG_ON() fired (a KVM_BUG_ON() also marks the VM bugged: its later ioctls fail with -EIO)";
    for (const [name, line, n, initLine, splat] of [
      ['td-reclaim-metadata-incorrect', LINE_618, 1, 18, splat618],
      ['td-reclaim-ubuntu-6.8', LINE_UBUNTU, 3, 21, ''],
    ] as const) {
      const res = run({ scenario: name });
      expect(res.verdict).toBe('pass');
      const one = res.runs[0];
      expect(one?.findings).toEqual([]);
      expect(one?.dmesg.filter((l) => l.includes('SEAMCALL'))).toEqual(Array<string>(n).fill(line));
      const d = diagnose({ text: (one?.dmesgFormatted ?? []).join('\n'), name, reproduce: false });
      expect(d.classification.class).toBe('runtime-seamcall-failure');
      expect(d.classification.explanation).toBe(
        `the TDX module initialised (line ${initLine}), then ${n} SEAMCALL failure(s) at run time: ${n} × TDH.PHYMEM.PAGE.RECLAIM returned TDX_PAGE_METADATA_INCORRECT|RCX (0xc000030000000001): TDH.PHYMEM.PAGE.RECLAIM found the page's PAMT entry free (PT_NDA) or reserved: no TD owns the page (RCX, RDX and R8 come back zero); while KVM tore a TD down and reclaimed its pages: the host's TDX came up, a TD operation failed${splat}`,
      );
    }
  });
});

describe('multi-vCPU TDs (KVM_TDX_INIT_VCPU per vCPU, a vCPU per CPU, VP.FLUSH of each at teardown)', () => {
  /** A 4 MiB TD with three vCPUs: vCPU 0 runs on CPU 1, vCPU 1 on CPU 2, vCPU 2 on CPU 3. */
  function threeVcpus(): Lifecycle & { build: string[] } {
    const r = kernelRig('small-2s', { module: 'real', kernel: 'linux-6.18' });
    expect(r.run(r.m.loadKvm())).toBe(0);
    const build: string[] = [];
    const calls: string[] = [];
    r.m.platform.tracer.subscribe((e) => {
      if (e.kind === 'seamcall.exit') {
        (r.m.kernel.kvm.tds.length > 0 && r.m.kernel.kvm.tds[0]?.state === 'runnable' ? calls : build).push(`${e.cpu} ${leafName(e.leaf)} ${leafStatusDisplay(e.leaf, e.status)}`);
      }
    });
    const { ret, td } = r.run(r.m.createTd({ pages: 1024, runCpu: 1, vcpus: 3 }));
    expect(ret).toBe(0);
    return { r, td: td as Td, calls, build, kvmLines: () => r.lines().filter((l) => l.startsWith('kvm_intel: ')) };
  }
  const INIT_VCPU = ['0 TDH.VP.CREATE TDX_SUCCESS', ...Array<string>(5).fill('0 TDH.VP.ADDCX TDX_SUCCESS'), '0 TDH.VP.INIT TDX_SUCCESS'];

  it('each vCPU gets its TDVPR and 5 TDCX pages on CPU 0; VP.INIT associates it there; MAX_VCPUS is 3', () => {
    const { r, td, build, calls } = threeVcpus();
    const from = build.indexOf('0 TDH.MNG.INIT TDX_SUCCESS');
    expect(build.slice(from + 1, from + 1 + 21)).toEqual([...INIT_VCPU, ...INIT_VCPU, ...INIT_VCPU]);
    expect(td.vcpus.map((v) => [v.index, v.tdcx.length, v.initialized])).toEqual([
      [0, 5, true],
      [1, 5, true],
      [2, 5, true],
    ]);
    // KVM_RUN of vCPU 0 on CPU 1: flushed off CPU 0 first; vCPUs 1 and 2 stay on CPU 0.
    expect(calls).toEqual(['0 TDH.VP.FLUSH TDX_SUCCESS', '1 TDH.VP.ENTER TDX_SUCCESS, exit reason 77 (TDCALL)']);
    const k = r.m.kernel;
    expect(td.vcpus.map((v) => v.cpu)).toEqual([1, 0, 0]);
    expect(associated_tdvcpus(k, 0)).toEqual([td.vcpus[1], td.vcpus[2]]);
    const st = (r.m.platform.seamHandler as TdxModule).state.tds.get(td.tdr);
    expect([st?.maxVcpus, st?.numVcpus, st?.numAssocVcpus]).toEqual([3, 3, 3]);
    // VP.INIT hands out VCPU indices in call order (num_vcpus++): 0, 1, 2.
    expect(td.vcpus.map((v) => st?.vcpus.get(v.tdvpr)?.vcpuIndex)).toEqual([0, 1, 2]);
  });

  it('each vCPU runs on its own CPU; teardown flushes each off the CPU it was last on, then VPFLUSHDONE', () => {
    const { r, td, calls, kvmLines } = threeVcpus();
    calls.length = 0;
    expect(r.run(r.m.runTd(td, 2, 1))).toBe(0x4dn);
    expect(r.run(r.m.runTd(td, 3, 2))).toBe(0x4dn);
    expect(r.run(r.m.runTd(td, 0, 1))).toBe(0x4dn);
    expect(calls).toEqual([
      '0 TDH.VP.FLUSH TDX_SUCCESS',
      '2 TDH.VP.ENTER TDX_SUCCESS, exit reason 77 (TDCALL)',
      '0 TDH.VP.FLUSH TDX_SUCCESS',
      '3 TDH.VP.ENTER TDX_SUCCESS, exit reason 77 (TDCALL)',
      '2 TDH.VP.FLUSH TDX_SUCCESS',
      '0 TDH.VP.ENTER TDX_SUCCESS, exit reason 77 (TDCALL)',
    ]);
    expect(td.vcpus.map((v) => v.cpu)).toEqual([1, 0, 3]);
    // Every vCPU runs the guest program (its stores spare the program page): vCPU 0 on CPU 1, then
    // vCPU 1 on CPU 2 and vCPU 2 on CPU 3 store the same private memory, and a same-KeyID store
    // drops the other CPUs' copies, so the last one's CPU (3) holds the dirty lines. vCPU 1's entry
    // on CPU 0 finds its guest halted at its END (module/guest.ts).
    const tdLines = (cpu: number, writer: string): number =>
      r.m.platform
        .cpu(cpu)
        .cache.ranges()
        .filter((x) => x.key === td.hkid && x.seg.writer === writer)
        .reduce((n, x) => n + x.end - x.start, 0);
    expect([0, 1, 2, 3].map((c) => tdLines(c, 'td1'))).toEqual([0, 0, 0, 4096]);
    // The module's own lines under the TD's KeyID: on CPU 0 the TDVPS state lines (0x100) of the
    // three vCPUs (VP.INIT there), vCPU 1's association line (0x1C0, associated there last) and the
    // TDCS line. The association lines of vCPUs 0 and 2, stored on CPUs 1 and 3 before their
    // guests ran, were evicted by the guests' stores (vCPU 1's line on CPU 2 likewise, and CPU 0
    // holds its newer copy). CPU 0 also keeps line 0 of the SEPT root and of the level-2 SEPT page
    // (the entries SEPT.ADD stored there, module/septLayout.ts); the PD and PT entry lines moved
    // to CPU 1 with the guest's ACCEPT (which stores them again) and were evicted there by its
    // stores.
    expect([0, 1, 2, 3].map((c) => tdLines(c, 'tdx-module'))).toEqual([7, 0, 0, 0]);
    calls.length = 0;
    // linux-6.18: the private memory goes first (HKID still assigned), then every vCPU is
    // flushed off the CPU it last ran on, then the HKID is released and the control pages
    // (each vCPU's TDCX and TDVPR among them) are reclaimed.
    const zap = privateZap(td);
    const control = controlCount(td);
    expect(r.run(r.m.destroyTd(td))).toBe(0);
    expect(calls.slice(0, zap.length)).toEqual(zap);
    expect(calls.slice(zap.length, zap.length + 7)).toEqual([
      '1 TDH.VP.FLUSH TDX_SUCCESS',
      '0 TDH.VP.FLUSH TDX_SUCCESS',
      '3 TDH.VP.FLUSH TDX_SUCCESS',
      '0 TDH.MNG.VPFLUSHDONE TDX_SUCCESS',
      '0 TDH.PHYMEM.CACHE.WB TDX_SUCCESS',
      '2 TDH.PHYMEM.CACHE.WB TDX_SUCCESS',
      '0 TDH.MNG.KEY.FREEID TDX_SUCCESS',
    ]);
    expect(calls.slice(zap.length + 7)).toEqual([...Array<string>(control).fill(RECLAIM), WBINVD]);
    expect(td.vcpus.reduce((n, v) => n + v.tdcx.length + 1, 0)).toBe(18);
    expect(kvmLines()).toEqual([]);
    expect(td.state).toBe('torn-down');
  });

  it('VPFLUSHDONE refuses while any vCPU is still associated: one skipped VP.FLUSH of three is enough', () => {
    const { r, td, calls, kvmLines } = threeVcpus();
    expect(r.run(r.m.runTd(td, 2, 1))).toBe(0x4dn);
    calls.length = 0;
    // The fault skips the first vCPU's flush (vCPU 0, on CPU 1); vCPUs 1 and 2 are flushed.
    r.faults.arm(FAULT_KVM_SKIP_VP_FLUSH, 1);
    // linux-6.18 removes the private memory first, with the HKID still assigned.
    const zap = privateZap(td);
    expect(r.run(r.m.destroyTd(td))).toBe(-EIO);
    expect(calls.slice(0, zap.length)).toEqual(zap);
    expect(calls.slice(zap.length)).toEqual(['2 TDH.VP.FLUSH TDX_SUCCESS', '0 TDH.VP.FLUSH TDX_SUCCESS', '0 TDH.MNG.VPFLUSHDONE TDX_FLUSHVP_NOT_DONE']);
    expect((r.m.platform.seamHandler as TdxModule).state.tds.get(td.tdr)?.numAssocVcpus).toBe(1);
    expect(td.vcpus.map((v) => v.cpu)).toEqual([1, -1, -1]);
    expect(kvmLines()).toEqual([]);
    expect(r.m.kernel.kvm.nr_configured_hkid).toBe(1);
  });

  it('the td-multi-vcpu scenario passes with no finding; its notes name the vCPUs', () => {
    const res = run({ scenario: 'td-multi-vcpu' });
    expect(res.verdict).toBe('pass');
    const one = res.runs[0];
    expect(one?.findings).toEqual([]);
    expect(one?.notes).toEqual(['kvm.load: 0', 'td.create: 0', 'td.run vCPU 1 on CPU 2: TDH.VP.ENTER 0x4d', 'td.run vCPU 2 on CPU 3: TDH.VP.ENTER 0x4d', 'td.run vCPU 1 on CPU 0: TDH.VP.ENTER 0x4d', 'td.destroy: 0']);
    expect(one?.dmesg.filter((l) => l.startsWith('kvm_intel: '))).toEqual([]);
  });
});
