/**
 * The module's own state, all of it in SEAMRR: the system lifecycle, what SYS.INIT latched from
 * the platform, per-LP and per-package state, the TDMR table, the Key Ownership Table, the
 * write-back tracker of TDH.PHYMEM.CACHE.WB, handoff data, the PAMT and the TDs. It is not reset
 * by a kexec of the host kernel; only a new module load (a new ModuleState) resets it.
 * @see TDX module ABI sections 2, 7; intel/tdx-module tdx_global_data.h
 */
import { CowTable } from '../base/cow.js';
import type { U64 } from '../base/u64.js';
import { TryLock } from './TryLock.js';
import { Pamt } from './pamt.js';
import type { TdState } from './tdState.js';

/** `global_state.sys_state` values. */
export const SYS_STATE = { SYSINIT_PENDING: 0, SYSINIT_DONE: 1, SYSCONFIG_DONE: 2, SYS_READY: 3, SYS_SHUTDOWN: 4 } as const;
export const SYS_STATE_NAME = ['SYSINIT_PENDING', 'SYSINIT_DONE', 'SYSCONFIG_DONE', 'SYS_READY', 'SYS_SHUTDOWN'] as const;

/** KOT entry states. */
export const HKID_STATE = { HKID_FREE: 0, HKID_ASSIGNED: 1, HKID_FLUSHED: 2, HKID_RESERVED: 3 } as const;
export const HKID_STATE_NAME = ['HKID_FREE', 'HKID_ASSIGNED', 'HKID_FLUSHED', 'HKID_RESERVED'] as const;

/** Architectural limits. */
export const MAX_PKGS = 8;
export const MAX_HKIDS = 2048;
export const MAX_TDMRS = 64;
export const MAX_RESERVED_AREAS = 16;
export const MAX_CMRS = 32;

/** What MCHECK recorded in the SEAMLDR system-information table, as the module reads it. */
export interface SysInfoTable {
  readonly totNumLps: number;
  readonly totNumSockets: number;
  /** Up to 32 CMRs (null entries have size 0). */
  readonly cmrs: readonly { readonly base: number; readonly size: number }[];
  /** Package of each LP (what LP.INIT derives from the x2APIC ID and CPUID leaf 0x1F). */
  readonly lpPackage: readonly number[];
  /** CPUID(1).EAX (PKG_FMS). */
  readonly fms: number;
}

/** A half-open range. */
export interface Range {
  readonly base: number;
  readonly size: number;
}

/** One configured TDMR. */
export interface TdmrRow {
  readonly base: number;
  readonly size: number;
  readonly pamt4k: Range;
  readonly pamt2m: Range;
  readonly pamt1g: Range;
  /** Non-null reserved areas (offset from base), the prefix up to the first null slot. */
  readonly rsvd: readonly { readonly offset: number; readonly size: number }[];
  /** PAMT entry sizes (4K, 2M, 1G) latched at CONFIG. */
  readonly entrySizes: readonly [number, number, number];
  /** Next address to initialize (TDMR.INIT progress). */
  nextInit: number;
  /** Last RDX TDMR.INIT returned (next-to-initialize rounded down to 1 GiB), as number and bigint. */
  rdxNum: number;
  rdx: U64;
  readonly mutex: TryLock;
}

/** Per-package write-back tracker (TDH.PHYMEM.CACHE.WB). */
export interface WbtEntry {
  /** Sub-block to resume from, or -1 when no interrupted operation is pending. */
  intrPoint: number;
  /** HKIDs in state HKID_FLUSHED when the operation started. */
  snapshot: number[];
  readonly mutex: TryLock;
}

