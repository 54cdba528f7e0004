/**
 * TDH.SYS.DISABLE (leaf 69): disable the module for a kexec or a kdump. It reclaims every page
 * the module holds for TDX (TD pages, control structures, Secure EPT, the PAMTs), resets their
 * integrity with zeroes through KeyID 0 so that no poison is left for the next kernel, and puts
 * the module back where a fresh load starts (SYSINIT_PENDING): the next kernel runs the whole
 * TDH.SYS.INIT … TDH.SYS.TDMR.INIT sequence again. Fails with TDX_SYS_BUSY while another
 * TDH.SYS.* leaf holds the global lock.
 *
 * No module source has this leaf; the model follows what the Linux patches state: "disables the
 * TDX module and reclaims all memory resources allocated to TDX, and cleans up any poison. After
 * this SEAMCALL succeeds, the new kernel can also re-initialize the TDX module from scratch",
 * TDX_SYS_BUSY "on contention with other TDH.SYS.* SEAMCALLs", TDX_INTERRUPTED_RESUMABLE when
 * interrupted (not modelled: the model's DISABLE runs to completion), and "no other SEAMCALL can
 * be run after this until a full reinitialization is done". Only releases that enumerate
 * TDX_FEATURES0.SYS_DISABLE (bit 53) know the leaf; older ones answer TDX_OPERAND_INVALID.
 * @see linux "Fuller TDX kexec support" v3 (Apr 2026, merged for v7.2):
 *      x86/virt/tdx: Add SEAMCALL wrapper for TDH.SYS.DISABLE (b7d2173946ef)
 * @see Intel TDX module draft ABI (cdrdv2 871617) as quoted on the list: "Support of
 *      TDH.SYS.DISABLE is enumerated by TDX_FEATURES0.SYS_DISABLE (bit 53)"
 */
import type { U64 } from '../../base/u64.js';
import type { Prog } from '../../platform/Exec.js';
import type { LeafCtx } from '../leafCtx.js';
import { YIELD } from '../leafCtx.js';
import { TDX_SUCCESS, TDX_SYS_BUSY } from '../status.js';

/** Writer tag of the reset lines (findings name it). */
const WRITER = 'tdx-module:sys-disable';

/** TDH.SYS.DISABLE. */
export function* tdhSysDisable(ctx: LeafCtx): Prog<U64> {
  const m = ctx.m;
  if (!ctx.hold(m.globalLock, 'exclusive')) {
    return TDX_SYS_BUSY;
  }
  yield YIELD;
  // Every page the PAMT records as allocated to TDX, then the PAMTs themselves.
  let lines = 0;
  for (const p of m.pamt.ownedPages()) {
    ctx.env.movdir64b(p.pa, p.pages * 4096, 0, 0, WRITER);
    lines += (p.pages * 4096) / 64;
  }
  for (const t of m.tdmrs) {
    for (const r of [t.pamt4k, t.pamt2m, t.pamt1g]) {
      if (r.size > 0) {
        ctx.env.movdir64b(r.base, r.size, 0, 0, WRITER);
        lines += r.size / 64;
      }
    }
  }
  yield { op: 'tick', ns: lines * ctx.costs.perLineNs, label: 'TDH.SYS.DISABLE reclaim' };
  // The dispatcher installs a fresh module state when this leaf returns success.
  m.disabled = true;
  return TDX_SUCCESS;
}
