import type { Zone } from '../alloc/zone.js';
import { MmError } from '../debug/mm-error.js';
import { EINVAL } from '../errno.js';
import { HPAGE_PMD_ORDER, MAX_PAGE_ORDER, NR_PAGE_ORDERS } from '../types.js';

/**
 * Fragmentation measures (`mm/vmstat.c`, `mm/compaction.c`): the fragmentation index that
 * `compaction_suitable` consults and `/sys/kernel/debug/extfrag/extfrag_index` prints, and the
 * external fragmentation score of proactive compaction.
 *
 * @module
 */

/** `struct contig_page_info`. */
export interface ContigPageInfo {
  /** Free base pages. */
  free_pages: number;
  /** Free blocks of every order. */
  free_blocks_total: number;
  /** Free blocks of `suitable_order`, counting larger blocks as several. */
  free_blocks_suitable: number;
}

/** `fill_contig_page_info(zone, suitable_order, info)`: counted from `free_area[].nr_free`. */
export function fill_contig_page_info(zone: Zone, suitableOrder: number): ContigPageInfo {
  const info: ContigPageInfo = { free_pages: 0, free_blocks_total: 0, free_blocks_suitable: 0 };
  for (let order = 0; order < NR_PAGE_ORDERS; order++) {
    const blocks = zone.nr_free[order]!;
    info.free_blocks_total += blocks;
    info.free_pages += blocks * 2 ** order;
    if (order >= suitableOrder) info.free_blocks_suitable += blocks * 2 ** (order - suitableOrder);
  }
  return info;
}

/**
 * `__fragmentation_index(order, info)`: −1000 if a block of `order` is free (the request would
 * succeed); otherwise a value in 0…1000, towards 0 if a failure would be for lack of memory and towards
 * 1000 if it would be for fragmentation; 0 with no free memory.
 */
export function __fragmentation_index(order: number, info: ContigPageInfo): number {
  const requested = 2 ** order;
  if (order > MAX_PAGE_ORDER) return 0;
  if (!info.free_blocks_total) return 0;
  if (info.free_blocks_suitable) return -1000;
  return 1000 - Math.floor((1000 + Math.floor((info.free_pages * 1000) / requested)) / info.free_blocks_total);
}

/** `fragmentation_index(zone, order)`. `MmError(EINVAL)` for an order outside 0…MAX_PAGE_ORDER. */
export function fragmentation_index(zone: Zone, order: number): number {
  if (!(Number.isInteger(order) && order >= 0 && order <= MAX_PAGE_ORDER)) {
    throw new MmError(EINVAL, `fragmentation_index: order ${order}`, { rule: 'order ≤ MAX_PAGE_ORDER' });
  }
  return __fragmentation_index(order, fill_contig_page_info(zone, order));
}

/**
 * `extfrag_for_order(zone, order)`: the percentage (0…100) of free pages that sit in blocks smaller
 * than `order`.
 */
export function extfrag_for_order(zone: Zone, order: number): number {
  const info = fill_contig_page_info(zone, order);
  if (info.free_pages === 0) return 0;
  return Math.floor(((info.free_pages - info.free_blocks_suitable * 2 ** order) * 100) / info.free_pages);
}

/** `fragmentation_score_zone(zone)`: external fragmentation with respect to `COMPACTION_HPAGE_ORDER` (the THP order). */
export function fragmentation_score_zone(zone: Zone): number {
  return extfrag_for_order(zone, HPAGE_PMD_ORDER);
}
