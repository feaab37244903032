import {
  MmError,
  EINVAL,
  folio_nid,
  folio_ref_unfreeze,
  folio_test_hugetlb,
  folio_test_hwpoison,
  get_pageblock_isolate,
  type Folio,
  type Machine,
} from '@mm/core';
import {
  folio_clear_hugetlb_freed,
  folio_set_hugetlb_freed,
  folio_set_hugetlb_vmemmap_optimized,
  folio_test_hugetlb_freed,
  folio_test_hugetlb_vmemmap_optimized,
} from '../folio/hugetlb-flags.js';
import {
  hugetlb_cgroup_from_folio,
  hugetlb_cgroup_from_folio_rsvd,
  hugetlb_list_add,
  hugetlb_list_del,
  hugetlb_list_first,
  hugetlb_list_linked,
  hugetlb_list_next,
  hugetlb_set_folio_subpool,
  set_hugetlb_cgroup,
  set_hugetlb_cgroup_rsvd,
} from '../folio/hugetlb-fields.js';
import { folio_clear_hugetlb_owner, folio_set_hugetlb_owner } from '../folio/owner.js';
import type { Hstate } from '../hstate.js';
import { hstate_next_node_to_free, nodes_weight, type NodeMask } from './nodes.js';
import { hugetlb_vmemmap_optimize_folio } from './vmemmap.js';

/**
 * The pool's list and counter operations (`mm/hugetlb.c`), all under `hugetlb_lock` in the kernel:
 * enqueue on a node's free list, dequeue to the active list, remove from and add to the pool, and the
 * preparation of new folios. Lists are linked through `_hugetlb_list` (series 1 patch 6).
 *
 * @module
 */

/**
 * `list_del(&folio->_hugetlb_list)`: unlink the folio from whichever hugetlb list holds it — a node's
 * free list if it is `freed`, else the active list. No-op if it is on no list.
 */
export function hugetlb_list_unlink(m: Machine, h: Hstate, folio: Folio): void {
  if (!hugetlb_list_linked(m, folio)) return;
  if (folio_test_hugetlb_freed(m, folio)) hugetlb_list_del(m, h.hugepage_freelists, folio_nid(m, folio), folio);
  else hugetlb_list_del(m, h.hugepage_activelist, 0, folio);
}

/**
 * `enqueue_hugetlb_folio(h, folio)`: a folio at refcount 0 goes to the front of its node's free list;
 * `free_huge_pages` and the node count grow; the folio is marked `freed`.
 */
export function enqueue_hugetlb_folio(m: Machine, h: Hstate, folio: Folio): void {
  if (m.memmap.refcount[folio] !== 0) {
    m.vmBug('§4.1 hugetlb states', `enqueue_hugetlb_folio: refcount ${m.memmap.refcount[folio]}`, folio);
  }
  const nid = folio_nid(m, folio);
  hugetlb_list_unlink(m, h, folio);
  hugetlb_list_add(m, h.hugepage_freelists, nid, folio);
  h.free_huge_pages++;
  h.free_huge_pages_node[nid]!++;
  folio_set_hugetlb_freed(m, folio);
  h.pool.transient.delete(folio);
}

/**
 * `dequeue_hugetlb_folio_node_exact(h, nid)`: the first free folio of node `nid` that is not
 * hwpoisoned and not in an isolated pageblock moves to the active list, is unfrozen to refcount 1 and
 * stops being `freed`. Returns it, or -1. (PF_MEMALLOC_PIN tasks are not modelled.)
 */
export function dequeue_hugetlb_folio_node_exact(m: Machine, h: Hstate, nid: number): Folio | -1 {
  for (let f = hugetlb_list_first(h.hugepage_freelists, nid); f >= 0; f = hugetlb_list_next(m, f as Folio)) {
    const folio = f as Folio;
    if (folio_test_hwpoison(m, folio) || get_pageblock_isolate(m, folio)) continue;
    hugetlb_list_del(m, h.hugepage_freelists, nid, folio);
    hugetlb_list_add(m, h.hugepage_activelist, 0, folio);
    folio_ref_unfreeze(m, folio, 1);
    folio_clear_hugetlb_freed(m, folio);
    h.free_huge_pages--;
    h.free_huge_pages_node[nid]!--;
    return folio;
  }
  return -1;
}

/**
 * `dequeue_hugetlb_folio_nodemask(h, gfp_mask, nid, nmask)`: try node `nid`, then the other nodes in
 * zonelist order (the pool is per node, not per zone), restricted to `nmask`. (Every node of the
 * model has memory in the zones `gfp` allows, so `gfp` does not narrow the nodes.)
 */
export function dequeue_hugetlb_folio_nodemask(m: Machine, h: Hstate, gfp: number, nid: number, nmask: NodeMask | null): Folio | -1 {
  const n = m.nodes.length;
  for (let k = 0; k < n; k++) {
    const node = (nid + k) % n;
    if (nmask !== null && ((nmask >>> node) & 1) === 0) continue;
    const folio = dequeue_hugetlb_folio_node_exact(m, h, node);
    if (folio >= 0) return folio;
  }
  return -1;
}

/**
 * `remove_hugetlb_folio(h, folio, adjust_surplus)`: take a folio out of the pool — off its list,
 * uncounted from `free` if it was free, from `surplus` if asked, from `nr`. The hugetlb type (and owner
 * ops) go now unless the folio is HVO-optimized, in which case `__update_and_free_hugetlb_folio` clears
 * them after restoring the vmemmap. The folio must carry no cgroup charge.
 */
