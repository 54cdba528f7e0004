/**
 * Every kernel with every module release whose configurable CPUID table differs (12, 18 or 28
 * leaves): where KVM loads, a TD is built (TDH.MNG.INIT accepts KVM's TD_PARAMS, whose
 * CPUID_CONFIG entries are zero), and the metadata the kernel read says how many leaves.
 * @see linux arch/x86/kvm/vmx/tdx.c tdx_td_init(), setup_tdparams_cpuids() v6.18
 */
import { describe, expect, it } from 'vitest';

import { KERNEL_PROFILE_NAMES } from '../../../../src/kernel/profiles.js';
import type { ModuleProfileName } from '../../../../src/module/profiles.js';
import { kernelRig } from '../../../__test-helpers__/kernelMachine.js';

const RELEASES: readonly ModuleProfileName[] = ['1.5.01', '1.5.05', '1.5.06', '2.0.02', '2.0.04', '2.0.08'];

describe('KVM TD creation with each release\'s configurable CPUID leaves', () => {
  it('every kernel x release: where kvm_intel loads, the TD builds; NUM_CPUID_CONFIG as the kernel read it', () => {
    const rows: string[] = [];
    for (const kernel of KERNEL_PROFILE_NAMES) {
      for (const module of RELEASES) {
        const r = kernelRig('small-2s', { module: 'real', kernel, moduleProfile: module });
        const kvm = r.run(r.m.loadKvm());
        const n = r.m.kernel?.tdx.tdx_sysinfo?.td_conf?.num_cpuid_config;
        const td = kvm === 0 ? r.run(r.m.createTd({ pages: 256, runCpu: 1 })).ret : 'no kvm';
        rows.push(`${kernel} ${module} kvm=${kvm} td=${td} n=${n ?? '-'}`);
      }
    }
    // Where kvm_intel loads with TDX, the TD builds with 12, 18 or 28 leaves alike. Not built: linux-6.6
    // (kvm_intel has no 'tdx' parameter); linux-7.1/7.2 with 1.5.01, whose TDX init fails at the
    // MAX_VCPUS_PER_TD read (no td_conf, n=-) while kvm_intel still loads; 6.16/6.18 refuse 1.5.01
    // at load; tdx-host-v8 never loads TDX. Ubuntu 6.8 and the RFC read TDH.SYS.INFO (no td_conf).
    const all = (k: string, kvm: string, td: string, ns: readonly string[]): string[] => RELEASES.map((m, i) => `${k} ${m} kvm=${kvm} td=${td} n=${ns[i] ?? '-'}`);
    const newer = (k: string): string[] => [`${k} 1.5.01 kvm=0 td=-22 n=-`, ...all(k, '0', '0', ['-', '18', '18', '18', '28', '28']).slice(1)];
    const refused = (k: string): string[] => [`${k} 1.5.01 kvm=-5 td=no kvm n=-`, ...all(k, '0', '0', ['-', '18', '18', '18', '28', '28']).slice(1)];
    expect(rows).toEqual([
      ...refused('linux-6.18'),
      ...all('linux-6.6', '0', '-22', []),
      ...all('ubuntu-6.8-intel', '0', '0', []),
      ...refused('linux-6.16'),
      ...newer('linux-7.1'),
      ...newer('linux-7.2'),
      ...all('tdx-host-v8', '-22', 'no kvm', []),
      ...all('tdx-host-rfc', '0', '0', []),
    ]);
  });
});
