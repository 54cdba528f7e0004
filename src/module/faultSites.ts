/**
 * Named fault-injection sites inside the module model. A site fails when the platform's
 * FaultInjector says so (`env.injectFault(site)`), e.g. armed by the server's `fault.inject`.
 * Each site produces exactly the status the real module returns for that hardware failure.
 * @see TDX module ABI sections 3.1, 3.2, 3.7, 3.16, 3.18; intel/tdx-module helpers.c program_mktme_keys()
 */

/** RDRAND/RDSEED returns no entropy: TDX_RND_NO_ENTROPY at SYS.INIT, LP.INIT, MNG.CREATE, MNG.ADDCX (page 6). */
export const FAULT_RDRAND = 'rdrand';
/**
 * PCONFIG MKTME_KEY_PROGRAM fails with MKTME_ENTROPY_ERROR: TDX_KEY_GENERATION_FAILED at
 * SYS.KEY.CONFIG and MNG.KEY.CONFIG (not TDX_RND_NO_ENTROPY).
 */
export const FAULT_PCONFIG_ENTROPY = 'pconfig.entropy';
/** PCONFIG fails with MKTME_DEVICE_BUSY: TDX_OPERAND_BUSY|KET. */
export const FAULT_PCONFIG_BUSY = 'pconfig.busy';
/**
 * A host interrupt is pending at one of TDH.PHYMEM.CACHE.WB's interruption points (checked
 * after every sub-block but the last), in addition to interrupts really pending on the LP.
 */
export const FAULT_INTERRUPT = 'interrupt';

/** Every site, with what it does (for `fault.inject` validation and docs). */
export const FAULT_SITES: Readonly<Record<string, string>> = {
  [FAULT_RDRAND]: 'RDRAND/RDSEED without entropy: TDX_RND_NO_ENTROPY (SYS.INIT, LP.INIT, MNG.CREATE, MNG.ADDCX)',
  [FAULT_PCONFIG_ENTROPY]: 'PCONFIG entropy error: TDX_KEY_GENERATION_FAILED (SYS.KEY.CONFIG, MNG.KEY.CONFIG)',
  [FAULT_PCONFIG_BUSY]: 'PCONFIG key table busy: TDX_OPERAND_BUSY|KET (SYS.KEY.CONFIG, MNG.KEY.CONFIG)',
  [FAULT_INTERRUPT]: 'host interrupt pending at a CACHE.WB interruption point: TDX_INTERRUPTED_RESUMABLE',
};
