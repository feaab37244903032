import {
  GFP,
  GFP_HIGHUSER,
  GFP_HIGHUSER_MOVABLE,
  MAX_PAGE_ORDER,
  PG,
  PGTY,
  VM_EVENT,
  __alloc_pages,
  del_page_from_free_list,
  drain_all_pages,
  folio_nid,
  folio_put,
  folio_ref_freeze,
  folio_ref_unfreeze,
  folio_test_hugetlb,
  free_frozen_pages,
  get_pfnblock_migratetype,
  gfp_zone,
  prep_compound_page,
  type Folio,
  type Machine,
  type Pfn,
  type Zone,
} from '@mm/core';
import { folio_test_hugetlb_raw_hwp_unreliable, folio_test_hugetlb_vmemmap_optimized } from '../folio/hugetlb-flags.js';
import { folio_clear_hugetlb_owner } from '../folio/owner.js';
import { hstate_is_gigantic, type Hstate } from '../hstate.js';
import { hstate_next_node_to_alloc, nodes_weight, type NodeMask } from './nodes.js';
import { add_hugetlb_folio, init_new_hugetlb_folio, prep_new_hugetlb_folio } from './queue.js';
import { hugetlb_vmemmap_restore_folio } from './vmemmap.js';

/**
 * Getting folios from and giving them back to the page allocator (`mm/hugetlb.c`,
 * `mm/page_alloc.c`): buddy allocation for sizes up to MAX_PAGE_ORDER, `alloc_contig_pages` for
 * gigantic sizes, and the free path `update_and_free_hugetlb_folio`.
 *
 * Model of `alloc_contig_range` (gigantic folios): scan the node's zones for a range aligned to the
 * folio size that lies in one zone and consists **only of free buddy blocks** (after draining the
 * per-CPU lists), take those blocks off the free lists and make them one frozen compound folio. The
 * kernel would also migrate movable pages out of the range and isolate its pageblocks; the model does
 * not, so a range with any page in use is skipped. Freeing a gigantic folio (`free_contig_range`)
 * dissolves the compound page and frees it in MAX_PAGE_ORDER blocks.
 *
 * @module
 */

const BUDDY = (PGTY.buddy << 24) | 0;

/** `struct nodemask` of nodes where the last "try hard" allocation failed (`node_alloc_noretry`). */
export interface NodeAllocNoretry {
  /** Bit per node. */
  mask: NodeMask;
}

/**
 * `htlb_alloc_mask(h)`: `GFP_HIGHUSER_MOVABLE` if the size can migrate (not gigantic), else
 * `GFP_HIGHUSER` — so 2 MiB folios may come from ZONE_MOVABLE and 1 GiB folios may not.
 */
export function htlb_alloc_mask(h: Hstate): number {
  return hstate_is_gigantic(h) ? GFP_HIGHUSER : GFP_HIGHUSER_MOVABLE;
}

/**
 * `alloc_buddy_hugetlb_folio(h, gfp_mask, nid, nmask, node_alloc_noretry)`: an order-`h.order` compound
 * folio from the buddy allocator, frozen (refcount 0), counted in `htlb_buddy_alloc_success` /
 * `htlb_buddy_alloc_fail`. Nodes in `noretry` are tried without `__GFP_RETRY_MAYFAIL`; the bit is set on
 * a hard failure and cleared on success. Returns the folio or -1.
 */
export function alloc_buddy_hugetlb_folio(m: Machine, h: Hstate, gfp: number, nid: number, noretry: NodeAllocNoretry | null): Folio | -1 {
  const tryHard = !(noretry !== null && ((noretry.mask >>> nid) & 1) === 1);
  const flags = gfp | GFP.__GFP_COMP | GFP.__GFP_NOWARN | (tryHard ? GFP.__GFP_RETRY_MAYFAIL : 0);
  const pfn = __alloc_pages(m, flags, h.order, nid);
  let folio: Folio | -1 = -1;
  if (pfn >= 0) {
    folio = pfn as Folio;
    m.memmap.flags[folio + 1]! &= ~(1 << PG.large_rmappable); // folio_clear_large_rmappable()
    folio_ref_freeze(m, folio, 1);
  }
  if (noretry !== null && folio >= 0 && !tryHard) noretry.mask &= ~(1 << nid);
  if (noretry !== null && folio < 0 && tryHard) noretry.mask |= 1 << nid;
  m.vmEvents[folio >= 0 ? VM_EVENT.htlb_buddy_alloc_success : VM_EVENT.htlb_buddy_alloc_fail]!++;
  return folio;
}

