/**
 * Module profiles: the TDX module releases people run, named by Intel release (`1.0`,
 * `1.5.01` … `1.5.16`, `2.0.02` … `2.0.08`), as data with the source of every fact. A profile is
 * what distinguishes one release's behaviour from another's: the leaves and leaf versions it
 * accepts, the global metadata fields it implements, TDX_FEATURES0, its version and build.
 *
 * Facts not established from a source stay `undefined` (build numbers and dates of most
 * releases): the simulated module then reports 0 in those fields, and every tool that shows the
 * value says it is unknown. Behaviour is modelled from the one 1.5 source tree with tags for each
 * release (1.5.01) and the diffs read at the 1.5.05, 1.5.06 and 2.0.08 commits; the other
 * releases share the behaviour of their tree apart from the data below.
 *
 * The names used before releases were catalogued (`tdx-1.0`, `tdx-1.5`, `tdx-1.5-late`) stay as
 * aliases; `resolveModuleProfile()` says what each now means.
 * @see intel/tdx-module-binaries mapping_file.json (release list, tdx_feature0, minimum version
 *      for a TD-preserving update, minimum SEAMLDR)
 * @see intel/tdx-module BUILD.md at the 1.5.05 (e98d9639), 1.5.06 (1e636985) and 2.0.08
 *      (1666adc4) commits (build numbers and dates)
 * @see intel/tdx-module src/vmm_dispatcher/tdx_vmm_dispatcher.c (leaf versions),
 *      include/auto_gen/global_sys_fields_lookup.c (metadata fields) at those commits
 */
import { deepFreeze, shareInSnapshots } from '../base/clone.js';
import { LEAF } from './leafNumbers.js';

/** Intel module releases in the catalogue, oldest first. */
export const MODULE_PROFILE_NAMES = [
  '1.0',
  '1.5.01',
  '1.5.05',
  '1.5.06',
  '1.5.08',
  '1.5.09',
  '1.5.13',
  '1.5.16',
  '1.5.28',
  '1.5.34',
  '2.0.02',
  '2.0.04',
  '2.0.05',
  '2.0.08',
  '2.0.16',
  '2.0.18',
] as const;
/** A release in the catalogue. */
export type ModuleRelease = (typeof MODULE_PROFILE_NAMES)[number];
/**
 * A module profile name: a release, or a release with TDH.SYS.DISABLE enumerated
 * (`2.0.08+sys-disable`, see SYS_DISABLE_SUFFIX).
 */
export type ModuleProfileName = ModuleRelease | `${ModuleRelease}${typeof SYS_DISABLE_SUFFIX}`;
/**
 * Suffix of the variants that enumerate TDX_FEATURES0.SYS_DISABLE (bit 53) and implement
 * TDH.SYS.DISABLE. No release whose TDX_FEATURES0 is published sets the bit (the 1.5.34 source
 * defines it but has no leaf 69); the variants let a user run the Linux 7.2 kexec path against
 * the module the patches were written for, and say so wherever they are named.
 */
export const SYS_DISABLE_SUFFIX = '+sys-disable';
/**
 * The release used when neither the platform, the kernel nor the caller names one: 1.5.01, the
 * release whose source the module model follows line by line.
 */
export const DEFAULT_MODULE_PROFILE: ModuleProfileName = '1.5.01';

/** Old profile names and the releases they now stand for. */
export const MODULE_PROFILE_ALIASES: Readonly<Record<string, { readonly to: ModuleProfileName; readonly notice: string }>> = {
  'tdx-1.0': { to: '1.0', notice: 'module profile "tdx-1.0" is now called "1.0" (a TDX 1.0 module)' },
  'tdx-1.5': { to: '1.5.01', notice: 'module profile "tdx-1.5" now means TDX module 1.5.01 (build 595; production releases from 1.5.05 on differ)' },
  'tdx-1.5-late': { to: '1.5.06', notice: 'module profile "tdx-1.5-late" now means TDX module 1.5.06 (build 744, 20240407)' },
};

/** TDX_FEATURES0 bits the host kernels and KVM test. @see intel/tdx-module 1.5.34 (9fd3c8b1) include/tdx_api_defs.h tdx_features_enum0_t */
export const TDX_FEATURES0_BITS = {
  /** no_rbp_mod: the module does not clobber RBP (6.14+ refuse a module without it). */
  NO_RBP_MOD: 18,
  /** topology_enum (KVM 6.16+ refuses TDX without it). */
  TOPOLOGY_ENUM: 20,
  /** dynamic_pamt: TDH.PHYMEM.PAMT.ADD/REMOVE (leaves 58, 59). */
  DYNAMIC_PAMT: 36,
  /** sys_disable: TDH.SYS.DISABLE (leaf 69). */
  SYS_DISABLE: 53,
} as const;

/** A fact and where it comes from (shown in docs and `tdxsim compat --json`). */
export interface Cited<T> {
  readonly value: T;
  readonly source: string;
}

