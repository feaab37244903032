import { errname } from '../errno.js';

/** Where an {@link MmError} happened and which rule the call broke. */
export interface MmErrorDetail {
  /** The page frame number the call was about, if any. */
  readonly pfn?: number;
  /** The rule the call broke, in words (e.g. "folio_put on a folio with refcount 0"). */
  readonly rule: string;
}

/**
 * A rejected call: bad input that the kernel would refuse, warn about or crash on. Thrown before any
 * state changes, so the machine is exactly as it was before the call.
 *
 * `errno` is the kernel errno (positive, e.g. `EINVAL` = 22) and `code` its name.
 */
export class MmError extends Error {
  /** The kernel errno, positive. */
  readonly errno: number;
  /** The errno's name, e.g. `'EINVAL'`. */
  readonly code: string;
  /** The PFN the call was about, or `undefined`. */
  readonly pfn: number | undefined;
  /** The rule the call broke. */
  readonly rule: string;

  /** Build an error; the message names the errno, the page and the rule. */
  constructor(errno: number, message: string, detail: MmErrorDetail) {
    const where = detail.pfn === undefined ? '' : ` [pfn 0x${detail.pfn.toString(16)}]`;
    super(`${errname(errno)}: ${message}${where} (rule: ${detail.rule})`);
    this.name = 'MmError';
    this.errno = errno;
    this.code = errname(errno);
    this.pfn = detail.pfn;
    this.rule = detail.rule;
  }
}

/**
 * A broken invariant (`VM_BUG_ON` under `CONFIG_DEBUG_VM`): the model reached a state the kernel
 * must never reach. `invariant` names the rule of kernel-semantics §13 (e.g. `"§3.4 nr_free"`),
 * and `dump` is a `dump_page()`-style description of the page involved.
 */
export class VmBugError extends Error {
  /** The invariant that was violated. */
  readonly invariant: string;
  /** The `dump_page()` text of the page involved, or `''`. */
  readonly dump: string;
  /** The PFN of the page involved, or null if the violation names no page. */
  readonly pfn: number | null;

  /** Build an error naming the invariant, what was seen, the page dump and the page's PFN. */
  constructor(invariant: string, message: string, dump = '', pfn: number | null = null) {
    super(`VM_BUG: ${invariant}: ${message}${dump ? `\n${dump}` : ''}`);
    this.name = 'VmBugError';
    this.invariant = invariant;
    this.dump = dump;
    this.pfn = pfn;
  }
}
