import { NUMA_NO_NODE, type Folio, type Machine } from '@mm/core';
import { persistent_huge_pages, type Hstate } from '../hstate.js';
import { alloc_pool_huge_folio, update_and_free_pages_bulk, type NodeAllocNoretry } from './fresh.js';
import { hstate_next_node_to_alloc, hstate_next_node_to_free, node_states_memory, nodemask_of_node, nodes_weight, type NodeMask } from './nodes.js';
import { prep_and_add_allocated_folios, remove_pool_hugetlb_folio } from './queue.js';

/**
 * Pool resizing (`set_max_huge_pages`, kernel-semantics §4.5): the target written to `nr_hugepages`
 * (global or per node, sysfs or sysctl or boot).
 *
 * @module
 */

/**
 * `adjust_pool_surplus(h, nodes_allowed, delta)`: turn one surplus folio persistent (`delta = -1`, on
 * the next node to allocate from that has surplus) or one persistent folio surplus (`delta = +1`, on the
 * next node to free from that has a non-surplus folio). Returns true if a node was found.
 */
export function adjust_pool_surplus(h: Hstate, nodesAllowed: NodeMask, delta: -1 | 1): boolean {
  for (let nr = nodes_weight(nodesAllowed); nr > 0; nr--) {
    const node = delta < 0 ? hstate_next_node_to_alloc(h, nodesAllowed) : hstate_next_node_to_free(h, nodesAllowed);
    const ok = delta < 0 ? h.surplus_huge_pages_node[node]! > 0 : h.surplus_huge_pages_node[node]! < h.nr_huge_pages_node[node]!;
    if (ok) {
      h.surplus_huge_pages += delta;
      h.surplus_huge_pages_node[node]! += delta;
      return true;
    }
  }
  return false;
}

/**
 * `set_max_huge_pages(h, count, nid, nodes_allowed)` (v6.14): make the persistent pool `count` folios
 * (a per-node request is first turned into a global one).
 *
 * Grow: surplus folios become persistent first, then fresh folios are allocated round robin over
 * `nodes_allowed` (`__GFP_THISNODE`, counted in `htlb_buddy_alloc_*`) until the target is met or an
 * allocation fails. Shrink: free folios go back to the buddy allocator down to
 * `max(count, resv + nr − free)` (reserved and in-use folios stay), and whatever is still above the
 * target becomes surplus, to vanish when freed. Finally `max_huge_pages = persistent`. Returns 0.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { NUMA_NO_NODE, createMachine } from '@mm/core';
 * import { hugetlbOf, hugetlbPlugin, hugetlb_alloc_folio, node_states_memory, set_max_huge_pages } from '@mm/hugetlb';
 *
 * const m = createMachine({ memory: '128M', debugVm: true, plugins: [hugetlbPlugin()] });
 * const h = hugetlbOf(m).default_hstate; // 2 MiB pages
 * set_max_huge_pages(m, h, 8, NUMA_NO_NODE, node_states_memory(m)); // echo 8 > /proc/sys/vm/nr_hugepages
 * console.log(h.nr_huge_pages, h.free_huge_pages); // 8 8
 * const folio = hugetlb_alloc_folio(m, h); // a folio from the pool, as a fault takes one
 * console.log(folio >= 0, h.free_huge_pages); // true 7
 * set_max_huge_pages(m, h, 0, NUMA_NO_NODE, node_states_memory(m)); // shrink: the free pages go back
 * console.log(h.nr_huge_pages, h.surplus_huge_pages); // 1 1 (the folio in use stays, as surplus)
 * ```
 */
export function set_max_huge_pages(m: Machine, h: Hstate, count: number, nid: number, nodesAllowed: NodeMask): number {
  const run = (): number => {
    if (nid !== NUMA_NO_NODE) count += h.nr_huge_pages - h.nr_huge_pages_node[nid]!;
    const noretry: NodeAllocNoretry = { mask: 0 };
    while (h.surplus_huge_pages && count > persistent_huge_pages(h)) {
      if (!adjust_pool_surplus(h, nodesAllowed, -1)) break;
    }
    const allocated: Folio[] = [];
    let failed = false;
    while (count > persistent_huge_pages(h) + allocated.length) {
      const folio = alloc_pool_huge_folio(m, h, nodesAllowed, noretry);
      if (folio < 0) {
        failed = true;
        break;
      }
      allocated.push(folio as Folio);
    }
    prep_and_add_allocated_folios(m, h, allocated);
    if (!failed) {
      const minCount = Math.max(count, h.resv_huge_pages + h.nr_huge_pages - h.free_huge_pages);
      const removed: Folio[] = [];
      while (minCount < persistent_huge_pages(h)) {
        const folio = remove_pool_hugetlb_folio(m, h, nodesAllowed, false);
        if (folio < 0) break;
        removed.push(folio as Folio);
      }
      update_and_free_pages_bulk(m, h, removed);
      while (count < persistent_huge_pages(h)) {
        if (!adjust_pool_surplus(h, nodesAllowed, 1)) break;
      }
    }
    h.max_huge_pages = persistent_huge_pages(h);
    return 0;
  };
  return m.debugVm ? m.withChecksDeferred('set_max_huge_pages', run) : run();
}

/** `__nr_hugepages_store_common(obey_mempolicy, h, nid, count, len)`: the node mask for a global or per-node request, then `set_max_huge_pages`. */
export function __nr_hugepages_store_common(m: Machine, h: Hstate, nid: number, count: number): number {
  const mask = nid === NUMA_NO_NODE ? node_states_memory(m) : nodemask_of_node(nid);
  return set_max_huge_pages(m, h, count, nid, mask);
}
