import type { Machine } from '../machine/machine.js';
import { MAX_PAGE_ORDER, pageblock_nr_pages, pageblock_order } from '../types.js';
import { PGTY, PAGE_TYPE_NONE } from '../page/page-type.js';
import { PG } from '../page/page-flags.js';
import { NR_ZONE } from '../trace/vmstat.js';
import {
  MIGRATE_CMA,
  MIGRATE_HIGHATOMIC,
  MIGRATE_MOVABLE,
  MIGRATE_RECLAIMABLE,
  MIGRATE_TYPES,
  MIGRATE_UNMOVABLE,
  get_pfnblock_migratetype,
  is_migrate_isolate,
  migratetype_is_mergeable,
  set_pageblock_migratetype,
} from './migratetype.js';
import { list_add, list_add_tail, list_del } from './page-list.js';
import type { Zone } from './zone.js';

/**
 * The buddy allocator's core (`mm/page_alloc.c`): free lists per order and migratetype, merging on
 * free, splitting on allocation, and fallback to other migratetypes. Callers hold `zone->lock` in
 * the kernel; here each function runs to completion.
 *
 * @module
 */

const BUDDY = (PGTY.buddy << 24) | 0;
const PG_LRU = 1 << PG.lru;
const PG_MOVABLE_OPS = 1 << PG.movable_ops;

/** `FPI_NONE`: no special free-path behaviour. */
export const FPI_NONE = 0;
/** `FPI_TO_TAIL`: put the freed block at the tail of its list (boot, onlining). */
export const FPI_TO_TAIL = 1 << 1;

/** `PageBuddy` without a machine check: the page heads a free block. */
function isBuddy(m: Machine, pfn: number): boolean {
  return m.memmap.mapcount[pfn] === BUDDY;
}

/** `buddy_order(page)`: the order of a free block, from `page->private`. */
export function buddy_order(m: Machine, pfn: number): number {
  return m.memmap.private[pfn]!;
}

/** `set_buddy_order(page, order)`: store the order and set PageBuddy. */
export function set_buddy_order(m: Machine, pfn: number, order: number): void {
  m.memmap.private[pfn] = order;
  m.memmap.mapcount[pfn] = BUDDY;
}

/** `__find_buddy_pfn(pfn, order)`: `pfn ^ (1 << order)`. */
export function __find_buddy_pfn(pfn: number, order: number): number {
  return pfn ^ (1 << order);
}

/**
 * `page_is_buddy(page, buddy, order)`: `buddy` heads a free block of exactly `order` in the same zone.
 * (Guard pages of debug_pagealloc are not modelled.)
 */
export function page_is_buddy(m: Machine, pfn: number, buddy: number, order: number): boolean {
  const flags = m.memmap.flags;
  if (buddy >= flags.length) return false;
  if (!isBuddy(m, buddy) || m.memmap.private[buddy] !== order) return false;
  return flags[buddy]! >>> 24 === flags[pfn]! >>> 24;
}

/**
 * `account_freepages(zone, nr_pages, migratetype)`: NR_FREE_PAGES (and NR_FREE_CMA_PAGES) follow the
 * free lists, except for isolated blocks, which are not counted as free.
 */
export function account_freepages(zone: Zone, nr: number, mt: number): void {
  if (is_migrate_isolate(mt)) return;
  zone.vmstat[NR_ZONE.nr_free_pages]! += nr;
  if (mt === MIGRATE_CMA) zone.vmstat[NR_ZONE.nr_free_cma]! += nr;
}

/** `__add_to_free_list(page, zone, order, migratetype, tail)`. */
export function __add_to_free_list(m: Machine, zone: Zone, pfn: number, order: number, mt: number, tail: boolean): void {
  const li = order * MIGRATE_TYPES + mt;
  if (tail) list_add_tail(m.memmap.lru, m.memmap.lruPrev, zone.free_list, li, pfn);
  else list_add(m.memmap.lru, m.memmap.lruPrev, zone.free_list, li, pfn);
  zone.nr_free[order]!++;
}

