/**
 * The TDX module: implements the platform's SeamHandler. Every SEAMCALL goes through the
 * dispatcher pre-checks of section 1.2 in order, then the leaf handler; locks a leaf took are
 * released on its way out. The module's state lives in this object (SEAMRR), so the machine
 * reuses the same instance across a host kexec.
 * @see TDX module ABI sections 1, 2, 7; intel/tdx-module tdx_vmm_dispatcher.c
 */
import { deepFreeze } from '../base/clone.js';
import type { U64 } from '../base/u64.js';
import type { Prog, Step } from '../platform/Exec.js';
import type { SeamEnv, SeamHandler, SeamRegs, SeamRepeat } from '../platform/Seam.js';
import { ModuleState, SYS_STATE } from './globalState.js';
import type { SysInfoTable } from './globalState.js';
import type { ModuleCosts } from './leafCtx.js';
import { LeafCtx } from './leafCtx.js';
import { LEAF } from './leafNumbers.js';
import { LEAF_TABLE } from './leafTable.js';
import { tdhPhymemPageWbinvd, tdhPhymemPageWbinvdRepeat } from './leaves/tdhPhymemPageWbinvd.js';
import { tdhSysTdmrInit, tdhSysTdmrInitRepeat, tdmrInitStep } from './leaves/tdhSysTdmrInit.js';
import { MetadataTable } from './metadata.js';
import type { ModuleProfile, ModuleProfileName } from './profiles.js';
import { DEFAULT_MODULE_PROFILE, moduleProfile, releaseString } from './profiles.js';
import { TDX_OPERAND_INVALID, TDX_SYS_NOT_READY, TDX_SYS_SHUTDOWN } from './status.js';

/**
 * Versioned leaves the dispatcher lets through with *any* version > 0: the leaf rejects a version
 * above its own maximum after writing what it writes first (SEPT.ADD and PROMOTE zero RCX/RDX,
 * SEPT.REMOVE and PROMOTE set R9-R11 to NULL_PA, MNG.RD/VP.RD set RDX to -1 and R8 to 0). Module
 * audit row 18. TDH.VP.INIT (versioned from 1.5.05) is in the set: its leaf refuses a version
 * above 1 before touching any register (tdh_vp_init.c @ e98d9639) with the value the dispatcher
 * check would return, but 2.0.08 compares IA32_TSC_ADJUST first (@ 1666adc4; `vpInit`), so a
 * version-2 call can fail TDX_INCONSISTENT_MSR instead. In 1.5.01 the dispatcher still refuses
 * it (VP.INIT is not in that release's versionedLeaves).
 * @see intel/tdx-module 1.5.01 (72d8cff) src/vmm_dispatcher/tdx_vmm_dispatcher.c (the switch on
 *   leaf_opcode.leaf when version > 0), tdh_mem_sept_add.c, tdh_mem_page_promote.c,
 *   tdh_mem_sept_remove.c, tdh_mng_rd_wr.c, tdh_vp_rd_wr.c
 */
const LEAF_CHECKS_OWN_VERSION: ReadonlySet<number> = new Set([LEAF.TDH_MEM_PAGE_PROMOTE, LEAF.TDH_MEM_SEPT_ADD, LEAF.TDH_MEM_SEPT_REMOVE, LEAF.TDH_MNG_RD, LEAF.TDH_VP_RD, LEAF.TDH_VP_INIT]);

/** How to build a module instance. */
export interface TdxModuleOptions {
  /** A release name or an old alias. */
  readonly profile?: ModuleProfileName | string;
  /** Global metadata overrides by field name (spec.tdxModule.overrides). */
  readonly overrides?: Readonly<Record<string, number | bigint>>;
  /** What MCHECK recorded about the platform. */
  readonly sysinfo: SysInfoTable;
  /** Number of LPs on the platform. */
  readonly lpCount: number;
  readonly costs: ModuleCosts;
}

/** The TDX module model. */
export class TdxModule implements SeamHandler {
  readonly profile: ModuleProfile;
  readonly meta: MetadataTable;
  /** Everything in SEAMRR. A new module load replaces it. */
  state: ModuleState;
  private readonly tickStep: Step;

  constructor(private readonly opts: TdxModuleOptions) {
    // Configuration only (sysinfo, costs, overrides): frozen, so snapshots share it.
    deepFreeze(opts);
    this.profile = moduleProfile(opts.profile ?? DEFAULT_MODULE_PROFILE);
    // Immutable after construction: snapshots share it instead of copying it.
    this.meta = deepFreeze(new MetadataTable(this.profile, opts.overrides ?? {}));
    this.state = new ModuleState(opts.sysinfo, opts.lpCount);
    this.tickStep = tdmrInitStep(opts.costs.tdmrInitCallNs);
  }

