import { EINVAL, MmError, VM_EVENT, list_del, list_next, type Machine, type PageListHeads, type Pfn } from '@mm/core';
import type { BalloonDevInfo } from './balloon-dev-info.js';
import { adjust_managed_page_count, assertDevice, assertNewBalloonPage, insertPage, modBalloonPages } from './balloon-page.js';

/**
 * Inflating (`mm/balloon.c`, 2026): `balloon_page_enqueue` and `balloon_page_list_enqueue` turn
 * pages the driver allocated with `balloon_page_alloc` into balloon pages.
 *
 * @module
 */

/**
 * `balloon_page_enqueue_one(b_dev_info, page)`: insert the page; managed pages −1 if the device asks
 * for it; vm event BALLOON_INFLATE; node stat NR_BALLOON_PAGES +1.
 */
function enqueueOne(m: Machine, b: BalloonDevInfo, page: Pfn): void {
  insertPage(m, b, page);
  if (b.adjust_managed_page_count) adjust_managed_page_count(m, page, -1);
  m.vmEvents[VM_EVENT.balloon_inflate]!++;
  modBalloonPages(m, page, 1);
  b.nrBalloonPagesStat++;
}

/**
 * `balloon_page_enqueue(b_dev_info, page)` (`mm/balloon.c`): inflate one page the driver allocated
 * (with `balloon_page_alloc`) and will give to the hypervisor. The page keeps the driver's reference.
 * `MmError(EINVAL)`, with nothing changed, for a page that cannot be a new balloon page: already
 * inflated (enqueued twice), free, compound, typed, mapped, or with `page->lru` in use.
 */
export function balloon_page_enqueue(m: Machine, b: BalloonDevInfo, page: Pfn): void {
  assertDevice(m, b, 'balloon_page_enqueue');
  assertNewBalloonPage(m, page, 'balloon_page_enqueue', false);
  enqueueOne(m, b, page);
  if (m.debugVm) m.checkInvariants('balloon_page_enqueue');
}

/**
 * `balloon_page_list_enqueue(b_dev_info, pages)` (`mm/balloon.c`): inflate every page of the caller's
 * list (list 0 of `pages`, linked through `lru`, e.g. built with the core's `list_add`), taking each
 * off that list. Returns the number of pages enqueued. Every page is checked first (as for
 * {@link balloon_page_enqueue}); one bad page rejects the whole list with `MmError(EINVAL)` and
 * nothing changes.
 */
export function balloon_page_list_enqueue(m: Machine, b: BalloonDevInfo, pages: PageListHeads): number {
  const fn = 'balloon_page_list_enqueue';
  assertDevice(m, b, fn);
  const lru = m.memmap.lru;
  let n = 0;
  for (let p = pages.heads[0]!; p >= 0; p = list_next(lru, p)) {
    if (++n > lru.length) throw new MmError(EINVAL, `${fn}: the list loops`, { pfn: p, rule: 'a well-formed list_head' });
    assertNewBalloonPage(m, p, fn, true);
  }
  if (n !== pages.counts[0]) throw new MmError(EINVAL, `${fn}: list holds ${n} pages, its count says ${pages.counts[0]}`, { rule: 'a well-formed list_head' });
  for (let p = pages.heads[0]!; p >= 0; p = pages.heads[0]!) {
    list_del(lru, m.memmap.lruPrev, pages, 0, p);
    enqueueOne(m, b, p as Pfn);
  }
  if (m.debugVm) m.checkInvariants(fn);
  return n;
}
