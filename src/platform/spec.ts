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

/** A physical address: a "0x..." string (how firmware tables and dmesg print them) or a number. */
const addr = (what: string): typeof uint => uint.describe(`${what}: a physical address, as a "0x..." hex string (e.g. "0x100000000") or a number of bytes`);
/** A size in bytes: a "0x..." string or a number. */
const bytes = (what: string): typeof uint => uint.describe(`${what}: a size in bytes, as a "0x..." hex string (e.g. "0x80000000" for 2 GiB) or a number`);

const range = (what: string) => z.strictObject({ base: addr(`start of the ${what}`), size: bytes(`length of the ${what}`) });
const e820Entry = z
  .strictObject({
    base: addr('start of the range'),
    size: bytes('length of the range'),
    type: z.enum(E820_TYPES).describe('e820 type, as Linux prints it in its "BIOS-e820" lines; only "usable" ranges are RAM'),
  })
  .describe('one entry of the firmware memory map (e820), as in a "BIOS-e820: [mem ...]" line');
const nodeRange = z
  .strictObject({
    node: uint.describe('NUMA node number (below 64)'),
    base: addr('start of the node\'s memory'),
    size: bytes('length of the node\'s memory'),
  })
  .describe('memory of one NUMA node (from the firmware\'s SRAT), as in an "Early memory node ranges" line');

const costsSchema = z
  .strictObject({
    wbinvdBaseNs: uint.default(20_000).describe('model cost in ns: fixed cost of one WBINVD (a simulation parameter, not a measured value)'),
    wbinvdPerDirtyLineNs: uint.default(2).describe('model cost in ns added per dirty 64-byte line that WBINVD/WBNOINVD writes back'),
    perLineNs: uint.default(1).describe('model cost in ns per 64-byte line of MOVDIR64B or CLFLUSH'),
    seamcallNs: uint.default(1_000).describe('model cost in ns of SEAMCALL entry and exit'),
    tdmrInitCallNs: uint.default(16_000).describe('model cost in ns of one TDH.SYS.TDMR.INIT call (it initialises up to 4 MiB of PAMT_4K entries)'),
    ipiLatencyNs: uint.default(2_000).describe('model latency in ns of IPI delivery'),
    nmiLatencyNs: uint.default(1_000).describe('model latency in ns of NMI delivery'),
    stepNs: uint.default(50).describe('model cost in ns of a generic kernel step (a loop iteration, a lock operation)'),
  })
  .describe('simulated time costs (ns); defaults apply to omitted fields. They order events in the timed scheduler; they are not measurements of a real CPU');

const moduleSchema = z
  .strictObject({
    loaded: z.boolean().default(true).describe('the BIOS (P-SEAMLDR) loaded a TDX module into SEAMRR; false: the first SEAMCALL ends in VMfailInvalid'),
    profile: z
      .string()
      .optional()
      .describe('TDX module release (1.0, 1.5.01 ... 2.0.08, see `tdxsim modules`; the old names tdx-1.0, tdx-1.5, tdx-1.5-late are aliases). Absent: the kernel profile\'s default'),
    overrides: z.record(z.string(), uint).optional().describe('overrides of global metadata values read by TDH.SYS.RD, by field name (e.g. {"MAX_TDMRS": 4})'),
  })
  .describe('the TDX module in SEAMRR');

/**
 * The platform description, as parsed (numbers normalized). Every field carries a `.describe()`
 * text, so the generated JSON Schema (schema/platform.schema.json) gives editors their hints.
 * @see linux arch/x86/virt/vmx/tdx/tdx.c record_keyid_partitioning() v6.18 (MSR 0x87: bits 31:0 MKTME KeyIDs, bits 63:32 TDX private KeyIDs)
 * @see linux arch/x86/include/asm/msr-index.h MSR_IA32_MKTME_KEYID_PARTITIONING, MSR_IA32_TME_ACTIVATE v6.18
 */
