/**
 * TD lifecycle benchmarks (issue 13):
 * - a TD with 64 GiB of private memory mapped with 2 MiB TDH.MEM.PAGE.AUGs (and the SEPT.ADDs
 *   above them), accepted by its guest, then torn down, in straight-line SEAMCALLs into the
 *   module (what `tdxsim serve` runs per request), two ways: the HKID released first and every
 *   page reclaimed (TDH.PHYMEM.PAGE.RECLAIM takes a 2 MiB page whole), and every 2 MiB page
 *   removed while the TD runs (RANGE.BLOCK, MEM.TRACK, PAGE.REMOVE: the module leaves of KVM's
 *   tdx_sept_remove_private_spte(), without the PAGE.WBINVD of each 4 KiB page that 6.16+ KVM
 *   issues after them; the kvm.td-destroy-* benches below run the whole KVM sequence);
 * - 1,000 TDs created and destroyed by the KVM model on the emr-2s-1t preset (boot and
 *   kvm_intel tdx=1 are not timed).
 * - one TD of 1 GiB and one of 64 GiB built by the KVM model (linux-6.18, spr-2s-256g) and
 *   destroyed in KVM 6.16+'s order, the teardown alone timed (kvm.td-destroy-*; docs/kernel.md
 *   section Performance has the numbers).
 * The TD leaf sequence is KVM's (docs/server.md, "A TD's life"); setup outside the timed part.
 */
import { FIRST_CHOICE } from '../base/choice.js';
import { cpuId } from '../base/ids.js';
import { createMachine } from '../machine/Machine.js';
import { createModuleMachine, seamcallSync } from '../machine/moduleMachine.js';
import type { ModuleMachine } from '../machine/moduleMachine.js';
import { encodeGuestProgram, GUEST_OP } from '../module/guest.js';
import type { SeamRegs } from '../platform/Seam.js';
import { seamRegs } from '../platform/Seam.js';
import { preset, presetInput } from '../platform/presets.js';
import { parsePlatformSpec } from '../platform/spec.js';
import { Scheduler } from '../sim/Scheduler.js';
import type { Bench, BenchResult } from './types.js';
import { gc, rssMb, timeCpuMs } from './types.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const SZ_2M = 2 * MiB;
const TDMR_BASE = 4 * GiB;

/** Leaf numbers. @see TDX module ABI 1.5 leaf table (docs/server.md) */
const L = {
  VP_ENTER: 0n,
  MNG_ADDCX: 1n,
  MEM_PAGE_ADD: 2n,
  MEM_SEPT_ADD: 3n,
  VP_ADDCX: 4n,
  MEM_PAGE_AUG: 6n,
  MEM_RANGE_BLOCK: 7n,
  MNG_KEY_CONFIG: 8n,
  MNG_CREATE: 9n,
  VP_CREATE: 10n,
  MR_FINALIZE: 17n,
  VP_FLUSH: 18n,
  MNG_VPFLUSHDONE: 19n,
  MNG_KEY_FREEID: 20n,
  MNG_INIT: 21n,
  VP_INIT_V1: 22n | (1n << 16n),
  PHYMEM_PAGE_RECLAIM: 28n,
  MEM_PAGE_REMOVE: 29n,
  SYS_KEY_CONFIG: 31n,
  SYS_INIT: 33n,
  SYS_LP_INIT: 35n,
  SYS_TDMR_INIT: 36n,
  MEM_TRACK: 38n,
  PHYMEM_CACHE_WB: 40n,
  PHYMEM_PAGE_WBINVD: 41n,
  SYS_CONFIG: 45n,
} as const;

/**
 * The targets are judged on the process's CPU time: the benches run on machines shared with
 * other work, where the wall time also counts the time spent waiting for a core. Both are
 * reported; on an idle machine they agree to within the GC threads' share.
 */
const CPU_NOTE = '< N s of process CPU time (wall time reported too)';

