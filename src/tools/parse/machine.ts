/**
 * Turning what an input holds (a dmesg, /proc/iomem) into a platform description the simulator
 * and the TDMR planner accept. The memory map comes from the best source present:
 *
 * 1. "Early memory node ranges": memblock.memory exactly as Linux's build_tdx_memlist() walks it;
 * 2. the BIOS-e820 table (with "e820: update/remove" applied), split by SRAT/NUMA node spans;
 * 3. /proc/iomem "System RAM" entries (no NUMA information: everything on node 0);
 * 4. only the CMRs some kernels print (memblock RAM lies inside the CMRs, so this is an upper
 *    bound of the TDX memory).
 *
 * Every fact that had to be assumed (CPU model, topology, SEAMRR, KeyIDs...) is listed in
 * `assumptions`, so that reports can say what the reproduction rests on.
 */
import type { PlatformSpecInput } from '../../platform/spec.js';
import type { BootFacts, CmrLine, E820Line, NodeRangeLine } from './dmesg.js';
import type { IomemFacts } from './iomem.js';
import { humanBytes, hx } from './num.js';

const PAGE = 4096;
const GiB = 2 ** 30;

/** Where a plan's memory map came from. */
export type MemorySourceKind = 'platform' | 'node-ranges' | 'e820' | 'iomem' | 'cmrs';

/** The memory source, with a sentence that says which lines were used. */
export interface MemorySource {
  readonly kind: MemorySourceKind;
  readonly detail: string;
}

/** A rebuilt machine: the platform input plus what was assumed. */
export interface RebuiltMachine {
  readonly platform: PlatformSpecInput;
  readonly source: MemorySource;
  readonly assumptions: string[];
  /** Facts the rebuild could not find (no memory map at all, no KeyIDs...). */
  readonly missing: string[];
}

type E820Type = PlatformSpecInput['memory']['e820'][number]['type'];
interface Range {
  base: number;
  end: number;
}
interface TypedRange extends Range {
  type: string;
}

function e820Type(t: string): E820Type {
  const s = t.toLowerCase();
  if (s === 'usable' || s === 'system ram') {
    return 'usable';
  }
  if (s === 'acpi data' || s === 'acpi tables') {
    return 'ACPI data';
  }
  if (s === 'acpi nvs' || s === 'acpi non-volatile storage') {
    return 'ACPI NVS';
  }
  if (s === 'unusable') {
    return 'unusable';
  }
  if (s.startsWith('persistent') || s === 'type 12' || s === 'type 7') {
    return 'persistent';
  }
  if (s === 'reserved-kern') {
    return 'reserved-kern';
  }
  return 'reserved';
}

/** Apply "e820: update [mem a-b] X ==> Y" and "e820: remove [mem a-b] X" to a table. */
function applyUpdates(table: TypedRange[], updates: BootFacts['e820Updates']): TypedRange[] {
  let t = table;
  for (const u of updates) {
    const out: TypedRange[] = [];
    for (const r of t) {
      if (r.end <= u.base || r.base >= u.end || e820Type(r.type) !== e820Type(u.from)) {
        out.push(r);
        continue;
      }
      if (r.base < u.base) {
        out.push({ base: r.base, end: u.base, type: r.type });
      }
      if (u.to !== undefined) {
        out.push({ base: Math.max(r.base, u.base), end: Math.min(r.end, u.end), type: u.to });
      }
      if (r.end > u.end) {
        out.push({ base: u.end, end: r.end, type: r.type });
      }
    }
    t = out;
  }
  return t;
}

/**
 * Page-align ranges inward (memblock only hands whole pages to the kernel), sort them, and clip
 * overlaps (a later-starting range loses the overlapping part). Empty ranges disappear.
 */
function normalize<T extends Range>(rs: readonly T[]): T[] {
  const aligned = rs
    .map((r) => ({ ...r, base: Math.ceil(r.base / PAGE) * PAGE, end: Math.floor(r.end / PAGE) * PAGE }))
    .filter((r) => r.end > r.base)
    .sort((a, b) => a.base - b.base || a.end - b.end);
  const out: T[] = [];
  let prevEnd = 0;
  for (const r of aligned) {
    const base = Math.max(r.base, prevEnd);
    if (base >= r.end) {
      continue;
    }
    out.push({ ...r, base });
    prevEnd = r.end;
  }
  return out;
}