/** Everything the module keeps in SEAMRR. */
export class ModuleState {
  sysState: number = SYS_STATE.SYSINIT_PENDING;
  readonly globalLock = new TryLock();
  readonly kotLock = new TryLock();
  // Latched by TDH.SYS.INIT.
  numLps = 0;
  numPkgs = 0;
  sysAttributes = 0n;
  keyIdBits = 0;
  /** First bit of the HKID field in a PA (52 - MK_TME_KEYID_BITS). */
  hkidShift = 52;
  /** 2^hkidShift: addresses at or above it have HKID bits (or bits above MAX_PA) set. */
  hkidUnit = 2 ** 52;
  privateHkidMin = 0;
  privateHkidMax = -1;
  seamrrBase = 0;
  seamrrSize = 0;
  wbinvdSubBlocks = 1;
  /** MSR values latched at TDH.SYS.INIT (replaced as a whole, never updated in place). */
  msrSnapshot: ReadonlyMap<number, bigint> = new Map<number, bigint>();
  /**
   * CPUID as TDH.SYS.INIT's LP reported it, per index of the CPUID lookup table: the bits that
   * differ from the platform's other CPUs (absent: none; the model has no CPUID values). LP.INIT
   * compares each LP's against it.
   * @see intel/tdx-module 1.5.01 (72d8cff) tdx_global_data.h cpuid_values[] ("sampled @
   *   TDHSYSINIT and verified @ TDHSYSINITLP")
   */
  cpuidSnapshot: ReadonlyMap<number, readonly [number, number, number, number]> = new Map();
  // Progress of initialization.
  numInitLps = 0;
  numInitPkgs = 0;
  pkgConfigBitmap = 0;
  /** Global private HKID (set by SYS.CONFIG, even when it then fails). */
  hkid = -1;
  readonly lpIsInit: boolean[];
  readonly lpPkg: number[];
  /** LP currently executing inside the module (SYS.SHUTDOWN's check). */
  readonly lpBusy: boolean[];
  /** LPs whose SEAMCALL entry is dead (1.0 LP.SHUTDOWN). */
  readonly lpDead: boolean[];
  readonly tdmrs: TdmrRow[] = [];
  /** Index in `tdmrs` of the row the last TDH.SYS.TDMR.INIT found (a lookup hint, no state). */
  tdmrInitHint = 0;
  /** KOT: per HKID, its HKID_STATE (copy-on-write, so snapshots share it). */
  readonly kotState = new CowTable(MAX_HKIDS);
  /** KOT: per HKID, the packages that still owe a cache write-back. */
  readonly kotWbinvd = new CowTable(MAX_HKIDS);
  /** One write-back tracker per package of the platform (at most MAX_PKGS). */
  readonly wbt: WbtEntry[];
  /**
   * The handoff data header at the start of this module's data region (valid, hv, size): written
   * by TDH.SYS.SHUTDOWN, kept across the SEAMLDR step of a runtime update, cleared (valid and size,
   * not hv) by TDH.SYS.UPDATE; TDH.SYS.RD's HANDOFF_DATA_VALID/HV/SIZE read it.
   * @see intel/tdx-module 1.5.01 (72d8cff) src/common/data_structures/loader_data.h
   *   handoff_data_header_t, tdh_sys_shutdown.c, tdh_sys_update.c, metadata_sys.c
   */
  handoff: { valid: boolean; hv: number; size: number } = { valid: false, hv: 0, size: 0 };
  /** TDH.SYS.DISABLE succeeded: the dispatcher replaces this state with a fresh one. */
  disabled = false;
  /** Handoff data a predecessor module left (installed by the SEAMLDR step), for SYS.UPDATE. */
  inheritedHandoff: { hv: number; from: ModuleState } | undefined;
  readonly pamt: Pamt;
  readonly tds = new Map<number, TdState>();

  constructor(
    readonly sysinfo: SysInfoTable,
    lpCount: number,
  ) {
    this.wbt = Array.from({ length: Math.min(MAX_PKGS, Math.max(1, sysinfo.totNumSockets)) }, () => ({ intrPoint: -1, snapshot: [], mutex: new TryLock() }));
    this.lpIsInit = new Array<boolean>(lpCount).fill(false);
    this.lpPkg = new Array<number>(lpCount).fill(-1);
    this.lpBusy = new Array<boolean>(lpCount).fill(false);
    this.lpDead = new Array<boolean>(lpCount).fill(false);
    this.pamt = new Pamt(this.tdmrs);
  }

