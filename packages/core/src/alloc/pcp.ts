import type { Machine } from '../machine/machine.js';
import { HPAGE_PMD_ORDER, PAGE_ALLOC_COSTLY_ORDER, pageblock_order } from '../types.js';
import { FPI_NONE, __free_one_page, __rmqueue } from './buddy.js';
import { MIGRATE_MOVABLE, MIGRATE_PCPTYPES, get_pfnblock_migratetype } from './migratetype.js';
import { list_add, list_add_tail, list_del } from './page-list.js';
import { NR_LOWORDER_PCP_LISTS, NR_PCP_LISTS, type PerCpuPages, type Zone } from './zone.js';

/**
 * Per-CPU page lists (`mm/page_alloc.c`): order-0…3 pages and THP-order blocks are freed to and
 * allocated from a per-CPU, per-zone cache that is refilled from and drained to the buddy lists in
 * batches. Pages on a pcp list are not PageBuddy and are not counted in NR_FREE_PAGES.
 * Differences: `high` is fixed at boot (no `high_min`/`high_max` auto-tuning, no `alloc_factor` or
 * `free_count` scaling); a drain frees `batch` pages.
 *
 * @module
 */

/** `pcp_allowed_order(order)`: orders that go through the per-CPU lists. */
export function pcp_allowed_order(order: number): boolean {
  return order <= PAGE_ALLOC_COSTLY_ORDER || order === HPAGE_PMD_ORDER;
}

/** `order_to_pindex(migratetype, order)`. */
export function order_to_pindex(mt: number, order: number): number {
  if (order > PAGE_ALLOC_COSTLY_ORDER) return NR_LOWORDER_PCP_LISTS + (mt === MIGRATE_MOVABLE ? 1 : 0);
  return MIGRATE_PCPTYPES * order + mt;
}

/** `pindex_to_order(pindex)`. */
export function pindex_to_order(pindex: number): number {
  return pindex >= NR_LOWORDER_PCP_LISTS ? pageblock_order : Math.floor(pindex / MIGRATE_PCPTYPES);
}

/**
 * `free_pcppages_bulk(zone, count, pcp, pindex)`: return at least `count` base pages from the pcp
 * lists to the buddy allocator, starting with list `pindex`, then round-robin, oldest pages first.
 */
export function free_pcppages_bulk(m: Machine, zone: Zone, count: number, pcp: PerCpuPages, pindex: number): void {
  const { lru, lruPrev } = m.memmap;
  const lists = pcp.lists;
  count = Math.min(count, pcp.count);
  while (count > 0) {
    while (lists.tails[pindex]! < 0) pindex = (pindex + 1) % NR_PCP_LISTS;
    const order = pindex_to_order(pindex);
    do {
      const pfn = lists.tails[pindex]!;
      list_del(lru, lruPrev, lists, pindex, pfn);
      pcp.count -= 1 << order;
      count -= 1 << order;
      const mt = get_pfnblock_migratetype(m, pfn);
      __free_one_page(m, pfn, zone, order, mt, FPI_NONE);
      if (m.trace.active) m.trace.emit('mm_page_pcpu_drain', { pfn, order, migratetype: mt });
    } while (count > 0 && lists.tails[pindex]! >= 0);
  }
}

/**
 * `free_frozen_page_commit(zone, pcp, page, migratetype, order)`: put a prepared page on this CPU's
 * list; drain a batch to the buddy allocator once the list holds `high` pages or more.
 */
export function free_frozen_page_commit(m: Machine, zone: Zone, pfn: number, mt: number, order: number): void {
  const pcp = zone.per_cpu_pageset[m.cpu]!;
  const pindex = order_to_pindex(mt, order);
  list_add(m.memmap.lru, m.memmap.lruPrev, pcp.lists, pindex, pfn);
  pcp.count += 1 << order;
  if (pcp.count >= pcp.high) free_pcppages_bulk(m, zone, pcp.batch, pcp, pindex);
}

/**
 * `rmqueue_bulk(zone, order, count, list, migratetype, alloc_flags)`: move up to `count` blocks of
 * `order` from the buddy lists to pcp list `pindex`. Returns how many were moved.
 */
function rmqueue_bulk(m: Machine, zone: Zone, order: number, count: number, pcp: PerCpuPages, pindex: number, mt: number): number {
  let i = 0;
  for (; i < count; i++) {
    const pfn = __rmqueue(m, zone, order, mt);
    if (pfn < 0) break;
    list_add_tail(m.memmap.lru, m.memmap.lruPrev, pcp.lists, pindex, pfn);
    if (m.trace.active) m.trace.emit('mm_page_alloc_zone_locked', { pfn, order, migratetype: mt, percpu_refill: true });
  }
  return i;
}

/** `nr_pcp_alloc(pcp, zone, order)`: how many blocks a refill takes (simplified: `batch >> order`, at least 2). */
function nr_pcp_alloc(pcp: PerCpuPages, order: number): number {
  if (pcp.high < pcp.batch) return 1;
  const batch = pcp.batch;
  return batch > 1 ? Math.max(batch >> order, 2) : batch;
}

/**
 * `rmqueue_pcplist(preferred_zone, zone, order, migratetype, alloc_flags)`: take the first page of
 * this CPU's list, refilling it from the buddy allocator when empty. Returns the PFN or -1.
 */
export function rmqueue_pcplist(m: Machine, zone: Zone, order: number, mt: number): number {
  const pcp = zone.per_cpu_pageset[m.cpu]!;
  const pindex = order_to_pindex(mt, order);
  const lists = pcp.lists;
  if (lists.heads[pindex]! < 0) {
    const n = rmqueue_bulk(m, zone, order, nr_pcp_alloc(pcp, order), pcp, pindex, mt);
    pcp.count += n << order;
    if (n === 0) return -1;
  }
  const pfn = lists.heads[pindex]!;
  list_del(m.memmap.lru, m.memmap.lruPrev, lists, pindex, pfn);
  pcp.count -= 1 << order;
  return pfn;
}

/** `drain_pages_zone(cpu, zone)`: return everything on one CPU's lists of `zone` to the buddy allocator. */
export function drain_pages_zone(m: Machine, cpu: number, zone: Zone): void {
  const pcp = zone.per_cpu_pageset[cpu]!;
  if (pcp.count > 0) {
    const saved = m.cpu;
    m.cpu = cpu;
    free_pcppages_bulk(m, zone, pcp.count, pcp, 0);
    m.cpu = saved;
  }
}

/** `drain_local_pages(zone)`: drain the current CPU's lists of `zone`, or of every zone if null. */
export function drain_local_pages(m: Machine, zone: Zone | null): void {
  for (const z of zone ? [zone] : m.zones) drain_pages_zone(m, m.cpu, z);
}

/**
 * `drain_all_pages(zone)`: drain every CPU's lists of `zone`, or of every zone if null (compaction,
 * offlining and `alloc_contig_range` do this before looking for free blocks).
 */
export function drain_all_pages(m: Machine, zone: Zone | null): void {
  for (const z of zone ? [zone] : m.zones) {
    for (let cpu = 0; cpu < z.per_cpu_pageset.length; cpu++) drain_pages_zone(m, cpu, z);
  }
}