/** `__del_page_from_free_list(page, zone, order, migratetype)`: unlink and clear PageBuddy. */
export function __del_page_from_free_list(m: Machine, zone: Zone, pfn: number, order: number, mt: number): void {
  list_del(m.memmap.lru, m.memmap.lruPrev, zone.free_list, order * MIGRATE_TYPES + mt, pfn);
  m.memmap.mapcount[pfn] = PAGE_TYPE_NONE;
  m.memmap.private[pfn] = 0;
  zone.nr_free[order]!--;
}

/** `del_page_from_free_list`: unlink and account. */
export function del_page_from_free_list(m: Machine, zone: Zone, pfn: number, order: number, mt: number): void {
  __del_page_from_free_list(m, zone, pfn, order, mt);
  account_freepages(zone, -(1 << order), mt);
}

/** `move_to_free_list(page, zone, order, old_mt, new_mt)`: move a free block to another migratetype's list. */
export function move_to_free_list(m: Machine, zone: Zone, pfn: number, order: number, oldMt: number, newMt: number): void {
  list_del(m.memmap.lru, m.memmap.lruPrev, zone.free_list, order * MIGRATE_TYPES + oldMt, pfn);
  list_add_tail(m.memmap.lru, m.memmap.lruPrev, zone.free_list, order * MIGRATE_TYPES + newMt, pfn);
  account_freepages(zone, -(1 << order), oldMt);
  account_freepages(zone, 1 << order, newMt);
}

function buddy_merge_likely(m: Machine, pfn: number, buddyPfn: number, order: number): boolean {
  if (order >= MAX_PAGE_ORDER - 1) return false;
  const higher = buddyPfn & pfn;
  return page_is_buddy(m, higher, __find_buddy_pfn(higher, order + 1), order + 1);
}

/**
 * `__free_one_page(page, pfn, zone, order, migratetype, fpi_flags)` (`mm/page_alloc.c`): merge the
 * block with free buddies of the same order while possible (below MAX_PAGE_ORDER; at pageblock order
 * and above not across blocks whose migratetypes differ unless both are mergeable), then put the
 * result on its free list, at the tail if FPI_TO_TAIL or if a higher-order merge looks likely.
 */
export function __free_one_page(m: Machine, pfn: number, zone: Zone, order: number, mt: number, fpi: number): void {
  account_freepages(zone, 1 << order, mt);
  let buddyPfn = 0;
  while (order < MAX_PAGE_ORDER) {
    buddyPfn = __find_buddy_pfn(pfn, order);
    if (!page_is_buddy(m, pfn, buddyPfn, order)) break;
    let buddyMt = mt;
    if (order >= pageblock_order) {
      buddyMt = get_pfnblock_migratetype(m, buddyPfn);
      if (mt !== buddyMt && (!migratetype_is_mergeable(mt) || !migratetype_is_mergeable(buddyMt))) break;
    }
    __del_page_from_free_list(m, zone, buddyPfn, order, buddyMt);
    if (buddyMt !== mt) {
      // Match the buddy's block to ours so that a later expand() files the halves correctly.
      account_freepages(zone, -(1 << order), buddyMt);
      account_freepages(zone, 1 << order, mt);
      set_pageblock_migratetype(m, buddyPfn, mt);
    }
    pfn &= buddyPfn;
    order++;
  }
  set_buddy_order(m, pfn, order);
  const toTail = (fpi & FPI_TO_TAIL) !== 0 || buddy_merge_likely(m, pfn, buddyPfn, order);
  __add_to_free_list(m, zone, pfn, order, mt, toTail);
}

/**
 * `expand(zone, page, low, high, migratetype)`: split a block of order `high` down to `low`, putting
 * the upper halves back on the free lists. Returns the number of pages put back.
 */
export function expand(m: Machine, zone: Zone, pfn: number, low: number, high: number, mt: number): number {
  let size = 1 << high;
  let added = 0;
  while (high > low) {
    high--;
    size >>= 1;
    __add_to_free_list(m, zone, pfn + size, high, mt, false);
    set_buddy_order(m, pfn + size, high);
    added += size;
  }
  return added;
}

/** `page_del_and_expand(zone, page, low, high, migratetype)`: take a block off its list and split it. */
export function page_del_and_expand(m: Machine, zone: Zone, pfn: number, low: number, high: number, mt: number): void {
  __del_page_from_free_list(m, zone, pfn, high, mt);
  const nrAdded = expand(m, zone, pfn, low, high, mt);
  account_freepages(zone, -(1 << high) + nrAdded, mt);
}