/** Merge touching or overlapping ranges. */
function mergeRanges(rs: readonly Range[]): Range[] {
  const s = [...rs].sort((a, b) => a.base - b.base);
  const out: Range[] = [];
  for (const r of s) {
    const last = out[out.length - 1];
    if (last !== undefined && r.base <= last.end) {
      last.end = Math.max(last.end, r.end);
    } else {
      out.push({ base: r.base, end: r.end });
    }
  }
  return out;
}

function lineSpan(lines: readonly { line: number }[]): string {
  if (lines.length === 0) {
    return '';
  }
  // A loop, not a spread: a memory map may have hundreds of thousands of lines.
  let a = Infinity;
  let b = -Infinity;
  for (const l of lines) {
    a = Math.min(a, l.line);
    b = Math.max(b, l.line);
  }
  return a === b ? `line ${a}` : `lines ${a}-${b}`;
}

/** Intel family-6 model numbers of the server parts the platform model knows. */
function cpuModelOf(model: number | undefined): { model: PlatformSpecInput['cpuModel']; known: boolean } {
  switch (model) {
    case 0x8f:
      return { model: 'sapphire-rapids', known: true };
    case 0xcf:
      return { model: 'emerald-rapids', known: true };
    case 0xad:
    case 0xae:
      return { model: 'granite-rapids', known: true };
    default:
      return { model: 'granite-rapids', known: false };
  }
}

/** The CMRs a log printed: BIOS-CMR lines if both BIOS and sanitized ones are present. */
export function logCmrs(cmrs: readonly CmrLine[]): CmrLine[] {
  const bios = cmrs.filter((c) => c.variant === 'bios');
  const plain = cmrs.filter((c) => c.variant === 'plain');
  const picked = bios.length > 0 ? bios : plain.length > 0 ? plain : cmrs.filter((c) => c.variant === 'sanitized');
  // A log may print the CMR list more than once (several init attempts): keep distinct ranges.
  const seen = new Set<string>();
  return picked.filter((c) => {
    const k = `${c.base}-${c.end}`;
    if (seen.has(k)) {
      return false;
    }
    seen.add(k);
    return c.end > c.base;
  });
}

interface MemoryPick {
  e820: { base: number; size: number; type: E820Type }[];
  nodes: { node: number; base: number; size: number }[];
  source: MemorySource;
}

function nodeSpans(b: BootFacts): { spans: NodeRangeLine[]; from: string } {
  if (b.srat.length > 0) {
    return { spans: b.srat, from: 'SRAT' };
  }
  if (b.initmem.length > 0) {
    return { spans: b.initmem, from: '"Initmem setup node"' };
  }
  return { spans: [], from: '' };
}

