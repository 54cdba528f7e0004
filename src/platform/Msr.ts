/**
 * Model-specific registers the model knows by number.
 * @see Intel SDM vol. 4; TDX module ABI section 3.1/3.2; linux arch/x86/include/asm/msr-index.h
 */
export const MSR_IA32_TSC_ADJUST = 0x3b;
export const MSR_IA32_MKTME_KEYID_PARTITIONING = 0x87;
export const MSR_IA32_WBINVDP = 0x98;
export const MSR_IA32_WBNOINVDP = 0x99;
export const MSR_IA32_MISC_PACKAGE_CTLS = 0xbc;
export const MSR_IA32_XAPIC_DISABLE_STATUS = 0xbd;
export const MSR_IA32_ARCH_CAPABILITIES = 0x10a;
export const MSR_IA32_PERF_CAPABILITIES = 0x345;
export const MSR_IA32_TME_CAPABILITY = 0x981;
export const MSR_IA32_TME_ACTIVATE = 0x982;
export const MSR_IA32_SEAMRR_PHYS_BASE = 0x1400;
export const MSR_IA32_SEAMRR_PHYS_MASK = 0x1401;
export const MSR_IA32_SMRR_PHYSBASE = 0x1f2;
export const MSR_IA32_SMRR_PHYSMASK = 0x1f3;
export const MSR_IA32_MTRRCAP = 0xfe;
export const MSR_IA32_VMX_BASIC = 0x480;
export const MSR_IA32_MISC_ENABLE = 0x1a0;
export const MSR_IA32_VMX_PROCBASED_CTLS3 = 0x492;
