/**
 * `compat`: which kernel runs with which TDX module release, found by booting each pair in the
 * simulator. Every cell is a real run of the kernel model (boot, then `modprobe kvm_intel
 * tdx=1`) against the module model of that release on one platform; nothing in the verdicts is
 * a hand-written table. The "use X or later" advice of a failing cell comes from the cells of
 * the same kernel that did initialise.
 *
 * Each cell records what the simulation observed: the kernel's own module status (so a kernel
 * that initialises TDX at boot counts as well as one that waits for KVM), whether KVM kept TDX,
 * the first err-level TDX/KVM dmesg line, the first SEAMCALL that returned an error (its inputs
 * are captured at the SEAM handler, so a TDH.SYS.RD names the field it asked for), and the
 * reason KVM's own checks gave (`Kvm.bringupFailure`).
 * @see linux arch/x86/virt/vmx/tdx/tdx.c init_tdx_module(), check_features();
 *      arch/x86/kvm/vmx/tdx.c __tdx_bringup()
 */
import { FIRST_CHOICE } from '../base/choice.js';
import { hex16 } from '../base/u64.js';
import { Scheduler } from '../sim/Scheduler.js';
import type { Kernel } from '../kernel/Kernel.js';
import { errname } from '../kernel/errno.js';
import { KERNEL_PROFILE_NAMES, kernelProfile } from '../kernel/profiles.js';
import type { KernelProfileName } from '../kernel/profiles.js';
import { MD } from '../kernel/tdx/globalMetadata.js';
import { createMachine } from '../machine/Machine.js';
import { moduleFactory } from '../machine/moduleMachine.js';
import { LEAF, leafName } from '../module/leafNumbers.js';
import { describeReleases, MODULE_PROFILE_NAMES, moduleProfile } from '../module/profiles.js';
import type { ModuleProfileName } from '../module/profiles.js';
import { statusName, TDX_METADATA_FIELD_ID_INCORRECT, TDX_SYS_LP_INIT_NOT_DONE } from '../module/status.js';
import type { SeamHandler } from '../platform/Seam.js';
import type { PlatformSpec, PlatformSpecInput } from '../platform/spec.js';
import { checkKernelName, checkModuleName } from '../api/profileNames.js';
import { resolvePlatform } from '../api/run.js';

/** What to compare. */
export interface CompatRequest {
  /** Kernel profiles (names or aliases); default every kernel profile (not the mutants). */
  readonly kernels?: readonly string[];
  /** Module releases (names or aliases); default every release, without `+sys-disable` variants. */
  readonly modules?: readonly string[];
  /** Preset name, platform JSON file, or a platform object; default `small-2s`. */
  readonly platform?: string | PlatformSpecInput;
}

/**
 * A cell's verdict: `ok` (module initialised, KVM has TDX), `kvm` (module initialised, KVM's
 * checks refused it), `fail` (module initialisation failed), `none` (no initialisation was
 * attempted: TDX not detected, or the kernel never called it).
 */
export type CompatVerdict = 'ok' | 'kvm' | 'fail' | 'none';

/** The first SEAMCALL of a run that returned an error status. */
export interface FailingSeamcall {
  readonly leaf: number;
  readonly leafName: string;
  /** The 64-bit status, `0x` and 16 hex digits. */
  readonly status: string;
  readonly statusName: string;
  /** TDH.SYS.RD: the field id the kernel asked for. */
  readonly fieldId?: string;
  /** TDH.SYS.RD: the field's name, where the kernel model names it. */
  readonly fieldName?: string;
}

/** One kernel × module run. */
export interface CompatCell {
  readonly kernel: string;
  readonly module: string;
  readonly verdict: CompatVerdict;
  /** The kernel's tdx_module_status is INITIALIZED at the end. */
  readonly initialized: boolean;
  /** Which step initialised the module (null: not initialised). */
  readonly initializedAt: 'boot' | 'kvm.load' | null;
  /** kvm_intel's enable_tdx at the end. */
  readonly kvmTdx: boolean;
  /** The first err-level TDX or KVM dmesg line (null: none). */
  readonly firstFailingLine: string | null;
  readonly failingSeamcall: FailingSeamcall | null;
  /** Why the cell is not `ok`, for operators (null when `ok`). */
  readonly reason: string | null;
  /** The release's TDX_FEATURES0 is assumed, not published. */
  readonly featuresAssumed: boolean;
}

