/**
 * The simulated machine below the firmware line: CPUs and packages, physical memory with
 * MKTME KeyIDs and integrity, per-CPU caches whose dirty lines carry a KeyID, IPIs and NMIs,
 * simulated time, and the SEAMCALL instruction. Built from a validated PlatformSpec.
 *
 * Memory operations take the CPU that executes them, because that is whose cache the
 * effects land in.
 */
import { ModelBug } from '../base/assert.js';
import { deepFreeze, shareInSnapshots } from '../base/clone.js';
import { FootprintRecorder } from '../base/footprint.js';
import { cpuId, LINE_SIZE, MAX_PA_BITS, nodeId, packageId } from '../base/ids.js';
import type { CpuId } from '../base/ids.js';
import { Prng } from '../base/prng.js';
import { Tracer } from '../base/trace.js';
import { Cache } from './Cache.js';
import type { CacheRange } from './Cache.js';
import { Cpu, cpuidKey } from './Cpu.js';
import type { PendingInterrupt, Vector } from './Cpu.js';
import type { Prog, Step } from './Exec.js';
import {
  MSR_IA32_ARCH_CAPABILITIES,
  MSR_IA32_MKTME_KEYID_PARTITIONING,
  MSR_IA32_MTRRCAP,
  MSR_IA32_PERF_CAPABILITIES,
  MSR_IA32_MISC_ENABLE,
  MSR_IA32_VMX_PROCBASED_CTLS3,
  MSR_IA32_SEAMRR_PHYS_BASE,
  MSR_IA32_SEAMRR_PHYS_MASK,
  MSR_IA32_SMRR_PHYSBASE,
  MSR_IA32_SMRR_PHYSMASK,
  MSR_IA32_TME_ACTIVATE,
  MSR_IA32_TME_CAPABILITY,
  MSR_IA32_TSC_ADJUST,
  MSR_IA32_VMX_BASIC,
  MSR_IA32_WBINVDP,
  MSR_IA32_WBNOINVDP,
  MSR_IA32_XAPIC_DISABLE_STATUS,
} from './Msr.js';
import { PhysicalMemory, POWER_ON_LINE, sameLine } from './PhysicalMemory.js';
import type { LineState } from './PhysicalMemory.js';
import type { SeamEnv, SeamHandler, SeamOutcome, SeamRead, SeamRegs } from './Seam.js';
import type { PlatformSpec } from './spec.js';

/** A write-back that overwrote a newer version of its line: the raw material of corruption. */
export interface StaleWriteback {
  readonly t: number;
  /** CPU whose cache held the stale line. */
  readonly cpu: number;
  readonly lineStart: number;
  readonly lineEnd: number;
  /** KeyID of the stale cached alias. */
  readonly key: number;
  readonly staleVer: number;
  readonly staleWriter: string;
  /** What memory held before (newer). */
  readonly overwrittenVer: number;
  readonly overwrittenKey: number;
  readonly overwrittenWriter: string;
  readonly cause: string;
}

/** Decides whether a named fault site fails now. */
export interface FaultInjector {
  shouldFail(site: string, cpu: number): boolean;
  /** A follow-up choice after a site fired (which status, which line...). Default: option 0. */
  choose?(n: number, label: string): number;
}

/**
 * Extra delivery latency of an interrupt, decided when it is sent. Exploration installs one that
 * makes the latency a choice (scenario/latency.ts): how long the target sits with interrupts off
 * (a critical section, a long SEAMCALL, an NMI handler) or how slow the delivery is, measured
 * against the deadlines that matter. `Infinity` means never taken.
 */
export interface InterruptLatency {
  /** Extra nanoseconds for `vector` sent to `to`, and the latency class chosen (0 = nominal). */
  extraNs(to: Cpu, vector: Vector): { readonly ns: number; readonly cls: number };
}

/** Statuses the `seamcall.status` fault site can make a SEAMCALL return. */
export const INJECTED_SEAMCALL_STATUSES: readonly bigint[] = [
  0x8000020200000000n, // TDX_SYS_BUSY
  0x8000020300000000n, // TDX_RND_NO_ENTROPY
  0x8000020000000000n, // TDX_OPERAND_BUSY
  0xc000010000000000n, // TDX_OPERAND_INVALID
];

