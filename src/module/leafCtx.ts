/**
 * What a leaf handler gets: the module state, the calling LP's SEAM environment, the register
 * image (inputs on entry; the handler edits the outputs in place), and lock bookkeeping. Every
 * lock taken through `hold()` is released by the dispatcher when the leaf returns, on success and
 * error paths alike (the module's EXIT: ladder).
 * @see TDX module ABI section 1.1 (registers not written are returned unchanged)
 */
import type { U64 } from '../base/u64.js';
import type { Prog, Step } from '../platform/Exec.js';
import type { SeamEnv, SeamRegs } from '../platform/Seam.js';
import type { ModuleState } from './globalState.js';
import type { MetadataSource, MetadataTable } from './metadata.js';
import type { ModuleProfile } from './profiles.js';
import type { LockMode, TryLock } from './TryLock.js';

/** Simulated-time costs the module charges (from the platform's cost table). */
export interface ModuleCosts {
  /** One TDH.SYS.TDMR.INIT call. */
  readonly tdmrInitCallNs: number;
  /** Per 64-byte line written with MOVDIR64B or flushed. */
  readonly perLineNs: number;
  /** One generic step (a CACHE.WB sub-block is charged wbinvdBaseNs). */
  readonly wbinvdBaseNs: number;
}

/** A scheduling point with no cost: where another LP may run while this one holds locks. */
export const YIELD: Step = { op: 'yield', label: 'seam' };

/** A leaf handler: reads and edits `ctx.regs`, returns the status for RAX. */
export type LeafHandler = (ctx: LeafCtx) => Prog<U64>;

/** Per-SEAMCALL context. */
export class LeafCtx {
  // The first lock held lives in fields (most leaves take one or two); more go to `held`.
  private lock0: TryLock | undefined;
  private mode0: LockMode = 'shared';
  private held: (TryLock | LockMode)[] | undefined;

  constructor(
    readonly m: ModuleState,
    readonly meta: MetadataTable,
    readonly profile: ModuleProfile,
    readonly costs: ModuleCosts,
    readonly env: SeamEnv,
    readonly regs: SeamRegs,
    readonly lp: number,
    readonly version: number,
    /** The Step a TDH.SYS.TDMR.INIT call yields (allocated once per module). */
    readonly tickStep: Step,
  ) {}

  /** Try to take `lock` in `mode`; on success it is released when the leaf returns. */
  hold(lock: TryLock, mode: LockMode): boolean {
    if (!lock.tryAcquire(mode, this.lp)) {
      return false;
    }
    if (this.lock0 === undefined) {
      this.lock0 = lock;
      this.mode0 = mode;
    } else {
      (this.held ??= []).push(lock, mode);
    }
    return true;
  }

  /** Promote a shared hold taken through `hold()` to exclusive (TryLock.tryPromote). */
  promote(lock: TryLock): boolean {
    if (!lock.tryPromote(this.lp)) {
      return false;
    }
    if (this.lock0 === lock) {
      this.mode0 = 'exclusive';
    } else if (this.held !== undefined) {
      const i = this.held.lastIndexOf(lock);
      if (i >= 0) {
        this.held[i + 1] = 'exclusive';
      }
    }
    return true;
  }

  /** Release every lock taken through `hold()`, most recent first. */
  releaseAll(): void {
    const h = this.held;
    if (h !== undefined) {
      for (let i = h.length - 2; i >= 0; i -= 2) {
        (h[i] as TryLock).release(h[i + 1] as LockMode);
      }
      this.held = undefined;
    }
    if (this.lock0 !== undefined) {
      this.lock0.release(this.mode0);
      this.lock0 = undefined;
    }
  }

  /** Where metadata values come from. */
  metaSource(): MetadataSource {
    return { profile: this.profile, numPkgs: this.m.sysinfo.totNumSockets, pkgFms: this.m.sysinfo.fms, cmrs: this.m.sysinfo.cmrs, sysAttributes: this.m.sysAttributes, handoff: this.m.handoff };
  }

  /** Metadata value by name (0 when the field does not exist in this profile). */
  metaValue(name: string): number {
    return Number(this.meta.valueByName(this.metaSource(), name) ?? 0n);
  }
}