/** Zones of node `nid` (then the other nodes unless `__GFP_THISNODE`) usable for `gfp`, highest first. */
function contigZones(m: Machine, gfp: number, nid: number): Zone[] {
  const out: Zone[] = [];
  const n = m.nodes.length;
  const thisNode = (gfp & GFP.__GFP_THISNODE) !== 0;
  for (let k = 0; k < (thisNode ? 1 : n); k++) {
    const node = m.nodes[(nid + k) % n]!;
    for (let zid = gfp_zone(gfp); zid >= 0; zid--) {
      const z = node.node_zones[zid];
      if (z && z.managed_pages > 0) out.push(z);
    }
  }
  return out;
}

/** The model's `pfn_range_valid_contig`: every page of the range is free in the buddy allocator of `zone`. */
function rangeAllFree(m: Machine, zone: Zone, start: number, nr: number): boolean {
  const mm = m.memmap;
  for (let p = start; p < start + nr; ) {
    if (!zone.spans(p) || mm.mapcount[p] !== BUDDY) return false;
    p += 1 << mm.private[p]!;
  }
  return true;
}

/**
 * `alloc_contig_pages(nr_pages, gfp_mask, nid, nodemask)` with `__GFP_COMP`, as the model abstracts it
 * (see the module comment): the first size-aligned all-free range of a usable zone becomes one frozen
 * compound folio of `order`. Returns its head or -1.
 */
export function alloc_contig_pages(m: Machine, order: number, gfp: number, nid: number): Folio | -1 {
  const nr = 2 ** order;
  drain_all_pages(m, null);
  for (const zone of contigZones(m, gfp, nid)) {
    for (let pfn = Math.ceil(zone.zone_start_pfn / nr) * nr; pfn + nr <= zone.zone_end_pfn; pfn += nr) {
      if (!rangeAllFree(m, zone, pfn, nr)) continue;
      const mm = m.memmap;
      for (let p = pfn; p < pfn + nr; ) {
        const o = mm.private[p]!;
        del_page_from_free_list(m, zone, p, o, get_pfnblock_migratetype(m, p));
        p += 1 << o;
      }
      prep_compound_page(m, pfn as Pfn, order);
      return pfn as Folio;
    }
  }
  return -1;
}

/**
 * `alloc_gigantic_folio(h, gfp_mask, nid, nodemask)`: a gigantic folio from `alloc_contig_pages`
 * (hugetlb_cma is not modelled), frozen. Returns it or -1.
 */
export function alloc_gigantic_folio(m: Machine, h: Hstate, gfp: number, nid: number): Folio | -1 {
  return alloc_contig_pages(m, h.order, gfp, nid);
}

/**
 * `destroy_compound_gigantic_folio(folio, order)`: turn a compound page back into separate pages
 * (tails lose `compound_head` and `mapping`, the head loses PG_head and the order). Refcounts stay 0.
 */
export function destroy_compound_gigantic_folio(m: Machine, folio: Folio, order: number): void {
  const mm = m.memmap;
  const n = 2 ** order;
  for (let i = 1; i < n; i++) {
    mm.lru[folio + i] = 0;
    mm.mapping[folio + i] = 0;
  }
  mm.flags[folio + 1]! &= ~0xff;
  mm.private[folio + 1] = 0;
  mm.lruPrev[folio + 1] = 0;
  mm.index[folio + 1] = 0;
  mm.lruPrev[folio + 2] = 0;
  mm.lruPrev[folio + 3] = 0;
  mm.index[folio + 3] = 0;
  mm.flags[folio]! &= ~(1 << PG.head);
}

/**
 * `free_contig_range(pfn, nr_pages)` for a frozen gigantic folio: dissolve the compound page and free
 * it to the buddy allocator in MAX_PAGE_ORDER blocks (the kernel frees page by page; the buddy merges
 * them into the same blocks).
 */
export function free_contig_range(m: Machine, folio: Folio, order: number): void {
  destroy_compound_gigantic_folio(m, folio, order);
  const block = 2 ** MAX_PAGE_ORDER;
  for (let p = 0; p < 2 ** order; p += block) free_frozen_pages(m, folio + p, MAX_PAGE_ORDER);
}

/**
 * `hugetlb_free_folio(folio)`: the last step of freeing to the page allocator, the folio at refcount 1
 * and no longer hugetlb: `folio_put` for buddy-sized folios (it reaches `__folio_put` and the
 * allocator), `free_contig_range` for gigantic ones.
 */
export function hugetlb_free_folio(m: Machine, h: Hstate, folio: Folio): void {
  if (hstate_is_gigantic(h)) {
    m.memmap.refcount[folio] = 0;
    free_contig_range(m, folio, h.order);
  } else {
    folio_put(m, folio);
  }
}