/**
 * `__rmqueue_smallest(zone, order, migratetype)`: the first block of `migratetype` of the smallest
 * order ≥ `order`, split down to `order`. Returns its PFN or -1.
 */
export function __rmqueue_smallest(m: Machine, zone: Zone, order: number, mt: number): number {
  const heads = zone.free_list.heads;
  for (let cur = order; cur <= MAX_PAGE_ORDER; cur++) {
    const pfn = heads[cur * MIGRATE_TYPES + mt]!;
    if (pfn < 0) continue;
    page_del_and_expand(m, zone, pfn, order, cur, mt);
    return pfn;
  }
  return -1;
}

/** `fallbacks[]` (`mm/page_alloc.c`): the migratetypes each type may borrow from, in order. */
export const fallbacks: readonly (readonly number[])[] = [
  [MIGRATE_RECLAIMABLE, MIGRATE_MOVABLE], // UNMOVABLE
  [MIGRATE_RECLAIMABLE, MIGRATE_UNMOVABLE], // MOVABLE
  [MIGRATE_UNMOVABLE, MIGRATE_MOVABLE], // RECLAIMABLE
];

/**
 * `should_try_claim_block(order, start_mt)`: claim the whole pageblock when the fallback block is at
 * least half a pageblock, or for unmovable/reclaimable requests (which fragment the most).
 */
function should_try_claim_block(order: number, startMt: number): boolean {
  if (order >= pageblock_order) return true;
  if (order >= pageblock_order / 2) return true;
  return startMt === MIGRATE_RECLAIMABLE || startMt === MIGRATE_UNMOVABLE;
}

/**
 * `find_suitable_fallback(area, order, migratetype, claimable)`: the first fallback migratetype with a
 * free block of `order`, or -1.
 */
export function find_suitable_fallback(zone: Zone, order: number, mt: number, claimable: boolean): number {
  if (claimable && !should_try_claim_block(order, mt)) return -2;
  for (const fmt of fallbacks[mt]!) {
    if (zone.free_list.heads[order * MIGRATE_TYPES + fmt]! >= 0) return fmt;
  }
  return -1;
}

/**
 * `__move_freepages_block(zone, start_pfn, old_mt, new_mt)`: move every free block of one pageblock
 * to `new_mt`'s lists and set the block's migratetype. Returns the pages moved.
 */
export function __move_freepages_block(m: Machine, zone: Zone, startPfn: number, oldMt: number, newMt: number): number {
  const end = startPfn + pageblock_nr_pages;
  let moved = 0;
  for (let pfn = startPfn; pfn < end; ) {
    if (!isBuddy(m, pfn)) {
      pfn++;
      continue;
    }
    const order = buddy_order(m, pfn);
    move_to_free_list(m, zone, pfn, order, oldMt, newMt);
    pfn += 1 << order;
    moved += 1 << order;
  }
  set_pageblock_migratetype(m, startPfn, newMt);
  return moved;
}

/**
 * `try_to_claim_block(zone, page, current_order, order, start_type, block_type, alloc_flags)`
 * (6.15): take over the whole pageblock for `startMt` if the fallback block covers it or if enough of
 * the block is free or already compatible; returns the allocated PFN or -1.
 */
