/**
 * TDH.MNG.INIT's TD_PARAMS checks in the source's order (module audit rows 5-8): the reserved
 * ranges at their four points, ATTRIBUTES (verify_td_attributes), XFAM (check_xfam), CPUID_CONFIG
 * against CONFIG_DIRECT | ALLOW_DIRECT with RCX naming the leaf, and IA32_ARCH_CAPABILITIES_CONFIG
 * (init_virt_ia32_arch_capabilities). Each case carries two errors at once; the first in the
 * source's order wins. In-process (createModuleMachine) on the `ref` preset.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/api_calls/tdh_mng_init.c,
 *   src/common/helpers/helpers.c, src/common/helpers/virt_msr_helpers.c
 */
import { beforeAll, describe, expect, it } from 'vitest';

import type { ModuleMachine } from '../../../src/machine/moduleMachine.js';
import { seamcallRegs as call } from '../../__test-helpers__/moduleMachine.js';
import { mngInitEdited, readyForMngInit } from './cfgA.js';

const TDR = 0x40000000n;
const PARAMS = 0x10004000;

const OPERAND_INVALID = 0xc000010000000000n;
const RDX = OPERAND_INVALID | 2n;
const ATTRIBUTES = OPERAND_INVALID | 0x40n;
const XFAM = OPERAND_INVALID | 0x41n;
const EXEC_CONTROLS = OPERAND_INVALID | 0x42n;
const MAX_VCPUS = OPERAND_INVALID | 0x44n;
const CPUID_CONFIG = OPERAND_INVALID | 0x45n;
const TSC_FREQUENCY = OPERAND_INVALID | 0x46n;
const ARCH_CAP_CONFIG = OPERAND_INVALID | 0x48n;

/** A module ready for TDH.MNG.INIT on 1.5.01 (cfgA.ts readyForMngInit()). */
function ready(): ModuleMachine {
  return readyForMngInit('1.5.01', TDR);
}

type Edit = (dv: DataView) => void;
const u8 =
  (off: number, v: number): Edit =>
  (dv) => dv.setUint8(off, v);
const u32 =
  (off: number, v: number): Edit =>
  (dv) => dv.setUint32(off, v, true);
const u64 =
  (off: number, v: bigint): Edit =>
  (dv) => dv.setBigUint64(off, v, true);
/** CPUID_CONFIG entry i, register j (EAX..EDX). */
const cpuid = (i: number, j: number, v: number): Edit => u32(256 + 16 * i + 4 * j, v);

let m: ModuleMachine;
let fms = 0;
beforeAll(() => {
  m = ready();
  fms = Number(call(m, 0, { rax: 34n, rdx: 0x0000000200000001n }).r8);
});

/** TDH.MNG.INIT with tdParams() edited; returns [status, RCX]. The TD stays uninitialized on error. */
function init(...edits: Edit[]): [bigint, bigint] {
  return mngInitEdited(m, TDR, PARAMS, ...edits);
}

