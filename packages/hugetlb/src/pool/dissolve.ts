import { EBUSY, ENOMEM, GFP, MAX_PAGE_ORDER, PageHuge, compound_head, folio_nid, folio_order, folio_test_hugetlb, type Folio, type Machine, type PageListHeads, type Pfn } from '@mm/core';
import { folio_test_hugetlb_freed } from '../folio/hugetlb-flags.js';
import { available_huge_pages, folio_hstate, type Hstate } from '../hstate.js';
import { hugetlbOf } from '../state.js';
import { __update_and_free_hugetlb_folio, alloc_buddy_hugetlb_folio, htlb_alloc_mask, update_and_free_hugetlb_folio } from './fresh.js';
import { folio_isolate_hugetlb } from './migrate.js';
import { __prep_account_new_huge_page, add_hugetlb_folio, enqueue_hugetlb_folio, init_new_hugetlb_folio, remove_hugetlb_folio } from './queue.js';
import { hugetlb_vmemmap_optimize_folio, hugetlb_vmemmap_restore_folio } from './vmemmap.js';
import { deferred } from '../internal/deferred.js';

/**
 * Giving hugetlb memory back for memory offlining, poisoning and contiguous allocation
 * (`mm/hugetlb.c`, kernel-semantics §4.6).
 *
 * @module
 */

/**
 * `dissolve_free_hugetlb_folio(folio)`: return a free hugetlb folio to the buddy allocator. 0 if the
 * folio is not (or no longer) hugetlb; `-EBUSY` if it is in use or if every free folio of its size is
 * reserved (`available_huge_pages == 0`); `-ENOMEM` if its vmemmap cannot be restored (it is then
 * re-added to the pool and `max_huge_pages` is restored). `max_huge_pages` drops by one (v6.14, also
 * for a surplus folio, whose surplus count is adjusted since the March 2025 fix).
 */
export function dissolve_free_hugetlb_folio(m: Machine, folio: Folio): number {
  if (!folio_test_hugetlb(m, folio)) return 0;
  if (m.memmap.refcount[folio] !== 0) return -EBUSY;
  const pool = hugetlbOf(m);
  const h = folio_hstate(m, pool, folio);
  if (!(available_huge_pages(h) > 0) || !folio_test_hugetlb_freed(m, folio)) return -EBUSY;
  return deferred(m, 'dissolve_free_hugetlb_folio', () => {
    const adjustSurplus = h.surplus_huge_pages_node[folio_nid(m, folio)]! > 0;
    remove_hugetlb_folio(m, h, folio, adjustSurplus);
    h.max_huge_pages--;
    if (folio_test_hugetlb(m, folio)) {
      const rc = hugetlb_vmemmap_restore_folio(m, h, folio);
      if (rc < 0) {
        add_hugetlb_folio(m, h, folio, adjustSurplus);
        h.max_huge_pages++;
        return rc;
      }
    }
    update_and_free_hugetlb_folio(m, h, folio, false);
    return 0;
  });
}

/**
 * `dissolve_free_hugetlb_folios(start_pfn, end_pfn)`: dissolve every free hugetlb folio with a page
 * in the range, stepping by the smallest huge page size; stops at the first error (folios already
 * dissolved stay dissolved).
 */
export function dissolve_free_hugetlb_folios(m: Machine, startPfn: number, endPfn: number): number {
  const pool = hugetlbOf(m);
  const step = 2 ** Math.min(...pool.hstates.map((h) => h.order));
  for (let pfn = startPfn; pfn < endPfn; pfn += step) {
    if (!PageHuge(m, pfn as Pfn)) continue;
    const rc = dissolve_free_hugetlb_folio(m, compound_head(m, pfn as Pfn) as Folio);
    if (rc) return rc;
  }
  return 0;
}

/**
 * `alloc_and_dissolve_hugetlb_folio(h, old_folio, list)`: swap a free folio out of the pool — allocate
 * a replacement on the same node from the buddy allocator (`-ENOMEM` if impossible), put it in the
 * pool in place of the old one (counters unchanged), free the old one to the buddy allocator. If the
 * old folio is in use, isolate it instead (`-EBUSY` if that fails).
 */
export function alloc_and_dissolve_hugetlb_folio(m: Machine, h: Hstate, oldFolio: Folio, list: PageListHeads | null): number {
  if (!folio_test_hugetlb(m, oldFolio)) return 0;
  if (m.memmap.refcount[oldFolio] !== 0) return folio_isolate_hugetlb(m, oldFolio, list) ? 0 : -EBUSY;
  return deferred(m, 'alloc_and_dissolve_hugetlb_folio', () => {
    const nid = folio_nid(m, oldFolio);
    const newFolio = alloc_buddy_hugetlb_folio(m, h, htlb_alloc_mask(h) | GFP.__GFP_THISNODE, nid, null);
    if (newFolio < 0) return -ENOMEM;
    init_new_hugetlb_folio(m, h, newFolio as Folio);
    hugetlb_vmemmap_optimize_folio(m, h, newFolio as Folio);
    remove_hugetlb_folio(m, h, oldFolio, false);
    __prep_account_new_huge_page(h, nid);
    enqueue_hugetlb_folio(m, h, newFolio as Folio);
    __update_and_free_hugetlb_folio(m, h, oldFolio);
    return 0;
  });
}

/**
 * `isolate_or_dissolve_huge_folio(folio, list)` (compaction, `alloc_contig_range`): 0 for a non-hugetlb
 * folio; `-ENOMEM` for a gigantic one (cyclic dependency with contiguous allocation); an in-use folio
 * is isolated (0, or `-EBUSY`); a free one is replaced and dissolved (`alloc_and_dissolve_hugetlb_folio`).
 */
export function isolate_or_dissolve_huge_folio(m: Machine, folio: Folio, list: PageListHeads | null = null): number {
  if (!folio_test_hugetlb(m, folio)) return 0;
  if (folio_order(m, folio) > MAX_PAGE_ORDER) return -ENOMEM;
  const h = folio_hstate(m, hugetlbOf(m), folio);
  if (m.memmap.refcount[folio]! > 0) return folio_isolate_hugetlb(m, folio, list) ? 0 : -EBUSY;
  return alloc_and_dissolve_hugetlb_folio(m, h, folio, list);
}