/** Injects a fixed number of failures per site (the server's fault.inject). */
export class CountingFaults implements FaultInjector {
  private readonly counts = new Map<string, number>();
  /** Arm `count` failures at `site`. */
  arm(site: string, count: number): void {
    this.counts.set(site, (this.counts.get(site) ?? 0) + count);
  }
  /** Remaining armed failures per site. */
  armed(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
  shouldFail(site: string): boolean {
    const n = this.counts.get(site) ?? 0;
    if (n > 0) {
      this.counts.set(site, n - 1);
      return true;
    }
    return false;
  }
}

/**
 * The scheduler, as code running on a CPU may ask it: whether the next steps of this CPU would
 * all be taken on its fast path (nothing else can run and nobody watches the steps), and if so
 * to account for such steps without the program yielding them. Set by the running scheduler for
 * the duration of `run()`.
 */
export interface FastStepper {
  /**
   * True if the next `steps` steps of `cpu` (the running CPU) would each be taken right after
   * the previous one, with no choice, no interrupt, no other CPU and no step listener, and
   * within the step budget.
   */
  canFastStep(cpu: Cpu, steps: number): boolean;
  /** Account for one step `cpu` paused at (a tick or a yield) and resumed from on the fast path. */
  fastStep(cpu: Cpu, step: Step): void;
}

/** Options for building a platform. */
export interface PlatformOptions {
  readonly seed?: number;
  readonly tracer?: Tracer;
  readonly faults?: FaultInjector;
}

const TD_FILL_DEFAULT = 0xa5;

/** The simulated hardware. */
export class Platform {
  readonly cpus: Cpu[] = [];
  readonly memory = new PhysicalMemory();
  readonly tracer: Tracer;
  faults: FaultInjector;
  /** Interrupt latency chooser (exploration), or none: nominal latency. */
  latency: InterruptLatency | undefined = undefined;
  readonly prng: Prng;
  readonly staleWritebacks: StaleWriteback[] = [];
  /**
   * Footprints of the running step (exploration with partial-order reduction): memory lines,
   * each CPU's cache (`cache`, by CPU), pending interrupts (`pending`, by CPU), the write
   * version (`ver`), stale write-backs (`stale`), the module (`module`, any SEAMCALL).
   */
  readonly fp = new FootprintRecorder();
  /** CPU whose code is running now (set by the scheduler). */
  current: Cpu;
  /** The scheduler running this platform's CPUs, while it runs (see FastStepper). */
  stepper: FastStepper | undefined = undefined;
  /** The SEAM module, if one is attached (machine/ wires it). */
  seamHandler: SeamHandler | undefined;
  /** PA bit where the KeyID field starts (MAX_PA 52 minus KeyID bits). */
  readonly keyIdShift: number;
  private verNext = 0;
  /**
   * KeyID of the cached stores that took the open direct-write version (`storeFill` with
   * `shareVersion`), or -1 when no cached store holds it. See `sharedVersion()`.
   */
  private sharedVersionKey = -1;
  /** CPUs whose caches may hold lines (a superset; pruned lazily). Keeps bulk ops O(busy CPUs). */
  private readonly cachedCpus = new Set<Cpu>();
  /** CPUs that received an interrupt since the scheduler last looked. */
  readonly irqTargets = new Set<Cpu>();
  private readonly rdrand: Prng;
  /** The step of entering SEAM (one object: the spec is frozen). */
  private readonly seamcallTick: Step;
  /** SEAM environments, per LP (see seamEnv). */
  private readonly seamEnvs: (SeamEnv | undefined)[] = [];

  constructor(
    readonly spec: PlatformSpec,
    opts: PlatformOptions = {},
  ) {
    deepFreeze(spec);
    this.prng = new Prng(opts.seed ?? 0);
    this.rdrand = this.prng.fork('rdrand');
    this.seamcallTick = { op: 'tick', ns: spec.costs.seamcallNs, label: 'seamcall' };
    this.tracer = opts.tracer ?? new Tracer();
    this.faults = opts.faults ?? new CountingFaults();
    this.keyIdShift = MAX_PA_BITS - spec.keyids.bits;
    const t = spec.topology;
    const perPkg = t.coresPerPackage * t.threadsPerCore;
    const nodes = [...new Set(spec.memory.nodes.map((n) => n.node))].sort((a, b) => a - b);
    for (let i = 0; i < t.packages * perPkg; i++) {
      const pkg = Math.floor(i / perPkg);
      const inPkg = i % perPkg;
      const core = Math.floor(inPkg / t.threadsPerCore);
      const thread = inPkg % t.threadsPerCore;
      const apic = (pkg << 8) | (core << 1) | thread;
      const node = nodes.length === 0 ? 0 : (nodes[pkg % nodes.length] ?? 0);
      const cpu = new Cpu(cpuId(i), packageId(pkg), core, thread, apic, nodeId(node), new Cache(spec.cache.linesPerCpu));
      this.initMsrs(cpu);
      cpu.online = !t.offlineAtBoot.includes(i);
      this.cpus.push(cpu);
    }
    for (const o of spec.msrOverrides) {
      this.cpus[o.cpu]?.msrs.set(o.msr, BigInt(o.value));
    }
    this.initCpuidXor(spec);
    this.current = this.cpus[0] as Cpu;
  }

  /** Per CPU, the CPUID bits `cpuidOverrides` make read differently there (Cpu.cpuidXor). */
  private initCpuidXor(spec: PlatformSpec): void {
    const REG = { eax: 0, ebx: 1, ecx: 2, edx: 3 } as const;
    const byCpu = new Map<number, Map<string, [number, number, number, number]>>();
    for (const o of spec.cpuidOverrides) {
      const m = byCpu.get(o.cpu) ?? new Map<string, [number, number, number, number]>();
      byCpu.set(o.cpu, m);
      const key = cpuidKey(o.leaf, o.subleaf ?? 0xffff_ffff);
      const regs = m.get(key) ?? [0, 0, 0, 0];
      regs[REG[o.reg]] = (regs[REG[o.reg]] ^ Number(BigInt(o.xor))) >>> 0;
      m.set(key, regs);
    }
    for (const [cpu, m] of byCpu) {
      const c = this.cpus[cpu];
      if (c !== undefined) {
        c.cpuidXor = shareInSnapshots(m);
      }
    }
  }

