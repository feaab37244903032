import { assertValidPfn, type Machine, type Pfn } from '@mm/core';
import type { DevPagemap } from './dev-pagemap.js';
import { page_get_pgmap } from './page-pgmap.js';

/**
 * FS-DAX idle-page waits (`fs/dax.c`, `kernel/sched/wait_bit.c`). Since v6.15 FS_DAX page refcounts
 * are 0-based: a page is idle at refcount 0, and truncate/hole-punch (`dax_break_layout`) waits with
 * `wait_var_event(page, dax_page_is_idle(page))` until `free_zone_device_folio` wakes it. The model
 * cannot sleep: a waiter is a continuation.
 *
 * @module
 */

/** `dax_page_is_idle(page)` (`include/linux/dax.h`): the page's refcount is 0. */
export function dax_page_is_idle(m: Machine, page: Pfn): boolean {
  return m.memmap.refcount[page] === 0;
}

/**
 * `wait_page_idle(page, cb, inode)` (`fs/dax.c`) as a continuation: if the page is idle, run `onIdle`
 * now and return true; otherwise queue it until `free_zone_device_folio` wakes the page, and return
 * false.
 */
export function wait_page_idle(m: Machine, page: Pfn, onIdle: () => void): boolean {
  assertValidPfn(m, page, 'wait_page_idle');
  if (dax_page_is_idle(m, page)) {
    onIdle();
    return true;
  }
  const pgmap = page_get_pgmap(m, page);
  const q = pgmap.waiters.get(page);
  if (q) q.push(onIdle);
  else pgmap.waiters.set(page, [onIdle]);
  return false;
}

/** `wake_up_var(&folio->page)`: count the wake-up and run the page's waiters whose condition now holds. */
export function wake_up_var(m: Machine, pgmap: DevPagemap, page: Pfn): void {
  pgmap.wakeups++;
  const q = pgmap.waiters.get(page);
  if (q === undefined || !dax_page_is_idle(m, page)) return;
  pgmap.waiters.delete(page);
  for (const fn of q) fn();
}
