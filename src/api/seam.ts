/**
 * The SEAMCALL façade: a platform with the TDX module and no kernel, driven one SEAMCALL at a
 * time by a host written in any language (through `tdxsim serve`) or by library users. Host
 * memory accesses go through the platform, so caches, KeyIDs and integrity apply; instruction
 * faults (#UD, #GP, VMfailInvalid) are distinct outcomes, not statuses.
 * @see docs/server.md; TDX module ABI
 */
import type { CpuId } from '../base/ids.js';
import { hex16 } from '../base/u64.js';
import type { U64 } from '../base/u64.js';
import type { Prog } from '../platform/Exec.js';
import { runToCompletion } from '../platform/Exec.js';
import { CountingFaults } from '../platform/Platform.js';
import type { FaultInjector } from '../platform/Platform.js';
import { SEAM_REG_NAMES, seamRegs } from '../platform/Seam.js';
import type { SeamOutcome, SeamRegs } from '../platform/Seam.js';
import { preset, presetInput, presetNames } from '../platform/presets.js';
import { parsePlatformSpec } from '../platform/spec.js';
import type { PlatformSpec, PlatformSpecInput } from '../platform/spec.js';
import { createModuleMachine } from '../machine/moduleMachine.js';
import type { ModuleMachine } from '../machine/moduleMachine.js';
import { FAULT_SITES } from '../module/faultSites.js';
import { MetadataTable } from '../module/metadata.js';
import { LEAF } from '../module/leafNumbers.js';
import { MODULE_PROFILE_NAMES } from '../module/profiles.js';
import { describeStatus, leafStatusName, statusName, TDX_SEAMCALL_GP, TDX_SEAMCALL_UD, TDX_SEAMCALL_VMFAILINVALID } from '../module/status.js';
import type { StatusDescription } from '../module/status.js';
import { TdxsimError } from './errors.js';
import { checkModuleName } from './profileNames.js';

export { describeStatus, FAULT_SITES, MODULE_PROFILE_NAMES, presetNames, presetInput };
export { METADATA_FIELD_NAMES, metadataFieldElements, metadataFieldIdByName } from '../module/metadata.js';
export type { StatusDescription };

/**
 * The leaf number of a SEAMCALL leaf name, in the spec's dotted style or with underscores and
 * any case (`TDH.SYS.LP.INIT`, `tdh_sys_lp_init`): the names `tdxsim explain --leaf` accepts.
 * Undefined for an unknown name.
 * @see TDX module ABI section 1.3 (leaf numbers, module/leafNumbers.ts)
 */
export function leafNumberByName(name: string): number | undefined {
  const key = name.trim().toUpperCase().replace(/[.\-\s]/g, '_');
  return Object.hasOwn(LEAF, key) ? (LEAF as Record<string, number>)[key] : undefined;
}

/** Register names a SEAMCALL reads and writes. */
export type SeamRegName = (typeof SEAM_REG_NAMES)[number];
export { SEAM_REG_NAMES };

/** Fault injector with "fail `count` times after letting `skip` consultations pass". */
export class ArmedFaults implements FaultInjector {
  private readonly counting = new CountingFaults();
  private readonly skips = new Map<string, number>();

  /** Arm `count` failures at `site`, after `skip` passes. */
  arm(site: string, count: number, skip = 0): void {
    this.counting.arm(site, count);
    if (skip > 0) {
      this.skips.set(site, (this.skips.get(site) ?? 0) + skip);
    }
  }
  /** Remaining armed failures (and skips) per site. */
  armed(): Record<string, { count: number; skip: number }> {
    const out: Record<string, { count: number; skip: number }> = {};
    for (const [site, count] of Object.entries(this.counting.armed())) {
      if (count > 0) {
        out[site] = { count, skip: this.skips.get(site) ?? 0 };
      }
    }
    return out;
  }
  shouldFail(site: string): boolean {
    const armed = this.counting.armed()[site] ?? 0;
    if (armed === 0) {
      return false;
    }
    const s = this.skips.get(site) ?? 0;
    if (s > 0) {
      this.skips.set(site, s - 1);
      return false;
    }
    return this.counting.shouldFail(site);
  }
}

/** Parameters of createSeamMachine. */
export interface SeamMachineParams {
  /** A preset name or a platform description object. */
  readonly platform: unknown;
  /** Module profile (default: the platform's tdxModule.profile, else 1.5.01). */
  readonly module?: string;
  readonly seed?: number;
  /** Put every online LP in VMX operation (default true): SEAMCALL needs it. */
  readonly vmx?: boolean;
  /** MCHECK table overrides, for testing the module's own checks (e.g. an invalid CMR list). */
  readonly mcheck?: { readonly cmrs?: readonly { base: number; size: number }[] };
}

