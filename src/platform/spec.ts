/**
 * The declarative platform description: what firmware and silicon present to the TDX module
 * and to Linux. Validated with zod; every problem is reported with its field path. The
 * published JSON Schema (schema/platform.schema.json) is generated from the same definition.
 */
import { z } from 'zod';

import { MAX_PA_BITS, PAGE_SIZE } from '../base/ids.js';

/** A non-negative safe integer given as a JSON number or a "0x..." / decimal string. */
const uint = z
  .union([z.number(), z.string()])
  .transform((v, ctx): number => {
    let n: number;
    if (typeof v === 'string') {
      const t = v.trim();
      if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(t)) {
        ctx.addIssue({ code: 'custom', message: `expected a non-negative integer or hex string, got "${v}"` });
        return z.NEVER;
      }
      n = Number(BigInt(t));
    } else {
      n = v;
    }
    if (Number.isInteger(n) && n >= 2 ** 53) {
      // Say why: the value is an integer, but past what a platform can address (and past 2^53).
      ctx.addIssue({ code: 'custom', message: `${typeof v === 'string' ? v.trim() : String(v)} is too large: values must be below 2^53 (and addresses below 2^${MAX_PA_BITS})` });
      return z.NEVER;
    }
    if (!Number.isSafeInteger(n) || n < 0) {
      ctx.addIssue({ code: 'custom', message: `expected a non-negative integer, got ${String(v)}` });
      return z.NEVER;
    }
    return n;
  });

/** CPU models; the model decides errata. */
export const CPU_MODELS = ['sapphire-rapids', 'emerald-rapids', 'granite-rapids', 'amd-sme'] as const;
export type CpuModel = (typeof CPU_MODELS)[number];

/** e820 types, as Linux prints them in "BIOS-e820" lines. */
export const E820_TYPES = ['usable', 'reserved', 'ACPI data', 'ACPI NVS', 'unusable', 'persistent', 'reserved-kern'] as const;
export type E820Type = (typeof E820_TYPES)[number];

const range = z.strictObject({ base: uint, size: uint });
const e820Entry = z.strictObject({ base: uint, size: uint, type: z.enum(E820_TYPES) });
const nodeRange = z.strictObject({ node: uint, base: uint, size: uint });

const costsSchema = z.strictObject({
  /** Fixed cost of one WBINVD. */
  wbinvdBaseNs: uint.default(20_000),
  /** Added per dirty line written back by WBINVD/WBNOINVD. */
  wbinvdPerDirtyLineNs: uint.default(2),
  /** Per 64-byte line of MOVDIR64B / CLFLUSH. */
  perLineNs: uint.default(1),
  /** SEAMCALL entry+exit overhead. */
  seamcallNs: uint.default(1_000),
  /** One TDH.SYS.TDMR.INIT call (4 MiB of PAMT_4K entries). */
  tdmrInitCallNs: uint.default(16_000),
  /** IPI delivery latency. */
  ipiLatencyNs: uint.default(2_000),
  /** NMI delivery latency. */
  nmiLatencyNs: uint.default(1_000),
  /** A generic kernel step (a loop iteration, a lock operation). */
  stepNs: uint.default(50),
});

const moduleSchema = z.strictObject({
  loaded: z.boolean().default(true),
  /** Module release (1.0, 1.5.01 … 2.0.08; the old names tdx-1.0, tdx-1.5, tdx-1.5-late are aliases). Absent: the kernel profile's default. */
  profile: z.string().optional(),
  /** Overrides of global metadata values, by field name (e.g. MAX_TDMRS). */
  overrides: z.record(z.string(), uint).optional(),
});

