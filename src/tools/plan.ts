/**
 * `tdxsim plan`: the TDMRs, reserved areas and PAMTs Linux would build for a machine, the exact
 * dmesg lines it would print, the headroom left against the module's limits, and an estimate for
 * Dynamic PAMT.
 *
 * The layout comes from the kernel model's own pure TDMR core (src/kernel/tdx/tdmr.ts) fed with
 * the kernel model's memblock and page allocator, so a plan and a simulated boot of the same
 * platform cannot disagree. The input is a dmesg, /proc/iomem, a platform JSON file or a preset
 * name; parse/machine.ts turns text inputs into a platform description first, and the plan says
 * which memory source it used.
 */
import { existsSync } from 'node:fs';

import { Memblock } from '../kernel/mm/memblock.js';
import { DEFAULT_KERNEL_PROFILE, KERNEL_PROFILE_NAMES, kernelProfile } from '../kernel/profiles.js';
import type { KernelProfile, KernelProfileName } from '../kernel/profiles.js';
import { errname } from '../kernel/errno.js';
import { seamcallErrLines } from '../kernel/tdx/seamcall.js';
import {
  build_tdx_memlist,
  collectLog,
  construct_tdmrs,
  memlist_ranges,
  new_tdmr_list,
  tdmr_get_pamt_sz,
  tdmrs_count_pamt_kb,
  tdmrs_count_pamt_pages,
} from '../kernel/tdx/tdmr.js';
import type { PhysRange, TdmrInfo, TdmrInfoList, TdxSysInfoTdmr } from '../kernel/tdx/tdmr.js';
import { LEAF } from '../module/leafNumbers.js';
import { MetadataTable } from '../module/metadata.js';
import { DEFAULT_MODULE_PROFILE, isModuleProfileName, moduleProfile } from '../module/profiles.js';
import type { ModuleProfile, ModuleProfileName } from '../module/profiles.js';
import { checkKernelName, checkModuleName } from '../api/profileNames.js';
import { TDX_METADATA_FIELD_ID_INCORRECT, TDX_OPERAND_INVALID, TDX_SYS_NOT_READY } from '../module/status.js';
import type { U64 } from '../base/u64.js';
import { seamRegs } from '../platform/Seam.js';
import { preset, presetNames } from '../platform/presets.js';
import { parsePlatformSpec } from '../platform/spec.js';
import type { PlatformSpec } from '../platform/spec.js';
import { TdxsimError } from '../api/errors.js';
import { kernelishLines, mainBoot, parseDmesg } from './parse/dmesg.js';
import type { BootFacts, DmesgFacts, TdxLine } from './parse/dmesg.js';
import { decodeText, readInputFile, splitLines } from '../api/parse/input.js';
import type { TextInput } from '../api/parse/input.js';
import { isIomemLine, parseIomem } from './parse/iomem.js';
import { parseJsonWithPlace } from '../api/parse/json.js';
import { isRebuilt, machineFromDmesg, machineFromIomem } from './parse/machine.js';
import type { MemorySource } from './parse/machine.js';
import { humanBytes, hx } from './parse/num.js';
import { inferKernel, inferModule, moduleFromVersion } from './era.js';
import type { KernelInference } from './era.js';

export { moduleFromVersion } from './era.js';

const PAGE = 4096;
const GiB = 2 ** 30;

// ---------------------------------------------------------------- requests and results

/** What `plan` is asked. */
export interface PlanRequest {
  /** A file path (dmesg, /proc/iomem, platform JSON) or a preset name. */
  readonly input?: string;
  /** Text given directly (library use): a dmesg, /proc/iomem or platform JSON. */
  readonly text?: string;
  /** How `text` is named in messages (default "<text>"). */
  readonly name?: string;
  /** A platform description object (library use). */
  readonly platform?: unknown;
  readonly kernel?: string;
  readonly module?: string;
  readonly maxTdmrs?: number;
  readonly maxReserved?: number;
  /** Also plan with every kernel profile. */
  readonly compare?: boolean;
}

/** One planned TDMR, as printed and as JSON. */
export interface PlannedTdmr {
  readonly index: number;
  readonly base: string;
  readonly size: string;
  readonly end: string;
  readonly sizeGiB: number;
  readonly reserved: { readonly offset: string; readonly size: string }[];
  readonly pamt: {
    readonly node: number;
    readonly base4k: string;
    readonly size4k: string;
    readonly base2m: string;
    readonly size2m: string;
    readonly base1g: string;
    readonly size1g: string;
    readonly totalKb: number;
    readonly pages: number;
  } | null;
}

/** Why a plan fails. */
export type PlanFailureReason =
  | 'tdmrs-exhausted'
  | 'reserved-areas-exhausted'
  | 'pamt-alloc'
  | 'version-skew'
  | 'too-few-keyids'
  | 'hibernation'
  | 'module-not-loaded'
  | 'no-tdx-keyids'
  | 'no-host-support'
  | 'not-initialized'
  | 'other';

/** Headroom against the module's limits. */
export interface Headroom {
  readonly tdmrs: { readonly used: number; readonly max: number; readonly free: number; readonly needed: number };
  readonly reservedAreas: { readonly worstTdmr: number | null; readonly used: number; readonly max: number; readonly free: number; readonly needed: number };
  readonly notes: string[];
}

/** The Dynamic PAMT estimate (see docs/tools.md for the assumptions). */
export interface DynamicPamtEstimate {
  /** PAMT allocated up front with Dynamic PAMT: 2M and 1G levels plus the 4K bitmap. */
  readonly staticKb: number;
  readonly pamt2mKb: number;
  readonly pamt1gKb: number;
  readonly bitmapKb: number;
  /** 4K PAMT added on demand: per 2 MiB region that holds 4 KiB private pages. */
  readonly onDemandKbPer2M: number;
  /** Worst case: every 2 MiB region of TDMR address space holds 4 KiB pages. */
  readonly worstCaseKb: number;
  /** Static saving against today's PAMT. */
  readonly savedKb: number;
  /** Kernel-side reference counters (one 32-bit counter per 2 MiB), in kernel memory, not PAMT. */
  readonly refcountKb: number;
  readonly assumptions: string[];
}