export function remove_hugetlb_folio(m: Machine, h: Hstate, folio: Folio, adjustSurplus: boolean): void {
  if (hugetlb_cgroup_from_folio(m, folio) !== 0 || hugetlb_cgroup_from_folio_rsvd(m, folio) !== 0) {
    m.vmBug('§4.5 hugetlb cgroup', 'remove_hugetlb_folio: folio still charged to a hugetlb cgroup', folio);
  }
  const nid = folio_nid(m, folio);
  hugetlb_list_unlink(m, h, folio);
  if (folio_test_hugetlb_freed(m, folio)) {
    folio_clear_hugetlb_freed(m, folio);
    h.free_huge_pages--;
    h.free_huge_pages_node[nid]!--;
  }
  if (adjustSurplus) {
    h.surplus_huge_pages--;
    h.surplus_huge_pages_node[nid]!--;
  }
  if (!folio_test_hugetlb_vmemmap_optimized(m, folio)) folio_clear_hugetlb_owner(m, folio);
  h.nr_huge_pages--;
  h.nr_huge_pages_node[nid]!--;
  h.pool.transient.delete(folio);
}

/**
 * `add_hugetlb_folio(h, folio, adjust_surplus)`: put an HVO-optimized folio whose vmemmap could not be
 * restored back into the pool (counted, optionally as surplus, typed and owner-tagged again, with only
 * its `vmemmap_optimized` flag) and onto the free list. `MmError(EINVAL)` for a folio that is not
 * optimized (the kernel's `VM_BUG_ON_FOLIO`).
 */
export function add_hugetlb_folio(m: Machine, h: Hstate, folio: Folio, adjustSurplus: boolean): void {
  if (!folio_test_hugetlb_vmemmap_optimized(m, folio)) {
    throw new MmError(EINVAL, 'add_hugetlb_folio on a folio without an optimized vmemmap', { pfn: folio, rule: 'VM_BUG_ON_FOLIO(!folio_test_hugetlb_vmemmap_optimized(folio))' });
  }
  const nid = folio_nid(m, folio);
  h.nr_huge_pages++;
  h.nr_huge_pages_node[nid]!++;
  if (adjustSurplus) {
    h.surplus_huge_pages++;
    h.surplus_huge_pages_node[nid]!++;
  }
  if (!folio_test_hugetlb(m, folio)) folio_set_hugetlb_owner(m, folio);
  m.memmap.private[folio] = 0; // folio_change_private(folio, NULL)
  folio_set_hugetlb_vmemmap_optimized(m, folio);
  enqueue_hugetlb_folio(m, h, folio);
}

/**
 * `init_new_hugetlb_folio(h, folio)`: a fresh compound folio becomes a hugetlb folio — hugetlb type and
 * owner ops (`folio_set_hugetlb_owner`, series 1), an empty `_hugetlb_list`, no subpool, no cgroups.
 */
export function init_new_hugetlb_folio(m: Machine, _h: Hstate, folio: Folio): void {
  folio_set_hugetlb_owner(m, folio);
  m.memmap.lruPrev[folio + 2] = 0; // INIT_LIST_HEAD(&folio->_hugetlb_list)
  m.memmap.mapping[folio + 2] = 0;
  hugetlb_set_folio_subpool(m, folio, 0);
  set_hugetlb_cgroup(m, folio, 0);
  set_hugetlb_cgroup_rsvd(m, folio, 0);
}

/** `__prep_account_new_huge_page(h, nid)`: count a new folio in `nr_huge_pages`. */
export function __prep_account_new_huge_page(h: Hstate, nid: number): void {
  h.nr_huge_pages++;
  h.nr_huge_pages_node[nid]!++;
}

/** `prep_new_hugetlb_folio(h, folio, nid)`: init, HVO-optimize and count a new folio (not yet on a list). */
export function prep_new_hugetlb_folio(m: Machine, h: Hstate, folio: Folio, nid: number): void {
  init_new_hugetlb_folio(m, h, folio);
  hugetlb_vmemmap_optimize_folio(m, h, folio);
  __prep_account_new_huge_page(h, nid);
}

/** `prep_and_add_allocated_folios(h, folio_list)`: HVO-optimize, count and enqueue freshly allocated folios. */
export function prep_and_add_allocated_folios(m: Machine, h: Hstate, folios: readonly Folio[]): void {
  for (const folio of folios) hugetlb_vmemmap_optimize_folio(m, h, folio);
  for (const folio of folios) {
    __prep_account_new_huge_page(h, folio_nid(m, folio));
    enqueue_hugetlb_folio(m, h, folio);
  }
}

/**
 * `remove_pool_hugetlb_folio(h, nodes_allowed, acct_surplus)`: take the first free folio of the next
 * node (round robin) that has one — only nodes with surplus folios when `acct_surplus` — out of the
 * pool. Returns it (refcount 0, off every list) or -1.
 */
export function remove_pool_hugetlb_folio(m: Machine, h: Hstate, nodesAllowed: NodeMask, acctSurplus: boolean): Folio | -1 {
  for (let nr = nodes_weight(nodesAllowed); nr > 0; nr--) {
    const node = hstate_next_node_to_free(h, nodesAllowed);
    if ((!acctSurplus || h.surplus_huge_pages_node[node]! > 0) && h.hugepage_freelists.heads[node]! >= 0) {
      const folio = hugetlb_list_first(h.hugepage_freelists, node) as Folio;
      remove_hugetlb_folio(m, h, folio, acctSurplus);
      return folio;
    }
  }
  return -1;
}