/** The platform description, as parsed (numbers normalized). */
export const platformSchema = z.strictObject({
  name: z.string().min(1).default('custom'),
  cpuModel: z.enum(CPU_MODELS),
  topology: z.strictObject({
    packages: uint,
    coresPerPackage: uint,
    threadsPerCore: uint,
    /** If given, must equal packages * coresPerPackage * threadsPerCore. */
    logicalCpus: uint.optional(),
    /** CPUs that are present but offline at boot (e.g. maxcpus=). */
    offlineAtBoot: z.array(uint).default([]),
  }),
  memory: z.strictObject({
    e820: z.array(e820Entry).min(1),
    /** NUMA node ranges (SRAT). Absent: everything on node 0. */
    nodes: z.array(nodeRange).default([]),
  }),
  cmrs: z.array(range).max(32),
  seamrr: z.strictObject({ base: uint, size: uint, enabled: z.boolean(), locked: z.boolean() }),
  smrr: z.strictObject({ base: uint, size: uint, valid: z.boolean(), locked: z.boolean() }),
  keyids: z.strictObject({
    /** MK_TME_KEYID_BITS (IA32_TME_ACTIVATE bits 35:32). For AMD SME: 1 (the C-bit). */
    bits: uint,
    /** NUM_MKTME_KIDS (MSR 0x87 bits 31:0). */
    mktme: uint,
    /** NUM_TDX_PRIV_KIDS (MSR 0x87 bits 63:32). */
    tdx: uint,
  }),
  cache: z
    .strictObject({
      /** Capacity of each logical CPU's cache in 64-byte lines. */
      linesPerCpu: uint.default(32_768),
      /** IA32_WBINVDP: WBINVD sub-blocks per package. */
      wbinvdSubBlocks: uint.default(4),
    })
    .prefault({}),
  costs: costsSchema.prefault({}),
  tdxModule: moduleSchema.prefault({}),
  firmware: z
    .strictObject({
      hibernation: z.boolean().default(false),
      /** The firmware offers ACPI S3. Linux's TDX `Disable ACPI S3` line ignores it (compile-time). */
      acpiS3: z.boolean().default(true),
    })
    .prefault({}),
  /** Per-CPU MSR value overrides (for misconfiguration scenarios). */
  msrOverrides: z
    .array(z.strictObject({ cpu: uint, msr: uint, value: z.string().regex(/^0x[0-9a-fA-F]{1,16}$/) }))
    .default([]),
});

/** A validated platform description. */
export type PlatformSpec = z.output<typeof platformSchema>;
/** What a user writes (numbers may be hex strings, defaults may be omitted). */
export type PlatformSpecInput = z.input<typeof platformSchema>;

/** One problem found in a platform description. */
export interface SpecProblem {
  /** Field path, e.g. `memory.e820[3].size`. */
  readonly path: string;
  readonly message: string;
}