/** The plan for one kernel profile. */
export interface ProfilePlan {
  readonly outcome: 'ok' | 'fail';
  readonly kernel: KernelProfileName;
  readonly module: ModuleProfileName;
  readonly limits: { readonly maxTdmrs: number; readonly maxReserved: number; readonly pamtEntrySize: readonly [number, number, number] };
  readonly tdmrs: PlannedTdmr[];
  readonly pamtKb: number;
  readonly pamtPages: number;
  /** The PAMT line this kernel prints (also on failure: what it would print with enough room). */
  readonly pamtLine: string;
  readonly dmesg: string[];
  readonly failure: { readonly reason: PlanFailureReason; readonly errno: number; readonly errnoName: string; readonly message: string } | null;
  readonly headroom: Headroom;
  readonly dynamicPamt: DynamicPamtEstimate;
  /** What holes were computed from: the memory list, or the CMRs (ubuntu-6.8-intel). */
  readonly holes: 'memlist' | 'cmrs';
}

/** What `plan` returns. */
export interface PlanResult extends ProfilePlan {
  readonly input: { readonly name: string; readonly kind: 'dmesg' | 'iomem' | 'platform' | 'preset' | 'object' };
  readonly source: MemorySource;
  readonly assumptions: string[];
  readonly memory: { readonly ranges: number; readonly bytes: number; readonly memlistRanges: number; readonly nodes: number[] };
  /** Every kernel profile side by side (with --compare). */
  readonly compare?: ProfilePlan[];
  /** The platform the plan ran on (rebuilt from text inputs). */
  readonly platform: PlatformSpec;
  /** Which kernel and module were planned, and where each came from. */
  readonly inferred: PlanInference;
  /** For a log's own kernel: what current kernels (CURRENT_KERNELS) do with the same machine and module. */
  readonly current: ProfilePlan[];
  /** The log shows the module initialized while the plan failed: the outcome follows the log. */
  readonly logSaysOk: { readonly line: number; readonly text: string; readonly modelFailure: NonNullable<ProfilePlan['failure']> } | null;
  readonly notes: string[];
  /** Lines of the input that did not parse (ignored, never a refusal). */
  readonly warnings: string[];
}

/** Where the planned kernel and module came from. */
export interface PlanInference {
  readonly kernel: { readonly profile: KernelProfileName; readonly from: 'option' | 'log' | 'default'; readonly why: string; readonly line: number | null; readonly release: string | null };
  readonly module: { readonly profile: ModuleProfileName; readonly from: 'option' | 'input' | 'kernel-default'; readonly why: string; readonly line: number | null };
}

// ---------------------------------------------------------------- input resolution

/** The resolved input: a platform plus where it came from. */
export interface ResolvedInput {
  readonly spec: PlatformSpec;
  readonly input: PlanResult['input'];
  readonly source: MemorySource;
  readonly assumptions: string[];
  /** Module profile the input names (module version line, platform tdxModule.profile). */
  readonly module?: ModuleProfileName;
  readonly dmesg?: DmesgFacts;
  readonly boot?: BootFacts;
  /** Lines of a dmesg that did not parse (never a refusal). */
  readonly warnings?: string[];
}

function specOrThrow(obj: unknown, label: string, code: string): PlatformSpec {
  const r = parsePlatformSpec(obj);
  if (!r.ok) {
    throw new TdxsimError(code, r.problems.map((p) => `${label}: ${p.path}: ${p.message}`).join('\n'));
  }
  // The same check as run and the server: an override must name a field the module knows.
  const bad = MetadataTable.checkOverrides(r.spec.tdxModule.overrides ?? {});
  if (bad.length > 0) {
    throw new TdxsimError(code, bad.map((b) => `${label}: tdxModule.overrides: ${b}`).join('\n'));
  }
  return r.spec;
}

function moduleFromBoot(b: BootFacts, assumptions: string[]): ModuleProfileName | undefined {
  const v = b.tdx.find((t) => t.kind === 'module-version');
  if (v === undefined || v.kind !== 'module-version') {
    return undefined;
  }
  const m = moduleFromVersion(v);
  assumptions.push(`module from the version line (line ${v.line}): ${m.why}`);
  return m.name;
}

