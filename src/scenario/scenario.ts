/**
 * The scenario format (docs/scenarios.md): a platform (preset name or object), a kernel and a
 * module profile, a seed, and steps. Validated with zod; order rules (no kexec before boot)
 * are checked before anything runs, so bad input never produces partial output.
 */
import { z } from 'zod';

import { formatPath } from '../platform/spec.js';

const uint = z.union([z.number().int().nonnegative(), z.string().regex(/^(0x[0-9a-fA-F]+|[0-9]+)$/, 'expected an integer or a hex string')]).transform((v) => (typeof v === 'number' ? v : Number(BigInt(v))));
const cpu = z.number().int().nonnegative();
/** A byte count or address that is a whole number of 4 KiB pages. */
const page = uint.refine((v) => v % 4096 === 0, 'expected a multiple of 4096 (whole 4 KiB pages)');
const hexBytes = z.string().regex(/^(0x)?([0-9a-fA-F]{2})*$/, 'expected hex bytes');

/** Bare-platform steps (no kernel needed). */
const platformSteps = [
  z.strictObject({ op: z.literal('store'), cpu, pa: uint, keyId: z.number().int().nonnegative().default(0), data: hexBytes.optional(), fill: z.number().int().min(0).max(255).optional(), len: uint.optional() }),
  z.strictObject({ op: z.literal('movdir64b'), cpu, pa: uint, len: uint, keyId: z.number().int().nonnegative().default(0), fill: z.number().int().min(0).max(255).default(0) }),
  z.strictObject({ op: z.literal('clflush'), cpu, pa: uint, len: uint, keyId: z.number().int().nonnegative().default(0) }),
  z.strictObject({ op: z.literal('wbinvd'), cpu }),
  z.strictObject({ op: z.literal('wbnoinvd'), cpu }),
  z.strictObject({ op: z.literal('evict'), cpu, lines: uint.optional() }),
  z.strictObject({ op: z.literal('load'), cpu, pa: uint, len: uint, keyId: z.number().int().nonnegative().default(0) }),
] as const;

/** Kernel-level steps. */
const kernelSteps = [
  z.strictObject({ op: z.literal('boot') }),
  z.strictObject({ op: z.literal('kvm.load'), cpu: cpu.default(0) }),
  z.strictObject({ op: z.literal('tdx.enable'), cpus: z.array(cpu).min(1).default([0]) }),
  /** `vcpus`: vCPUs per TD (each KVM_TDX_INIT_VCPU'd on CPU 0; vCPU 0 then runs on `cpu`). */
  z.strictObject({ op: z.literal('td.create'), count: z.number().int().min(1).max(64).default(1), memMiB: z.number().int().min(1).default(16), cpu: cpu.optional(), vcpus: z.number().int().min(1).max(64).default(1) }),
  z.strictObject({ op: z.literal('td.destroy'), td: z.number().int().nonnegative().optional() }),
  /** KVM_RUN of a TD's vCPU (`vcpu`, default 0) on `cpu`: migrate it there (VP.FLUSH on its old CPU), then TDH.VP.ENTER. */
  z.strictObject({ op: z.literal('td.run'), td: z.number().int().nonnegative().optional(), cpu, vcpu: z.number().int().nonnegative().max(63).default(0) }),
  /** Release [gpa, gpa + size) of a running TD's private memory (RANGE.BLOCK, TRACK, PAGE.REMOVE, PAGE.WBINVD). */
  z.strictObject({ op: z.literal('td.release'), td: z.number().int().nonnegative().optional(), gpa: page, size: page.refine((v) => v > 0, 'expected a positive size') }),
  z.strictObject({ op: z.literal('cpu.offline'), cpu }),
  z.strictObject({ op: z.literal('cpu.online'), cpu }),
  z.strictObject({ op: z.literal('mem.online'), base: uint, size: uint }),
  z.strictObject({
    op: z.literal('kexec'),
    /** REBOOT IPI handled late on these CPUs (the stop race of linux-host.md 6.5). */
    lateRebootIpi: z.array(cpu).default([]),
    /** Simulated delay before a late CPU takes the REBOOT IPI. */
    lateByMs: z.number().int().nonnegative().default(1500),
    /** Model knob: every REBOOT IPI is taken within the second, so no NMI fallback. */
    ipiInTime: z.boolean().default(false),
  }),
  z.strictObject({ op: z.literal('crash'), cpu: cpu.default(0) }),
  z.strictObject({ op: z.literal('fault'), site: z.string().min(1), count: z.number().int().min(1).default(1) }),
] as const;

