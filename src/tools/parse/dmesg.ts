/**
 * A tolerant dmesg reader: it strips timestamps and log prefixes of every common form, ignores
 * any amount of unrelated noise, and extracts two things:
 *
 * - the memory facts Linux printed at boot (BIOS-e820 table and its updates, "Early memory node
 *   ranges", SRAT/NUMA/Initmem node spans, CPU model and topology, kernel version);
 * - the TDX story: every line of arch/x86/virt/vmx/tdx/tdx.c (prefix `virt/tdx: ` or, in 2022
 *   drafts, `tdx: `) and the TDX lines of KVM, kexec and the MCE handler, in the strings of
 *   every kernel era (spec linux-host.md sections 2, 3, 7 and 8).
 *
 * The parser never throws: lines that carry a known marker but do not parse (a cut-off e820
 * line, a SEAMCALL line with a bad number) are returned as problems with their line numbers;
 * the callers decide whether that is fatal.
 */
import { KVM_TDX_FAILURE_PRINT_FUNCS } from '../../kernel/kvm/tdxBugSites.js';
import { LEAF } from '../../module/leafNumbers.js';
import { decNum, hexBig, hexNum } from './num.js';
import { unpaste } from './paste.js';
import type { PasteDamage } from './paste.js';
import { completions } from './printks.js';

/** A 1-based line number and the message text (timestamp and log prefixes removed). */
export interface LineRef {
  readonly line: number;
  readonly text: string;
}

/** One e820 entry: [base, end) with its type as printed ("usable", "ACPI NVS", "type 12"...). */
export interface E820Line {
  readonly base: number;
  readonly end: number;
  readonly type: string;
  readonly line: number;
}

/** A memory range with its NUMA node. */
export interface NodeRangeLine {
  readonly node: number;
  readonly base: number;
  readonly end: number;
  readonly line: number;
}

/** A CMR as some kernel printed it. */
export interface CmrLine {
  readonly base: number;
  readonly end: number;
  /** "bios" (RFC BIOS-CMR), "sanitized" (RFC Kernel-sanitized-CMR) or "plain" (v8 `CMR: [...)`). */
  readonly variant: 'bios' | 'sanitized' | 'plain';
  readonly line: number;
}

/** What a TDX line says. */
export type TdxEvent =
  | { readonly kind: 'keyid-range'; readonly start: number; readonly end: number }
  | { readonly kind: 'bios-enabled' }
  | { readonly kind: 'seamrr'; readonly ok: boolean }
  | { readonly kind: 'bios-inconsistent' }
  | { readonly kind: 'too-few-keyids'; readonly nr?: number }
  | { readonly kind: 'hibernation' }
  | { readonly kind: 'notifier-failed'; readonly errno: number }
  | { readonly kind: 'acpi-s3' }
  | { readonly kind: 'tdx-disabled' }
  | { readonly kind: 'module-not-loaded' }
  | { readonly kind: 'module-version'; readonly major: number; readonly minor: number; readonly update?: number; readonly buildDate?: number; readonly buildNum?: number }
  | { readonly kind: 'cmr'; readonly base: number; readonly end: number; readonly variant: CmrLine['variant'] }
  | { readonly kind: 'seamcall-failed'; readonly leaf: number; readonly leafRaw: bigint; readonly status: bigint; readonly cpu?: number }
  | { readonly kind: 'seamcall-regs'; readonly regs: Readonly<Record<string, bigint>> }
  | { readonly kind: 'rbp-clobber' }
  | { readonly kind: 'tdmrs-exhausted' }
  | { readonly kind: 'tdmr-limit'; readonly used: number; readonly max: number }
  | { readonly kind: 'rsvd-exhausted'; readonly base: number; readonly end: number }
  | { readonly kind: 'pamt-node-fallback'; readonly base: number; readonly end: number }
  | { readonly kind: 'pamt-allocated'; readonly value: number; readonly unit: 'KB' | 'KBs' | 'pages' }
  | { readonly kind: 'init-ok' }
  | { readonly kind: 'init-failed'; readonly errno?: number }
  | { readonly kind: 'dpamt-enabled' }
  | { readonly kind: 'sys-disable-failed'; readonly status: bigint }
  | { readonly kind: 'kvm'; readonly what: 'movdir64b' | 'self-snoop' | 'no-keyids' | 'virt-at-load' | 'max-vcpus' | 'offline-package' | 'other' }
  | { readonly kind: 'kexec-refused' }
  | { readonly kind: 'mce-private' }
  | { readonly kind: 'guest' }
  | { readonly kind: 'not-enabled-by-bios' }
  | { readonly kind: 'not-in-vmx'; readonly cpu?: number }
  | { readonly kind: 'no-tdx-platform' }
  | { readonly kind: 'debugconfig-unsupported' }
  /** A line cut off in the middle: the catalogue formats (printks.ts ids) it could be the start of. */
  | { readonly kind: 'truncated'; readonly candidates: readonly string[] }
  /**
   * `<function>: N callbacks suppressed` (lib/ratelimit.c) from a function whose rate-limited
   * prints are all KVM failed-SEAMCALL lines: N more failures that were not printed.
   */
  | { readonly kind: 'kvm-suppressed'; readonly func: string; readonly count: number }
  /**
   * A WARNING splat's first line at a TDX source file (`WARNING: CPU: N PID: P at
   * arch/x86/kvm/vmx/tdx.c:LINE FUNCTION+0xOFF/0xSIZE [kvm_intel]`, or 7.1's `WARNING:
   * arch/x86/kvm/vmx/tdx.c:LINE at FUNCTION+0xOFF/0xSIZE [kvm_intel], CPU#N: COMM/PID`; the model
   * prints `?` for the PID and task and the bare function name).
   */
  | { readonly kind: 'warn-splat'; readonly file: string; readonly fileLine: number; readonly fn: string; readonly cpu?: number }
  | { readonly kind: 'other' };

/** A TDX line with its place and the prefix it carried. */
export type TdxLine = TdxEvent & {
  readonly line: number;
  /** The message including its prefix ("virt/tdx: module initialized"). */
  readonly text: string;
  /** "virt/tdx: ", "tdx: ", "kvm_intel: ", "kexec: " or "" (MCE). */
  readonly prefix: string;
};

