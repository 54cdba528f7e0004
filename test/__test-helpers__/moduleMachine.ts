/**
 * Test helpers for in-process TDX module tests (test/unit/module): a module machine whose CPUs are
 * all in VMX operation, as a host kernel leaves them before its first SEAMCALL, and a SEAMCALL
 * that returns the output registers.
 */
import { createModuleMachine, seamcallSync } from '../../src/machine/moduleMachine.js';
import type { ModuleMachine, ModuleMachineOptions } from '../../src/machine/moduleMachine.js';
import { seamRegs } from '../../src/platform/Seam.js';
import type { SeamRegs } from '../../src/platform/Seam.js';
import type { PlatformSpec } from '../../src/platform/spec.js';

/** The input registers of a SEAMCALL, unnamed ones zero. */
export type SeamRegsIn = Partial<Record<keyof SeamRegs, bigint>>;

/** A module machine on `spec` with VMX on every CPU. */
export function vmxModuleMachine(spec: PlatformSpec, opts: ModuleMachineOptions = {}): ModuleMachine {
  const m = createModuleMachine(spec, opts);
  for (const c of m.platform.cpus) {
    c.vmx = true;
  }
  return m;
}

/**
 * One SEAMCALL on logical processor `lp`, run to completion: its output registers (RAX the
 * status). An outcome other than a SEAMRET (#GP, #UD, VMfailInvalid) throws, naming its kind.
 */
export function seamcallRegs(m: ModuleMachine, lp: number, r: SeamRegsIn): SeamRegs {
  const o = seamcallSync(m, lp, seamRegs(r));
  if (o.kind !== 'ok') {
    throw new Error(o.kind);
  }
  return o.regs;
}
