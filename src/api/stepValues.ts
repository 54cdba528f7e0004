/**
 * Value checks on scenario steps that the schema cannot express, because they depend on the
 * platform (how many CPUs and KeyIDs it has) or on the steps before (which TDs exist). They run
 * before anything runs, so bad input is refused with one line per problem, naming the step's
 * field path, and never reaches a model assertion (docs/scenarios.md "What is checked").
 */
import { FAULT_SITES as EXPLORE_FAULT_SITES, KERNEL_BUG_SITES } from '../explore/faults.js';
import { FAULT_SITES as MODULE_FAULT_SITES } from '../module/faultSites.js';
import type { PlatformSpec } from '../platform/spec.js';
import type { Scenario, ScenarioStep } from '../scenario/scenario.js';

/** Physical addresses end below 2^52 (the architectural MAXPHYADDR). */
const PA_LIMIT = 2 ** 52;
/** Most bytes one load or store step may touch. */
const MAX_ACCESS_BYTES = 64 * 2 ** 20;
/**
 * The smallest memory block x86-64 Linux hot-adds: one sparsemem section of 2^27 bytes
 * (memory_block_size_bytes() is never smaller). add_memory() refuses a range whose start or size
 * is not a multiple of the block size, or whose size is 0, with -EINVAL.
 * @see linux arch/x86/include/asm/sparsemem.h SECTION_SIZE_BITS (27 on x86-64) v6.18
 * @see linux mm/memory_hotplug.c check_hotplug_memory_range() v6.18
 */
const MIN_MEMORY_BLOCK_BYTES = 2 ** 27;