export const stepSchema = z.discriminatedUnion('op', [...platformSteps, ...kernelSteps]);
/** One scenario step. */
export type ScenarioStep = z.output<typeof stepSchema>;

/**
 * Kernel-profile behaviour points a scenario may replace (kernel/profiles.ts KexecPolicy and
 * KernelProfile hold what each kernel does; docs/scenarios.md lists them).
 */
export const kernelOverridesSchema = z.strictObject({
  /** Per-CPU cache_state_incoherent set by every SEAMCALL. */
  cacheStateFlag: z.boolean().optional(),
  /** stop_this_cpu() WBINVD: iff the CPU's flag is set, iff TDX is enabled by the BIOS, never. */
  stopThisCpuWbinvd: z.enum(['flag', 'platform-tdx', 'never']).optional(),
  /** relocate_kernel WBINVD on the kexec-ing CPU: iff its flag, only for SME, never. */
  relocateWbinvd: z.enum(['flag', 'sme-only', 'never']).optional(),
  /** The flush of every flagged CPU before the stop (KVM's syscore shutdown, or tdx_shutdown). */
  earlyFlush: z.boolean().optional(),
  earlyFlushBy: z.enum(['kvm', 'tdx_shutdown']).optional(),
  /** When tdx_cpu_flush_cache_for_kexec() clears the flag: after its WBINVD, before it, never. */
  flagClear: z.enum(['after-wbinvd', 'before-wbinvd', 'never']).optional(),
  /** What native_stop_other_cpus() waits for: cpus_stop_mask (6.5+) or num_online_cpus() (before). */
  stopProtocol: z.enum(['online-count', 'stop-mask']).optional(),
  /** How long native_stop_other_cpus() waits for the REBOOT IPI before the NMIs, in ms. */
  stopRebootWaitMs: z.number().int().min(0).max(3_600_000).optional(),
  /** Whether native_stop_other_cpus() sends NMIs to CPUs that did not stop after the REBOOT wait. */
  nmiFallback: z.boolean().optional(),
  /** TDH.SYS.DISABLE at kexec and kdump. */
  sysDisable: z.boolean().optional(),
  /** Kconfig allows KEXEC_CORE with INTEL_TDX_HOST. */
  kexecAllowed: z.boolean().optional(),
  /** machine_kexec_prepare() refuses on partial-write-erratum platforms. */
  refuseOnErratum: z.boolean().optional(),
});
/** Replaced kernel behaviour points. */
export type KernelOverrides = z.output<typeof kernelOverridesSchema>;

const findingClass = z.enum(['silent-corruption', 'cpu-still-running', 'seamcall-after-flush', 'machine-check', 'invariant', 'warning', 'model-bug', 'liveness']);

export const scenarioSchema = z.strictObject({
  /** The JSON Schema the file follows (for editors; schema/scenario.schema.json); ignored. */
  $schema: z.string().optional(),
  name: z.string().min(1).default('scenario'),
  description: z.string().default(''),
  platform: z.union([z.string().min(1), z.record(z.string(), z.unknown())]).default('small-2s'),
  kernel: z.string().min(1).default('linux-6.18'),
  /** Absent: the kernel profile's default module. */
  module: z.string().min(1).optional(),
  seed: z.number().int().nonnegative().default(1),
  steps: z.array(stepSchema).default([]),
  /** Alternative continuations: each runs `steps` then its own steps on a fresh machine. */
  variants: z.array(z.strictObject({ name: z.string().min(1), steps: z.array(stepSchema) })).default([]),
  /** Behaviour points of the kernel profile replaced for this scenario ("6.18 plus my change"). */
  kernelOverrides: kernelOverridesSchema.optional(),
  /**
   * How the run is scheduled: `timed` (simulated time decides, the default), `free` with a
   * chosen choice path for the whole run, or `explored`: as `explore` and `replay` run an
   * execution (timed up to the first kexec, crash or tdx.enable step, then free with `path`,
   * `faults`, interrupt latency as a choice, the platform resized to `cpus`).
   */
  schedule: z
    .strictObject({
      policy: z.enum(['timed', 'free', 'explored']).default('timed'),
      path: z.string().regex(/^(\d+(\.\d+)*)?$/, 'expected a dot-separated choice path').default(''),
      /** explored: the fault plan, as `--faults` of replay (`none`, or `SITE:n/d:max,...`). */
      faults: z.string().min(1).default('none'),
      /** explored: fault opportunities are two-way choices (exhaustive search) or weighted draws. */
      faultChoices: z.enum(['weighted', 'binary']).default('weighted'),
      /** explored: interrupt latency is a choice (false: nominal latencies only, `--no-latency`). */
      latency: z.boolean().default(true),
      /** explored: resize the platform to this many logical CPUs (`--cpus`). */
      cpus: z.number().int().min(1).max(4096).optional(),
    })
    .prefault({}),
  /** Expected finding classes; the verdict is "pass" when exactly these appear. */
  expect: z.strictObject({ findings: z.array(findingClass).default([]) }).prefault({}),
});

