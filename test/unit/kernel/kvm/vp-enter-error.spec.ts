/**
 * What KVM does with a TDH.VP.ENTER status it cannot handle (tdx_handle_exit(), v6.16.1 and
 * v6.18.2): a module error (here TDX_VCPU_ASSOCIATED, the vCPU entered on CPU 2 while the module
 * still has it associated with CPU 1) is `kvm_pr_unimpl("TD vp_enter_ret 0x%llx\n")`, a
 * pr_err_ratelimited() with tdx.c's `kvm_intel: ` prefix (10 per 5 s, then the suppressed count
 * from tdx_handle_exit); no KVM_BUG_ON, so the VM is not bugged. Ubuntu's out-of-tree KVM prints
 * nothing in the model (source not read).
 */
import { describe, expect, it } from 'vitest';

import type { Td, TdVcpu } from '../../../../src/kernel/kvm/td.js';
import { tdx_vcpu_run } from '../../../../src/kernel/kvm/td.js';
import type { KernelProfileName } from '../../../../src/kernel/profiles.js';
import { kernelRig, sleep } from '../../../__test-helpers__/kernelMachine.js';

/** TDX_VCPU_ASSOCIATED (TDX module 1.5 error codes: 0x8000070100000000). */
const VCPU_ASSOCIATED = 0x8000_0701_0000_0000n;
const LINE = 'kvm_intel: kvm [?]: TD vp_enter_ret 0x8000070100000000';

/** A TD run on CPU 1, then `n` KVM_RUN exits handled on CPU 2 without the vCPU's flush off CPU 1; the dmesg lines they added. */
function enterElsewhere(kernel: KernelProfileName, n: number): { lines: string[]; td: Td; rets: bigint[] } {
  const r = kernelRig('small-2s', { module: 'real', kernel });
  expect(r.run(r.m.loadKvm())).toBe(0);
  const built = r.run(r.m.createTd({ pages: 64, runCpu: 1 }));
  expect(built.ret).toBe(0);
  const td = built.td as Td;
  const k = r.m.kernel;
  const before = r.lines().length;
  const rets: bigint[] = [];
  for (let i = 0; i < n; i++) {
    rets.push(r.run(tdx_vcpu_run(k, r.m.platform.cpu(2), td, td.vcpus[0] as TdVcpu), 2));
  }
  return { lines: r.lines().slice(before), td, rets };
}

describe('KVM: a TDH.VP.ENTER error status', () => {
  it('linux-6.18: kvm_pr_unimpl line with the status, rate limited per call site; the VM is not bugged', () => {
    const { lines, td, rets } = enterElsewhere('linux-6.18', 12);
    expect(rets).toEqual(Array.from({ length: 12 }, () => VCPU_ASSOCIATED));
    expect(lines).toEqual(Array.from({ length: 10 }, () => LINE));
    expect(td.bugged).toBe(false);
  });

  it('linux-6.18: after 5 s the next failure first prints the suppressed count of tdx_handle_exit', () => {
    const r = kernelRig('small-2s', { module: 'real', kernel: 'linux-6.18' });
    expect(r.run(r.m.loadKvm())).toBe(0);
    const td = r.run(r.m.createTd({ pages: 64, runCpu: 1 })).td as Td;
    const cpu2 = r.m.platform.cpu(2);
    const before = r.lines().length;
    for (let i = 0; i < 13; i++) {
      r.run(tdx_vcpu_run(r.m.kernel, cpu2, td, td.vcpus[0] as TdVcpu), 2);
    }
    r.run(sleep(6e9), 2);
    r.run(tdx_vcpu_run(r.m.kernel, cpu2, td, td.vcpus[0] as TdVcpu), 2);
    expect(r.lines().slice(before)).toEqual([...Array.from({ length: 10 }, () => LINE), 'tdx_handle_exit: 3 callbacks suppressed', LINE]);
  });

  it('linux-7.2 prints the same line (assumed unchanged from 6.18)', () => {
    expect(enterElsewhere('linux-7.2', 1).lines).toEqual([LINE]);
  });

  it('ubuntu-6.8-intel: the same status, nothing printed', () => {
    const { lines, rets } = enterElsewhere('ubuntu-6.8-intel', 2);
    expect(rets).toEqual([VCPU_ASSOCIATED, VCPU_ASSOCIATED]);
    expect(lines).toEqual([]);
  });
});