/** What distinguishes one module release from another. */
export interface ModuleProfile {
  readonly name: ModuleProfileName;
  /** The release this profile is (the name without a variant suffix). */
  readonly release: ModuleRelease;
  readonly major: number;
  readonly minor: number;
  /** Update version (the third part of the release name); undefined for `1.0` (no single release). */
  readonly update: number | undefined;
  /** BUILD_DATE (decimal YYYYMMDD, as `date +%Y%m%d` writes it) where a source gives it. */
  readonly buildDate: Cited<number> | undefined;
  /** BUILD_NUM where a source gives it. */
  readonly buildNum: Cited<number> | undefined;
  /** Minimum module version a TD-preserving update to this release starts from. */
  readonly minUpdateFrom: Cited<string> | undefined;
  /** Minimum SEAMLDR versions that can load it (empty: unknown). */
  readonly minSeamldr: readonly string[];
  /**
   * NUM_HANDOFF_PAGES: handoff pages minus 1 at the start of the data region. SEAMLDR puts it in
   * the sysinfo table, TDH.SYS.INIT latches it, TDH.SYS.RD reports it; the value is the one in
   * the release's SIGSTRUCT (undefined: no published SIGSTRUCT for the release).
   */
  readonly numHandoffPages: Cited<number> | undefined;
  /**
   * HANDOFF_DATA_SIZE that TDH.SYS.SHUTDOWN writes into the handoff header: the bytes of handoff
   * data after the 8-byte header (undefined: the release's handoff code was not read).
   */
  readonly handoffDataSize: Cited<number> | undefined;
  /**
   * TDX_MIN_HANDOFF_PAGES: TDH.SYS.INIT fails with TDX_SYS_INCOMPATIBLE_SIGSTRUCT when
   * NUM_HANDOFF_PAGES + 1 is smaller (undefined: the check was not read for the release).
   */
  readonly minHandoffPages: Cited<number> | undefined;
  /** RAX bits 23:16 are a leaf version (1.5+); in 1.0 RAX is compared as a whole. */
  readonly versionField: boolean;
  /** Leaves that accept a version > 0, with the highest version each accepts. */
  readonly versionedLeaves: ReadonlyMap<number, number>;
  /** Leaves the dispatcher lets run before SYS_READY (section 1.2 step 4). */
  readonly notReadyAllowed: ReadonlySet<number>;
  /** Leaf numbers this version knows (others are unknown leaves). */
  readonly knownLeaves: ReadonlySet<number>;
  /** TDH.SYS.LP.SHUTDOWN shuts the module down (1.0) instead of being a no-op (1.5). */
  readonly lpShutdownShutsDown: boolean;
  /** TDSYSINFO_STRUCT byte 18 (SYS_RD). */
  readonly sysInfoSysRd: number;
  /**
   * Global metadata fields beyond the 1.5.01 table that this release has, in table order. Only
   * MAX_VCPUS_PER_TD, PAMT_PAGE_BITMAP_ENTRY_BITS and MAX_EVENT_FILTERS are answered by TDH.SYS.RD
   * (their values are in the source); the others are listed for the record (see docs/module.md).
   */
  readonly extraFields: readonly string[];
  /** Source of `extraFields` (or the statement that the table was not read). */
  readonly fieldsSource: string;
  /** TDX_FEATURES0 as the simulated module reports it. */
  readonly tdxFeatures0: bigint;
  /** Source of `tdxFeatures0`, or the assumption the model makes where no source gives it. */
  readonly tdxFeatures0Source: string;
  /** False when no source gives this release's TDX_FEATURES0 (the model assumes a value). */
  readonly tdxFeatures0Known: boolean;
  /** MAX_VCPUS_PER_TD (releases that have the field). */
  readonly maxVcpusPerTd: number;
  /** The release's source has the Dynamic PAMT leaves (TDH.PHYMEM.PAMT.ADD/REMOVE). */
  readonly dynamicPamtLeaves: boolean | undefined;
  /** TDH.SYS.DISABLE is implemented (the `+sys-disable` variants only). */
  readonly sysDisable: boolean;
  /**
   * The operand id TDH.MEM.RANGE.UNBLOCK puts into TDX_TLB_TRACKING_NOT_DONE: SEPT_TREE (146) up
   * to 1.5.01, RCX from 1.5.05 on. PAGE.REMOVE, SEPT.REMOVE, PROMOTE and DEMOTE report RCX in every
   * release read (1.0, 1.5.01, 1.5.05). The source says which commit was read, or which releases
   * the assumed value lies between.
   */
  readonly unblockTlbOperand: Cited<'SEPT_TREE' | 'RCX'>;
  /**
   * The cpuid_lookup[] table TDH.SYS.INIT latches and TDH.SYS.LP.INIT compares (cpuidLookup.ts):
   * a release whose table was read, and the source, or the assumption for a release whose table
   * was not read (it then uses the nearest older table that was).
   */
  readonly cpuidTable: Cited<CpuidTableRelease>;
  /**
   * The cpuid_configurable[] table (cpuidConfigurable.ts) that TDH.MNG.INIT checks TD_PARAMS'
   * CPUID_CONFIG against and TDH.SYS.INFO / TDH.SYS.RD report (NUM_CPUID_CONFIG, the
   * CPUID_CONFIG fields): the release whose table it is, and the source, or the assumption for a
   * release whose table was not read (it then uses the nearest older table that was).
   */
  readonly cpuidConfig: Cited<CpuidConfigRelease>;
  /**
   * TDH.VP.INIT's checks, as the release named (vpInitChecks.ts): '1.5.01' version 0 only;
   * '1.5.05' version 1 with the x2APIC ID in R8 (unique among the TD's VCPUs), IA32_TSC_ADJUST
   * compared last, a duplicate ID keeping the VCPU index it took; '2.0.08' IA32_TSC_ADJUST
   * compared first, a duplicate ID giving the index back. The source says which commit was read,
   * or the release read nearest to the assumed one.
   */
  readonly vpInit: Cited<VpInitRelease>;
  /**
   * TDH.SYS.INIT's IA32_MISC_ENABLE and IA32_VMX_PROCBASED_CTLS3 checks, as the release named
   * (platformChecks.ts): '1.5.01' no PERFMON_AVAILABLE/BTS_UNAVAILABLE check and CTLS3 bit 7
   * required; '1.5.05' both IA32_MISC_ENABLE bits checked and CTLS3 bit 7 required only when
   * CPUID.(7,2):EDX.DDPD is set.
   */
  readonly sysInitMsrChecks: Cited<SysInitMsrRelease>;
  /**
   * Behaviour that differs from the previous release, one line each (docs, compat). TDX_FEATURES0
   * differences are computed from the values (`features0Diff`).
   */
  readonly differences: readonly string[];
}

/**
 * True if a per-release fact is assumed rather than read: its source then starts with "not" ("not
 * read for this release …", "not transcribed …"), as every assumed `unblockTlbOperand` and
 * `cpuidTable` source does.
 */
export function isAssumed(c: Cited<unknown>): boolean {
  return c.source.startsWith('not ');
}

/** Releases whose tdh_vp_init.c was read, by the behaviour each stands for (vpInit). */
export type VpInitRelease = '1.5.01' | '1.5.05' | '2.0.08';
/** Releases whose tdh_sys_init.c MSR checks were read, by the behaviour each stands for (sysInitMsrChecks). */
export type SysInitMsrRelease = '1.5.01' | '1.5.05';

/** Releases whose cpuid_configurable[] was transcribed (cpuidConfigurable.ts). */
export type CpuidConfigRelease = '1.5.01' | '1.5.05' | '1.5.06' | '1.5.34' | '2.0.02' | '2.0.04' | '2.0.08';

/** Releases whose cpuid_lookup[] was transcribed (cpuidLookup.ts). */
export type CpuidTableRelease = '1.5.01' | '1.5.05' | '1.5.06' | '2.0.08';

const MAPPING = 'intel/tdx-module-binaries mapping_file.json';
/** Build numbers read from Intel's published binaries (not stated by Intel). */
const FROM_BINARY = (r: string): string =>
  `read from Intel's published binary separate_files/1.5/${r}/tdx_module.bin (TDH.SYS.INFO constants; the method reproduces BUILD.md where it exists; the sigstruct date agrees)`;
const buildMd = (commit: string, r: string): string => `intel/tdx-module BUILD.md at ${commit} (${r})`;
/**
 * NUM_HANDOFF_PAGES as Intel's published SIGSTRUCT of the release carries it: the u16 at byte 990
 * (seam_sigstruct_t: module_hv at 984, min_update_hv 986, no_downgrade 988, num_handoff_pages
 * 990). The same files carry the build date at byte 20, which matches BUILD.md where it exists.
 */
const SIGSTRUCT_HANDOFF = (r: string): string =>
  `intel/tdx-module-binaries separate_files/${r.slice(0, 3)}/${r}/tdx_module_${r}.sigstruct (u16 at byte 990 of seam_sigstruct_t)`;
/**
 * HANDOFF_DATA_SIZE of the releases whose handoff code is helpers.c prepare_handoff_data(): the
 * bytes it copies, sizeof kot.entries (2048 entries of 8 bytes: sizeof(kot_t) == 16388 with its
 * 2-byte lock padded to 4) + wbt_entries (8 x 2064) + tdmr_table (64 x 320) + num_of_tdmr_entries
 * (4) + hkid (2) + pkg_config_bitmap (4) = 16384 + 16512 + 20480 + 10 = 53386. Rounded up to
 * pages that is 14 (TDX_MIN_HANDOFF_PAGES), and the SIGSTRUCTs of these releases carry
 * NUM_HANDOFF_PAGES 13 (14 pages minus 1).
 * @see intel/tdx-module 1.5.01 (72d8cff) src/common/helpers/helpers.c prepare_handoff_data(),
 *   src/common/data_structures/tdx_global_data.h (the static asserts on the sizes,
 *   TDX_MIN_HANDOFF_SIZE); the same code at e98d9639 (1.5.05) and 1e636985 (1.5.06)
 */
const HANDOFF_SIZE_HELPERS = 53386;

/** tdh_mem_range_unblock.c read at a commit: the TLB_TRACKING_NOT_DONE operand is RCX. */
const UNBLOCK_RCX = (where: string): Cited<'RCX'> => ({ value: 'RCX', source: `${where} src/vmm_dispatcher/api_calls/tdh_mem_range_unblock.c` });
/** A 1.5 release whose UNBLOCK was not read: the releases read on either side both report RCX. */
const UNBLOCK_RCX_15: Cited<'RCX'> = {
  value: 'RCX',
  source: 'not read for this release (no stored source); assumed RCX, the operand of 1.5.05 (intel/tdx-module e98d9639) and 1.5.34 (9fd3c8b1), the 1.5 trees read on either side',
};
/** A 2.0 release whose UNBLOCK was not read. */
const UNBLOCK_RCX_20: Cited<'RCX'> = {
  value: 'RCX',
  source: 'not read for this release (no stored source); assumed RCX, the operand of every 2.0 tree read (intel/tdx-module be443240 2.0.02, 1666adc4 2.0.08, e69a4391 2.0.18)',
};
/** The cpuid_lookup[] of a release read from its source. */
const CPUID_READ = (r: CpuidTableRelease, where: string, entries: string): Cited<CpuidTableRelease> => ({
  value: r,
  source: `${where}cpuid_configurations.c cpuid_lookup[] (${entries})`,
});
/**
 * A release whose cpuid_lookup[] was not transcribed: the table of the nearest older release whose
 * table was read (`from`), which has the entries of the transcribed table `r`.
 */