function pickFromDmesg(b: BootFacts, assumptions: string[]): MemoryPick | undefined {
  if (b.nodeRanges.length > 0) {
    const rs = normalize(b.nodeRanges);
    const total = rs.reduce((s, r) => s + r.end - r.base, 0);
    // Node spans: one per run of consecutive ranges on the same node, holes included (holes are
    // not memory, so which node they belong to does not matter), to keep the node list short.
    const nodes: { node: number; base: number; size: number }[] = [];
    for (const r of rs) {
      const last = nodes[nodes.length - 1];
      if (last !== undefined && last.node === r.node) {
        last.size = r.end - last.base;
      } else {
        nodes.push({ node: r.node, base: r.base, size: r.end - r.base });
      }
    }
    return {
      e820: rs.map((r) => ({ base: r.base, size: r.end - r.base, type: 'usable' as const })),
      nodes,
      source: { kind: 'node-ranges', detail: `${b.nodeRanges.length} "Early memory node ranges" lines (${lineSpan(b.nodeRanges)}): memblock as Linux walks it, ${humanBytes(total)} on ${new Set(rs.map((r) => r.node)).size} node(s)` },
    };
  }
  const table: E820Line[] = b.userE820.length > 0 ? b.userE820 : b.e820;
  if (table.length > 0) {
    const updated = applyUpdates(
      table.map((e) => ({ base: e.base, end: e.end, type: e.type })),
      b.e820Updates,
    );
    const rs = normalize(updated.map((r) => ({ ...r, type: e820Type(r.type) })));
    const { spans, from } = nodeSpans(b);
    const nodes = normalize(spans.map((s) => ({ ...s }))).map((s) => ({ node: s.node, base: s.base, size: s.end - s.base }));
    const ram = rs.filter((r) => r.type === 'usable' || r.type === 'reserved-kern').reduce((s, r) => s + r.end - r.base, 0);
    if (nodes.length === 0) {
      assumptions.push('no SRAT/NUMA node lines: all memory assumed on node 0 (PAMT placement per node may differ)');
    }
    const which = b.userE820.length > 0 ? 'user-defined e820 (memmap=)' : 'BIOS-e820';
    const upd = b.e820Updates.length > 0 ? ` with ${b.e820Updates.length} "e820: update/remove" line(s) applied` : '';
    return {
      e820: rs.map((r) => ({ base: r.base, size: r.end - r.base, type: r.type })),
      nodes,
      source: { kind: 'e820', detail: `${table.length} ${which} lines (${lineSpan(table)})${upd}, ${humanBytes(ram)} usable${nodes.length > 0 ? `, nodes from ${from}` : ''}` },
    };
  }
  const cmrs = logCmrs(b.cmrs);
  if (cmrs.length > 0) {
    const rs = normalize(cmrs.map((c) => ({ base: c.base, end: c.end })));
    const { spans, from } = nodeSpans(b);
    const nodes = normalize(spans.map((s) => ({ ...s }))).map((s) => ({ node: s.node, base: s.base, size: s.end - s.base }));
    assumptions.push('memory taken from the CMRs: memblock RAM lies inside the CMRs, so TDMR coverage and PAMT size are upper bounds and holes inside CMRs are not seen');
    return {
      e820: rs.map((r) => ({ base: r.base, size: r.end - r.base, type: 'usable' as const })),
      nodes,
      source: { kind: 'cmrs', detail: `only CMR lines (${lineSpan(cmrs)}): ${cmrs.length} CMR(s) used as the memory map${nodes.length > 0 ? `, nodes from ${from}` : ''}` },
    };
  }
  return undefined;
}

function pickFromIomem(f: IomemFacts, assumptions: string[]): MemoryPick | undefined {
  const typed: TypedRange[] = [];
  for (const e of f.entries) {
    const n = e.name.toLowerCase();
    let type: E820Type | undefined;
    if (n === 'system ram') {
      type = 'usable';
    } else if (n === 'reserved') {
      type = 'reserved';
    } else if (n === 'acpi tables') {
      type = 'ACPI data';
    } else if (n === 'acpi non-volatile storage') {
      type = 'ACPI NVS';
    } else if (n === 'persistent memory' || n === 'persistent memory (legacy)') {
      type = 'persistent';
    } else if (n === 'unusable memory') {
      type = 'unusable';
    }
    if (type !== undefined) {
      typed.push({ base: e.base, end: e.end, type });
    }
  }
  const rs = normalize(typed);
  const ram = rs.filter((r) => r.type === 'usable');
  if (ram.length === 0) {
    return undefined;
  }
  assumptions.push('/proc/iomem has no NUMA information: all memory assumed on node 0 (PAMT placement per node may differ)');
  const total = ram.reduce((s, r) => s + r.end - r.base, 0);
  return {
    e820: rs.map((r) => ({ base: r.base, size: r.end - r.base, type: r.type as E820Type })),
    nodes: [],
    source: { kind: 'iomem', detail: `${ram.length} top-level "System RAM" entries of /proc/iomem, ${humanBytes(total)}` },
  };
}

/**
 * Place SEAMRR (32 MiB) and SMRR (8 MiB) where they overlap no RAM and no CMR, each aligned to
 * its size: in a hole below 4 GiB (SMRR is a 32-bit range; firmware puts both in the MMIO hole),
 * from the top down. Without such a hole SEAMRR goes above all memory and SMRR is left invalid.
 */
