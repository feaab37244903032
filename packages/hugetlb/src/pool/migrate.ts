import {
  EINVAL,
  GFP,
  MmError,
  NR_NODE,
  assertFolio,
  folio_clear_owner_ops,
  folio_nid,
  folio_put,
  folio_ref_unfreeze,
  folio_set_owner_ops,
  folio_test_hugetlb,
  list_add_tail,
  list_del,
  list_linked,
  type Folio,
  type Machine,
  type PageListHeads,
} from '@mm/core';
import { hugetlb_cgroup_migrate } from '../cgroup/hugetlb-cgroup.js';
import {
  folio_clear_hugetlb_migratable,
  folio_clear_hugetlb_temporary,
  folio_set_hugetlb_migratable,
  folio_set_hugetlb_temporary,
  folio_test_hugetlb_migratable,
  folio_test_hugetlb_temporary,
} from '../folio/hugetlb-flags.js';
import { hugetlb_list_add_tail, hugetlb_list_del, hugetlb_list_linked } from '../folio/hugetlb-fields.js';
import { available_huge_pages, folio_hstate, hstate_is_gigantic, pages_per_huge_page, type Hstate } from '../hstate.js';
import { deferred } from '../internal/deferred.js';
import { hugetlbOf, type HugetlbState } from '../state.js';
import { alloc_fresh_hugetlb_folio, htlb_alloc_mask } from './fresh.js';
import type { NodeMask } from './nodes.js';
import { dequeue_hugetlb_folio_nodemask } from './queue.js';

/**
 * hugetlb's side of folio migration (`mm/hugetlb.c`, v6.14 names, kernel-semantics §4.6), with the
 * series-1 twist of RFC v1 patches 6 and 10: a folio's `lru` word carries the owner ops while it is in
 * the pool or active, so **isolation** clears the owner ops and uses `lru` for the caller's list, and
 * **putback** unlinks it, restores the owner ops and returns the folio to the active list
 * (`_hugetlb_list`) before dropping the isolation reference. An isolated folio therefore can never
 * reach its owner's `free` (the isolation reference keeps it above 0).
 *
 * Contract with the migration core (`MachineHooks`, `unmap_and_move_huge_page`): by the time it calls
 * `move_hugetlb_state(old, new)`, it has turned the mappings into migration entries and back into
 * mappings of `new` (`try_to_migrate`, `remove_migration_ptes`) and moved the page-cache entry, its
 * references and the subpool through hugetlbfs's `a_ops->migrate_folio` (`hugetlbfs_migrate_folio`);
 * hugetlb then moves its own state — cgroup charges, `temporary`/surplus, `migratable`, the active
 * list — and re-points hugetlbfs's page tables (which the core does not model) at `new`.
 *
 * @module
 */

/**
 * `folio_isolate_hugetlb(folio, list)`: take an active, `migratable` hugetlb folio for migration: a
 * reference (`folio_try_get`, fails on a free folio), `migratable` cleared, owner ops cleared
 * (series 1), off the active list, `lru` linked at the end of `list[li]` (or left empty if no list is
 * given). Returns false, changing nothing, for anything else.
 */
export function folio_isolate_hugetlb(m: Machine, folio: Folio, list: PageListHeads | null = null, li = 0): boolean {
  assertFolio(m, folio, 'folio_isolate_hugetlb');
  if (!folio_test_hugetlb(m, folio) || !folio_test_hugetlb_migratable(m, folio) || m.memmap.refcount[folio]! <= 0) return false;
  const pool = hugetlbOf(m);
  const h = folio_hstate(m, pool, folio);
  m.memmap.refcount[folio]!++;
  folio_clear_hugetlb_migratable(m, folio);
  if (m.strategy === 'owner-ops') folio_clear_owner_ops(m, folio);
  m.memmap.lru[folio] = 0; // INIT_LIST_HEAD(&folio->lru)
  m.memmap.lruPrev[folio] = 0;
  if (hugetlb_list_linked(m, folio)) hugetlb_list_del(m, h.hugepage_activelist, 0, folio);
  if (list !== null) list_add_tail(m.memmap.lru, m.memmap.lruPrev, list, li, folio);
  pool.isolated.add(folio);
  if (m.debugVm) m.checkInvariants('folio_isolate_hugetlb');
  return true;
}

/**
 * `folio_putback_hugetlb(folio)`: undo an isolation — unlink `lru` from the caller's `list[li]` (pass
 * the list if the folio is on one), set `migratable`, back on the active list, owner ops restored
 * (series 1), then `folio_put` drops the isolation reference (which may free the folio).
 * `MmError(EINVAL)` for a folio that is not isolated, or that is on a list the caller did not name.
 */
export function folio_putback_hugetlb(m: Machine, folio: Folio, list: PageListHeads | null = null, li = 0): void {
  assertFolio(m, folio, 'folio_putback_hugetlb');
  const pool = hugetlbOf(m);
  if (!pool.isolated.has(folio) || (list === null && list_linked(m.memmap.lru, folio))) {
    throw new MmError(EINVAL, 'folio_putback_hugetlb on a folio that is not isolated (or without the list it is on)', { pfn: folio, rule: '§4.6 putback follows folio_isolate_hugetlb' });
  }
  const h = folio_hstate(m, pool, folio);
  const put = (): void => {
    if (list !== null && list_linked(m.memmap.lru, folio)) list_del(m.memmap.lru, m.memmap.lruPrev, list, li, folio);
    folio_set_hugetlb_migratable(m, folio);
    hugetlb_list_add_tail(m, h.hugepage_activelist, 0, folio);
    if (m.strategy === 'owner-ops') folio_set_owner_ops(m, folio, pool.ownerOps);
    pool.isolated.delete(folio);
    folio_put(m, folio);
  };
  if (m.debugVm) m.withChecksDeferred('folio_putback_hugetlb', put);
  else put();
}

