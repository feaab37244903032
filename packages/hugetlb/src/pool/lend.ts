import { EINVAL, MmError, PAGE_TYPE_NONE, assertFolio, folio_mapcount, folio_order, folio_put, folio_test_hugetlb, prep_compound_page, type Folio, type Machine, type Pfn } from '@mm/core';
import { HPG, folio_test_hugetlb_freed } from '../folio/hugetlb-flags.js';
import {
  hugetlb_cgroup_from_folio,
  hugetlb_cgroup_from_folio_rsvd,
  hugetlb_folio_subpool,
  hugetlb_list_add,
  hugetlb_list_del,
  hugetlb_list_linked,
  hugetlb_set_folio_subpool,
  set_hugetlb_cgroup,
  set_hugetlb_cgroup_rsvd,
} from '../folio/hugetlb-fields.js';
import { folio_clear_hugetlb_owner, folio_set_hugetlb_owner } from '../folio/owner.js';
import { folio_hstate } from '../hstate.js';
import { hugetlbOf } from '../state.js';
import { destroy_compound_gigantic_folio } from './fresh.js';
import { hugetlb_vmemmap_optimize_folio, hugetlb_vmemmap_restore_folio } from './vmemmap.js';

/**
 * Lending a hugetlb folio to another owner that needs its base pages as separate folios — the use
 * case of series 1's cover letter: guest_memfd splits a huge folio for shared→private conversion and,
 * once every piece's refcount is 0, re-collapses it and gives it back to hugetlb. Not a kernel API:
 * the model's stand-in for what the guest_memfd HugeTLB series does by hand (restore the vmemmap,
 * clear the hugetlb type, split; later re-prep and free into the pool).
 *
 * While lent the folio is still counted in `nr_huge_pages` (and its cgroup charge, subpool and NR_HUGETLB
 * stay), but it is on no hugetlb list and carries neither the hugetlb type nor hugetlb's owner ops.
 *
 * @module
 */

/**
 * Lend an in-use hugetlb folio (on the active list, unmapped, not in a page cache, refcount 1 held by
 * the caller): restore its vmemmap (`-ENOMEM` if that fails, nothing changed), take it off the active
 * list, clear owner ops and type, and dissolve the compound page. The caller then owns `2^order`
 * order-0 pages; the first keeps the caller's reference, the others are at refcount 0. Returns 0.
 * `MmError(EINVAL)` for a folio not in that state.
 */
export function hugetlbLendFolio(m: Machine, folio: Folio): number {
  assertFolio(m, folio, 'hugetlbLendFolio');
  const pool = hugetlbOf(m);
  if (!folio_test_hugetlb(m, folio) || folio_test_hugetlb_freed(m, folio) || pool.isolated.has(folio) || pool.transient.has(folio) ||
    !hugetlb_list_linked(m, folio) || m.memmap.refcount[folio] !== 1 || folio_mapcount(m, folio) !== 0 || m.memmap.mapping[folio] !== 0) {
    throw new MmError(EINVAL, 'hugetlbLendFolio needs an active, unmapped hugetlb folio with one reference', { pfn: folio, rule: 'lend only what the caller alone holds' });
  }
  const h = folio_hstate(m, pool, folio);
  const rc = hugetlb_vmemmap_restore_folio(m, h, folio);
  if (rc < 0) return rc;
  const run = (): void => {
    pool.lent.set(folio, {
      h,
      cgroup: hugetlb_cgroup_from_folio(m, folio),
      cgroupRsvd: hugetlb_cgroup_from_folio_rsvd(m, folio),
      subpool: hugetlb_folio_subpool(m, folio),
      flags: m.memmap.private[folio]! & ((1 << HPG.restore_reserve) | (1 << HPG.temporary)),
    });
    hugetlb_list_del(m, h.hugepage_activelist, 0, folio);
    set_hugetlb_cgroup(m, folio, 0);
    set_hugetlb_cgroup_rsvd(m, folio, 0);
    hugetlb_set_folio_subpool(m, folio, 0);
    folio_clear_hugetlb_owner(m, folio);
    m.memmap.private[folio] = 0;
    destroy_compound_gigantic_folio(m, folio, h.order);
  };
  if (m.debugVm) m.withChecksDeferred('hugetlbLendFolio', run);
  else run();
  return 0;
}

/**
 * Give a lent folio back: every one of its pages must be back at refcount 0, untyped, unmapped, with no
 * `mapping` and no owner tag (else `MmError(EINVAL)`, nothing changed). The pages become one compound
 * hugetlb folio again with its charges, subpool and flags, HVO-optimized, on the active list — then the
 * lender's reference is dropped, so `free_huge_folio` returns it to the pool (or, if surplus or
 * temporary, to the buddy allocator).
 */
export function hugetlbReturnFolio(m: Machine, folio: Folio): void {
  assertFolio(m, folio, 'hugetlbReturnFolio');
  const pool = hugetlbOf(m);
  const lent = pool.lent.get(folio);
  const mm = m.memmap;
  const n = lent === undefined ? 0 : 2 ** lent.h.order;
  let bad = lent === undefined ? -2 : -1;
  for (let i = 0; i < n && bad < 0; i++) {
    const p = folio + i;
    if (mm.refcount[p] !== 0 || mm.mapcount[p] !== PAGE_TYPE_NONE || mm.mapping[p] !== 0 || mm.lru[p] !== 0 || folio_order(m, p as Folio) !== 0) bad = p;
  }
  if (bad !== -1) {
    throw new MmError(EINVAL, bad === -2 ? 'hugetlbReturnFolio: folio was not lent' : 'hugetlbReturnFolio: a page of the folio is still in use', {
      pfn: bad === -2 ? folio : bad,
      rule: 'return every page at refcount 0, untyped and unmapped',
    });
  }
  const info = lent!;
  const run = (): void => {
    prep_compound_page(m, folio as Pfn, info.h.order);
    folio_set_hugetlb_owner(m, folio);
    mm.private[folio] = info.flags;
    set_hugetlb_cgroup(m, folio, info.cgroup);
    set_hugetlb_cgroup_rsvd(m, folio, info.cgroupRsvd);
    hugetlb_set_folio_subpool(m, folio, info.subpool);
    hugetlb_vmemmap_optimize_folio(m, info.h, folio);
    pool.lent.delete(folio);
    hugetlb_list_add(m, info.h.hugepage_activelist, 0, folio);
    mm.refcount[folio] = 1;
    folio_put(m, folio);
  };
  if (m.debugVm) m.withChecksDeferred('hugetlbReturnFolio', run);
  else run();
}
