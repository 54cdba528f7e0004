/**
 * The CPUID lookup tables of the TDX module releases as TDH.SYS.LP.INIT uses them: per entry, in
 * table index order, the leaf, the subleaf (0xFFFFFFFF: a leaf without subleaves) and the
 * VERIFY_SAME masks [EAX, EBX, ECX, EDX], the bits every LP must report as TDH.SYS.INIT's LP did.
 * The other columns (verify mask and value, fixed bits, configurability) are not used by the
 * model here. Tables transcribed: 1.5.01, 1.5.05, 1.5.06 and 2.0.08; which one a release uses,
 * and why, is its profile's `cpuidTable`. The tables list valid entries only, in index order
 * (the loop skips invalid slots), so a list position is not always the source's index; the
 * comments give the index.
 * @see intel/tdx-module 1.5.01 (72d8cff) include/auto_gen/cpuid_configurations.c cpuid_lookup[]
 *   (MAX_NUM_CPUID_LOOKUP 64, cpuid_configurations_defines.h)
 * @see niooss-ledger/tdx-module f99767b (TDX 1.5.05) include/auto_gen/cpuid_configurations.c
 *   cpuid_lookup[] (MAX_NUM_CPUID_LOOKUP 68); murrowow/tdx-module 27e77d2 has the same file
 * @see intel/tdx-module 1.5.06 (1e636985) include/auto_gen/cpuid_configurations.c cpuid_lookup[]
 *   (MAX_NUM_CPUID_LOOKUP 73); tdh_sys_lp_init.c compare_cpuid_configuration() skips entries
 *   whose valid_entry is false. 2.0.02 (be443240) has the same leaves, subleaves and VERIFY_SAME bits
 */

import type { CpuidTableRelease, ModuleProfile } from './profiles.js';

/** One lookup entry: leaf, subleaf, VERIFY_SAME [EAX, EBX, ECX, EDX]. */
export type CpuidLookupEntry = readonly [leaf: number, subleaf: number, verifySame: readonly [number, number, number, number]];