/**
 * `only_alloc_fresh_hugetlb_folio(h, gfp_mask, nid, nmask, node_alloc_noretry)`: a new frozen folio
 * from the page allocator, initialised as a hugetlb folio but neither HVO-optimized nor counted.
 */
export function only_alloc_fresh_hugetlb_folio(m: Machine, h: Hstate, gfp: number, nid: number, noretry: NodeAllocNoretry | null): Folio | -1 {
  const folio = hstate_is_gigantic(h) ? alloc_gigantic_folio(m, h, gfp, nid) : alloc_buddy_hugetlb_folio(m, h, gfp, nid, noretry);
  if (folio >= 0) init_new_hugetlb_folio(m, h, folio as Folio);
  return folio;
}

/**
 * `alloc_fresh_hugetlb_folio(h, gfp_mask, nid, nmask)`: a new frozen hugetlb folio, HVO-optimized and
 * counted in `nr_huge_pages`, on no list. Returns it or -1.
 */
export function alloc_fresh_hugetlb_folio(m: Machine, h: Hstate, gfp: number, nid: number): Folio | -1 {
  const folio = hstate_is_gigantic(h) ? alloc_gigantic_folio(m, h, gfp, nid) : alloc_buddy_hugetlb_folio(m, h, gfp, nid, null);
  if (folio < 0) return -1;
  prep_new_hugetlb_folio(m, h, folio as Folio, folio_nid(m, folio as Folio));
  return folio;
}

/**
 * `alloc_pool_huge_folio(h, nodes_allowed, node_alloc_noretry, next_node)`: a fresh, uncounted folio
 * from the next node of `nodes_allowed` (round robin on `next_nid_to_alloc`) that has one,
 * `__GFP_THISNODE`. Returns it or -1.
 */
export function alloc_pool_huge_folio(m: Machine, h: Hstate, nodesAllowed: NodeMask, noretry: NodeAllocNoretry | null): Folio | -1 {
  const gfp = htlb_alloc_mask(h) | GFP.__GFP_THISNODE;
  for (let nr = nodes_weight(nodesAllowed); nr > 0; nr--) {
    const node = hstate_next_node_to_alloc(h, nodesAllowed);
    const folio = only_alloc_fresh_hugetlb_folio(m, h, gfp, node, noretry);
    if (folio >= 0) return folio;
  }
  return -1;
}

/**
 * `__update_and_free_hugetlb_folio(h, folio)`: give a folio that has left the pool back to the page
 * allocator. A folio whose raw hwpoison list is unreliable is leaked. An HVO-optimized folio first gets
 * its vmemmap back; if that fails it is re-added to the pool as a surplus folio instead. Then the
 * hugetlb type and owner ops are cleared (if still set), the folio is unfrozen to 1 and freed.
 */
export function __update_and_free_hugetlb_folio(m: Machine, h: Hstate, folio: Folio): void {
  if (folio_test_hugetlb_raw_hwp_unreliable(m, folio)) return;
  if (folio_test_hugetlb_vmemmap_optimized(m, folio) && hugetlb_vmemmap_restore_folio(m, h, folio) < 0) {
    add_hugetlb_folio(m, h, folio, true);
    return;
  }
  if (folio_test_hugetlb(m, folio)) folio_clear_hugetlb_owner(m, folio);
  m.memmap.flags[folio]! &= ~((1 << PG.locked) | (1 << PG.referenced) | (1 << PG.dirty) | (1 << PG.active) | (1 << PG.private) | (1 << PG.writeback));
  m.memmap.mapping[folio] = 0;
  folio_ref_unfreeze(m, folio, 1);
  hugetlb_free_folio(m, h, folio);
}

/**
 * `update_and_free_hugetlb_folio(h, folio, atomic)`: free a removed folio to the page allocator. The
 * kernel defers HVO-optimized folios freed in atomic context to a workqueue; the model frees them at
 * once (it has no sleeping contexts).
 */
export function update_and_free_hugetlb_folio(m: Machine, h: Hstate, folio: Folio, _atomic: boolean): void {
  __update_and_free_hugetlb_folio(m, h, folio);
}

/** `update_and_free_pages_bulk(h, folio_list)`: free every removed folio of the list (vmemmap restore errors re-add them as surplus). */
export function update_and_free_pages_bulk(m: Machine, h: Hstate, folios: readonly Folio[]): void {
  for (const folio of folios) __update_and_free_hugetlb_folio(m, h, folio);
}
