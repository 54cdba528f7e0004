/**
 * `tdxsim diagnose`: read a real dmesg, find the TDX story in it (BIOS enablement, KeyIDs,
 * module version, CMRs, metadata reads, SEAMCALL failures, PAMT size, success) whatever the
 * kernel era, classify what happened, rebuild the machine from the facts the log holds,
 * reproduce the boot in the simulator, compare the TDX lines line for line, and end with the
 * cause and the remedy (including the kernel or module profile that would succeed).
 */
import { KERNEL_PROFILE_NAMES, kernelProfile } from '../kernel/profiles.js';
import type { KernelProfileName } from '../kernel/profiles.js';
import { leafName } from '../module/leafNumbers.js';
import { describeReleases, MODULE_PROFILE_NAMES, moduleProfile } from '../module/profiles.js';
import type { ModuleProfileName } from '../module/profiles.js';
import { describeStatus } from '../module/status.js';
import { parsePlatformSpec } from '../platform/spec.js';
import type { PlatformSpec, PlatformSpecInput } from '../platform/spec.js';
import { isTdxsimError, TdxsimError } from '../api/errors.js';
import { explainStatus } from './explain.js';
import { decodeText, readInputFile, splitLines } from '../api/parse/input.js';
import type { TextInput } from '../api/parse/input.js';
import { kernelishLines, mainBoot, parseDmesg } from './parse/dmesg.js';
import type { BootFacts, DmesgFacts, TdxLine } from './parse/dmesg.js';
import { isRebuilt, logCmrs, machineFromDmesg } from './parse/machine.js';
import type { MemorySource } from './parse/machine.js';
import { hx } from './parse/num.js';
import { inferKernel, inferModule } from './era.js';
import { metadataPreflight, planProfile } from './plan.js';
import { TDX_PRINTKS } from './parse/printks.js';
import { run } from '../api/run.js';

/** What `diagnose` is asked. */
export interface DiagnoseRequest {
  /** Path of the dmesg file. */
  readonly file?: string;
  /** The dmesg text (library use). */
  readonly text?: string;
  /** How `text` is named in messages (default "<text>"). */
  readonly name?: string;
  /** Rebuild and simulate (default true). */
  readonly reproduce?: boolean;
}

/** The classes of outcome. */
export const DIAGNOSIS_CLASSES = [
  'success',
  'kexec-success',
  'not-enabled-by-bios',
  'cpus-not-in-vmx',
  'runtime-seamcall-failure',
  'module-not-loaded',
  'too-few-keyids',
  'hibernation',
  'version-skew',
  'reserved-areas-exhausted',
  'tdmrs-exhausted',
  'pamt-allocation-failure',
  'key-programming-failure',
  'cpu-msr-misconfiguration',
  'cpus-offline',
  'module-not-in-initial-state',
  'config-rejected',
  'kvm-refused',
  'not-initialized',
  'no-tdx',
  'tdx-guest',
  'unknown-failure',
] as const;
/** A diagnosis class. */
export type DiagnosisClass = (typeof DIAGNOSIS_CLASSES)[number];

const TITLES: Record<DiagnosisClass, string> = {
  success: 'TDX initialised successfully',
  'kexec-success': 'TDX initialised successfully in a kernel started by kexec',
  'not-enabled-by-bios': 'TDX (SEAM) not enabled by the BIOS: the first SEAMCALL raised #GP',
  'cpus-not-in-vmx': 'a CPU was not in VMX operation: the SEAMCALL raised #UD',
  'runtime-seamcall-failure': 'SEAMCALL failures at run time, not at initialisation (TD build, run or teardown, or a later metadata read)',
  'module-not-loaded': 'TDX module not loaded',
  'too-few-keyids': 'too few TDX KeyIDs',
  hibernation: 'TDX refused because hibernation is available',
  'version-skew': 'kernel/module version skew',
  'reserved-areas-exhausted': 'reserved areas exhausted',
  'tdmrs-exhausted': 'TDMRs exhausted',
  'pamt-allocation-failure': 'PAMT allocation failure',
  'key-programming-failure': 'key programming (TDH.SYS.KEY.CONFIG) failure',
  'cpu-msr-misconfiguration': 'CPU or MSR misconfiguration',
  'cpus-offline': 'not every CPU was online for TDX initialisation',
  'module-not-in-initial-state': 'TDX module not in its initial state (kexec or warm reset)',
  'config-rejected': 'the module rejected the TDMR configuration',
  'kvm-refused': 'KVM refused TDX',
  'not-initialized': 'TDX enabled by the BIOS but never initialised',
  'no-tdx': 'no TDX lines: TDX not enabled',
  'tdx-guest': 'this log is from a TDX guest, not a host',
  'unknown-failure': 'TDX initialisation failed for an unrecognised reason',
};

/** One line of evidence. */
export interface Evidence {
  readonly line: number;
  readonly text: string;
}

/** A SEAMCALL failure found in the log, decoded. */
export interface SeamcallFailure {
  readonly line: number;
  readonly leaf: number;
  readonly leafName: string;
  readonly status: string;
  readonly statusName: string;
  readonly meaning: string;
  readonly registers?: Record<string, string>;
}

/** One step of the line-for-line comparison. */
export interface DiffLine {
  readonly op: 'same' | 'missing' | 'extra';
  /** The log's line (missing: the simulator did not print it). */
  readonly log?: string;
  readonly logLine?: number;
  /** The simulator's line (extra: the log does not have it). */
  readonly sim?: string;
  /** Why the line differs (never absent on a difference). */
  readonly reason?: DiffReason;
}

/** Why a line of the log and of the reproduction differ. */
export interface DiffReason {
  /**
   * not-printed: a line the model's kernel (or the log's kernel) does not print; unknown-value: a
   * value the rebuilt machine cannot know (assumed CMRs, KeyIDs); cut-short: the log is cut off;
   * informational: a line that describes, not decides (CMRs); diverged: the simulated kernel took
   * another path than the log's.
   */
  readonly kind: 'not-printed' | 'unknown-value' | 'cut-short' | 'informational' | 'diverged';
  readonly text: string;
}

/** The reproduction in the simulator. */
export interface Reproduction {
  readonly attempted: boolean;
  /** 'simulator': the scenario runner (src/api run); 'plan-core': the pure TDMR core only. */
  readonly method: 'simulator' | 'plan-core' | 'none';
  readonly why: string;
  readonly kernel?: KernelProfileName;
  readonly module?: ModuleProfileName;
  readonly faults: { readonly site: string; readonly count: number }[];
  readonly source?: MemorySource;
  readonly platform?: PlatformSpecInput;
  /** TDX lines the simulator printed. */
  readonly dmesg: string[];
  /** True when every TDX line of the log was reproduced and nothing else (null: not compared). */
  readonly matches: boolean | null;
  readonly compared: { readonly log: number; readonly sim: number; readonly same: number };
  /** Every difference has a reason, and none of them is a divergence of the bring-up path. */
  readonly explained: boolean;
  readonly diff: DiffLine[];
  readonly notes: string[];
}

/** A kernel/module pair and what it would do on this machine. */
export interface Alternative {
  readonly kernel: KernelProfileName;
  readonly module: ModuleProfileName;
  /** What the plan core says (detection, metadata compatibility, TDMRs, PAMT). */
  readonly outcome: 'ok' | 'fail';
  readonly failure: string | null;
  readonly pamtKb: number;
  /** What a full simulated bring-up says, for the pairs the remedy suggests (null: not simulated). */
  readonly simulated: 'ok' | 'fail' | null;
}

/** What `diagnose` returns. */
export interface DiagnoseResult {
  readonly input: string;
  readonly boot: { readonly firstLine: number; readonly lastLine: number; readonly kernelVersion: string | null; readonly boots: number };
  readonly era: { readonly prefix: string; readonly pamtUnit: string | null; readonly kernel: KernelProfileName; readonly kernelWhy: string; readonly module: ModuleProfileName; readonly moduleWhy: string };
  readonly story: {
    readonly biosEnabled: Evidence | null;
    readonly keyids: { readonly start: number; readonly end: number; readonly line: number } | null;
    readonly module: { readonly version: string; readonly line: number } | null;
    readonly cmrs: { readonly base: string; readonly end: string; readonly line: number }[];
    readonly metadataReads: SeamcallFailure[];
    readonly failures: SeamcallFailure[];
    readonly pamt: { readonly value: number; readonly unit: string; readonly kb: number; readonly line: number } | null;
    readonly success: Evidence | null;
    /** Every TDX line, in order. */
    readonly lines: (Evidence & { readonly kind: string })[];
  };
  readonly classification: { readonly class: DiagnosisClass; readonly title: string; readonly evidence: Evidence[]; readonly explanation: string };
  readonly reproduction: Reproduction;
  readonly cause: string;
  readonly remedy: string[];
  readonly alternatives: Alternative[];
  readonly assumptions: string[];
  readonly warnings: string[];
  /** How sure the answer is, and what it rests on. */
  readonly confidence: { readonly level: 'high' | 'medium' | 'low'; readonly reasons: string[] };
  /** What was inferred from which line: the kernel and the module release. */
  readonly inferred: {
    readonly kernel: { readonly release: string | null; readonly line: number | null; readonly text: string | null; readonly profile: KernelProfileName; readonly why: string };
    readonly module: { readonly version: string | null; readonly line: number | null; readonly profile: ModuleProfileName; readonly why: string };
  };
  /** Lines cut off in the middle: what they could have said, and what remains after narrowing. */
  readonly truncated: TruncationAnalysis[];
}

// ---------------------------------------------------------------- input