  /**
   * The SEAMLDR step of a runtime update: a fresh module image starts in SYSINIT_PENDING and
   * inherits the handoff data the old one wrote at TDH.SYS.SHUTDOWN (if any).
   */
  installUpdate(): void {
    const old = this.state;
    this.state = new ModuleState(this.opts.sysinfo, this.opts.lpCount);
    // The handoff pages at the start of the data region survive the load: the new module finds
    // the header its predecessor wrote (or left) there.
    this.state.handoff = { ...old.handoff };
    if (old.handoff.valid) {
      this.state.inheritedHandoff = { hv: old.handoff.hv, from: old };
    }
  }

  /** Leaf and version decoded by the last `precheck` (fields, not an object: no allocation per call). */
  private pcLeaf = 0;
  private pcVersion = 0;

  /** Decode RAX into (leaf, version); returns a pre-check status or undefined. Section 1.2 steps 1-5. */
  private precheck(rax: U64): U64 | undefined {
    const p = this.profile;
    const m = this.state;
    let leaf: number;
    let version = 0;
    if (rax <= 0xffffn) {
      leaf = Number(rax); // the common case: version 0, no reserved bits
    } else if (p.versionField) {
      leaf = Number(rax & 0xffffn);
      version = Number((rax >> 16n) & 0xffn);
      if (rax >> 24n !== 0n) {
        return TDX_OPERAND_INVALID; // 1: reserved bits
      }
      if (version > 0 && !p.versionedLeaves.has(leaf)) {
        return TDX_OPERAND_INVALID; // 2: unversioned leaf
      }
    } else {
      leaf = -1; // [1.0]: RAX compared as a whole, so any bit above 15 makes it unknown
    }
    this.pcLeaf = leaf;
    this.pcVersion = version;
    if (m.sysState === SYS_STATE.SYS_SHUTDOWN && leaf !== LEAF.TDH_SYS_LP_SHUTDOWN) {
      return TDX_SYS_SHUTDOWN; // 3
    }
    if (m.sysState !== SYS_STATE.SYS_READY && !p.notReadyAllowed.has(leaf)) {
      return TDX_SYS_NOT_READY; // 4 (unknown leaves too)
    }
    if (!p.knownLeaves.has(leaf) || (version > (p.versionedLeaves.get(leaf) ?? 0) && !LEAF_CHECKS_OWN_VERSION.has(leaf))) {
      return TDX_OPERAND_INVALID; // 5
    }
    return undefined;
  }

  /** Handle one SEAMCALL on `env.lp` (SeamHandler). */
  *seamcall(regs: SeamRegs, env: SeamEnv): Prog<SeamRegs> {
    const status = this.precheck(regs.rax);
    if (status !== undefined) {
      regs.rax = status; // the pre-checks modify no register but RAX
      return regs;
    }
    const handler = LEAF_TABLE.get(this.pcLeaf);
    if (handler === undefined) {
      regs.rax = TDX_OPERAND_INVALID; // known to the module, not implemented by the model
      return regs;
    }
    const m = this.state;
    const ctx = new LeafCtx(m, this.meta, this.profile, this.opts.costs, env, regs, env.lp, this.pcVersion, this.tickStep);
    m.lpBusy[env.lp] = true;
    try {
      regs.rax = yield* handler(ctx);
    } finally {
      ctx.releaseAll();
      m.lpBusy[env.lp] = false;
      m.pamt.pruneLocks();
    }
    if (m.disabled) {
      // TDH.SYS.DISABLE: the module starts over as if freshly loaded (SYSINIT_PENDING).
      this.state = new ModuleState(this.opts.sysinfo, this.opts.lpCount);
    }
    return regs;
  }

  /**
   * A run of identical calls in one go (SeamHandler.repeat), when the pre-checks of section 1.2
   * pass: TDH.PHYMEM.PAGE.WBINVD of consecutive 4 KiB pages (KVM's write-back of a huge leaf) when
   * the leaf's own checks hold for every page (tdhPhymemPageWbinvdRepeat()), and TDH.SYS.TDMR.INIT
   * of one TDMR until it is initialized (the kernel's init_tdmr() loop, tdhSysTdmrInitRepeat()).
   * Changes nothing: the caller applies the calls.
   */
  repeat(regs: SeamRegs, n: number, rcxStride: bigint, env: SeamEnv): SeamRepeat | undefined {
    if (this.precheck(regs.rax) !== undefined || this.pcVersion !== 0 || this.state.disabled) {
      return undefined;
    }
    const leaf = this.pcLeaf;
    if (leaf === LEAF.TDH_PHYMEM_PAGE_WBINVD && rcxStride === 4096n && LEAF_TABLE.get(leaf) === tdhPhymemPageWbinvd) {
      return tdhPhymemPageWbinvdRepeat(this.state, env, regs.rcx, n);
    }
    if (leaf === LEAF.TDH_SYS_TDMR_INIT && rcxStride === 0n && LEAF_TABLE.get(leaf) === tdhSysTdmrInit) {
      return tdhSysTdmrInitRepeat(this.state, env, regs.rcx, n, this.tickStep);
    }
    return undefined;
  }

  /** JSON view of the module state (machine.state). */
  snapshot(): Record<string, unknown> {
    return { profile: this.profile.name, version: releaseString(this.profile), ...this.state.snapshot() };
  }
}