/** VMX exit reason TDCALL and the TDG.VP.VMCALL<HLT> sub-function the guest model halts with. */
const EXIT_TDCALL = 77n;
const EXIT_HLT = 12n;

function u64s(vals: number[]): Uint8Array {
  const b = new Uint8Array(8 * vals.length);
  const dv = new DataView(b.buffer);
  vals.forEach((v, i) => dv.setBigUint64(8 * i, BigInt(v), true));
  return b;
}

/** SEAMCALL on `lp` with `r`; the full outcome registers (throws if the instruction faulted). */
function call(m: ModuleMachine, lp: number, r: Partial<Record<keyof SeamRegs, bigint>>): SeamRegs {
  const o = seamcallSync(m, lp, seamRegs(r));
  if (o.kind !== 'ok') {
    throw new Error(`bench: leaf ${r.rax} faulted: ${o.kind}`);
  }
  return o.regs;
}

/** SEAMCALL that must return `want` (default TDX_SUCCESS) in RAX. */
function ok(m: ModuleMachine, lp: number, r: Partial<Record<keyof SeamRegs, bigint>>, want = 0n): SeamRegs {
  const out = call(m, lp, r);
  if (out.rax !== want) {
    throw new Error(`bench: leaf 0x${(r.rax ?? 0n).toString(16)} rcx 0x${(r.rcx ?? 0n).toString(16)}: status 0x${out.rax.toString(16)}`);
  }
  return out;
}

/**
 * The ref platform with `tdmrGiB` GiB above 4 GiB in one TDMR (PAMT in a reserved area at its
 * top), brought to SYS_READY: SYS.INIT, LP.INIT everywhere, CONFIG (global KeyID 32), KEY.CONFIG
 * per package, TDMR.INIT of the whole TDMR.
 */
export function readyModuleMachine(tdmrGiB: number, opts: { tdmrInit: boolean } = { tdmrInit: true }): ModuleMachine {
  const size = tdmrGiB * GiB;
  const ref = presetInput('ref');
  if (ref === undefined) {
    throw new Error('no preset ref');
  }
  const spec = parsePlatformSpec({
    ...ref,
    name: `ref-${tdmrGiB}g`,
    tdxModule: { ...ref.tdxModule, profile: '1.5.06' },
    memory: { e820: [{ base: 0x100000, size: 0x7ff00000, type: 'usable' }, { base: TDMR_BASE, size, type: 'usable' }], nodes: [] },
    cmrs: [
      { base: 0, size: 0x80000000 },
      { base: TDMR_BASE, size },
    ],
  });
  if (!spec.ok) {
    throw new Error(JSON.stringify(spec.problems));
  }
  const m = createModuleMachine(spec.spec);
  for (const c of m.platform.cpus) {
    c.vmx = true;
  }
  ok(m, 0, { rax: L.SYS_INIT });
  for (let lp = 0; lp < m.platform.cpus.length; lp++) {
    ok(m, lp, { rax: L.SYS_LP_INIT });
  }
  // PAMT: 16 bytes per 4 KiB, per 2 MiB and per 1 GiB, at the top of the TDMR, 1 GiB reserved.
  const p4k = size / 256;
  const p2m = size / 131072;
  const p1g = Math.max(4096, size / 67108864);
  const rsvd = Math.ceil((p4k + p2m + p1g) / GiB) * GiB;
  const pamtBase = TDMR_BASE + size - rsvd;
  const info = new Uint8Array(512);
  info.set(u64s([TDMR_BASE, size, pamtBase + p4k + p2m, p1g, pamtBase + p4k, p2m, pamtBase, p4k, size - rsvd, rsvd]));
  const cpu0 = m.platform.cpu(cpuId(0));
  m.platform.store(cpu0, 0x10000000, info, 0, 'bench');
  m.platform.store(cpu0, 0x10001000, u64s([0x10000000]), 0, 'bench');
  ok(m, 0, { rax: L.SYS_CONFIG, rcx: 0x10001000n, rdx: 1n, r8: 32n });
  ok(m, 0, { rax: L.SYS_KEY_CONFIG });
  ok(m, 2, { rax: L.SYS_KEY_CONFIG });
  if (opts.tdmrInit) {
    let rdx = 0n;
    while (rdx < BigInt(TDMR_BASE + size)) {
      rdx = ok(m, 0, { rax: L.SYS_TDMR_INIT, rcx: BigInt(TDMR_BASE) }).rdx;
    }
  }
  return m;
}

