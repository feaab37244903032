import {
  EINVAL,
  MmError,
  NR_NODE,
  PG,
  assertFolio,
  folio_mapcount,
  folio_nid,
  folio_test_anon,
  folio_test_hugetlb,
  type Folio,
  type Machine,
} from '@mm/core';
import { hugetlb_cgroup_uncharge_folio, hugetlb_cgroup_uncharge_folio_rsvd } from '../cgroup/hugetlb-cgroup.js';
import {
  folio_clear_hugetlb_migratable,
  folio_clear_hugetlb_restore_reserve,
  folio_test_hugetlb_freed,
  folio_test_hugetlb_restore_reserve,
  folio_test_hugetlb_temporary,
} from '../folio/hugetlb-flags.js';
import { hugetlb_folio_subpool, hugetlb_set_folio_subpool } from '../folio/hugetlb-fields.js';
import { folio_hstate, pages_per_huge_page } from '../hstate.js';
import { hugepage_subpool_put_pages } from '../resv/subpool.js';
import { hugetlbOf, type HugetlbState } from '../state.js';
import { update_and_free_hugetlb_folio } from './fresh.js';
import { enqueue_hugetlb_folio, remove_hugetlb_folio } from './queue.js';

/**
 * `free_huge_folio(folio)` (`mm/hugetlb.c`): what happens when a hugetlb folio's refcount reaches 0.
 * Under series 1 it is `hugetlb_owner_ops.free`, called by `__folio_put`; under mainline the explicit
 * hugetlb branch of `__folio_put` calls it.
 *
 * @module
 */

/**
 * The body of `free_huge_folio` for a folio known to be a hugetlb folio at refcount 0: clear the
 * subpool, AnonExclusive and `mapping`; decide whether the reservation is restored (`restore_reserve`,
 * or the subpool would fall below its minimum); clear `migratable`; uncharge both cgroup counters and
 * NR_HUGETLB; then exactly one of — a `temporary` folio leaves the pool for the buddy allocator; a
 * folio on a node with surplus pages leaves the pool as surplus; any other folio goes back to its
 * node's free list at refcount 0.
 */
export function __free_huge_folio(pool: HugetlbState, folio: Folio): void {
  const m = pool.m;
  if (m.debugVm) m.withChecksDeferred('free_huge_folio', () => freeHugeFolio(pool, m, folio));
  else freeHugeFolio(pool, m, folio);
}

function freeHugeFolio(pool: HugetlbState, m: Machine, folio: Folio): void {
  const h = folio_hstate(m, pool, folio);
  const nid = folio_nid(m, folio);
  if (m.memmap.refcount[folio] !== 0 || folio_mapcount(m, folio) !== 0) {
    m.vmBug('§4.1 hugetlb states', `free_huge_folio: refcount ${m.memmap.refcount[folio]} mapcount ${folio_mapcount(m, folio)}`, folio);
  }
  const spool = pool.subpools[hugetlb_folio_subpool(m, folio)] ?? null;
  hugetlb_set_folio_subpool(m, folio, 0);
  if (folio_test_anon(m, folio)) m.memmap.flags[folio]! &= ~(1 << PG.anon_exclusive);
  m.memmap.mapping[folio] = 0;
  let restore = folio_test_hugetlb_restore_reserve(m, folio);
  folio_clear_hugetlb_restore_reserve(m, folio);
  if (!restore && hugepage_subpool_put_pages(m, spool, 1) === 0) restore = true;

  folio_clear_hugetlb_migratable(m, folio);
  hugetlb_cgroup_uncharge_folio(pool, h, folio);
  hugetlb_cgroup_uncharge_folio_rsvd(pool, h, folio);
  m.nodes[nid]!.vmstat[NR_NODE.nr_hugetlb]! -= pages_per_huge_page(h);
  if (restore) h.resv_huge_pages++;
  pool.isolated.delete(folio);

  if (folio_test_hugetlb_temporary(m, folio)) {
    remove_hugetlb_folio(m, h, folio, false);
    update_and_free_hugetlb_folio(m, h, folio, true);
  } else if (h.surplus_huge_pages_node[nid]! > 0) {
    remove_hugetlb_folio(m, h, folio, true);
    update_and_free_hugetlb_folio(m, h, folio, true);
  } else {
    enqueue_hugetlb_folio(m, h, folio);
  }
}

/**
 * `free_huge_folio(folio)` for callers outside `__folio_put` (e.g. another owner returning a folio it
 * borrowed): the folio must be a hugetlb folio at refcount 0 that is not already free, else
 * `MmError(EINVAL)` and nothing changes (a second free of a pool folio is caught here).
 */
export function free_huge_folio(m: Machine, folio: Folio): void {
  assertFolio(m, folio, 'free_huge_folio');
  const pool = hugetlbOf(m);
  if (!folio_test_hugetlb(m, folio) || m.memmap.refcount[folio] !== 0 || folio_test_hugetlb_freed(m, folio)) {
    throw new MmError(EINVAL, `free_huge_folio on a folio that is ${!folio_test_hugetlb(m, folio) ? 'not hugetlb' : folio_test_hugetlb_freed(m, folio) ? 'already free' : `referenced (${m.memmap.refcount[folio]})`}`, {
      pfn: folio,
      rule: '§4.4 free_huge_folio takes a hugetlb folio at refcount 0, once',
    });
  }
  __free_huge_folio(pool, folio);
}
