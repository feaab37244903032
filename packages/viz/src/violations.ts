import { VmBugError, type Machine } from '@mm/core';

/**
 * Invariant violations for the memory map.
 *
 * @module
 */

/** A broken invariant, placed on the map at `pfn` when the dump names a page. */
export interface VizViolation {
  /** The invariant (`§2 refcount`). */
  readonly invariant: string;
  /** The first line of the message. */
  readonly message: string;
  /** The page the violation names, or null. */
  readonly pfn: number | null;
}

/** A {@link VizViolation} from a `VmBugError`, placed at the page it names (`VmBugError.pfn`). */
export function vizViolation(e: VmBugError): VizViolation {
  const message = e.message.replace(/^VM_BUG: [^:]*: /, '').split('\n')[0]!;
  return { invariant: e.invariant, message, pfn: e.pfn };
}

/**
 * Run the invariant checker (the core's §1–3 and every plugin's `InvariantCheck`, as
 * `m.checkInvariants` does) and return the violation it finds, if any. The checker stops at the first
 * broken invariant, so at most one is returned; other errors are rethrown.
 */
export function findViolations(m: Machine): VizViolation[] {
  try {
    m.checkInvariants('viz');
    return [];
  } catch (e) {
    if (e instanceof VmBugError) return [vizViolation(e)];
    throw e;
  }
}