/**
 * The JSON Schema of scenario files, generated from the zod definition above (published as
 * schema/scenario.schema.json). `target` draft-2020-12 (the default) or draft-7.
 */
export function scenarioJsonSchema(target: 'draft-2020-12' | 'draft-7' = 'draft-2020-12'): unknown {
  return z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any', target });
}

/** A validated scenario. */
export type Scenario = z.output<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;
/** Classes of findings. */
export type FindingClass = z.output<typeof findingClass>;

/** A problem in a scenario file. */
export interface ScenarioProblem {
  readonly path: string;
  readonly message: string;
}

const KERNEL_OPS = new Set(['kvm.load', 'tdx.enable', 'td.create', 'td.destroy', 'td.run', 'td.release', 'cpu.offline', 'cpu.online', 'mem.online', 'kexec', 'crash']);

/** Order rules: what must come before what. */
function orderProblems(steps: readonly ScenarioStep[], base: string): ScenarioProblem[] {
  const out: ScenarioProblem[] = [];
  let booted = false;
  let kvm = false;
  steps.forEach((s, i) => {
    const path = `${base}[${i}]`;
    if (KERNEL_OPS.has(s.op) && !booted) {
      out.push({ path, message: `"${s.op}" before "boot": the kernel is not running yet` });
    }
    if ((s.op === 'td.create' || s.op === 'td.destroy' || s.op === 'td.run' || s.op === 'td.release') && !kvm) {
      out.push({ path, message: `"${s.op}" before "kvm.load": no hypervisor has brought TDX up` });
    }
    if (s.op === 'boot') {
      if (booted) {
        out.push({ path, message: '"boot" twice: use "kexec" or "crash" to start a new kernel' });
      }
      booted = true;
    }
    if (s.op === 'kvm.load') {
      kvm = true;
    }
    if (s.op === 'kexec' || s.op === 'crash') {
      // The next kernel boots as part of the step; KVM must be loaded again.
      kvm = false;
    }
  });
  return out;
}

/** The value at `path` inside `input` (own properties only), for messages. */
function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const k of path) {
    if (typeof v !== 'object' || v === null || typeof k === 'symbol' || !Object.hasOwn(v, k)) {
      return undefined;
    }
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** A schema problem in the scenario format's words rather than the validator's. */
function issueMessage(i: z.core.$ZodIssue, input: unknown): string {
  if (i.code === 'invalid_union' && 'discriminator' in i && 'options' in i && Array.isArray(i.options)) {
    const got = valueAt(input, i.path);
    return `${got === undefined ? 'missing "op"' : `unknown step op ${JSON.stringify(got)}`} (ops: ${i.options.map(String).join(', ')})`;
  }
  if (i.code === 'unrecognized_keys') {
    return `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => JSON.stringify(k)).join(', ')}`;
  }
  return i.message;
}

/** Validate untrusted scenario JSON. */
export function parseScenario(input: unknown): { ok: true; scenario: Scenario } | { ok: false; problems: ScenarioProblem[]; scenario?: Scenario } {
  const r = scenarioSchema.safeParse(input);
  if (!r.success) {
    return { ok: false, problems: r.error.issues.map((i) => ({ path: formatPath(i.path), message: issueMessage(i, input) })) };
  }
  const sc = r.data;
  const problems = orderProblems(sc.steps, 'steps');
  sc.variants.forEach((v, i) => {
    problems.push(...orderProblems([...sc.steps, ...v.steps], `variants[${i}].steps`).filter((p) => p.path.startsWith('variants') && Number(/\[(\d+)\]$/.exec(p.path)?.[1] ?? 0) >= sc.steps.length).map((p) => ({ path: p.path.replace(/\[(\d+)\]$/, (_m, n: string) => `[${Number(n) - sc.steps.length}]`), message: p.message })));
  });
  // With order problems the scenario is still returned, so callers can report every other problem too.
  return problems.length > 0 ? { ok: false, problems, scenario: sc } : { ok: true, scenario: sc };
}

/** True if the scenario needs a kernel (any kernel-level step). */
export function needsKernel(sc: Scenario): boolean {
  const all = [...sc.steps, ...sc.variants.flatMap((v) => v.steps)];
  return all.some((s) => s.op === 'boot' || KERNEL_OPS.has(s.op));
}
