import { ENOMEM, folio_nid, type Folio, type Machine } from '@mm/core';
import { hstate_is_gigantic, type Hstate } from '../hstate.js';
import { alloc_fresh_hugetlb_folio, htlb_alloc_mask, update_and_free_hugetlb_folio, update_and_free_pages_bulk } from './fresh.js';
import { deferred } from '../internal/deferred.js';
import { node_states_memory } from './nodes.js';
import { enqueue_hugetlb_folio, remove_hugetlb_folio, remove_pool_hugetlb_folio } from './queue.js';

/**
 * Surplus ("overcommitted") huge pages and global reservation accounting (`mm/hugetlb.c`): surplus
 * folios come from the buddy allocator on demand while `surplus_huge_pages < nr_overcommit_huge_pages`
 * and go back to it when freed; `hugetlb_acct_memory` turns reservation requests into
 * `resv_huge_pages` changes, growing the pool with surplus folios if needed.
 *
 * @module
 */

/**
 * `alloc_surplus_hugetlb_folio(h, gfp_mask, nid, nmask)`: a fresh frozen folio counted in `nr` and
 * `surplus`, on no list, if the overcommit limit allows (never for gigantic sizes in v6.14). Returns it
 * or -1.
 */
export function alloc_surplus_hugetlb_folio(m: Machine, h: Hstate, gfp: number, nid: number): Folio | -1 {
  if (hstate_is_gigantic(h)) return -1;
  if (h.surplus_huge_pages >= h.nr_overcommit_huge_pages) return -1;
  const folio = alloc_fresh_hugetlb_folio(m, h, gfp, nid);
  if (folio < 0) return -1;
  const node = folio_nid(m, folio as Folio);
  h.surplus_huge_pages++;
  h.surplus_huge_pages_node[node]!++;
  return folio;
}

/**
 * `gather_surplus_pages(h, delta)`: make room for `delta` more reservations. If free folios already
 * cover `resv + delta`, just reserve. Otherwise allocate the missing folios as surplus (trying nodes in
 * order), enqueue as many as are needed and commit the reservation; if the allocator runs dry, free
 * what was allocated and return `-ENOMEM` with nothing reserved.
 */
export function gather_surplus_pages(m: Machine, h: Hstate, delta: number): number {
  let needed = h.resv_huge_pages + delta - h.free_huge_pages;
  if (needed <= 0) {
    h.resv_huge_pages += delta;
    return 0;
  }
  const list: Folio[] = [];
  let allocOk = true;
  for (;;) {
    let i = 0;
    for (; i < needed; i++) {
      let folio: Folio | -1 = -1;
      for (let nid = 0; nid < m.nodes.length && folio < 0; nid++) folio = alloc_surplus_hugetlb_folio(m, h, htlb_alloc_mask(h), nid);
      if (folio < 0) {
        allocOk = false;
        break;
      }
      list.push(folio as Folio);
    }
    needed = h.resv_huge_pages + delta - (h.free_huge_pages + list.length);
    if (needed > 0 && allocOk) continue;
    break;
  }
  if (needed > 0) {
    // Model: the kernel frees these through free_huge_folio(), which also subtracts NR_HUGETLB for
    // folios never counted there; they are removed as surplus directly so NR_HUGETLB stays exact.
    for (const folio of list) {
      remove_hugetlb_folio(m, h, folio, true);
      update_and_free_hugetlb_folio(m, h, folio, false);
    }
    return -ENOMEM;
  }
  needed += list.length;
  h.resv_huge_pages += delta;
  let used = 0;
  for (; used < list.length && used < needed; used++) enqueue_hugetlb_folio(m, h, list[used]!);
  for (const folio of list.slice(used)) {
    remove_hugetlb_folio(m, h, folio, true);
    update_and_free_hugetlb_folio(m, h, folio, false);
  }
  return 0;
}

/**
 * `return_unused_surplus_pages(h, unused_resv_pages)`: drop `unused` reservations, then free up to as
 * many surplus folios from the free lists (round robin over nodes with surplus) to the buddy allocator.
 */
export function return_unused_surplus_pages(m: Machine, h: Hstate, unused: number): void {
  h.resv_huge_pages -= unused;
  let nr = Math.min(unused, h.surplus_huge_pages);
  const list: Folio[] = [];
  while (nr-- > 0) {
    const folio = remove_pool_hugetlb_folio(m, h, node_states_memory(m), true);
    if (folio < 0) break;
    list.push(folio as Folio);
  }
  update_and_free_pages_bulk(m, h, list);
}

/**
 * `hugetlb_acct_memory(h, delta)`: take (`delta > 0`, through `gather_surplus_pages`) or give back
 * (`delta < 0`, through `return_unused_surplus_pages`) global reservations. Returns 0 or `-ENOMEM`.
 * (The cpuset/mempolicy check `delta > allowed_mems_nr(h)` sees every node: the model has no cpusets.)
 */
export function hugetlb_acct_memory(m: Machine, h: Hstate, delta: number): number {
  if (delta === 0) return 0;
  return deferred(m, 'hugetlb_acct_memory', () => acctMemory(m, h, delta));
}

function acctMemory(m: Machine, h: Hstate, delta: number): number {
  if (delta > 0) {
    if (gather_surplus_pages(m, h, delta) < 0) return -ENOMEM;
    if (delta > h.free_huge_pages) {
      return_unused_surplus_pages(m, h, delta);
      return -ENOMEM;
    }
    return 0;
  }
  return_unused_surplus_pages(m, h, -delta);
  return 0;
}