function firmwareRanges(used: readonly Range[], top: number): { seamrr: PlatformSpecInput['seamrr']; smrr: PlatformSpecInput['smrr']; where: string } {
  const taken = mergeRanges(used);
  const free = (base: number, size: number): boolean => taken.every((r) => base + size <= r.base || base >= r.end);
  const find = (size: number, below: number, not?: Range): number | undefined => {
    for (let b = Math.floor((below - size) / size) * size; b >= 0x100000; b -= size) {
      if (free(b, size) && (not === undefined || b + size <= not.base || b >= not.end)) {
        return b;
      }
    }
    return undefined;
  };
  const FOUR_G = 4 * GiB;
  const seamrrSize = 0x2000000;
  const smrrSize = 0x800000;
  const sb = find(seamrrSize, FOUR_G);
  const seamrrBase = sb ?? Math.ceil(top / GiB) * GiB;
  const smb = find(smrrSize, FOUR_G, { base: seamrrBase, end: seamrrBase + seamrrSize });
  return {
    seamrr: { base: seamrrBase, size: seamrrSize, enabled: true, locked: true },
    smrr: smb !== undefined ? { base: smb, size: smrrSize, valid: true, locked: true } : { base: 0, size: 0, valid: false, locked: false },
    where: `SEAMRR at ${hx(seamrrBase)}${sb === undefined ? ' (above all memory: no hole below 4 GiB)' : ''}, SMRR ${smb !== undefined ? `at ${hx(smb)}` : 'left invalid (no hole below 4 GiB)'}`,
  };
}

function finish(pick: MemoryPick, cmrsIn: readonly Range[] | undefined, b: BootFacts | undefined, assumptions: string[], missing: string[]): RebuiltMachine {
  const ramRanges = pick.e820.filter((e) => e.type === 'usable' || e.type === 'reserved-kern').map((e) => ({ base: e.base, end: e.base + e.size }));
  let cmrs: Range[];
  if (cmrsIn !== undefined && cmrsIn.length > 0) {
    cmrs = normalize(cmrsIn.map((c) => ({ base: c.base, end: c.end })));
  } else {
    // No CMR lines: assume the BIOS reported every RAM range (merged) as convertible.
    cmrs = mergeRanges(ramRanges);
    assumptions.push('no CMR lines: CMRs assumed to be the RAM ranges (merged)');
  }
  if (cmrs.length > 32) {
    // MAX_CMRS is 32: merge across the smallest gaps until the list fits.
    cmrs = mergeRanges(cmrs);
    // Close the (n - 32) smallest gaps (the lower one first on ties), in one pass.
    const gaps = cmrs.slice(1).map((c, i) => ({ i: i + 1, gap: c.base - cmrs[i]!.end }));
    gaps.sort((a, b) => a.gap - b.gap || a.i - b.i);
    const close = new Set(gaps.slice(0, cmrs.length - 32).map((g) => g.i));
    const merged: Range[] = [];
    cmrs.forEach((c, i) => {
      const last = merged[merged.length - 1];
      if (last !== undefined && close.has(i)) {
        last.end = c.end;
      } else {
        merged.push({ base: c.base, end: c.end });
      }
    });
    cmrs = merged;
    assumptions.push('more than 32 CMR ranges: merged across the smallest gaps to fit MAX_CMRS');
  }
  let top = 4 * GiB;
  for (const e of pick.e820) {
    top = Math.max(top, e.base + e.size);
  }
  for (const c of cmrs) {
    top = Math.max(top, c.end);
  }
  const fw = firmwareRanges(ramRanges.concat(cmrs), top);
  assumptions.push(`${fw.where}: the log does not show them`);

  // KeyIDs.
  let keyids: PlatformSpecInput['keyids'];
  const range = b?.tdx.find((t) => t.kind === 'keyid-range');
  const tooFew = b?.tdx.find((t) => t.kind === 'too-few-keyids');
  if (range !== undefined && range.kind === 'keyid-range' && range.end >= range.start && range.start >= 1) {
    const mktme = range.start - 1;
    const tdx = range.end - range.start;
    const bits = Math.max(1, Math.ceil(Math.log2(mktme + tdx + 1)));
    keyids = { bits, mktme, tdx };
  } else if (tooFew !== undefined && tooFew.kind === 'too-few-keyids' && tooFew.nr !== undefined) {
    keyids = { bits: 6, mktme: 15, tdx: Math.max(0, tooFew.nr) };
    assumptions.push('KeyID split assumed: 15 MKTME KeyIDs (the log shows only the TDX count)');
  } else if (b !== undefined && b.tdx.some((t) => t.kind === 'pamt-allocated' && t.unit === 'pages')) {
    // The 2022 RFC printed no KeyID line when detection succeeded.
    keyids = { bits: 6, mktme: 15, tdx: 48 };
    assumptions.push('KeyIDs assumed: 15 MKTME + 48 TDX (private range [16, 64)); the 2022 RFC prints no KeyID line');
  } else if (b !== undefined && b.tdx.length === 0) {
    keyids = { bits: 6, mktme: 63, tdx: 0 };
    assumptions.push('no TDX lines: no TDX KeyIDs assumed (TDX not enabled by the BIOS)');
  } else {
    keyids = { bits: 6, mktme: 15, tdx: 48 };
    missing.push('KeyID range (no "BIOS enabled: private KeyID range" line)');
    assumptions.push('KeyIDs assumed: 15 MKTME + 48 TDX (private range [16, 64))');
  }

  // CPU and topology.
  const cm = cpuModelOf(b?.cpu?.model);
  if (!cm.known) {
    assumptions.push(b?.cpu === undefined ? 'CPU model unknown: granite-rapids assumed (no partial-write erratum)' : `CPU model 0x${b.cpu.model.toString(16)} is not one the platform model knows: granite-rapids assumed`);
  }
  const topo = b?.topology ?? {};
  const nodesSeen = new Set(pick.nodes.map((n) => n.node)).size;
  let packages = topo.packages ?? (nodesSeen > 0 ? nodesSeen : (topo.numaNodes ?? 1));
  packages = Math.min(8, Math.max(1, packages));
  const threads = Math.min(2, Math.max(1, topo.threadsPerCore ?? 2));
  const logical = topo.logicalCpus ?? topo.possibleCpus;
  let cores = topo.coresPerPackage ?? (logical !== undefined ? Math.max(1, Math.floor(logical / packages / threads)) : 1);
  if (packages * cores * threads > 4096) {
    cores = Math.floor(4096 / packages / threads);
  }
  if (topo.packages === undefined || (topo.coresPerPackage === undefined && logical === undefined)) {
    assumptions.push(`topology partly assumed: ${packages} package(s) x ${cores} core(s) x ${threads} thread(s)`);
  }

  const loaded = !(b?.tdx.some((t) => t.kind === 'module-not-loaded') ?? false);
  const hibernation = b?.tdx.some((t) => t.kind === 'hibernation') ?? false;
  const platform: PlatformSpecInput = {
    name: 'rebuilt',
    cpuModel: cm.model,
    topology: { packages, coresPerPackage: cores, threadsPerCore: threads },
    memory: { e820: pick.e820, nodes: pick.nodes },
    cmrs: cmrs.map((c) => ({ base: c.base, size: c.end - c.base })),
    seamrr: fw.seamrr,
    smrr: fw.smrr,
    keyids,
    tdxModule: { loaded },
    firmware: { hibernation, acpiS3: true },
  };
  return { platform, source: pick.source, assumptions, missing };
}