/** Where the 64 GiB TD's pages live (all in the TDMR, below its PAMT). */
interface TdLayout {
  readonly tdr: bigint;
  readonly tdcs: bigint[];
  readonly tdvpr: bigint;
  readonly tdcx: bigint[];
  readonly image: bigint;
  readonly source: bigint;
  readonly params: bigint;
  /** SEPT pages, by level key `level:gpa`. */
  readonly sept: Map<string, bigint>;
  /** First PA of the private memory (2 MiB aligned) and its size. */
  readonly memPa: bigint;
  readonly memBytes: number;
  /** GPA of the image page: above the private memory, so every 2 MiB of it is AUGed whole. */
  readonly imageGpa: bigint;
  next: bigint;
}

function layout(memBytes: number): TdLayout {
  const ctl = BigInt(TDMR_BASE);
  const page = (i: number): bigint => ctl + BigInt(i * 4096);
  return {
    tdr: page(0),
    tdcs: [1, 2, 3, 4, 5, 6].map(page),
    tdvpr: page(8),
    tdcx: [9, 10, 11, 12, 13].map(page),
    image: page(16),
    source: 0x10005000n,
    params: 0x10004000n,
    sept: new Map(),
    memPa: ctl + BigInt(GiB),
    memBytes,
    imageGpa: BigInt(memBytes),
    next: page(32),
  };
}

/** SEPT.ADD of the PDPT/PD/PT pages above a leaf at `gpa` of `leafLevel` (0: 4 KiB, 1: 2 MiB). */
function septFor(m: ModuleMachine, t: TdLayout, gpa: bigint, leafLevel: number): number {
  let n = 0;
  for (let level = 3; level > leafLevel; level--) {
    const span = 1n << BigInt(12 + 9 * level);
    const base = gpa - (gpa % span);
    const key = `${level}:${base}`;
    if (t.sept.has(key)) {
      continue;
    }
    const pa = t.next;
    t.next += 4096n;
    t.sept.set(key, pa);
    ok(m, 0, { rax: L.MEM_SEPT_ADD, rcx: base | BigInt(level), rdx: t.tdr, r8: pa });
    n++;
  }
  return n;
}