/** Throw the first parse problem of a text input, naming its line. */
export function throwProblems(name: string, what: string, problems: readonly { line: number; message: string; text: string }[], endsMidLine: boolean, totalLines: number): void {
  const p = problems[0];
  if (p === undefined) {
    return;
  }
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem line(s))` : '';
  if (endsMidLine && p.line === totalLines) {
    throw new TdxsimError('TDXSIM_TRUNCATED_INPUT', `${what} ${name}: line ${p.line}: input ends in the middle of a line (${p.message}): "${p.text}"; is the file truncated?`);
  }
  throw new TdxsimError('TDXSIM_BAD_INPUT_LINE', `${what} ${name}: line ${p.line}: ${p.message}: "${p.text}"${more}`);
}

/** Classify and parse a text input (dmesg, iomem or JSON). */
export function resolveText(t: TextInput): ResolvedInput {
  const first = t.text.trimStart()[0];
  if (first === '{') {
    const j = parseJsonWithPlace(t.text);
    if (!j.ok) {
      throw new TdxsimError('TDXSIM_BAD_JSON', `platform file ${t.name}: invalid JSON at ${j.place}: ${j.message}`);
    }
    const spec = specOrThrow(j.value, t.name, 'TDXSIM_BAD_PLATFORM');
    return fromSpec(spec, { name: t.name, kind: 'platform' });
  }
  const nonEmpty = t.lines.filter((l) => l.trim() !== '');
  const shaped = nonEmpty.filter(isIomemLine).length;
  if (shaped > 0 && shaped * 2 >= nonEmpty.length) {
    const f = parseIomem(t.lines);
    throwProblems(t.name, '/proc/iomem', f.problems, t.endsMidLine, t.lines.length);
    if (f.allZero) {
      throw new TdxsimError('TDXSIM_IOMEM_UNPRIVILEGED', `/proc/iomem ${t.name}: every address is zero: the file was read without root privileges (use sudo cat /proc/iomem)`);
    }
    const m = machineFromIomem(f);
    if (!isRebuilt(m)) {
      throw new TdxsimError('TDXSIM_NO_MEMORY_MAP', `/proc/iomem ${t.name}: no memory map: ${m.missing.join('; ')}`);
    }
    const spec = specOrThrow(m.platform, `${t.name} (rebuilt platform)`, 'TDXSIM_BAD_INPUT');
    return { spec, input: { name: t.name, kind: 'iomem' }, source: m.source, assumptions: m.assumptions };
  }
  const f = parseDmesg(t.lines, t.name, t.endsMidLine);
  // One malformed line never refuses a dmesg: it is a warning with its line number.
  const warnings = f.problems.map((p) => `line ${p.line}: ${p.message}${t.endsMidLine && p.line === t.lines.length ? ' (the input ends in the middle of this line)' : ''}: "${p.text}"; ignored`);
  const b = mainBoot(f);
  const m = machineFromDmesg(b);
  if (!isRebuilt(m)) {
    if (kernelishLines(f) === 0 && f.boots.every((x) => x.tdx.length === 0)) {
      const sample = nonEmpty[0]?.slice(0, 80) ?? '';
      throw new TdxsimError('TDXSIM_UNRECOGNIZED_INPUT', `${t.name}: not a dmesg, /proc/iomem or platform JSON (line 1: "${sample}")`);
    }
    throw new TdxsimError('TDXSIM_NO_MEMORY_MAP', `dmesg ${t.name}: no memory map: ${m.missing.join('; ')}; capture the log from boot (dmesg right after boot, or journalctl -k -b)${warnings.length > 0 ? `; ${warnings.join('; ')}` : ''}`);
  }
  const spec = specOrThrow(m.platform, `${t.name} (rebuilt platform)`, 'TDXSIM_BAD_INPUT');
  const assumptions = [...m.assumptions];
  if (f.boots.length > 1) {
    assumptions.push(`the log holds ${f.boots.length} boots; the one starting at line ${b.firstLine} was used`);
  }
  const module = moduleFromBoot(b, assumptions);
  return { spec, input: { name: t.name, kind: 'dmesg' }, source: m.source, assumptions, ...(module !== undefined ? { module } : {}), dmesg: f, boot: b, warnings };
}

function fromSpec(spec: PlatformSpec, input: PlanResult['input']): ResolvedInput {
  const total = spec.memory.e820.filter((e) => e.type === 'usable' || e.type === 'reserved-kern').reduce((s, e) => s + e.size, 0);
  const prof = spec.tdxModule.profile;
  const module = prof !== undefined && isModuleProfileName(prof) ? prof : undefined;
  return {
    spec,
    input,
    source: { kind: 'platform', detail: `platform description "${spec.name}": ${spec.memory.e820.length} e820 entries, ${humanBytes(total)} usable, ${spec.memory.nodes.length} node range(s), ${spec.cmrs.length} CMR(s)` },
    assumptions: [],
    ...(module !== undefined ? { module } : {}),
  };
}

/** Resolve a plan request's input into a platform. */
export function resolvePlanInput(req: Pick<PlanRequest, 'input' | 'text' | 'platform' | 'name'>): ResolvedInput {
  if (req.platform !== undefined) {
    return fromSpec(specOrThrow(req.platform, 'platform', 'TDXSIM_BAD_PLATFORM'), { name: 'platform', kind: 'object' });
  }
  if (req.text !== undefined) {
    const name = req.name ?? '<text>';
    return resolveText(splitLines(decodeText(Buffer.from(req.text, 'utf8'), name, 'input'), name));
  }
  const input = req.input;
  if (input === undefined || input === '') {
    throw new TdxsimError('TDXSIM_BAD_ARGS', 'plan: give an input: a dmesg file, /proc/iomem, a platform JSON file or a preset name');
  }
  if (!existsSync(input)) {
    const pre = preset(input);
    if (pre !== undefined) {
      return fromSpec(pre, { name: input, kind: 'preset' });
    }
    throw new TdxsimError('TDXSIM_FILE', `cannot read input ${input}: no such file, and not a preset (presets: ${presetNames().join(', ')})`);
  }
  const buf = readInputFile(input, 'input');
  return resolveText(splitLines(decodeText(buf, input, 'input'), input));
}

// ---------------------------------------------------------------- profiles and limits

function checkKernel(name: string | undefined): KernelProfileName {
  return checkKernelName(name ?? DEFAULT_KERNEL_PROFILE).name;
}

function checkModule(name: string | undefined): ModuleProfileName | undefined {
  return name === undefined ? undefined : checkModuleName(name).name;
}

function checkLimit(v: number | undefined, what: string, max: number): number | undefined {
  if (v === undefined) {
    return undefined;
  }
  if (!Number.isSafeInteger(v) || v < 1 || v > max) {
    throw new TdxsimError('TDXSIM_BAD_ARGS', `${what} ${v}: expected 1..${max}`);
  }
  return v;
}

/** The module limits construct_tdmrs() works against: module metadata, platform overrides, options. */
export function moduleLimits(spec: PlatformSpec, mod: ModuleProfile, maxTdmrs?: number, maxReserved?: number): TdxSysInfoTdmr {
  const ov = spec.tdxModule.overrides ?? {};
  const e4 = ov['PAMT_4K_ENTRY_SIZE'] ?? 16;
  const single = mod.name === '1.0';
  return {
    max_tdmrs: maxTdmrs ?? ov['MAX_TDMRS'] ?? 64,
    max_reserved_per_tdmr: maxReserved ?? ov['MAX_RESERVED_PER_TDMR'] ?? 16,
    pamt_entry_size: single ? [e4, e4, e4] : [e4, ov['PAMT_2M_ENTRY_SIZE'] ?? 16, ov['PAMT_1G_ENTRY_SIZE'] ?? 16],
  };
}

// ---------------------------------------------------------------- version preflight

/** TDX_FEATURES0.NO_RBP_MOD, which 6.14+ kernels require. */
const NO_RBP_MOD = 1n << 18n;
const MD_TDX_FEATURES0 = 0x0a00000300000008n;
const MD_MINOR_VERSION = 0x0800000100000003n;
const MD_MAX_TDMRS = 0x9100000100000008n;

/** A kernel/module pair that fails before the TDMRs are built. */
export interface PreflightFailure {
  readonly summary: string;
  /** Lines after the prefix, in print order (init failure line included). */
  readonly lines: string[];
  readonly errno: number;
  readonly leaf?: number;
  readonly status?: bigint;
  /** What the module lacks that the kernel needs: a leaf, a metadata field or a feature bit. */
  readonly lacks: 'TDH.SYS.RD' | 'MAX_VCPUS_PER_TD' | 'TDX_FEATURES0.NO_RBP_MOD';
}

/**
 * Would init_tdx_module() of kernel `k` fail reading module `m`'s metadata? Derived from the two
 * profiles: a kernel that reads metadata with TDH.SYS.RD meets a module without that leaf (1.0:
 * the dispatcher refuses unknown leaves before SYS_READY with TDX_SYS_NOT_READY); a kernel that
 * reads MAX_VCPUS_PER_TD meets a module without the field (TDX_METADATA_FIELD_ID_INCORRECT, RDX
 * set to -1 on entry); a 6.14+ kernel meets a module without NO_RBP_MOD. The read order follows
 * get_tdx_sys_info(): features, tdmr, td_ctrl, td_conf, then check_features().
 */
export function metadataPreflight(k: KernelProfile, m: ModuleProfile): PreflightFailure | undefined {
  if (k.metadata !== 'sys-rd') {
    return undefined;
  }
  const fn = BigInt(LEAF.TDH_SYS_RD);
  const err = (status: bigint, rdx: bigint, summary: string): PreflightFailure => {
    const out = seamRegs({ rax: status, rcx: 0n, rdx, r8: 0n });
    return {
      summary,
      lines: [...seamcallErrLines(fn, { ret: status as U64, out }, 'seamcall_prerr_ret'), k.strings.initFailed(-5)],
      errno: -5,
      leaf: LEAF.TDH_SYS_RD,
      status,
      lacks: status === TDX_METADATA_FIELD_ID_INCORRECT ? 'MAX_VCPUS_PER_TD' : 'TDH.SYS.RD',
    };
  };
  if (!m.knownLeaves.has(LEAF.TDH_SYS_RD)) {
    const first = k.printVersion ? MD_MINOR_VERSION : k.readFeatures ? MD_TDX_FEATURES0 : MD_MAX_TDMRS;
    const status = m.notReadyAllowed.has(LEAF.TDH_SYS_RD) ? TDX_OPERAND_INVALID : TDX_SYS_NOT_READY;
    const f = err(status, first, `${k.name} reads metadata with TDH.SYS.RD, which module ${m.name} does not have (version skew)`);
    // 7.1+ print the version right after the version group, even when its read failed.
    return k.printVersion ? { ...f, lines: [...f.lines.slice(0, -1), 'Module version: 0.0.00', ...f.lines.slice(-1)] } : f;
  }
  if (k.readTdConf && !m.extraFields.includes('MAX_VCPUS_PER_TD')) {
    return err(TDX_METADATA_FIELD_ID_INCORRECT, (1n << 64n) - 1n, `${k.name} reads MAX_VCPUS_PER_TD (0x9900000100000008), which module ${m.name} does not have (version skew)`);
  }
  if (k.readFeatures && (m.tdxFeatures0 & NO_RBP_MOD) === 0n) {
    return { summary: `module ${m.name} lacks TDX_FEATURES0.NO_RBP_MOD, which ${k.name} requires (version skew)`, lines: ['frame pointer (RBP) clobber bug present, upgrade TDX module', k.strings.initFailed(-22)], errno: -22, lacks: 'TDX_FEATURES0.NO_RBP_MOD' };
  }
  return undefined;
}

// ---------------------------------------------------------------- the plan itself

function tdmrJson(t: TdmrInfo, i: number): PlannedTdmr {
  const total = t.pamt_4k_size + t.pamt_2m_size + t.pamt_1g_size;
  return {
    index: i,
    base: hx(t.base),
    size: hx(t.size),
    end: hx(t.base + t.size),
    sizeGiB: t.size / GiB,
    reserved: t.reserved_areas.map((r) => ({ offset: hx(r.offset), size: hx(r.size) })),
    pamt:
      total === 0
        ? null
        : {
            node: t.pamt_nid,
            base4k: hx(t.pamt_4k_base),
            size4k: hx(t.pamt_4k_size),
            base2m: hx(t.pamt_2m_base),
            size2m: hx(t.pamt_2m_size),
            base1g: hx(t.pamt_1g_base),
            size1g: hx(t.pamt_1g_size),
            totalKb: total / 1024,
            pages: total / PAGE,
          },
  };
}

interface CoreRun {
  readonly ret: number;
  readonly list: TdmrInfoList;
  readonly log: string[];
  readonly tdmrs: TdmrInfo[];
}

/**
 * The page allocator as the kernel model has it when init_tdx_module() reaches construct_tdmrs():
 * the first MiB and the kernel image kept back (Kernel's defaults), and the TDMR_INFO buffer of
 * alloc_tdmr_list() taken from node 0. The unit tests cross-check plans against simulated boots,
 * so a drift here shows up as a test failure.
 */
const KERNEL_RESERVED: readonly { start_pfn: number; end_pfn: number }[] = [
  { start_pfn: 0, end_pfn: 0x100 },
  { start_pfn: 0x1000, end_pfn: 0x5000 },
];

interface FreeRange {
  start: number;
  end: number;
  nid: number;
}

/**
 * The placement policy of the kernel model's PageAllocator (src/kernel/mm/page_alloc.ts) for
 * contiguous allocations: the highest free range of the preferred node that fits, carved from
 * its top, then the other nodes in ascending order; adjacent free ranges of one node coalesce.
 * It keeps a sorted array instead of materialising the interval map on every call, so that a
 * plan of thousands of ranges and TDMRs stays fast. A property test checks that it returns the
 * same addresses as PageAllocator for random maps and allocation sequences.
 */
export class PlanAllocator {
  private readonly free: FreeRange[] = [];
  private readonly nodes: number[];
  /** Node each outstanding allocation was carved from (a fallback node may differ from the one asked). */
  private readonly carved = new Map<number, number>();

  constructor(ranges: readonly { start_pfn: number; end_pfn: number; nid: number }[], reserved: readonly { start_pfn: number; end_pfn: number }[] = KERNEL_RESERVED) {
    for (const r of [...ranges].sort((a, b) => a.start_pfn - b.start_pfn)) {
      this.insert(r.start_pfn, r.end_pfn, r.nid);
    }
    for (const r of reserved) {
      this.remove(r.start_pfn, r.end_pfn);
    }
    this.nodes = [...new Set(ranges.map((r) => r.nid))].sort((a, b) => a - b);
  }

  private insert(start: number, end: number, nid: number): void {
    if (start >= end) {
      return;
    }
    // Position of the first range starting at or after `start` (ranges never overlap).
    let lo = 0;
    let hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.free[mid]!.start < start) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    const prev = this.free[lo - 1];
    const next = this.free[lo];
    const joinPrev = prev !== undefined && prev.end === start && prev.nid === nid;
    const joinNext = next !== undefined && next.start === end && next.nid === nid;
    if (joinPrev && joinNext) {
      prev.end = next.end;
      this.free.splice(lo, 1);
    } else if (joinPrev) {
      prev.end = end;
    } else if (joinNext) {
      next.start = start;
    } else {
      this.free.splice(lo, 0, { start, end, nid });
    }
  }

  private remove(start: number, end: number): void {
    const out: FreeRange[] = [];
    for (const r of this.free) {
      if (r.end <= start || r.start >= end) {
        out.push(r);
        continue;
      }
      if (r.start < start) {
        out.push({ start: r.start, end: start, nid: r.nid });
      }
      if (r.end > end) {
        out.push({ start: end, end: r.end, nid: r.nid });
      }
    }
    // Element by element: a spread of an input-sized array overflows the stack (130,000 ranges).
    this.free.length = 0;
    for (const r of out) {
      this.free.push(r);
    }
  }

  /** alloc_contig_pages(): physical address, or undefined. */
  alloc_contig_pages(nrPages: number, nid: number): number | undefined {
    const order = [nid, ...this.nodes.filter((n) => n !== nid)];
    for (const n of order) {
      for (let i = this.free.length - 1; i >= 0; i--) {
        const r = this.free[i]!;
        if (r.nid !== n || r.end - r.start < nrPages) {
          continue;
        }
        const start = r.end - nrPages;
        if (start === r.start) {
          this.free.splice(i, 1);
        } else {
          r.end = start;
        }
        this.carved.set(start * PAGE, n);
        return start * PAGE;
      }
    }
    return undefined;
  }

  /** free_contig_range() of a range obtained from alloc_contig_pages(). */
  free_contig_range(pa: number, nrPages: number): void {
    const nid = this.carved.get(pa) ?? 0;
    this.carved.delete(pa);
    this.insert(pa / PAGE, pa / PAGE + nrPages, nid);
  }
}

function allocatorAtConstruct(mb: Memblock, sysinfo: TdxSysInfoTdmr): PlanAllocator {
  const a = new PlanAllocator(mb.pfnRanges());
  const list = new_tdmr_list(sysinfo);
  a.alloc_contig_pages(Math.max(1, Math.ceil((list.tdmr_sz * list.max_tdmrs) / PAGE)), 0);
  return a;
}

/** Run construct_tdmrs() on the kernel model's memblock and page allocator. */
function runCore(spec: PlatformSpec, mb: Memblock, sysinfo: TdxSysInfoTdmr, holes: 'memlist' | 'cmrs', prefix: string): CoreRun {
  const alloc = allocatorAtConstruct(mb, sysinfo);
  const log = collectLog(prefix);
  const tmb = build_tdx_memlist(mb.pfnRanges());
  const list = new_tdmr_list(sysinfo);
  const holeRanges: PhysRange[] = holes === 'cmrs' ? spec.cmrs.filter((c) => c.size > 0).map((c) => ({ start: c.base, end: c.base + c.size })) : memlist_ranges(tmb);
  const ret = construct_tdmrs(
    tmb,
    list,
    sysinfo,
    (n, nid) => alloc.alloc_contig_pages(n, nid),
    (pa, n) => alloc.free_contig_range(pa, n),
    log,
    holeRanges,
  );
  const tdmrs = list.nr_consumed_tdmrs > 0 ? list.tdmrs.slice(0, list.nr_consumed_tdmrs) : list.tdmrs.filter((t) => t.size > 0);
  return { ret, list, log: log.lines.map((l) => l.text), tdmrs };
}

function pamtKbOf(tdmrs: readonly TdmrInfo[], es: readonly [number, number, number]): { kb: number; pages: number } {
  let bytes = 0;
  for (const t of tdmrs) {
    for (let ps = 0; ps < 3; ps++) {
      bytes += tdmr_get_pamt_sz(t, ps, es[ps] ?? 16);
    }
  }
  return { kb: Math.floor(bytes / 1024), pages: bytes / PAGE };
}

/** Assumptions of the Dynamic PAMT estimate (also in docs/tools.md). */
export const DPAMT_ASSUMPTIONS: readonly string[] = [
  'Dynamic PAMT (2026 kernels with a module reporting TDX_FEATURES0 bit 36): the 2M and 1G PAMT levels are allocated at init as today',
  'the 4K level is replaced at init by a bitmap of one bit per 4 KiB page of TDMR address space (rounded up to whole pages per TDMR)',
  '4K PAMT entries are added on demand (TDH.PHYMEM.PAMT.ADD) per 2 MiB region that holds 4 KiB private pages: 512 entries x 16 bytes = 8 KiB per region',
  'the kernel keeps one 32-bit reference count per 2 MiB region in its own memory (not PAMT)',
];

function dpamtEstimate(tdmrs: readonly TdmrInfo[], es: readonly [number, number, number], pamtKb: number): DynamicPamtEstimate {
  let b2m = 0;
  let b1g = 0;
  let bitmap = 0;
  let regions2m = 0;
  for (const t of tdmrs) {
    b2m += tdmr_get_pamt_sz(t, 1, es[1] ?? 16);
    b1g += tdmr_get_pamt_sz(t, 2, es[2] ?? 16);
    bitmap += Math.ceil(t.size / PAGE / 8 / PAGE) * PAGE;
    regions2m += Math.floor(t.size / 0x200000);
  }
  const perRegion = 512 * (es[0] ?? 16);
  const staticKb = Math.floor((b2m + b1g + bitmap) / 1024);
  return {
    staticKb,
    pamt2mKb: b2m / 1024,
    pamt1gKb: b1g / 1024,
    bitmapKb: bitmap / 1024,
    onDemandKbPer2M: perRegion / 1024,
    worstCaseKb: staticKb + Math.floor((regions2m * perRegion) / 1024),
    savedKb: pamtKb - staticKb,
    refcountKb: Math.ceil((regions2m * 4) / 1024),
    assumptions: [...DPAMT_ASSUMPTIONS],
  };
}

function failureReason(log: readonly string[], ret: number): PlanFailureReason {
  if (log.some((l) => l.endsWith('TDMRs exhausted.'))) {
    return 'tdmrs-exhausted';
  }
  if (log.some((l) => l.endsWith('reserved areas exhausted.'))) {
    return 'reserved-areas-exhausted';
  }
  return ret === -12 ? 'pamt-alloc' : 'other';
}

/** Plan one kernel/module pair on a resolved platform. */
export function planProfile(spec: PlatformSpec, kernel: KernelProfileName, module: ModuleProfileName, maxTdmrs?: number, maxReserved?: number): ProfilePlan {
  const k = kernelProfile(kernel);
  const m = moduleProfile(module);
  const s = k.strings;
  const limits = moduleLimits(spec, m, maxTdmrs, maxReserved);
  const mb = Memblock.fromE820(spec);
  const holes = k.holes;
  const dmesg: string[] = [];
  let failure: ProfilePlan['failure'] = null;
  const fail = (reason: PlanFailureReason, errno: number, message: string): void => {
    if (failure === null) {
      failure = { reason, errno, errnoName: errname(errno), message };
    }
  };

  // Boot-time detection (tdx_init): the KeyID line, too few KeyIDs, hibernation, ACPI S3. The
  // 2022 RFC probed SEAMRR first and had no hibernation check.
  const kid = spec.keyids;
  let detected = false;
  const rfc = k.detection === 'seamrr';
  if (!k.hostSupport) {
    fail('no-host-support', -19, `${k.name} has no TDX host support (it arrived in Linux 6.8, KVM TDX in 6.16): nothing initializes the module`);
  } else if (rfc && !(spec.seamrr.enabled && spec.seamrr.locked)) {
    dmesg.push(`${s.prefix}SEAMRR is not enabled by BIOS`);
    fail('no-tdx-keyids', -19, 'SEAMRR is not enabled by the BIOS: TDX stays off');
  } else if (kid.tdx === 0) {
    fail('no-tdx-keyids', -19, 'the BIOS enabled no TDX KeyIDs: Linux prints no TDX line at all and TDX stays off');
  } else {
    // The RFC printed nothing when detection succeeded.
    const range = s.keyidRange(kid.mktme + 1, kid.mktme + 1 + kid.tdx);
    if (range !== undefined) {
      dmesg.push(s.prefix + range);
    }
    if (kid.tdx < 2) {
      dmesg.push(s.prefix + s.tooFewKeyids(kid.tdx));
      fail('too-few-keyids', -19, `only ${kid.tdx} TDX KeyID: one is the global KeyID, so no TD could run (enable more TDX KeyIDs in the BIOS)`);
    } else if (rfc) {
      detected = true;
    } else if (spec.firmware.hibernation && k.hibernationCheck) {
      dmesg.push(s.prefix + s.hibernation);
      fail('hibernation', -19, 'hibernation is available: boot with nohibernate (or disable hibernation) to use TDX');
    } else {
      // Compile-time in Linux (CONFIG_ACPI && CONFIG_SUSPEND): printed whatever the firmware says.
      if (s.acpiS3 !== undefined) {
        dmesg.push(s.prefix + s.acpiS3);
      }
      detected = true;
    }
  }
  // 7.1+: tdx_enable() at boot says so when detection left the platform without TDX.
  if (!detected && k.hostSupport && k.initAt === 'boot' && s.notSupported !== undefined) {
    dmesg.push(s.prefix + s.notSupported);
  }
  if (detected && k.initAt === 'none') {
    fail('not-initialized', 0, `${k.name} has no KVM TDX (merged in Linux 6.16): nothing in the kernel initializes the module`);
    detected = false;
  }
  if (detected && !spec.tdxModule.loaded) {
    dmesg.push(s.prefix + s.moduleNotLoaded);
    fail('module-not-loaded', -19, 'no TDX module is loaded: enable TDX / the SEAM loader in the BIOS and install a TDX module');
    detected = false;
  }
  let preflight: PreflightFailure | undefined;
  if (detected && k.moduleInfoViaSysInfo) {
    // TDH.SYS.INFO's identity and CMR lines (Ubuntu's 6.8 kernels), before the TDH.SYS.RD reads.
    const ov = spec.tdxModule.overrides ?? {};
    const line = s.moduleInfo?.({ attributes: 0, vendor_id: 0x8086, major_version: m.major, minor_version: m.minor, build_date: ov['BUILD_DATE'] ?? m.buildDate?.value ?? 0, build_num: ov['BUILD_NUM'] ?? m.buildNum?.value ?? 0 });
    if (line !== undefined) {
      dmesg.push(s.prefix + line);
    }
    for (const c of spec.cmrs.filter((x) => x.size > 0)) {
      dmesg.push(`${s.prefix}CMR: [0x${c.base.toString(16)}, 0x${(c.base + c.size).toString(16)})`);
    }
  }
  if (detected && k.printVersion && m.knownLeaves.has(LEAF.TDH_SYS_RD)) {
    const ov = spec.tdxModule.overrides ?? {};
    dmesg.push(`${s.prefix}Module version: ${ov['MAJOR_VERSION'] ?? m.major}.${ov['MINOR_VERSION'] ?? m.minor}.${String(ov['UPDATE_VERSION'] ?? m.update ?? 0).padStart(2, '0')}`);
  }
  if (detected) {
    preflight = metadataPreflight(k, m);
    if (preflight !== undefined) {
      dmesg.push(...preflight.lines.map((l) => s.prefix + l));
      fail('version-skew', preflight.errno, preflight.summary);
    }
  }

  // The TDMRs (computed even when an earlier step fails, to show what they would be).
  const core = runCore(spec, mb, limits, holes, s.prefix);
  // With a limit hit, the same layout without limits tells what would be needed.
  const wide = core.ret !== 0 ? runCore(spec, mb, { ...limits, max_tdmrs: 1 << 20, max_reserved_per_tdmr: 1 << 20 }, holes, s.prefix) : core;
  const { kb, pages } = pamtKbOf(wide.ret === 0 ? wide.tdmrs : core.tdmrs, limits.pamt_entry_size);
  const pamtLine = s.prefix + s.pamtAllocated(core.ret === 0 ? tdmrs_count_pamt_kb(core.list) : kb, core.ret === 0 ? tdmrs_count_pamt_pages(core.list) : pages);
  if (failure === null) {
    dmesg.push(...core.log);
    if (core.ret !== 0) {
      dmesg.push(s.prefix + s.initFailed(core.ret));
      const reason = failureReason(core.log, core.ret);
      fail(reason, core.ret, reason === 'pamt-alloc' ? 'not enough contiguous free memory for a PAMT' : (core.log.find((l) => l.includes('failed')) ?? `construct_tdmrs() returned ${core.ret}`).replace(s.prefix, ''));
    } else {
      dmesg.push(pamtLine, s.prefix + s.initialized);
    }
  }

  // Headroom, with what would be needed when a limit is hit.
  const used = core.list.nr_consumed_tdmrs > 0 ? core.list.nr_consumed_tdmrs : core.tdmrs.length;
  let worst: number | null = null;
  let worstUsed = 0;
  core.tdmrs.forEach((t, i) => {
    if (t.reserved_areas.length > worstUsed) {
      worstUsed = t.reserved_areas.length;
      worst = i;
    }
  });
  let neededTdmrs = used;
  let neededRsvd = worstUsed;
  const notes: string[] = [];
  if (core.ret !== 0) {
    if (wide.ret === 0) {
      neededTdmrs = wide.list.nr_consumed_tdmrs;
      neededRsvd = Math.max(0, ...wide.tdmrs.map((t) => t.reserved_areas.length));
    }
  }
  if (neededTdmrs > limits.max_tdmrs) {
    notes.push(`${neededTdmrs} TDMRs needed, the module allows ${limits.max_tdmrs}: merge memory ranges (fewer, larger DIMM/NUMA regions) or use fewer 1 GiB windows`);
  } else if (limits.max_tdmrs - used < 4) {
    notes.push(`only ${limits.max_tdmrs - used} TDMR(s) left: memory hot-add or a changed memory map may exhaust them`);
  }
  if (neededRsvd > limits.max_reserved_per_tdmr) {
    notes.push(
      holes === 'cmrs'
        ? `${neededRsvd} reserved areas needed in one TDMR, the module allows ${limits.max_reserved_per_tdmr}: fewer holes between the CMRs per 1 GiB window (${kernel} takes the holes from the CMRs; where the input shows none they were assumed to be the RAM ranges, and the real CMRs, usually fewer and larger, may need fewer)`
        : `${neededRsvd} reserved areas needed in one TDMR, the module allows ${limits.max_reserved_per_tdmr}: fewer holes per 1 GiB window, or a kernel that computes holes from the CMRs (Ubuntu's linux-intel 6.8 from 6.8.0-1006)`,
    );
  }
  const headroom: Headroom = {
    tdmrs: { used, max: limits.max_tdmrs, free: Math.max(0, limits.max_tdmrs - used), needed: neededTdmrs },
    reservedAreas: { worstTdmr: worst, used: worstUsed, max: limits.max_reserved_per_tdmr, free: Math.max(0, limits.max_reserved_per_tdmr - worstUsed), needed: neededRsvd },
    notes,
  };
  const pamtKb = core.ret === 0 ? tdmrs_count_pamt_kb(core.list) : kb;
  return {
    outcome: failure === null ? 'ok' : 'fail',
    kernel,
    module,
    limits: { maxTdmrs: limits.max_tdmrs, maxReserved: limits.max_reserved_per_tdmr, pamtEntrySize: limits.pamt_entry_size },
    tdmrs: core.tdmrs.map(tdmrJson),
    pamtKb,
    pamtPages: core.ret === 0 ? tdmrs_count_pamt_pages(core.list) : pages,
    pamtLine,
    dmesg,
    failure,
    headroom,
    dynamicPamt: dpamtEstimate(core.tdmrs, limits.pamt_entry_size, pamtKb),
    holes,
  };
}