function readDmesg(req: DiagnoseRequest): { t: TextInput; f: DmesgFacts } {
  let t: TextInput;
  if (req.text !== undefined) {
    const name = req.name ?? '<text>';
    t = splitLines(decodeText(Buffer.from(req.text, 'utf8'), name, 'dmesg'), name);
  } else if (req.file !== undefined && req.file !== '') {
    t = splitLines(decodeText(readInputFile(req.file, 'dmesg'), req.file, 'dmesg'), req.file);
  } else {
    throw new TdxsimError('TDXSIM_BAD_ARGS', 'diagnose: give a dmesg file (dmesg > boot.log, or journalctl -k -b > boot.log)');
  }
  const f = parseDmesg(t.lines, t.name, t.endsMidLine);
  if (kernelishLines(f) === 0 && f.boots.every((b) => b.tdx.length === 0)) {
    const first = t.lines.find((l) => l.trim() !== '')?.slice(0, 80) ?? '';
    throw new TdxsimError('TDXSIM_NOT_DMESG', `dmesg ${t.name}: does not look like a kernel log (no timestamps, no kernel messages; line 1: "${first}")`);
  }
  return { t, f };
}

// ---------------------------------------------------------------- the story

function seamcallFailures(b: BootFacts): SeamcallFailure[] {
  const out: SeamcallFailure[] = [];
  b.tdx.forEach((t, i) => {
    if (t.kind !== 'seamcall-failed') {
      return;
    }
    const d = describeStatus(t.status);
    const regs: Record<string, string> = {};
    for (const n of [b.tdx[i + 1], b.tdx[i + 2]]) {
      if (n !== undefined && n.kind === 'seamcall-regs') {
        for (const [k, v] of Object.entries(n.regs)) {
          regs[k] = `0x${v.toString(16).padStart(16, '0')}`;
        }
      }
    }
    const e = explainStatus(t.status, t.leafRaw);
    out.push({
      line: t.line,
      leaf: t.leaf,
      leafName: leafName(t.leaf),
      status: d.value,
      statusName: d.display,
      meaning: e.meaning,
      ...(Object.keys(regs).length > 0 ? { registers: regs } : {}),
    });
  });
  return out;
}

function pamtKbOf(value: number, unit: string): number {
  return unit === 'pages' ? value * 4 : value;
}

const ev = (t: TdxLine): Evidence => ({ line: t.line, text: t.text });

interface Classified {
  readonly cls: DiagnosisClass;
  readonly evidence: Evidence[];
  readonly explanation: string;
  /** The SEAMCALL failure that decided it, if any. */
  readonly seamcall?: TdxLine & { kind: 'seamcall-failed' };
  /** runtime-seamcall-failure: which leaves failed (decides the remedy). */
  readonly runtime?: RuntimeKind;
}

/** The leaves of runtime failures: all teardown, all metadata reads, all TD leaves, or a mix. */
type RuntimeKind = 'removal' | 'teardown' | 'metadata' | 'td' | 'mixed';

const STATUS_VMFAILINVALID = 0x8000ff00ffff0000n;

/** Leaves that read the module's global metadata (TDH.SYS.INFO, TDH.SYS.RD, TDH.SYS.RDALL). */
const METADATA_LEAVES = new Set([32, 34, 37]);
/** How many distinct (leaf, status) pairs a runtime verdict names before it summarises the rest. */
const RUNTIME_PAIRS_NAMED = 4;

/**
 * The verdict text for SEAMCALL failures at run time: whether the module had initialised, how
 * many failures, and per (leaf, status) pair how often, the status by name and what it means for
 * that leaf. Linear in the number of failures (one map pass; the status is explained once per
 * pair), so a log of hundreds of thousands of lines stays fast.
 */
function runtimeExplanation(runtime: readonly (TdxLine & { kind: 'seamcall-failed' })[], initOk: TdxLine | undefined, tdx: readonly TdxLine[]): { text: string; kind: RuntimeKind } {
  const pairs = new Map<string, { sc: TdxLine & { kind: 'seamcall-failed' }; count: number }>();
  for (const sc of runtime) {
    const key = `${sc.leafRaw}:${sc.status}`;
    const p = pairs.get(key);
    if (p === undefined) {
      pairs.set(key, { sc, count: 1 });
    } else {
      p.count++;
    }
  }
  const all = [...pairs.values()];
  const named = all.slice(0, RUNTIME_PAIRS_NAMED).map(({ sc, count }) => {
    const d = describeStatus(sc.status);
    return `${count} × ${leafName(sc.leaf)} returned ${d.display} (${d.value}): ${explainStatus(sc.status, sc.leafRaw).meaning}`;
  });
  const rest = all.length > RUNTIME_PAIRS_NAMED ? `; and ${all.length - RUNTIME_PAIRS_NAMED} more leaf/status pair(s)` : '';
  const kind: RuntimeKind = runtime.every((r) => REMOVAL_LEAVES.has(r.leaf))
    ? 'removal'
    : runtime.every((r) => TEARDOWN_LEAVES.has(r.leaf) || REMOVAL_LEAVES.has(r.leaf))
    ? 'teardown'
    : runtime.every((r) => METADATA_LEAVES.has(r.leaf))
      ? 'metadata'
      : runtime.every((r) => !INIT_LEAVES.has(r.leaf))
        ? 'td'
        : 'mixed';
  const context = {
    removal: 'while KVM removed a TD\'s private memory (at teardown from Linux 6.16, or when the guest gave pages back): the host\'s TDX came up, a TD operation failed',
    teardown: 'while KVM tore a TD down and reclaimed its pages: the host\'s TDX came up, a TD operation failed',
    metadata: 'reads of the module\'s global metadata after initialisation (the log does not name the reader): TDX stays up; each read failed for its caller',
    td: 'while KVM built or ran a TD: the host\'s TDX came up, a TD operation failed',
    mixed: 'after initialisation: the host\'s TDX came up, later SEAMCALLs failed',
  }[kind];
  const head = initOk !== undefined ? `the TDX module initialised (line ${initOk.line}), then ` : '';
  return { text: `${head}${runtime.length + suppressedCount(tdx)} SEAMCALL failure(s) at run time${suppressedNote(tdx)}: ${named.join('; ')}${rest}; ${context}${splatNote(tdx)}`, kind };
}

/** Failures printk's rate limit left out: the sum of KVM's `<function>: N callbacks suppressed` lines. */
function suppressedCount(tdx: readonly TdxLine[]): number {
  let n = 0;
  for (const t of tdx) {
    if (t.kind === 'kvm-suppressed') {
      n += t.count;
    }
  }
  return n;
}

/** ` (N of them not printed: …)` when the log has KVM's rate-limit lines. */
function suppressedNote(tdx: readonly TdxLine[]): string {
  const lines = tdx.filter((t): t is TdxLine & { kind: 'kvm-suppressed' } => t.kind === 'kvm-suppressed');
  if (lines.length === 0) {
    return '';
  }
  const where = lines.map((t) => `line ${t.line}: ${t.func}: ${t.count}`).join(', ');
  return ` (${suppressedCount(tdx)} of them not printed, counted from printk's rate-limit lines: ${where})`;
}

/** `; WARNING splat(s) at …` when the log has KVM/TDX WARN splats (the first per call site). */
function splatNote(tdx: readonly TdxLine[]): string {
  const sites = new Map<string, { first: TdxLine & { kind: 'warn-splat' }; count: number }>();
  for (const t of tdx) {
    if (t.kind !== 'warn-splat') {
      continue;
    }
    const key = `${t.file}:${t.fileLine}`;
    const s = sites.get(key);
    if (s === undefined) {
      sites.set(key, { first: t, count: 1 });
    } else {
      s.count++;
    }
  }
  if (sites.size === 0) {
    return '';
  }
  const list = [...sites.values()].map(({ first, count }) => `${first.fn}() at ${first.file}:${first.fileLine} (line ${first.line}${count > 1 ? `, ${count} times` : ''})`);
  return `; WARNING splat(s) from ${list.join(', ')}: KVM's WARN_ON_ONCE()/KVM_BUG_ON() fired (a KVM_BUG_ON() also marks the VM bugged: its later ioctls fail with -EIO)`;
}

/** Leaves of module initialisation (and the MVP's TDH.SYS.DEBUGCONFIG probe); every other leaf runs for a TD. */
const INIT_LEAVES = new Set([31, 32, 33, 34, 35, 36, 37, 44, 45, 52, 53, 69, 254]);
/** Leaves KVM runs while it tears a TD down and reclaims its pages. */
const TEARDOWN_LEAVES = new Set([19, 20, 27, 28, 29, 30, 40, 41]);
/**
 * Leaves of KVM's removal of a private page (tdx_sept_remove_private_spte(): TDH.MEM.RANGE.BLOCK,
 * TDH.MEM.TRACK, TDH.MEM.PAGE.REMOVE, TDH.PHYMEM.PAGE.WBINVD), run at teardown from 6.16 (the
 * guest_memfd goes first) and whenever a running TD loses a private page.
 * @see linux arch/x86/kvm/vmx/tdx.c tdx_sept_remove_private_spte() (v6.16.1, v6.18.2)
 */
const REMOVAL_LEAVES = new Set([7, 38, 29, 41]);

/** What a cut-off line's candidates would mean, and which remain after narrowing. */
export interface TruncationAnalysis {
  readonly line: number;
  readonly text: string;
  readonly candidates: { readonly id: string; readonly format: string; readonly cls: DiagnosisClass | null; readonly kept: boolean; readonly why: string }[];
}