/**
 * `alloc_migrate_hugetlb_folio(h, gfp_mask, nid, nmask)`: a fresh folio outside the pool's persistent
 * count, `temporary`, at refcount 1, on no list (never for gigantic sizes).
 */
export function alloc_migrate_hugetlb_folio(m: Machine, h: Hstate, gfp: number, nid: number): Folio | -1 {
  if (hstate_is_gigantic(h)) return -1;
  const folio = alloc_fresh_hugetlb_folio(m, h, gfp, nid);
  if (folio < 0) return -1;
  folio_ref_unfreeze(m, folio as Folio, 1);
  folio_set_hugetlb_temporary(m, folio as Folio);
  h.pool.transient.add(folio);
  return folio;
}

/**
 * `alloc_hugetlb_folio_nodemask(h, preferred_nid, nmask, gfp_mask, allow_alloc_fallback)`: a migration
 * target — an unreserved free folio from the pool if there is one (it goes on the active list at
 * refcount 1), else a fresh `temporary` folio (on `preferred_nid` only unless fallback is allowed).
 *
 * Model: NR_HUGETLB counts the target when it is handed out (the kernel counts only
 * `alloc_hugetlb_folio`'s folios but `free_huge_folio` uncounts every folio, so a migration would move
 * the count down); with this, a migration leaves NR_HUGETLB unchanged and a failed one too.
 */
export function alloc_hugetlb_folio_nodemask(m: Machine, h: Hstate, preferredNid: number, nmask: NodeMask | null, gfp: number, allowAllocFallback: boolean): Folio | -1 {
  return deferred(m, 'alloc_hugetlb_folio_nodemask', () => allocNodemask(m, h, preferredNid, nmask, gfp, allowAllocFallback));
}

function allocNodemask(m: Machine, h: Hstate, preferredNid: number, nmask: NodeMask | null, gfp: number, allowAllocFallback: boolean): Folio | -1 {
  let folio: Folio | -1 = -1;
  if (available_huge_pages(h) > 0) folio = dequeue_hugetlb_folio_nodemask(m, h, gfp, preferredNid, nmask);
  if (folio < 0) folio = alloc_migrate_hugetlb_folio(m, h, allowAllocFallback ? gfp : gfp | GFP.__GFP_THISNODE, preferredNid);
  if (folio >= 0) m.nodes[folio_nid(m, folio as Folio)]!.vmstat[NR_NODE.nr_hugetlb]! += pages_per_huge_page(h);
  return folio;
}

/**
 * `move_hugetlb_state(old_folio, new_folio, reason)` after a successful migration (v6.14): move the
 * cgroup charges (`hugetlb_cgroup_migrate`); if the new folio is `temporary`, the old one takes that
 * status over and, across nodes, one node-surplus count moves from the old node to the new; the new
 * folio becomes `migratable` and goes to the end of the active list. hugetlbfs's page tables now point
 * at `new`. `MmError(EINVAL)` for folios of different sizes or that are not hugetlb.
 */
export function move_hugetlb_state(m: Machine, oldFolio: Folio, newFolio: Folio, _reason: number): void {
  const pool = hugetlbOf(m);
  const h = folio_hstate(m, pool, oldFolio);
  if (folio_hstate(m, pool, newFolio) !== h) {
    throw new MmError(EINVAL, 'move_hugetlb_state between folios of different sizes', { pfn: newFolio, rule: 'migration keeps the hstate' });
  }
  const run = (): void => {
    hugetlb_cgroup_migrate(m, oldFolio, newFolio);
    if (folio_test_hugetlb_temporary(m, newFolio)) {
      const oldNid = folio_nid(m, oldFolio);
      const newNid = folio_nid(m, newFolio);
      folio_set_hugetlb_temporary(m, oldFolio);
      folio_clear_hugetlb_temporary(m, newFolio);
      if (newNid !== oldNid && h.surplus_huge_pages_node[oldNid]! > 0) {
        h.surplus_huge_pages_node[oldNid]!--;
        h.surplus_huge_pages_node[newNid]!++;
      }
    }
    folio_set_hugetlb_migratable(m, newFolio);
    if (hugetlb_list_linked(m, newFolio)) hugetlb_list_del(m, h.hugepage_activelist, 0, newFolio);
    hugetlb_list_add_tail(m, h.hugepage_activelist, 0, newFolio);
    pool.transient.delete(newFolio);
    hugetlbfsRepoint(pool, oldFolio, newFolio);
  };
  if (m.debugVm) m.withChecksDeferred('move_hugetlb_state', run);
  else run();
}

/**
 * The page-table half of `remove_migration_ptes`: the core model counts mappings but has no page
 * tables, so hugetlbfs's own entries are re-pointed from `oldFolio` to `newFolio` here.
 */
function hugetlbfsRepoint(pool: HugetlbState, oldFolio: Folio, newFolio: Folio): void {
  for (const mm of pool.mms) {
    for (const vma of mm.vmas) {
      const ptes = vma.ptes;
      for (let i = 0; i < ptes.length; i++) if (ptes[i] === oldFolio) ptes[i] = newFolio;
    }
  }
}

/** The migration target a `MachineHooks.alloc_hugetlb_migration_target` call gets: same size, on `nid` or anywhere. */
export function alloc_hugetlb_migration_target(m: Machine, src: Folio, nid: number): Folio | -1 {
  const pool = hugetlbOf(m);
  const h = folio_hstate(m, pool, src);
  const preferred = nid >= 0 && nid < m.nodes.length ? nid : folio_nid(m, src);
  return alloc_hugetlb_folio_nodemask(m, h, preferred, null, htlb_alloc_mask(h), true);
}