/** The module a kernel is planned with: the option, else the input's, else the kernel's default. */
function moduleFor(kernel: KernelProfileName, opt: ModuleProfileName | undefined, fromInput: ModuleProfileName | undefined): ModuleProfileName {
  const d = kernelProfile(kernel).defaultModule;
  return opt ?? fromInput ?? (isModuleProfileName(d) ? d : DEFAULT_MODULE_PROFILE);
}

/** The kernels a log's plan is compared with: what current kernels would do on the same machine. */
export const CURRENT_KERNELS: readonly KernelProfileName[] = ['linux-6.18', 'linux-7.2'];

/**
 * Plan: resolve the input, then build the TDMRs for the chosen kernel and module (and, with
 * `compare`, for every kernel profile). Without `kernel`, a dmesg is planned for its own kernel
 * (inferred as diagnose infers it). Throws TdxsimError on bad input.
 */
export function plan(req: PlanRequest): PlanResult {
  const kernel = req.kernel === undefined ? undefined : checkKernel(req.kernel);
  const modOpt = checkModule(req.module);
  const maxTdmrs = checkLimit(req.maxTdmrs, '--max-tdmrs', 1 << 16);
  const maxReserved = checkLimit(req.maxReserved, '--max-reserved', 1 << 16);
  const r = resolvePlanInput(req);
  return planResolved(r, kernel, modOpt, maxTdmrs, maxReserved, req.compare === true);
}

