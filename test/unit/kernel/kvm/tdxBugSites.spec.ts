/**
 * The splat sites per release: 7.1.3's lines and function names (read from linux 7.1.3's
 * arch/x86/kvm/vmx/tdx.c and arch/x86/kvm/mmu/tdp_mmu.c), next to 6.18.2's; 7.2 has none.
 */
import { describe, expect, it } from 'vitest';

import { KVM_TDX_FAILURE_PRINT_FUNCS, kvmTdxWarnSite, tdpMmuFreeExternalSptSite } from '../../../../src/kernel/kvm/tdxBugSites.js';
import { kernelProfile } from '../../../../src/kernel/profiles.js';
import { warning_line } from '../../../../src/kernel/printk.js';

describe('KVM TDX splat sites', () => {
  it('7.1.3: the folded and moved functions, the lines, the 7.1 WARNING format', () => {
    expect(kvmTdxWarnSite('7.1.3', 'range_block')).toEqual({ file: 'arch/x86/kvm/vmx/tdx.c', line: 1802, fn: 'tdx_sept_remove_private_spte', module: 'kvm_intel', warnFormat: '7.1' });
    expect(kvmTdxWarnSite('7.1.3', 'page_remove')?.line).toBe(1818);
    expect(kvmTdxWarnSite('7.1.3', 'wbinvd_hkid')?.line).toBe(1822);
    expect(kvmTdxWarnSite('7.1.3', 'page_add')).toMatchObject({ line: 1632, fn: 'tdx_mem_page_add' });
    expect(kvmTdxWarnSite('7.1.3', 'mr_extend')).toMatchObject({ line: 3138, fn: 'tdx_gmem_post_populate' });
    expect(kvmTdxWarnSite('7.1.3', 'vp_enter_sw')).toMatchObject({ line: 1987, fn: 'tdx_handle_exit' });
    expect(warning_line(2, kvmTdxWarnSite('7.1.3', 'mem_track')!)).toBe('WARNING: arch/x86/kvm/vmx/tdx.c:1749 at tdx_track [kvm_intel], CPU#2: ?/?');
    expect(tdpMmuFreeExternalSptSite('7.1.3')).toEqual({ file: 'arch/x86/kvm/mmu/tdp_mmu.c', line: 484, fn: 'handle_removed_pt', module: 'kvm', warnFormat: '7.1' });
  });

  it('6.18.2 keeps its own lines, names and format; PAGE.ADD has no guard there', () => {
    expect(kvmTdxWarnSite('6.18.2', 'range_block')).toEqual({ file: 'arch/x86/kvm/vmx/tdx.c', line: 1799, fn: 'tdx_sept_zap_private_spte', module: 'kvm_intel' });
    expect(kvmTdxWarnSite('6.18.2', 'page_add')).toBeUndefined();
    expect(tdpMmuFreeExternalSptSite('6.18.2')?.line).toBe(488);
  });

  it('profiles: linux-7.1 prints 7.1.3 splats, linux-7.2 none (its tdx.c was not read)', () => {
    expect(kernelProfile('linux-7.1').kvmWarnSplat).toBe('7.1.3');
    expect(kernelProfile('linux-7.2').kvmWarnSplat).toBeUndefined();
    expect(kvmTdxWarnSite(kernelProfile('linux-7.2').kvmWarnSplat, 'reclaim')).toBeUndefined();
  });

  it('a `tdx_mem_page_add: N callbacks suppressed` line counts as KVM failures', () => {
    expect(KVM_TDX_FAILURE_PRINT_FUNCS.has('tdx_mem_page_add')).toBe(true);
  });
});
