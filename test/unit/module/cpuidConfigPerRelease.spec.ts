/**
 * The configurable CPUID leaves per release (cpuid_configurable[]): NUM_CPUID_CONFIG and the
 * CPUID_CONFIG fields through TDH.SYS.RD, TDH.SYS.INFO's list, and TDH.MNG.INIT's CPUID_CONFIG
 * check (masks, check order by lookup index, RCX naming the leaf, where RESERVED_3 starts).
 * In-process (createModuleMachine) on the `ref` preset.
 * @see intel/tdx-module 9fd3c8b1 (1.5.34) include/auto_gen_1_5/cpuid_configurations.c; 6e66b9d2 (2.0.16) and
 *   e69a4391 (2.0.18) include/auto_gen_2_0/cpuid_configurations.c
 * @see intel/tdx-module 72d8cff (1.5.01), e98d9639 (1.5.05), 1e636985 (1.5.06), be443240 (2.0.02),
 *   92f6945d (2.0.04) include/auto_gen/cpuid_configurations.c; 1666adc4 (2.0.08)
 *   include/auto_gen_2_0/cpuid_configurations.c; tdh_mng_init.c at 72d8cff, e98d9639, 1666adc4
 */
import { describe, expect, it } from 'vitest';

import { cpuId } from '../../../src/base/ids.js';
import type { ModuleMachine } from '../../../src/machine/moduleMachine.js';
import { cpuidConfigurable } from '../../../src/module/cpuidConfigurable.js';
import { isAssumed, MODULE_PROFILE_NAMES, moduleProfile } from '../../../src/module/profiles.js';
import type { ModuleProfileName } from '../../../src/module/profiles.js';
import { seamcallRegs as call } from '../../__test-helpers__/moduleMachine.js';
import { mngInitEdited, ok, readyForMngInit, sysInitRef } from './cfgA.js';

const TDR = 0x40000000n;
const PARAMS = 0x10004000;
const RDX = 0xc000010000000002n;
const CPUID_CONFIG = 0xc000010000000045n;
const ARCH_CAP_CONFIG = 0xc000010000000048n;
const NUM_CPUID_CONFIG = 0x9900000100000004n;
const LEAVES0 = 0x9900000300000400n;
const VALUES0 = 0x9900000300000500n;

const sysInit = sysInitRef;
/** TDH.SYS.RD of one field: [RAX, R8]. */
const rd = (m: ModuleMachine, id: bigint): [bigint, bigint] => {
  const r = call(m, 0, { rax: 34n, rdx: id });
  return [r.rax, r.r8];
};

/** A module ready for TDH.MNG.INIT (cfgA.ts readyForMngInit()). */
function ready(module: ModuleProfileName): ModuleMachine {
  return readyForMngInit(module, TDR);
}

type Edit = (dv: DataView) => void;
/** CPUID_CONFIG entry i, register j (EAX..EDX). */
const cpuid =
  (i: number, j: number, v: number): Edit =>
  (dv) => dv.setUint32(256 + 16 * i + 4 * j, v, true);
const byte =
  (off: number, v: number): Edit =>
  (dv) => dv.setUint8(off, v);
/** IA32_ARCH_CAPABILITIES_CONFIG without MSR_CONFIG_CTLS bit 0: the check after CPUID_CONFIG and RESERVED_3. */
const archCapAfter: Edit = (dv) => dv.setBigUint64(224, 0x10n, true);

/** TDH.MNG.INIT with tdParams() edited: [status, RCX]. The TD stays uninitialized on error. */
function init(m: ModuleMachine, ...edits: Edit[]): [bigint, bigint] {
  return mngInitEdited(m, TDR, PARAMS, ...edits);
}

describe('configurable CPUID leaves per release: the profiles', () => {
  it('every release names its table: 12 leaves in 1.0 and 1.5.01, 18 in 1.5.05 to 1.5.28 and 2.0.02, 28 in 1.5.34 and from 2.0.04; read or assumed', () => {
    const rows = MODULE_PROFILE_NAMES.map((n) => {
      const p = moduleProfile(n);
      return `${n} ${p.cpuidConfig.value} ${cpuidConfigurable(p).length}${isAssumed(p.cpuidConfig) ? ' assumed' : ''}`;
    });
    expect(rows).toEqual([
      '1.0 1.5.01 12 assumed',
      '1.5.01 1.5.01 12',
      '1.5.05 1.5.05 18',
      '1.5.06 1.5.06 18',
      '1.5.08 1.5.06 18 assumed',
      '1.5.09 1.5.06 18 assumed',
      '1.5.13 1.5.06 18 assumed',
      '1.5.16 1.5.06 18 assumed',
      '1.5.28 1.5.06 18 assumed',
      '1.5.34 1.5.34 28',
      '2.0.02 2.0.02 18',
      '2.0.04 2.0.04 28',
      '2.0.05 2.0.04 28 assumed',
      '2.0.08 2.0.08 28',
      '2.0.16 2.0.08 28',
      '2.0.18 2.0.08 28',
    ]);
  });
});

