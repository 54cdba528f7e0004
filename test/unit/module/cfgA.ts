/**
 * The reference TDMR configuration CFG-A of spec 10.2, as the bytes a host writes, and helpers
 * to build variants ("CFG-A with X"); a module brought up on it, ready for TDH.MNG.INIT.
 */
import { expect } from 'vitest';

import { cpuId } from '../../../src/base/ids.js';
import type { ModuleMachine } from '../../../src/machine/moduleMachine.js';
import type { ModuleProfileName } from '../../../src/module/profiles.js';
import { preset } from '../../../src/platform/presets.js';
import { seamcallRegs } from '../../__test-helpers__/moduleMachine.js';
import type { SeamRegsIn } from '../../__test-helpers__/moduleMachine.js';
import { vmxModuleMachine } from '../../__test-helpers__/moduleMachine.js';

/** One TDMR_INFO as numbers/bigints (all 64-bit fields). */
export interface TdmrInfoInput {
  base: bigint;
  size: bigint;
  pamt1g: [bigint, bigint];
  pamt2m: [bigint, bigint];
  pamt4k: [bigint, bigint];
  rsvd: [bigint, bigint][];
}

/** CFG-A TDMR_INFO[0] and [1]. */
export function cfgA(): [TdmrInfoInput, TdmrInfoInput] {
  return [
    {
      base: 0x0n,
      size: 0x80000000n,
      pamt1g: [0x7f804000n, 0x1000n],
      pamt2m: [0x7f800000n, 0x4000n],
      pamt4k: [0x7f000000n, 0x800000n],
      rsvd: [
        [0x0n, 0x100000n],
        [0x7f000000n, 0x805000n],
      ],
    },
    {
      base: 0x100000000n,
      size: 0x100000000n,
      pamt1g: [0x1f1008000n, 0x1000n],
      pamt2m: [0x1f1000000n, 0x8000n],
      pamt4k: [0x1f0000000n, 0x1000000n],
      rsvd: [[0xf0000000n, 0x1009000n]],
    },
  ];
}

/** Addresses of CFG-A. */
export const CFG_A = { info0: 0x10000000, info1: 0x10000200, array: 0x10001000 } as const;

/** Encode one TDMR_INFO (512 bytes, 16 reserved slots). */
export function encodeTdmrInfo(t: TdmrInfoInput): Uint8Array {
  const b = new Uint8Array(512);
  const dv = new DataView(b.buffer);
  const q = (o: number, v: bigint): void => dv.setBigUint64(o, BigInt.asUintN(64, v), true);
  q(0, t.base);
  q(8, t.size);
  q(16, t.pamt1g[0]);
  q(24, t.pamt1g[1]);
  q(32, t.pamt2m[0]);
  q(40, t.pamt2m[1]);
  q(48, t.pamt4k[0]);
  q(56, t.pamt4k[1]);
  t.rsvd.forEach(([o, s], j) => {
    q(64 + 16 * j, o);
    q(72 + 16 * j, s);
  });
  return b;
}

/** Encode an array of u64. */
export function encodeU64s(vals: readonly bigint[]): Uint8Array {
  const b = new Uint8Array(8 * vals.length);
  const dv = new DataView(b.buffer);
  vals.forEach((v, i) => dv.setBigUint64(8 * i, BigInt.asUintN(64, v), true));
  return b;
}

/** Hex string of bytes. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** A valid TD_PARAMS (1024 bytes): 4-level EPT, GPAW 48, 8 VCPUs, TSC 2.5 GHz. */
export function tdParams(over: Partial<{ attributes: bigint; xfam: bigint; maxVcpus: number; numL2: number; eptp: bigint; flags: bigint; tsc: number }> = {}): Uint8Array {
  const b = new Uint8Array(1024);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, over.attributes ?? 0n, true);
  dv.setBigUint64(8, over.xfam ?? 0x3n, true);
  dv.setUint16(16, over.maxVcpus ?? 8, true);
  dv.setUint8(18, over.numL2 ?? 0);
  dv.setBigUint64(24, over.eptp ?? 0x1en, true);
  dv.setBigUint64(32, over.flags ?? 0n, true);
  dv.setUint16(40, over.tsc ?? 100, true);
  return b;
}