/** Outcome of one SEAMCALL, as the server reports it. */
export interface SeamCallResult {
  /** 'ok' (the module ran), or the instruction fault. */
  readonly outcome: SeamOutcome['kind'];
  readonly regs: SeamRegs;
  /** The registers as the call was given them (a copy taken before the call). */
  readonly input: SeamRegs;
  /** RAX for 'ok'; Linux's synthesized TDX_SEAMCALL_* code for a fault. */
  readonly status: U64;
  readonly statusName: string;
}

/** A SEAMCALL started with `begin` and not finished yet. */
interface InFlight {
  readonly lp: number;
  readonly prog: Prog<SeamOutcome>;
  readonly regs: SeamRegs;
}

function resolveSpec(p: unknown): PlatformSpec {
  if (typeof p === 'string') {
    const s = preset(p);
    if (s === undefined) {
      throw new TdxsimError('TDXSIM_UNKNOWN_PRESET', `unknown platform preset "${p}" (known: ${presetNames().join(', ')})`);
    }
    return s;
  }
  const r = parsePlatformSpec(p);
  if (!r.ok) {
    throw new TdxsimError('TDXSIM_BAD_PLATFORM', r.problems.map((x) => `platform: ${x.path}: ${x.message}`).join('\n'));
  }
  return r.spec;
}

function faultResult(kind: 'UD' | 'GP' | 'VMFAILINVALID', regs: SeamRegs): SeamCallResult {
  const status = kind === 'UD' ? TDX_SEAMCALL_UD : kind === 'GP' ? TDX_SEAMCALL_GP : TDX_SEAMCALL_VMFAILINVALID;
  return { outcome: kind, regs, input: regs, status, statusName: statusName(status) };
}

function toResult(o: SeamOutcome, input: SeamRegs): SeamCallResult {
  // A TD exit of TDH.VP.ENTER is named by its status class (the exit reason is in RAX 31:0).
  return o.kind === 'ok' ? { outcome: 'ok', regs: o.regs, input, status: o.regs.rax, statusName: leafStatusName(Number(input.rax & 0xffffn), o.regs.rax) } : faultResult(o.kind, input);
}

/** Footprint estimate (bytes): a machine's fixed part, per LP, per memory range, per cached line. */
const FOOTPRINT_BASE_BYTES = 64 * 1024;
const FOOTPRINT_LP_BYTES = 2048;
const FOOTPRINT_RANGE_BYTES = 128;
const FOOTPRINT_LINE_BYTES = 192;

/** A module machine with host-side conveniences. */
export class SeamMachine {
  readonly machine: ModuleMachine;
  readonly faults = new ArmedFaults();
  private readonly inFlight = new Map<string, InFlight>();
  private nextCall = 1;
  /** The e820 map merged into sorted, disjoint [base, end) ranges: where there is memory at all. */
  private readonly memoryRanges: readonly (readonly [number, number])[];

  constructor(readonly spec: PlatformSpec, params: SeamMachineParams) {
    const profile = params.module ?? spec.tdxModule.profile;
    const release = profile === undefined ? undefined : checkModuleName(profile, 'module').name;
    const bad = MetadataTable.checkOverrides(spec.tdxModule.overrides ?? {});
    if (bad.length > 0) {
      throw new TdxsimError('TDXSIM_BAD_PLATFORM', bad.map((b) => `platform: tdxModule.overrides: ${b}`).join('\n'));
    }
    this.machine = createModuleMachine(spec, {
      ...(release === undefined ? {} : { module: release }),
      seed: params.seed ?? 0,
      faults: this.faults,
      ...(params.mcheck?.cmrs === undefined ? {} : { sysinfo: { cmrs: params.mcheck.cmrs.map((c) => ({ base: c.base, size: c.size })) } }),
    });
    for (const c of this.machine.platform.cpus) {
      c.vmx = (params.vmx ?? true) && c.online;
    }
    this.memoryRanges = mergeRanges(spec.memory.e820.map((e) => [e.base, e.base + e.size] as const));
  }