/** Facts from outside the lines that narrow a cut-off line (from the plan core on the rebuilt machine). */
export interface ClassifyHints {
  /** TDMRs the plan core needs for the memory the log shows (an upper bound when only CMRs are known). */
  readonly tdmrsNeeded?: number;
  readonly maxTdmrs?: number;
  /** Where the memory facts came from ("CMR lines", "BIOS-e820"...). */
  readonly memorySource?: string;
  /** True when the log shows the holes inside the memory (e820 or node ranges), not only CMRs. */
  readonly holesKnown?: boolean;
  readonly rsvdExhaustedInPlan?: boolean;
}

const KIND_CLASS: Record<string, DiagnosisClass> = {
  'tdmrs-exhausted': 'tdmrs-exhausted',
  'rsvd-exhausted': 'reserved-areas-exhausted',
  hibernation: 'hibernation',
  'too-few-keyids': 'too-few-keyids',
  'module-not-loaded': 'module-not-loaded',
  'not-enabled-by-bios': 'not-enabled-by-bios',
  'not-in-vmx': 'cpus-not-in-vmx',
  'rbp-clobber': 'version-skew',
  'init-ok': 'success',
  'init-failed': 'unknown-failure',
  'no-tdx-platform': 'no-tdx',
};

/** Match a cut-off line against every string it could be the start of, and narrow by the facts. */
export function analyseTruncation(t: TdxLine & { kind: 'truncated' }, hints: ClassifyHints): TruncationAnalysis {
  const candidates = t.candidates.map((id) => {
    const p = TDX_PRINTKS.find((x) => x.id === id)!;
    const cls = KIND_CLASS[p.kind] ?? (p.kind === 'seamcall-failed' ? 'runtime-seamcall-failure' : null);
    if (p.kind === 'tdmrs-exhausted' && hints.tdmrsNeeded !== undefined && hints.maxTdmrs !== undefined && hints.tdmrsNeeded < hints.maxTdmrs) {
      return {
        id,
        format: p.format,
        cls,
        kept: false,
        why: `ruled out: the memory the log shows (${hints.memorySource ?? 'its memory lines'}) needs ${hints.tdmrsNeeded} TDMR(s)${hints.holesKnown === true ? '' : ' when the memory inside each range is contiguous'}, far below the module's ${hints.maxTdmrs}`,
      };
    }
    if (p.kind === 'rsvd-exhausted' && hints.holesKnown === true && hints.rsvdExhaustedInPlan === false) {
      return { id, format: p.format, cls, kept: false, why: 'ruled out: the plan core, on the memory map the log shows, exhausts no TDMR\'s reserved areas' };
    }
    const why = p.kind === 'rsvd-exhausted' && hints.holesKnown !== true ? 'remains: the log shows no e820 map or node ranges, so the holes inside each TDMR (each costs a reserved area) are unknown' : 'remains: nothing in the log rules it out';
    return { id, format: p.format, cls, kept: true, why };
  });
  return { line: t.line, text: t.text, candidates };
}