/** Rebuild a machine from one boot of a dmesg; undefined memory → `missing` says so. */
export function machineFromDmesg(b: BootFacts): RebuiltMachine | { readonly missing: string[]; readonly assumptions: string[] } {
  const assumptions: string[] = [];
  const missing: string[] = [];
  const pick = pickFromDmesg(b, assumptions);
  if (pick === undefined) {
    missing.push('memory map (no "Early memory node ranges", BIOS-e820 or CMR lines)');
    return { missing, assumptions };
  }
  const cmrs = logCmrs(b.cmrs);
  return finish(pick, cmrs.length > 0 ? cmrs : undefined, b, assumptions, missing);
}

/** Rebuild a machine from /proc/iomem. */
export function machineFromIomem(f: IomemFacts): RebuiltMachine | { readonly missing: string[]; readonly assumptions: string[] } {
  const assumptions: string[] = [];
  const pick = pickFromIomem(f, assumptions);
  if (pick === undefined) {
    return { missing: ['memory map (no top-level "System RAM" entries)'], assumptions };
  }
  assumptions.push('KeyIDs and CPUs are not in /proc/iomem: defaults assumed');
  return finish(pick, undefined, undefined, assumptions, []);
}

/** True if the rebuild produced a platform. */
export function isRebuilt(r: RebuiltMachine | { readonly missing: string[] }): r is RebuiltMachine {
  return 'platform' in r;
}