  /** Summary returned by machine.create. */
  info(): Record<string, unknown> {
    const p = this.machine.platform;
    const k = this.spec.keyids;
    return {
      platform: this.spec.name,
      lps: p.cpus.length,
      packages: this.spec.topology.packages,
      module: this.machine.module.profile.name,
      keyIdBits: k.bits,
      keyIdShift: p.keyIdShift,
      privateKeyIds: k.tdx > 0 ? [k.mktme + 1, k.mktme + k.tdx] : [],
      cmrs: this.spec.cmrs.map((c) => ({ base: hex16(BigInt(c.base)), size: hex16(BigInt(c.size)) })),
      seamrr: { base: hex16(BigInt(this.spec.seamrr.base)), size: hex16(BigInt(this.spec.seamrr.size)) },
    };
  }

  private lpCheck(lp: number): void {
    const cpus = this.machine.platform.cpus;
    if (!Number.isSafeInteger(lp) || lp < 0 || lp >= cpus.length) {
      throw new TdxsimError('TDXSIM_BAD_LP', `LP ${lp} does not exist (this machine has ${cpus.length} LPs: 0..${cpus.length - 1})`);
    }
  }

  private readyLp(lp: number): void {
    this.lpCheck(lp);
    if (!this.machine.platform.cpu(lp).online) {
      throw new TdxsimError('TDXSIM_LP_OFFLINE', `LP ${lp} is offline; bring it online with lp.set first`);
    }
    for (const c of this.inFlight.values()) {
      if (c.lp === lp) {
        throw new TdxsimError('TDXSIM_LP_BUSY', `LP ${lp} is inside a SEAMCALL started with seamcall.begin; finish it with seamcall.end first`);
      }
    }
  }

  /** Execute one SEAMCALL on `lp` to completion. */
  seamcall(lp: number, regs: SeamRegs): SeamCallResult {
    this.readyLp(lp);
    const p = this.machine.platform;
    const cpu = p.cpu(lp as CpuId);
    p.current = cpu;
    const input = { ...regs };
    return toResult(runToCompletion(p.seamcall(cpu, regs)).value, input);
  }

  /**
   * Start a SEAMCALL on `lp` and stop it at its first scheduling point inside the module, where
   * it holds whatever locks it took first: the fixture for "LP x is inside a SEAMCALL".
   * @returns a call id, or the finished result if the leaf completed without a scheduling point.
   */
  begin(lp: number, regs: SeamRegs): { call: string } | { result: SeamCallResult } {
    this.readyLp(lp);
    const p = this.machine.platform;
    const cpu = p.cpu(lp as CpuId);
    p.current = cpu;
    const input = { ...regs };
    const prog = p.seamcall(cpu, regs);
    for (let i = 0; i < 2; i++) {
      const r = prog.next(undefined);
      if (r.done === true) {
        return { result: toResult(r.value, input) };
      }
    }
    const call = `c${this.nextCall++}`;
    this.inFlight.set(call, { lp, prog, regs: input });
    return { call };
  }

  /** Finish a SEAMCALL started with `begin`. */
  end(call: string): SeamCallResult {
    const c = this.inFlight.get(call);
    if (c === undefined) {
      throw new TdxsimError('TDXSIM_UNKNOWN_CALL', `no SEAMCALL "${call}" in flight (in flight: ${[...this.inFlight.keys()].join(', ') || 'none'})`);
    }
    this.inFlight.delete(call);
    const p = this.machine.platform;
    p.current = p.cpu(c.lp as CpuId);
    return toResult(runToCompletion(c.prog).value, c.regs);
  }

  private range(pa: number, len: number, keyid: number | undefined): { pa: number; key: number } {
    const p = this.machine.platform;
    const s = keyid === undefined ? p.splitKeyId(pa) : { pa, key: keyid };
    if (!Number.isSafeInteger(s.pa) || s.pa + len > 2 ** p.keyIdShift || s.pa < 0) {
      throw new TdxsimError('TDXSIM_BAD_PARAMS', `range 0x${pa.toString(16)}+0x${len.toString(16)} is beyond the physical address width (2^${p.keyIdShift} below the KeyID bits)`);
    }
    if (!Number.isSafeInteger(s.key) || s.key < 0 || s.key >= 2 ** this.spec.keyids.bits) {
      throw new TdxsimError('TDXSIM_BAD_PARAMS', `KeyID ${s.key} does not fit ${this.spec.keyids.bits} KeyID bits`);
    }
    this.hostAccessible(s.pa, len);
    return s;
  }