/** Every fault site a scenario's `fault` step may name: the exploration's, the module's and the kernel-bug sites. */
export function scenarioFaultSites(): string[] {
  return [...new Set([...Object.keys(EXPLORE_FAULT_SITES), ...Object.keys(MODULE_FAULT_SITES), ...Object.keys(KERNEL_BUG_SITES)])];
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** A problem: the field below the step (`.keyId`, or empty for the step) and the message. */
type Problem = [field: string, message: string];

/** What the checks need to know about the platform. */
interface PlatformFacts {
  readonly cpus: number;
  /** Highest configured KeyID: KeyID 0, then NUM_MKTME_KIDS, then NUM_TDX_PRIV_KIDS. */
  readonly maxKeyId: number;
  readonly name: string;
}

function facts(spec: PlatformSpec): PlatformFacts {
  const t = spec.topology;
  return { cpus: t.packages * t.coresPerPackage * t.threadsPerCore, maxKeyId: spec.keyids.mktme + spec.keyids.tdx, name: spec.name };
}

/** Problems of a memory access step: address width, access size, store payload. */
function accessProblems(s: ScenarioStep, f: PlatformFacts): Problem[] {
  const out: Problem[] = [];
  if (!('pa' in s)) {
    return out;
  }
  const len = 'len' in s && s.len !== undefined ? s.len : 'data' in s && s.data !== undefined ? s.data.replace(/^0x/, '').length / 2 : 64;
  if (!Number.isSafeInteger(s.pa) || s.pa + len > PA_LIMIT) {
    out.push(['.pa', `${s.pa} + len ${len} goes past the 52-bit physical address space`]);
  }
  if ((s.op === 'load' || s.op === 'store') && len > MAX_ACCESS_BYTES) {
    out.push(['.len', `${len} is more than ${MAX_ACCESS_BYTES} bytes for one access`]);
  }
  if ('keyId' in s && s.keyId > f.maxKeyId) {
    out.push(['.keyId', `KeyID ${s.keyId} does not exist on platform ${f.name} (its KeyIDs are 0..${f.maxKeyId}: keyids.mktme + keyids.tdx)`]);
  }
  if (s.op === 'store') {
    if (s.data === undefined && s.fill === undefined) {
      out.push(['', `a store needs "data" (hex bytes) or "fill" (a byte value, with "len")`]);
    }
    if (s.data !== undefined && (s.fill !== undefined || s.len !== undefined)) {
      out.push(['', `give either "data" or "fill" with "len", not both`]);
    }
  }
  return out;
}

/** Problems of the CPU numbers a step names. */
function cpuProblems(s: ScenarioStep, f: PlatformFacts): Problem[] {
  const out: Problem[] = [];
  const named: [string, number][] = [];
  if ('cpu' in s && typeof s.cpu === 'number') {
    named.push(['cpu', s.cpu]);
  }
  const lists: [string, readonly number[]][] = [];
  if (s.op === 'tdx.enable') {
    lists.push(['cpus', s.cpus]);
  }
  if (s.op === 'kexec') {
    lists.push(['lateRebootIpi', s.lateRebootIpi]);
  }
  for (const [field, list] of lists) {
    list.forEach((c, i) => named.push([`${field}[${i}]`, c]));
    if (new Set(list).size !== list.length) {
      out.push([`.${field}`, `lists a CPU twice (${list.join(', ')})`]);
    }
  }
  for (const [field, c] of named) {
    if (c >= f.cpus) {
      out.push([`.${field}`, `CPU ${c} does not exist on platform ${f.name} (CPUs 0..${f.cpus - 1})`]);
    }
  }
  return out;
}

/**
 * Problems of steps whose values depend on the steps before (TDs: `vcpusBefore[i]` is TD i's
 * vCPU count) or on Linux's rules.
 */
function kernelStepProblems(s: ScenarioStep, vcpusBefore: readonly number[]): Problem[] {
  const out: Problem[] = [];
  const tdsBefore = vcpusBefore.length;
  if (s.op === 'td.run' && s.vcpu > 0) {
    // The TD td.run picks without `td` is known only when the scenario runs: check against the
    // TD it names, or else against every TD created before.
    const n = s.td === undefined ? Math.max(0, ...vcpusBefore) : vcpusBefore[s.td];
    if (n !== undefined && tdsBefore > 0 && s.vcpu >= n) {
      out.push(['.vcpu', `vCPU ${s.vcpu} does not exist (${s.td === undefined ? 'the TDs created before it have' : `TD ${s.td} has`} vCPUs 0..${n - 1}; "vcpus" of "td.create")`]);
    }
  }
  if (s.op === 'td.destroy') {
    if (tdsBefore === 0) {
      out.push(['', `no "td.create" comes before it, so there is no TD to destroy`]);
    } else if (s.td !== undefined && s.td >= tdsBefore) {
      out.push(['.td', `TD ${s.td} is never created (the "td.create" steps before it create TDs 0..${tdsBefore - 1})`]);
    }
  }
  if (s.op === 'mem.online') {
    if (!Number.isSafeInteger(s.base + s.size) || s.base + s.size > PA_LIMIT) {
      out.push(['', `base + size goes past the 52-bit physical address space`]);
    } else if (s.size === 0 || s.base % MIN_MEMORY_BLOCK_BYTES !== 0 || s.size % MIN_MEMORY_BLOCK_BYTES !== 0) {
      out.push(['', `base ${hex(s.base)} and size ${hex(s.size)} must be non-zero multiples of the 128 MiB memory block (Linux refuses an unaligned hot-add with -EINVAL)`]);
    }
  }
  if (s.op === 'fault' && !Object.hasOwn(EXPLORE_FAULT_SITES, s.site) && !Object.hasOwn(MODULE_FAULT_SITES, s.site) && !Object.hasOwn(KERNEL_BUG_SITES, s.site)) {
    out.push(['.site', `unknown fault site "${s.site}" (known: ${scenarioFaultSites().join(', ')})`]);
  }
  return out;
}

/**
 * Every value problem of a scenario's steps on a platform, one line each, as
 * `steps[3].keyId (store): ...` or `variants[0].steps[1] (td.destroy): ...`. Empty when the scenario can run.
 */
export function stepValueProblems(sc: Scenario, spec: PlatformSpec): string[] {
  const f = facts(spec);
  const problems: string[] = [];
  const walk = (steps: readonly ScenarioStep[], base: string, tdsAtStart: readonly number[]): number[] => {
    const tds = [...tdsAtStart];
    steps.forEach((s, i) => {
      for (const [field, message] of [...accessProblems(s, f), ...cpuProblems(s, f), ...kernelStepProblems(s, tds)]) {
        problems.push(`${base}[${i}]${field} (${s.op}): ${message}`);
      }
      if (s.op === 'td.create') {
        for (let t = 0; t < s.count; t++) {
          tds.push(s.vcpus);
        }
      }
    });
    return tds;
  };
  const tds = walk(sc.steps, 'steps', []);
  sc.variants.forEach((v, j) => walk(v.steps, `variants[${j}].steps`, tds));
  return problems;
}