/** KVM_TDX_INIT_VM + INIT_VCPU + INIT_MEM_REGION (the guest's program) + FINALIZE_VM. */
function buildTd(m: ModuleMachine, t: TdLayout): void {
  ok(m, 0, { rax: L.MNG_CREATE, rcx: t.tdr, rdx: 33n });
  ok(m, 0, { rax: L.MNG_KEY_CONFIG, rcx: t.tdr });
  ok(m, 2, { rax: L.MNG_KEY_CONFIG, rcx: t.tdr });
  for (const pa of t.tdcs) {
    ok(m, 0, { rax: L.MNG_ADDCX, rcx: pa, rdx: t.tdr });
  }
  // KVM's setup_tdparams(): ATTRIBUTES 0, XFAM 3, MAX_VCPUS 4, EPTP WB | 4-level, NO_RBP_MOD, 2.5 GHz.
  const params = new Uint8Array(1024);
  const v = new DataView(params.buffer);
  v.setBigUint64(8, 3n, true);
  v.setUint16(16, 4, true);
  v.setBigUint64(24, 0x1en, true);
  v.setBigUint64(32, 4n, true);
  v.setUint16(40, 100, true);
  const cpu0 = m.platform.cpu(cpuId(0));
  m.platform.store(cpu0, Number(t.params), params, 0, 'bench');
  ok(m, 0, { rax: L.MNG_INIT, rcx: t.tdr, rdx: t.params });
  ok(m, 0, { rax: L.VP_CREATE, rcx: t.tdvpr, rdx: t.tdr });
  for (const pa of t.tdcx) {
    ok(m, 0, { rax: L.VP_ADDCX, rcx: pa, rdx: t.tdvpr });
  }
  ok(m, 0, { rax: L.VP_INIT_V1, rcx: t.tdvpr, rdx: t.imageGpa, r8: 0n });
  // The guest: accept every byte of its private memory, halt.
  const image = new Uint8Array(4096);
  image.set(encodeGuestProgram([[GUEST_OP.ACCEPT, 0, t.memBytes], [GUEST_OP.END, 0]]));
  m.platform.store(cpu0, Number(t.source), image, 0, 'bench');
  septFor(m, t, t.imageGpa, 0);
  ok(m, 0, { rax: L.MEM_PAGE_ADD, rcx: t.imageGpa, rdx: t.tdr, r8: t.image, r9: t.source });
  ok(m, 0, { rax: L.MR_FINALIZE, rcx: t.tdr });
}

/** SEPT.ADD + 2 MiB PAGE.AUG over the whole private memory; SEAMCALLs issued. */
function augAll(m: ModuleMachine, t: TdLayout): number {
  let calls = 0;
  for (let off = 0; off < t.memBytes; off += SZ_2M) {
    const gpa = BigInt(off);
    calls += septFor(m, t, gpa, 1);
    ok(m, 0, { rax: L.MEM_PAGE_AUG, rcx: gpa | 1n, rdx: t.tdr, r8: t.memPa + gpa });
    calls++;
  }
  return calls;
}

/** VP.ENTER until the guest halts (it accepts all its memory first). */
function runGuest(m: ModuleMachine, t: TdLayout): void {
  const r = ok(m, 0, { rax: L.VP_ENTER, rcx: t.tdvpr }, EXIT_TDCALL);
  if (r.r11 !== EXIT_HLT) {
    throw new Error(`bench: guest exit R11 ${r.r11}`);
  }
}

/** KVM 6.16 page release: BLOCK, TRACK, REMOVE of every 2 MiB leaf; SEAMCALLs issued. */
function removeAll(m: ModuleMachine, t: TdLayout): number {
  let calls = 0;
  for (let off = 0; off < t.memBytes; off += SZ_2M) {
    const gpa = BigInt(off) | 1n;
    ok(m, 0, { rax: L.MEM_RANGE_BLOCK, rcx: gpa, rdx: t.tdr });
    ok(m, 0, { rax: L.MEM_TRACK, rcx: t.tdr });
    ok(m, 0, { rax: L.MEM_PAGE_REMOVE, rcx: gpa, rdx: t.tdr });
    calls += 3;
  }
  return calls;
}

/** tdx_mmu_release_hkid() then reclaim: VP.FLUSH, VPFLUSHDONE, CACHE.WB per package, FREEID. */
function releaseHkid(m: ModuleMachine, t: TdLayout): void {
  ok(m, 0, { rax: L.VP_FLUSH, rcx: t.tdvpr });
  ok(m, 0, { rax: L.MNG_VPFLUSHDONE, rcx: t.tdr });
  ok(m, 0, { rax: L.PHYMEM_CACHE_WB, rcx: 0n });
  ok(m, 2, { rax: L.PHYMEM_CACHE_WB, rcx: 0n });
  ok(m, 0, { rax: L.MNG_KEY_FREEID, rcx: t.tdr });
}