export const platformSchema = z
  .strictObject({
    name: z.string().min(1).default('custom').describe('name of the platform, shown in output'),
    cpuModel: z.enum(CPU_MODELS).describe('CPU generation; decides the errata the model applies (e.g. the partial-write erratum of Sapphire and Emerald Rapids). amd-sme: an AMD host with SME (no TDX)'),
    topology: z
      .strictObject({
        packages: uint.describe('CPU packages (sockets), 1 to 8'),
        coresPerPackage: uint.describe('cores per package'),
        threadsPerCore: uint.describe('hardware threads per core: 1, or 2 with Hyper-Threading'),
        logicalCpus: uint.optional().describe('if given, must equal packages x coresPerPackage x threadsPerCore (a check of your arithmetic)'),
        offlineAtBoot: z.array(uint).default([]).describe('logical CPUs present but offline at boot (as with maxcpus=); never CPU 0'),
      })
      .describe('the CPU topology; logical CPUs are numbered package by package'),
    memory: z
      .strictObject({
        e820: z.array(e820Entry).min(1).describe('the firmware memory map, sorted or not, without overlaps; page-aligned'),
        nodes: z.array(nodeRange).default([]).describe('NUMA node ranges (SRAT). Absent: everything on node 0'),
      })
      .describe('physical memory as the firmware reports it'),
    cmrs: z.array(range('CMR')).max(32).describe('Convertible Memory Ranges: the memory the BIOS/MCHECK lets TDX use, in address order, at most 32; page-aligned'),
    seamrr: z
      .strictObject({
        base: addr('start of SEAMRR (the range holding the TDX module)'),
        size: bytes('length of SEAMRR'),
        enabled: z.boolean().describe('IA32_SEAMRR_PHYS_MASK enable bit: SEAM mode is on (false: SEAMCALL raises #GP, "not enabled by BIOS")'),
        locked: z.boolean().describe('IA32_SEAMRR_PHYS_MASK lock bit'),
      })
      .describe('the SEAM range register (MSRs 0x1400/0x1401)'),
    smrr: z
      .strictObject({
        base: addr('start of SMRAM'),
        size: bytes('length of SMRAM'),
        valid: z.boolean().describe('IA32_SMRR_PHYSMASK valid bit'),
        locked: z.boolean().describe('the SMRR configuration is locked'),
      })
      .describe('the SMM range register (MSRs 0x1f2/0x1f3)'),
    keyids: z
      .strictObject({
        bits: uint.describe('MK_TME_KEYID_BITS (IA32_TME_ACTIVATE bits 35:32): KeyID bits taken from the physical address, at most 11. For AMD SME: 1 (the C-bit)'),
        mktme: uint.describe('NUM_MKTME_KIDS (IA32_MKTME_KEYID_PARTITIONING, MSR 0x87, bits 31:0): KeyIDs for MKTME; TDX KeyIDs start after them'),
        tdx: uint.describe('NUM_TDX_PRIV_KIDS (MSR 0x87 bits 63:32): private KeyIDs for TDX; 0 means the BIOS did not enable TDX'),
      })
      .describe('the BIOS\'s KeyID split between MKTME and TDX (the TME-MT/TDX key split setting)'),
    cache: z
      .strictObject({
        linesPerCpu: uint.default(32_768).describe('capacity of each logical CPU\'s cache in 64-byte lines (a model size: the model keeps the newest lines)'),
        wbinvdSubBlocks: uint.default(4).describe('IA32_WBINVDP: WBINVD sub-blocks per package, 1 to 64'),
      })
      .prefault({})
      .describe('per-CPU cache model'),
    costs: costsSchema.prefault({}),
    tdxModule: moduleSchema.prefault({}),
    firmware: z
      .strictObject({
        hibernation: z.boolean().default(false).describe('the kernel can hibernate (Linux refuses TDX then; boot with nohibernate)'),
        acpiS3: z.boolean().default(true).describe('the firmware offers ACPI S3. Linux\'s TDX "Disable ACPI S3" line does not depend on it'),
      })
      .prefault({})
      .describe('firmware and boot settings that Linux\'s TDX code looks at'),
    msrOverrides: z
      .array(
        z
          .strictObject({
            cpu: uint.describe('logical CPU whose MSR differs'),
            msr: uint.describe('MSR number, as a "0x..." hex string (e.g. "0x3b" for IA32_TSC_ADJUST) or a number'),
            value: z.string().regex(/^0x[0-9a-fA-F]{1,16}$/).describe('the MSR\'s value on that CPU, a "0x..." hex string of up to 16 digits'),
          })
          .describe('one MSR value that differs on one CPU'),
      )
      .default([])
      .describe('per-CPU MSR value overrides (for misconfiguration scenarios: the module checks that some MSRs agree on every CPU)'),
    cpuidOverrides: z
      .array(
        z
          .strictObject({
            cpu: uint.describe('logical CPU whose CPUID differs'),
            leaf: uint.describe('CPUID leaf (the EAX input), e.g. "0x7"'),
            subleaf: uint.optional().describe('subleaf (the ECX input) of a leaf that has subleaves; absent: a leaf without subleaves'),
            reg: z.enum(['eax', 'ebx', 'ecx', 'edx']).describe('the output register that differs'),
            xor: z
              .string()
              .regex(/^0x[0-9a-fA-F]{1,8}$/)
              .describe('the bits of that register that read the other way on this CPU than on the other CPUs, a "0x..." hex string of up to 8 digits (the model has no CPUID values, only differences between CPUs)'),
          })
          .describe('CPUID bits that differ on one CPU'),
      )
      .default([])
      .describe('per-CPU CPUID differences (for misconfiguration scenarios: TDH.SYS.LP.INIT compares CPUID on every CPU with what TDH.SYS.INIT saw)'),
  })
  .describe('a tdxsim platform: what firmware and silicon present to the TDX module and to Linux. Start from `tdxsim presets NAME`');

