/**
 * Kernel errno values (`include/uapi/asm-generic/errno-base.h`, `errno.h`), as positive numbers.
 * Functions that return an error code in the kernel return the negated value (`-EAGAIN`), exactly as
 * the kernel does; thrown {@link MmError}s carry the positive value in `errno`.
 *
 * @module
 */

/** Operation not permitted. */
export const EPERM = 1;
/** No such file or directory (balloon migration: "old page was deflated"). */
export const ENOENT = 2;
/** Interrupted system call (memory offlining given up, "signal backoff"). */
export const EINTR = 4;
/** No such device or address (memremap_pages on System RAM). */
export const ENXIO = 6;
/** Try again: a temporary failure the caller may retry. */
export const EAGAIN = 11;
/** Out of memory. */
export const ENOMEM = 12;
/** Bad address. */
export const EFAULT = 14;
/** Device or resource busy. */
export const EBUSY = 16;
/** Already exists. */
export const EEXIST = 17;
/** No such device. */
export const ENODEV = 19;
/** Invalid argument. */
export const EINVAL = 22;
/** No space left on device (hugetlb subpool, zs_malloc over PAGE_SIZE). */
export const ENOSPC = 28;
/** Result out of range. */
export const ERANGE = 34;
/** Operation not supported (migrating an inaccessible mapping such as guest_memfd). */
export const EOPNOTSUPP = 95;
/** Operation not supported on transport endpoint... (kernel-internal alias used by a few mm paths). */
export const ENOTSUPP = 524;

const NAMES: Readonly<Record<number, string>> = {
  [EPERM]: 'EPERM',
  [ENOENT]: 'ENOENT',
  [EINTR]: 'EINTR',
  [ENXIO]: 'ENXIO',
  [EAGAIN]: 'EAGAIN',
  [ENOMEM]: 'ENOMEM',
  [EFAULT]: 'EFAULT',
  [EBUSY]: 'EBUSY',
  [EEXIST]: 'EEXIST',
  [ENODEV]: 'ENODEV',
  [EINVAL]: 'EINVAL',
  [ENOSPC]: 'ENOSPC',
  [ERANGE]: 'ERANGE',
  [EOPNOTSUPP]: 'EOPNOTSUPP',
  [ENOTSUPP]: 'ENOTSUPP',
};

/**
 * The symbolic name of an errno (`errname(11) === 'EAGAIN'`); accepts negated values too.
 * Models `errname()` from `lib/errname.c`.
 */
export function errname(errno: number): string {
  return NAMES[Math.abs(errno)] ?? `E${Math.abs(errno)}`;
}