  private initMsrs(cpu: Cpu): void {
    const s = this.spec;
    const m = cpu.msrs;
    m.set(MSR_IA32_TSC_ADJUST, 0n);
    if (this.isAmd) {
      return;
    }
    m.set(MSR_IA32_MKTME_KEYID_PARTITIONING, (BigInt(s.keyids.tdx) << 32n) | BigInt(s.keyids.mktme));
    m.set(MSR_IA32_TME_CAPABILITY, 0x0000_0004_0000_0003n | (BigInt(s.keyids.bits) << 36n));
    m.set(MSR_IA32_TME_ACTIVATE, 0x2n | (BigInt(s.keyids.bits) << 32n));
    m.set(MSR_IA32_WBINVDP, BigInt(s.cache.wbinvdSubBlocks));
    m.set(MSR_IA32_WBNOINVDP, BigInt(s.cache.wbinvdSubBlocks));
    m.set(MSR_IA32_XAPIC_DISABLE_STATUS, 1n);
    m.set(MSR_IA32_ARCH_CAPABILITIES, 0x0c0_e0ebn);
    m.set(MSR_IA32_PERF_CAPABILITIES, 0x2000n);
    m.set(MSR_IA32_MTRRCAP, 0x8000n | 0x800n | 0xan);
    m.set(MSR_IA32_VMX_BASIC, 0x00da_0400_0000_0012n);
    // Only the bits TDH.SYS.INIT checks, set so that every release's checks pass (no source gives
    // a real part's whole value): IA32_MISC_ENABLE PERFMON_AVAILABLE (bit 7) with BTS_UNAVAILABLE
    // (11) and LIMIT_CPUID_MAXVAL (22) clear; IA32_VMX_PROCBASED_CTLS3 allowing bits 1, 2, 3, 5
    // and 7 (what 1.5.01's TD and L2 VMCS masks need). A scenario's msrOverrides replace them.
    // @see intel/tdx-module 72d8cff and niooss-ledger/tdx-module f99767b (1.5.05)
    //   src/common/x86_defs/msr_defs.h ia32_misc_enable_t, vmcs_defs.h PROCBASED_CTLS3_*
    m.set(MSR_IA32_MISC_ENABLE, 0x80n);
    m.set(MSR_IA32_VMX_PROCBASED_CTLS3, 0xaen);
    const sr = s.seamrr;
    m.set(MSR_IA32_SEAMRR_PHYS_BASE, BigInt(sr.base) | (sr.enabled ? 0x8n : 0n));
    const mask = sr.size === 0 ? 0n : (((1n << 52n) - 1n) & ~(BigInt(sr.size) - 1n)) & ~0xfffn;
    m.set(MSR_IA32_SEAMRR_PHYS_MASK, mask | (sr.enabled ? 1n << 11n : 0n) | (sr.locked ? 1n << 10n : 0n));
    const sm = s.smrr;
    m.set(MSR_IA32_SMRR_PHYSBASE, BigInt(sm.base) | 0x6n);
    const smask = sm.size === 0 ? 0n : (((1n << 52n) - 1n) & ~(BigInt(sm.size) - 1n)) & 0xffff_f000n;
    m.set(MSR_IA32_SMRR_PHYSMASK, smask | (sm.valid ? 1n << 11n : 0n));
  }

  // ---------------------------------------------------------------- topology and KeyIDs

  /** True on an AMD SME part (no TDX, the C-bit is KeyID 1). */
  get isAmd(): boolean {
    return this.spec.cpuModel === 'amd-sme';
  }
  /** Sapphire and Emerald Rapids have the TDX partial-write erratum (X86_BUG_TDX_PW_MCE). */
  get hasPartialWriteErratum(): boolean {
    return this.spec.cpuModel === 'sapphire-rapids' || this.spec.cpuModel === 'emerald-rapids';
  }
  /** SEAMRR configured, enabled and locked: SEAMCALL does not #GP. */
  get seamEnabled(): boolean {
    const s = this.spec.seamrr;
    return !this.isAmd && s.enabled && s.locked && s.size > 0;
  }
  /** First TDX private KeyID (NUM_MKTME_KIDS + 1). */
  get firstPrivateKey(): number {
    return this.spec.keyids.mktme + 1;
  }
  /** True if `key` is a TDX private KeyID. */
  isPrivateKey(key: number): boolean {
    return key >= this.firstPrivateKey && key < this.firstPrivateKey + this.spec.keyids.tdx;
  }
  /** Number of packages. */
  get packageCount(): number {
    return this.spec.topology.packages;
  }
  /** The CPU with id `id`. */
  cpu(id: number): Cpu {
    const c = this.cpus[id];
    if (c === undefined) {
      // Not assert(): its message would be built on every call of this hot path.
      throw new ModelBug(`no CPU ${id}`);
    }
    return c;
  }
  /** Place a KeyID in a physical address's KeyID bits. */
  withKeyId(pa: number, key: number): number {
    return pa + key * 2 ** this.keyIdShift;
  }
  /** Split a keyed address into address and KeyID. */
  splitKeyId(hpa: number): { pa: number; key: number } {
    const unit = 2 ** this.keyIdShift;
    const key = Math.floor(hpa / unit) % 2 ** this.spec.keyids.bits;
    return { pa: hpa - key * unit - Math.floor(hpa / 2 ** MAX_PA_BITS) * 2 ** MAX_PA_BITS, key };
  }

  // ---------------------------------------------------------------- time

  /** Simulated time of the running CPU. */
  get nowNs(): number {
    return this.current.clockNs;
  }
  /**
   * The version of a cached store: strictly newer than every write before it. What a dirty
   * cache line holds must compare older than anything written to memory after it.
   */
  nextVersion(): number {
    this.fp.w('ver');
    if (this.sharedVersionKey >= 0) {
      // A store took verNext + 1 (sharedVersion): skip it, this store is newer.
      this.verNext++;
      this.sharedVersionKey = -1;
    }
    return ++this.verNext;
  }

  /**
   * The version of a write that goes straight to memory (MOVDIR64B, poison): newer than every
   * cached store so far, but not a new epoch, so that back-to-back direct writes (TDMR.INIT's
   * PAMT slices, a TD's pages) share a version and their ranges coalesce.
   */
  directVersion(key: number): number {
    if (this.sharedVersionKey >= 0 && this.sharedVersionKey !== key) {
      // A dirty line under another KeyID holds this version: write newer than it, so that its
      // write-back over this write is recognised as stale.
      this.fp.w('ver');
      this.verNext++;
      this.sharedVersionKey = -1;
    } else {
      this.fp.r('ver');
    }
    return this.verNext + 1;
  }