/** Classify one boot's TDX lines. @see docs/tools.md "Classification rules" */
export function classify(b: BootFacts, hints: ClassifyHints = {}): Classified {
  const tdx = b.tdx;
  const find = <K extends TdxLine['kind']>(k: K): (TdxLine & { kind: K }) | undefined => tdx.find((t) => t.kind === k) as (TdxLine & { kind: K }) | undefined;
  const host = tdx.filter((t) => t.prefix === 'virt/tdx: ' || t.prefix === 'tdx: ' || t.prefix === 'x86/virt/tdx: ');
  const guest = find('guest');
  if (guest !== undefined && find('keyid-range') === undefined) {
    return { cls: 'tdx-guest', evidence: [ev(guest)], explanation: 'the kernel detected that it runs inside a TD: this is a guest log; diagnose the host\'s dmesg instead' };
  }
  const noPlatform = find('no-tdx-platform');
  if (noPlatform !== undefined) {
    return { cls: 'no-tdx', evidence: [ev(noPlatform)], explanation: 'the kernel says the platform has no TDX: the CPU does not support it (client or older Xeon parts), or the BIOS does not expose it' };
  }
  if (host.length === 0 && tdx.every((t) => t.kind === 'kvm' || t.kind === 'other' || (t.kind === 'truncated' && t.prefix !== ''))) {
    const kvm = tdx.find((t) => t.kind === 'kvm' && t.what === 'no-keyids');
    return {
      cls: 'no-tdx',
      evidence: kvm !== undefined ? [ev(kvm)] : [],
      explanation:
        'the log has no line of the kernel\'s TDX host code: the BIOS did not enable TDX KeyIDs (MSR 0x87 reports none, and Linux then prints nothing), the kernel was built without CONFIG_INTEL_TDX_HOST, or the log does not start at boot',
    };
  }
  const tooFew = find('too-few-keyids');
  if (tooFew !== undefined) {
    const r = find('keyid-range');
    return { cls: 'too-few-keyids', evidence: [...(r !== undefined ? [ev(r)] : []), ev(tooFew)], explanation: 'the BIOS partitioned fewer than 2 KeyIDs for TDX: one is needed as the global KeyID and at least one for a TD' };
  }
  const hib = find('hibernation');
  if (hib !== undefined) {
    return { cls: 'hibernation', evidence: [ev(hib)], explanation: 'Linux refuses TDX while hibernation is possible: a hibernation image would lose the TDX module state and the private memory\'s integrity' };
  }
  const notEnabled = find('not-enabled-by-bios');
  if (notEnabled !== undefined) {
    const r = find('keyid-range');
    return {
      cls: 'not-enabled-by-bios',
      evidence: [...(r !== undefined ? [ev(r)] : []), ev(notEnabled)],
      explanation: 'the first SEAMCALL raised #GP: the CPU is not in SEAM-capable state (SEAMRR not enabled, no TDX module loaded by the BIOS), although the BIOS did set up TDX KeyIDs; the kernel gives up with -EOPNOTSUPP/-ENODEV',
    };
  }
  const notVmx = find('not-in-vmx');
  if (notVmx !== undefined) {
    return { cls: 'cpus-not-in-vmx', evidence: [ev(notVmx)], explanation: `a SEAMCALL raised #UD on ${notVmx.cpu !== undefined ? `CPU ${notVmx.cpu}` : 'a CPU'}: that CPU was not in VMX operation (VMXON not done there: KVM not loaded yet, or a CPU brought online outside KVM's hotplug callbacks); the kernel returns -EACCES` };
  }
  const notLoaded = find('module-not-loaded');
  const vmfail = tdx.find((t) => t.kind === 'seamcall-failed' && t.status === STATUS_VMFAILINVALID);
  if (notLoaded !== undefined || vmfail !== undefined) {
    return {
      cls: 'module-not-loaded',
      evidence: [notLoaded, vmfail].filter((x): x is TdxLine => x !== undefined).map(ev),
      explanation: 'the first SEAMCALL (TDH.SYS.INIT) ended in VMfailInvalid: no TDX module is loaded in SEAM range; TDX stays off (-ENODEV)',
    };
  }
  const failures = tdx.filter((t): t is TdxLine & { kind: 'seamcall-failed' } => t.kind === 'seamcall-failed');
  const initOk = find('init-ok');
  const runtime: (TdxLine & { kind: 'seamcall-failed' })[] = [];
  // One pass from the end: each failure's index and the first init failure after it, so that
  // logs with hundreds of thousands of SEAMCALL failures stay linear.
  const position = new Map<TdxLine, number>();
  const initFailedAfter = new Map<TdxLine, TdxLine | undefined>();
  let laterInitFailed: TdxLine | undefined;
  for (let i = tdx.length - 1; i >= 0; i--) {
    const t = tdx[i] as TdxLine;
    position.set(t, i);
    if (t.kind === 'seamcall-failed') {
      initFailedAfter.set(t, laterInitFailed);
    } else if (t.kind === 'init-failed') {
      laterInitFailed = t;
    }
  }
  for (const sc of failures) {
    const leaf = sc.leaf;
    const nextInitFailed = initFailedAfter.get(sc);
    // After the module initialised, an initialisation-family leaf is a call at run time (a later
    // TDH.SYS.RD metadata read, TDH.SYS.LP.INIT of a CPU onlined later): it does not explain the
    // init, but it is still a failure the verdict must name.
    if (INIT_LEAVES.has(leaf) && initOk !== undefined && sc.line > initOk.line) {
      runtime.push(sc);
      continue;
    }
    if (INIT_LEAVES.has(leaf) && initOk !== undefined && !(nextInitFailed !== undefined && nextInitFailed.line < initOk.line)) {
      continue;
    }
    const d = describeStatus(sc.status);
    const name = d.name;
    const evs = [ev(sc), ...(nextInitFailed !== undefined ? [ev(nextInitFailed)] : [])];
    const status = `${leafName(leaf)} returned ${d.display} (${d.value})`;
    if (!INIT_LEAVES.has(leaf)) {
      runtime.push(sc);
      continue;
    }
    // A failure after a successful init (a late CPU, a TD operation) does not explain the init;
    // one before it that no init failure followed was benign (the MVP's TDDEBUGCONFIG probe).
    const next = tdx[(position.get(sc) ?? -2) + 1];
    if (next !== undefined && next.kind === 'debugconfig-unsupported') {
      continue;
    }
    if ((leaf === 34 || leaf === 32) && (name === 'TDX_METADATA_FIELD_ID_INCORRECT' || name === 'TDX_SYS_NOT_READY' || name === 'TDX_OPERAND_INVALID' || name === 'TDX_SYS_LP_INIT_NOT_DONE')) {
      const why =
        name === 'TDX_SYS_NOT_READY' || name === 'TDX_OPERAND_INVALID'
          ? 'the kernel reads metadata with TDH.SYS.RD, which this module does not have (a TDX 1.0 module)'
          : name === 'TDX_SYS_LP_INIT_NOT_DONE'
            ? 'the kernel reads module information before TDH.SYS.LP.INIT (a host series that skipped SYS.INIT/LP.INIT)'
            : 'the kernel reads a metadata field this module version does not have (e.g. MAX_VCPUS_PER_TD, read by 6.16+, missing in 1.5.01)';
      return { cls: 'version-skew', evidence: evs, explanation: `${status}: ${why}`, seamcall: sc };
    }
    if (leaf === 34 || leaf === 32) {
      return { cls: 'version-skew', evidence: evs, explanation: `${status}: the kernel's metadata read failed; the module is older than the kernel expects`, seamcall: sc };
    }
    if (leaf === 33 && name === 'TDX_SYS_INIT_NOT_PENDING') {
      return { cls: 'module-not-in-initial-state', evidence: evs, explanation: `${status}: the module was already initialised before this kernel ran (kexec from a kernel that used TDX, or a warm reset that kept SEAMRR)`, seamcall: sc };
    }
    if ((leaf === 35 && name === 'TDX_SYS_LP_INIT_NOT_PENDING') || (leaf === 45 && name === 'TDX_SYS_CONFIG_NOT_PENDING')) {
      const kexec = tdx.some((t) => t.kind === 'seamcall-failed' && t.leaf === 33);
      if (kexec) {
        continue;
      }
      return { cls: 'cpus-offline', evidence: evs, explanation: `${status}: some logical CPUs never ran TDH.SYS.LP.INIT before TDH.SYS.CONFIG (CPUs offline at init: maxcpus=, nosmt, offlined CPUs)`, seamcall: sc };
    }
    if (leaf === 36 && name === 'TDX_SYS_NOT_READY') {
      return { cls: 'cpus-offline', evidence: evs, explanation: `${status}: TDH.SYS.KEY.CONFIG did not run on every package (a package without an online CPU)`, seamcall: sc };
    }
    if (leaf === 31) {
      return { cls: 'key-programming-failure', evidence: evs, explanation: `${status}: programming the global KeyID's key failed on a package`, seamcall: sc };
    }
    if ((leaf === 33 || leaf === 35) && (d.cls === 0x09 || name === 'TDX_CMR_LIST_INVALID' || name === 'TDX_NUM_ACTIVATED_HKIDS_NOT_SUPPORTED' || name === 'TDX_INCOMPATIBLE_SEAM_CAPABILITIES' || name === 'TDX_RND_NO_ENTROPY')) {
      return { cls: 'cpu-msr-misconfiguration', evidence: evs, explanation: `${status}: the module's platform checks rejected a CPUID, MSR, SMRR, KeyID or CMR setting (on real hosts usually a BIOS too old for the module)`, seamcall: sc };
    }
    if (leaf === 45 || leaf === 36) {
      return { cls: 'config-rejected', evidence: evs, explanation: `${status}: the module refused the kernel's TDMR configuration`, seamcall: sc };
    }
    return { cls: 'unknown-failure', evidence: evs, explanation: status, seamcall: sc };
  }
  const rbp = find('rbp-clobber');
  if (rbp !== undefined) {
    return { cls: 'version-skew', evidence: [ev(rbp)], explanation: 'the module lacks TDX_FEATURES0.NO_RBP_MOD (it clobbers RBP), which 6.14+ kernels refuse: the module is too old for the kernel' };
  }
  const tdmrs = find('tdmrs-exhausted');
  if (tdmrs !== undefined) {
    const lim = find('tdmr-limit');
    return { cls: 'tdmrs-exhausted', evidence: [...(lim !== undefined ? [ev(lim)] : []), ev(tdmrs)], explanation: 'the memory map needs more 1 GiB-aligned TDMRs than the module supports (one TDMR per memory range that does not share a 1 GiB window with the previous one)' };
  }
  const rsvd = find('rsvd-exhausted');
  if (rsvd !== undefined) {
    return { cls: 'reserved-areas-exhausted', evidence: [ev(rsvd)], explanation: `TDMR [${hx(rsvd.base)}, ${hx(rsvd.end)}) needs more reserved areas (holes between memory ranges plus PAMTs inside it) than the module's limit per TDMR` };
  }
  const cut = tdx.find((t): t is TdxLine & { kind: 'truncated' } => t.kind === 'truncated' && t.prefix !== '');
  if (cut !== undefined && initOk === undefined) {
    const a = analyseTruncation(cut, hints);
    const kept = a.candidates.filter((x) => x.kept && x.cls !== null);
    const classes = [...new Set(kept.map((x) => x.cls!))];
    if (classes.length === 1) {
      const ruled = a.candidates.filter((x) => !x.kept);
      return {
        cls: classes[0]!,
        evidence: [ev(cut)],
        explanation: `line ${cut.line} is cut off ("${cut.text}"); of the ${a.candidates.length} string(s) of this era it could be the start of, ${kept.map((x) => `"${x.format}"`).join(', ')} remain${ruled.length > 0 ? ` (${ruled.map((x) => `"${x.format}" ${x.why}`).join('; ')})` : ''}`,
      };
    }
  }
  const failed = find('init-failed');
  if (failed !== undefined) {
    if (failed.errno === -12) {
      return { cls: 'pamt-allocation-failure', evidence: [ev(failed)], explanation: 'init_tdx_module() failed with -ENOMEM: a PAMT (about 1/256 of the memory, physically contiguous per TDMR) could not be allocated' };
    }
    const detail = failed.errno !== undefined ? ` with ${failed.errno}` : '';
    return { cls: 'unknown-failure', evidence: [ev(failed)], explanation: `TDX initialisation failed${detail}, and the log shows no SEAMCALL failure or TDMR message that explains it` };
  }
  if (runtime.length > 0) {
    const first = runtime[0]!;
    const r = runtimeExplanation(runtime, initOk, tdx);
    return {
      cls: 'runtime-seamcall-failure',
      evidence: [...(initOk !== undefined && initOk.line < first.line ? [ev(initOk)] : []), ev(first)],
      explanation: r.text,
      seamcall: first,
      runtime: r.kind,
    };
  }
  const kvmMax = tdx.find((t) => t.kind === 'kvm' && t.what === 'max-vcpus');
  if (initOk !== undefined) {
    if (kvmMax !== undefined) {
      return { cls: 'kvm-refused', evidence: [ev(initOk), ev(kvmMax)], explanation: 'the module initialised, but KVM disabled TDX: the module\'s MAX_VCPUS_PER_TD is smaller than the number of logical CPUs' };
    }
    const pamt = find('pamt-allocated');
    if (b.kexecFrom !== undefined) {
      return { cls: 'kexec-success', evidence: [{ line: b.kexecFrom.line, text: b.kexecFrom.text }, ...(pamt !== undefined ? [ev(pamt)] : []), ev(initOk)], explanation: 'this kernel was started by kexec from one that had used TDX, and initialised the module again: the old kernel disabled it (TDH.SYS.DISABLE, Linux 7.2) before the jump' };
    }
    // KVM WARN splats with no failed-SEAMCALL line (a KVM_BUG_ON on KVM's own state, such as
    // tdx_sept_free_private_spt() with the HKID still assigned): init succeeded, but say so.
    const splats = splatNote(tdx);
    const later = splats === '' ? '' : `, but later KVM warned${splats.replace(/^; WARNING splat\(s\) from/, ': WARNING splat(s) from')}`;
    return { cls: 'success', evidence: [...(pamt !== undefined ? [ev(pamt)] : []), ev(initOk)], explanation: `the TDX module initialised${later}` };
  }
  const kvm = tdx.find((t) => t.kind === 'kvm' && t.what !== 'other' && t.what !== 'no-keyids');
  if (kvm !== undefined) {
    return { cls: 'kvm-refused', evidence: [ev(kvm)], explanation: 'KVM refused to bring TDX up' };
  }
  const ver = find('module-version');
  if (ver !== undefined && /^TDX module: vendor_id /.test(ver.text.slice(ver.prefix.length)) && ver.minor >= 5) {
    return {
      cls: 'version-skew',
      evidence: [ev(ver)],
      explanation: `the "TDX module: vendor_id ..." form without attributes is printed by Intel's MVP 5.19 kernels of the TDX 1.0 stack, and the module is ${ver.major}.${ver.minor}: a TDX 1.5 module under a TDX 1.0 kernel (inferred from one line: no result line is in the log)`,
    };
  }
  const range = find('keyid-range') ?? find('bios-enabled');
  return {
    cls: 'not-initialized',
    evidence: range !== undefined ? [ev(range)] : [],
    explanation: 'the BIOS enabled TDX, but nothing initialised the module in this log: kvm_intel was not loaded with tdx=1 (or enable_virt_at_load=0), or the log was captured before KVM loaded',
  };
}

// ---------------------------------------------------------------- reproduction

/** Line-for-line diff (longest common subsequence). */
export function diffLines(log: readonly { text: string; line: number }[], sim: readonly string[]): DiffLine[] {
  const n = log.length;
  const m = sim.length;
  const dp: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i]![j] = log[i]!.text === sim[j] ? dp[i + 1]![j + 1]! + 1 : Math.max(dp[i + 1]![j]!, dp[i]![j + 1]!);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && log[i]!.text === sim[j]) {
      out.push({ op: 'same', log: log[i]!.text, logLine: log[i]!.line, sim: sim[j]! });
      i++;
      j++;
    } else if (j < m && (i >= n || dp[i]![j + 1]! >= dp[i + 1]![j]!)) {
      out.push({ op: 'extra', sim: sim[j]! });
      j++;
    } else {
      out.push({ op: 'missing', log: log[i]!.text, logLine: log[i]!.line });
      i++;
    }
  }
  return out;
}