describe('TDH.MNG.INIT TD_PARAMS check order (audit rows 5-8)', () => {
  it('ATTRIBUTES: a migratable TD may not be DEBUG or PERFMON; ATTRIBUTES is checked before XFAM', () => {
    const MIGRATABLE = 1n << 29n;
    expect(init(u64(0, MIGRATABLE | 1n), u64(8, 0x1n))).toEqual([ATTRIBUTES, 0n]);
    expect(init(u64(0, MIGRATABLE | (1n << 63n)))).toEqual([ATTRIBUTES, 0n]);
    // DEBUG or PERFMON alone is fine as far as ATTRIBUTES goes: the next error (XFAM) shows.
    expect(init(u64(0, 1n | (1n << 63n)), u64(8, 0x1n))).toEqual([XFAM, 0n]);
  });
  it('XFAM: AVX-512 needs AVX and all three bits, CET U = S, AMX TILECFG = TILEDATA; XFAM before MAX_VCPUS', () => {
    const maxVcpus0: Edit = (dv) => dv.setUint16(16, 0, true);
    expect(init(u64(8, 0x3n | 0xe0n), maxVcpus0)).toEqual([XFAM, 0n]); // kmask without AVX
    expect(init(u64(8, 0x7n | 0x60n), maxVcpus0)).toEqual([XFAM, 0n]); // kmask without Hi16_ZMM
    expect(init(u64(8, 0x3n | (1n << 11n)), maxVcpus0)).toEqual([XFAM, 0n]); // CET_U without CET_S
    expect(init(u64(8, 0x3n | (1n << 17n)), maxVcpus0)).toEqual([XFAM, 0n]); // XTILECFG without XTILEDATA
    expect(init(u64(8, 0x7n | 0xe0n | (3n << 11n) | (3n << 17n)), maxVcpus0)).toEqual([MAX_VCPUS, 0n]);
  });
  it('reserved_0 (bytes 20-23) is checked before CONFIG_FLAGS', () => {
    expect(init(u8(21, 1), u64(32, 8n))).toEqual([RDX, 0n]);
  });
  it('reserved_1 (bytes 42-79) comes only after TSC_FREQUENCY, and before the CPUID configuration', () => {
    expect(init(u8(50, 1), (dv) => dv.setUint16(40, 0, true))).toEqual([TSC_FREQUENCY, 0n]);
    expect(init(u8(50, 1), cpuid(1, 3, 4))).toEqual([RDX, 0n]);
  });
  it('MSR_CONFIG_CTLS bits 7:1 and reserved_2 (bytes 232-255) come before the CPUID configuration', () => {
    expect(init(u8(19, 2), cpuid(1, 3, 4))).toEqual([RDX, 0n]);
    expect(init(u8(240, 1), cpuid(1, 3, 4))).toEqual([RDX, 0n]);
  });
  it('CPUID_CONFIG: a bit outside CONFIG_DIRECT | ALLOW_DIRECT fails with RCX = leaf | subleaf << 32, before reserved_3', () => {
    // Leaf 4.0 EDX bit 2 is not configurable (CONFIG_DIRECT 0xfffffffb).
    expect(init(cpuid(1, 3, 4), u8(500, 1))).toEqual([CPUID_CONFIG, 0x4n]);
    // Leaf 1 EAX bits 12-13 (outside 0x0fff3fff); the first leaf in index order wins.
    expect(init(cpuid(0, 0, 0x3000), cpuid(1, 3, 4))).toEqual([CPUID_CONFIG, 0xffffffff00000001n]);
    // Leaf 0x80000008 EBX: only bit 9 is ALLOW_DIRECT.
    expect(init(cpuid(9, 1, 0x400))).toEqual([CPUID_CONFIG, 0xffffffff80000008n]);
    // ALLOW_DIRECT and CONFIG_DIRECT bits are accepted (leaf 1 ECX, leaf 4.3 EDX): reserved_3 shows.
    expect(init(cpuid(0, 2, 0x31044d88), cpuid(4, 3, 0x7), u8(500, 1))).toEqual([RDX, 0n]);
  });
  it('CPUID_CONFIG: a non-migratable TD\'s leaf 1 EAX must be 0 or the native FMS (RCX names leaf 1)', () => {
    expect(fms).not.toBe(0);
    expect(init(cpuid(0, 0, (fms ^ 1) & 0x0fff3fff), u8(500, 1))).toEqual([CPUID_CONFIG, 0xffffffff00000001n]);
    expect(init(cpuid(0, 0, fms & 0x0fff3fff), u8(500, 1))).toEqual([RDX, 0n]);
  });
  it('CPUID_CONFIG: leaf 7.0 HLE and RTM must agree (RCX stays 0)', () => {
    expect(init(cpuid(5, 1, 1 << 4), u8(500, 1))).toEqual([CPUID_CONFIG, 0n]);
    expect(init(cpuid(5, 1, (1 << 4) | (1 << 11)), u8(500, 1))).toEqual([RDX, 0n]);
  });
  it('reserved_3 (after the CPUID_CONFIG entries) comes before IA32_ARCH_CAPABILITIES_CONFIG', () => {
    expect(init(u8(1023, 1), u64(224, 0x80n))).toEqual([RDX, 0n]);
  });
  it('IA32_ARCH_CAPABILITIES_CONFIG: non-zero needs MSR_CONFIG_CTLS bit 0; only bits 4, 19, 20, 24 (0x1180010)', () => {
    expect(init(u64(224, 0x10n))).toEqual([ARCH_CAP_CONFIG, 0n]);
    expect(init(u8(19, 1), u64(224, 0x80n))).toEqual([ARCH_CAP_CONFIG, 0n]);
    expect(init(u8(19, 1), u64(224, 0x1180010n | (1n << 25n)))).toEqual([ARCH_CAP_CONFIG, 0n]);
    // CPUID_CONFIG is checked before the ARCH_CAPABILITIES configuration.
    expect(init(cpuid(1, 3, 4), u64(224, 0x10n))).toEqual([CPUID_CONFIG, 0x4n]);
    // The old model's mask (the ref platform's MSR value 0xc0e0eb) is not the config mask.
    expect(init(u8(19, 1), u64(224, 0xc0e0ebn))).toEqual([ARCH_CAP_CONFIG, 0n]);
  });
  it('EXEC_CONTROLS still follows reserved_0, and a clean TD_PARAMS with every configurable ARCH_CAP bit succeeds', () => {
    expect(init(u64(32, 8n))).toEqual([EXEC_CONTROLS, 0n]);
    expect(init(u8(19, 1), u64(224, 0x1180010n), cpuid(0, 0, fms & 0x0fff3fff), cpuid(5, 1, (1 << 4) | (1 << 11)))).toEqual([0n, 0n]);
  });
});