/** A validated platform description. */
export type PlatformSpec = z.output<typeof platformSchema>;
/** What a user writes (numbers may be hex strings, defaults may be omitted). */
export type PlatformSpecInput = z.input<typeof platformSchema>;

/**
 * A platform description with every address and size (e820 and node ranges, CMRs, SEAMRR, SMRR)
 * and every MSR number as a "0x..." string, the form firmware tables and dmesg use; counts,
 * costs and KeyIDs stay numbers. The result validates to the same platform (the schema takes
 * both forms). Values already given as strings are kept.
 * @param p a platform description as a user writes it
 * @returns a copy, ready to print as a file to start from
 */
export function withHexAddresses(p: PlatformSpecInput): PlatformSpecInput {
  const hex = (v: number | string): string => (typeof v === 'string' ? v : `0x${v.toString(16)}`);
  const r = <T extends { base: number | string; size: number | string }>(x: T): T => ({ ...x, base: hex(x.base), size: hex(x.size) });
  return {
    ...p,
    memory: { ...p.memory, e820: p.memory.e820.map(r), ...(p.memory.nodes !== undefined ? { nodes: p.memory.nodes.map(r) } : {}) },
    cmrs: p.cmrs.map(r),
    seamrr: r(p.seamrr),
    smrr: r(p.smrr),
    ...(p.msrOverrides !== undefined ? { msrOverrides: p.msrOverrides.map((m) => ({ ...m, msr: hex(m.msr) })) } : {}),
    ...(p.cpuidOverrides !== undefined ? { cpuidOverrides: p.cpuidOverrides.map((c) => ({ ...c, leaf: hex(c.leaf), ...(c.subleaf !== undefined ? { subleaf: hex(c.subleaf) } : {}) })) } : {}),
  };
}

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
  p.cpuidOverrides.forEach((c, i) => {
    if (c.cpu >= lps) {
      add(`cpuidOverrides[${i}].cpu`, `CPU ${c.cpu} does not exist`);
    }
    if (c.leaf > 0xffff_ffff) {
      add(`cpuidOverrides[${i}].leaf`, 'a CPUID leaf is a 32-bit value');
    }
    if (c.subleaf !== undefined && c.subleaf > 0xffff_ffff) {
      add(`cpuidOverrides[${i}].subleaf`, 'a CPUID subleaf is a 32-bit value');
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