function try_to_claim_block(m: Machine, zone: Zone, pfn: number, curOrder: number, order: number, startMt: number, blockMt: number): number {
  if (curOrder >= pageblock_order) {
    del_page_from_free_list(m, zone, pfn, curOrder, blockMt);
    for (let i = 0; i < 1 << (curOrder - pageblock_order); i++) set_pageblock_migratetype(m, pfn + i * pageblock_nr_pages, startMt);
    account_freepages(zone, expand(m, zone, pfn, order, curOrder, startMt), startMt);
    return pfn;
  }
  const start = pfn & ~(pageblock_nr_pages - 1);
  if (!zone.spans(start) || !zone.spans(start + pageblock_nr_pages - 1)) return -1;
  // prep_move_freepages_block(): count free pages and in-use movable pages (LRU or movable_ops).
  let freePages = 0;
  let movable = 0;
  const { flags } = m.memmap;
  for (let p = start; p < start + pageblock_nr_pages; ) {
    if (isBuddy(m, p)) {
      const o = buddy_order(m, p);
      freePages += 1 << o;
      p += 1 << o;
      continue;
    }
    // PageLRU(page) reads the head's flag for a tail page; page_has_movable_ops(page) the page's own.
    const w = m.memmap.lru[p]!;
    const head = (w & 1) !== 0 ? (w >>> 2) - 1 : p;
    const f = flags[p]!;
    if ((flags[head]! & PG_LRU) !== 0) movable++;
    else if ((f & PG_MOVABLE_OPS) !== 0 && m.memmap.mapcount[p]! < (0xff000000 | 0)) {
      const t = m.memmap.mapcount[p]! >>> 24;
      if (t === PGTY.offline || t === PGTY.zsmalloc || m.experimentalMovableOpsTypes.includes(t)) movable++;
    }
    p++;
  }
  let alike = 0;
  if (startMt === MIGRATE_MOVABLE) alike = movable;
  else if (blockMt === MIGRATE_MOVABLE) alike = pageblock_nr_pages - (freePages + movable);
  if (freePages + alike >= pageblock_nr_pages >> 1) {
    __move_freepages_block(m, zone, start, blockMt, startMt);
    return __rmqueue_smallest(m, zone, order, startMt);
  }
  return -1;
}

/**
 * `__rmqueue_claim(zone, order, start_migratetype, alloc_flags)` (6.15): search fallback lists from
 * the largest order down for a block worth claiming. Returns the PFN or -1.
 */
export function __rmqueue_claim(m: Machine, zone: Zone, order: number, startMt: number): number {
  for (let cur = MAX_PAGE_ORDER; cur >= order; cur--) {
    const fmt = find_suitable_fallback(zone, cur, startMt, true);
    if (fmt === -1) continue;
    if (fmt === -2) break; // below the claimable order: the rest are too small too
    const pfn = zone.free_list.heads[cur * MIGRATE_TYPES + fmt]!;
    const got = try_to_claim_block(m, zone, pfn, cur, order, startMt, fmt);
    if (got >= 0) {
      if (m.trace.active) {
        m.trace.emit('mm_page_alloc_extfrag', {
          pfn: got,
          alloc_order: order,
          fallback_order: cur,
          alloc_migratetype: startMt,
          fallback_migratetype: fmt,
          change_ownership: true,
        });
      }
      return got;
    }
  }
  return -1;
}

/**
 * `__rmqueue_steal(zone, order, start_migratetype)` (6.15): take the smallest fallback block without
 * claiming its pageblock. Returns the PFN or -1.
 */
export function __rmqueue_steal(m: Machine, zone: Zone, order: number, startMt: number): number {
  for (let cur = order; cur <= MAX_PAGE_ORDER; cur++) {
    const fmt = find_suitable_fallback(zone, cur, startMt, false);
    if (fmt < 0) continue;
    const pfn = zone.free_list.heads[cur * MIGRATE_TYPES + fmt]!;
    page_del_and_expand(m, zone, pfn, order, cur, fmt);
    if (m.trace.active) {
      m.trace.emit('mm_page_alloc_extfrag', {
        pfn,
        alloc_order: order,
        fallback_order: cur,
        alloc_migratetype: startMt,
        fallback_migratetype: fmt,
        change_ownership: false,
      });
    }
    return pfn;
  }
  return -1;
}

/**
 * `__rmqueue(zone, order, migratetype, alloc_flags)`: own lists first, then claim a fallback block,
 * then steal. (CMA balancing and the per-zone "last fallback" cache are not modelled.)
 */
export function __rmqueue(m: Machine, zone: Zone, order: number, mt: number): number {
  let pfn = __rmqueue_smallest(m, zone, order, mt);
  if (pfn >= 0 || mt >= MIGRATE_HIGHATOMIC) return pfn;
  pfn = __rmqueue_claim(m, zone, order, mt);
  if (pfn >= 0) return pfn;
  return __rmqueue_steal(m, zone, order, mt);
}
