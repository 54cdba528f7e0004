/**
 * A platform with the TDX module attached and nothing else: what `tdxsim serve` drives. Also the
 * module factory the full Machine uses, and a synchronous SEAMCALL for callers that run one
 * call at a time (the server, tests, benchmarks).
 * @see docs/module.md; TDX module ABI section 10.1
 */
import type { CpuId } from '../base/ids.js';
import type { Tracer } from '../base/trace.js';
import { runToCompletion } from '../platform/Exec.js';
import { Platform } from '../platform/Platform.js';
import type { FaultInjector } from '../platform/Platform.js';
import type { SeamOutcome, SeamRegs } from '../platform/Seam.js';
import type { PlatformSpec } from '../platform/spec.js';
import type { SysInfoTable } from '../module/globalState.js';
import { resolveModuleProfile } from '../module/profiles.js';
import type { ModuleProfileName } from '../module/profiles.js';
import { TdxModule } from '../module/TdxModule.js';

/** CPUID(1).EAX by CPU model (PKG_FMS). */
const FMS: Record<string, number> = { 'sapphire-rapids': 0x806f8, 'emerald-rapids': 0xc06f2, 'granite-rapids': 0xa06d1, 'amd-sme': 0xa10f11 };

/** What MCHECK would record for `platform`, with optional test overrides (e.g. a bad CMR list). */
export function sysInfoFor(platform: Platform, override: Partial<SysInfoTable> = {}): SysInfoTable {
  const spec = platform.spec;
  return {
    totNumLps: platform.cpus.length,
    totNumSockets: spec.topology.packages,
    cmrs: spec.cmrs.map((c) => ({ base: c.base, size: c.size })),
    lpPackage: platform.cpus.map((c) => c.packageId),
    fms: FMS[spec.cpuModel] ?? 0,
    ...override,
  };
}

/** Build the module for `platform`; throws Error on an unknown profile name. */
export function createTdxModule(platform: Platform, opts: { profile?: string; overrides?: Record<string, number> | undefined; sysinfo?: Partial<SysInfoTable> } = {}): TdxModule {
  const profile = opts.profile ?? platform.spec.tdxModule.profile;
  if (profile !== undefined && resolveModuleProfile(profile) === undefined) {
    throw new Error(`unknown module profile "${profile}"`);
  }
  const c = platform.spec.costs;
  return new TdxModule({
    ...(profile === undefined ? {} : { profile }),
    overrides: opts.overrides ?? platform.spec.tdxModule.overrides ?? {},
    sysinfo: sysInfoFor(platform, opts.sysinfo),
    lpCount: platform.cpus.length,
    costs: { tdmrInitCallNs: c.tdmrInitCallNs, perLineNs: c.perLineNs, wbinvdBaseNs: c.wbinvdBaseNs },
  });
}

/** The ModuleFactory of machine/Machine.ts. */
export function moduleFactory(platform: Platform, opts: { profile: string; overrides: Record<string, number> | undefined; seed: number }): TdxModule {
  return createTdxModule(platform, { profile: opts.profile, overrides: opts.overrides });
}

/** A platform and its module. */
export interface ModuleMachine {
  readonly platform: Platform;
  readonly module: TdxModule;
}

/** Options of createModuleMachine. */
export interface ModuleMachineOptions {
  readonly module?: ModuleProfileName;
  readonly seed?: number;
  readonly tracer?: Tracer;
  readonly faults?: FaultInjector;
  /** MCHECK table overrides (test fixtures such as an overlapping CMR list). */
  readonly sysinfo?: Partial<SysInfoTable>;
}

/** Build a platform from `spec` with the module attached as its SEAM handler. */
export function createModuleMachine(spec: PlatformSpec, opts: ModuleMachineOptions = {}): ModuleMachine {
  const platform = new Platform(spec, {
    ...(opts.seed === undefined ? {} : { seed: opts.seed }),
    ...(opts.tracer === undefined ? {} : { tracer: opts.tracer }),
    ...(opts.faults === undefined ? {} : { faults: opts.faults }),
  });
  const module = createTdxModule(platform, { ...(opts.module === undefined ? {} : { profile: opts.module }), ...(opts.sysinfo === undefined ? {} : { sysinfo: opts.sysinfo }) });
  platform.seamHandler = module;
  return { platform, module };
}

/** Execute SEAMCALL on LP `lp` to completion (no other CPU runs meanwhile). */
export function seamcallSync(machine: ModuleMachine, lp: CpuId | number, regs: SeamRegs): SeamOutcome {
  const cpu = machine.platform.cpu(lp);
  machine.platform.current = cpu;
  return runToCompletion(machine.platform.seamcall(cpu, regs)).value;
}
