/**
 * Memory hotplug notifications (`include/linux/memory.h`): the actions of the memory notifier chain
 * and its argument.
 *
 * @module
 */

/** `MEM_ONLINE`. */
export const MEM_ONLINE = 1 << 0;
/** `MEM_GOING_OFFLINE`: owners of PageOffline pages in the range drop their references now. */
export const MEM_GOING_OFFLINE = 1 << 1;
/** `MEM_OFFLINE`. */
export const MEM_OFFLINE = 1 << 2;
/** `MEM_GOING_ONLINE`. */
export const MEM_GOING_ONLINE = 1 << 3;
/** `MEM_CANCEL_ONLINE`. */
export const MEM_CANCEL_ONLINE = 1 << 4;
/** `MEM_CANCEL_OFFLINE`: offlining failed; owners take their pages back. */
export const MEM_CANCEL_OFFLINE = 1 << 5;

/** `struct memory_notify`: the range a notification is about. */
export interface MemoryNotify {
  /** First PFN. */
  readonly start_pfn: number;
  /** Number of pages. */
  readonly nr_pages: number;
}
