/**
 * KVM's TDs at scale: private memory as contiguous ranges mapped with 2 MiB PAGE.AUGs, one bulk
 * store per range, reclaim by range; the module's view (Secure EPT, PAMT) stays as small as the
 * number of ranges. Real module, small-2s.
 */
import { describe, expect, it } from 'vitest';

import { run } from '../../../../src/api/index.js';
import { mainBoot, parseDmesg } from '../../../../src/tools/parse/dmesg.js';
import { parseStatusArg } from '../../../../src/tools/parse/status.js';
import { KERNEL_SCENARIOS } from '../../../../src/scenario/scenarios/kernel.js';
import { EIO } from '../../../../src/kernel/errno.js';
import { kvm_create_td, pr_tdx_error_line } from '../../../../src/kernel/kvm/td.js';
import type { Td } from '../../../../src/kernel/kvm/td.js';
import { TDH_MNG_CREATE } from '../../../../src/kernel/tdx/defs.js';
import type { TdxModule } from '../../../../src/module/TdxModule.js';
import { kernelRig } from '../../../__test-helpers__/kernelMachine.js';
import type { KernelRig } from '../../../__test-helpers__/kernelMachine.js';

const M2 = 0x20_0000;
const PAGE = 4096;

function rig(): KernelRig {
  const r = kernelRig('small-2s', { module: 'real' });
  expect(r.run(r.m.loadKvm())).toBe(0);
  return r;
}

function module(r: KernelRig): TdxModule {
  return r.m.platform.seamHandler as TdxModule;
}

/** Secure EPT leaves the kernel's mapping implies: 2 MiB where GPA and PA are aligned, else 4 KiB. */
function leaves(td: Td): { small: number; huge: number } {
  let small = 0;
  let huge = 0;
  for (const x of td.ranges) {
    for (let off = 0; off < x.size; ) {
      if ((x.gpa + off) % M2 === 0 && (x.pa + off) % M2 === 0 && x.size - off >= M2) {
        huge++;
        off += M2;
      } else {
        small++;
        off += PAGE;
      }
    }
  }
  return { small, huge };
}

function checkRanges(td: Td, pages: number): void {
  let gpa = 0x100000;
  let total = 0;
  for (const x of td.ranges) {
    expect(x.gpa).toBe(gpa);
    gpa += x.size;
    total += x.size;
  }
  expect(total).toBe(pages * PAGE);
}