  /**
   * The version of a cached store that shares the direct writes' version (not a new epoch): the
   * module's long runs of MOVDIR64B with a small store after each (TDMR.INIT's PAMT_2M entries)
   * then keep one version, and the PAMT stays one memory range instead of one per call. Stale
   * detection is unchanged: later cached stores, and direct writes through another KeyID, take a
   * newer version; a later direct write through the same KeyID takes this one but also drops
   * every cached copy of the lines it writes, so no write-back can land on it.
   */
  sharedVersion(key: number): number {
    const ver = this.directVersion(key);
    this.fp.w('ver');
    this.sharedVersionKey = key;
    return ver;
  }

  // ---------------------------------------------------------------- memory and caches

  private lineRange(pa: number, len: number): [number, number] {
    if (!(Number.isSafeInteger(pa) && Number.isSafeInteger(len) && pa >= 0 && len >= 0)) {
      throw new ModelBug(`bad range ${pa}+${len}`); // not assert(): hot path, lazy message
    }
    return [Math.floor(pa / LINE_SIZE), Math.ceil((pa + len) / LINE_SIZE)];
  }

  /** Apply a range leaving a cache to memory (dirty ones only), recording stale overwrites. */
  private writeBack(cpu: Cpu, r: CacheRange, cause: string): void {
    if (!r.seg.dirty) {
      return;
    }
    const td = this.isPrivateKey(r.key);
    const st: LineState = { ver: r.seg.ver, key: r.key, td, poison: false, writer: r.seg.writer, fill: r.seg.fill };
    let stale = false;
    const olds = r.end - r.start === 1 ? [{ start: r.start, end: r.end, value: this.memory.lineState(r.start) }] : this.memory.ranges(r.start, r.end);
    for (const old of olds) {
      if (old.value.ver > r.seg.ver) {
        stale = true;
        const w: StaleWriteback = {
          t: this.nowNs,
          cpu: cpu.id,
          lineStart: old.start,
          lineEnd: old.end,
          key: r.key,
          staleVer: r.seg.ver,
          staleWriter: r.seg.writer,
          overwrittenVer: old.value.ver,
          overwrittenKey: old.value.key,
          overwrittenWriter: old.value.writer,
          cause,
        };
        this.fp.w('stale');
        if (this.staleWritebacks.length < 10_000) {
          this.staleWritebacks.push(w);
        }
      }
    }
    this.fp.memW(r.start, r.end);
    const first = olds[0];
    if (olds.length !== 1 || first === undefined || st.fill < 0 || !sameLine(first.value, st)) {
      // (Memory already holding exactly this, e.g. a module store after its own MOVDIR64B of the
      // line, needs no write.)
      this.memory.write(r.start, r.end, st, r.data);
    }
    this.tracer.emit({
      kind: 'cache.writeback',
      t: this.nowNs,
      cpu: cpu.id,
      line: r.start,
      lines: r.end - r.start,
      keyId: r.key,
      version: r.seg.ver,
      stale,
      cause: cause as 'evict',
    });
  }

  private evict(cpu: Cpu): void {
    this.fp.w('cache', cpu.id);
    for (const r of cpu.cache.evictOverflow()) {
      this.writeBack(cpu, r, 'evict');
    }
  }

  /** Drop (line, key) copies from every cache but `except` (a newer write supersedes them). */
  private invalidateOthers(except: Cpu | undefined, key: number, l0: number, l1: number, writeBackDirty: boolean): void {
    for (const c of this.cachedCpus) {
      if (c.cache.empty) {
        this.cachedCpus.delete(c);
        continue;
      }
      if (c === except) {
        continue;
      }
      this.fp.w('cache', c.id);
      const removed = c.cache.remove(key, l0, l1);
      if (writeBackDirty) {
        for (const r of removed) {
          this.writeBack(c, r, 'clflush');
        }
      }
    }
  }

  /** The bytes a read through `key` sees for one line, or 'poison'. */
  private visibleLine(key: number, line: number): Uint8Array | 'poison' {
    // Any CPU's cache may hold the line (an empty one may fill before this read): all of them.
    this.fp.r('cache');
    for (const c of this.cachedCpus) {
      if (c.cache.empty) {
        continue;
      }
      const hit = c.cache.lookup(key, line);
      if (hit !== undefined) {
        return hit.seg.fill >= 0 ? new Uint8Array(LINE_SIZE).fill(hit.seg.fill) : (hit.bytes ?? new Uint8Array(LINE_SIZE));
      }
    }
    this.fp.memR(line, line + 1);
    const st = this.memory.lineState(line);
    if (st.poison) {
      return 'poison';
    }
    if (this.isPrivateKey(key)) {
      // Integrity check: the line must be TD-owned and written with this very key.
      return st.td && st.key === key ? this.memory.lineBytes(line, st) : 'poison';
    }
    if (st.td) {
      // Host reads of TD-owned lines return zeros (no #MC on non-erratum parts).
      return new Uint8Array(LINE_SIZE);
    }
    if (st.key !== key) {
      // Decrypting with the wrong shared key: deterministic garbage.
      const g = new Uint8Array(LINE_SIZE);
      for (let i = 0; i < LINE_SIZE; i++) {
        g[i] = (line * 131 + i * 17 + st.key * 7 + key * 3 + st.ver) & 0xff;
      }
      return g;
    }
    return this.memory.lineBytes(line, st);
  }

