/**
 * Leaf number → handler. Leaves the module knows but the model does not implement (TD entry,
 * metadata write, migration, ...) are absent here; the dispatcher answers them with
 * TDX_OPERAND_INVALID|RAX after its pre-checks (see docs/module.md).
 * @see TDX module ABI sections 1.3, 3
 */
import type { LeafHandler } from './leafCtx.js';
import { LEAF } from './leafNumbers.js';
import { tdhMemPageAdd } from './leaves/tdhMemPageAdd.js';
import { tdhMemPageAug } from './leaves/tdhMemPageAug.js';
import { tdhMemSeptAdd } from './leaves/tdhMemSeptAdd.js';
import { tdhMngAddcx } from './leaves/tdhMngAddcx.js';
import { tdhMngCreate } from './leaves/tdhMngCreate.js';
import { tdhMngInit } from './leaves/tdhMngInit.js';
import { tdhMngKeyConfig } from './leaves/tdhMngKeyConfig.js';
import { tdhMngKeyFreeid } from './leaves/tdhMngKeyFreeid.js';
import { tdhMngKeyReclaimid } from './leaves/tdhMngKeyReclaimid.js';
import { tdhMngVpflushdone } from './leaves/tdhMngVpflushdone.js';
import { tdhPhymemCacheWb } from './leaves/tdhPhymemCacheWb.js';
import { tdhPhymemPageRdmd } from './leaves/tdhPhymemPageRdmd.js';
import { tdhPhymemPageReclaim } from './leaves/tdhPhymemPageReclaim.js';
import { tdhPhymemPageWbinvd } from './leaves/tdhPhymemPageWbinvd.js';
import { tdhSysConfig } from './leaves/tdhSysConfig.js';
import { tdhSysDisable } from './leaves/tdhSysDisable.js';
import { tdhSysInfo } from './leaves/tdhSysInfo.js';
import { tdhSysInit } from './leaves/tdhSysInit.js';
import { tdhSysKeyConfig } from './leaves/tdhSysKeyConfig.js';
import { tdhSysLpInit } from './leaves/tdhSysLpInit.js';
import { tdhSysLpShutdown } from './leaves/tdhSysLpShutdown.js';
import { tdhSysRd } from './leaves/tdhSysRd.js';
import { tdhSysRdAll } from './leaves/tdhSysRdAll.js';
import { tdhSysShutdown } from './leaves/tdhSysShutdown.js';
import { tdhSysTdmrInit } from './leaves/tdhSysTdmrInit.js';
import { tdhSysUpdate } from './leaves/tdhSysUpdate.js';
import { tdhVpAddcx } from './leaves/tdhVpAddcx.js';
import { tdhVpCreate } from './leaves/tdhVpCreate.js';
import { tdhVpFlush } from './leaves/tdhVpFlush.js';
import { tdhVpInit } from './leaves/tdhVpInit.js';
import { tdhMemPageRemove } from './leaves/tdhMemPageRemove.js';
import { tdhMemRangeBlock } from './leaves/tdhMemRangeBlock.js';
import { tdhMemRangeUnblock } from './leaves/tdhMemRangeUnblock.js';
import { tdhMemSeptRd } from './leaves/tdhMemSeptRd.js';
import { tdhMemSeptRemove } from './leaves/tdhMemSeptRemove.js';
import { tdhMemTrack } from './leaves/tdhMemTrack.js';
import { tdhMngRd, tdhMngWr } from './leaves/tdhMngRdWr.js';
import { tdhMrExtend } from './leaves/tdhMrExtend.js';
import { tdhMrFinalize } from './leaves/tdhMrFinalize.js';
import { tdhVpEnter } from './leaves/tdhVpEnter.js';
import { tdhVpRd, tdhVpWr } from './leaves/tdhVpRdWr.js';
import { tdhMemPageDemote } from './leaves/tdhMemPageDemote.js';
import { tdhMemPagePromote } from './leaves/tdhMemPagePromote.js';
import { tdhPhymemPamtAdd } from './leaves/tdhPhymemPamtAdd.js';
import { tdhPhymemPamtRemove } from './leaves/tdhPhymemPamtRemove.js';

