/**
 * "Linux 6.18 plus my change": a scenario's `kernelOverrides` replace behaviour points of its
 * kernel profile (kernel/profiles.ts), so an idea for a patch (flush on fewer CPUs, clear the
 * flag earlier, wait less for the REBOOT IPI, no NMI fallback) can be run and explored before
 * it is written. Only points that exist as data in the profiles can be overridden.
 */
import type { KernelProfile } from '../kernel/profiles.js';
import { kernelProfile } from '../kernel/profiles.js';
import { kernelOverridesSchema } from './scenario.js';
import type { KernelOverrides } from './scenario.js';

/** The names a scenario may override, in the order docs/scenarios.md lists them. */
export const KERNEL_OVERRIDE_NAMES: readonly string[] = Object.keys(kernelOverridesSchema.shape);

/** The profile fields that replace `base`'s for these overrides. */
export function profileOverrides(base: string, o: KernelOverrides): Partial<Omit<KernelProfile, 'name'>> {
  const k = kernelProfile(base).kexec;
  const kexec = {
    ...k,
    ...(o.stopThisCpuWbinvd !== undefined ? { stopThisCpuWbinvd: o.stopThisCpuWbinvd } : {}),
    ...(o.relocateWbinvd !== undefined ? { relocateWbinvd: o.relocateWbinvd } : {}),
    ...(o.earlyFlush !== undefined ? { earlyFlush: o.earlyFlush } : {}),
    ...(o.earlyFlushBy !== undefined ? { earlyFlushBy: o.earlyFlushBy } : {}),
    ...(o.flagClear !== undefined ? { flagClear: o.flagClear } : {}),
    ...(o.stopProtocol !== undefined ? { stopProtocol: o.stopProtocol } : {}),
    ...(o.stopRebootWaitMs !== undefined ? { rebootWaitNs: o.stopRebootWaitMs * 1_000_000 } : {}),
    ...(o.nmiFallback !== undefined ? { nmiFallback: o.nmiFallback } : {}),
    ...(o.sysDisable !== undefined ? { sysDisable: o.sysDisable } : {}),
    ...(o.kexecAllowed !== undefined ? { kexecAllowed: o.kexecAllowed } : {}),
    ...(o.refuseOnErratum !== undefined ? { refuseOnErratum: o.refuseOnErratum } : {}),
  };
  return { kexec, ...(o.cacheStateFlag !== undefined ? { cacheStateFlag: o.cacheStateFlag } : {}) };
}

/** `linux-6.18 with overrides: relocateWbinvd=never, nmiFallback=false`, or the bare name. */
export function describeKernel(kernel: string, o: KernelOverrides | undefined): string {
  const set = Object.entries(o ?? {}).filter(([, v]) => v !== undefined);
  return set.length === 0 ? kernel : `${kernel} with overrides: ${set.map(([n, v]) => `${n}=${String(v)}`).join(', ')}`;
}