  /** Load [pa, pa+len) through `key` on `cpu`. Poison consumption is reported, not thrown. */
  load(cpu: Cpu, pa: number, len: number, key: number): SeamRead {
    const [l0, l1] = this.lineRange(pa, len);
    const out = new Uint8Array(len);
    for (let l = l0; l < l1; l++) {
      const b = this.visibleLine(key, l);
      if (b === 'poison') {
        const poisonPa = Math.max(l * LINE_SIZE, pa);
        this.tracer.emit({ kind: 'mem.poison', t: this.nowNs, cpu: cpu.id, pa: poisonPa, keyId: key, reason: 'read' });
        return { ok: false, poisonPa };
      }
      const lineBase = l * LINE_SIZE;
      const from = Math.max(pa, lineBase);
      const to = Math.min(pa + len, lineBase + LINE_SIZE);
      out.set(b.subarray(from - lineBase, to - lineBase), from - pa);
    }
    return { ok: true, bytes: out };
  }

  /** Cached store of explicit bytes through `key` (write-allocate; partial lines merged). */
  store(cpu: Cpu, pa: number, data: Uint8Array, key: number, writer: string): void {
    const [l0, l1] = this.lineRange(pa, data.length);
    const ver = this.nextVersion();
    if (data.length === LINE_SIZE && pa % LINE_SIZE === 0 && cpu.cache.restoreAlone(key, l0, ver, writer, data.slice())) {
      // One whole line this CPU already holds on its own (e.g. a control-structure counter).
      this.cachedCpus.add(cpu);
      this.tracer.memWrite(this.nowNs, cpu.id, pa, data.length, key, 'store');
      return;
    }
    const lines = new Map<number, Uint8Array>();
    for (let l = l0; l < l1; l++) {
      const lineBase = l * LINE_SIZE;
      let buf: Uint8Array;
      if (pa <= lineBase && pa + data.length >= lineBase + LINE_SIZE) {
        buf = data.slice(lineBase - pa, lineBase - pa + LINE_SIZE);
      } else {
        const cur = this.visibleLine(key, l);
        buf = cur === 'poison' ? new Uint8Array(LINE_SIZE) : cur.slice();
        const from = Math.max(pa, lineBase);
        const to = Math.min(pa + data.length, lineBase + LINE_SIZE);
        buf.set(data.subarray(from - pa, to - pa), from - lineBase);
      }
      lines.set(l, buf);
    }
    this.invalidateOthers(cpu, key, l0, l1, false);
    this.fp.w('cache', cpu.id);
    cpu.cache.insert(key, l0, l1, ver, true, writer, -1, lines);
    this.cachedCpus.add(cpu);
    this.evict(cpu);
    this.tracer.memWrite(this.nowNs, cpu.id, pa, data.length, key, 'store');
  }

  /**
   * Cached bulk store of a fill byte over a line-aligned range. Only what fits stays in the
   * cache; the rest counts as already written back (it is the newest version, so harmless).
   * `shareVersion`: take the direct writes' version (`sharedVersion()`) instead of a new one.
   */
  storeFill(cpu: Cpu, pa: number, len: number, fill: number, key: number, writer: string, shareVersion = false): void {
    const [l0, l1] = this.lineRange(pa, len);
    const ver = shareVersion ? this.sharedVersion(key) : this.nextVersion();
    if (shareVersion && l1 === l0 + 1 && cpu.cache.holdsLast(key, l0, ver, writer, fill)) {
      // The line as this CPU's last store left it, and only here (one CPU at most holds a line
      // under one KeyID): nothing changes.
      this.fp.w('cache', cpu.id);
      this.tracer.memWrite(this.nowNs, cpu.id, pa, len, key, 'store-fill');
      return;
    }
    this.invalidateOthers(cpu, key, l0, l1, false);
    this.fp.w('cache', cpu.id);
    const cap = cpu.cache.capacityLines;
    const split = Math.max(l0, l1 - cap);
    if (split > l0) {
      cpu.cache.remove(key, l0, split);
      this.writeBack(cpu, { key, start: l0, end: split, seg: { ver, dirty: true, writer, fill, seq: 0 } }, 'bulk');
    }
    cpu.cache.insert(key, split, l1, ver, true, writer, fill);
    this.cachedCpus.add(cpu);
    this.evict(cpu);
    this.tracer.memWrite(this.nowNs, cpu.id, pa, len, key, 'store-fill');
  }

  /**
   * MOVDIR64B over a 64-byte-aligned range: direct stores that bypass the cache, invalidate
   * same-key copies everywhere, and set the integrity state to the writing key. Aliases under
   * other KeyIDs stay in caches.
   */
  movdir64b(cpu: Cpu, pa: number, len: number, key: number, content: number | Uint8Array, writer: string): void {
    if (pa % LINE_SIZE !== 0 || len % LINE_SIZE !== 0) {
      throw new ModelBug(`MOVDIR64B range not line aligned: ${pa}+${len}`); // lazy message (hot path)
    }
    const [l0, l1] = this.lineRange(pa, len);
    if (l0 === l1) {
      return;
    }
    const ver = this.directVersion(key);
    this.invalidateOthers(undefined, key, l0, l1, false);
    const td = this.isPrivateKey(key);
    this.fp.memW(l0, l1);
    if (typeof content === 'number') {
      this.memory.write(l0, l1, { ver, key, td, poison: false, writer, fill: content });
    } else {
      const data = new Map<number, Uint8Array>();
      for (let l = l0; l < l1; l++) {
        const off = (l - l0) * LINE_SIZE;
        data.set(l, content.slice(off, off + LINE_SIZE));
      }
      this.memory.write(l0, l1, { ver, key, td, poison: false, writer, fill: -1 }, data);
    }
    this.tracer.memWrite(this.nowNs, cpu.id, pa, len, key, 'movdir64b');
  }