/** One distinct reason and the cells it explains. */
export interface CompatReason {
  readonly reason: string;
  readonly cells: readonly { readonly kernel: string; readonly module: string }[];
}

/** The matrix. */
export interface CompatResult {
  readonly platform: string;
  readonly kernels: readonly string[];
  readonly modules: readonly string[];
  /** Rows in kernel order, each in module order. */
  readonly cells: readonly CompatCell[];
  readonly reasons: readonly CompatReason[];
  /** One note per assumed TDX_FEATURES0 value, and one for the platform's metadata overrides. */
  readonly footnotes: readonly string[];
}

/** What one run observed, before reasons (which need the whole matrix). */
interface Observation {
  readonly kernel: KernelProfileName;
  readonly module: ModuleProfileName;
  readonly detected: boolean;
  readonly initializedAt: 'boot' | 'kvm.load' | null;
  readonly moduleStatus: string;
  readonly kvmTdx: boolean;
  readonly kvmRet: number;
  readonly kvmCheck: string | undefined;
  readonly errLines: readonly string[];
  readonly failing: (FailingSeamcall & { readonly leavesBefore: ReadonlySet<number> }) | undefined;
}

/** The check_features() line (linux v6.14+). */
const RBP_LINE = 'frame pointer (RBP) clobber bug present';
const DEFAULT_PLATFORM = 'small-2s';

/**
 * Boot every chosen kernel with every chosen module release and report which pairs bring TDX up.
 * @throws TdxsimError (TDXSIM_UNKNOWN_PROFILE, TDXSIM_UNKNOWN_PRESET, TDXSIM_BAD_PLATFORM) on
 *         bad input
 */
export function compat(req: CompatRequest = {}): CompatResult {
  const kernels = unique((req.kernels ?? KERNEL_PROFILE_NAMES).map((n) => checkKernelName(n).name));
  const modules = unique((req.modules ?? MODULE_PROFILE_NAMES).map((n) => checkModuleName(n).name));
  const platformArg = req.platform ?? DEFAULT_PLATFORM;
  const spec = resolvePlatform(platformArg, '--platform');
  const label = typeof platformArg === 'string' ? platformArg : (spec.name ?? 'platform');
  const obs = kernels.flatMap((k) => modules.map((m) => observe(spec, k, m)));
  const verdicts = new Map(obs.map((o) => [key(o.kernel, o.module), verdictOf(o)]));
  const cells = obs.map((o): CompatCell => {
    const verdict = verdicts.get(key(o.kernel, o.module)) as CompatVerdict;
    const okModules = modules.filter((m) => verdicts.get(key(o.kernel, m)) === 'ok');
    return {
      kernel: o.kernel,
      module: o.module,
      verdict,
      initialized: o.initializedAt !== null,
      initializedAt: o.initializedAt,
      kvmTdx: o.kvmTdx,
      firstFailingLine: o.errLines[0] ?? null,
      failingSeamcall: verdict === 'ok' || o.failing === undefined ? null : publicSeamcall(o.failing),
      reason: verdict === 'ok' ? null : reasonFor(o, verdict, okModules),
      featuresAssumed: !moduleProfile(o.module).tdxFeatures0Known,
    };
  });
  const overrides = Object.entries(spec.tdxModule.overrides ?? {}).map(([f, v]) => `${f}=0x${v.toString(16)}`);
  const overrideNote = overrides.length > 0 ? [`the platform overrides module metadata in every column: ${overrides.join(', ')}`] : [];
  return { platform: label, kernels, modules, cells, reasons: groupReasons(cells), footnotes: [...footnotes(modules), ...overrideNote] };
}

function unique<T>(xs: readonly T[]): T[] {
  return xs.filter((x, i) => xs.indexOf(x) === i);
}

function key(k: string, m: string): string {
  return `${k}\u0000${m}`;
}

/**
 * One run: boot, then modprobe kvm_intel tdx=1, on a fresh machine. The module sits behind a
 * recording SEAM handler that keeps the first call returning an error (bit 63), with the inputs
 * it was given (the module writes its outputs into the same registers).
 */