/** The kernel and module a plan runs, and where each came from. */
function chooseProfiles(r: ResolvedInput, kernelOpt: KernelProfileName | undefined, modOpt: ModuleProfileName | undefined): PlanInference {
  const b = r.boot;
  let k: PlanInference['kernel'];
  if (kernelOpt !== undefined) {
    k = { profile: kernelOpt, from: 'option', why: `--kernel ${kernelOpt}`, line: null, release: null };
  } else if (b !== undefined) {
    const inf: KernelInference = inferKernel(b);
    k = { profile: inf.kernel, from: 'log', why: inf.why, line: inf.line, release: inf.release };
  } else {
    k = { profile: DEFAULT_KERNEL_PROFILE, from: 'default', why: `the input names no kernel: the reference profile ${DEFAULT_KERNEL_PROFILE}`, line: null, release: null };
  }
  let m: PlanInference['module'];
  if (modOpt !== undefined) {
    m = { profile: modOpt, from: 'option', why: `--module ${modOpt}`, line: null };
  } else if (b !== undefined) {
    // The first failed metadata read tells a 1.0 or 1.5.01 module when no version line does.
    const rd = b.tdx.find((t): t is TdxLine & { kind: 'seamcall-failed' } => t.kind === 'seamcall-failed' && t.leaf === LEAF.TDH_SYS_RD);
    const inf = inferModule(b, k.profile, rd);
    const ver = b.tdx.find((t) => t.kind === 'module-version');
    const fromLine = inf.why.startsWith('module version line') ? (ver?.line ?? null) : inf.why.startsWith('TDH.SYS.RD') || inf.why.startsWith('a metadata field') ? (rd?.line ?? null) : null;
    m = { profile: inf.module, from: fromLine !== null ? 'input' : 'kernel-default', why: inf.why, line: fromLine };
  } else if (r.module !== undefined) {
    m = { profile: r.module, from: 'input', why: `tdxModule.profile of the platform (${r.module})`, line: null };
  } else {
    const mod = moduleFor(k.profile, undefined, undefined);
    m = { profile: mod, from: 'kernel-default', why: `the module ${k.profile} was paired with in its era`, line: null };
  }
  return { kernel: k, module: m };
}

