/**
 * The arch side of kexec: refusing to load on platforms with the partial-write erratum
 * (v6.18), and the final jump through relocate_kernel, which flushes the kexec-ing CPU's caches
 * when its own flag says they may hold private-KeyID lines.
 * @see linux arch/x86/kernel/machine_kexec_64.c machine_kexec_prepare(), machine_kexec();
 *      arch/x86/kernel/relocate_kernel_64.S identity_mapped
 */
import type { Cpu } from '../../platform/Cpu.js';
import type { Prog } from '../../platform/Exec.js';
import { EOPNOTSUPP } from '../errno.js';
import type { KernelStatus } from '../errno.js';
import type { Kernel } from '../Kernel.js';

/** RELOC_KERNEL_CACHE_INCOHERENT (v6.18; RELOC_KERNEL_HOST_MEM_ENC_ACTIVE before). */
export const RELOC_KERNEL_CACHE_INCOHERENT = 1 << 1;

/**
 * At kexec_load/kexec_file_load time.
 * @returns 0, or -EOPNOTSUPP on an erratum platform under a profile that refuses
 */
export function machine_kexec_prepare(k: Kernel): KernelStatus {
  if (k.profile.kexec.refuseOnErratum && k.tdx.bugPwMce) {
    if (!k.kexec_state.refusalPrinted) {
      k.kexec_state.refusalPrinted = true;
      k.klog.info('kexec: Not allowed on platform with tdx_pw_mce bug');
    }
    return -EOPNOTSUPP;
  }
  return 0;
}

/** relocate_kernel's WBINVD decision for the kexec-ing CPU. */
function relocate_flags(k: Kernel, cpu: Cpu): number {
  switch (k.profile.kexec.relocateWbinvd) {
    case 'flag':
      return k.cache_state_incoherent.get(cpu.id) ? RELOC_KERNEL_CACHE_INCOHERENT : 0;
    case 'sme-only':
      return k.platform.isAmd ? RELOC_KERNEL_CACHE_INCOHERENT : 0;
    case 'never':
      return 0;
  }
}

/**
 * The last C code of the old kernel on the kexec-ing CPU, then relocate_kernel: new page
 * tables, WBINVD if asked, swap_pages, jump. Returns at the moment of the jump.
 * @see linux machine_kexec(), relocate_kernel
 */
export function* machine_kexec(k: Kernel, cpu: Cpu): Prog {
  cpu.irqEnabled = false;
  const flags = relocate_flags(k, cpu);
  // load_segments(), native_gdt_invalidate(), ...
  yield { op: 'tick', ns: 5_000, label: 'local:machine_kexec' };
  k.platform.tracer.emit({ kind: 'mark', t: k.platform.nowNs, cpu: cpu.id, label: 'relocate_kernel', detail: flags === 0 ? 'no WBINVD' : 'WBINVD' });
  if (flags & RELOC_KERNEL_CACHE_INCOHERENT) {
    k.platform.fp.w('flushes', cpu.id);
    k.kexec_state.flushes.push({ cpu: cpu.id, t: k.platform.nowNs, site: 'relocate_kernel' });
    yield* k.platform.wbinvd(cpu);
  }
  // swap_pages: copy the new kernel into place (a few milliseconds).
  yield { op: 'tick', ns: 3_000_000, label: 'local:swap_pages' };
  k.kexec_state.jumpNs = k.platform.nowNs;
  k.platform.tracer.emit({ kind: 'mark', t: k.platform.nowNs, cpu: cpu.id, label: 'kexec jump', detail: 'new kernel entry' });
}
