import { EINVAL, MmError, VM_EVENT, list_add, list_del, type Machine, type PageListHeads, type Pfn } from '@mm/core';
import type { BalloonDevInfo } from './balloon-dev-info.js';
import { adjust_managed_page_count, assertDevice, finalizePage, modBalloonPages } from './balloon-page.js';

/**
 * Deflating (`mm/balloon.c`, 2026): `balloon_page_dequeue` and `balloon_page_list_dequeue` take
 * pages off a device's list and hand them back to the driver, which tells the hypervisor and frees
 * them. Isolated pages are never on the list (series 2, patch 1), so dequeue can never return one.
 *
 * @module
 */

/**
 * Take the first page off `b.pages` and deflate it: managed pages +1 if the device asks for it,
 * `balloon_page_finalize`, vm event BALLOON_DEFLATE, node stat NR_BALLOON_PAGES −1. Returns the page
 * (its `lru` words unlinked) or -1 if the list is empty.
 */
function dequeueOne(m: Machine, b: BalloonDevInfo): Pfn | -1 {
  const page = b.pages.heads[0]!;
  if (page < 0) return -1;
  list_del(m.memmap.lru, m.memmap.lruPrev, b.pages, 0, page);
  if (b.adjust_managed_page_count) adjust_managed_page_count(m, page as Pfn, 1);
  finalizePage(m, page as Pfn);
  m.vmEvents[VM_EVENT.balloon_deflate]!++;
  modBalloonPages(m, page as Pfn, -1);
  b.nrBalloonPagesStat--;
  return page as Pfn;
}

/**
 * `balloon_page_list_dequeue(b_dev_info, pages, n_req_pages)` (`mm/balloon.c`): deflate up to
 * `n_req_pages` pages, moving them to the caller's list (list 0 of `pages`, linked through `lru`).
 * Returns how many were moved: fewer than asked if the list runs out, which also happens while pages
 * are isolated for migration (the kernel documents this; it is not an error). Each returned page still
 * has the driver's reference and, under sticky page types, PageOffline until it is freed.
 * `MmError(EINVAL)` if `n_req_pages` is not a non-negative integer.
 */
export function balloon_page_list_dequeue(m: Machine, b: BalloonDevInfo, pages: PageListHeads, n_req_pages: number): number {
  assertDevice(m, b, 'balloon_page_list_dequeue');
  if (!(Number.isInteger(n_req_pages) && n_req_pages >= 0)) {
    throw new MmError(EINVAL, `balloon_page_list_dequeue: n_req_pages ${n_req_pages}`, { rule: 'a count of pages ≥ 0' });
  }
  let n = 0;
  while (n < n_req_pages) {
    const page = dequeueOne(m, b);
    if (page < 0) break;
    list_add(m.memmap.lru, m.memmap.lruPrev, pages, 0, page);
    n++;
  }
  if (m.debugVm) m.checkInvariants('balloon_page_list_dequeue');
  return n;
}

/**
 * `balloon_page_dequeue(b_dev_info)` (`mm/balloon.c`): deflate one page and return it (with the
 * driver's reference), or -1 (NULL) if none could be taken because every inflated page is isolated
 * for migration right now. If the device has no inflated page at all, the driver's accounting is
 * wrong ("balloon pages are lost"): the kernel BUG()s; the model throws `MmError(EINVAL)` (deflating
 * more than was inflated) and nothing changes.
 */
export function balloon_page_dequeue(m: Machine, b: BalloonDevInfo): Pfn | -1 {
  assertDevice(m, b, 'balloon_page_dequeue');
  if (b.pages.counts[0] === 0 && b.isolated_pages === 0) {
    throw new MmError(EINVAL, `balloon_page_dequeue: balloon ${b.id} (${b.name}) has no inflated page`, {
      rule: 'deflate at most what was inflated (the kernel BUG()s: balloon pages lost)',
    });
  }
  const page = dequeueOne(m, b);
  if (m.debugVm) m.checkInvariants('balloon_page_dequeue');
  return page;
}