  /**
   * A host load or store reaches only memory the host may touch. SEAMRR belongs to SEAM mode
   * and SMRR to SMM; an address in no e820 entry (an MMIO hole, or past the end of memory) has
   * no DRAM behind it. What the hardware answers there (dropped writes, a fixed read value,
   * an MMIO device) is not modelled, so such an access is refused instead of pretending to
   * store bytes that read back. (The sources this model follows do not say what a host access
   * to SEAMRR, SMRR or a hole returns, so the model does not guess.)
   */
  private hostAccessible(pa: number, len: number): void {
    const span = Math.max(len, 1);
    const what = `range 0x${pa.toString(16)}+0x${span.toString(16)}`;
    const sr = this.spec.seamrr;
    if (sr.enabled && sr.size > 0 && pa < sr.base + sr.size && sr.base < pa + span) {
      throw new TdxsimError('TDXSIM_NOT_HOST_MEMORY', `${what} overlaps SEAMRR [0x${sr.base.toString(16)}, 0x${(sr.base + sr.size).toString(16)}), which only the TDX module (SEAM mode) accesses; a host access there is not modelled`);
    }
    const sm = this.spec.smrr;
    if (sm.valid && sm.size > 0 && pa < sm.base + sm.size && sm.base < pa + span) {
      throw new TdxsimError('TDXSIM_NOT_HOST_MEMORY', `${what} overlaps SMRR [0x${sm.base.toString(16)}, 0x${(sm.base + sm.size).toString(16)}), which only SMM code accesses; a host access there is not modelled`);
    }
    const gap = firstGap(this.memoryRanges, pa, pa + span);
    if (gap !== undefined) {
      throw new TdxsimError('TDXSIM_NOT_HOST_MEMORY', `${what} is not all memory: [0x${gap[0].toString(16)}, 0x${gap[1].toString(16)}) is in no e820 entry (a memory hole or past the end of memory); a host access there is not modelled`);
    }
  }

  /**
   * Estimated bytes of host memory this machine holds: explicit 4 KiB pages, memory ranges,
   * cached lines and a fixed cost per LP. The server charges it to the connection and to its
   * total so that one client cannot fill the host (docs/server.md "Limits").
   */
  footprintBytes(): number {
    const p = this.machine.platform;
    let lines = 0;
    for (const c of p.cpus) {
      lines += c.cache.lineCount;
    }
    return FOOTPRINT_BASE_BYTES + p.cpus.length * FOOTPRINT_LP_BYTES + p.memory.explicitPages * 4096 + p.memory.lines.size * FOOTPRINT_RANGE_BYTES + lines * FOOTPRINT_LINE_BYTES;
  }

  /**
   * How much `footprintBytes()` can grow when `len` bytes are stored on LP `lp`: new explicit
   * pages, the lines the LP's cache can hold, and the memory ranges their write-backs split.
   */
  writeGrowthBound(len: number, lp = 0): number {
    const pages = Math.ceil(len / 4096) + 1;
    const cap = this.machine.platform.cpus[lp]?.cache.capacityLines ?? 0;
    const lines = Math.min(Math.ceil(len / 64) + 1, cap);
    return pages * 4096 + lines * FOOTPRINT_LINE_BYTES + (lines + 3) * FOOTPRINT_RANGE_BYTES;
  }

  /** A host store of `data` at `pa` through `keyid` (default: the KeyID bits of `pa`) on LP `lp`. */
  memWrite(pa: number, data: Uint8Array, keyid?: number, lp = 0): void {
    // An offline LP executes nothing, and an LP inside a SEAMCALL is running the module.
    this.readyLp(lp);
    const s = this.range(pa, data.length, keyid);
    const p = this.machine.platform;
    p.store(p.cpu(lp as CpuId), s.pa, data, s.key, 'host');
  }

  /** A host load; poison consumption is reported, not thrown. */
  memRead(pa: number, len: number, keyid?: number, lp = 0): { data: Uint8Array } | { poisonPa: number } {
    this.readyLp(lp);
    const s = this.range(pa, len, keyid);
    const p = this.machine.platform;
    const r = p.load(p.cpu(lp as CpuId), s.pa, len, s.key);
    return r.ok ? { data: r.bytes } : { poisonPa: r.poisonPa };
  }