describe('configurable CPUID leaves per release: TDH.SYS.RD and TDH.SYS.INFO', () => {
  it('NUM_CPUID_CONFIG is 12 / 18 / 28', () => {
    const got = (['1.5.01', '1.5.05', '1.5.06', '1.5.34', '2.0.02', '2.0.04', '2.0.08'] as const).map((n) => rd(sysInit(n), NUM_CPUID_CONFIG));
    expect(got).toEqual([
      [0n, 12n],
      [0n, 18n],
      [0n, 18n],
      [0n, 28n],
      [0n, 18n],
      [0n, 28n],
      [0n, 28n],
    ]);
  });
  it('CPUID_CONFIG_LEAVES: element 12 is leaf 0x1F subleaf 0 from 1.5.05 (all ones in 1.5.01); 2.0.08 has leaf 0x19 at 18 and 0x18.8 at 27', () => {
    const m01 = sysInit('1.5.01');
    const m05 = sysInit('1.5.05');
    const m08 = sysInit('2.0.08');
    expect(rd(m01, LEAVES0 + 11n)).toEqual([0n, 0x23n]);
    expect(rd(m01, LEAVES0 + 12n)).toEqual([0n, 0xffffffffffffffffn]);
    expect(rd(m05, LEAVES0 + 11n)).toEqual([0n, 0x23n]);
    expect(rd(m05, LEAVES0 + 12n)).toEqual([0n, 0x1fn]);
    expect(rd(m05, LEAVES0 + 17n)).toEqual([0n, 0x50000001fn]);
    expect(rd(m05, LEAVES0 + 18n)).toEqual([0n, 0xffffffffffffffffn]);
    expect(rd(m08, LEAVES0 + 18n)).toEqual([0n, 0xffffffff00000019n]);
    expect(rd(m08, LEAVES0 + 27n)).toEqual([0n, 0x800000018n]);
    expect(rd(m08, LEAVES0 + 28n)).toEqual([0n, 0xffffffffffffffffn]);
  });
  it('CPUID_CONFIG_VALUES of leaf 7.1 (index 6) and leaf 0x80000008 (index 9) follow each table', () => {
    const v = (n: ModuleProfileName): bigint[] => {
      const m = sysInit(n);
      return [12n, 13n, 18n].map((k) => rd(m, VALUES0 + k)[1]);
    };
    // 1.5.01's TDH.SYS.RD reports CONFIG_DIRECT only; later releases add ALLOW_DIRECT (all native).
    expect(v('1.5.01')).toEqual([0n, 0n, 0n]);
    expect(v('1.5.05')).toEqual([0x4001d30n, 0x43000000000n, 0x20000000000n]);
    expect(v('1.5.06')).toEqual([0x4881db0n, 0x2043000000000n, 0x200000000ffn]);
    expect(v('1.5.34')).toEqual([0x4881db0n, 0x2443000000000n, 0x200000000ffn]);
    expect(v('2.0.02')).toEqual([0x4a81db0n, 0x2443000000000n, 0x200000000ffn]);
    expect(v('2.0.04')).toEqual([0x4a81db0n, 0x2443000000000n, 0x200000000ffn]);
    expect(v('2.0.08')).toEqual([0x4a81dbfn, 0x2443000000000n, 0x200000000ffn]);
    // Element 55 (index 27, ECX:EDX) of 2.0.08: leaf 0x18.8 EDX 0x3FFC000; 1.5.06 has no index 27.
    expect(rd(sysInit('2.0.08'), VALUES0 + 55n)).toEqual([0n, 0x3ffc00000000000n]);
    expect(rd(sysInit('1.5.06'), VALUES0 + 55n)).toEqual([0n, 0n]);
  });
  it('TDH.SYS.INFO lists the release\'s leaves: 18 on 1.5.05, entry 17 is leaf 0x1F subleaf 5 with CONFIG_DIRECT 0xFFFF0000001F', () => {
    const m = sysInit('1.5.05');
    ok(m, 0, { rax: 32n, rcx: 0x10002000n, rdx: 1024n, r8: 0x10003000n, r9: 32n });
    const l = m.platform.load(m.platform.cpu(cpuId(0)), 0x10002000, 1024, 0);
    if (!l.ok) {
      throw new Error('poison');
    }
    const dv = new DataView(l.bytes.buffer, l.bytes.byteOffset);
    const o = 132 + 24 * 17;
    expect([dv.getUint32(128, true), dv.getUint32(o, true), dv.getUint32(o + 4, true), dv.getBigUint64(o + 8, true), dv.getBigUint64(o + 16, true)]).toEqual([18, 0x1f, 5, 0xffff0000001fn, 0xffffn]);
    // Nothing after the 18th entry.
    expect(dv.getUint32(132 + 24 * 18, true)).toBe(0);
  });
});