describe('TD private memory as ranges', () => {
  it('1 MiB + 1 GiB + 100 pages: three ranges, 2 MiB leaves in the middle, state proportional to ranges', () => {
    const r = rig();
    const before = r.m.kernel.pageAlloc.allocated;
    const pages = 256 + 256 * 1024 + 100;
    const { ret, td } = r.run(r.m.createTd({ pages, runCpu: 1 }));
    expect(ret).toBe(0);
    checkRanges(td!, pages);
    expect(td!.ranges).toHaveLength(3);
    // Head [1 MiB, 2 MiB) and the 100-page tail in 4 KiB leaves, [2 MiB, 1 GiB + 2 MiB) in 2 MiB leaves.
    expect(leaves(td!)).toEqual({ small: 256 + 100, huge: 512 });
    // PDPT, a PD for GPAs below 1 GiB and one above, and a PT each for the head and the tail.
    expect(td!.sept).toHaveLength(5);
    const st = module(r).state.tds.get(td!.tdr)!;
    expect(st.sept.size).toBe(256 + 100 + 512 + 5);
    // Contiguous host pages coalesce: a handful of intervals, not hundreds of entries.
    expect(st.sept.intervals).toBeLessThanOrEqual(12);
    // + 5 SEPT pages, 6 TDCS pages, the TDVPR and its 5 TDCX pages (TDVPS_BASE_SIZE 0x6000).
    expect(st.chldcnt).toBe(pages + 5 + 6 + 1 + 5);
    expect(module(r).state.pamt.entries.size).toBeLessThanOrEqual(20);
    // The TD wrote its memory through its KeyID (one bulk store per range), all but the first
    // page, which holds its program (PAGE.ADD wrote it, the guest does not store over it).
    td!.ranges.forEach((x, i) => {
      expect(r.m.platform.lineAt(x.pa + (i === 0 ? 4096 : 0))).toMatchObject({ key: td!.hkid, td: true, writer: `td${td!.id}` });
    });
    expect(r.m.platform.lineAt(td!.ranges[0]!.pa)).toMatchObject({ key: td!.hkid, td: true, writer: 'tdx-module' });
    expect(r.run(r.m.destroyTd(td!))).toBe(0);
    expect(r.m.kernel.pageAlloc.allocated).toBe(before);
    expect(module(r).state.tds.has(td!.tdr)).toBe(false);
    expect(module(r).state.pamt.entries.size).toBe(0);
  });

  it('fragmented memory: smaller chunks, unaligned ones mapped with 4 KiB leaves', () => {
    const r = rig();
    const alloc = r.m.kernel.pageAlloc;
    // Take every free page, then give back a few islands that are not 2 MiB aligned.
    const taken: { pa: number; n: number }[] = [];
    for (let n = 2 ** 20; n >= 1; ) {
      const pa = alloc.alloc_contig_pages(n, 0);
      if (pa === undefined) {
        n = Math.floor(n / 2);
      } else {
        taken.push({ pa, n });
      }
    }
    const big = taken.find((t) => t.n >= 4096)!;
    const base = big.pa - (big.pa % M2) + M2;
    alloc.free_contig_range(base + M2 / 2, 3 * 512); // 6 MiB starting 1 MiB into a 2 MiB page
    alloc.free_contig_range(base + 8 * M2, 2 * 512); // 4 MiB, aligned
    alloc.free_contig_range(base + 12 * M2, 64); // control pages
    const before = alloc.allocated;
    const pages = 2048 + 300;
    const { ret, td } = r.run(r.m.createTd({ pages, runCpu: 1 }));
    expect(ret).toBe(0);
    checkRanges(td!, pages);
    expect(td!.ranges.length).toBeGreaterThan(3);
    expect(leaves(td!).huge).toBeGreaterThan(0);
    expect(r.run(r.m.destroyTd(td!))).toBe(0);
    expect(alloc.allocated).toBe(before);
  });

  it('too little memory: -ENOMEM', () => {
    const r = rig();
    const alloc = r.m.kernel.pageAlloc;
    for (let n = 2 ** 20; n >= 1; ) {
      if (alloc.alloc_contig_pages(n, 0) === undefined) {
        n = Math.floor(n / 2);
      }
    }
    const { ret } = r.run(r.m.createTd({ pages: 16, runCpu: 1 }));
    expect(ret).toBe(-12);
  });
});

describe('flush before handing pages to the module (tdx_clflush_page)', () => {
  it('TD creation and teardown leave no stale KeyID-0 line: every cache written back, no stale write-back', () => {
    const r = rig();
    // A freed TD_PARAMS buffer and TD image page, and ordinary kernel writes, are reused for
    // TD pages: their dirty KeyID-0 lines must be flushed before the module takes the pages.
    const { ret, td } = r.run(r.m.createTd({ pages: 1024, runCpu: 1 }));
    expect(ret).toBe(0);
    const p = r.m.platform;
    for (const c of p.cpus) {
      p.wbinvdNow(c);
    }
    expect(p.staleWritebacks).toEqual([]);
    expect(r.run(r.m.destroyTd(td!))).toBe(0);
    const { ret: again } = r.run(r.m.createTd({ pages: 600, runCpu: 2 }));
    expect(again).toBe(0);
    for (const c of p.cpus) {
      p.wbinvdNow(c);
    }
    expect(p.staleWritebacks).toEqual([]);
  });

  it('the bringup scenario, then every cache written back: no silent corruption', () => {
    const sc = KERNEL_SCENARIOS['bringup']!;
    const steps = [...(sc.steps ?? []), ...[0, 1, 2, 3].map((cpu) => ({ op: 'wbinvd', cpu }))];
    const res = run({ scenarioObject: { ...sc, name: 'bringup-flushed', steps } });
    expect(res.runs[0]!.notes).toContain('td.create: 0');
    expect(res.findings).toEqual([]);
  });
});