/** RECLAIM of every page still owned by the TD (2 MiB leaves whole when `private2m`); calls. */
function reclaimAll(m: ModuleMachine, t: TdLayout, private2m: boolean): number {
  let calls = 0;
  if (private2m) {
    for (let off = 0; off < t.memBytes; off += SZ_2M) {
      ok(m, 0, { rax: L.PHYMEM_PAGE_RECLAIM, rcx: t.memPa + BigInt(off) });
      calls++;
    }
  }
  for (const pa of [t.image, ...t.sept.values(), ...t.tdcx, t.tdvpr, ...t.tdcs, t.tdr]) {
    ok(m, 0, { rax: L.PHYMEM_PAGE_RECLAIM, rcx: pa });
    calls++;
  }
  ok(m, 0, { rax: L.PHYMEM_PAGE_WBINVD, rcx: t.tdr | (32n << BigInt(m.platform.keyIdShift)) });
  return calls + 1;
}

function td64g(name: string, teardown: 'reclaim' | 'block-track-remove'): Bench {
  return {
    name,
    target:
      teardown === 'reclaim'
        ? `a 64 GiB TD: 2 MiB PAGE.AUGs + SEPT.ADDs, guest accepts all, HKID released, every page reclaimed, ${CPU_NOTE.replace('N', '1')}`
        : `a 64 GiB TD: 2 MiB PAGE.AUGs + SEPT.ADDs, guest accepts all, every 2 MiB page BLOCK/TRACK/REMOVEd, HKID released, ${CPU_NOTE.replace('N', '1')}`,
    run(): BenchResult {
      const m = readyModuleMachine(80);
      const t = layout(64 * GiB);
      buildTd(m, t);
      gc();
      const build = timeCpuMs(() => {
        const calls = augAll(m, t);
        runGuest(m, t);
        return calls;
      });
      const down = timeCpuMs(() => {
        let calls = 0;
        if (teardown === 'block-track-remove') {
          calls += removeAll(m, t);
        }
        releaseHkid(m, t);
        return calls + 5 + reclaimAll(m, t, teardown === 'reclaim');
      });
      const tds = (m.module.snapshot()['tds'] as unknown[]).length;
      const totalMs = build.ms + down.ms;
      return {
        metrics: { build_ms: build.ms, teardown_ms: down.ms, total_ms: totalMs, total_cpu_ms: build.cpuMs + down.cpuMs, build_seamcalls: build.value + 1, teardown_seamcalls: down.value, tds_left: tds, memory_intervals: m.platform.memory.lines.size, rss_mb: rssMb() },
        pass: tds === 0 && build.cpuMs + down.cpuMs < 1000,
      };
    },
  };
}

/** 1,000 TDs created and destroyed by the KVM model on emr-2s-1t (boot + kvm_intel not timed). */
const thousandTds: Bench = {
  name: 'kvm.td-create-destroy-1000-emr-2s-1t',
  target: `1,000 TDs created and destroyed (KVM model, default 16 pages each) on emr-2s-1t, ${CPU_NOTE.replace('N', '5')}`,
  run(): BenchResult {
    const spec = preset('emr-2s-1t');
    if (spec === undefined) {
      throw new Error('no preset emr-2s-1t');
    }
    const m = createMachine({ spec });
    const sched = new Scheduler(m.platform, FIRST_CHOICE, 'timed');
    const cpu0 = m.platform.cpu(0);
    sched.runProgram(cpu0, m.bootKernel(), 'boot', 1e9);
    if (sched.runProgram(cpu0, m.loadKvm(), 'kvm', 1e9) !== 0) {
      throw new Error('bench: kvm_intel tdx=1 failed');
    }
    gc();
    const steps0 = sched.stats.steps;
    // Wall ms of the first and the last 100 TDs: equal when the cost per TD does not grow.
    const marks: number[] = [];
    const r = timeCpuMs(() => {
      let failed = 0;
      for (let i = 0; i < 1000; i++) {
        if (i === 0 || i === 100 || i === 900) {
          marks.push(Number(process.hrtime.bigint() / 1000n) / 1000);
        }
        const c = sched.runProgram(cpu0, m.createTd(), 'td.create', 1e9);
        if (c.ret !== 0 || c.td === undefined) {
          failed++;
          continue;
        }
        if (sched.runProgram(cpu0, m.destroyTd(c.td), 'td.destroy', 1e9) !== 0) {
          failed++;
        }
      }
      marks.push(Number(process.hrtime.bigint() / 1000n) / 1000);
      return failed;
    });
    const [t0 = 0, t100 = 0, t900 = 0, t1000 = 0] = marks;
    return {
      metrics: { wall_ms: r.ms, cpu_ms: r.cpuMs, per_td_us: (r.ms / 1000) * 1000, first100_ms: t100 - t0, last100_ms: t1000 - t900, failed: r.value, sched_steps: sched.stats.steps - steps0, tds_left: m.kernel.kvm.tds.length, rss_mb: rssMb() },
      pass: r.value === 0 && m.kernel.kvm.tds.length === 0 && r.cpuMs < 5000,
    };
  },
};