  /**
   * An uncached partial write (MOVNTI, UC/WC, DMA). On erratum parts a partial write to a
   * TD-owned line poisons it silently.
   */
  partialWrite(cpu: Cpu, pa: number, data: Uint8Array, key: number, writer: string): void {
    const [l0, l1] = this.lineRange(pa, data.length);
    this.invalidateOthers(undefined, key, l0, l1, true);
    this.fp.w('cache', cpu.id);
    this.fp.memW(l0, l1);
    for (let l = l0; l < l1; l++) {
      const st = this.memory.lineState(l);
      if (st.td && this.hasPartialWriteErratum) {
        this.memory.write(l, l + 1, { ...st, poison: true, ver: this.directVersion(key), writer });
        this.tracer.emit({ kind: 'mem.poison', t: this.nowNs, cpu: cpu.id, pa: l * LINE_SIZE, keyId: key, reason: 'partial write to TD-owned line (erratum)' });
      }
    }
    // Non-erratum (or non-TD) lines: behave as a store that reaches memory at once.
    this.store(cpu, pa, data, key, writer);
    for (const r of cpu.cache.remove(key, l0, l1)) {
      const cur = this.memory.lineState(r.start);
      if (!cur.poison) {
        this.writeBack(cpu, r, 'bulk');
      }
    }
  }

  /** CLFLUSH over a range through `key`: write back and invalidate in every cache. */
  clflush(cpu: Cpu, pa: number, len: number, key: number): void {
    const [l0, l1] = this.lineRange(pa, len);
    this.invalidateOthers(undefined, key, l0, l1, true);
    this.tracer.memWrite(this.nowNs, cpu.id, pa, len, key, 'clflush');
  }

  /** True if some CPU's cache holds a line of [pa, pa+len) under `key` (clean or dirty). */
  cachedAnywhere(pa: number, len: number, key: number): boolean {
    const [l0, l1] = this.lineRange(pa, len);
    this.fp.r('cache');
    for (const c of this.cachedCpus) {
      if (!c.cache.empty && c.cache.holds(key, l0, l1)) {
        return true;
      }
    }
    return false;
  }

  /**
   * CLFLUSH of a range that no cache holds a line of under `key` (`cachedAnywhere()` false):
   * `clflush()` would write back and drop nothing, and leave only its trace event.
   */
  clflushUncached(cpu: Cpu, pa: number, len: number, key: number): void {
    this.tracer.memWrite(this.nowNs, cpu.id, pa, len, key, 'clflush');
  }

  /** WBINVD on `cpu`: write back every dirty line, invalidate all. @returns dirty lines. */
  wbinvdNow(cpu: Cpu): number {
    this.fp.w('cache', cpu.id);
    let dirty = 0;
    for (const r of cpu.cache.removeAll()) {
      if (r.seg.dirty) {
        dirty += r.end - r.start;
        this.writeBack(cpu, r, 'wbinvd');
      }
    }
    cpu.lastWbinvdNs = this.nowNs;
    this.tracer.emit({ kind: 'cache.flush', t: this.nowNs, cpu: cpu.id, op: 'wbinvd', dirtyLines: dirty });
    return dirty;
  }

  /** WBNOINVD on `cpu`: write back every dirty line, keep them cached clean. */
  wbnoinvdNow(cpu: Cpu): number {
    this.fp.w('cache', cpu.id);
    let dirty = 0;
    for (const r of cpu.cache.cleanAll()) {
      dirty += r.end - r.start;
      this.writeBack(cpu, r, 'wbnoinvd');
    }
    this.tracer.emit({ kind: 'cache.flush', t: this.nowNs, cpu: cpu.id, op: 'wbnoinvd', dirtyLines: dirty });
    return dirty;
  }

  /** WBINVD as an instruction: the flush, then its cost in simulated time. */
  *wbinvd(cpu: Cpu): Prog<number> {
    const dirty = this.wbinvdNow(cpu);
    yield { op: 'tick', ns: this.spec.costs.wbinvdBaseNs + dirty * this.spec.costs.wbinvdPerDirtyLineNs, label: 'wbinvd' };
    return dirty;
  }

  /**
   * WBINVD as an instruction that takes its time: the dirty lines are written back in
   * `cache.wbinvdSubBlocks` parts, each with its share of the cost and a preemption point
   * (`label`) after it. Another CPU may run (and, in kexec, jump) between the parts; lines
   * not yet written back stay dirty in this cache. The lines go out in address order per
   * KeyID; the whole cache is invalid at the end.
   * @see Intel SDM WBINVD ("may take a long time"); MSR_IA32_WBINVDP (the sub-blocks)
   */
  *wbinvdBlocks(cpu: Cpu, label: string): Prog<number> {
    const n = this.spec.cache.wbinvdSubBlocks;
    const dirtyRanges = cpu.cache.dirtyRanges();
    const total = dirtyRanges.reduce((acc, r) => acc + (r.end - r.start), 0);
    const c = this.spec.costs;
    let done = 0;
    let idx = 0;
    let off = 0;
    for (let b = 0; b < n; b++) {
      this.fp.w('cache', cpu.id);
      const quota = Math.ceil(((b + 1) * total) / n) - done;
      let left = quota;
      while (left > 0 && idx < dirtyRanges.length) {
        const r = dirtyRanges[idx] as CacheRange;
        const start = r.start + off;
        const end = Math.min(r.end, start + left);
        for (const piece of cpu.cache.remove(r.key, start, end)) {
          if (piece.seg.dirty) {
            this.writeBack(cpu, piece, 'wbinvd');
          }
        }
        left -= end - start;
        if (end === r.end) {
          idx++;
          off = 0;
        } else {
          off = end - r.start;
        }
      }
      done += quota;
      yield { op: 'tick', ns: Math.floor(c.wbinvdBaseNs / n) + quota * c.wbinvdPerDirtyLineNs, label };
      if (b < n - 1) {
        yield { op: 'yield', label };
      }
    }
    // The clean lines are invalidated too (nothing to write back).
    this.fp.w('cache', cpu.id);
    for (const r of cpu.cache.removeAll()) {
      if (r.seg.dirty) {
        this.writeBack(cpu, r, 'wbinvd');
      }
    }
    cpu.lastWbinvdNs = this.nowNs;
    this.tracer.emit({ kind: 'cache.flush', t: this.nowNs, cpu: cpu.id, op: 'wbinvd', dirtyLines: total });
    return total;
  }