function observe(spec: PlatformSpec, kernel: KernelProfileName, module: ModuleProfileName): Observation {
  let failing: Observation['failing'];
  const leaves = new Set<number>();
  const m = createMachine({
    spec,
    kernel,
    module,
    seed: 1,
    moduleFactory: (platform, opts): SeamHandler => {
      const real = moduleFactory(platform, opts);
      return {
        *seamcall(regs, env) {
          const rax = regs.rax;
          const rdx = regs.rdx;
          const out = yield* real.seamcall(regs, env);
          const leaf = Number(rax & 0xffffn);
          if (failing === undefined && out.rax >> 63n === 1n) {
            failing = { ...seamcallFacts(leaf, out.rax, rdx), leavesBefore: new Set(leaves) };
          }
          leaves.add(leaf);
          return out;
        },
      };
    },
  });
  const sched = new Scheduler(m.platform, FIRST_CHOICE, 'timed');
  sched.runProgram(m.platform.cpu(0), m.bootKernel(), 'boot');
  const atBoot = m.kernel.tdx.tdx_module_status === 'INITIALIZED';
  const kvmRet = sched.runProgram(m.platform.cpu(0), m.loadKvm(), 'kvm.load');
  const k = m.kernel;
  const initialized = k.tdx.tdx_module_status === 'INITIALIZED';
  return {
    kernel,
    module,
    detected: k.tdx.hostPlatform,
    initializedAt: atBoot ? 'boot' : initialized ? 'kvm.load' : null,
    moduleStatus: k.tdx.tdx_module_status,
    kvmTdx: k.kvm.enable_tdx,
    kvmRet,
    kvmCheck: k.kvm.bringupFailure,
    errLines: tdxErrLines(k),
    failing,
  };
}

/** err-level lines of the TDX host code and KVM. */
function tdxErrLines(k: Kernel): string[] {
  const prefix = k.profile.strings.prefix;
  return k.dmesg
    .records()
    .filter((r) => r.level === 'err' || r.level === 'crit' || r.level === 'emerg')
    .map((r) => r.text)
    .filter((t) => t.startsWith(prefix) || t.startsWith('kvm_intel: '));
}

function seamcallFacts(leaf: number, status: bigint, rdx: bigint): FailingSeamcall {
  const base = { leaf, leafName: leafName(leaf), status: hex16(status), statusName: statusName(status) };
  if (leaf !== LEAF.TDH_SYS_RD) {
    return base;
  }
  const name = Object.entries(MD).find(([, id]) => id === rdx)?.[0];
  return { ...base, fieldId: hex16(rdx), ...(name !== undefined ? { fieldName: name } : {}) };
}

function publicSeamcall(f: NonNullable<Observation['failing']>): FailingSeamcall {
  const { leavesBefore: _ignored, ...rest } = f;
  return rest;
}

function verdictOf(o: Observation): CompatVerdict {
  if (o.initializedAt !== null) {
    return o.kvmTdx && o.kvmCheck === undefined ? 'ok' : 'kvm';
  }
  return o.detected && o.moduleStatus !== 'UNINITIALIZED' ? 'fail' : 'none';
}

/** "use 1.5.05 or later", from the releases that initialised with this kernel. */
function advice(kernel: string, okModules: readonly string[]): string {
  return okModules.length > 0 ? `with ${kernel} use TDX module ${describeReleases(okModules)}` : `no module release in this matrix brings TDX up with ${kernel}`;
}

