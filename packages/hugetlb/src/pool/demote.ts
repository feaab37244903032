import { EBUSY, EINVAL, PAGE_SHIFT, folio_test_hwpoison, prep_compound_page, type Folio, type Machine, type Pfn } from '@mm/core';
import { hugetlb_list_first, hugetlb_list_next } from '../folio/hugetlb-fields.js';
import { pages_per_huge_page, size_to_hstate, type Hstate } from '../hstate.js';
import { deferred } from '../internal/deferred.js';
import { destroy_compound_gigantic_folio } from './fresh.js';
import { hstate_next_node_to_free, nodes_weight, type NodeMask } from './nodes.js';
import { add_hugetlb_folio, init_new_hugetlb_folio, prep_and_add_allocated_folios, remove_hugetlb_folio } from './queue.js';
import { hugetlb_vmemmap_restore_folio } from './vmemmap.js';

/**
 * Demotion (`demote_pool_huge_page`, `demote_free_hugetlb_folios`, v6.14, kernel-semantics §4.7):
 * split free folios of one size into free folios of a smaller size. The removed source folios are
 * chained on a local list through `folio->lru` in the kernel (commit 89a41a026329, series 1 patch 5)
 * — here a plain array — and the new folios are built in place.
 *
 * @module
 */

/**
 * `demote_free_hugetlb_folios(src, dst, src_list)`: restore the vmemmap of every removed folio (those
 * that fail stay in `srcList` for the caller to re-add; the first failure is returned), then split each
 * restored folio into `dst`-sized compound folios (`prep_compound_page`, `init_new_hugetlb_folio`) and
 * add them to `dst`'s pool. Returns 0 or the restore error.
 */
export function demote_free_hugetlb_folios(m: Machine, src: Hstate, dst: Hstate, srcList: Folio[]): number {
  let rc = 0;
  const restored: Folio[] = [];
  const failed: Folio[] = [];
  for (const folio of srcList) {
    const r = hugetlb_vmemmap_restore_folio(m, src, folio);
    if (r < 0) {
      rc = r;
      failed.push(folio);
    } else restored.push(folio);
  }
  srcList.length = 0;
  srcList.push(...failed);
  const step = pages_per_huge_page(dst);
  const dstList: Folio[] = [];
  for (const folio of restored) {
    destroy_compound_gigantic_folio(m, folio, src.order);
    m.memmap.lru[folio] = 0; // clear_compound_head(): the head's lru word (owner ops, series 1) too
    for (let i = 0; i < pages_per_huge_page(src); i += step) {
      const page = (folio + i) as Pfn;
      prep_compound_page(m, page, dst.order);
      m.memmap.private[page] = 0;
      m.memmap.mapping[page] = 0;
      init_new_hugetlb_folio(m, dst, page as Folio);
      dstList.push(page as Folio);
    }
  }
  prep_and_add_allocated_folios(m, dst, dstList);
  return rc;
}

/**
 * `demote_pool_huge_page(src, nodes_allowed, nr_to_demote)`: round robin over the nodes, take up to
 * `nr_to_demote` non-hwpoisoned free folios out of `src`'s pool, demote them, put back any whose vmemmap
 * could not be restored; `src.max_huge_pages` drops by the number demoted and `dst.max_huge_pages`
 * grows by that many times the size ratio (bytes are conserved). Returns the number demoted, a restore
 * error, `-EINVAL` without a demote size, or `-EBUSY` if only hwpoisoned folios were free.
 */
export function demote_pool_huge_page(m: Machine, src: Hstate, nodesAllowed: NodeMask, nrToDemote: number): number {
  if (!src.demote_order) return -EINVAL;
  return deferred(m, 'demote_pool_huge_page', () => demotePool(m, src, nodesAllowed, nrToDemote));
}

function demotePool(m: Machine, src: Hstate, nodesAllowed: NodeMask, nrToDemote: number): number {
  const dst = size_to_hstate(src.pool, 2 ** (src.demote_order + PAGE_SHIFT))!;
  let nrDemoted = 0;
  let rc = 0;
  for (let nr = nodes_weight(nodesAllowed); nr > 0; nr--) {
    const node = hstate_next_node_to_free(src, nodesAllowed);
    const list: Folio[] = [];
    for (let f = hugetlb_list_first(src.hugepage_freelists, node); f >= 0 && nrDemoted < nrToDemote; ) {
      const folio = f as Folio;
      f = hugetlb_list_next(m, folio);
      if (folio_test_hwpoison(m, folio)) continue;
      remove_hugetlb_folio(m, src, folio, false);
      list.push(folio);
      nrDemoted++;
    }
    rc = demote_free_hugetlb_folios(m, src, dst, list);
    for (const folio of list) {
      add_hugetlb_folio(m, src, folio, false);
      nrDemoted--;
    }
    if (rc < 0 || nrDemoted === nrToDemote) break;
  }
  src.max_huge_pages -= nrDemoted;
  dst.max_huge_pages += nrDemoted * (pages_per_huge_page(src) / pages_per_huge_page(dst));
  if (rc < 0) return rc;
  if (nrDemoted) return nrDemoted;
  return -EBUSY;
}