/** Format a zod-style path as `a.b[3].c`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') {
      s += `[${p}]`;
    } else {
      s += s === '' ? String(p) : `.${String(p)}`;
    }
  }
  return s === '' ? '(root)' : s;
}

function semanticProblems(p: PlatformSpec): SpecProblem[] {
  const out: SpecProblem[] = [];
  const add = (path: string, message: string): void => {
    out.push({ path, message });
  };
  const pageChecks = (path: string, base: number, size: number): void => {
    if (base % PAGE_SIZE !== 0) {
      add(`${path}.base`, `0x${base.toString(16)} is not a multiple of 4 KiB`);
    }
    if (size % PAGE_SIZE !== 0) {
      add(`${path}.size`, `0x${size.toString(16)} is not a multiple of 4 KiB`);
    }
    if (base + size > 2 ** MAX_PA_BITS) {
      add(path, `range ends beyond 2^${MAX_PA_BITS}`);
    }
  };
  // Topology.
  const t = p.topology;
  if (t.packages < 1 || t.packages > 8) {
    add('topology.packages', `must be 1..8 (MAX_PKGS), got ${t.packages}`);
  }
  if (t.coresPerPackage < 1) {
    add('topology.coresPerPackage', 'must be at least 1');
  }
  if (t.threadsPerCore < 1 || t.threadsPerCore > 2) {
    add('topology.threadsPerCore', `must be 1 or 2, got ${t.threadsPerCore}`);
  }
  const lps = t.packages * t.coresPerPackage * t.threadsPerCore;
  if (t.logicalCpus !== undefined && t.logicalCpus !== lps) {
    add('topology.logicalCpus', `${t.logicalCpus} does not fit the topology (${t.packages} packages x ${t.coresPerPackage} cores x ${t.threadsPerCore} threads = ${lps})`);
  }
  if (lps > 4096) {
    add('topology', `${lps} logical CPUs is more than the model supports (4096)`);
  }
  t.offlineAtBoot.forEach((c, i) => {
    if (c >= lps) {
      add(`topology.offlineAtBoot[${i}]`, `CPU ${c} does not exist (${lps} logical CPUs)`);
    }
    if (c === 0) {
      add(`topology.offlineAtBoot[${i}]`, 'the boot CPU cannot be offline');
    }
  });
  // e820: sorted, non-overlapping, page multiples.
  const e = p.memory.e820;
  e.forEach((r, i) => {
    pageChecks(`memory.e820[${i}]`, r.base, r.size);
    if (r.size === 0) {
      add(`memory.e820[${i}].size`, 'must not be 0');
    }
  });
  const sorted = e.map((r, i) => ({ ...r, i })).sort((a, b) => a.base - b.base);
  for (let k = 1; k < sorted.length; k++) {
    const a = sorted[k - 1];
    const b = sorted[k];
    if (a !== undefined && b !== undefined && b.base < a.base + a.size) {
      add(`memory.e820[${b.i}]`, `overlaps memory.e820[${a.i}] ([0x${a.base.toString(16)}, 0x${(a.base + a.size).toString(16)}))`);
    }
  }
  if (!e.some((r) => r.type === 'usable')) {
    add('memory.e820', 'has no usable RAM');
  }
  // NUMA nodes.
  p.memory.nodes.forEach((n, i) => {
    pageChecks(`memory.nodes[${i}]`, n.base, n.size);
    if (n.node >= 64) {
      add(`memory.nodes[${i}].node`, 'must be below 64');
    }
  });
  const ns = p.memory.nodes.map((r, i) => ({ ...r, i })).sort((a, b) => a.base - b.base);
  for (let k = 1; k < ns.length; k++) {
    const a = ns[k - 1];
    const b = ns[k];
    if (a !== undefined && b !== undefined && b.base < a.base + a.size) {
      add(`memory.nodes[${b.i}]`, `overlaps memory.nodes[${a.i}]`);
    }
  }
  // CMRs: in order, non-overlapping (adjacency allowed), page multiples.
  let prevEnd = -1;
  let prevIdx = -1;
  p.cmrs.forEach((c, i) => {
    pageChecks(`cmrs[${i}]`, c.base, c.size);
    if (c.size === 0) {
      return;
    }
    if (c.base < prevEnd) {
      add(`cmrs[${i}]`, `out of order or overlapping: starts at 0x${c.base.toString(16)} before cmrs[${prevIdx}] ends (0x${prevEnd.toString(16)})`);
    }
    prevEnd = c.base + c.size;
    prevIdx = i;
  });
  pageChecks('seamrr', p.seamrr.base, p.seamrr.size);
  // KeyIDs.
  const k = p.keyids;
  if (k.bits > 11) {
    add('keyids.bits', `must be at most 11 (MAX_HKIDS = 2048), got ${k.bits}`);
  } else if (k.mktme + k.tdx > 2 ** k.bits - 1) {
    add('keyids', `${k.mktme} MKTME + ${k.tdx} TDX KeyIDs do not fit ${k.bits} KeyID bits (at most ${2 ** k.bits - 1})`);
  }
  if (p.cpuModel === 'amd-sme' && k.tdx !== 0) {
    add('keyids.tdx', 'an AMD SME platform has no TDX KeyIDs');
  }
  if (p.cache.linesPerCpu < 1) {
    add('cache.linesPerCpu', 'must be at least 1');
  }
  if (p.cache.wbinvdSubBlocks < 1 || p.cache.wbinvdSubBlocks > 64) {
    add('cache.wbinvdSubBlocks', 'must be 1..64');
  }
  p.msrOverrides.forEach((m, i) => {
    if (m.cpu >= lps) {
      add(`msrOverrides[${i}].cpu`, `CPU ${m.cpu} does not exist`);
    }
  });
  return out;
}

/** Result of validating a platform description. */
export type SpecResult = { ok: true; spec: PlatformSpec } | { ok: false; problems: SpecProblem[] };

/** Validate untrusted input: structure first, then cross-field rules. */
export function parsePlatformSpec(input: unknown): SpecResult {
  const r = platformSchema.safeParse(input);
  if (!r.success) {
    return {
      ok: false,
      problems: r.error.issues.map((iss) => ({ path: formatPath(iss.path), message: iss.message })),
    };
  }
  const problems = semanticProblems(r.data);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, spec: r.data };
}

/** The JSON Schema of the input format. */
export function platformJsonSchema(): unknown {
  return z.toJSONSchema(platformSchema, { io: 'input', unrepresentable: 'any' });
}
