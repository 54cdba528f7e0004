/**
 * The errno values the host side returns, and the one table that maps SEAMCALL outcomes to
 * them. Kernel functions return a KernelStatus: 0 on success or a negative errno.
 * @see linux include/uapi/asm-generic/errno-base.h, errno.h
 * @see linux arch/x86/virt/vmx/tdx/tdx.c sc_retry_prerr()
 */

/** Errno numbers, as in Linux. */
export const EPERM = 1;
export const ENOENT = 2;
export const EIO = 5;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const ENODEV = 19;
export const EINVAL = 22;
export const ENOSPC = 28;
export const ENOSYS = 38;
export const EAGAIN = 11;
export const EOPNOTSUPP = 95;

/** 0 or a negative errno. */
export type KernelStatus = number;

const NAMES: Record<number, string> = {
  [EPERM]: 'EPERM',
  [ENOENT]: 'ENOENT',
  [EIO]: 'EIO',
  [ENOMEM]: 'ENOMEM',
  [EACCES]: 'EACCES',
  [EFAULT]: 'EFAULT',
  [EBUSY]: 'EBUSY',
  [ENODEV]: 'ENODEV',
  [EINVAL]: 'EINVAL',
  [ENOSPC]: 'ENOSPC',
  [ENOSYS]: 'ENOSYS',
  [EAGAIN]: 'EAGAIN',
  [EOPNOTSUPP]: 'EOPNOTSUPP',
};

/** "-ENOMEM" style name of a status (for reports), "0" for success. */
export function errname(ret: KernelStatus): string {
  if (ret === 0) {
    return '0';
  }
  const n = NAMES[-ret];
  return n === undefined ? String(ret) : `-${n}`;
}