/** How the reproduction recreates the condition the log shows (faults, platform edits, extra steps). */
interface ReproPlan {
  readonly faults: { site: string; count: number }[];
  readonly platformEdit?: Partial<PlatformSpecInput>;
  /** Boot a first kernel that initialises TDX, then kexec into the diagnosed one. */
  readonly kexecFirst?: boolean;
  readonly note?: string;
}

function reproPlanFor(c: Classified, platform: PlatformSpecInput): ReproPlan {
  const name = c.seamcall !== undefined ? describeStatus(c.seamcall.status).name : undefined;
  if (c.cls === 'pamt-allocation-failure') {
    return { faults: [{ site: 'pamt.alloc', count: 1 }], note: 'the PAMT allocation failure was injected (fault site pamt.alloc): the log cannot tell how memory was fragmented' };
  }
  if (c.cls === 'key-programming-failure') {
    if (name === 'TDX_KEY_GENERATION_FAILED') {
      return { faults: [{ site: 'pconfig.entropy', count: 1 }], note: 'the key-generation failure was injected (fault site pconfig.entropy)' };
    }
    if (name === 'TDX_OPERAND_BUSY') {
      return { faults: [{ site: 'pconfig.busy', count: 1 }], note: 'the key-table busy condition was injected (fault site pconfig.busy)' };
    }
    return { faults: [], note: `${name ?? 'this status'} at TDH.SYS.KEY.CONFIG has no fault site in the module model; the reproduction shows the healthy path` };
  }
  if (c.cls === 'cpu-msr-misconfiguration' && name === 'TDX_INCONSISTENT_MSR' && c.seamcall !== undefined) {
    const msr = Number(c.seamcall.status & 0xffffffffn);
    return {
      faults: [],
      platformEdit: { msrOverrides: [{ cpu: 1, msr, value: '0x1000' }] },
      note: `MSR ${hx(msr)} given a different value on CPU 1 (the log does not say which CPU differed)`,
    };
  }
  if (c.cls === 'module-not-in-initial-state') {
    const erratum = platform.cpuModel === 'sapphire-rapids' || platform.cpuModel === 'emerald-rapids';
    return {
      faults: [],
      kexecFirst: true,
      ...(erratum ? { platformEdit: { cpuModel: 'granite-rapids' as const } } : {}),
      note: `modelled as a kexec from a kernel that initialised TDX${erratum ? ' (on a CPU without the partial-write erratum, since 6.18 refuses kexec on SPR/EMR)' : ''}; only the last kernel's lines are compared`,
    };
  }
  if (c.cls === 'cpu-msr-misconfiguration' || c.cls === 'cpus-offline') {
    return { faults: [], note: 'the log does not say which CPU, MSR value or setting caused this; the reproduction shows the machine without that condition' };
  }
  return { faults: [] };
}

function limitOverrides(b: BootFacts): Record<string, number> | undefined {
  const lim = b.tdx.find((t) => t.kind === 'tdmr-limit');
  if (lim !== undefined && lim.kind === 'tdmr-limit' && lim.max !== 64) {
    return { MAX_TDMRS: lim.max };
  }
  return undefined;
}

function simulate(platform: PlatformSpecInput, kernel: KernelProfileName, module: ModuleProfileName, rp: ReproPlan): { ok: true; dmesg: string[] } | { ok: false; why: string } {
  const faults = rp.faults.map((f) => ({ op: 'fault', site: f.site, count: f.count }));
  const steps = rp.kexecFirst === true ? [{ op: 'boot' }, { op: 'kvm.load' }, { op: 'kexec' }, ...faults, { op: 'kvm.load' }] : [{ op: 'boot' }, ...faults, { op: 'kvm.load' }];
  try {
    const r = run({ scenarioObject: { name: 'diagnose-reproduction', platform, kernel, module, seed: 1, steps } });
    const all = r.runs[0]?.dmesg ?? [];
    // Only the last kernel's lines (a kexec reproduction boots two).
    let start = 0;
    all.forEach((l, i) => {
      if (l.startsWith('Linux version ')) {
        start = i;
      }
    });
    return { ok: true, dmesg: all.slice(start) };
  } catch (e) {
    return { ok: false, why: isTdxsimError(e) ? e.message : `${(e as Error).name}: ${(e as Error).message}` };
  }
}

/** Kinds of TDX line that describe the installed module build, not the bring-up: not compared. */
const UNCOMPARED_KINDS = new Set(['module-version']);

/** What the reasons for a difference are drawn from. */
interface DiffContext {
  readonly b: BootFacts;
  readonly c: Classified;
  readonly kernel: KernelProfileName;
  readonly logTdx: readonly TdxLine[];
  readonly simKinds: readonly TdxLine[];
  readonly source: MemorySource;
  readonly logHasCmrs: boolean;
}

/** Why a value differs: what the rebuilt machine had to assume for it. */
function unknownValueWhy(kind: string, x: DiffContext): string {
  const cmrs = x.logHasCmrs ? 'the CMRs the log prints, with holes inside them that no line shows' : 'CMRs assumed to be the RAM ranges (the log prints none)';
  switch (kind) {
    case 'pamt-allocated':
      return `the PAMT follows the TDMRs, which the rebuilt machine computes from ${x.source.kind === 'cmrs' ? 'the CMR lines only (no memory map in the log)' : 'the log\'s memory map'} and ${cmrs}`;
    case 'cmr':
      return `the rebuilt machine's CMRs: ${cmrs}`;
    case 'keyid-range':
      return 'the KeyID split the rebuilt machine assumed';
    case 'tdmr-limit':
    case 'rsvd-exhausted':
      return `the TDMR layout depends on memory holes and ${cmrs}`;
    default:
      return 'a value that depends on machine state the log does not show';
  }
}

/**
 * Give every differing line of a reproduction its reason: a line the model's kernel does not
 * print, a value the rebuilt machine cannot know, a log cut short, an informational line, or a
 * bring-up that took another path.
 */
function explainDiff(diff: readonly DiffLine[], x: DiffContext): DiffLine[] {
  // Looked up once per difference: maps keep this linear in the number of TDX lines (a log
  // with hundreds of thousands of identical failures).
  const logKinds = new Map<number, string>();
  for (const t of x.logTdx) {
    if (!logKinds.has(t.line)) {
      logKinds.set(t.line, t.kind);
    }
  }
  const simKinds = new Map<string, string>();
  for (const t of x.simKinds) {
    if (!simKinds.has(t.text)) {
      simKinds.set(t.text, t.kind);
    }
  }
  const kindOfLog = (line: number | undefined): string => (line === undefined ? undefined : logKinds.get(line)) ?? 'other';
  const kindOfSim = (text: string | undefined): string => (text === undefined ? undefined : simKinds.get(text)) ?? 'other';
  const missingKinds = new Set(diff.filter((d) => d.op === 'missing').map((d) => kindOfLog(d.logLine)));
  const extraKinds = new Set(diff.filter((d) => d.op === 'extra').map((d) => kindOfSim(d.sim)));
  const lastSame = diff.reduce((a, d, i) => (d.op === 'same' ? i : a), -1);
  const logCut = x.logTdx.some((t) => t.kind === 'truncated') || x.b.tdx.length === 0;
  const logEnds = x.logTdx.some((t) => t.kind === 'init-ok' || t.kind === 'init-failed' || t.kind === 'pamt-allocated');
  const simOk = x.simKinds.some((t) => t.kind === 'init-ok');
  const logFailed = !isSuccessClass(x.c.cls) && x.c.cls !== 'runtime-seamcall-failure' && x.c.cls !== 'not-initialized';
  const release = x.b.kernelVersion !== undefined ? ` ${x.b.kernelVersion.text}` : '';
  const kp = kernelProfile(x.kernel);
  const diverged = (): DiffReason => ({
    kind: 'diverged',
    text:
      simOk && logFailed
        ? `the simulated ${x.kernel} initialises TDX where the log's kernel${release} failed (${TITLES[x.c.cls]})${x.c.cls === 'reserved-areas-exhausted' && kp.holes === 'cmrs' ? `: ${x.kernel} takes holes from the CMRs (as 6.8.0-1006-intel and later do), so it needs fewer reserved areas than a build that took them from the memory list` : ': the model does not share that build\'s behaviour, or the failing condition is not in the log'}`
        : `the simulated ${x.kernel} took another path than the log's kernel${release} here`,
  });
  return diff.map((d, i): DiffLine => {
    if (d.op === 'same') {
      return d;
    }
    if (d.op === 'missing') {
      const k = kindOfLog(d.logLine);
      if (k === 'truncated') {
        return { ...d, reason: { kind: 'cut-short', text: `the log's line ${d.logLine ?? '?'} is cut off, so it cannot equal a whole line` } };
      }
      if (k === 'cmr') {
        return { ...d, reason: { kind: 'informational', text: `a CMR line describes the machine; the model's ${x.kernel} ${extraKinds.has('cmr') ? `prints other CMRs (${unknownValueWhy('cmr', x)})` : 'does not print CMR lines'}` } };
      }
      if (extraKinds.has(k)) {
        return { ...d, reason: { kind: 'unknown-value', text: `a value the rebuilt machine cannot know: ${unknownValueWhy(k, x)}` } };
      }
      if (simOk && logFailed && (k === 'init-failed' || k === 'rsvd-exhausted' || k === 'tdmrs-exhausted' || k === 'seamcall-failed' || k === 'seamcall-regs')) {
        return { ...d, reason: diverged() };
      }
      return { ...d, reason: { kind: 'not-printed', text: `a line the model's ${x.kernel} does not print (the log's kernel${release} does)` } };
    }
    const k = kindOfSim(d.sim);
    if (k === 'cmr') {
      return { ...d, reason: { kind: 'informational', text: `a CMR line describes the machine: ${unknownValueWhy('cmr', x)}` } };
    }
    if (missingKinds.has(k)) {
      return { ...d, reason: { kind: 'unknown-value', text: `a value the rebuilt machine cannot know: ${unknownValueWhy(k, x)}` } };
    }
    if (i > lastSame && (logCut || !logEnds) && !(simOk && logFailed)) {
      return { ...d, reason: { kind: 'cut-short', text: 'the log is cut short before this line: the simulated kernel prints it next' } };
    }
    if (simOk && logFailed && (k === 'init-ok' || k === 'pamt-allocated')) {
      return { ...d, reason: diverged() };
    }
    return { ...d, reason: { kind: 'not-printed', text: `a line the log's kernel${release} does not print (the model's ${x.kernel} does)` } };
  });
}

