/**
 * The configurable CPUID leaves of the TDX module releases (`cpuid_configurable[]`): per entry,
 * in CPUID_CONFIG index order (the order of TD_PARAMS.CPUID_CONFIG and of the CPUID_CONFIG_LEAVES /
 * CPUID_CONFIG_VALUES metadata fields), the leaf, the subleaf (-1: 0xFFFFFFFF, a leaf without
 * subleaves), the CONFIG_DIRECT and ALLOW_DIRECT masks [EAX, EBX, ECX, EDX] and the entry's index
 * in the release's `cpuid_lookup[]` (`lookupIndex`). TDH.MNG.INIT's loop walks `cpuid_lookup[]` in
 * its index order and checks an entry's CPUID_CONFIG values when it reaches the lookup entry, so
 * it checks the configurable entries in `lookupIndex` order, which is not the config index order
 * from 1.5.05 on (1.5.05: leaf 0x23 at config index 11 sits at lookup index 59, after leaf 0x1F's
 * six subleaves at config indices 12-17, lookup 46-51).
 *
 * Tables transcribed: 1.5.01, 1.5.05, 1.5.06, 1.5.34, 2.0.02, 2.0.04 and 2.0.08; which one a release uses,
 * and why, is its profile's `cpuidConfig`.
 * @see intel/tdx-module 1.5.01 (72d8cff) include/auto_gen/cpuid_configurations.c cpuid_configurable[]
 *   (MAX_NUM_CPUID_CONFIG 12, cpuid_configurations_defines.h)
 * @see intel/tdx-module 1.5.05 (e98d9639) include/auto_gen/cpuid_configurations.c (18 entries)
 * @see intel/tdx-module 1.5.06 (1e636985) include/auto_gen/cpuid_configurations.c (18 entries)
 * @see intel/tdx-module 1.5.34 (9fd3c8b1) include/auto_gen_1_5/cpuid_configurations.c (28 entries)
 * @see intel/tdx-module 2.0.02 (be443240) include/auto_gen/cpuid_configurations.c (18 entries)
 * @see intel/tdx-module 2.0.04 (92f6945d) include/auto_gen/cpuid_configurations.c (28 entries)
 * @see intel/tdx-module 2.0.08 (1666adc4) include/auto_gen_2_0/cpuid_configurations.c (28 entries);
 *   2.0.16 (6e66b9d2) and 2.0.18 (e69a4391) have the same 28 entries
 * @see intel/tdx-module 1.5.05 (e98d9639) and 2.0.08 (1666adc4)
 *   src/vmm_dispatcher/api_calls/tdh_mng_init.c read_and_set_cpuid_configurations()
 */
import type { CpuidConfigRelease, ModuleProfile } from './profiles.js';

/** One configurable CPUID leaf: CONFIG_DIRECT and ALLOW_DIRECT masks as [EAX, EBX, ECX, EDX]. */
export interface CpuidConfigurable {
  readonly leaf: number;
  /** Subleaf, or -1 (0xFFFFFFFF: the leaf has no subleaves). */
  readonly subleaf: number;
  readonly configDirect: readonly [number, number, number, number];
  readonly allowDirect: readonly [number, number, number, number];
  /** The entry's index in the release's cpuid_lookup[] (TDH.MNG.INIT checks in this order). */
  readonly lookupIndex: number;
}

type Regs = readonly [number, number, number, number];
const NONE: Regs = [0, 0, 0, 0];
const e = (leaf: number, subleaf: number, configDirect: Regs, allowDirect: Regs, lookupIndex: number): CpuidConfigurable => ({ leaf, subleaf, configDirect, allowDirect, lookupIndex });

/** Leaf 0x4 subleaves 0-3 with their CONFIG_DIRECT EDX (1.5: 0xFFFFFFFB for 0-2 and 0x7 for 3; 2.0: 0x7 for all four). */
const leaf4 = (edx012: number): CpuidConfigurable[] =>
  [0, 1, 2, 3].map((s) => e(0x4, s, [0xffffc3ff, 0xfffff000, 0xffffffff, s === 3 ? 0x7 : edx012], NONE, 1 + s));