/** cpuid_lookup[] of 1.5.01, index 0 first. */
export const CPUID_LOOKUP_1_5_01: readonly CpuidLookupEntry[] = [
  [0x1, 0xffffffff, [0xf000c000, 0xffff, 0xf7ffff9f, 0xffffffff]], // 0
  [0x4, 0x0, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 1
  [0x4, 0x1, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 2
  [0x4, 0x2, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 3
  [0x4, 0x3, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 4
  [0x7, 0x0, [0xffffffff, 0xfffffffb, 0xbfc1ff6f, 0xffebffff]], // 5
  [0x7, 0x1, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 6
  [0xa, 0xffffffff, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 7
  [0x1c, 0xffffffff, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 8
  [0x80000008, 0xffffffff, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 9
  [0x0, 0xffffffff, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 10
  [0x3, 0xffffffff, [0, 0, 0, 0]], // 11
  [0x4, 0x4, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 12
  [0x6, 0xffffffff, [0x800000, 0, 0, 0]], // 13
  [0x7, 0x2, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 14
  [0x8, 0xffffffff, [0, 0, 0, 0]], // 15
  [0xd, 0x0, [0xffffffff, 0, 0xffffffff, 0xffffffff]], // 16
  [0xd, 0x1, [0xffffffff, 0, 0xffffffff, 0xffffffff]], // 17
  [0xd, 0x2, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 18
  [0xd, 0x3, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 19
  [0xd, 0x4, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 20
  [0xd, 0x5, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 21
  [0xd, 0x6, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 22
  [0xd, 0x7, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 23
  [0xd, 0x8, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 24
  [0xd, 0x9, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 25
  [0xd, 0xa, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 26
  [0xd, 0xb, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 27
  [0xd, 0xc, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 28
  [0xd, 0xd, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 29
  [0xd, 0xe, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 30
  [0xd, 0xf, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 31
  [0xd, 0x10, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 32
  [0xd, 0x11, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 33
  [0xd, 0x12, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 34
  [0xe, 0xffffffff, [0, 0, 0, 0]], // 35
  [0x11, 0xffffffff, [0, 0, 0, 0]], // 36
  [0x12, 0xffffffff, [0, 0, 0, 0]], // 37
  [0x13, 0xffffffff, [0, 0, 0, 0]], // 38
  [0x14, 0x0, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 39
  [0x14, 0x1, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 40
  [0x15, 0xffffffff, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 41
  [0x19, 0xffffffff, [0xffffffff, 0xfffffffe, 0xffffffff, 0xffffffff]], // 42
  [0x1d, 0x0, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 43
  [0x1d, 0x1, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 44
  [0x1e, 0xffffffff, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 45
  [0x1f, 0x0, [0xffffffff, 0xffffffff, 0xffffffff, 0]], // 46
  [0x1f, 0x1, [0xffffffff, 0xffffffff, 0xffffffff, 0]], // 47
  [0x1f, 0x2, [0xffffffff, 0xffffffff, 0xffffffff, 0]], // 48
  [0x1f, 0x3, [0xffffffff, 0xffffffff, 0xffffffff, 0]], // 49
  [0x1f, 0x4, [0xffffffff, 0xffffffff, 0xffffffff, 0]], // 50
  [0x1f, 0x5, [0xffffffff, 0xffffffff, 0xffffffff, 0]], // 51
  [0x20, 0xffffffff, [0, 0, 0, 0]], // 52
  [0x21, 0x0, [0, 0, 0, 0]], // 53
  [0x80000000, 0xffffffff, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 54
  [0x80000001, 0xffffffff, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 55
  [0x80000006, 0xffffffff, [0, 0, 0xff, 0]], // 56
  [0x80000007, 0xffffffff, [0, 0, 0, 0x100]], // 57
  [0x22, 0xffffffff, [0, 0, 0, 0]], // 58
  [0x23, 0x0, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 59
  [0x23, 0x1, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 60
  [0x23, 0x2, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 61
  [0x23, 0x3, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 62
  [0x5, 0xffffffff, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 63
];

/**
 * cpuid_lookup[] of 1.5.05: entries 0-63 as in 1.5.01 (same leaf, subleaf and VERIFY_SAME), then
 * leaf 0xB subleaves 0-2 without VERIFY_SAME bits (compared with nothing) and leaf 0x1A with every
 * bit VERIFY_SAME.
 */
export const CPUID_LOOKUP_1_5_05: readonly CpuidLookupEntry[] = [
  ...CPUID_LOOKUP_1_5_01,
  [0xb, 0x0, [0, 0, 0, 0]], // 64
  [0xb, 0x1, [0, 0, 0, 0]], // 65
  [0xb, 0x2, [0, 0, 0, 0]], // 66
  [0x1a, 0xffffffff, [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]], // 67
];

/**
 * cpuid_lookup[] of 1.5.06 (73 slots, 69 valid): 1.5.05's entries with leaf 7 subleaf 0's ECX
 * VERIFY_SAME bit 15 cleared (0xBFC17F6F), slots 68-71 not valid (the loop skips them), and leaf
 * 0x2 at 72 without VERIFY_SAME bits. Listed in index order without the invalid slots.
 */
export const CPUID_LOOKUP_1_5_06: readonly CpuidLookupEntry[] = [
  ...CPUID_LOOKUP_1_5_05.slice(0, 5),
  [0x7, 0x0, [0xffffffff, 0xfffffffb, 0xbfc17f6f, 0xffebffff]], // 5
  ...CPUID_LOOKUP_1_5_05.slice(6),
  [0x2, 0xffffffff, [0, 0, 0, 0]], // 72
];

/** Leaf 0x18 subleaf `sl`, without VERIFY_SAME bits (2.0.08). */
const leaf18 = (sl: number): CpuidLookupEntry => [0x18, sl, [0, 0, 0, 0]];

/**
 * cpuid_lookup[] of 2.0.08 (79 entries): 1.5.06's 0-67 and 72 with the same VERIFY_SAME bits,
 * plus leaf 0x18 subleaves 0-8 (68-71, 73-77) and leaf 0x80000002 (78), none with VERIFY_SAME
 * bits. Its LP.INIT loop also skips leaf 0x6 on Granite Rapids A0 stepping (not modelled: the
 * platform has no stepping).
 * @see intel/tdx-module 2.0.08 (1666adc4) include/auto_gen_2_0/cpuid_configurations.c cpuid_lookup[],
 *   cpuid_configurations_defines.h (MAX_NUM_CPUID_LOOKUP 79), tdh_sys_lp_init.c compare_cpuid_configuration()
 * @see intel/tdx-module 2.0.04 (92f6945d) include/auto_gen/cpuid_configurations.c: the same leaves,
 *   subleaves and VERIFY_SAME bits
 */
export const CPUID_LOOKUP_2_0_08: readonly CpuidLookupEntry[] = [
  ...CPUID_LOOKUP_1_5_06.slice(0, 68),
  leaf18(0), // 68
  leaf18(1), // 69
  leaf18(2), // 70
  leaf18(3), // 71
  [0x2, 0xffffffff, [0, 0, 0, 0]], // 72
  leaf18(4), // 73
  leaf18(5), // 74
  leaf18(6), // 75
  leaf18(7), // 76
  leaf18(8), // 77
  [0x80000002, 0xffffffff, [0, 0, 0, 0]], // 78
];

const TABLES: Readonly<Record<CpuidTableRelease, readonly CpuidLookupEntry[]>> = {
  '1.5.01': CPUID_LOOKUP_1_5_01,
  '1.5.05': CPUID_LOOKUP_1_5_05,
  '1.5.06': CPUID_LOOKUP_1_5_06,
  '2.0.08': CPUID_LOOKUP_2_0_08,
};

/**
 * CPUID_GET_TOPOLOGY_LEAF (0x1F): at its subleaf 0, LP.INIT's CPUID loop derives the LP's package
 * and fails TDX_INVALID_PKG_ID for a package at or above MAX_PKGS, before the entries after it.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/common/x86_defs/x86_defs.h, tdh_sys_lp_init.c
 *   compare_cpuid_configuration()
 */
export const CPUID_TOPOLOGY_LEAF = 0x1f;

/**
 * The lookup table SYS.INIT latches and LP.INIT compares with: the release's own where it was
 * transcribed, else the nearest older one (the profile's `cpuidTable` says which and why;
 * docs/module.md lists them).
 */
export function cpuidLookup(profile: ModuleProfile): readonly CpuidLookupEntry[] {
  return TABLES[profile.cpuidTable.value];
}
