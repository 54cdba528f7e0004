/**
 * The module's locks: shared/exclusive try-locks that never wait. A SEAMCALL that cannot take a
 * lock fails at once with TDX_SYS_BUSY or TDX_OPERAND_BUSY; it is the caller's job to retry.
 * Locks are held across a scheduling point (`yield`) inside the leaf, so that another LP running
 * concurrently can observe them.
 * @see TDX module ABI section 7.2; intel/tdx-module tdx_locks.h acquire_sharex_lock_ex()
 */

/** Lock mode. */
export type LockMode = 'shared' | 'exclusive';

/** A shared/exclusive try-lock. */
export class TryLock {
  private exclusiveOwner = -1;
  private sharedCount = 0;

  /** Try to take the lock in `mode` for `lp`; false when it conflicts. */
  tryAcquire(mode: LockMode, lp: number): boolean {
    if (this.exclusiveOwner >= 0) {
      return false;
    }
    if (mode === 'exclusive') {
      if (this.sharedCount > 0) {
        return false;
      }
      this.exclusiveOwner = lp;
      return true;
    }
    this.sharedCount++;
    return true;
  }

  /**
   * Promote the caller's shared hold to exclusive: only when it is the single reader (otherwise
   * OPERAND_BUSY; the host-priority bit the real lock then sets is not modelled).
   * @see intel/tdx-module 1.5.01 src/common/helpers/tdx_locks.h promote_sharex_lock_hp()
   */
  tryPromote(lp: number): boolean {
    if (this.exclusiveOwner >= 0 || this.sharedCount !== 1) {
      return false;
    }
    this.sharedCount = 0;
    this.exclusiveOwner = lp;
    return true;
  }

  /** Release a hold taken in `mode`. */
  release(mode: LockMode): void {
    if (mode === 'exclusive') {
      this.exclusiveOwner = -1;
    } else if (this.sharedCount > 0) {
      this.sharedCount--;
    }
  }

  /** True when nobody holds the lock. */
  get free(): boolean {
    return this.exclusiveOwner < 0 && this.sharedCount === 0;
  }

  /** Who holds it, for machine.state. */
  describe(): string {
    return this.exclusiveOwner >= 0 ? `exclusive(lp${this.exclusiveOwner})` : this.sharedCount > 0 ? `shared(${this.sharedCount})` : 'free';
  }
}
