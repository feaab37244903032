import type { Machine } from '../machine/machine.js';
import { HPAGE_PMD_ORDER, PAGE_ALLOC_COSTLY_ORDER, pageblock_order } from '../types.js';
import { FPI_NONE, __free_one_page, __rmqueue } from './buddy.js';
import { MIGRATE_MOVABLE, MIGRATE_PCPTYPES, get_pfnblock_migratetype } from './migratetype.js';
import { list_add, list_add_tail, list_del } from './page-list.js';
import { assertValidCpu } from '../debug/validate.js';
import { ZONE } from '../page/page-zone.js';
import { zone_watermark_ok } from './watermark.js';
import {
  NR_LOWORDER_PCP_LISTS,
  NR_PCP_LISTS,
  PCPF_FREE_HIGH_BATCH,
  PCPF_PREV_FREE_HIGH_ORDER,
  ZONE_BELOW_HIGH,
  ZONE_RECLAIM_ACTIVE,
  __zone_set_pageset_high_and_batch,
  type PerCpuPages,
  type Zone,
} from './zone.js';

/** `CONFIG_PCP_BATCH_SCALE_MAX` (default 5): refills and drains grow to at most `batch << 5` pages. */
export const PCP_BATCH_SCALE_MAX = 5;

/**
 * Per-CPU page lists (`mm/page_alloc.c`): order-0…3 pages and THP-order blocks are freed to and
 * allocated from a per-CPU, per-zone cache that is refilled from and drained to the buddy lists in
 * batches. Pages on a pcp list are not PageBuddy and are not counted in NR_FREE_PAGES.
 * The 6.7+ auto-tuning is modelled as v6.17 has it: `high` grows by a refill's batch up to `high_max`
 * on every refill (`nr_pcp_alloc`), drains size themselves by `free_count` (`nr_pcp_free`), order-0
 * refills double with `alloc_factor`, a zone found below its high watermark (`ZONE_BELOW_HIGH`) shrinks
 * `high` on the free path, and `decay_pcp_high` trims `high` by 1/8 when the caller runs the vmstat
 * tick (`refresh_cpu_vm_stats`). Differences: no kswapd, so `ZONE_RECLAIM_ACTIVE` is never set; no
 * cache topology, so `PCPF_FREE_HIGH_BATCH` is never set; the vmstat tick runs only when called; the
 * pcp lock and its trylock failures are not modelled (every CPU is one sequential caller).
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
 * `nr_pcp_free(pcp, batch, high, free_high)` (`mm/page_alloc.c`): how many pages a drain returns — as many as were freed
 * in a row (`free_count`), leaving at least `batch` on the lists; up to `batch << PCP_BATCH_SCALE_MAX`
 * when high-order frees are being drained (`free_high`).
 */
export function nr_pcp_free(pcp: PerCpuPages, batch: number, high: number, freeHigh: boolean): number {
  if (freeHigh) return Math.min(pcp.count, batch << PCP_BATCH_SCALE_MAX);
  if (high < batch) return 1;
  return Math.min(Math.max(pcp.free_count, batch), high - batch);
}

/**
 * `nr_pcp_high(pcp, zone, batch, free_high)` (`mm/page_alloc.c`): the count at which this free drains. Clamps `high` into
 * `[high_min, high_max]`; lowers it when draining high-order frees or when the zone is below its high
 * watermark (or under reclaim); otherwise raises it so that it holds the pages freed in a row plus a batch.
 */
export function nr_pcp_high(pcp: PerCpuPages, zone: Zone, batch: number, freeHigh: boolean): number {
  const highMin = pcp.high_min;
  const highMax = pcp.high_max;
  let high = (pcp.high = Math.min(Math.max(pcp.high, highMin), highMax));
  if (high === 0) return 0;
  if (freeHigh) {
    pcp.high = Math.max(high - (batch << PCP_BATCH_SCALE_MAX), highMin);
    return 0;
  }
  if (zone.flags & (1 << ZONE_RECLAIM_ACTIVE)) {
    pcp.high = Math.max(high - Math.max(pcp.free_count, batch), highMin);
    return Math.min(batch << 2, pcp.high);
  }
  if (highMin === highMax) return high;
  if (zone.flags & (1 << ZONE_BELOW_HIGH)) {
    pcp.high = Math.max(high - Math.max(pcp.free_count, batch), highMin);
    high = Math.max(pcp.count, highMin);
  } else if (pcp.count >= high) {
    const needHigh = pcp.free_count + batch;
    if (pcp.high < needHigh) pcp.high = Math.min(Math.max(needHigh, highMin), highMax);
  }
  return high;
}