  /** Change an LP's online/VMX state or MSR values. */
  lpSet(lp: number, set: { online?: boolean; vmx?: boolean; msrs?: ReadonlyMap<number, bigint> }): Record<string, unknown> {
    this.lpCheck(lp);
    const cpu = this.machine.platform.cpu(lp as CpuId);
    const call = [...this.inFlight.entries()].find(([, c]) => c.lp === lp)?.[0];
    if (call !== undefined && (set.online !== undefined || set.vmx !== undefined)) {
      // An LP in SEAM mode can neither go offline nor leave VMX operation until the module returns.
      throw new TdxsimError('TDXSIM_LP_BUSY', `LP ${lp} is inside SEAMCALL ${call} (seamcall.begin); finish it with seamcall.end before changing online or vmx`);
    }
    if (set.online !== undefined) {
      cpu.online = set.online;
    }
    if (set.vmx !== undefined) {
      cpu.vmx = set.vmx;
    }
    for (const [msr, v] of set.msrs ?? []) {
      cpu.msrs.set(msr, v);
    }
    return this.lpState(lp);
  }

  private lpState(lp: number): Record<string, unknown> {
    const c = this.machine.platform.cpu(lp as CpuId);
    const m = this.machine.module.state;
    return { lp, pkg: c.packageId, online: c.online, vmx: c.vmx, inSeam: c.inSeam, lpInit: m.lpIsInit[lp] ?? false };
  }

  /** Arm `count` failures at a module fault site, after `skip` passes. */
  faultInject(site: string, count: number, skip = 0): Record<string, { count: number; skip: number }> {
    if (!Object.hasOwn(FAULT_SITES, site)) {
      throw new TdxsimError('TDXSIM_BAD_PARAMS', `unknown fault site "${site}" (known: ${Object.keys(FAULT_SITES).join(', ')})`);
    }
    this.faults.arm(site, count, skip);
    return this.faults.armed();
  }

  /** Module state, per-LP flags, KOT and TDMRs. */
  state(): Record<string, unknown> {
    const module = this.machine.module.snapshot();
    return {
      module,
      sysState: module['sysState'],
      kot: module['kot'],
      tdmrs: module['tdmrs'],
      lps: this.machine.platform.cpus.map((c) => this.lpState(c.id)),
      faults: this.faults.armed(),
      inFlight: [...this.inFlight.entries()].map(([call, c]) => ({ call, lp: c.lp })),
    };
  }

  /** The runtime-update SEAMLDR step: load a fresh module image that inherits the handoff data. */
  installUpdate(): void {
    const busy = [...this.inFlight.entries()].map(([call, c]) => `${call} on LP ${c.lp}`);
    if (busy.length > 0) {
      throw new TdxsimError('TDXSIM_LP_BUSY', `a module update cannot be installed while SEAMCALLs are in flight (${busy.join(', ')}); finish them with seamcall.end`);
    }
    this.machine.module.installUpdate();
  }
}

/** Build a SEAM machine from a preset name or platform object. */
export function createSeamMachine(params: SeamMachineParams): SeamMachine {
  return new SeamMachine(resolveSpec(params.platform), params);
}

/** The input of a preset (for clients that want to copy and edit one). */
export function platformPreset(name: string): PlatformSpecInput {
  const p = presetInput(name);
  if (p === undefined) {
    throw new TdxsimError('TDXSIM_UNKNOWN_PRESET', `unknown platform preset "${name}" (known: ${presetNames().join(', ')})`);
  }
  return p;
}

/** Registers from a partial record (missing ones are 0). */
export function regsFrom(r: Partial<Record<SeamRegName, bigint>>): SeamRegs {
  return seamRegs(r);
}

/** Sort and merge [base, end) ranges into disjoint ones (touching ranges join). */
function mergeRanges(ranges: readonly (readonly [number, number])[]): [number, number][] {
  const sorted = ranges.filter(([b, e]) => e > b).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [b, e] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && b <= last[1]) {
      last[1] = Math.max(last[1], e);
    } else {
      out.push([b, e]);
    }
  }
  return out;
}

/** The first part of [from, to) that no merged range covers, or undefined (binary search). */
function firstGap(ranges: readonly (readonly [number, number])[], from: number, to: number): [number, number] | undefined {
  let lo = 0;
  let hi = ranges.length;
  // The last range whose base is at or below `from`.
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ranges[mid] as readonly [number, number])[0] <= from) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  const r = ranges[lo - 1];
  if (r === undefined || r[1] <= from) {
    const next = ranges[lo];
    return [from, Math.min(to, next === undefined ? to : next[0])];
  }
  // Merged ranges are disjoint and not touching, so coverage ends at r's end.
  return r[1] >= to ? undefined : [r[1], Math.min(to, ranges[lo]?.[0] ?? to)];
}