  /** Evict up to `lines` LRU lines from `cpu`'s cache (early write-back fault). */
  evictLines(cpu: Cpu, lines: number): void {
    this.fp.w('cache', cpu.id);
    for (const r of cpu.cache.evictOverflow(cpu.cache.capacityLines - Math.max(0, cpu.cache.lineCount - lines))) {
      this.writeBack(cpu, r, 'evict');
    }
  }

  /** Memory state of the line holding `pa` (for checkers and tests). */
  lineAt(pa: number): LineState {
    return this.memory.lineState(Math.floor(pa / LINE_SIZE)) ?? POWER_ON_LINE;
  }

  // ---------------------------------------------------------------- interrupts

  /** Send an IPI (or NMI) from `from` to `to`; it arrives after the platform latency. */
  sendIpi(from: Cpu, to: Cpu, vector: Vector, payload?: () => Prog): void {
    const nmi = vector === 'NMI';
    const tuned = to.lateVector.get(vector);
    // A tuned delay (a scenario's lateRebootIpi) wins over the explorer's latency choice.
    const extra = tuned !== undefined ? { ns: tuned, cls: 0 } : (this.latency?.extraNs(to, vector) ?? { ns: 0, cls: 0 });
    const arrivalNs = from.clockNs + (nmi ? this.spec.costs.nmiLatencyNs : this.spec.costs.ipiLatencyNs) + extra.ns;
    const base = { vector, arrivalNs, from: from.id, ...(extra.cls !== 0 ? { latencyClass: extra.cls } : {}) };
    const irq: PendingInterrupt = payload === undefined ? base : { ...base, payload };
    this.fp.w('pending', to.id);
    to.pending.push(irq);
    this.irqTargets.add(to);
    this.tracer.emit({ kind: 'ipi.send', t: from.clockNs, cpu: from.id, to: to.id, vector, nmi });
  }

  // ---------------------------------------------------------------- SEAMCALL

  /**
   * Execute SEAMCALL on `cpu`: #UD outside VMX operation, #GP when SEAM is not enabled,
   * VMfailInvalid when no module is loaded, otherwise the module's handler.
   */
  *seamcall(cpu: Cpu, regs: SeamRegs): Prog<SeamOutcome> {
    const leaf = Number(regs.rax & 0xffffn);
    cpu.lastSeamcallNs = this.nowNs;
    const fault = !cpu.vmx ? 'UD' : !this.seamEnabled ? 'GP' : !this.spec.tdxModule.loaded || this.seamHandler === undefined ? 'VMFAILINVALID' : undefined;
    if (fault !== undefined) {
      this.tracer.emit({ kind: 'seamcall.fault', t: this.nowNs, cpu: cpu.id, leaf, fault });
      yield { op: 'tick', ns: this.spec.costs.stepNs };
      return { kind: fault };
    }
    const handler = this.seamHandler as SeamHandler;
    // The module's state is one variable: every SEAMCALL may read and write it.
    this.fp.w('module');
    if (this.faults.shouldFail('seamcall.status', cpu.id)) {
      // An injected status: the call never reaches the module (fault site "seamcall.status").
      const k = this.faults.choose?.(INJECTED_SEAMCALL_STATUSES.length, 'seamcall.status') ?? 0;
      const status = INJECTED_SEAMCALL_STATUSES[k] ?? 0n;
      this.tracer.seamcallExit(this.nowNs, cpu.id, leaf, status);
      yield { op: 'tick', ns: this.spec.costs.seamcallNs, label: 'seamcall' };
      return { kind: 'ok', regs: { ...regs, rax: status as SeamRegs['rax'] } };
    }
    this.tracer.seamcallEnter(this.nowNs, cpu.id, leaf, regs.rax);
    cpu.inSeam = true;
    yield this.seamcallTick;
    const out = yield* handler.seamcall({ ...regs }, this.seamEnv(cpu));
    cpu.inSeam = false;
    this.tracer.seamcallExit(this.nowNs, cpu.id, leaf, out.rax);
    return { kind: 'ok', regs: out };
  }

