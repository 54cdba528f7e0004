/**
 * The kernel and module catalogues as plain data for `tdxsim kernels`, `tdxsim modules` and
 * library users: every fact with its source, unknowns marked.
 */
import { KERNEL_PROFILE_ALIASES, KERNEL_PROFILE_NAMES, kernelProfile } from '../kernel/profiles.js';
import { cpuidConfigurable } from '../module/cpuidConfigurable.js';
import { MODULE_PROFILE_ALIASES, MODULE_PROFILE_NAMES, moduleProfile, releaseString, SYS_DISABLE_SUFFIX, TDX_FEATURES0_BITS, hasFeature, isAssumed } from '../module/profiles.js';

/** One kernel of the catalogue. */
export interface KernelEntry {
  readonly name: string;
  readonly linuxVersion: string;
  readonly description: string;
  readonly source: string;
  /** Who initializes the TDX module: KVM when kvm_intel loads, the kernel at boot, or nothing. */
  readonly initializes: 'kvm' | 'boot' | 'none';
  readonly kexec: 'no' | 'yes' | 'yes (refused on partial-write-erratum CPUs)';
  readonly sysDisableOnKexec: boolean;
  readonly defaultModule: string;
}

/** One module release of the catalogue. */
export interface ModuleEntry {
  readonly name: string;
  readonly version: string;
  readonly tdxFeatures0: string;
  readonly tdxFeatures0Known: boolean;
  readonly tdxFeatures0Source: string;
  readonly buildNum: number | null;
  readonly buildDate: number | null;
  readonly buildSource: string | null;
  readonly minUpdateFrom: string | null;
  readonly minSeamldr: readonly string[];
  readonly extraFields: readonly string[];
  readonly fieldsSource: string;
  readonly topologyEnum: boolean;
  readonly noRbpMod: boolean;
  readonly dynamicPamt: boolean;
  readonly differences: readonly string[];
  /** TDH.MEM.RANGE.UNBLOCK's TLB_TRACKING_NOT_DONE operand id (SEPT_TREE or RCX), its source, and whether it is assumed. */
  readonly unblockTlbOperand: { readonly value: string; readonly source: string; readonly assumed: boolean };
  /** The release whose CPUID lookup table TDH.SYS.LP.INIT compares with, its source, and whether it is assumed. */
  readonly cpuidTable: { readonly value: string; readonly source: string; readonly assumed: boolean };
  /** The release whose configurable CPUID leaves (TDH.MNG.INIT's CPUID_CONFIG, NUM_CPUID_CONFIG) this one has, how many, its source, and whether it is assumed. */
  readonly cpuidConfig: { readonly value: string; readonly leaves: number; readonly source: string; readonly assumed: boolean };
  /** The release whose TDH.VP.INIT checks (x2APIC ID, check order) this one has, its source, and whether it is assumed. */
  readonly vpInit: { readonly value: string; readonly source: string; readonly assumed: boolean };
  /** The release whose TDH.SYS.INIT IA32_MISC_ENABLE / IA32_VMX_PROCBASED_CTLS3 checks this one has, its source, and whether it is assumed. */
  readonly sysInitMsrChecks: { readonly value: string; readonly source: string; readonly assumed: boolean };
}

/** The kernel catalogue, with the old names. */
export function kernelCatalogue(): { kernels: KernelEntry[]; aliases: { name: string; to: string; notice: string }[] } {
  const kernels = KERNEL_PROFILE_NAMES.map((n): KernelEntry => {
    const k = kernelProfile(n);
    return {
      name: n,
      linuxVersion: k.linuxVersion,
      description: k.description,
      source: k.source,
      initializes: k.initAt,
      kexec: !k.kexec.kexecAllowed ? 'no' : k.kexec.refuseOnErratum ? 'yes (refused on partial-write-erratum CPUs)' : 'yes',
      sysDisableOnKexec: k.kexec.sysDisable,
      defaultModule: k.defaultModule,
    };
  });
  const aliases = Object.entries(KERNEL_PROFILE_ALIASES).map(([name, a]) => ({ name, to: a.to, notice: a.notice }));
  return { kernels, aliases };
}

/** The module release catalogue, with the old names and the `+sys-disable` variants' rule. */
export function moduleCatalogue(): { modules: ModuleEntry[]; aliases: { name: string; to: string; notice: string }[]; variants: string } {
  const modules = MODULE_PROFILE_NAMES.map((n): ModuleEntry => {
    const p = moduleProfile(n);
    return {
      name: n,
      version: releaseString(p),
      tdxFeatures0: `0x${p.tdxFeatures0.toString(16)}`,
      tdxFeatures0Known: p.tdxFeatures0Known,
      tdxFeatures0Source: p.tdxFeatures0Source,
      buildNum: p.buildNum?.value ?? null,
      buildDate: p.buildDate?.value ?? null,
      buildSource: p.buildNum?.source ?? null,
      minUpdateFrom: p.minUpdateFrom?.value ?? null,
      minSeamldr: p.minSeamldr,
      extraFields: p.extraFields,
      fieldsSource: p.fieldsSource,
      topologyEnum: hasFeature(p, TDX_FEATURES0_BITS.TOPOLOGY_ENUM),
      noRbpMod: hasFeature(p, TDX_FEATURES0_BITS.NO_RBP_MOD),
      dynamicPamt: hasFeature(p, TDX_FEATURES0_BITS.DYNAMIC_PAMT),
      differences: p.differences,
      unblockTlbOperand: { ...p.unblockTlbOperand, assumed: isAssumed(p.unblockTlbOperand) },
      cpuidTable: { ...p.cpuidTable, assumed: isAssumed(p.cpuidTable) },
      cpuidConfig: { ...p.cpuidConfig, leaves: cpuidConfigurable(p).length, assumed: isAssumed(p.cpuidConfig) },
      vpInit: { ...p.vpInit, assumed: isAssumed(p.vpInit) },
      sysInitMsrChecks: { ...p.sysInitMsrChecks, assumed: isAssumed(p.sysInitMsrChecks) },
    };
  });
  const aliases = Object.entries(MODULE_PROFILE_ALIASES).map(([name, a]) => ({ name, to: a.to, notice: a.notice }));
  return {
    modules,
    aliases,
    variants: `RELEASE${SYS_DISABLE_SUFFIX} (1.5.01 and later): the release with TDX_FEATURES0.SYS_DISABLE (bit 53) and TDH.SYS.DISABLE, which no published release enumerates; modelled from the Linux 7.2 patches`,
  };
}