/** A line that carries a known marker but does not parse. */
export interface DmesgProblem {
  readonly line: number;
  readonly message: string;
  readonly text: string;
}

/** Facts of one boot (a log may hold several, e.g. `journalctl -k` over boots). */
export interface BootFacts {
  /** First and last line of this boot in the input. */
  readonly firstLine: number;
  lastLine: number;
  kernelVersion?: { readonly text: string; readonly major: number; readonly minor: number; readonly line: number };
  commandLine?: LineRef;
  /** The firmware table (BIOS-e820), or the user-defined table (memmap=) when printed. */
  readonly e820: E820Line[];
  readonly userE820: E820Line[];
  /** "e820: update/remove" lines, applied to the table in order. */
  readonly e820Updates: { readonly base: number; readonly end: number; readonly from: string; readonly to: string | undefined; readonly line: number }[];
  /** "Early memory node ranges": memblock.memory exactly as build_tdx_memlist() walks it. */
  readonly nodeRanges: NodeRangeLine[];
  /** SRAT memory affinity, NUMA merge results and "Initmem setup node" spans. */
  readonly srat: NodeRangeLine[];
  readonly initmem: NodeRangeLine[];
  cpu?: { readonly name: string; readonly family: number; readonly model: number; readonly stepping: number; readonly line: number };
  readonly topology: { logicalCpus?: number; possibleCpus?: number; packages?: number; threadsPerCore?: number; coresPerPackage?: number; numaNodes?: number };
  readonly tdx: TdxLine[];
  readonly cmrs: CmrLine[];
  /** Number of lines in this boot that look like kernel log lines. */
  kernelish: number;
  /** This boot was started by kexec: the previous kernel's `kexec_core: Starting new kernel` line. */
  kexecFrom?: LineRef;
}

/** Everything parseDmesg() found. */
export interface DmesgFacts {
  readonly name: string;
  readonly totalLines: number;
  readonly boots: BootFacts[];
  readonly problems: DmesgProblem[];
  /** True when the input does not end with a newline (the last line may be cut off). */
  readonly endsMidLine: boolean;
  /** Lines longer than MAX_LINE_CHARS, skipped as noise. */
  readonly longLines: number;
  /** Paste damage undone, by kind, with the first line of each. */
  readonly pasteDamage: Readonly<Record<string, { count: number; firstLine: number }>>;
  /** Lines that were paste furniture (prompts, fences, ellipses). */
  readonly noiseLines: number;
}

const MAX_LINE = 4096;

// ---------------------------------------------------------------- prefixes

const RE_PRIO = /^<\d{1,3}>/;
const RE_DMESG_X = /^\s*[a-z]+\s*:\s*[a-z]+\s*:\s*/;
/**
 * A journal or syslog header ending in `<host> kernel: `: `Mar 04 10:12:03 host kernel:` in any
 * locale (`3月 04 ...`, `Mär 04 ...`), `-o short-iso`, `short-precise`, `short-full`
 * (`Tue 2025-03-04 10:12:03 CET`), `short-unix`, `short-monotonic` (`[    8.431219] host kernel:`).
 */
const RE_SYSLOG = /^(?:\S+\s+){0,4}?(?:\[\s*\d+\.\d+\]|\S*\d\d:\d\d:\d\d\S*|\d{9,}\.\d+)(?:\s+[A-Z]{2,5})?\s+\S+\s+kernel:\s?/;
/** `[    8.431219]`, `[ 9.318048]`, `[8.431219]`, and the relative `[  +0.000123]` of `dmesg -H`/`-d`. */
const RE_TS = /^\[\s*[+-]?\d+[.,]\d+\]\s?/;
/**
 * `dmesg -T` and `--time-format ctime` in any locale: a bracket holding a clock time
 * (`[Tue Mar  4 10:12:03 2025]`, `[三 9月 13 12:04:49 2023]`, `[Di Mär  4 10:12:03 2025]`,
 * `[mar. 04 mars 2025 10:12:03]`), and `dmesg -H`'s `[Mar 4 10:12]`.
 */
const RE_TS_HUMAN = /^\[[^\]]{0,40}?\d{1,2}:\d\d(?::\d\d(?:[.,]\d+)?)?[^\]]{0,24}\]\s?/;
const RE_TS_ISO = /^\[?\d{4}-\d\d-\d\d[T ,]\d\d:\d\d:\d\d[^\s\]]*\]?\s+/;
const RE_CALLER = /^\[\s*[TC]\d+\]\s?/;

/**
 * Strip paste damage (see paste.ts), syslog priority, journal/syslog header, dmesg -x facility,
 * timestamps and caller ids.
 */
export function stripLogPrefix(raw: string): { text: string; stamped: boolean; noise?: boolean; damage?: readonly PasteDamage[] } {
  const u = unpaste(raw);
  if (u.noise) {
    return { text: '', stamped: false, noise: true, damage: u.damage };
  }
  let s = u.text;
  let stamped = false;
  s = s.replace(RE_PRIO, '');
  const sys = RE_SYSLOG.exec(s);
  if (sys !== null) {
    s = s.slice(sys[0].length);
    stamped = true;
  }
  if (/^\s*(kern|user|daemon|syslog)\s*:/.test(s)) {
    s = s.replace(RE_DMESG_X, '');
  }
  for (const re of [RE_TS, RE_TS_HUMAN, RE_TS_ISO]) {
    const m = re.exec(s);
    if (m !== null) {
      s = s.slice(m[0].length);
      stamped = true;
      break;
    }
  }
  for (let c = RE_CALLER.exec(s); c !== null; c = RE_CALLER.exec(s)) {
    s = s.slice(c[0].length);
  }
  return { text: s.replace(/^\s+(?=\S)/, '').replace(/\s+$/, ''), stamped, damage: u.damage };
}

// ---------------------------------------------------------------- memory lines