describe("KVM's pr_tdx_error lines (audit 2026-12 row 6)", () => {
  it('formats as arch/x86/kvm/vmx/tdx.c: "SEAMCALL %s failed: 0x%llx" plus rcx/rdx/r8 for _1/_2/_3', () => {
    const out = { rcx: 0x1000n, rdx: 0x2n, r8: 0xabcn };
    expect(pr_tdx_error_line('TDH_MNG_CREATE', 0xc000082000000000n, 'pr_tdx_error', out)).toBe('SEAMCALL TDH_MNG_CREATE failed: 0xc000082000000000');
    expect(pr_tdx_error_line('TDH_MNG_INIT', 0x8000020300000000n, 'pr_tdx_error_1', out)).toBe('SEAMCALL TDH_MNG_INIT failed: 0x8000020300000000, rcx 0x1000');
    expect(pr_tdx_error_line('TDH_MEM_SEPT_ADD', 0xc0000b0000000000n, 'pr_tdx_error_2', out)).toBe('SEAMCALL TDH_MEM_SEPT_ADD failed: 0xc0000b0000000000, rcx 0x1000, rdx 0x2');
    expect(pr_tdx_error_line('TDH_PHYMEM_PAGE_RECLAIM', 0x1n, 'pr_tdx_error_3', out)).toBe('SEAMCALL TDH_PHYMEM_PAGE_RECLAIM failed: 0x1, rcx 0x1000, rdx 0x2, r8 0xabc');
  });
  it('a failing TDH.MNG.CREATE prints the kvm_intel line once, and the parsers read it (and the old form)', () => {
    const r = kernelRig('small-2s');
    expect(r.run(r.m.loadKvm())).toBe(0);
    r.stub!.fail(TDH_MNG_CREATE, 0xc000082000000000n);
    const { ret } = r.run(kvm_create_td(r.m.kernel, r.m.platform.cpu(0), { pages: 4 }));
    expect(ret).toBe(-EIO);
    const line = 'kvm_intel: SEAMCALL TDH_MNG_CREATE failed: 0xc000082000000000';
    expect(r.lines().filter((l) => l.startsWith('kvm_intel: '))).toEqual([line]);
    for (const l of [line, 'kvm_intel: TDH_MNG_CREATE failed: 0xc000082000000000', 'kvm_intel: SEAMCALL TDH_MEM_SEPT_ADD failed: 0xc000082000000000, rcx 0x1000, rdx 0x2']) {
      const leaf = l.includes('SEPT') ? 3 : 9;
      expect(mainBoot(parseDmesg([l])).tdx[0], l).toMatchObject({ kind: 'seamcall-failed', leaf, status: 0xc000082000000000n });
      expect(parseStatusArg(l), l).toMatchObject({ ok: true, status: 0xc000082000000000n, leafRaw: BigInt(leaf), from: 'line' });
    }
  });
});

/** SEAMCALLs (CPU, leaf with version, status) the machine issues while `fn` runs. */
function seamcalls(r: KernelRig, fn: () => void): [number, string, string][] {
  const out: [number, string, string][] = [];
  const names: Record<number, string> = { 4: 'VP.ADDCX', 10: 'VP.CREATE', 18: 'VP.FLUSH', 19: 'MNG.VPFLUSHDONE', 20: 'MNG.KEY.FREEID', 22: 'VP.INIT', 40: 'PHYMEM.CACHE.WB' };
  let rax = 0n;
  const off = r.m.platform.tracer.subscribe((ev) => {
    if (ev.kind === 'seamcall.enter') {
      rax = ev.rax;
    } else if (ev.kind === 'seamcall.exit' && names[ev.leaf] !== undefined) {
      out.push([ev.cpu, `${names[ev.leaf]}${rax >> 16n !== 0n ? ` v${rax >> 16n}` : ''}`, `0x${ev.status.toString(16)}`]);
    }
  });
  try {
    fn();
  } finally {
    off();
  }
  return out;
}

