/**
 * What the reduced TD leaves need of a TD's control structures (TDR, TDCS, TDVPS, Secure EPT).
 * On hardware these live in the TD-owned pages themselves; the model keeps their decoded
 * content here, keyed by the TDR's PA, while the pages' memory effects (MOVDIR64B with the
 * right KeyID, dirty lines in the LP's cache) are applied to the platform.
 * @see TDX module ABI section 2.4; intel/tdx-module td_control_structures.h
 */
import { SecureEpt } from './SecureEpt.js';
import { TryLock } from './TryLock.js';

export type { SeptEntry } from './SecureEpt.js';

/** TDR lifecycle states. */
export const TD_LIFECYCLE = { TD_HKID_ASSIGNED: 0, TD_KEYS_CONFIGURED: 1, TD_BLOCKED: 2, TD_TEARDOWN: 3 } as const;
export const TD_LIFECYCLE_NAME = ['TD_HKID_ASSIGNED', 'TD_KEYS_CONFIGURED', 'TD_BLOCKED', 'TD_TEARDOWN'] as const;

/** TDCS op_state values. */
export const OP_STATE = {
  UNINITIALIZED: 0,
  INITIALIZED: 1,
  RUNNABLE: 2,
  LIVE_EXPORT: 3,
  PAUSED_EXPORT: 4,
  POST_EXPORT: 5,
  MEMORY_IMPORT: 6,
  STATE_IMPORT: 7,
  POST_IMPORT: 8,
  LIVE_IMPORT: 9,
  FAILED_IMPORT: 10,
} as const;
export const OP_STATE_NAME = ['UNINITIALIZED', 'INITIALIZED', 'RUNNABLE', 'LIVE_EXPORT', 'PAUSED_EXPORT', 'POST_EXPORT', 'MEMORY_IMPORT', 'STATE_IMPORT', 'POST_IMPORT', 'LIVE_IMPORT', 'FAILED_IMPORT'] as const;

/** TDCS pages needed before the TDCS exists, and the most a TD may have (6 + 1 per L2 VM). */
export const MIN_NUM_TDCS_PAGES = 6;
export const MAX_NUM_TDCS_PAGES = 9;

/**
 * TDVPS pages: TDVPR plus TDCX pages. map_tdvps() wants MIN_TDVPS_PAGES + 3 per L2 VM;
 * TDH.VP.ADDCX refuses a 16th page.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/common/data_structures/tdx_tdvps.h tdvps_pages_e
 */
export const MIN_TDVPS_PAGES = 6;
export const MAX_TDVPS_PAGES = 15;
export const TDVPS_PAGES_PER_L2_VM = 3;

/**
 * Secure EPT entry states, numbered as the public states reported in RDX bits 15:8 of SEPT
 * errors and by TDH.MEM.SEPT.RD for leaf entries (a non-leaf entry in MAPPED or BLOCKED is
 * reported as NL_MAPPED 132 or NL_BLOCKED 129, see `publicSeptState`).
 * @see intel/tdx-module 1.5.01 (72d8cff) include/auto_gen/sept_state_lookup.c public_state
 */
export const SEPT_STATE = { FREE: 0, BLOCKED: 1, PENDING: 2, PENDING_BLOCKED: 3, MAPPED: 4 } as const;

/** Public state of a SEPT entry (NL_MAPPED = 132, NL_BLOCKED = 129 for non-leaf entries). */
export function publicSeptState(state: number, leaf: boolean): number {
  if (leaf) {
    return state;
  }
  return state === SEPT_STATE.BLOCKED ? 129 : state === SEPT_STATE.MAPPED ? 132 : state;
}

/** True for the blocked SEPT states (sept_state_is_any_blocked()). */
export function septBlocked(state: number): boolean {
  return state === SEPT_STATE.BLOCKED || state === SEPT_STATE.PENDING_BLOCKED;
}

/**
 * The guest's progress through its program (see module/guest.ts): the GPA of the program, the
 * index of the next operation, and whether the guest halted at its end.
 */
export interface GuestState {
  /** GPA of the guest program: the initial RCX TDH.VP.INIT was given (RDX). */
  programGpa: number;
  /** Index of the next operation to run. */
  pc: number;
  halted: boolean;
}

/** A VCPU (TDVPR page) of a TD. */
export interface VcpuState {
  /** VCPU_READY (TDH.VP.INIT done) rather than VCPU_UNINITIALIZED. */
  initialized: boolean;
  /** LP the VCPU is associated with (assoc_lpid; -1: none). TDH.VP.INIT sets it, TDH.VP.FLUSH clears it. */
  associatedLp: number;
  /** TDCX pages added by TDH.VP.ADDCX (tdvps_pa[1..]); num_tdvps_pages = 1 + their number. */
  readonly tdcx: number[];
  /** VCPU_INDEX given by TDH.VP.INIT (-1 before). */
  vcpuIndex?: number;
  /** The guest's progress (set by TDH.VP.INIT). */
  guest?: GuestState;
  /** vcpu_epoch: the TD epoch the VCPU last entered in (TLB tracking). */
  vcpuEpoch?: number;
}