  /**
   * `n` SEAMCALLs of one leaf on `cpu`, back to back, the k-th with RCX = `regs.rcx + k *
   * rcxStride` (KVM writing a huge leaf back page by page), taken in one go when no one could
   * tell them from `n` calls of `seamcall()`: the CPU may issue them (VMX, SEAM, module), no
   * fault can be injected at the `seamcall.status` site, no footprints are recorded, the
   * scheduler would run all their steps on its fast path (FastStepper.canFastStep) and the module
   * says each would succeed (SeamHandler.repeat). Each call then leaves what `seamcall()` leaves:
   * its enter and exit events at the same times, its steps (the instruction's tick, the module's
   * steps) accounted for by the scheduler, the module's effects in order, `lastSeamcallNs` of its
   * start. Status TDX_SUCCESS for all; the last call's output registers (SeamRepeat.out) are
   * written into `regs`.
   *
   * With `until`, the run is the calls up to and including the first whose output registers
   * satisfy it (the kernel's `do { ... } while (next < end)` loops), `n` being an upper bound;
   * nothing is done unless the module vouches for all of them.
   * @returns the number of calls made: 0 if none was (issue them one by one)
   */
  seamcallRepeat(cpu: Cpu, regs: SeamRegs, n: number, rcxStride: bigint, until?: (out: SeamRegs) => boolean): number {
    const handler = this.seamHandler;
    const stepper = this.stepper;
    if (n < 1 || stepper === undefined || handler?.repeat === undefined || cpu !== this.current) {
      return 0;
    }
    if (!cpu.vmx || !this.seamEnabled || !this.spec.tdxModule.loaded || this.fp.on) {
      return 0;
    }
    if (!(this.faults instanceof CountingFaults) || (this.faults.armed()['seamcall.status'] ?? 0) > 0) {
      return 0;
    }
    const rep = handler.repeat(regs, n, rcxStride, this.seamEnv(cpu));
    if (rep === undefined) {
      return 0;
    }
    const vouched = rep.count ?? n;
    let calls = until === undefined ? n : 0;
    if (until !== undefined && rep.out !== undefined) {
      const probe = { ...regs };
      for (let k = 0; k < vouched; k++) {
        rep.out(k, probe);
        if (until(probe)) {
          calls = k + 1;
          break;
        }
      }
    }
    if (calls < 1 || calls > vouched || !stepper.canFastStep(cpu, calls * (1 + rep.steps.length))) {
      return 0;
    }
    const leaf = Number(regs.rax & 0xffffn);
    const steps = rep.steps;
    for (let k = 0; k < calls; k++) {
      const rax = regs.rax;
      cpu.lastSeamcallNs = this.nowNs;
      this.tracer.seamcallEnter(this.nowNs, cpu.id, leaf, rax);
      stepper.fastStep(cpu, this.seamcallTick);
      for (let j = 0; j < steps.length; j++) {
        stepper.fastStep(cpu, steps[j] as Step);
      }
      rep.apply(k);
      this.tracer.seamcallExit(this.nowNs, cpu.id, leaf, 0n);
    }
    rep.out?.(calls - 1, regs);
    regs.rax = 0n as SeamRegs['rax'];
    return calls;
  }

  /** SEAM's view of the machine from LP `cpu` (one object per LP, made on first use). */
  seamEnv(cpu: Cpu): SeamEnv {
    let env = this.seamEnvs[cpu.id];
    if (env === undefined) {
      env = new LpSeamEnv(this, cpu);
      this.seamEnvs[cpu.id] = env;
    }
    return env;
  }

  /** RDRAND/RDSEED as SEAM sees it (the platform's seeded stream). */
  seamRandom64(): bigint {
    return (BigInt(this.rdrand.next32()) << 32n) | BigInt(this.rdrand.next32());
  }
}

/**
 * SEAM's view of the machine from one LP. A class holding the platform and the CPU rather than
 * closures over them, so that snapshots (base/clone.ts) copy it along with the platform and one
 * instance per LP can be kept instead of a dozen closures per SEAMCALL.
 */
class LpSeamEnv implements SeamEnv {
  readonly lp: CpuId;

  constructor(
    private readonly platform: Platform,
    private readonly cpu: Cpu,
  ) {
    this.lp = cpu.id;
  }

  rdmsr(msr: number): bigint | undefined {
    return this.cpu.msrs.get(msr);
  }
  cpuidXor(leaf: number, subleaf: number): readonly [number, number, number, number] | undefined {
    return this.cpu.cpuidXor.get(cpuidKey(leaf, subleaf));
  }
  read(pa: number, len: number, key: number): SeamRead {
    return this.platform.load(this.cpu, pa, len, key);
  }
  write(pa: number, data: Uint8Array, key: number, writer: string): void {
    this.platform.store(this.cpu, pa, data, key, writer);
  }
  fill(pa: number, len: number, fillByte: number, key: number, writer: string, shareVersion = false): void {
    this.platform.storeFill(this.cpu, pa, len, fillByte ?? TD_FILL_DEFAULT, key, writer, shareVersion);
  }
  movdir64b(pa: number, len: number, key: number, content: number | Uint8Array, writer: string): void {
    this.platform.movdir64b(this.cpu, pa, len, key, content, writer);
  }
  clflush(pa: number, len: number, key: number): void {
    this.platform.clflush(this.cpu, pa, len, key);
  }

  cachedLines(pa: number, len: number, keyId: number): boolean {
    return this.platform.cachedAnywhere(pa, len, keyId);
  }

  clflushUncached(pa: number, len: number, keyId: number): void {
    this.platform.clflushUncached(this.cpu, pa, len, keyId);
  }
  wbnoinvdSubBlock(index: number, count: number): void {
    // Sub-block k of n covers the package's CPUs with (position % n) === k.
    const p = this.platform;
    const pkgCpus = p.cpus.filter((c) => c.packageId === this.cpu.packageId);
    pkgCpus.forEach((c, i) => {
      if (i % count === index) {
        p.wbnoinvdNow(c);
      }
    });
  }
  interruptPending(): boolean {
    const cpu = this.cpu;
    return cpu.pending.some((p) => p.vector !== 'NMI' && p.arrivalNs <= cpu.clockNs);
  }
  injectFault(site: string): boolean {
    return this.platform.faults.shouldFail(site, this.cpu.id);
  }
  random64(): bigint {
    return this.platform.seamRandom64();
  }
}
