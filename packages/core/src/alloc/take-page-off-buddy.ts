import { MmError } from '../debug/mm-error.js';
import { assertValidPfn } from '../debug/validate.js';
import { EINVAL } from '../errno.js';
import type { Machine } from '../machine/machine.js';
import { PGTY } from '../page/page-type.js';
import { MAX_PAGE_ORDER } from '../types.js';
import { __add_to_free_list, account_freepages, buddy_order, del_page_from_free_list, set_buddy_order } from './buddy.js';
import { get_pfnblock_migratetype } from './migratetype.js';
import type { Zone } from './zone.js';

/**
 * Taking one specific block off the buddy free lists, wherever it lies inside a larger free block
 * (`mm/page_alloc.c`, CONFIG_MEMORY_FAILURE): what `take_page_off_buddy` does for a page that is to
 * be poisoned, generalised to a block of any order for callers that must reproduce a known
 * allocation, such as the import of a kernel page-allocator trace.
 *
 * @module
 */

const BUDDY = PGTY.buddy << 24;

/**
 * `break_down_buddy_pages(zone, page, target, low, high, migratetype)` (`mm/page_alloc.c`): split the
 * free block of order `high` at `page` (already off its list) down to order `low`, putting every half
 * that does not contain `target` back on the free lists of `migratetype`, so that only the block of
 * order `low` at `target` stays out. Debug-pagealloc guard pages are not modelled. Returns the number
 * of pages put back (the kernel's `add_to_free_list` accounts them; here the caller does, with
 * `account_freepages`, as {@link expand}'s callers do).
 */
export function break_down_buddy_pages(m: Machine, zone: Zone, page: number, target: number, low: number, high: number, mt: number): number {
  let size = 1 << high;
  let added = 0;
  while (high > low) {
    high--;
    size >>= 1;
    let currentBuddy: number;
    if (target >= page + size) {
      currentBuddy = page;
      page += size;
    } else {
      currentBuddy = page + size;
    }
    __add_to_free_list(m, zone, currentBuddy, high, mt, false);
    set_buddy_order(m, currentBuddy, high);
    added += size;
  }
  return added;
}

/**
 * The first PFN of the free buddy block that contains `pfn` (as the loop of `take_page_off_buddy` and
 * `is_free_buddy_page` find it: the aligned candidate heads of each order, stopping at a head that is
 * in use), or -1 if `pfn` is not on the buddy free lists (it is allocated, on a per-CPU list, or not
 * in a zone).
 */
export function freeBlockContaining(m: Machine, pfn: number): number {
  const { mapcount, private: priv, refcount } = m.memmap;
  for (let order = 0; order <= MAX_PAGE_ORDER; order++) {
    const head = pfn - (pfn & ((1 << order) - 1));
    if (mapcount[head] === BUDDY && priv[head]! >= order) return head;
    if (refcount[head]! > 0) break;
  }
  return -1;
}

/**
 * Take the block of `order` at `pfn` off the buddy free lists: find the free block that contains it,
 * unlink it (`del_page_from_free_list`) and give the rest back (`break_down_buddy_pages`), exactly as
 * `take_page_off_buddy(page)` does for one page — this is its generalisation to a block of any order
 * (the kernel has no such function: the allocator only takes the first block of a list). The block
 * is left as the allocator leaves a block it hands out before `prep_new_page`: refcount 0, no page
 * type, `private` 0; NR_FREE_PAGES drops by `1 << order`.
 *
 * Returns false, changing nothing, if the block is not entirely inside one free buddy block (part of
 * it is allocated, on a per-CPU list — drain those first — or split over blocks that could not merge).
 * `MmError(EINVAL)` for a PFN without a struct page, an order above MAX_PAGE_ORDER or a `pfn` not
 * aligned to `1 << order`.
 */
export function takeBlockOffBuddy(m: Machine, pfn: number, order: number): boolean {
  assertValidPfn(m, pfn, 'takeBlockOffBuddy');
  if (!(Number.isInteger(order) && order >= 0 && order <= MAX_PAGE_ORDER) || (pfn & ((1 << order) - 1)) !== 0) {
    throw new MmError(EINVAL, `takeBlockOffBuddy: order ${order} block at an unaligned or invalid place`, {
      pfn,
      rule: 'a block of order k starts at a PFN aligned to 2^k, k ≤ MAX_PAGE_ORDER',
    });
  }
  const head = freeBlockContaining(m, pfn);
  if (head < 0) return false;
  const headOrder = buddy_order(m, head);
  if (headOrder < order) return false;
  const zone = m.zoneById[m.memmap.flags[head]! >>> 24]!;
  const mt = get_pfnblock_migratetype(m, head);
  del_page_from_free_list(m, zone, head, headOrder, mt);
  account_freepages(zone, break_down_buddy_pages(m, zone, head, pfn, order, headOrder, mt), mt);
  if (m.debugVm) m.checkInvariants('takeBlockOffBuddy');
  return true;
}

/**
 * `take_page_off_buddy(page)` (`mm/page_alloc.c`, CONFIG_MEMORY_FAILURE): take one free page off the
 * buddy lists, splitting the free block that holds it; true on success. The kernel then marks the
 * page `PageHWPoisonTakenOff`; the model leaves the marking to the caller.
 */
export function take_page_off_buddy(m: Machine, pfn: number): boolean {
  return takeBlockOffBuddy(m, pfn, 0);
}