/** The operator's sentence for a cell that is not `ok`. */
function reasonFor(o: Observation, verdict: CompatVerdict, okModules: readonly string[]): string {
  const use = advice(o.kernel, okModules);
  if (verdict === 'none') {
    const k = kernelProfile(o.kernel);
    if (!k.hostSupport) {
      // @see kernel/profiles.ts LINUX_6_6 (the host code arrived in 6.8, KVM TDX in 6.16)
      return `not initialized: ${o.kernel} has no TDX host support (it arrived in Linux 6.8, KVM TDX in 6.16); use Linux 6.16 or later, or a distribution kernel with KVM TDX`;
    }
    if (k.initAt === 'none') {
      return `not initialized: ${o.kernel} has no KVM TDX, so nothing initializes the module (KVM TDX arrived in Linux 6.16)`;
    }
    if (!o.detected) {
      return `not initialized: ${o.kernel} found no usable TDX on this platform${o.errLines[0] !== undefined ? ` (${o.errLines[0]})` : ''}`;
    }
    return `not initialized: ${o.kernel} did not initialize the TDX module at boot or when kvm_intel loaded (kvm_intel returned ${o.kvmRet === 0 ? '0' : errname(o.kvmRet)})`;
  }
  if (verdict === 'kvm') {
    if (o.kvmCheck !== undefined) {
      const still = o.kvmTdx ? '; this kernel still returns 0 there, so kvm_intel loads with tdx=1 but TDX is not set up' : '';
      return `the module initialized, but ${o.kernel}'s KVM refuses TDX module ${o.module}: ${o.kvmCheck}${still}; ${use}`;
    }
    return `the module initialized, but KVM turned TDX off (kvm_intel returned ${o.kvmRet === 0 ? '0' : errname(o.kvmRet)}); ${use}`;
  }
  return `${failureCause(o)}; ${use}`;
}

/** Why initialisation failed, from the failing SEAMCALL or the kernel's own check. */
function failureCause(o: Observation): string {
  const f = o.failing;
  const p = moduleProfile(o.module);
  if (f !== undefined) {
    const hasLeaf = p.knownLeaves.has(f.leaf);
    if (f.leaf === LEAF.TDH_SYS_RD && f.fieldId !== undefined) {
      const field = `${f.fieldName ?? 'field'} (${f.fieldId})`;
      if (!hasLeaf) {
        return `${o.kernel} reads ${field} with TDH.SYS.RD, a leaf TDX module ${o.module} does not have (it answers ${f.statusName})`;
      }
      if (BigInt(f.status) === TDX_METADATA_FIELD_ID_INCORRECT) {
        return `${o.kernel} reads ${field} with TDH.SYS.RD, a field TDX module ${o.module} does not have (${f.statusName})`;
      }
      return `TDH.SYS.RD of ${field} failed with ${f.statusName}`;
    }
    if (!hasLeaf) {
      return `${o.kernel} calls ${f.leafName}, a leaf TDX module ${o.module} does not have (it answers ${f.statusName})`;
    }
    if (BigInt(f.status) === TDX_SYS_LP_INIT_NOT_DONE && !f.leavesBefore.has(LEAF.TDH_SYS_LP_INIT)) {
      return `${o.kernel} calls ${f.leafName} without having run TDH.SYS.INIT and TDH.SYS.LP.INIT, and the module answers ${f.statusName}`;
    }
    return `${f.leafName} failed with ${f.statusName}`;
  }
  if (o.errLines.some((l) => l.includes(RBP_LINE))) {
    return `${o.kernel} refuses TDX module ${o.module}: its TDX_FEATURES0 lacks NO_RBP_MOD (bit 18) ("${RBP_LINE}")`;
  }
  return `module initialization failed${o.errLines[0] !== undefined ? `: ${o.errLines[0]}` : ''}`;
}

function groupReasons(cells: readonly CompatCell[]): CompatReason[] {
  const by = new Map<string, { kernel: string; module: string }[]>();
  for (const c of cells) {
    if (c.reason !== null) {
      const list = by.get(c.reason) ?? [];
      list.push({ kernel: c.kernel, module: c.module });
      by.set(c.reason, list);
    }
  }
  return [...by].map(([reason, cs]) => ({ reason, cells: cs }));
}

/** One note per assumed TDX_FEATURES0 (releases that share the assumption share the note). */
function footnotes(modules: readonly string[]): string[] {
  const by = new Map<string, string[]>();
  for (const p of modules.map((m) => moduleProfile(m)).filter((x) => !x.tdxFeatures0Known)) {
    const what = `TDX_FEATURES0 ${p.tdxFeatures0Source} (0x${p.tdxFeatures0.toString(16)})`;
    by.set(what, [...(by.get(what) ?? []), p.name]);
  }
  return [...by].map(([what, names]) => `${names.join(', ')}: ${what}; the verdicts in ${names.length === 1 ? 'this column rest' : 'these columns rest'} on that assumed value`);
}