describe('KVM VCPU lifecycle (6.16+): VP.CREATE, VP.ADDCX x5, VP.INIT, VP.FLUSH where the VCPU was loaded', () => {
  it('a TD built on CPU 0 that runs on CPU 1: associated on CPU 0, flushed on CPU 0 (vcpu_load) and CPU 1 (teardown), destroyed', () => {
    const r = rig();
    let td: Td | undefined;
    const build = seamcalls(r, () => {
      const c = r.run(r.m.createTd({ pages: 16, runCpu: 1 }));
      expect(c.ret).toBe(0);
      td = c.td;
    });
    // small-2s runs tdx-1.5-late (TOPOLOGY_ENUM): VP.INIT version 1.
    expect(build).toEqual([
      [0, 'VP.CREATE', '0x0'],
      [0, 'VP.ADDCX', '0x0'],
      [0, 'VP.ADDCX', '0x0'],
      [0, 'VP.ADDCX', '0x0'],
      [0, 'VP.ADDCX', '0x0'],
      [0, 'VP.ADDCX', '0x0'],
      [0, 'VP.INIT v1', '0x0'],
      // KVM_RUN on CPU 1: tdx_vcpu_load() flushes the VCPU off CPU 0, where VP.INIT associated it.
      [0, 'VP.FLUSH', '0x0'],
    ]);
    expect(td!.vcpus.map((v) => v.tdcx.length)).toEqual([5]);
    expect(td!.vcpus[0]!.cpu).toBe(1);
    const st = module(r).state.tds.get(td!.tdr)!;
    // TDH.VP.ENTER on CPU 1 associated the VCPU there (associate_vcpu()).
    expect([st.numVcpus, st.numAssocVcpus]).toEqual([1, 1]);
    expect(st.vcpus.get(td!.vcpus[0]!.tdvpr)!.associatedLp).toBe(1);
    const down = seamcalls(r, () => expect(r.run(r.m.destroyTd(td!))).toBe(0));
    // Teardown flushes it off CPU 1, where it ran.
    expect(down.slice(0, 2)).toEqual([
      [1, 'VP.FLUSH', '0x0'],
      [0, 'MNG.VPFLUSHDONE', '0x0'],
    ]);
    expect(down.filter(([, l]) => l === 'PHYMEM.CACHE.WB').map(([c]) => c)).toEqual([0, r.m.platform.cpus.find((c) => c.packageId === 1)!.id]);
    expect(down.at(-1)).toEqual([0, 'MNG.KEY.FREEID', '0x0']);
    expect(r.lines().filter((l) => l.includes('kvm_intel'))).toEqual([]);
    expect(module(r).state.tds.size).toBe(0);
    expect(module(r).state.pamt.entries.size).toBe(0);
  });

  it('a TD that stays on its CPU: the teardown VP.FLUSH on CPU 0 succeeds', () => {
    const r = rig();
    const { ret, td } = r.run(r.m.createTd({ pages: 16, runCpu: 0 }));
    expect(ret).toBe(0);
    const down = seamcalls(r, () => expect(r.run(r.m.destroyTd(td!))).toBe(0));
    expect(down.slice(0, 2)).toEqual([
      [0, 'VP.FLUSH', '0x0'],
      [0, 'MNG.VPFLUSHDONE', '0x0'],
    ]);
  });

  it('a lost vcpu->cpu (no VP.FLUSH): VPFLUSHDONE → TDX_FLUSHVP_NOT_DONE, unreported by KVM, the HKID stays', () => {
    const r = rig();
    const { ret, td } = r.run(r.m.createTd({ pages: 16, runCpu: 0 }));
    expect(ret).toBe(0);
    td!.vcpus[0]!.cpu = -1;
    const before = r.lines().length;
    const down = seamcalls(r, () => expect(r.run(r.m.destroyTd(td!))).toBe(-EIO));
    expect(down).toEqual([[0, 'MNG.VPFLUSHDONE', '0x8000082400000000']]);
    // No pr_err from KVM. The MMU teardown then hands each S-EPT page to
    // tdx_sept_free_private_spt(), whose KVM_BUG_ON(is_hkid_assigned()) fires once (nothing had
    // bugged the VM), and handle_removed_pt() WARNs for every page it has to leak (6.18.2 lines).
    const cut = '------------[ cut here ]------------';
    const end = '---[ end trace 0000000000000000 ]---';
    const tdpMmu = [cut, 'WARNING: CPU: 0 PID: ? at arch/x86/kvm/mmu/tdp_mmu.c:488 handle_removed_pt [kvm]', end];
    expect(td!.sept.length).toBe(3);
    expect(r.lines().slice(before)).toEqual([cut, 'WARNING: CPU: 0 PID: ? at arch/x86/kvm/vmx/tdx.c:1868 tdx_sept_free_private_spt [kvm_intel]', end, ...tdpMmu, ...tdpMmu, ...tdpMmu]);
    expect(td!.bugged).toBe(true);
    expect(module(r).state.kotState.get(td!.hkid)).toBe(1);
  });
});
