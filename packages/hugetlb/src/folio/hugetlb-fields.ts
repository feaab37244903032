import { LIST_HEAD_PTR, id_ptr, list_add, list_add_tail, list_del, ptr_id, ptr_pfn, type Folio, type Machine, type PageListHeads } from '@mm/core';

/**
 * Where a hugetlb folio keeps its hugetlb-only fields in the model's memmap.
 *
 * - `_hugetlb_list` (series 1, RFC v1 patch 6): the free/active list link. The RFC put it in page 3
 *   of the v6.12 folio; in the v6.18 layout this model follows, page 3 holds the subpool and cgroup
 *   pointers, so the link lives in **page 2's `lru.prev` and `mapping` words** — the words of
 *   `_deferred_list`, which hugetlb folios never use. `next` is page 2's `lruPrev`, `prev` is page 2's
 *   `mapping`; the list entries are the PFNs `folio + 2`. Both words are 0 whenever the folio is on no
 *   list, which is what the page allocator's `free_tail_page_prepare` checks for page 2.
 * - page 3 (`_flags_3`, `_head_3`, then): `_hugetlb_subpool` in `lru.prev`, `_hugetlb_cgroup` in
 *   `mapping`, `_hugetlb_cgroup_rsvd` in `index` (object ids encoded `id * 4`, 0 = NULL).
 *
 * `folio->lru` itself (head `lru`/`lruPrev`) is left to the owner-ops tag (series 1) and to a
 * caller's isolation list.
 *
 * @module
 */

/** Link `folio` at the front of list `li` through its `_hugetlb_list` (`list_add`). */
export function hugetlb_list_add(m: Machine, l: PageListHeads, li: number, folio: Folio): void {
  list_add(m.memmap.lruPrev, m.memmap.mapping, l, li, folio + 2);
}

/** Link `folio` at the end of list `li` through its `_hugetlb_list` (`list_add_tail`). */
export function hugetlb_list_add_tail(m: Machine, l: PageListHeads, li: number, folio: Folio): void {
  list_add_tail(m.memmap.lruPrev, m.memmap.mapping, l, li, folio + 2);
}

/** Unlink `folio` from list `li` (`list_del(&folio->_hugetlb_list)`); both link words become 0. */
export function hugetlb_list_del(m: Machine, l: PageListHeads, li: number, folio: Folio): void {
  list_del(m.memmap.lruPrev, m.memmap.mapping, l, li, folio + 2);
}

/** The first folio on list `li`, or -1. */
export function hugetlb_list_first(l: PageListHeads, li: number): Folio | -1 {
  const e = l.heads[li]!;
  return e < 0 ? -1 : ((e - 2) as Folio);
}

/** The folio after `folio` on its list, or -1 (`list_next_entry`). */
export function hugetlb_list_next(m: Machine, folio: Folio): Folio | -1 {
  const n = m.memmap.lruPrev[folio + 2]!;
  return n === LIST_HEAD_PTR ? -1 : ((ptr_pfn(n) - 2) as Folio);
}

/** True if `folio` is linked on some list through `_hugetlb_list`. */
export function hugetlb_list_linked(m: Machine, folio: Folio): boolean {
  const n = m.memmap.lruPrev[folio + 2]!;
  return n !== 0 && (n & 3) === 0;
}

/** `hugetlb_folio_subpool(folio)`: the subpool id stored on page 3, 0 for none. */
export function hugetlb_folio_subpool(m: Machine, folio: Folio): number {
  return ptr_id(m.memmap.lruPrev[folio + 3]!);
}

/** `hugetlb_set_folio_subpool(folio, subpool)`: store a subpool id (0 for NULL) on page 3. */
export function hugetlb_set_folio_subpool(m: Machine, folio: Folio, id: number): void {
  m.memmap.lruPrev[folio + 3] = id_ptr(id);
}

/** `hugetlb_cgroup_from_folio(folio)`: the id of the cgroup charged for the fault, 0 for none. */
export function hugetlb_cgroup_from_folio(m: Machine, folio: Folio): number {
  return ptr_id(m.memmap.mapping[folio + 3]!);
}

/** `set_hugetlb_cgroup(folio, h_cg)`. */
export function set_hugetlb_cgroup(m: Machine, folio: Folio, id: number): void {
  m.memmap.mapping[folio + 3] = id_ptr(id);
}

/** `hugetlb_cgroup_from_folio_rsvd(folio)`: the id of the cgroup charged for a reservation this folio carries. */
export function hugetlb_cgroup_from_folio_rsvd(m: Machine, folio: Folio): number {
  return ptr_id(m.memmap.index[folio + 3]!);
}

/** `set_hugetlb_cgroup_rsvd(folio, h_cg)`. */
export function set_hugetlb_cgroup_rsvd(m: Machine, folio: Folio, id: number): void {
  m.memmap.index[folio + 3] = id_ptr(id);
}