/** Leaf 0x1F subleaves 0-5 (config indices 12-17, lookup 46-51) from 1.5.05 on. */
const LEAF_1F: readonly CpuidConfigurable[] = [0, 1, 2, 3, 4, 5].map((s) => e(0x1f, s, [0x1f, 0xffff, 0xffff, 0], NONE, 46 + s));
/** Leaf 0x18 subleaves 0-8 (config indices 19-27) in 2.0.04 and 2.0.08; lookup index 72 is not one of them. */
const LEAF_18: readonly CpuidConfigurable[] = [68, 69, 70, 71, 73, 74, 75, 76, 77].map((l, s) => e(0x18, s, [0, 0, 0, 0x3ffc000], NONE, l));

/** cpuid_configurable[] of 1.5.01 (12 entries), config index 0 first. */
export const CPUID_CONFIGURABLE_1_5_01: readonly CpuidConfigurable[] = [
  e(0x1, -1, [0x0fff3fff, 0x00ff0000, 0, 0], [0, 0, 0x31044d88, 0xb8440000], 0),
  ...leaf4(0xfffffffb),
  e(0x7, 0, NONE, [0, 0xdc2b9b18, 0x02417f65, 0x0005411c], 5),
  e(0x7, 1, NONE, [0x1d30, 0, 0, 0], 6),
  e(0xa, -1, NONE, NONE, 7),
  e(0x1c, -1, NONE, [0xff, 0, 0, 0], 8),
  e(0x80000008, -1, NONE, [0, 0x200, 0, 0], 9),
  e(0x7, 2, NONE, [0, 0, 0, 0x28], 14),
  e(0x23, 0, NONE, [0xf, 0, 0, 0], 59),
];

/** 1.5.05 (18 entries): 1.5.01's, leaf 7.1 ALLOW_DIRECT EAX 0x4001D30 and EDX 0x430, plus leaf 0x1F subleaves 0-5. */
export const CPUID_CONFIGURABLE_1_5_05: readonly CpuidConfigurable[] = [
  ...CPUID_CONFIGURABLE_1_5_01.slice(0, 6),
  e(0x7, 1, NONE, [0x4001d30, 0, 0, 0x430], 6),
  ...CPUID_CONFIGURABLE_1_5_01.slice(7, 12),
  ...LEAF_1F,
];

/** 1.5.06 (18 entries): 1.5.05's, leaf 7.1 ALLOW_DIRECT EAX 0x4881DB0 and EDX 0x20430, leaf 0x80000008 CONFIG_DIRECT EAX 0xFF. */
export const CPUID_CONFIGURABLE_1_5_06: readonly CpuidConfigurable[] = CPUID_CONFIGURABLE_1_5_05.map((x, i) =>
  i === 6 ? e(0x7, 1, NONE, [0x4881db0, 0, 0, 0x20430], 6) : i === 9 ? e(0x80000008, -1, [0xff, 0, 0, 0], [0, 0x200, 0, 0], 9) : x,
);

/** 2.0.02 (18 entries): 1.5.06's, leaf 0x4 CONFIG_DIRECT EDX 0x7 in subleaves 0-2 too, leaf 7.1 ALLOW_DIRECT EAX 0x4A81DB0 and EDX 0x24430. */
export const CPUID_CONFIGURABLE_2_0_02: readonly CpuidConfigurable[] = [
  CPUID_CONFIGURABLE_1_5_06[0] as CpuidConfigurable,
  ...leaf4(0x7),
  CPUID_CONFIGURABLE_1_5_06[5] as CpuidConfigurable,
  e(0x7, 1, NONE, [0x4a81db0, 0, 0, 0x24430], 6),
  ...CPUID_CONFIGURABLE_1_5_06.slice(7),
];

/**
 * 2.0.04 (28 entries): 2.0.02's, leaf 1 ALLOW_DIRECT EDX 0xB8445080, leaf 7.0 ALLOW_DIRECT EDX
 * 0x4005411C, plus leaf 0x19 (config index 18, no configurable bits) and leaf 0x18 subleaves 0-8.
 */
export const CPUID_CONFIGURABLE_2_0_04: readonly CpuidConfigurable[] = [
  e(0x1, -1, [0x0fff3fff, 0x00ff0000, 0, 0], [0, 0, 0x31044d88, 0xb8445080], 0),
  ...CPUID_CONFIGURABLE_2_0_02.slice(1, 5),
  e(0x7, 0, NONE, [0, 0xdc2b9b18, 0x02417f65, 0x4005411c], 5),
  ...CPUID_CONFIGURABLE_2_0_02.slice(6),
  e(0x19, -1, NONE, NONE, 42),
  ...LEAF_18,
];