/** Plan an already resolved input. */
export function planResolved(r: ResolvedInput, kernelOpt: KernelProfileName | undefined, modOpt: ModuleProfileName | undefined, maxTdmrs: number | undefined, maxReserved: number | undefined, compare: boolean): PlanResult {
  const spec = r.spec;
  const inferred = chooseProfiles(r, kernelOpt, modOpt);
  const kernel = inferred.kernel.profile;
  const module = inferred.module.profile;
  let main = planProfile(spec, kernel, module, maxTdmrs, maxReserved);
  const notes: string[] = [];
  // A healthy host is never reported as failing because of a default: the log's own kernel
  // succeeded on this machine, so a failing plan is a limit of what the rebuilt machine knows.
  const ok = r.boot?.tdx.find((t) => t.kind === 'init-ok');
  let logSaysOk: PlanResult['logSaysOk'] = null;
  if (ok !== undefined && main.failure !== null && inferred.kernel.from !== 'option' && inferred.module.from !== 'option' && maxTdmrs === undefined && maxReserved === undefined) {
    logSaysOk = { line: ok.line, text: ok.text, modelFailure: main.failure };
    notes.push(
      `the log shows "${ok.text}" (line ${ok.line}): ${kernel} initialised TDX on this machine; the plan's failure (${main.failure.reason}: ${main.failure.message}) comes from what the rebuilt machine cannot know (${spec.cmrs.length === 0 || r.source.kind !== 'cmrs' ? 'assumed CMRs, KeyIDs' : 'holes inside the CMRs'}, or a module release the version line does not pin down), not from the host`,
    );
    main = { ...main, outcome: 'ok', failure: null };
  }
  const mb = Memblock.fromE820(spec);
  const assumptions = [...r.assumptions];
  if (main.holes === 'cmrs' && spec.cmrs.length === 0) {
    assumptions.push(`${main.kernel} computes holes from the CMRs, and this input has none: every TDMR is one reserved area`);
  }
  const current = inferred.kernel.from === 'log' ? CURRENT_KERNELS.filter((kn) => kn !== kernel).map((kn) => planProfile(spec, kn, module, maxTdmrs, maxReserved)) : [];
  return {
    ...main,
    input: r.input,
    source: r.source,
    assumptions,
    memory: {
      ranges: mb.memory.length,
      bytes: mb.totalBytes,
      memlistRanges: build_tdx_memlist(mb.pfnRanges()).length,
      nodes: [...new Set(mb.memory.map((x) => x.nid))].sort((a, b) => a - b),
    },
    ...(compare ? { compare: KERNEL_PROFILE_NAMES.map((kn) => planProfile(spec, kn, moduleFor(kn, modOpt, inferred.module.from === 'input' ? module : r.module), maxTdmrs, maxReserved)) } : {}),
    platform: spec,
    inferred,
    current,
    logSaysOk,
    notes,
    warnings: r.warnings ?? [],
  };
}