  /** Take over the handed-off state of a predecessor module (TDH.SYS.UPDATE). */
  adopt(from: ModuleState): void {
    this.tdmrs.length = 0;
    this.tdmrs.push(...from.tdmrs.map((t) => ({ ...t, mutex: new TryLock() })));
    this.kotState.copyFrom(from.kotState);
    this.kotWbinvd.copyFrom(from.kotWbinvd);
    this.hkid = from.hkid;
    this.pkgConfigBitmap = from.pkgConfigBitmap;
    this.numInitPkgs = from.numInitPkgs;
    for (const [pa, td] of from.tds) {
      this.tds.set(pa, td);
    }
    this.pamt.adopt(from.pamt);
  }

  /** The package of `lp`: what LP.INIT latched, else what MCHECK says. */
  pkgOf(lp: number): number {
    const p = this.lpPkg[lp] ?? -1;
    return p >= 0 ? p : (this.sysinfo.lpPackage[lp] ?? 0);
  }

  /** True if `hkid` is a TDX private HKID. */
  isPrivateHkid(hkid: number): boolean {
    return hkid >= this.privateHkidMin && hkid <= this.privateHkidMax;
  }

  /** A JSON view of the whole state (machine.state and the fuzz oracle). */
  snapshot(): Record<string, unknown> {
    const kot: Record<string, { state: string; wbinvdBitmap: number }> = {};
    for (let h = 0; h < MAX_HKIDS; h++) {
      const st = this.kotState.get(h);
      if (st !== HKID_STATE.HKID_FREE || this.kotWbinvd.get(h) !== 0) {
        kot[String(h)] = { state: HKID_STATE_NAME[st] ?? String(st), wbinvdBitmap: this.kotWbinvd.get(h) };
      }
    }
    const hx = (n: number): string => `0x${n.toString(16)}`;
    return {
      sysState: SYS_STATE_NAME[this.sysState],
      numLps: this.numLps,
      numPkgs: this.numPkgs,
      numInitLps: this.numInitLps,
      numInitPkgs: this.numInitPkgs,
      pkgConfigBitmap: this.pkgConfigBitmap,
      hkid: this.hkid,
      privateHkids: this.privateHkidMax >= this.privateHkidMin ? [this.privateHkidMin, this.privateHkidMax] : [],
      globalLock: this.globalLock.describe(),
      kot,
      tdmrs: this.tdmrs.map((t) => ({
        base: hx(t.base),
        size: hx(t.size),
        nextInit: hx(t.nextInit),
        initialized: hx(t.nextInit - (t.nextInit % 0x4000_0000)),
        pamt4k: { base: hx(t.pamt4k.base), size: hx(t.pamt4k.size) },
        pamt2m: { base: hx(t.pamt2m.base), size: hx(t.pamt2m.size) },
        pamt1g: { base: hx(t.pamt1g.base), size: hx(t.pamt1g.size) },
        reserved: t.rsvd.map((r) => ({ offset: hx(r.offset), size: hx(r.size) })),
        mutex: t.mutex.describe(),
      })),
      wbt: this.wbt.slice(0, Math.max(this.numPkgs, 1)).map((w, pkg) => ({ pkg, intrPoint: w.intrPoint, snapshot: [...w.snapshot], mutex: w.mutex.describe() })),
      lps: this.lpIsInit.map((init, lp) => ({ lp, init, pkg: this.lpPkg[lp], busy: this.lpBusy[lp], dead: this.lpDead[lp] })),
      handoff: { ...this.handoff },
      tds: [...this.tds.values()].map((t) => t.snapshot()),
      pamtOwned: this.pamt.ownedPages().map((p) => ({ ...p, pa: hx(p.pa), owner: hx(p.owner) })),
      // Only when TDH.SYS.CONFIG enabled Dynamic PAMT: the 2 MiB ranges with a 4 KiB page pair.
      ...(this.pamt.dynamic ? { dynamicPamt: [...this.pamt.pairs].map(([i, [a, b]]) => ({ range: hx(i * 0x20_0000), hpa0: hx(a), hpa1: hx(b) })) } : {}),
    };
  }
}