const CPUID_ASSUMED = (r: CpuidTableRelease, why: string, from: string = r): Cited<CpuidTableRelease> => ({
  value: r,
  source: `not transcribed for this release (${why}); assumed as ${from}'s table, the nearest older one read${from === r ? '' : ` (the entries of ${r}'s)`}`,
});

/** The cpuid_configurable[] of a release read from its source. */
const CPUID_CONFIG_READ = (r: CpuidConfigRelease, where: string, entries: number): Cited<CpuidConfigRelease> => ({
  value: r,
  source: `${where}cpuid_configurations.c cpuid_configurable[] (${entries} entries)`,
});
/** A release whose cpuid_configurable[] was not read: the table of `r`, the nearest older release read. */
const CPUID_CONFIG_ASSUMED = (r: CpuidConfigRelease, why: string): Cited<CpuidConfigRelease> => ({
  value: r,
  source: `not read for this release (${why}); assumed as ${r}'s cpuid_configurable[], the nearest older one read`,
});

/** tdh_vp_init.c read at a commit. */
const VP_INIT_READ = (r: VpInitRelease, where: string): Cited<VpInitRelease> => ({ value: r, source: `${where} src/vmm_dispatcher/api_calls/tdh_vp_init.c` });
/** A release whose tdh_vp_init.c was not read: the behaviour of `from`, the nearest release read. */
const VP_INIT_ASSUMED = (r: VpInitRelease, from: string): Cited<VpInitRelease> => ({
  value: r,
  source: `not read for this release (no stored source); assumed as ${from}, the nearest release whose tdh_vp_init.c was read`,
});
/** tdh_sys_init.c's MSR checks read at a commit. */
const SYS_INIT_MSR_READ = (r: SysInitMsrRelease, where: string): Cited<SysInitMsrRelease> => ({
  value: r,
  source: `${where} src/vmm_dispatcher/api_calls/tdh_sys_init.c check_cpuid_configurations(), check_vmx_msrs(), check_l2_vmx_msrs()`,
});
/** A release whose tdh_sys_init.c was not read: the 1.5.05 checks, present in every later release read. */
const SYS_INIT_MSR_ASSUMED: Cited<SysInitMsrRelease> = {
  value: '1.5.05',
  source: 'not read for this release (no stored source); assumed as 1.5.05, whose checks 1.5.06 (intel/tdx-module 1e636985) and 2.0.08 (1666adc4) also have',
};

/**
 * Leaf numbers of the 1.5 tree's seamcall_leaf_opcode_t: 0-45, SERVTD.BIND/PREBIND, SYS.SHUTDOWN,
 * SYS.UPDATE, the export leaves 64-75 without 69 (unassigned: "= 68," then "= 70,"), the import
 * leaves 80-87 and MIG.STREAM.CREATE (96).
 * @see intel/tdx-module 1.5.05 (e98d9639) and 1.5.34 (9fd3c8b1) include/tdx_api_defs.h
 */
const M15_KNOWN = [
  ...Array.from({ length: 46 }, (_, i) => i),
  LEAF.TDH_SERVTD_BIND,
  LEAF.TDH_SERVTD_PREBIND,
  LEAF.TDH_SYS_SHUTDOWN,
  LEAF.TDH_SYS_UPDATE,
  ...Array.from({ length: 12 }, (_, i) => 64 + i).filter((l) => l !== LEAF.TDH_SYS_DISABLE),
  ...Array.from({ length: 8 }, (_, i) => 80 + i),
  96,
];
/**
 * The 1.5 leaves plus TDH.PHYMEM.PAMT.ADD/REMOVE (58, 59): the releases whose dispatcher has them.
 * @see intel/tdx-module 2.0.08 (1666adc4) and 1.5.34 (9fd3c8b1) tdx_vmm_dispatcher.c
 */
const DYNAMIC_PAMT_KNOWN = [...M15_KNOWN, LEAF.TDH_PHYMEM_PAMT_ADD, LEAF.TDH_PHYMEM_PAMT_REMOVE];
/** Leaves with a version 1 in 1.5.01. @see intel/tdx-module 1.5.01 (72d8cff) tdx_vmm_dispatcher.c */
const M15_VERSIONED: [number, number][] = [
  [LEAF.TDH_MEM_PAGE_PROMOTE, 1],
  [LEAF.TDH_MEM_SEPT_ADD, 1],
  [LEAF.TDH_MEM_SEPT_REMOVE, 1],
  [LEAF.TDH_MNG_RD, 1],
  [LEAF.TDH_VP_RD, 1],
];
/** 1.5.05 adds TDH.VP.INIT version 1 (x2APIC ID in R8). @see intel/tdx-module e98d9639 tdx_vmm_dispatcher.c */
const M1505_VERSIONED: [number, number][] = [...M15_VERSIONED, [LEAF.TDH_VP_INIT, 1]];
const M15_NOT_READY = [
  LEAF.TDH_SYS_INFO,
  LEAF.TDH_SYS_RD,
  LEAF.TDH_SYS_RDALL,
  LEAF.TDH_SYS_INIT,
  LEAF.TDH_SYS_LP_INIT,
  LEAF.TDH_SYS_CONFIG,
  LEAF.TDH_SYS_KEY_CONFIG,
  LEAF.TDH_SYS_LP_SHUTDOWN,
  LEAF.TDH_SYS_UPDATE,
];

/** 1.5.01: the release whose source the module model follows. */
const R_1_5_01: ModuleProfile = {
  name: '1.5.01',
  release: '1.5.01',
  major: 1,
  minor: 5,
  update: 1,
  buildDate: { value: 20231008, source: buildMd('a31dfd40', '1.5.01') },
  buildNum: { value: 595, source: buildMd('a31dfd40', '1.5.01') },
  minUpdateFrom: { value: '1.5.01', source: MAPPING },
  minSeamldr: ['1.5.00'],
  numHandoffPages: { value: 13, source: SIGSTRUCT_HANDOFF('1.5.01') },
  handoffDataSize: { value: HANDOFF_SIZE_HELPERS, source: 'intel/tdx-module 72d8cff helpers.c prepare_handoff_data() and tdx_global_data.h sizes' },
  minHandoffPages: { value: 14, source: 'intel/tdx-module 72d8cff tdx_global_data.h TDX_MIN_HANDOFF_PAGES, tdh_sys_init.c check_module_build_time_defs()' },
  versionField: true,
  versionedLeaves: new Map(M15_VERSIONED),
  notReadyAllowed: new Set(M15_NOT_READY),
  knownLeaves: new Set(M15_KNOWN),
  lpShutdownShutsDown: false,
  sysInfoSysRd: 1,
  extraFields: [],
  fieldsSource: 'intel/tdx-module 72d8cff include/auto_gen/global_sys_fields_lookup.c (65 entries)',
  tdxFeatures0: 0xf0fbfn,
  tdxFeatures0Source: MAPPING,
  tdxFeatures0Known: true,
  maxVcpusPerTd: 0,
  dynamicPamtLeaves: false,
  sysDisable: false,
  unblockTlbOperand: { value: 'SEPT_TREE', source: 'intel/tdx-module 72d8cff (TDX_1.5.01) src/vmm_dispatcher/api_calls/tdh_mem_range_unblock.c' },
  cpuidTable: CPUID_READ('1.5.01', 'intel/tdx-module 72d8cff (TDX_1.5.01) include/auto_gen/', '64 entries'),
  cpuidConfig: CPUID_CONFIG_READ('1.5.01', 'intel/tdx-module 72d8cff (TDX_1.5.01) include/auto_gen/', 12),
  vpInit: VP_INIT_READ('1.5.01', 'intel/tdx-module 72d8cff (TDX_1.5.01)'),
  sysInitMsrChecks: SYS_INIT_MSR_READ('1.5.01', 'intel/tdx-module 72d8cff (TDX_1.5.01) src/common/x86_defs/vmcs_defs.h PROCBASED_CTLS3_INIT 0x80, _VARIABLE 0x20, _L2_INIT 0x80, _L2_VARIABLE 0x2E;'),
  differences: ['no MAX_VCPUS_PER_TD global metadata field (Linux 6.16 and later read it at init and fail)', 'TDH.VP.INIT accepts version 0 only'],
};

/** A 1.5 release from 1.5.05 on: MAX_VCPUS_PER_TD (576) and TDH.VP.INIT v1. */
function r15(update: number, extra: Partial<ModuleProfile>): ModuleProfile {
  const name = `1.5.${String(update).padStart(2, '0')}` as ModuleRelease;
  return {
    ...R_1_5_01,
    name,
    release: name,
    update,
    buildDate: undefined,
    buildNum: undefined,
    numHandoffPages: undefined,
    handoffDataSize: undefined,
    minHandoffPages: undefined,
    minSeamldr: ['1.5.00', '2.0.00'],
    versionedLeaves: new Map(M1505_VERSIONED),
    extraFields: ['MAX_VCPUS_PER_TD', 'MIN_VIRT_MAXPA'],
    fieldsSource: 'not read for this release (no stored source); assumed as 1.5.06 (intel/tdx-module 1e636985, 67 entries)',
    maxVcpusPerTd: 576,
    unblockTlbOperand: UNBLOCK_RCX_15,
    cpuidTable: CPUID_ASSUMED('1.5.06', 'no stored source'),
    cpuidConfig: CPUID_CONFIG_ASSUMED('1.5.06', 'no stored source'),
    vpInit: VP_INIT_ASSUMED('1.5.05', '1.5.06 (intel/tdx-module 1e636985)'),
    sysInitMsrChecks: SYS_INIT_MSR_ASSUMED,
    differences: [],
    ...extra,
  };
}

/** A 2.0 release: the 1.5.05+ interface plus the 2.0 tree's additions. */
function r20(update: number, extra: Partial<ModuleProfile>): ModuleProfile {
  const name = `2.0.${String(update).padStart(2, '0')}` as ModuleRelease;
  return {
    ...r15(update, {}),
    name,
    release: name,
    major: 2,
    minor: 0,
    minSeamldr: ['2.0.00'],
    fieldsSource: 'not read for this release (no stored source); assumed as 1.5.06 (intel/tdx-module 1e636985, 67 entries)',
    unblockTlbOperand: UNBLOCK_RCX_20,
    cpuidConfig: CPUID_CONFIG_ASSUMED('2.0.08', 'no stored source'),
    vpInit: VP_INIT_ASSUMED('2.0.08', '2.0.08 (intel/tdx-module 1666adc4)'),
    differences: [],
    ...extra,
  };
}

const R_1_5_05 = r15(5, {
  buildNum: { value: 698, source: buildMd('e98d9639', '1.5.05') },
  buildDate: { value: 20240129, source: buildMd('e98d9639', '1.5.05') },
  numHandoffPages: { value: 13, source: SIGSTRUCT_HANDOFF('1.5.05') },
  handoffDataSize: { value: HANDOFF_SIZE_HELPERS, source: 'intel/tdx-module e98d9639 helpers.c prepare_handoff_data() and tdx_global_data.h sizes (as 1.5.01)' },
  extraFields: ['MAX_VCPUS_PER_TD'],
  fieldsSource: 'intel/tdx-module e98d9639 include/auto_gen/global_sys_fields_lookup.c (66 entries: + MAX_VCPUS_PER_TD)',
  // The mapping file says 0x61F0FBF; the module source and the binary agree on 0x1F0FBF.
  tdxFeatures0: 0x1f0fbfn,
  tdxFeatures0Source:
    'intel/tdx-module e98d9639 metadata_sys.c (topology_enum added) and the released binary (or rax,0x1F0EBF, bit 8 set at run time); mapping_file.json says 0x61F0FBF, whose bits 25 and 26 this release does not define',
  unblockTlbOperand: UNBLOCK_RCX('intel/tdx-module e98d9639, niooss-ledger/tdx-module f99767b and murrowow/tdx-module 27e77d2 (one source tree, TDX_MODULE_UPDATE_VER 5 in proj_defs.mk)'),
  cpuidTable: CPUID_READ('1.5.05', 'niooss-ledger/tdx-module f99767b and murrowow/tdx-module 27e77d2 (the 1.5.05 tree of intel/tdx-module e98d9639) include/auto_gen/', '68 entries'),
  cpuidConfig: CPUID_CONFIG_READ('1.5.05', 'intel/tdx-module e98d9639 (1.5.05) include/auto_gen/', 18),
  vpInit: VP_INIT_READ('1.5.05', 'intel/tdx-module e98d9639 (1.5.05)'),
  sysInitMsrChecks: SYS_INIT_MSR_READ('1.5.05', 'niooss-ledger/tdx-module f99767b (the 1.5.05 tree of intel/tdx-module e98d9639) src/common/x86_defs/vmcs_defs.h PROCBASED_CTLS3_INIT 0, _VARIABLE 0xA0, _L2_INIT 0, _L2_VARIABLE 0xAE (bit 7 taken out of both before the check);'),
  differences: [
    'MAX_VCPUS_PER_TD global metadata field (576)',
    'TDH.VP.INIT version 1: R8 = x2APIC ID, TDX_X2APIC_ID_NOT_UNIQUE for a duplicate, TDX_OPERAND_INVALID|R8 above 32 bits, TDX_OPERAND_INVALID|RAX for a version above 1 (the leaf checks it)',
    'TDH.SYS.INIT: TDX_INCORRECT_MSR_VALUE|0x1A0 unless IA32_MISC_ENABLE has PERFMON_AVAILABLE (bit 7) set and BTS_UNAVAILABLE (bit 11) clear; IA32_VMX_PROCBASED_CTLS3 bit 7 needed only when the CPU enumerates DDPD',
    'TDX_FEATURES0.TOPOLOGY_ENUM (bit 20), which KVM 6.16 and later require',
    'TDH.MEM.RANGE.UNBLOCK reports TDX_TLB_TRACKING_NOT_DONE with operand RCX (1.5.01: SEPT_TREE)',
    'TDH.SYS.LP.INIT compares 68 CPUID lookup entries (1.5.01: 64; new: leaf 0xB subleaves 0-2, leaf 0x1A)',
    'NUM_CPUID_CONFIG 18 (1.5.01: 12): leaf 0x1F subleaves 0-5 configurable (EAX 0x1F, EBX and ECX 0xFFFF), leaf 0x7 subleaf 1 allows EAX 0x4001D30 and EDX 0x430; TDH.MNG.INIT checks leaf 0x23 after the leaf 0x1F subleaves and names leaf 0x7 subleaf 0 in RCX for HLE != RTM',
  ],
});
const R_1_5_06 = r15(6, {
  buildNum: { value: 744, source: buildMd('1e636985', '1.5.06') },
  buildDate: { value: 20240407, source: buildMd('1e636985', '1.5.06') },
  numHandoffPages: { value: 13, source: SIGSTRUCT_HANDOFF('1.5.06') },
  // helpers.c read at 1e636985; tdx_global_data.h is not stored at that commit (its sizes as at e98d9639).
  handoffDataSize: { value: HANDOFF_SIZE_HELPERS, source: 'intel/tdx-module 1e636985 helpers.c prepare_handoff_data(); struct sizes as at e98d9639' },
  fieldsSource: 'intel/tdx-module 1e636985 include/auto_gen/global_sys_fields_lookup.h (67 entries: + MIN_VIRT_MAXPA)',
  tdxFeatures0: 0x2e1f0fbfn,
  tdxFeatures0Source: `${MAPPING} (the 1e636985 source agrees)`,
  cpuidTable: CPUID_READ('1.5.06', 'intel/tdx-module 1e636985 include/auto_gen/', '73 slots, 69 valid'),
  cpuidConfig: CPUID_CONFIG_READ('1.5.06', 'intel/tdx-module 1e636985 include/auto_gen/', 18),
  vpInit: VP_INIT_READ('1.5.05', 'intel/tdx-module 1e636985 (1.5.06, as 1.5.05)'),
  sysInitMsrChecks: SYS_INIT_MSR_READ('1.5.05', 'intel/tdx-module 1e636985 (1.5.06, as 1.5.05; its vmcs_defs.h CTLS3 masks not read, taken as 1.5.05\'s)'),
  differences: [
    'MIN_VIRT_MAXPA global metadata field',
    'TDH.SYS.LP.INIT\'s CPUID lookup table: 73 slots (69 valid); leaf 0x7 subleaf 0 ECX bit 15 no longer compared; leaf 0x2 added (not compared)',
    'CPUID_CONFIG: leaf 0x7 subleaf 1 allows EAX 0x4881DB0 and EDX 0x20430, leaf 0x80000008 EAX 0xFF is configurable',
  ],
});
const R_1_5_08 = r15(8, { numHandoffPages: { value: 13, source: SIGSTRUCT_HANDOFF('1.5.08') }, buildNum: { value: 784, source: FROM_BINARY('1.5.08') }, buildDate: { value: 20240725, source: FROM_BINARY('1.5.08') }, tdxFeatures0: 0x22e1f0fbfn, tdxFeatures0Source: MAPPING });
const R_1_5_09 = r15(9, { numHandoffPages: { value: 13, source: SIGSTRUCT_HANDOFF('1.5.09') }, buildNum: { value: 813, source: FROM_BINARY('1.5.09') }, buildDate: { value: 20240912, source: FROM_BINARY('1.5.09') }, tdxFeatures0: 0x26f1f0fbfn, tdxFeatures0Source: MAPPING });
const R_1_5_13 = r15(13, { numHandoffPages: { value: 13, source: SIGSTRUCT_HANDOFF('1.5.13') }, buildNum: { value: 864, source: FROM_BINARY('1.5.13') }, buildDate: { value: 20250207, source: FROM_BINARY('1.5.13') }, tdxFeatures0: 0x226f1f0fbfn, tdxFeatures0Source: MAPPING });
const R_1_5_16 = r15(16, { numHandoffPages: { value: 13, source: SIGSTRUCT_HANDOFF('1.5.16') }, buildNum: { value: 869, source: FROM_BINARY('1.5.16') }, buildDate: { value: 20250219, source: FROM_BINARY('1.5.16') }, tdxFeatures0: 0x226f3f0fbfn, tdxFeatures0Source: MAPPING });
const UNKNOWN_FEATURES = (like: string): string => `unknown (not in ${MAPPING}, computed at run time in the source); the model assumes ${like}'s value`;
const R_1_5_28 = r15(28, {
  buildNum: { value: 989, source: buildMd('30d22188', '1.5.28') },
  buildDate: { value: 20251126, source: buildMd('30d22188', '1.5.28') },
  // preserving.c: size = sizeof(td_preserving_hod_t) - the 8-byte header; the struct is packed,
  // 8 + 53386 + dynamic_pamt_enabled (1) + td_build_count (2) + mig_interrupted_count (2) + 3945
  // bytes of padding = 57344 (14 pages, which the file asserts).
  handoffDataSize: { value: 57336, source: 'intel/tdx-module 30d22188 src/common/helpers/preserving.c prepare_handoff_data(), src/common/data_structures/preserving_defs.h td_preserving_hod_t' },
  minUpdateFrom: undefined,
  minSeamldr: [],
  extraFields: ['PAMT_PAGE_BITMAP_ENTRY_BITS', 'MIN_DYNAMIC_PAMT_NUM_HKID_BITS', 'MAX_VCPUS_PER_TD', 'MIN_VIRT_MAXPA', 'MAX_EVENT_FILTERS'],
  fieldsSource: 'intel/tdx-module 30d22188 include/auto_gen_1_5/global_sys_fields_lookup.h (70 entries)',
  tdxFeatures0: R_1_5_16.tdxFeatures0,
  tdxFeatures0Source: UNKNOWN_FEATURES('1.5.16'),
  tdxFeatures0Known: false,
  dynamicPamtLeaves: undefined,
  cpuidTable: CPUID_ASSUMED('1.5.06', 'its cpuid_configurations.c was not read'),
  cpuidConfig: CPUID_CONFIG_ASSUMED('1.5.06', 'its cpuid_configurations.c was not read'),
  differences: ['Dynamic PAMT metadata fields (PAMT_PAGE_BITMAP_ENTRY_BITS, MIN_DYNAMIC_PAMT_NUM_HKID_BITS); built with DYNAMIC_PAMT_SUPPORT', 'MAX_EVENT_FILTERS global metadata field'],
});
const R_1_5_34 = r15(34, {
  buildNum: { value: 1024, source: buildMd('9fd3c8b1', '1.5.34') },
  buildDate: { value: 20260330, source: buildMd('9fd3c8b1', '1.5.34') },
  minUpdateFrom: undefined,
  minSeamldr: [],
  extraFields: [...R_1_5_28.extraFields, 'NUM_MEM_SCAN_CONTROL_PAGES', 'MAX_MEM_SCAN_RANGES', 'NUM_MEM_SCAN_CONTEXTS'],
  fieldsSource: 'intel/tdx-module 9fd3c8b1 include/auto_gen_1_5/global_sys_fields_lookup.c (73 entries)',
  tdxFeatures0: R_1_5_16.tdxFeatures0,
  tdxFeatures0Source: UNKNOWN_FEATURES('1.5.16'),
  tdxFeatures0Known: false,
  dynamicPamtLeaves: true,
  knownLeaves: new Set(DYNAMIC_PAMT_KNOWN),
  unblockTlbOperand: UNBLOCK_RCX('intel/tdx-module 9fd3c8b1'),
  cpuidTable: CPUID_ASSUMED('1.5.06', 'intel/tdx-module 9fd3c8b1 include/auto_gen_1_5/cpuid_configurations_defines.h gives MAX_NUM_CPUID_LOOKUP 79 and MAX_NUM_ORDERED_CPUID_LOOKUP 97; the table was not read'),
  cpuidConfig: CPUID_CONFIG_READ('1.5.34', 'intel/tdx-module 9fd3c8b1 include/auto_gen_1_5/', 28),
  differences: [
    'TDH.PHYMEM.PAMT.ADD/REMOVE (leaves 58, 59) in the dispatcher; TDH.SYS.CONFIG R8 bit 16 enables Dynamic PAMT',
    'version > 0 also for TDH.SYS.INIT, TDH.SYS.CONFIG, TDH.SYS.UPDATE and four export/import leaves (not modelled)',
    'defines TDX_FEATURES0.SYS_DISABLE (bit 53), but has no TDH.SYS.DISABLE leaf',
    'NUM_CPUID_CONFIG 28 (1.5.06: 18): leaf 0x19 and leaf 0x18 subleaves 0-8 configurable as in 2.0.04; leaf 1 allows EDX 0xB8445080, leaf 0x7 subleaf 0 EDX 0x4005411C, subleaf 1 EDX 0x24430; TDH.MNG.INIT\'s check order at this commit not read (assumed the lookup order)',
  ],
});
const R_2_0_02 = r20(2, {
  numHandoffPages: { value: 24, source: SIGSTRUCT_HANDOFF('2.0.02') },
  buildNum: { value: 786, source: buildMd('be443240', '2.0.02') },
  buildDate: { value: 20240814, source: buildMd('be443240', '2.0.02') },
  minUpdateFrom: { value: '2.0.02', source: MAPPING },
  tdxFeatures0: 0x22e1f0fbfn,
  tdxFeatures0Source: MAPPING,
  dynamicPamtLeaves: false,
  unblockTlbOperand: UNBLOCK_RCX('intel/tdx-module be443240'),
  cpuidTable: CPUID_READ('1.5.06', 'intel/tdx-module be443240 include/auto_gen/', "73 slots, 69 valid: leaf, subleaf and VERIFY_SAME as 1.5.06's"),
  cpuidConfig: CPUID_CONFIG_READ('2.0.02', 'intel/tdx-module be443240 include/auto_gen/', 18),
  vpInit: VP_INIT_READ('1.5.05', 'intel/tdx-module be443240 (2.0.02, as 1.5.05)'),
  differences: [
    'the first 2.0 release (TDX Connect interfaces are pre-production)',
    'CPUID_CONFIG (18 entries, as 1.5.06 but): leaf 0x4 subleaves 0-2 configure EDX 0x7 only, leaf 0x7 subleaf 1 allows EAX 0x4A81DB0 and EDX 0x24430',
  ],
});
const R_2_0_04 = r20(4, {
  numHandoffPages: { value: 24, source: SIGSTRUCT_HANDOFF('2.0.04') },
  buildNum: { value: 859, source: buildMd('92f6945d', '2.0.04') },
  buildDate: { value: 20250109, source: buildMd('92f6945d', '2.0.04') },
  minUpdateFrom: { value: '2.0.04', source: MAPPING },
  tdxFeatures0: 0x12af1f0fbfn,
  tdxFeatures0Source: MAPPING,
  // The mapping file gives this release DYNAMIC_PAMT (bit 36), yet its source's dispatcher has no
  // TDH_PHYMEM_PAMT_ADD/REMOVE case (intel/tdx-module 92f6945d tdx_vmm_dispatcher.c: TDH_VP_WR is
  // followed by TDH_SERVTD_BIND): the leaves stay unknown here, as in the source.
  dynamicPamtLeaves: false,
  cpuidTable: CPUID_READ('2.0.08', 'intel/tdx-module 92f6945d include/auto_gen/', "79 entries: leaf, subleaf and VERIFY_SAME as 2.0.08's"),
  cpuidConfig: CPUID_CONFIG_READ('2.0.04', 'intel/tdx-module 92f6945d include/auto_gen/', 28),
  vpInit: VP_INIT_READ('2.0.08', 'intel/tdx-module 92f6945d (2.0.04, as 2.0.08)'),
  differences: [
    'TDX_FEATURES0.DYNAMIC_PAMT (bit 36) per the mapping file, but no TDH.PHYMEM.PAMT.ADD/REMOVE in the source\'s dispatcher (92f6945d)',
    'TDH.SYS.LP.INIT\'s CPUID lookup table: 79 entries (leaf 0x18 subleaves 0-8 and leaf 0x80000002 added, not compared)',
    'TDH.VP.INIT compares IA32_TSC_ADJUST first (2.0.02: last) and gives the VCPU index back on a duplicate x2APIC ID',
    'NUM_CPUID_CONFIG 28 (2.0.02: 18): leaf 0x19 (nothing configurable) and leaf 0x18 subleaves 0-8 (EDX 0x3FFC000 configurable) added; leaf 1 allows EDX 0xB8445080, leaf 0x7 subleaf 0 EDX 0x4005411C',
  ],
});
const R_2_0_05 = r20(5, {
  numHandoffPages: { value: 24, source: SIGSTRUCT_HANDOFF('2.0.05') },
  buildNum: { value: 863, source: FROM_BINARY('2.0.05').replace('/1.5/', '/2.0/') },
  buildDate: { value: 20250123, source: FROM_BINARY('2.0.05').replace('/1.5/', '/2.0/') },
  minUpdateFrom: { value: '2.0.04', source: MAPPING },
  tdxFeatures0: 0x226f3f0fbfn,
  tdxFeatures0Source: `${MAPPING} (identical to 1.5.16's and without bits 31 and 36, which 2.0.04 and 2.0.08 have; not verifiable from the binary)`,
  dynamicPamtLeaves: undefined,
  cpuidTable: CPUID_ASSUMED('2.0.08', 'no stored source', '2.0.04'),
  cpuidConfig: CPUID_CONFIG_ASSUMED('2.0.04', 'no stored source'),
  vpInit: VP_INIT_ASSUMED('2.0.08', '2.0.04 (intel/tdx-module 92f6945d)'),
});
const R_2_0_08 = r20(8, {
  numHandoffPages: { value: 24, source: SIGSTRUCT_HANDOFF('2.0.08') },
  buildNum: { value: 882, source: buildMd('1666adc4', '2.0.08') },
  buildDate: { value: 20250325, source: buildMd('1666adc4', '2.0.08') },
  minUpdateFrom: { value: '2.0.04', source: MAPPING },
  extraFields: ['PAMT_PAGE_BITMAP_ENTRY_BITS', 'MIN_DYNAMIC_PAMT_NUM_HKID_BITS', 'MAX_VCPUS_PER_TD', 'MIN_VIRT_MAXPA', 'MAX_EVENT_FILTERS', 'GUEST_GPA_ATTR_MASK', 'TDX_CONNECT_FEATURES'],
  fieldsSource: 'intel/tdx-module 1666adc4 include/auto_gen_2_0/global_sys_fields_lookup.h (72 entries)',
  tdxFeatures0: 0x32a71f0fbfn,
  tdxFeatures0Source: MAPPING,
  dynamicPamtLeaves: true,
  knownLeaves: new Set(DYNAMIC_PAMT_KNOWN),
  unblockTlbOperand: UNBLOCK_RCX('intel/tdx-module 1666adc4'),
  cpuidTable: CPUID_READ('2.0.08', 'intel/tdx-module 1666adc4 include/auto_gen_2_0/', '79 entries'),
  cpuidConfig: CPUID_CONFIG_READ('2.0.08', 'intel/tdx-module 1666adc4 include/auto_gen_2_0/', 28),
  vpInit: VP_INIT_READ('2.0.08', 'intel/tdx-module 1666adc4 (2.0.08)'),
  sysInitMsrChecks: SYS_INIT_MSR_READ('1.5.05', 'intel/tdx-module 1666adc4 (2.0.08, as 1.5.05; its CTLS3 masks not read, taken as 1.5.05\'s; the Granite Rapids A0 variable-mask change is not modelled)'),
  differences: [
    'TDH.PHYMEM.PAMT.ADD/REMOVE (leaves 58, 59); TDH.SYS.CONFIG R8 bit 16 enables Dynamic PAMT; TDH.MEM.PAGE.DEMOTE takes the new 4 KiB PAMT page pair in R12/R13 and PROMOTE returns it there',
    'version > 0 also for TDH.SYS.INIT and TDH.MEM.SHARED.SEPT.WR (not modelled)',
    'CPUID_CONFIG: leaf 0x7 subleaf 1 allows EAX 0x4A81DBF (2.0.04: 0x4A81DB0)',
  ],
});
const R_2_0_16 = r20(16, {
  buildNum: { value: 994, source: buildMd('6e66b9d2', '2.0.16') },
  buildDate: { value: 20251204, source: buildMd('6e66b9d2', '2.0.16') },
  minUpdateFrom: undefined,
  minSeamldr: [],
  extraFields: R_2_0_08.extraFields,
  fieldsSource: 'not read for this release; assumed as 2.0.08',
  cpuidTable: CPUID_ASSUMED('2.0.08', 'its cpuid_configurations.c was not read'),
  cpuidConfig: CPUID_CONFIG_READ('2.0.08', 'intel/tdx-module 6e66b9d2 (2.0.16: the same 28 entries as 2.0.08) include/auto_gen_2_0/', 28),
  tdxFeatures0: R_2_0_08.tdxFeatures0,
  tdxFeatures0Source: UNKNOWN_FEATURES('2.0.08'),
  tdxFeatures0Known: false,
  dynamicPamtLeaves: undefined,
});
const R_2_0_18 = r20(18, {
  buildNum: { value: 1013, source: buildMd('e69a4391', '2.0.18') },
  buildDate: { value: 20260211, source: buildMd('e69a4391', '2.0.18') },
  minUpdateFrom: undefined,
  minSeamldr: [],
  extraFields: [...R_2_0_08.extraFields, 'NUM_MEM_SCAN_CONTROL_PAGES', 'MAX_MEM_SCAN_RANGES', 'NUM_MEM_SCAN_CONTEXTS'],
  fieldsSource: 'intel/tdx-module e69a4391 (75 field-id defines: 2.0.08 plus three MEM_SCAN fields)',
  unblockTlbOperand: UNBLOCK_RCX('intel/tdx-module e69a4391'),
  cpuidTable: CPUID_ASSUMED('2.0.08', 'its cpuid_configurations.c was not read'),
  cpuidConfig: CPUID_CONFIG_READ('2.0.08', 'intel/tdx-module e69a4391 (2.0.18: the same 28 entries as 2.0.08; this tree adds an ordered_cpuid_lookup[] and TDH.MNG.INIT\'s loop at this commit was not read, so the check order is taken as the lookup order) include/auto_gen_2_0/', 28),
  tdxFeatures0: R_2_0_08.tdxFeatures0,
  tdxFeatures0Source: UNKNOWN_FEATURES('2.0.08'),
  tdxFeatures0Known: false,
  dynamicPamtLeaves: undefined,
});

/**
 * A TDX 1.0 module: TDH.SYS.INFO only, no RAX version field, LP.SHUTDOWN shuts the module down.
 * Which 1.0.x a log shows is never printed, and no source gives a 1.0 build number (real logs show
 * build 457 of 20230206, unattributed), so build number and date are unknown here.
 * @see intel/tdx-module 82d9eb6b (a 1.0-line tree): no TDH_SYS_RD in the dispatcher
 */
const R_1_0: ModuleProfile = {
  ...R_1_5_01,
  numHandoffPages: undefined,
  handoffDataSize: undefined,
  minHandoffPages: undefined,
  name: '1.0',
  release: '1.0',
  minor: 0,
  update: undefined,
  buildDate: undefined,
  buildNum: undefined,
  minUpdateFrom: undefined,
  minSeamldr: [],
  versionField: false,
  versionedLeaves: new Map(),
  notReadyAllowed: new Set([LEAF.TDH_SYS_INFO, LEAF.TDH_SYS_INIT, LEAF.TDH_SYS_LP_INIT, LEAF.TDH_SYS_CONFIG, LEAF.TDH_SYS_KEY_CONFIG, LEAF.TDH_SYS_LP_SHUTDOWN]),
  // 1.0 has no TDH.SYS.RD/RDALL, no runtime update (SYS.SHUTDOWN/UPDATE) and no migration leaves.
  knownLeaves: new Set(Array.from({ length: 46 }, (_, i) => i).filter((l) => l !== LEAF.TDH_SYS_RD && l !== LEAF.TDH_SYS_RDALL)),
  lpShutdownShutsDown: true,
  sysInfoSysRd: 0,
  fieldsSource: 'none: TDX 1.0 has no TDH.SYS.RD (intel/tdx-module 82d9eb6b dispatcher)',
  tdxFeatures0: 0n,
  tdxFeatures0Source: 'none: TDX 1.0 has no TDH.SYS.RD',
  unblockTlbOperand: {
    value: 'SEPT_TREE',
    source: 'niooss-ledger/tdx-module 9359de5 (TDX_1.0_V1.00) and fd485aa (V1.0.3) src/vmm_dispatcher/api_calls/tdh_mem_range_unblock.c: OPERAND_ID_SEPT, 146 (auto_gen/tdx_error_codes_defs.h) as SEPT_TREE in 1.5',
  },
  cpuidTable: { value: '1.5.01', source: 'not transcribed for TDX 1.0; the model uses 1.5.01\'s table' },
  cpuidConfig: { value: '1.5.01', source: 'not read for TDX 1.0; assumed as 1.5.01\'s cpuid_configurable[] (12 entries)' },
  vpInit: { value: '1.5.01', source: 'not read for TDX 1.0; assumed as 1.5.01 (version 0 only: 1.0 has no version field)' },
  sysInitMsrChecks: { value: '1.5.01', source: 'not read for TDX 1.0; assumed as 1.5.01' },
  differences: ['no TDH.SYS.RD/RDALL: kernels from 6.8 on fail at their first metadata read', 'TDH.SYS.LP.SHUTDOWN shuts the module down'],
};

const RELEASES: readonly ModuleProfile[] = [R_1_0, R_1_5_01, R_1_5_05, R_1_5_06, R_1_5_08, R_1_5_09, R_1_5_13, R_1_5_16, R_1_5_28, R_1_5_34, R_2_0_02, R_2_0_04, R_2_0_05, R_2_0_08, R_2_0_16, R_2_0_18];

/**
 * `release+sys-disable`: the release with TDX_FEATURES0.SYS_DISABLE set and TDH.SYS.DISABLE
 * implemented (allowed in every module state, like the other TDH.SYS leaves of a shutdown path).
 */
function withSysDisable(p: ModuleProfile): ModuleProfile {
  return {
    ...p,
    name: `${p.release}${SYS_DISABLE_SUFFIX}` as ModuleProfileName,
    tdxFeatures0: p.tdxFeatures0 | (1n << BigInt(TDX_FEATURES0_BITS.SYS_DISABLE)),
    tdxFeatures0Source: `${p.tdxFeatures0Source}, plus SYS_DISABLE (bit 53) for this variant`,
    knownLeaves: new Set([...p.knownLeaves, LEAF.TDH_SYS_DISABLE]),
    notReadyAllowed: new Set([...p.notReadyAllowed, LEAF.TDH_SYS_DISABLE]),
    sysDisable: true,
    differences: [...p.differences, `variant: TDH.SYS.DISABLE (leaf 69) as the Linux 7.2 patches describe it; no published ${p.release} enumerates it`],
  };
}

/** Frozen (their leaf tables marked read-only), so snapshots share them. */
const PROFILES: ReadonlyMap<string, ModuleProfile> = new Map(
  RELEASES.filter((p) => p.versionField).flatMap((p) => [p, withSysDisable(p)]).concat([R_1_0]).map((p) => [p.name, deepFreeze(readOnlyTables(p))] as const),
);

function readOnlyTables(p: ModuleProfile): ModuleProfile {
  return { ...p, versionedLeaves: shareInSnapshots(new Map(p.versionedLeaves)), notReadyAllowed: shareInSnapshots(new Set(p.notReadyAllowed)), knownLeaves: shareInSnapshots(new Set(p.knownLeaves)) };
}

/** True if `name` is a module profile name (a release or a `+sys-disable` variant); aliases are not. */
export function isModuleProfileName(name: string): name is ModuleProfileName {
  return PROFILES.has(name);
}

/**
 * A release name or an old alias, resolved: the release, and for an alias the one-line notice
 * of what it now means. Undefined for an unknown name.
 */
export function resolveModuleProfile(name: string): { name: ModuleProfileName; notice?: string } | undefined {
  if (isModuleProfileName(name)) {
    return { name };
  }
  const a = Object.hasOwn(MODULE_PROFILE_ALIASES, name) ? MODULE_PROFILE_ALIASES[name] : undefined;
  return a === undefined ? undefined : { name: a.to, notice: a.notice };
}

/** The profile called `name` (a release or an alias). */
export function moduleProfile(name: ModuleProfileName | string): ModuleProfile {
  const r = resolveModuleProfile(name);
  if (r === undefined) {
    throw new Error(`unknown module profile "${name}"`);
  }
  return PROFILES.get(r.name) as ModuleProfile;
}

/** The release as the module prints it: `1.5.06`, or `1.0` for the 1.0 profile. */
export function releaseString(p: ModuleProfile): string {
  return p.update === undefined ? `${p.major}.${p.minor}` : `${p.major}.${p.minor}.${String(p.update).padStart(2, '0')}`;
}

/** True if release `a` is older than release `b` (by major, minor, update). */
export function releaseBefore(a: ModuleProfile, b: ModuleProfile): boolean {
  if (a.major !== b.major) {
    return a.major < b.major;
  }
  if (a.minor !== b.minor) {
    return a.minor < b.minor;
  }
  return (a.update ?? -1) < (b.update ?? -1);
}

/** TDX_FEATURES0 bits set in `b` and not in `a`, and the reverse. */
export function features0Diff(a: ModuleProfile, b: ModuleProfile): { added: number[]; dropped: number[] } {
  const bits = (v: bigint): number[] => Array.from({ length: 64 }, (_, i) => i).filter((i) => ((v >> BigInt(i)) & 1n) === 1n);
  return { added: bits(b.tdxFeatures0 & ~a.tdxFeatures0), dropped: bits(a.tdxFeatures0 & ~b.tdxFeatures0) };
}

/** True if the release enumerates TDX_FEATURES0 bit `bit`. */
export function hasFeature(p: ModuleProfile, bit: number): boolean {
  return ((p.tdxFeatures0 >> BigInt(bit)) & 1n) === 1n;
}

/** What a module version line tells about the release (any field may be missing). */
export interface VersionEvidence {
  readonly major: number;
  readonly minor: number;
  readonly update?: number | undefined;
  readonly buildNum?: number | undefined;
  readonly buildDate?: number | undefined;
}

/** The releases a version line can stand for, and why. */
export interface ReleaseMatch {
  /** Catalogue releases consistent with the line, oldest first (empty: none in the catalogue). */
  readonly candidates: readonly ModuleProfileName[];
  /** The line names exactly one release. */
  readonly exact: boolean;
  /** The release the simulator runs for it (the newest candidate, or the nearest older known release). */
  readonly modelled: ModuleProfileName | undefined;
  /** One sentence: how the candidates were found. */
  readonly why: string;
}

/**
 * Resolve a module version line's numbers to catalogue releases. An update version names one
 * release. Without it, the build number (or date) is placed among the releases whose build is
 * known: builds grow with releases of one major.minor line (698 for 1.5.05 and 744 for 1.5.06),
 * so a build between two known ones can only be a release between them. Any line that matches no
 * catalogue release says so and is modelled by the nearest older release of its line.
 */
export function releasesFor(v: VersionEvidence): ReleaseMatch {
  const line = RELEASES.filter((p) => p.major === v.major && p.minor === v.minor);
  const names = (ps: readonly ModuleProfile[]): ModuleProfileName[] => ps.map((p) => p.name);
  const shown = `${v.major}.${v.minor}${v.update !== undefined ? `.${String(v.update).padStart(2, '0')}` : ''}`;
  if (line.length === 0) {
    const older = RELEASES.filter((p) => p.major < v.major || (p.major === v.major && p.minor < v.minor));
    const near = older[older.length - 1];
    return { candidates: [], exact: false, modelled: near?.name, why: `module ${shown} is not in the catalogue${near !== undefined ? `; modelled by the nearest older release, ${near.name}` : ''}` };
  }
  if (v.update !== undefined && !(v.major === 1 && v.minor === 0)) {
    const hit = line.find((p) => p.update === v.update);
    if (hit !== undefined) {
      return { candidates: [hit.name], exact: true, modelled: hit.name, why: `the line names release ${hit.name}` };
    }
    const older = line.filter((p) => (p.update ?? 0) < (v.update ?? 0));
    const near = older[older.length - 1] ?? line[0];
    return { candidates: [], exact: false, modelled: near?.name, why: `release ${shown} is not in the catalogue; modelled by the nearest older release, ${near?.name ?? 'none'}` };
  }
  if (line.length === 1) {
    const only = line[0] as ModuleProfile;
    return { candidates: [only.name], exact: true, modelled: only.name, why: `the only ${v.major}.${v.minor} profile` };
  }
  for (const [key, what] of [['buildNum', 'build'], ['buildDate', 'build date']] as const) {
    const given = v[key];
    if (given === undefined) {
      continue;
    }
    const same = line.find((p) => p[key]?.value === given);
    if (same !== undefined) {
      return { candidates: [same.name], exact: true, modelled: same.name, why: `${what} ${given} is release ${same.name} (${same[key]?.source ?? ''})` };
    }
    let lo = -1;
    let hi = line.length;
    line.forEach((p, i) => {
      const b = p[key]?.value;
      if (b !== undefined && b < given) {
        lo = i;
      }
      if (b !== undefined && b > given && hi === line.length) {
        hi = i;
      }
    });
    const window = line.slice(lo + 1, hi).filter((p) => p[key] === undefined);
    const below = lo >= 0 ? `after ${(line[lo] as ModuleProfile).name} (${what} ${(line[lo] as ModuleProfile)[key]?.value})` : '';
    const above = hi < line.length ? `before ${(line[hi] as ModuleProfile).name} (${what} ${(line[hi] as ModuleProfile)[key]?.value})` : '';
    const bounds = [below, above].filter((s) => s !== '').join(' and ');
    if (window.length === 0) {
      const near = line[Math.max(0, lo)] as ModuleProfile;
      return { candidates: [], exact: false, modelled: near.name, why: `${what} ${given} falls ${bounds}, where the catalogue has no release (a pre-release or unlisted build); modelled by ${near.name}` };
    }
    const newest = window[window.length - 1] as ModuleProfile;
    return {
      candidates: names(window),
      exact: window.length === 1,
      modelled: newest.name,
      why: `${what} ${given} falls ${bounds}: ${window.length === 1 ? `release ${newest.name}` : `one of ${names(window).join(', ')} (the line cannot tell them apart; modelled by the newest, ${newest.name})`}`,
    };
  }
  const newest = line[line.length - 1] as ModuleProfile;
  return { candidates: names(line), exact: false, modelled: newest.name, why: `a ${v.major}.${v.minor} module without update or build: one of ${names(line).join(', ')} (modelled by the newest, ${newest.name})` };
}

/**
 * A set of releases in words, in catalogue order: runs of consecutive releases collapse
 * ("1.5.05 or later" when the run reaches the newest release, "1.5.05 to 1.5.16" otherwise);
 * other names (the `+sys-disable` variants) follow, in the order given.
 */
export function describeReleases(names: readonly string[]): string {
  const set = new Set(names);
  const runs: string[] = [];
  let start = -1;
  MODULE_PROFILE_NAMES.forEach((n, i) => {
    const inSet = set.has(n);
    if (inSet && start < 0) {
      start = i;
    }
    const last = i === MODULE_PROFILE_NAMES.length - 1;
    if (start >= 0 && (!inSet || last)) {
      const end = inSet ? i : i - 1;
      const a = MODULE_PROFILE_NAMES[start] as string;
      const b = MODULE_PROFILE_NAMES[end] as string;
      runs.push(start === end ? a : end === MODULE_PROFILE_NAMES.length - 1 ? `${a} or later` : `${a} to ${b}`);
      start = -1;
    }
  });
  // Names outside the release list (the +sys-disable variants, anything else) follow as given.
  const other = names.filter((n) => !(MODULE_PROFILE_NAMES as readonly string[]).includes(n));
  return [...runs, ...other].join(', ');
}