const H = '(0x[0-9a-fA-F]+)';
const RE_E820 = new RegExp(`^(BIOS-e820|user|reserve setup_data): \\[mem ${H}-${H}\\] (.+)$`);
const RE_E820_OLD = /^(BIOS-e820|user): ([0-9a-fA-F]{8,16}) - ([0-9a-fA-F]{8,16}) \((.+)\)$/;
const RE_E820_UPDATE = new RegExp(`^e820: update \\[mem ${H}-${H}\\] (.+?) ==> (.+)$`);
const RE_E820_REMOVE = new RegExp(`^e820: remove \\[mem ${H}-${H}\\] (.+)$`);
const RE_NODE_RANGE = new RegExp(`^\\s*node\\s+(\\d+): \\[mem ${H}-${H}\\]$`);
const RE_SRAT = new RegExp(`^(?:ACPI: )?SRAT: Node (\\d+) PXM (\\d+) \\[mem ${H}-${H}\\]`);
const RE_NUMA_MERGE = new RegExp(`^NUMA: Node (\\d+) \\[mem ${H}-${H}\\] \\+ \\[mem ${H}-${H}\\] -> \\[mem ${H}-${H}\\]`);
const RE_INITMEM = new RegExp(`^Initmem setup node (\\d+) \\[mem ${H}-${H}\\]`);
const RE_FAKE_NODE = new RegExp(`^Faking a node at \\[mem ${H}-${H}\\]`);
const RE_CPU0 = /^smpboot: CPU0: (.+?) \(family: (0x[0-9a-f]+), model: (0x[0-9a-f]+), stepping: (0x[0-9a-f]+)\)$/;
const RE_LINUX = /^Linux version (\d+)\.(\d+)(\S*)/;
/** The kernel image on the command line (`BOOT_IMAGE=/boot/vmlinuz-6.8.0-1006-intel`), for logs cut after the version line. */
const RE_BOOT_IMAGE = /^(?:(?:Kernel )?[Cc]ommand line: .*?)?BOOT_IMAGE=\S*vmlinuz-(\d+)\.(\d+)(\S*)/;

function e820TypeName(t: string): string {
  const s = t.trim();
  return s;
}

// ---------------------------------------------------------------- TDX lines

/** Host TDX prefixes, longest first. */
const TDX_PREFIXES = ['virt/tdx: ', 'x86/virt/tdx: ', 'tdx: '];

const RE_KEYID = /(?:BIOS enabled: private KeyID range|TDX private KeyID range):? \[(\d+), (\d+)\)/;
const RE_SEAMCALL = /^SEAMCALL \((0x[0-9a-fA-F]+)\) failed: (0x[0-9a-fA-F]+)$/;
/** Later drafts (`CPU %d: `) and v8 05/16 (no CPU): `SEAMCALL failed: leaf %llu, error 0x%llx.` */
const RE_SEAMCALL_DRAFT = /^SEAMCALL failed: (?:CPU (\d+): )?leaf (\d+), error (0x[0-9a-fA-F]+)\.?$/;
/** The RFC's seamcall(): `SEAMCALL leaf %llu failed: 0x%llx`. */
const RE_SEAMCALL_RFC = /^SEAMCALL leaf (\d+) failed: (0x[0-9a-fA-F]+)$/;
const RE_SEAMCALL_NAMED = /(?:^|SEAMCALL )(TDH[._][A-Z0-9._]+) failed: (0x[0-9a-fA-F]+)/;
const RE_REGS1 = /^RCX (0x[0-9a-fA-F]+) RDX (0x[0-9a-fA-F]+) R08 (0x[0-9a-fA-F]+)$/;
const RE_REGS2 = /^R09 (0x[0-9a-fA-F]+) R10 (0x[0-9a-fA-F]+) R11 (0x[0-9a-fA-F]+)$/;
const RE_REGS_DRAFT = /^additional output: rcx (0x[0-9a-fA-F]+), rdx (0x[0-9a-fA-F]+), r8 (0x[0-9a-fA-F]+), r9 (0x[0-9a-fA-F]+), r10 (0x[0-9a-fA-F]+), r11 (0x[0-9a-fA-F]+)\.?$/;
/**
 * Module version lines of every era:
 * - 7.1+: `Module version: %u.%u.%02u` (and the patch's own example `TDX module version: 1.5.24`);
 * - Ubuntu 6.14: `TDX module 2.0.08.00, build number 882, build date 0134fed5` (date in hex);
 * - 2023 host series, Ubuntu 6.8, v8 (`atributes`), MVP kernels (no attributes):
 *   `TDX module: attributes 0x0, vendor_id 0x8086, major_version 1, minor_version 5, build_date 20240129, build_num 698`.
 * @see linux b5425f5406ee (v7.1); canonical/tdx #415 (6.14.0-1009-intel); #135 (6.8.0-1006-intel); intel/tdx-tools #488 (MVP)
 */
const RE_VERSION_2026 = /^(?:TDX module version|Module version): (\d+)\.(\d+)\.(\d+)$/;
const RE_VERSION_UBUNTU_614 = /^TDX module (\d+)\.(\d+)\.(\d+)(?:\.\d+)?, build number (\d+), build date ([0-9a-fA-F]+)$/;
const RE_VERSION_LEGACY = /major_version (\d+), minor_version (\d+)(?:, build_date (\d+))?(?:, build_num (\d+))?/;
const RE_VERSION_GENERIC = /(?:TDX[- ]module|module vers?i?on)[: ]+(?:version[: ]+)?v?(\d+)\.(\d+)(?:\.(\d+))?/i;
const RE_CMR_RANGE = /^(BIOS-|Kernel-sanitized-)?CMR(?:\s*\[\s*\d+\s*\]|\s+\d+)?:\s*\[(0x[0-9a-fA-F]+),\s*(0x[0-9a-fA-F]+)\)\.?$/;
const RE_CMR_BASESIZE = /^(BIOS-|Kernel-sanitized-)?CMR(?:\s*\[\s*\d+\s*\]|\s+\d+)?:?\s*base[:= ]\s*(0x[0-9a-fA-F]+),?\s*size[:= ]\s*(0x[0-9a-fA-F]+)\.?$/;
const RE_CMR_MEM = /^(BIOS-|Kernel-sanitized-)?CMR(?:\s*\[\s*\d+\s*\]|\s+\d+)?:?\s*\[mem (0x[0-9a-fA-F]+)-(0x[0-9a-fA-F]+)\]\.?$/;
const RE_LIMIT = /^consumed TDMRs reaching limit: (\d+) used out of (\d+)$/;
const RE_RSVD = /^initialization failed: TDMR \[(0x[0-9a-fA-F]+), (0x[0-9a-fA-F]+)\): reserved areas exhausted\.?$/;
const RE_NODE_FALLBACK = /^TDMR \[(0x[0-9a-fA-F]+), (0x[0-9a-fA-F]+)\): unable to find local NUMA node for PAMT allocation/;
const RE_PAMT = /^(\d+) (KB|KBs|pages) allocated for PAMT\.?$/;
const RE_INIT_OK = /^(?:TDX module initialized\.|module initialized\.?|TDX-Module initialized\.?)$/;
const RE_INIT_FAIL = /^(?:module initialization failed|initialization failed|TDX-Module initialization failed) \((-?\d+)\)\.?$/;
const RE_INIT_FAIL_RFC = /^Failed to initialize TDX module\.?(?: Shut it down\.)?$/;
const RE_NOTIFIER = /^initialization failed: register_memory_notifier\(\) failed \((-?\d+)\)/;
const RE_TOO_FEW = /^initialization failed: too few private KeyIDs available(?: \((-?\d+)\))?\.?$/;
const RE_SYS_DISABLE = /^TDH\.SYS\.DISABLE failed: (0x[0-9a-fA-F]+)$/;