/** num_tdvps_pages of a VCPU (the TDVPR counts). */
export function numTdvpsPages(v: VcpuState): number {
  return 1 + v.tdcx.length;
}

/**
 * map_tdvps()'s check: enough TDVPS pages for the L1 VM and every L2 VM.
 * @see intel/tdx-module 1.5.01 (72d8cff) src/common/helpers/helpers.c map_tdvps()
 */
export function tdvpsComplete(td: TdState, v: VcpuState): boolean {
  return numTdvpsPages(v) >= MIN_TDVPS_PAGES + td.numL2Vms * TDVPS_PAGES_PER_L2_VM;
}

/** The decoded control structures of one TD. */
export class TdState {
  lifecycle: number = TD_LIFECYCLE.TD_HKID_ASSIGNED;
  fatal = false;
  /** Packages on which TDH.MNG.KEY.CONFIG succeeded. */
  pkgConfigBitmap = 0;
  readonly tdcx: number[] = [];
  /** 4 KiB pages owned by the TD (TDCX, TDVPR, TD pages, SEPT pages). */
  chldcnt = 0;
  opState: number = OP_STATE.UNINITIALIZED;
  readonly opStateLock = new TryLock();
  /** From TD_PARAMS at TDH.MNG.INIT. */
  gpaw = false;
  /** EPT levels below the root: 3 (4-level) or 4 (5-level). */
  septRootLevel = 3;
  maxVcpus = 0;
  numL2Vms = 0;
  /** TDCS num_vcpus: VCPU indices handed out by TDH.VP.INIT. */
  numVcpus = 0;
  /**
   * TDCS x2apic_ids[]: the x2APIC ID TDH.VP.INIT version 1 gave each VCPU index (1.5.05 and
   * later). Kept in the TDCS, not the TDVPS: VP.INIT compares a new ID with those of indices below
   * its own. Not laid out in the TDCS page (tdLayout.ts: no offset was read for it).
   * @see intel/tdx-module e98d9639 (1.5.05) src/vmm_dispatcher/api_calls/tdh_vp_init.c
   */
  readonly x2apicIds = new Map<number, number>();
  /** TDCS num_assoc_vcpus: VCPUs associated with some LP (VP.INIT/VP.ENTER add, VP.FLUSH removes). */
  numAssocVcpus = 0;
  /** TDCS td_epoch (TDH.MNG.INIT sets 1; TDH.MEM.TRACK increments). */
  tdEpoch = 1;
  /** TDCS refcount[2]: VCPUs running in the TD per epoch parity. */
  readonly epochRefcount: [number, number] = [0, 0];
  /** TDCS secure_ept_lock (the SEPT tree lock). */
  readonly septLock = new TryLock();
  /** TDCS epoch_lock. */
  readonly epochLock = new TryLock();
  /**
   * PAMT bepoch of blocked pages (by the page's PA): the TD epoch at TDH.MEM.RANGE.BLOCK. Kept
   * here rather than in the PAMT entry the module stores it in; cleared on unblock and removal.
   */
  readonly bepoch = new Map<number, number>();
  /**
   * MRTD as a hex string (48 bytes), or '' before TDH.MR.FINALIZE. The model keeps the running
   * measurement as a SHA-384 hash chain (`mrChain`), standing in for the SHA-384 context the
   * module updates block by block; MR.FINALIZE publishes it.
   */
  mrtd = '';
  mrChain = '';
  /** Number of TDH.MR.EXTEND calls (256-byte chunks measured). */
  mrExtends = 0;
  /** TD_PARAMS values the metadata fields report. */
  attributes = 0n;
  xfam = 0n;
  eptp = 0n;
  tscFrequency = 0;
  /** TDCS HP_LOCK_TIMEOUT in microseconds (TDH.MNG.INIT: DEFAULT_HP_LOCK_TIMEOUT_USEC). */
  hpLockTimeoutUsec = 1_000_000;
  /** Secure EPT entries (absent = FREE), as ranges of contiguous mappings. */
  readonly sept = new SecureEpt();
  readonly vcpus = new Map<number, VcpuState>();

  constructor(
    readonly tdrPa: number,
    readonly hkid: number,
  ) {}

  /** Number of TDCX pages added. */
  get numTdcx(): number {
    return this.tdcx.length;
  }
  /** The TDCS exists once MIN_NUM_TDCS_PAGES TDCX pages were added. */
  get tdcsAllocated(): boolean {
    return this.tdcx.length >= MIN_NUM_TDCS_PAGES;
  }

  /** JSON view for machine.state. */
  snapshot(): Record<string, unknown> {
    return {
      tdr: `0x${this.tdrPa.toString(16)}`,
      hkid: this.hkid,
      lifecycle: TD_LIFECYCLE_NAME[this.lifecycle],
      fatal: this.fatal,
      pkgConfigBitmap: this.pkgConfigBitmap,
      numTdcx: this.numTdcx,
      chldcnt: this.chldcnt,
      opState: this.tdcsAllocated ? OP_STATE_NAME[this.opState] : null,
      vcpus: [...this.vcpus.keys()].map((p) => `0x${p.toString(16)}`),
      numVcpus: this.numVcpus,
      numAssocVcpus: this.numAssocVcpus,
      septEntries: this.sept.size,
    };
  }
}