/** JSON form of a plan (what `tdxsim plan --json` prints). */
export function planJson(p: PlanResult): unknown {
  const profile = (x: ProfilePlan): Record<string, unknown> => ({
    outcome: x.outcome,
    kernel: x.kernel,
    module: x.module,
    pamtKb: x.pamtKb,
    pamtPages: x.pamtPages,
    pamtLine: x.pamtLine,
    limits: x.limits,
    holes: x.holes,
    failure: x.failure,
    tdmrs: x.tdmrs,
    dmesg: x.dmesg,
    headroom: x.headroom,
    dynamicPamt: x.dynamicPamt,
  });
  return {
    ...profile(p),
    input: p.input,
    source: p.source,
    assumptions: p.assumptions,
    memory: p.memory,
    inferred: p.inferred,
    current: p.current.map(profile),
    logSaysOk: p.logSaysOk,
    notes: p.notes,
    warnings: p.warnings,
    ...(p.compare !== undefined ? { compare: p.compare.map(profile) } : {}),
  };
}

/** Plan the platform of a path-free spec name: exported for tests and benches. */
export function planSpec(spec: PlatformSpec, kernel: KernelProfileName = DEFAULT_KERNEL_PROFILE, module?: ModuleProfileName, maxTdmrs?: number, maxReserved?: number): PlanResult {
  return planResolved(fromSpec(spec, { name: spec.name, kind: 'object' }), kernel, module, maxTdmrs, maxReserved, false);
}