/** Markers: a line that starts like one of these but fails its strict pattern is a problem. */
const MARKERS: readonly (readonly [RegExp, string])[] = [
  [/^(?:BIOS enabled: private KeyID range|TDX private KeyID range)/, 'KeyID range line'],
  [/^SEAMCALL \(/, 'SEAMCALL failure line'],
  [/^SEAMCALL failed: /, 'SEAMCALL failure line'],
  [/^SEAMCALL leaf /, 'SEAMCALL failure line'],
  [/^RCX 0x/, 'SEAMCALL register line'],
  [/^R09 0x/, 'SEAMCALL register line'],
  [/^\d+ (?:KB|KBs|pages) allocated for PAMT/, 'PAMT line'],
  [/^(?:BIOS-|Kernel-sanitized-)?CMR\b/, 'CMR line'],
  [/^consumed TDMRs reaching limit/, 'TDMR limit line'],
  [/^initialization failed: TDMR \[/, 'reserved-area line'],
  [/^Module version:/, 'module version line'],
];

/** The leaf number of a SEAMCALL name as KVM prints it ("TDH.MNG.CREATE"). */
function leafNumberOf(name: string): number | undefined {
  const n = name.replace(/\./g, '_').toUpperCase();
  return Object.hasOwn(LEAF, n) ? LEAF[n as keyof typeof LEAF] : undefined;
}

type ParseResult = TdxEvent | { kind: 'problem'; message: string } | undefined;

/** Parse the message part of a host TDX line (after its prefix). */
function parseTdxMessage(m: string): ParseResult {
  let r: RegExpExecArray | null;
  if ((r = RE_KEYID.exec(m)) !== null) {
    const s = decNum(r[1]!);
    const e = decNum(r[2]!);
    return s === undefined || e === undefined ? { kind: 'problem', message: 'KeyID range out of range' } : { kind: 'keyid-range', start: s, end: e };
  }
  if (/^TDX enabled by BIOS\.?$/.test(m)) {
    return { kind: 'bios-enabled' };
  }
  if ((r = RE_TOO_FEW.exec(m)) !== null) {
    const nr = r[1] === undefined ? undefined : decNum(r[1]);
    return nr === undefined ? { kind: 'too-few-keyids' } : { kind: 'too-few-keyids', nr };
  }
  if (/^initialization failed: Hibernation support is enabled/.test(m)) {
    return { kind: 'hibernation' };
  }
  if ((r = RE_NOTIFIER.exec(m)) !== null) {
    return { kind: 'notifier-failed', errno: decNum(r[1]!) ?? 0 };
  }
  if (/^Disable ACPI S3\./.test(m)) {
    return { kind: 'acpi-s3' };
  }
  // 7.1+: the arch code's CPU-offline refusal (KVM printed it before, under kvm_intel).
  // @see linux arch/x86/virt/vmx/tdx/tdx.c tdx_offline_cpu() v7.1.3
  if (/^TDX requires all packages to have an online CPU/.test(m)) {
    return { kind: 'kvm', what: 'offline-package' };
  }
  if (/^initialization failed: TDX is disabled\.?$/.test(m)) {
    return { kind: 'tdx-disabled' };
  }
  if (/^(?:TDX )?module (?:is )?not loaded\.?$/i.test(m)) {
    return { kind: 'module-not-loaded' };
  }
  if (/SEAMRR/.test(m) && !/Inconsistent/.test(m)) {
    return { kind: 'seamrr', ok: /SEAMRR enabled/.test(m) };
  }
  if (/^Inconsistent .* by BIOS/.test(m)) {
    return { kind: 'bios-inconsistent' };
  }
  if ((r = RE_SEAMCALL.exec(m)) !== null) {
    const leafRaw = hexBig(r[1]!);
    const status = hexBig(r[2]!);
    if (leafRaw === undefined || status === undefined) {
      return { kind: 'problem', message: 'SEAMCALL failure line with a value wider than 64 bits' };
    }
    return { kind: 'seamcall-failed', leaf: Number(leafRaw & 0xffffn), leafRaw, status };
  }
  if ((r = RE_SEAMCALL_DRAFT.exec(m)) !== null) {
    const cpu = r[1] === undefined ? undefined : decNum(r[1]);
    const leaf = decNum(r[2]!);
    const status = hexBig(r[3]!);
    if ((r[1] !== undefined && cpu === undefined) || leaf === undefined || status === undefined) {
      return { kind: 'problem', message: 'SEAMCALL failure line with an out-of-range value' };
    }
    return cpu === undefined ? { kind: 'seamcall-failed', leaf: leaf & 0xffff, leafRaw: BigInt(leaf), status } : { kind: 'seamcall-failed', leaf: leaf & 0xffff, leafRaw: BigInt(leaf), status, cpu };
  }
  if ((r = RE_SEAMCALL_RFC.exec(m)) !== null) {
    const leaf = decNum(r[1]!);
    const status = hexBig(r[2]!);
    if (leaf === undefined || status === undefined) {
      return { kind: 'problem', message: 'SEAMCALL failure line with an out-of-range value' };
    }
    return { kind: 'seamcall-failed', leaf: leaf & 0xffff, leafRaw: BigInt(leaf), status };
  }
  if ((r = RE_REGS1.exec(m)) !== null) {
    const [rcx, rdx, r8] = [hexBig(r[1]!), hexBig(r[2]!), hexBig(r[3]!)];
    if (rcx === undefined || rdx === undefined || r8 === undefined) {
      return { kind: 'problem', message: 'register value wider than 64 bits' };
    }
    return { kind: 'seamcall-regs', regs: { rcx, rdx, r8 } };
  }
  if ((r = RE_REGS2.exec(m)) !== null) {
    const [r9, r10, r11] = [hexBig(r[1]!), hexBig(r[2]!), hexBig(r[3]!)];
    if (r9 === undefined || r10 === undefined || r11 === undefined) {
      return { kind: 'problem', message: 'register value wider than 64 bits' };
    }
    return { kind: 'seamcall-regs', regs: { r9, r10, r11 } };
  }
  if ((r = RE_REGS_DRAFT.exec(m)) !== null) {
    const v = r.slice(1, 7).map((x) => hexBig(x));
    if (v.some((x) => x === undefined)) {
      return { kind: 'problem', message: 'register value wider than 64 bits' };
    }
    const [rcx, rdx, r8, r9, r10, r11] = v as bigint[];
    return { kind: 'seamcall-regs', regs: { rcx: rcx!, rdx: rdx!, r8: r8!, r9: r9!, r10: r10!, r11: r11! } };
  }
  if (/frame pointer \(RBP\) clobber bug present/.test(m)) {
    return { kind: 'rbp-clobber' };
  }
  if ((r = RE_VERSION_2026.exec(m)) !== null) {
    return { kind: 'module-version', major: Number(r[1]), minor: Number(r[2]), update: Number(r[3]) };
  }
  if ((r = RE_VERSION_UBUNTU_614.exec(m)) !== null) {
    // The build date is the decimal YYYYMMDD printed in hex (0134fed5 = 20250325).
    return { kind: 'module-version', major: Number(r[1]), minor: Number(r[2]), update: Number(r[3]), buildNum: Number(r[4]), buildDate: parseInt(r[5] as string, 16) };
  }
  if ((r = RE_VERSION_LEGACY.exec(m)) !== null) {
    return {
      kind: 'module-version',
      major: Number(r[1]),
      minor: Number(r[2]),
      ...(r[3] !== undefined ? { buildDate: Number(r[3]) } : {}),
      ...(r[4] !== undefined ? { buildNum: Number(r[4]) } : {}),
    };
  }
  if ((r = RE_CMR_RANGE.exec(m) ?? RE_CMR_BASESIZE.exec(m) ?? RE_CMR_MEM.exec(m)) !== null) {
    const a = hexNum(r[2]!);
    const b = hexNum(r[3]!);
    if (a === undefined || b === undefined) {
      return { kind: 'problem', message: 'CMR address beyond 2^53' };
    }
    const variant = r[1] === 'BIOS-' ? 'bios' : r[1] === 'Kernel-sanitized-' ? 'sanitized' : 'plain';
    const isBaseSize = RE_CMR_BASESIZE.test(m);
    const isMem = !isBaseSize && RE_CMR_MEM.test(m);
    const end = isBaseSize ? a + b : isMem ? b + 1 : b;
    if (end < a) {
      return { kind: 'problem', message: 'CMR ends before it starts' };
    }
    return { kind: 'cmr', base: a, end, variant };
  }
  if (/^initialization failed: TDMRs exhausted\.?$/.test(m)) {
    return { kind: 'tdmrs-exhausted' };
  }
  if ((r = RE_LIMIT.exec(m)) !== null) {
    return { kind: 'tdmr-limit', used: Number(r[1]), max: Number(r[2]) };
  }
  if ((r = RE_RSVD.exec(m)) !== null) {
    const a = hexNum(r[1]!);
    const b = hexNum(r[2]!);
    return a === undefined || b === undefined ? { kind: 'problem', message: 'TDMR address beyond 2^53' } : { kind: 'rsvd-exhausted', base: a, end: b };
  }
  if ((r = RE_NODE_FALLBACK.exec(m)) !== null) {
    const a = hexNum(r[1]!);
    const b = hexNum(r[2]!);
    return a === undefined || b === undefined ? { kind: 'problem', message: 'TDMR address beyond 2^53' } : { kind: 'pamt-node-fallback', base: a, end: b };
  }
  if ((r = RE_PAMT.exec(m)) !== null) {
    const v = decNum(r[1]!);
    return v === undefined ? { kind: 'problem', message: 'PAMT size out of range' } : { kind: 'pamt-allocated', value: v, unit: r[2] as 'KB' | 'KBs' | 'pages' };
  }
  if (RE_INIT_OK.test(m)) {
    return { kind: 'init-ok' };
  }
  if ((r = RE_INIT_FAIL.exec(m)) !== null) {
    const e = decNum(r[1]!);
    return e === undefined ? { kind: 'init-failed' } : { kind: 'init-failed', errno: e };
  }
  if (RE_INIT_FAIL_RFC.test(m)) {
    return { kind: 'init-failed' };
  }
  if (/^Enable Dynamic PAMT$/.test(m)) {
    return { kind: 'dpamt-enabled' };
  }
  if ((r = RE_SYS_DISABLE.exec(m)) !== null) {
    const s = hexBig(r[1]!);
    return s === undefined ? { kind: 'problem', message: 'status wider than 64 bits' } : { kind: 'sys-disable-failed', status: s };
  }
  if (/^Guest detected/.test(m)) {
    return { kind: 'guest' };
  }
  if (/^(?:\[firmware bug\]: )?(?:TDX is )?not enabled by BIOS\.?$/i.test(m)) {
    return { kind: 'not-enabled-by-bios' };
  }
  if ((r = /^(?:SEAMCALL failed: )?CPU (?:(\d+) )?is not in VMX operation\.?$/.exec(m)) !== null) {
    return r[1] !== undefined ? { kind: 'not-in-vmx', cpu: Number(r[1]) } : { kind: 'not-in-vmx' };
  }
  if (/^(?:Cannot enable TDX on TDX disabled platform|TDX not supported by the host platform)\.?$/.test(m)) {
    return { kind: 'no-tdx-platform' };
  }
  if (/^TDDEBUGCONFIG isn't supported\.?$/.test(m)) {
    return { kind: 'debugconfig-unsupported' };
  }
  if (/^NO_RBP_MOD feature is not supported/.test(m)) {
    return { kind: 'rbp-clobber' };
  }
  if ((r = RE_VERSION_GENERIC.exec(m)) !== null) {
    return { kind: 'module-version', major: Number(r[1]), minor: Number(r[2]), ...(r[3] !== undefined ? { update: Number(r[3]) } : {}) };
  }
  for (const [re, what] of MARKERS) {
    if (re.test(m)) {
      return { kind: 'problem', message: `malformed ${what}` };
    }
  }
  return { kind: 'other' };
}

/** KVM's TDX lines (pr_fmt "kvm_intel: "), with or without the "tdx: " tag. */
function parseKvmMessage(m: string): TdxEvent | undefined {
  if (!/\btdx\b|\bTDX\b|TDH[._]/.test(m)) {
    return undefined;
  }
  const body = m.replace(/^tdx: /, '');
  if (/MOVDIR64B is required for TDX/.test(body)) {
    return { kind: 'kvm', what: 'movdir64b' };
  }
  if (/Self-snoop is required for TDX/.test(body)) {
    return { kind: 'kvm', what: 'self-snoop' };
  }
  if (/no TDX private KeyIDs available/.test(body)) {
    return { kind: 'kvm', what: 'no-keyids' };
  }
  if (/requires kvm\.enable_virt_at_load=1/.test(body)) {
    return { kind: 'kvm', what: 'virt-at-load' };
  }
  if (/MAX_VCPU_PER_TD \(\d+\) smaller than number of logical CPUs/.test(body)) {
    return { kind: 'kvm', what: 'max-vcpus' };
  }
  if (/TDX requires all packages to have an online CPU/.test(body)) {
    return { kind: 'kvm', what: 'offline-package' };
  }
  const named = RE_SEAMCALL_NAMED.exec(body);
  if (named !== null) {
    const leaf = leafNumberOf(named[1]!);
    const status = hexBig(named[2]!);
    if (leaf !== undefined && status !== undefined) {
      return { kind: 'seamcall-failed', leaf, leafRaw: BigInt(leaf), status };
    }
  }
  return { kind: 'kvm', what: 'other' };
}

/** lib/ratelimit.c's `%s: %d callbacks suppressed`. @see linux lib/ratelimit.c ___ratelimit() (v6.18.2) */
const RE_SUPPRESSED = /^([A-Za-z_][\w.]*): (\d+) callbacks suppressed$/;
/**
 * __warn()'s first line (`WARNING: CPU: %d PID: %d at %s:%d %pS`) at a TDX source file; the
 * model's form has `PID: ?` and no `+0x…/0x…`.
 * @see linux kernel/panic.c __warn() (v6.18.2)
 */
const RE_WARN_TDX = /^WARNING: CPU: (\d+) PID: (?:\d+|\?) at (arch\/x86\/(?:kvm\/vmx\/tdx\.c|virt\/vmx\/tdx\/tdx\.c)):(\d+) ([A-Za-z_][\w.]*)(?:\+0x[0-9a-fA-F]+\/0x[0-9a-fA-F]+)?(?: \[\w+\])?/;
/**
 * 7.1.3's __warn() first line (`WARNING: %s:%d at %pS, CPU#%d: %s/%d`) at a TDX source file; the
 * model's form has `?/?` for the task and no `+0x…/0x…`.
 * @see linux kernel/panic.c __warn() (v7.1.3)
 */
const RE_WARN_TDX_71 = /^WARNING: (arch\/x86\/(?:kvm\/vmx\/tdx\.c|virt\/vmx\/tdx\/tdx\.c)):(\d+) at ([A-Za-z_][\w.]*)(?:\+0x[0-9a-fA-F]+\/0x[0-9a-fA-F]+)?(?: \[\w+\])?, CPU#(\d+): /;

/** A rate-limit or WARNING line that belongs to the TDX story, else undefined. */
function parseSuppressedOrSplat(m: string): TdxEvent | undefined {
  let r = RE_SUPPRESSED.exec(m);
  if (r !== null) {
    const count = decNum(r[2]!);
    return count !== undefined && KVM_TDX_FAILURE_PRINT_FUNCS.has(r[1]!) ? { kind: 'kvm-suppressed', func: r[1]!, count } : undefined;
  }
  r = RE_WARN_TDX.exec(m);
  if (r !== null) {
    return warnSplat(r[2]!, r[3]!, r[4]!, r[1]!);
  }
  r = RE_WARN_TDX_71.exec(m);
  if (r !== null) {
    return warnSplat(r[1]!, r[2]!, r[3]!, r[4]!);
  }
  return undefined;
}

function warnSplat(file: string, lineText: string, fn: string, cpuText: string): TdxEvent | undefined {
  const cpu = decNum(cpuText);
  const fileLine = decNum(lineText);
  if (fileLine === undefined) {
    return undefined;
  }
  return cpu === undefined ? { kind: 'warn-splat', file, fileLine, fn } : { kind: 'warn-splat', file, fileLine, fn, cpu };
}

/** KVM's one-line runtime form (Ubuntu 6.8, out-of-tree KVM), printed without a prefix; registers may be cut or redacted. */
const RE_SEAMCALL_ONELINE = /^SEAMCALL \((0x[0-9a-fA-F]+)\) failed: (0x[0-9a-fA-F]+)(?:[,\s]+(?:RCX|rcx)\b.*)?$/;

function parseOneLiner(m: string): ParseResult {
  const r = RE_SEAMCALL_ONELINE.exec(m);
  if (r === null) {
    return undefined;
  }
  const leafRaw = hexBig(r[1]!);
  const status = hexBig(r[2]!);
  if (leafRaw === undefined || status === undefined) {
    return { kind: 'problem', message: 'SEAMCALL failure line with a value wider than 64 bits' };
  }
  return { kind: 'seamcall-failed', leaf: Number(leafRaw & 0xffffn), leafRaw, status };
}

function newBoot(firstLine: number): BootFacts {
  return { firstLine, lastLine: firstLine, e820: [], userE820: [], e820Updates: [], nodeRanges: [], srat: [], initmem: [], topology: {}, tdx: [], cmrs: [], kernelish: 0 };
}

function isKernelish(text: string, stamped: boolean): boolean {
  return stamped || /^(?:Linux version|Command line:|BOOT_IMAGE=|kexec_core:|BIOS-e820|e820:|ACPI:|PCI|pci |smpboot:|x86\/|virt\/tdx:|tdx:|kvm|Memory:|NUMA|SRAT|DMI:|microcode|Kernel command line)/.test(text) || /^[a-zA-Z][\w.-]{1,24}(?: [\w:.-]{1,24})?: \S/.test(text);
}

/**
 * Parse a dmesg. Never throws; relevant lines that do not parse are listed as problems.
 * @param lines the input's lines
 * @param name how the input is named in messages
 */
export function parseDmesg(lines: readonly string[], name = '<dmesg>', endsMidLine = false): DmesgFacts {
  const boots: BootFacts[] = [];
  const problems: DmesgProblem[] = [];
  let boot = newBoot(1);
  boots.push(boot);
  let inNodeRanges = false;
  let longLines = 0;
  const pasteDamage: Record<string, { count: number; firstLine: number }> = {};
  let noiseLines = 0;
  let kexecLine: LineRef | undefined;
  const problem = (line: number, message: string, text: string): void => {
    problems.push({ line, message, text: text.length > 200 ? `${text.slice(0, 200)}...` : text });
  };
  for (let i = 0; i < lines.length; i++) {
    const ln = i + 1;
    const raw = lines[i] ?? '';
    if (raw.length > MAX_LINE) {
      longLines++;
      continue;
    }
    const { text, stamped, noise, damage } = stripLogPrefix(raw);
    for (const d of damage ?? []) {
      const e = pasteDamage[d];
      pasteDamage[d] = e === undefined ? { count: 1, firstLine: ln } : { count: e.count + 1, firstLine: e.firstLine };
    }
    if (noise === true) {
      noiseLines++;
      continue;
    }
    if (text === '') {
      continue;
    }
    if (/^kexec_core: Starting new kernel/.test(text)) {
      kexecLine = { line: ln, text };
    }
    let r: RegExpExecArray | null;
    if ((r = RE_LINUX.exec(text)) !== null) {
      // A new boot starts here (logs over several boots, or a kexec'd kernel's log appended).
      if (boot.kernelVersion !== undefined || boot.tdx.length > 0 || boot.e820.length > 0) {
        boot = newBoot(ln);
        boots.push(boot);
        inNodeRanges = false;
      }
      boot.kernelVersion = { text: `${r[1]}.${r[2]}${r[3] ?? ''}`, major: Number(r[1]), minor: Number(r[2]), line: ln };
      if (kexecLine !== undefined) {
        boot.kexecFrom = kexecLine;
        kexecLine = undefined;
      }
    } else if (boot.kernelVersion === undefined && (r = RE_BOOT_IMAGE.exec(text)) !== null) {
      boot.kernelVersion = { text: `${r[1]}.${r[2]}${r[3] ?? ''}`, major: Number(r[1]), minor: Number(r[2]), line: ln };
    }
    boot.lastLine = ln;
    if (isKernelish(text, stamped)) {
      boot.kernelish++;
    }
    if (text === 'Early memory node ranges') {
      inNodeRanges = true;
      continue;
    }
    if (inNodeRanges) {
      if ((r = RE_NODE_RANGE.exec(text)) !== null) {
        const a = hexNum(r[2]!);
        const b = hexNum(r[3]!);
        const node = decNum(r[1]!);
        if (a === undefined || b === undefined || node === undefined || b < a) {
          problem(ln, 'malformed node range line', text);
        } else {
          boot.nodeRanges.push({ node, base: a, end: b + 1, line: ln });
        }
        continue;
      }
      if (/^\s*node\s+\d+:/.test(text)) {
        problem(ln, 'malformed node range line', text);
        continue;
      }
      inNodeRanges = false;
    }
    if ((r = RE_E820.exec(text)) !== null) {
      const a = hexNum(r[2]!);
      const b = hexNum(r[3]!);
      if (a === undefined || b === undefined || b < a) {
        problem(ln, `malformed ${r[1]} line`, text);
      } else if (r[1] === 'BIOS-e820') {
        boot.e820.push({ base: a, end: b + 1, type: e820TypeName(r[4]!), line: ln });
      } else if (r[1] === 'user') {
        boot.userE820.push({ base: a, end: b + 1, type: e820TypeName(r[4]!), line: ln });
      }
      continue;
    }
    if ((r = RE_E820_OLD.exec(text)) !== null) {
      const a = hexNum(r[2]!);
      const b = hexNum(r[3]!);
      if (a === undefined || b === undefined || b < a) {
        problem(ln, `malformed ${r[1]} line`, text);
      } else {
        (r[1] === 'BIOS-e820' ? boot.e820 : boot.userE820).push({ base: a, end: b, type: e820TypeName(r[4]!), line: ln });
      }
      continue;
    }
    if (/^(?:BIOS-e820|user): /.test(text)) {
      problem(ln, 'malformed e820 line', text);
      continue;
    }
    if ((r = RE_E820_UPDATE.exec(text)) !== null) {
      const a = hexNum(r[1]!);
      const b = hexNum(r[2]!);
      if (a === undefined || b === undefined || b < a) {
        problem(ln, 'malformed e820 update line', text);
      } else {
        boot.e820Updates.push({ base: a, end: b + 1, from: r[3]!, to: r[4]!, line: ln });
      }
      continue;
    }
    if ((r = RE_E820_REMOVE.exec(text)) !== null) {
      const a = hexNum(r[1]!);
      const b = hexNum(r[2]!);
      if (a === undefined || b === undefined || b < a) {
        problem(ln, 'malformed e820 remove line', text);
      } else {
        boot.e820Updates.push({ base: a, end: b + 1, from: r[3]!, to: undefined, line: ln });
      }
      continue;
    }
    if ((r = RE_SRAT.exec(text)) !== null) {
      const a = hexNum(r[3]!);
      const b = hexNum(r[4]!);
      const node = decNum(r[1]!);
      if (a === undefined || b === undefined || node === undefined || b < a) {
        problem(ln, 'malformed SRAT line', text);
      } else {
        boot.srat.push({ node, base: a, end: b + 1, line: ln });
      }
      continue;
    }
    if ((r = RE_NUMA_MERGE.exec(text)) !== null) {
      const a = hexNum(r[6]!);
      const b = hexNum(r[7]!);
      const node = decNum(r[1]!);
      if (a !== undefined && b !== undefined && node !== undefined && b >= a) {
        boot.srat.push({ node, base: a, end: b + 1, line: ln });
      }
      continue;
    }
    if ((r = RE_INITMEM.exec(text)) !== null) {
      const a = hexNum(r[2]!);
      const b = hexNum(r[3]!);
      const node = decNum(r[1]!);
      if (a !== undefined && b !== undefined && node !== undefined && b >= a) {
        boot.initmem.push({ node, base: a, end: b + 1, line: ln });
      }
      continue;
    }
    if ((r = RE_FAKE_NODE.exec(text)) !== null) {
      const a = hexNum(r[1]!);
      const b = hexNum(r[2]!);
      if (a !== undefined && b !== undefined && b >= a) {
        boot.initmem.push({ node: 0, base: a, end: b + 1, line: ln });
      }
      continue;
    }
    if ((r = RE_CPU0.exec(text)) !== null) {
      boot.cpu = { name: r[1]!, family: Number(r[2]), model: Number(r[3]), stepping: Number(r[4]), line: ln };
      continue;
    }
    if (text.startsWith('Command line: ') || text.startsWith('Kernel command line: ') || text.startsWith('BOOT_IMAGE=')) {
      boot.commandLine = { line: ln, text: text.replace(/^(?:Kernel )?[Cc]ommand line: /, '') };
      continue;
    }
    if ((r = /^smp: Brought up (\d+) nodes?, (\d+) CPUs?$/.exec(text)) !== null) {
      boot.topology.numaNodes = Number(r[1]);
      boot.topology.logicalCpus = Number(r[2]);
      continue;
    }
    if ((r = /^smpboot: Allowing (\d+) CPUs, (\d+) hotplug CPUs$/.exec(text)) !== null) {
      boot.topology.possibleCpus = Number(r[1]);
      continue;
    }
    if ((r = /^CPU topo: Allowing (\d+) present CPUs plus (\d+) hotplug CPUs/.exec(text)) !== null) {
      boot.topology.possibleCpus = Number(r[1]);
      continue;
    }
    if ((r = /^(?:smpboot: |CPU topo: )Max\.? logical packages:\s+(\d+)$/.exec(text)) !== null) {
      boot.topology.packages = Number(r[1]);
      continue;
    }
    if ((r = /^CPU topo: Max\. threads per core:\s+(\d+)$/.exec(text)) !== null) {
      boot.topology.threadsPerCore = Number(r[1]);
      continue;
    }
    if ((r = /^CPU topo: Num\. cores per package:\s+(\d+)$/.exec(text)) !== null) {
      boot.topology.coresPerPackage = Number(r[1]);
      continue;
    }
    // TDX lines.
    let prefix: string | undefined;
    for (const p of TDX_PREFIXES) {
      if (text.startsWith(p)) {
        prefix = p;
        break;
      }
    }
    let ev: ParseResult = undefined;
    if (prefix !== undefined) {
      ev = parseTdxMessage(text.slice(prefix.length));
    } else if (/^kvm_intel: /.test(text)) {
      prefix = 'kvm_intel: ';
      ev = parseKvmMessage(text.slice(prefix.length));
    } else if (/^kexec: Not allowed on platform with tdx_pw_mce bug/.test(text)) {
      prefix = 'kexec: ';
      ev = { kind: 'kexec-refused' };
    } else if (/TDX private memory error\. Possible kernel bug\./.test(text)) {
      prefix = '';
      ev = { kind: 'mce-private' };
    } else if (/^TDX module (?:is )?not loaded\.?$/.test(text)) {
      prefix = '';
      ev = { kind: 'module-not-loaded' };
    } else if (/^SEAMCALL /.test(text)) {
      prefix = '';
      ev = parseOneLiner(text);
    } else if (/ callbacks suppressed$|^WARNING: (?:CPU: |arch\/)/.test(text)) {
      ev = parseSuppressedOrSplat(text);
      prefix = ev === undefined ? undefined : '';
    } else if (/^TDX requires TDP MMU\./.test(text)) {
      prefix = '';
      ev = { kind: 'kvm', what: 'other' };
    } else if (i === lines.length - 1 && text.length >= 2 && completions(text, '').length > 0) {
      prefix = '';
      ev = { kind: 'truncated', candidates: completions(text, '').map((p) => p.id) };
    }
    if (prefix !== undefined && prefix !== '' && prefix !== 'kvm_intel: ' && (ev === undefined || ev.kind === 'problem' || ev.kind === 'other')) {
      // A host line that is no known string: is it the start of one (cut off by the paste)?
      const cands = completions(text.slice(prefix.length), prefix);
      if (cands.length > 0) {
        ev = { kind: 'truncated', candidates: cands.map((p) => p.id) };
      }
    }
    if (ev === undefined || prefix === undefined) {
      continue;
    }
    if (ev.kind === 'problem') {
      problem(ln, ev.message, text);
      continue;
    }
    const tl = { ...ev, line: ln, text, prefix } as TdxLine;
    boot.tdx.push(tl);
    if (ev.kind === 'cmr') {
      boot.cmrs.push({ base: ev.base, end: ev.end, variant: ev.variant, line: ln });
    }
  }
  return { name, totalLines: lines.length, boots: boots.filter((b, i) => i === 0 || b.kernelish > 0 || b.tdx.length > 0), problems, endsMidLine, longLines, pasteDamage, noiseLines };
}

/** The boot to diagnose: the last one with TDX lines, else the last one. */
export function mainBoot(f: DmesgFacts): BootFacts {
  for (let i = f.boots.length - 1; i >= 0; i--) {
    const b = f.boots[i]!;
    if (b.tdx.length > 0) {
      return b;
    }
  }
  return f.boots[f.boots.length - 1]!;
}

/** Total lines that looked like kernel log lines. */
export function kernelishLines(f: DmesgFacts): number {
  return f.boots.reduce((s, b) => s + b.kernelish, 0);
}