/**
 * One TD of `gib` GiB built by the KVM model the way a scenario's `td.create memMiB` builds it
 * (KVM on linux-6.18, spr-2s-256g: 2 MiB PAGE.AUGs where GPA and PA allow), then destroyed in
 * KVM 6.16+'s order: every private leaf RANGE.BLOCK, MEM.TRACK, PAGE.REMOVE and one
 * PAGE.WBINVD per 4 KiB page while the HKID is assigned, then the HKID release and the control
 * pages. Only the teardown (`destroyTd`) is timed; boot, kvm_intel tdx=1 and the build are not.
 */
function kvmTdDestroy(gib: number, targetS: number): Bench {
  return {
    name: `kvm.td-destroy-${gib}g-spr-2s-256g`,
    target: `destroyTd of a ${gib} GiB TD (KVM model, linux-6.18, 6.16+ teardown order) on spr-2s-256g, ${CPU_NOTE.replace('N', String(targetS))}`,
    run(): BenchResult {
      const spec = preset('spr-2s-256g');
      if (spec === undefined) {
        throw new Error('no preset spr-2s-256g');
      }
      const m = createMachine({ spec, kernel: 'linux-6.18' });
      const sched = new Scheduler(m.platform, FIRST_CHOICE, 'timed');
      const cpu0 = m.platform.cpu(0);
      sched.runProgram(cpu0, m.bootKernel(), 'boot', 1e9);
      if (sched.runProgram(cpu0, m.loadKvm(), 'kvm', 1e9) !== 0) {
        throw new Error('bench: kvm_intel tdx=1 failed');
      }
      const c = sched.runProgram(cpu0, m.createTd({ pages: (gib * GiB) / 4096 }), 'td.create', 1e9);
      if (c.ret !== 0 || c.td === undefined) {
        throw new Error(`bench: td.create of ${gib} GiB failed: ${c.ret}`);
      }
      const td = c.td;
      gc();
      const steps0 = sched.stats.steps;
      const events0 = m.platform.tracer.eventCount;
      const r = timeCpuMs(() => sched.runProgram(cpu0, m.destroyTd(td), 'td.destroy', 2e9));
      return {
        metrics: { wall_ms: r.ms, cpu_ms: r.cpuMs, ret: r.value, sched_steps: sched.stats.steps - steps0, trace_events: m.platform.tracer.eventCount - events0, tds_left: m.kernel.kvm.tds.length, rss_mb: rssMb() },
        pass: r.value === 0 && m.kernel.kvm.tds.length === 0 && r.cpuMs < targetS * 1000,
      };
    },
  };
}

/** The TD lifecycle benchmarks (registered in bench/main.ts). */
export const tdBenches: Bench[] = [td64g('module.td-64g-aug2m-reclaim', 'reclaim'), td64g('module.td-64g-aug2m-block-track-remove', 'block-track-remove'), thousandTds, kvmTdDestroy(1, 1), kvmTdDestroy(64, 1)];