describe('configurable CPUID leaves per release: TDH.MNG.INIT', () => {
  it('leaf 7.1 EAX bit 26 is ALLOW_DIRECT from 1.5.05 on: accepted there, CPUID_CONFIG with RCX = leaf 7 subleaf 1 on 1.5.01', () => {
    expect(init(ready('1.5.01'), cpuid(6, 0, 1 << 26))).toEqual([CPUID_CONFIG, 0x100000007n]);
    expect(init(ready('1.5.05'), cpuid(6, 0, 1 << 26))).toEqual([0n, 0n]);
  });
  it('leaf 0x1F (index 12): in 1.5.01 those bytes are RESERVED_3 (RDX); 1.5.05 checks its masks (RCX = leaf 0x1F subleaf 0)', () => {
    expect(init(ready('1.5.01'), cpuid(12, 0, 1))).toEqual([RDX, 0n]);
    const m = ready('1.5.05');
    expect(init(m, cpuid(12, 0, 0x20))).toEqual([CPUID_CONFIG, 0x1fn]);
    // Inside CONFIG_DIRECT the entry passes and the next check shows (check_cpuid_1f() is not modelled).
    expect(init(m, cpuid(12, 0, 1), cpuid(12, 1, 1), cpuid(12, 2, 0x100), archCapAfter)).toEqual([ARCH_CAP_CONFIG, 0n]);
  });
  it('checks run in lookup order: leaf 0x1F.3 (lookup 49) before leaf 0x23 (config index 11, lookup 59) from 1.5.05', () => {
    expect(init(ready('1.5.01'), cpuid(11, 0, 0x10), cpuid(15, 0, 0x20))).toEqual([CPUID_CONFIG, 0x23n]);
    expect(init(ready('1.5.05'), cpuid(11, 0, 0x10), cpuid(15, 0, 0x20))).toEqual([CPUID_CONFIG, 0x30000001fn]);
  });
  it('RESERVED_3 starts after the release\'s entries: byte 544 with 18, byte 704 with 28', () => {
    const m06 = ready('1.5.06');
    expect(init(m06, byte(543, 0), byte(544, 1))).toEqual([RDX, 0n]);
    // Byte 543 is the top byte of entry 17's EDX (leaf 0x1F subleaf 5), where nothing is configurable.
    expect(init(m06, byte(543, 1))).toEqual([CPUID_CONFIG, 0x50000001fn]);
  });
  it('2.0.08: leaf 0x19 (lookup 42) is checked before leaf 0x1F (lookup 46); leaf 0x18.8 EDX bits 25:14 configurable, bit 13 not', () => {
    const m = ready('2.0.08');
    expect(init(m, cpuid(18, 0, 1), cpuid(12, 0, 0x20))).toEqual([CPUID_CONFIG, 0xffffffff00000019n]);
    expect(init(m, cpuid(27, 3, 1 << 13))).toEqual([CPUID_CONFIG, 0x800000018n]);
    expect(init(m, cpuid(27, 3, 1 << 14), byte(703, 0), byte(704, 1))).toEqual([RDX, 0n]);
    expect(init(ready('1.5.06'), cpuid(27, 3, 1 << 14))).toEqual([RDX, 0n]);
  });
  it('leaf 7.0 HLE != RTM: RCX 0 on 1.5.01, RCX = leaf 7 subleaf 0 from 1.5.05', () => {
    expect(init(ready('1.5.01'), cpuid(5, 1, 1 << 4))).toEqual([CPUID_CONFIG, 0n]);
    expect(init(ready('1.5.05'), cpuid(5, 1, 1 << 4))).toEqual([CPUID_CONFIG, 0x7n]);
  });
});