/**
 * `free_frozen_page_commit(zone, pcp, page, migratetype, order, fpi_flags)` (`mm/page_alloc.c`): put a prepared page on
 * this CPU's list, count the free in `free_count` (halving `alloc_factor`), and drain `nr_pcp_free`
 * pages to the buddy allocator once the list holds `nr_pcp_high` pages; a drain that lifts the zone
 * back over its high watermark clears `ZONE_BELOW_HIGH`. Consecutive order-1…3 frees (`free_high`)
 * drain the lists down, as the kernel does to limit the fragmentation they cause.
 */
export function free_frozen_page_commit(m: Machine, zone: Zone, pfn: number, mt: number, order: number): void {
  const pcp = zone.per_cpu_pageset[m.cpu]!;
  pcp.alloc_factor >>= 1;
  const pindex = order_to_pindex(mt, order);
  list_add(m.memmap.lru, m.memmap.lruPrev, pcp.lists, pindex, pfn);
  pcp.count += 1 << order;
  const batch = pcp.batch;
  let freeHigh = false;
  if (order !== 0 && order <= PAGE_ALLOC_COSTLY_ORDER) {
    freeHigh =
      pcp.free_count >= batch + (pcp.high_min >> 1) &&
      (pcp.flags & PCPF_PREV_FREE_HIGH_ORDER) !== 0 &&
      ((pcp.flags & PCPF_FREE_HIGH_BATCH) === 0 || pcp.count >= batch);
    pcp.flags |= PCPF_PREV_FREE_HIGH_ORDER;
  } else if (pcp.flags & PCPF_PREV_FREE_HIGH_ORDER) {
    pcp.flags &= ~PCPF_PREV_FREE_HIGH_ORDER;
  }
  if (pcp.free_count < batch << PCP_BATCH_SCALE_MAX) pcp.free_count += 1 << order;
  const high = nr_pcp_high(pcp, zone, batch, freeHigh);
  if (pcp.count >= high) {
    free_pcppages_bulk(m, zone, nr_pcp_free(pcp, batch, high, freeHigh), pcp, pindex);
    if (zone.flags & (1 << ZONE_BELOW_HIGH) && zone_watermark_ok(zone, 0, zone.high_wmark_pages, ZONE.MOVABLE, 0)) {
      zone.flags &= ~(1 << ZONE_BELOW_HIGH);
    }
  }
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

/**
 * `nr_pcp_alloc(pcp, zone, order)` (`mm/page_alloc.c`): how many blocks a refill takes. Every refill raises `high` by its
 * batch (up to `high_max`) unless the zone is below its high watermark; order-0 refills double
 * (`alloc_factor`, up to `PCP_BATCH_SCALE_MAX`) while allocations run without frees, bounded by the
 * room under `high`; higher orders take `batch >> order` blocks, at least 2.
 */
export function nr_pcp_alloc(pcp: PerCpuPages, zone: Zone, order: number): number {
  const baseBatch = pcp.batch;
  const highMin = pcp.high_min;
  const highMax = pcp.high_max;
  let high = (pcp.high = Math.min(Math.max(pcp.high, highMin), highMax));
  if (high < baseBatch) return 1;
  let batch = order !== 0 ? baseBatch : baseBatch << pcp.alloc_factor;
  if (highMin !== highMax && (zone.flags & (1 << ZONE_BELOW_HIGH)) === 0) high = pcp.high = Math.min(high + batch, highMax);
  if (order === 0) {
    const maxNrAlloc = Math.max(high - pcp.count - baseBatch, baseBatch);
    if (batch <= maxNrAlloc && pcp.alloc_factor < PCP_BATCH_SCALE_MAX) pcp.alloc_factor++;
    batch = Math.min(batch, maxNrAlloc);
  }
  return batch > 1 ? Math.max(batch >> order, 2) : batch;
}

/**
 * `rmqueue_pcplist(preferred_zone, zone, order, migratetype, alloc_flags)` (`mm/page_alloc.c`): halve `free_count` (an
 * allocation ends a run of frees), then take the first page of this CPU's list, refilling it from the
 * buddy allocator when empty. Returns the PFN or -1.
 */
export function rmqueue_pcplist(m: Machine, zone: Zone, order: number, mt: number): number {
  const pcp = zone.per_cpu_pageset[m.cpu]!;
  pcp.free_count >>= 1;
  const pindex = order_to_pindex(mt, order);
  const lists = pcp.lists;
  if (lists.heads[pindex]! < 0) {
    const n = rmqueue_bulk(m, zone, order, nr_pcp_alloc(pcp, zone, order), pcp, pindex, mt);
    pcp.count += n << order;
    if (n === 0) return -1;
  }
  const pfn = lists.heads[pindex]!;
  list_del(m.memmap.lru, m.memmap.lruPrev, lists, pindex, pfn);
  pcp.count -= 1 << order;
  return pfn;
}

/**
 * `decay_pcp_high(zone, pcp)` (`mm/page_alloc.c`): the vmstat tick's trim of an idle list — lower `high` by 1/8 (not
 * below `high_min`, nor by more than `batch << PCP_BATCH_SCALE_MAX` under the count) and drain what
 * is above it in one call (v6.17; later kernels drain it a batch at a time). Returns whether more decay is due.
 */
export function decay_pcp_high(m: Machine, zone: Zone, pcp: PerCpuPages): boolean {
  const highMin = pcp.high_min;
  const batch = pcp.batch;
  let todo = false;
  if (pcp.high > highMin) {
    pcp.high = Math.max(pcp.count - (batch << PCP_BATCH_SCALE_MAX), pcp.high - (pcp.high >> 3), highMin);
    if (pcp.high > highMin) todo = true;
  }
  const toDrain = pcp.count - pcp.high;
  if (toDrain > 0) {
    free_pcppages_bulk(m, zone, toDrain, pcp, 0);
    todo = true;
  }
  return todo;
}

/**
 * `refresh_cpu_vm_stats(do_pagesets)` (`mm/vmstat.c`), the `decay_pcp_high` part only: run it on
 * CPU `cpu`'s list of every zone, as the kernel's `vmstat_update` work does about once a second.
 * The model has no clock: the caller decides when a tick happens. Returns whether any list still
 * has decay to do. Not modelled: the vmstat counter folding (the model's counters are exact) and the
 * NUMA expiry of remote pagesets (`pcp->expire`, `drain_zone_pages`), which needs the per-CPU counter
 * diffs the model does not keep. `MmError(EINVAL)` for a CPU the machine does not have.
 */
export function refresh_cpu_vm_stats(m: Machine, cpu: number = m.cpu): boolean {
  assertValidCpu(m, cpu, 'refresh_cpu_vm_stats');
  let changes = false;
  for (const z of m.zones) if (decay_pcp_high(m, z, z.per_cpu_pageset[cpu]!)) changes = true;
  return changes;
}

/**
 * `zone_pcp_disable(zone)` (`mm/page_alloc.c`): effectively turn the zone's per-CPU lists off — every CPU's `high_min`
 * and `high_max` 0 and `batch` 1, so each free drains at once and each refill takes one block — and
 * drain them. Memory offlining does this around its isolation and migration. Pair with
 * {@link zone_pcp_enable}. (The kernel's `pcp_batch_high_lock` mutex is not modelled.)
 */
export function zone_pcp_disable(m: Machine, zone: Zone): void {
  __zone_set_pageset_high_and_batch(zone, 0, 0, 1);
  drain_all_pages(m, zone);
}

/** `zone_pcp_enable(zone)` (`mm/page_alloc.c`): give the zone's per-CPU lists back the `high_min`, `high_max` and `batch` it sized them with. */
export function zone_pcp_enable(zone: Zone): void {
  __zone_set_pageset_high_and_batch(zone, zone.pageset_high_min, zone.pageset_high_max, zone.pageset_batch);
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
