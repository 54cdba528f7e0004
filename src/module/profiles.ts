/**
 * Module profiles: the differences between TDX module versions, as data. `tdx-1.5` (1.5.01, the
 * only version with source available) is the default; `tdx-1.0` and `tdx-1.5-late` differ only
 * where the spec says they do.
 * @see TDX module ABI sections 0, 1.2, 3.3, 3.9, 5.6, 11
 */
import { deepFreeze, shareInSnapshots } from '../base/clone.js';
import { LEAF } from './leafNumbers.js';

/** Names of the module profiles. */
export const MODULE_PROFILE_NAMES = ['tdx-1.0', 'tdx-1.5', 'tdx-1.5-late'] as const;
/** A module profile name. */
export type ModuleProfileName = (typeof MODULE_PROFILE_NAMES)[number];
/** The profile used when neither the platform nor the caller names one. */
export const DEFAULT_MODULE_PROFILE: ModuleProfileName = 'tdx-1.5';

/** What distinguishes one module version from another. */
export interface ModuleProfile {
  readonly name: ModuleProfileName;
  readonly major: number;
  readonly minor: number;
  readonly update: number;
  /**
   * Build date as the decimal number YYYYMMDD (the module's TDX_MODULE_BUILD_DATE is
   * `date +%Y%m%d`; real logs print `build_date 20240129`).
   * @see intel/tdx-module (tdx_1.5) Makefile TDX_MODULE_BUILD_DATE; canonical/tdx issue #135
   */
  readonly buildDate: number;
  readonly buildNum: number;
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
  /** Names of the global metadata fields this version has (TDH.SYS.RD), in table order. */
  readonly extraFields: readonly string[];
  readonly tdxFeatures0: bigint;
  /** MAX_VCPUS_PER_TD default (profiles that have the field). */
  readonly maxVcpusPerTd: number;
}

const M15_KNOWN = [
  ...Array.from({ length: 46 }, (_, i) => i),
  LEAF.TDH_SERVTD_BIND,
  LEAF.TDH_SERVTD_PREBIND,
  LEAF.TDH_SYS_SHUTDOWN,
  LEAF.TDH_SYS_UPDATE,
  ...Array.from({ length: 33 }, (_, i) => 64 + i),
];
const M15_VERSIONED: [number, number][] = [
  [LEAF.TDH_MEM_PAGE_PROMOTE, 1],
  [LEAF.TDH_MEM_SEPT_ADD, 1],
  [LEAF.TDH_MEM_SEPT_REMOVE, 1],
  [LEAF.TDH_MNG_RD, 1],
  [LEAF.TDH_VP_RD, 1],
];
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

const TDX_15: ModuleProfile = {
  name: 'tdx-1.5',
  major: 1,
  minor: 5,
  update: 1,
  buildDate: 20230323,
  buildNum: 0x2a0,
  versionField: true,
  versionedLeaves: new Map(M15_VERSIONED),
  notReadyAllowed: new Set(M15_NOT_READY),
  knownLeaves: new Set(M15_KNOWN),
  lpShutdownShutsDown: false,
  sysInfoSysRd: 1,
  extraFields: [],
  tdxFeatures0: 0xf0ebfn,
  maxVcpusPerTd: 0,
};

const TDX_15_LATE: ModuleProfile = {
  ...TDX_15,
  name: 'tdx-1.5-late',
  update: 6,
  buildDate: 20240925,
  buildNum: 0x300,
  versionedLeaves: new Map([...M15_VERSIONED, [LEAF.TDH_VP_INIT, 1]]),
  extraFields: ['MAX_VCPUS_PER_TD'],
  maxVcpusPerTd: 576,
};

const TDX_10: ModuleProfile = {
  ...TDX_15,
  name: 'tdx-1.0',
  minor: 0,
  update: 3,
  buildDate: 20220214,
  buildNum: 0x1b0,
  versionField: false,
  versionedLeaves: new Map(),
  notReadyAllowed: new Set([LEAF.TDH_SYS_INFO, LEAF.TDH_SYS_INIT, LEAF.TDH_SYS_LP_INIT, LEAF.TDH_SYS_CONFIG, LEAF.TDH_SYS_KEY_CONFIG, LEAF.TDH_SYS_LP_SHUTDOWN]),
  // 1.0 has no TDH.SYS.RD/RDALL, no runtime update (SYS.SHUTDOWN/UPDATE) and no migration leaves.
  knownLeaves: new Set(Array.from({ length: 46 }, (_, i) => i).filter((l) => l !== LEAF.TDH_SYS_RD && l !== LEAF.TDH_SYS_RDALL)),
  lpShutdownShutsDown: true,
  sysInfoSysRd: 0,
  tdxFeatures0: 0n,
};

/** Frozen (their leaf tables marked read-only), so snapshots share them. */
const PROFILES: Record<ModuleProfileName, ModuleProfile> = deepFreeze({
  'tdx-1.0': readOnlyTables(TDX_10),
  'tdx-1.5': readOnlyTables(TDX_15),
  'tdx-1.5-late': readOnlyTables(TDX_15_LATE),
});

function readOnlyTables(p: ModuleProfile): ModuleProfile {
  return { ...p, versionedLeaves: shareInSnapshots(new Map(p.versionedLeaves)), notReadyAllowed: shareInSnapshots(new Set(p.notReadyAllowed)), knownLeaves: shareInSnapshots(new Set(p.knownLeaves)) };
}

/** True if `name` is a module profile name. */
export function isModuleProfileName(name: string): name is ModuleProfileName {
  return (MODULE_PROFILE_NAMES as readonly string[]).includes(name);
}

/** The profile called `name`. */
export function moduleProfile(name: ModuleProfileName): ModuleProfile {
  return PROFILES[name];
}