function reproduce(b: BootFacts, c: Classified, kernel: KernelProfileName, module: ModuleProfileName, prefix: string): { rep: Reproduction; spec?: PlatformSpec; assumptions: string[] } {
  const none = (why: string, assumptions: string[] = []): { rep: Reproduction; assumptions: string[] } => ({
    rep: { attempted: false, method: 'none', why, faults: [], dmesg: [], matches: null, compared: { log: 0, sim: 0, same: 0 }, explained: false, diff: [], notes: [] },
    assumptions,
  });
  if (c.cls === 'tdx-guest') {
    return none('a guest log: there is no host bring-up to reproduce');
  }
  const m = machineFromDmesg(b);
  if (!isRebuilt(m)) {
    return none(`not enough facts to rebuild the machine: missing ${m.missing.join('; ')}`, m.assumptions);
  }
  if (m.missing.length > 0 && c.cls !== 'no-tdx') {
    return none(`not enough facts to rebuild the machine: missing ${m.missing.join('; ')}`, m.assumptions);
  }
  const base: PlatformSpecInput = { ...m.platform };
  const ov = limitOverrides(b);
  if (ov !== undefined) {
    base.tdxModule = { ...(base.tdxModule ?? {}), overrides: ov };
    m.assumptions.push(`module limit taken from the log: MAX_TDMRS = ${ov['MAX_TDMRS']}`);
  }
  const parsed = parsePlatformSpec(base);
  if (!parsed.ok) {
    return none(`the rebuilt platform is invalid: ${parsed.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, m.assumptions);
  }
  const rp = reproPlanFor(c, base);
  const kp = kernelProfile(kernel);
  if ((rp.kexecFirst === true || b.kexecFrom !== undefined) && !kp.kexec.kexecAllowed) {
    const why = `could not reproduce: ${kernel} has no kexec (INTEL_TDX_HOST depends on !KEXEC_CORE); the log's kernel evidently had it${b.kexecFrom !== undefined ? ` (kexec_core: Starting new kernel, line ${b.kexecFrom.line})` : ''}`;
    return { rep: { ...none(why).rep, attempted: true, kernel, module }, spec: parsed.spec, assumptions: m.assumptions };
  }
  const platform: PlatformSpecInput = { ...base, ...(rp.platformEdit ?? {}) };
  const notes: string[] = rp.note !== undefined ? [rp.note] : [];
  const logTdx = b.tdx.filter((t) => t.prefix === prefix);
  const skippedLog = logTdx.filter((t) => UNCOMPARED_KINDS.has(t.kind));
  const logLines = logTdx.filter((t) => !UNCOMPARED_KINDS.has(t.kind)).map((t) => ({ text: t.text, line: t.line }));
  let method: Reproduction['method'] = 'simulator';
  let simAll: string[];
  let why: string;
  const sim = simulate(platform, kernel, module, rp);
  const what = rp.kexecFirst === true ? 'boot, kvm.load, kexec, kvm.load' : `boot${rp.faults.length > 0 ? ', fault' : ''}, kvm.load`;
  if (sim.ok) {
    simAll = sim.dmesg.filter((l) => l.startsWith(prefix));
    why = `rebuilt from the log and booted in the simulator (scenario: ${what}) with kernel ${kernel} and module ${module}`;
  } else {
    method = 'plan-core';
    simAll = planProfile(parsed.spec, kernel, module).dmesg.filter((l) => l.startsWith(prefix));
    why = `the simulator could not run this machine (${sim.why}); reproduced with the kernel's pure TDMR core (detection, metadata compatibility, TDMRs and PAMT only)`;
    if (rp.faults.length > 0 || rp.kexecFirst === true) {
      notes.push('the plan core cannot inject faults or kexec: the failure itself is not reproduced');
    }
  }
  // Classify the simulated lines with the same parser, to leave out the same kinds.
  const simFacts = parseDmesg(simAll, 'simulator');
  const simKinds = simFacts.boots.flatMap((x) => x.tdx);
  const simCompared = simAll.filter((l) => !simKinds.some((t) => t.text === l && UNCOMPARED_KINDS.has(t.kind)));
  if (skippedLog.length > 0 || simCompared.length < simAll.length) {
    notes.push(`module build information lines (version, build date and number) describe the installed module, not the bring-up: ${skippedLog.length} in the log, ${simAll.length - simCompared.length} simulated, not compared`);
  }
  // CMR lines are informational: a kernel build that does not print them (Ubuntu 6.8.0-1001,
  // mainline) fails nothing. When the log has none, the simulated ones are not compared.
  const logHasCmrs = logTdx.some((t) => t.kind === 'cmr');
  const simCmrs = logHasCmrs ? [] : simCompared.filter((l) => simKinds.some((t) => t.text === l && t.kind === 'cmr'));
  const simLines = simCmrs.length === 0 ? simCompared : simCompared.filter((l) => !simCmrs.includes(l));
  if (simCmrs.length > 0) {
    notes.push(`the model's ${kernel} prints ${simCmrs.length} CMR line(s) that the log does not have (builds of that era differ in what they print): informational, not compared`);
  }
  const diff = explainDiff(diffLines(logLines, simLines), { b, c, kernel, logTdx, simKinds, source: m.source, logHasCmrs });
  const same = diff.filter((d) => d.op === 'same').length;
  const simFailed = simKinds.some((t) => t.kind === 'init-failed');
  if (c.cls === 'success' && simFailed) {
    notes.push(
      kernel === 'tdx-host-v8'
        ? 'the model\'s tdx-host-v8 profile issues no TDH.SYS.INIT/LP.INIT (the Dec 2022 series assumed the module would drop them), so its TDH.SYS.INFO fails where this machine succeeded: a limit of the model, not of the machine'
        : 'the simulator fails where the machine succeeded: a limit of the model or of the facts rebuilt from the log'
    );
  }
  return {
    rep: {
      attempted: true,
      method,
      why,
      kernel,
      module,
      faults: rp.faults,
      source: m.source,
      platform,
      dmesg: simAll,
      matches: diff.every((d) => d.op === 'same'),
      compared: { log: logLines.length, sim: simLines.length, same },
      explained: diff.every((d) => d.op === 'same' || (d.reason !== undefined && d.reason.kind !== 'diverged')),
      diff,
      notes,
    },
    spec: parsed.spec,
    assumptions: m.assumptions,
  };
}

// ---------------------------------------------------------------- remedies

/** Most full simulations run to confirm suggested pairs. */
const MAX_CONFIRMATIONS = 4;

function alternatives(spec: PlatformSpec | undefined, platform: PlatformSpecInput | undefined, kernel: KernelProfileName, module: ModuleProfileName, confirm: boolean): Alternative[] {
  if (spec === undefined) {
    return [];
  }
  const pairs: [KernelProfileName, ModuleProfileName][] = [];
  for (const mo of MODULE_PROFILE_NAMES) {
    pairs.push([kernel, mo]);
  }
  for (const k of KERNEL_PROFILE_NAMES) {
    if (k !== kernel) {
      pairs.push([k, module]);
    }
  }
  // Full bring-ups of very large machines take seconds each: confirm only on machines of
  // ordinary size (a deterministic rule, so the output does not depend on the host's speed).
  const t = spec.topology;
  const cpus = t.packages * t.coresPerPackage * t.threadsPerCore;
  const ram = spec.memory.e820.filter((e) => e.type === 'usable').reduce((a, e) => a + e.size, 0);
  const small = cpus <= 256 && ram <= 2 ** 41;
  let budget = confirm && small && platform !== undefined ? MAX_CONFIRMATIONS : 0;
  return pairs.map(([k, mo]) => {
    const p = planProfile(spec, k, mo);
    let simulated: Alternative['simulated'] = null;
    const suggested = p.outcome === 'ok' && !(k === kernel && mo === module);
    if (suggested && budget > 0 && platform !== undefined) {
      budget--;
      const r = simulate(platform, k, mo, { faults: [] });
      simulated = r.ok && r.dmesg.some((l) => /(?:^|: )(?:module initialized\.?|TDX module initialized\.|TDX-Module initialized)$/.test(l)) ? 'ok' : 'fail';
    }
    return { kernel: k, module: mo, outcome: p.outcome, failure: p.failure?.message ?? null, pamtKb: p.pamtKb, simulated };
  });
}

/**
 * The kernel an operator can install for a model profile; null for the 2022 drafts, which are
 * never recommended.
 */
export function realKernel(k: KernelProfileName): string | null {
  switch (k) {
    case 'ubuntu-6.8-intel':
      return 'Ubuntu 24.04 linux-intel 6.8 (6.8.0-1006-intel or later)';
    case 'linux-6.16':
      return 'Linux 6.16';
    case 'linux-6.18':
      return 'Linux 6.18 (or 6.19/7.0)';
    case 'linux-7.1':
      return 'Linux 7.1';
    case 'linux-7.2':
      return 'Linux 7.2';
    default:
      return null;
  }
}

/**
 * Why a module release fails with a kernel, in operator words, derived from the plan core's
 * metadata check and the kernel catalogue: what the module lacks, and from which real kernel on
 * kernels need it ("your 1.5.01 lacks MAX_VCPUS_PER_TD, which kernels from 6.16 read").
 */
export function skewDetail(kernel: KernelProfileName, module: ModuleProfileName): string {
  const pre = metadataPreflight(kernelProfile(kernel), moduleProfile(module));
  if (pre === undefined) {
    return '';
  }
  const versionOf = (k: KernelProfileName): number => {
    const [maj, min] = kernelProfile(k).linuxVersion.split(/[.-]/).map(Number);
    return (maj ?? 0) * 100 + (min ?? 0);
  };
  const needing = KERNEL_PROFILE_NAMES.filter((k) => realKernel(k) !== null && metadataPreflight(kernelProfile(k), moduleProfile(module))?.lacks === pre.lacks).sort((a, b) => versionOf(a) - versionOf(b));
  const first = needing[0];
  const from = first === undefined ? `${kernel}` : `kernels from ${Math.floor(versionOf(first) / 100)}.${versionOf(first) % 100}`;
  switch (pre.lacks) {
    case 'TDH.SYS.RD':
      return `your ${module} lacks TDH.SYS.RD, which ${from} use to read the module's metadata`;
    case 'MAX_VCPUS_PER_TD':
      return `your ${module} lacks MAX_VCPUS_PER_TD, which ${from} read`;
    case 'TDX_FEATURES0.NO_RBP_MOD':
      return `your ${module} lacks TDX_FEATURES0.NO_RBP_MOD, which ${from} require`;
  }
}

function remedyFor(c: Classified, alts: readonly Alternative[], kernel: KernelProfileName, module: ModuleProfileName, limits: readonly string[]): { cause: string; remedy: string[] } {
  const works = (a: Alternative): boolean => a.outcome === 'ok' && a.simulated !== 'fail';
  const okModules = alts.filter((a) => a.kernel === kernel && works(a) && a.module !== module).map((a) => a.module);
  const okKernels = alts.filter((a) => a.module === module && works(a) && a.kernel !== kernel && realKernel(a.kernel) !== null).map((a) => realKernel(a.kernel)!);
  const kname = realKernel(kernel) ?? `your kernel (model profile ${kernel})`;
  const detail = skewDetail(kernel, module);
  const pairHint = (): string[] => [
    ...(okModules.length > 0 ? [`Upgrade to TDX module ${describeReleases(okModules)}${detail !== '' ? ` (${detail})` : ''}, by a BIOS/firmware update or the OS SEAM loader, to keep ${kname}`] : []),
    ...(okKernels.length > 0 ? [`or keep module ${module} and run ${okKernels.join(', or ')}`] : []),
  ];
  const sc = c.seamcall;
  const scRemedies = sc !== undefined ? explainStatus(sc.status, sc.leafRaw).remedies : [];
  switch (c.cls) {
    case 'success':
    case 'kexec-success':
      return { cause: 'nothing failed', remedy: ['none needed'] };
    case 'not-enabled-by-bios':
      return {
        cause: 'SEAM is not enabled: the BIOS set up TDX KeyIDs but did not enable SEAM mode or load the TDX module',
        remedy: [
          'in the BIOS enable: Memory Encryption (TME), Total Memory Encryption Multi-Tenant (TME-MT), Trust Domain Extension (TDX) and the TDX Secure Arbitration Mode Loader (SEAM Loader), with a TME-MT/TDX key split that gives TDX KeyIDs',
          'update the BIOS if it has no SEAM loader option (the TDX module ships in the BIOS image), then cold-boot',
        ],
      };
    case 'cpus-not-in-vmx':
      return {
        cause: 'a SEAMCALL ran on a CPU that was not in VMX operation (#UD)',
        remedy: ['load kvm_intel (with tdx=1) before anything initialises TDX, and keep every CPU online while it does', 'on Linux 6.16 and later also boot with kvm.enable_virt_at_load=1', 'if the BIOS disables VT-x (Intel Virtualization Technology) on some CPUs, enable it'],
      };
    case 'runtime-seamcall-failure':
      return {
        cause: c.explanation,
        remedy:
          c.runtime === 'metadata'
            ? [
                ...scRemedies,
                'TDX initialised and stays usable: these are later reads of module metadata; find the reader (KVM, a tool or a driver reading TDX metadata) from what ran at those timestamps, and give it a module that has the field or stop it asking',
              ]
            : [
                ...scRemedies,
                'the host\'s TDX initialised: these failures are KVM bugs or races in TD build/teardown of that kernel, not a host setup problem',
                'update the kernel (Ubuntu linux-intel 6.8 -1028 or later, or Linux 6.16+ with in-tree KVM TDX) and the TDX module; report with the full dmesg if it persists',
              ],
      };
    case 'module-not-loaded':
      return { cause: 'no TDX module is loaded (SEAMCALL ends in VMfailInvalid)', remedy: ['enable the TDX Secure Arbitration Mode Loader (SEAM Loader) in the BIOS and update the BIOS to one that carries a TDX module (the P-SEAMLDR loads it at boot; MSR 0x1401 SEAMRR must be locked and enabled)'] };
    case 'too-few-keyids':
      return { cause: 'the BIOS gave TDX fewer than 2 KeyIDs', remedy: ['raise the number of TDX KeyIDs in the BIOS (TME-MK KeyID split: e.g. 15 MKTME + 48 TDX)'] };
    case 'hibernation':
      return { cause: 'hibernation is available, and Linux refuses TDX then', remedy: ['boot with "nohibernate" on the kernel command line (or build without CONFIG_HIBERNATION)'] };
    case 'version-skew':
      return {
        cause: `the kernel and the TDX module do not fit: ${c.explanation}`,
        // The simulated alternatives decide; the status table's general advice only without them.
        remedy: pairHint().length > 0 ? pairHint() : scRemedies.length > 0 ? scRemedies : ['upgrade the TDX module (BIOS/firmware update or the SEAM loader), or run a kernel of the module\'s era'],
      };
    case 'tdmrs-exhausted':
      return { cause: 'the memory map needs more TDMRs than the module allows', remedy: [...limits, 'reduce the number of separate memory ranges (DIMM population, NUMA/SNC settings, memmap= holes)', 'run `tdxsim plan` on this log to see every TDMR', ...pairHint()] };
    case 'reserved-areas-exhausted':
      return { cause: 'one TDMR has more holes and PAMTs than the module\'s reserved-area limit', remedy: [...limits, ...pairHint(), 'every firmware-reserved range or memmap= hole inside a TDMR costs one reserved area: fewer of them per 1 GiB window helps', 'run `tdxsim plan` on this log to see the reserved areas per TDMR'] };
    case 'pamt-allocation-failure':
      return { cause: 'not enough physically contiguous free memory for a PAMT when TDX initialised', remedy: ['initialise TDX early (load kvm_intel tdx=1 at boot, before memory fragments)', 'reserve less memory (hugepages=, crashkernel=) or add memory on the node'] };
    case 'key-programming-failure':
      return { cause: 'TDH.SYS.KEY.CONFIG failed on a package', remedy: [...scRemedies, 'reboot and try again; a repeated failure points at the CPU\'s key generation (BIOS/microcode)'] };
    case 'cpu-msr-misconfiguration':
      return { cause: 'the module\'s platform checks rejected the CPU/MSR/BIOS configuration', remedy: [...scRemedies, 'run `tdxsim explain` on the SEAMCALL line for the exact check'] };
    case 'cpus-offline':
      return { cause: 'not every BIOS-enabled CPU took part in TDX initialisation', remedy: [...scRemedies, 'boot without maxcpus=/nosmt and keep all CPUs online until kvm_intel has initialised TDX'] };
    case 'module-not-in-initial-state':
      return { cause: 'the module had already been initialised by an earlier kernel (kexec) or survived a warm reset', remedy: scRemedies.length > 0 ? scRemedies : ['cold-boot before using TDX'] };
    case 'config-rejected':
      return { cause: 'the module rejected the kernel\'s TDMR list', remedy: [...scRemedies, 'compare the kernel\'s TDMRs with `tdxsim plan` on this log'] };
    case 'kvm-refused':
      return { cause: c.explanation, remedy: ['see the KVM line; for MAX_VCPUS_PER_TD upgrade the TDX module'] };
    case 'not-initialized':
      return { cause: 'TDX was never initialised in this log', remedy: ['load kvm_intel with tdx=1 (and kvm.enable_virt_at_load=1), then look at dmesg again'] };
    case 'no-tdx':
      return { cause: 'the kernel saw no TDX KeyIDs', remedy: ['on a TDX-capable Xeon (4th gen Sapphire Rapids with TDX, 5th gen Emerald Rapids, Xeon 6): enable TME, TME-MT and TDX in the BIOS (with TDX KeyIDs), and run Ubuntu 24.04 linux-intel 6.8 or Linux 6.16+; capture the log from boot'] };
    case 'tdx-guest':
      return { cause: 'a TDX guest\'s log', remedy: ['run diagnose on the host\'s dmesg'] };
    case 'unknown-failure':
      return { cause: c.explanation, remedy: [...scRemedies, 'run `tdxsim explain` on any SEAMCALL line, and compare with `tdxsim plan` on this log'] };
  }
}

// ---------------------------------------------------------------- entry

/** Hints for the classifier from the plan core on the machine the log shows. */
function hintsFor(b: BootFacts, kernel: KernelProfileName, module: ModuleProfileName): ClassifyHints {
  const m = machineFromDmesg(b);
  if (!isRebuilt(m)) {
    return {};
  }
  const parsed = parsePlatformSpec(m.platform);
  if (!parsed.ok) {
    return {};
  }
  try {
    const p = planProfile(parsed.spec, kernel, module, 100000, 100000);
    const lim = planProfile(parsed.spec, kernel, module).limits;
    return {
      tdmrsNeeded: p.tdmrs.length,
      maxTdmrs: lim.maxTdmrs,
      memorySource: m.source.kind === 'cmrs' ? `${b.cmrs.length} CMR line(s)` : m.source.detail,
      holesKnown: m.source.kind !== 'cmrs',
      rsvdExhaustedInPlan: planProfile(parsed.spec, kernel, module).failure?.reason === 'reserved-areas-exhausted',
    };
  } catch (e) {
    if (isTdxsimError(e)) {
      return {};
    }
    throw e;
  }
}

function confidenceOf(c: Classified, b: BootFacts, f: DmesgFacts, truncated: readonly TruncationAnalysis[], k: { kernel: KernelProfileName; why: string }): DiagnoseResult['confidence'] {
  const reasons: string[] = [];
  let level: 'high' | 'medium' | 'low' = 'high';
  const lower = (to: 'medium' | 'low', why: string): void => {
    reasons.push(why);
    if (to === 'low' || level === 'high') {
      level = to;
    }
  };
  const decisive = c.evidence.length > 0;
  if (!decisive) {
    lower('medium', 'no line states the outcome: the class rests on what is missing from the log');
  }
  if (c.evidence.some((e) => truncated.some((t) => t.line === e.line))) {
    lower('medium', 'the deciding line is cut off: the class rests on the candidates that remain');
  }
  if (c.cls === 'not-initialized') {
    lower('medium', 'an absent init line may mean the log was captured before KVM loaded, or filtered');
  }
  if (c.cls === 'version-skew' && c.seamcall === undefined && b.tdx.length <= 2) {
    lower('low', 'one line only: the kernel is recognised by the form of its version line');
  }
  if (f.pasteDamage['prompt'] !== undefined || /grep/.test(JSON.stringify(f.pasteDamage))) {
    reasons.push('the log looks filtered (a shell prompt with a command was pasted): lines without "tdx" may be missing');
  }
  if (b.kernelVersion === undefined) {
    reasons.push(`no "Linux version" or BOOT_IMAGE line: kernel inferred from the strings (${k.why})`);
  }
  if (reasons.length === 0) {
    reasons.push('the log states the outcome in the kernel\'s own words');
  }
  return { level, reasons };
}

/** Diagnose a dmesg. Throws TdxsimError on bad input. */
export function diagnose(req: DiagnoseRequest): DiagnoseResult {
  const { t, f } = readDmesg(req);
  const b = mainBoot(f);
  const warnings: string[] = [];
  if (f.boots.length > 1) {
    warnings.push(`the log holds ${f.boots.length} boots; the one starting at line ${b.firstLine} (the last with TDX lines) is diagnosed`);
  }
  if (f.longLines > 0) {
    warnings.push(`${f.longLines} line(s) longer than 4096 characters were skipped`);
  }
  for (const p of f.problems) {
    warnings.push(`line ${p.line}: ${p.message}${f.endsMidLine && p.line === f.totalLines ? ' (the input ends in the middle of this line)' : ''}: "${p.text}"; ignored`);
  }
  if (f.endsMidLine) {
    const last = t.lines[t.lines.length - 1] ?? '';
    const lastTdx = b.tdx[b.tdx.length - 1];
    const complete = lastTdx !== undefined && lastTdx.line === t.lines.length && lastTdx.kind !== 'truncated' && lastTdx.kind !== 'other';
    if (last.trim() !== '' && !complete) {
      warnings.push(`the input ends without a newline: line ${t.lines.length} ("${last.trim().slice(0, 80)}") may be cut off, and whatever followed it is missing`);
    } else if (last.trim() !== '' && lastTdx !== undefined && lastTdx.kind === 'seamcall-failed') {
      warnings.push(`the input ends without a newline: line ${t.lines.length} may be cut off inside its status value, which then reads shorter than it was`);
    }
  }
  const damage = Object.entries(f.pasteDamage).filter(([k]) => k !== 'cr' && k !== 'indent');
  if (damage.length > 0) {
    warnings.push(`paste damage undone: ${damage.map(([k, v]) => `${k} (${v.count} line(s), first line ${v.firstLine})`).join(', ')}`);
  }
  const k = inferKernel(b);
  const { prefix, pamtUnit } = k;
  const pamtLine = b.tdx.find((x) => x.kind === 'pamt-allocated');
  const c0 = classify(b);
  // A failure at run time says nothing about the module the init ran on (that init succeeded).
  const initSeamcall = (x: Classified): Classified['seamcall'] => (x.cls === 'runtime-seamcall-failure' ? undefined : x.seamcall);
  const mo0 = inferModule(b, k.kernel, initSeamcall(c0));
  const cuts = b.tdx.filter((x): x is TdxLine & { kind: 'truncated' } => x.kind === 'truncated');
  const hints = cuts.length > 0 ? hintsFor(b, k.kernel, mo0.module) : {};
  const c = cuts.length > 0 ? classify(b, hints) : c0;
  const mo = inferModule(b, k.kernel, initSeamcall(c));
  const truncated = cuts.map((x) => analyseTruncation(x, hints));
  for (const tr of truncated) {
    warnings.push(`line ${tr.line} is cut off: "${tr.text}" could be the start of ${tr.candidates.map((x) => `"${x.format}" (${x.why})`).join('; ')}`);
  }
  const failures = seamcallFailures(b);
  const keyid = b.tdx.find((x) => x.kind === 'keyid-range');
  const ver = b.tdx.find((x) => x.kind === 'module-version');
  const success = b.tdx.find((x) => x.kind === 'init-ok');
  const bios = b.tdx.find((x) => x.kind === 'keyid-range' || x.kind === 'bios-enabled');
  const reproduceIt = req.reproduce !== false;
  const r = reproduceIt
    ? reproduce(b, c, k.kernel, mo.module, prefix)
    : {
        rep: { attempted: false, method: 'none' as const, why: 'not requested', faults: [], dmesg: [], matches: null, compared: { log: 0, sim: 0, same: 0 }, explained: false, diff: [], notes: [] },
        assumptions: [] as string[],
      };
  // A state problem that a cold boot fixes (a module already initialised, a kexec'd boot) gets no
  // list of other pairs: no kernel or module would change it.
  const stateProblem = c.cls === 'module-not-in-initial-state' || b.kexecFrom !== undefined;
  const needAlternatives = c.cls !== 'success' && c.cls !== 'kexec-success' && c.cls !== 'tdx-guest' && c.cls !== 'runtime-seamcall-failure' && !stateProblem;
  const alts = needAlternatives ? alternatives('spec' in r ? r.spec : undefined, r.rep.platform, k.kernel, mo.module, reproduceIt) : [];
  const spec = 'spec' in r ? r.spec : undefined;
  const limits = spec !== undefined && (c.cls === 'tdmrs-exhausted' || c.cls === 'reserved-areas-exhausted') ? planProfile(spec, k.kernel, mo.module).headroom.notes : [];
  const { cause, remedy } = remedyFor(c, alts, k.kernel, mo.module, limits);
  const verText = ver !== undefined && ver.kind === 'module-version' ? `${ver.major}.${ver.minor}${ver.update !== undefined ? `.${String(ver.update).padStart(2, '0')}` : ''}` : null;
  const kv = b.kernelVersion;
  const kvText = kv !== undefined ? (t.lines[kv.line - 1] ?? '').trim().slice(0, 160) : null;
  return {
    input: t.name,
    boot: { firstLine: b.firstLine, lastLine: b.lastLine, kernelVersion: b.kernelVersion?.text ?? null, boots: f.boots.length },
    era: { prefix, pamtUnit, kernel: k.kernel, kernelWhy: k.why, module: mo.module, moduleWhy: mo.why },
    story: {
      biosEnabled: bios !== undefined ? ev(bios) : null,
      keyids: keyid !== undefined && keyid.kind === 'keyid-range' ? { start: keyid.start, end: keyid.end, line: keyid.line } : null,
      module: verText !== null && ver !== undefined ? { version: verText, line: ver.line } : null,
      cmrs: logCmrs(b.cmrs).map((x) => ({ base: hx(x.base), end: hx(x.end), line: x.line })),
      metadataReads: failures.filter((x) => x.leaf === 34 || x.leaf === 32),
      failures,
      pamt: pamtLine !== undefined && pamtLine.kind === 'pamt-allocated' ? { value: pamtLine.value, unit: pamtLine.unit, kb: pamtKbOf(pamtLine.value, pamtLine.unit), line: pamtLine.line } : null,
      success: success !== undefined ? ev(success) : null,
      lines: b.tdx.map((x) => ({ line: x.line, text: x.text, kind: x.kind })),
    },
    classification: { class: c.cls, title: TITLES[c.cls], evidence: c.evidence, explanation: c.explanation },
    reproduction: r.rep,
    cause,
    remedy,
    alternatives: alts,
    assumptions: r.assumptions,
    warnings,
    confidence: confidenceOf(c, b, f, truncated, k),
    inferred: {
      kernel: { release: kv?.text ?? null, line: kv?.line ?? null, text: kvText, profile: k.kernel, why: k.why },
      module: { version: verText, line: ver?.line ?? null, profile: mo.module, why: mo.why },
    },
    truncated,
  };
}

/** True for classes that mean TDX came up. */
export function isSuccessClass(c: DiagnosisClass): boolean {
  return c === 'success' || c === 'kexec-success';
}