/** A SEAMCALL that must succeed. */
export function ok(m: ModuleMachine, lp: number, r: SeamRegsIn): void {
  expect(seamcallRegs(m, lp, r).rax.toString(16)).toBe('0');
}

/** A host store of `b` at `pa` through KeyID 0 from CPU 0. */
export function write(m: ModuleMachine, pa: number, b: Uint8Array): void {
  m.platform.store(m.platform.cpu(cpuId(0)), pa, b, 0, 'host');
}

/** The `ref` preset with VMX on, TDH.SYS.INIT on LP 0 and TDH.SYS.LP.INIT on its four LPs, module `module`. */
export function sysInitRef(module: ModuleProfileName): ModuleMachine {
  const m = vmxModuleMachine(preset('ref') as NonNullable<ReturnType<typeof preset>>, { module });
  ok(m, 0, { rax: 33n });
  [0, 1, 2, 3].forEach((lp) => ok(m, lp, { rax: 35n }));
  return m;
}

/**
 * A module ready for TDH.MNG.INIT of the TD whose TDR is at `tdr`: CFG-A configured (TDH.SYS.CONFIG
 * with HKID 32), TDH.SYS.KEY.CONFIG on both packages, both TDMRs initialized, TDH.MNG.CREATE with
 * HKID 33, TDH.MNG.KEY.CONFIG on both packages, six TDCS pages.
 */
export function readyForMngInit(module: ModuleProfileName, tdr: bigint): ModuleMachine {
  const m = configureCfgA(sysInitRef(module));
  ok(m, 0, { rax: 9n, rcx: tdr, rdx: 33n });
  ok(m, 0, { rax: 8n, rcx: tdr });
  ok(m, 2, { rax: 8n, rcx: tdr });
  for (let i = 1; i <= 6; i++) {
    ok(m, 0, { rax: 1n, rcx: tdr + BigInt(i * 0x1000), rdx: tdr });
  }
  return m;
}

/**
 * After SYS.INIT and LP.INIT on the `ref` preset's four LPs: CFG-A written and configured
 * (TDH.SYS.CONFIG with HKID 32), TDH.SYS.KEY.CONFIG on LP 0 and LP 2, both TDMRs initialized.
 */
export function configureCfgA(m: ModuleMachine): ModuleMachine {
  const [a, b] = cfgA();
  write(m, CFG_A.info0, encodeTdmrInfo(a));
  write(m, CFG_A.info1, encodeTdmrInfo(b));
  write(m, CFG_A.array, encodeU64s([0x10000000n, 0x10000200n]));
  ok(m, 0, { rax: 45n, rcx: 0x10001000n, rdx: 2n, r8: 32n });
  ok(m, 0, { rax: 31n });
  ok(m, 2, { rax: 31n });
  for (let i = 0; i < 512; i++) {
    ok(m, 0, { rax: 36n, rcx: 0n });
  }
  for (let i = 0; i < 1024; i++) {
    ok(m, 0, { rax: 36n, rcx: 0x100000000n });
  }
  return m;
}

/** An edit of TD_PARAMS bytes. */
export type TdParamsEdit = (dv: DataView) => void;

/**
 * TDH.MNG.INIT of the TD at `tdr` with tdParams() edited by `edits`, written at `paramsPa`:
 * [status, RCX]. The TD stays uninitialized on error.
 */
export function mngInitEdited(m: ModuleMachine, tdr: bigint, paramsPa: number, ...edits: TdParamsEdit[]): [bigint, bigint] {
  const p = tdParams();
  const dv = new DataView(p.buffer);
  for (const e of edits) {
    e(dv);
  }
  write(m, paramsPa, p);
  const r = seamcallRegs(m, 0, { rax: 21n, rcx: tdr, rdx: BigInt(paramsPa) });
  return [r.rax, r.rcx];
}