/**
 * 1.5.34 (28 entries): 2.0.04's leaves, masks and lookup indices with leaf 7.1 ALLOW_DIRECT EAX
 * 0x4881DB0 (1.5.06's) and EDX 0x24430. This tree also has an ordered_cpuid_lookup[]; its
 * tdh_mng_init.c is not stored, so the check order is taken as the lookup order of every tree read.
 * @see intel/tdx-module 1.5.34 (9fd3c8b1) include/auto_gen_1_5/cpuid_configurations.c
 */
export const CPUID_CONFIGURABLE_1_5_34: readonly CpuidConfigurable[] = CPUID_CONFIGURABLE_2_0_04.map((x, i) => (i === 6 ? e(0x7, 1, NONE, [0x4881db0, 0, 0, 0x24430], 6) : x));

/** 2.0.08 (28 entries): 2.0.04's with leaf 7.1 ALLOW_DIRECT EAX 0x4A81DBF. */
export const CPUID_CONFIGURABLE_2_0_08: readonly CpuidConfigurable[] = CPUID_CONFIGURABLE_2_0_04.map((x, i) => (i === 6 ? e(0x7, 1, NONE, [0x4a81dbf, 0, 0, 0x24430], 6) : x));

const TABLES: Record<CpuidConfigRelease, readonly CpuidConfigurable[]> = {
  '1.5.01': CPUID_CONFIGURABLE_1_5_01,
  '1.5.05': CPUID_CONFIGURABLE_1_5_05,
  '1.5.06': CPUID_CONFIGURABLE_1_5_06,
  '1.5.34': CPUID_CONFIGURABLE_1_5_34,
  '2.0.02': CPUID_CONFIGURABLE_2_0_02,
  '2.0.04': CPUID_CONFIGURABLE_2_0_04,
  '2.0.08': CPUID_CONFIGURABLE_2_0_08,
};

/**
 * The configurable CPUID leaves of a release in config index order: its own table where it was
 * transcribed, else the nearest older one (the profile's `cpuidConfig` says which and why).
 */
export function cpuidConfigurable(profile: ModuleProfile): readonly CpuidConfigurable[] {
  return TABLES[profile.cpuidConfig.value];
}

/** The config indices of a table in the order TDH.MNG.INIT checks them (increasing lookup index). */
export function cpuidConfigCheckOrder(table: readonly CpuidConfigurable[]): number[] {
  return table.map((_, i) => i).sort((a, b) => (table[a] as CpuidConfigurable).lookupIndex - (table[b] as CpuidConfigurable).lookupIndex);
}

/** `leaf | subleaf << 32` as cpuid_config_leaf_subleaf_t packs it; all ones past the table's end. */
export function cpuidLeafSubleaf(table: readonly CpuidConfigurable[], i: number): bigint {
  const l = table[i];
  return l === undefined ? (1n << 64n) - 1n : BigInt(l.leaf >>> 0) | (BigInt(l.subleaf >>> 0) << 32n);
}

const pack = (lo: number, hi: number): bigint => BigInt(lo >>> 0) | (BigInt(hi >>> 0) << 32n);

/**
 * CPUID_CONFIG value `half` (0: EAX/EBX, 1: ECX/EDX) of configurable leaf i (0 past the table's
 * end). `withAllowed` adds ALLOW_DIRECT & native CPUID: the platform model has no CPUID values, so
 * the native CPU is taken to support every ALLOW_DIRECT bit (an assumption of the model).
 * 1.5.01's TDH.SYS.RD reports CONFIG_DIRECT only (metadata_sys.c: `config_direct.low`); its
 * TDH.SYS.INFO and 1.5.05's TDH.SYS.RD report CONFIG_DIRECT | (ALLOW_DIRECT & native).
 * @see intel/tdx-module 1.5.01 metadata_sys.c, tdh_sys_info.c; 1.5.05 (e98d9639) metadata_sys.c
 */
export function cpuidConfigValue(table: readonly CpuidConfigurable[], i: number, half: 0 | 1, withAllowed: boolean): bigint {
  const l = table[i];
  if (l === undefined) {
    return 0n;
  }
  const cd = half === 0 ? pack(l.configDirect[0], l.configDirect[1]) : pack(l.configDirect[2], l.configDirect[3]);
  const ad = half === 0 ? pack(l.allowDirect[0], l.allowDirect[1]) : pack(l.allowDirect[2], l.allowDirect[3]);
  return withAllowed ? cd | ad : cd;
}