/** Implemented leaves. */
export const LEAF_TABLE: ReadonlyMap<number, LeafHandler> = new Map<number, LeafHandler>([
  [LEAF.TDH_MNG_ADDCX, tdhMngAddcx],
  [LEAF.TDH_MEM_PAGE_ADD, tdhMemPageAdd],
  [LEAF.TDH_MEM_SEPT_ADD, tdhMemSeptAdd],
  [LEAF.TDH_VP_ADDCX, tdhVpAddcx],
  [LEAF.TDH_MEM_PAGE_AUG, tdhMemPageAug],
  [LEAF.TDH_MNG_KEY_CONFIG, tdhMngKeyConfig],
  [LEAF.TDH_MNG_CREATE, tdhMngCreate],
  [LEAF.TDH_VP_CREATE, tdhVpCreate],
  [LEAF.TDH_VP_FLUSH, tdhVpFlush],
  [LEAF.TDH_MNG_VPFLUSHDONE, tdhMngVpflushdone],
  [LEAF.TDH_MNG_KEY_FREEID, tdhMngKeyFreeid],
  [LEAF.TDH_MNG_INIT, tdhMngInit],
  [LEAF.TDH_VP_INIT, tdhVpInit],
  [LEAF.TDH_PHYMEM_PAGE_RDMD, tdhPhymemPageRdmd],
  [LEAF.TDH_MNG_KEY_RECLAIMID, tdhMngKeyReclaimid],
  [LEAF.TDH_PHYMEM_PAGE_RECLAIM, tdhPhymemPageReclaim],
  [LEAF.TDH_SYS_KEY_CONFIG, tdhSysKeyConfig],
  [LEAF.TDH_SYS_INFO, tdhSysInfo],
  [LEAF.TDH_SYS_INIT, tdhSysInit],
  [LEAF.TDH_SYS_RD, tdhSysRd],
  [LEAF.TDH_SYS_LP_INIT, tdhSysLpInit],
  [LEAF.TDH_SYS_TDMR_INIT, tdhSysTdmrInit],
  [LEAF.TDH_SYS_RDALL, tdhSysRdAll],
  [LEAF.TDH_PHYMEM_CACHE_WB, tdhPhymemCacheWb],
  [LEAF.TDH_PHYMEM_PAGE_WBINVD, tdhPhymemPageWbinvd],
  [LEAF.TDH_SYS_LP_SHUTDOWN, tdhSysLpShutdown],
  [LEAF.TDH_SYS_CONFIG, tdhSysConfig],
  [LEAF.TDH_SYS_SHUTDOWN, tdhSysShutdown],
  [LEAF.TDH_SYS_UPDATE, tdhSysUpdate],
  [LEAF.TDH_SYS_DISABLE, tdhSysDisable],
  [LEAF.TDH_VP_ENTER, tdhVpEnter],
  [LEAF.TDH_MEM_RANGE_BLOCK, tdhMemRangeBlock],
  [LEAF.TDH_MNG_RD, tdhMngRd],
  [LEAF.TDH_MNG_WR, tdhMngWr],
  [LEAF.TDH_MR_EXTEND, tdhMrExtend],
  [LEAF.TDH_MR_FINALIZE, tdhMrFinalize],
  [LEAF.TDH_MEM_SEPT_RD, tdhMemSeptRd],
  [LEAF.TDH_VP_RD, tdhVpRd],
  [LEAF.TDH_MEM_PAGE_REMOVE, tdhMemPageRemove],
  [LEAF.TDH_MEM_SEPT_REMOVE, tdhMemSeptRemove],
  [LEAF.TDH_MEM_TRACK, tdhMemTrack],
  [LEAF.TDH_MEM_RANGE_UNBLOCK, tdhMemRangeUnblock],
  [LEAF.TDH_VP_WR, tdhVpWr],
  [LEAF.TDH_MEM_PAGE_DEMOTE, tdhMemPageDemote],
  [LEAF.TDH_MEM_PAGE_PROMOTE, tdhMemPagePromote],
  [LEAF.TDH_PHYMEM_PAMT_ADD, tdhPhymemPamtAdd],
  [LEAF.TDH_PHYMEM_PAMT_REMOVE, tdhPhymemPamtRemove],
]);
