import { __free_one_page, __find_buddy_pfn, buddy_order, del_page_from_free_list, move_to_free_list, page_is_buddy } from '../alloc/buddy.js';
import {
  MIGRATE_CMA,
  MIGRATE_ISOLATE,
  PB_MIGRATETYPE_MASK,
  clear_pageblock_isolate,
  get_pageblock_isolate,
  set_pageblock_isolate,
} from '../alloc/migratetype.js';
import { FPI_NONE } from '../alloc/buddy.js';
import type { Zone } from '../alloc/zone.js';
import { MmError } from '../debug/mm-error.js';
import { EBUSY, EINVAL } from '../errno.js';
import type { Machine } from '../machine/machine.js';
import { page_has_movable_ops } from '../migrate/movable-ops.js';
import { PG } from '../page/page-flags.js';
import { PGTY } from '../page/page-type.js';
import { ZONE } from '../page/page-zone.js';
import { MAX_PAGE_ORDER, pageblock_nr_pages, pageblock_order, type Pfn } from '../types.js';

/**
 * Pageblock isolation (`mm/page_isolation.c`, v6.17 with the standalone `PB_migrate_isolate` bit):
 * isolating a pageblock sets its isolate bit and moves its free blocks to the MIGRATE_ISOLATE lists,
 * where the allocator cannot reach them and pages freed inside the block stay; the block's own
 * migratetype is kept for when the isolation is undone. Memory offlining and `alloc_contig_range` use
 * it. Ranges must be whole pageblocks (the kernel isolates partial blocks at the edges of an
 * `alloc_contig_range` range specially; that is not modelled).
 *
 * @module
 */

/** `enum pb_isolate_mode` (6.17): why a range is isolated. */
export const PB_ISOLATE_MODE = {
  /** Memory offlining: PageOffline and hwpoisoned pages are tolerated. */
  PB_ISOLATE_MODE_MEM_OFFLINE: 0,
  /** `alloc_contig_range` for CMA. */
  PB_ISOLATE_MODE_CMA_ALLOC: 1,
  /** Any other `alloc_contig_range`. */
  PB_ISOLATE_MODE_OTHER: 2,
} as const;

const BUDDY = (PGTY.buddy << 24) | 0;
const TYPED_LIMIT = 0xff000000 | 0;

function blockMt(m: Machine, pfn: number): number {
  return m.memmap.pageblock[pfn >>> pageblock_order]! & PB_MIGRATETYPE_MASK;
}

/** `find_large_buddy(start_pfn)`: the free block of order > pageblock order that covers `start`, or `start`. */
function find_large_buddy(m: Machine, start: number): number {
  let order = 0;
  let pfn = start;
  while (++order <= MAX_PAGE_ORDER) {
    pfn = start & ~((1 << order) - 1);
    if (m.memmap.mapcount[pfn] === BUDDY && m.memmap.private[pfn]! >= order) return pfn;
  }
  return start;
}

/** `split_large_buddy(zone, page, pfn, order, fpi)`: free a taken-off block again pageblock by pageblock (each to its block's list). */
function split_large_buddy(m: Machine, zone: Zone, pfn: number, order: number): void {
  const end = pfn + (1 << order);
  if (order > pageblock_order) order = pageblock_order;
  do {
    const mt = get_mt(m, pfn);
    __free_one_page(m, pfn, zone, order, mt, FPI_NONE);
    pfn += 1 << order;
  } while (pfn !== end);
}

function get_mt(m: Machine, pfn: number): number {
  return get_pageblock_isolate(m, pfn) ? MIGRATE_ISOLATE : blockMt(m, pfn);
}

/**
 * `__move_freepages_block_isolate(zone, page, isolate)`: toggle a pageblock's isolation and move its
 * free blocks between its migratetype's lists and MIGRATE_ISOLATE. A free block of order above
 * pageblock order that spans this block is taken off and split into pageblock-sized blocks first.
 */
export function __move_freepages_block_isolate(m: Machine, zone: Zone, page: number, isolate: boolean): boolean {
  if (isolate === get_pageblock_isolate(m, page)) return false;
  const start = page - (page & (pageblock_nr_pages - 1));
  const large = find_large_buddy(m, start);
  const toggle = (): void => (isolate ? set_pageblock_isolate(m, start) : clear_pageblock_isolate(m, start));
  if (large !== start || (m.memmap.mapcount[start] === BUDDY && m.memmap.private[start]! > pageblock_order)) {
    const order = buddy_order(m, large);
    del_page_from_free_list(m, zone, large, order, get_mt(m, large));
    toggle();
    split_large_buddy(m, zone, large, order);
    return true;
  }
  const from = isolate ? blockMt(m, start) : MIGRATE_ISOLATE;
  const to = isolate ? MIGRATE_ISOLATE : blockMt(m, start);
  for (let pfn = start; pfn < start + pageblock_nr_pages; ) {
    if (m.memmap.mapcount[pfn] !== BUDDY) {
      pfn++;
      continue;
    }
    const order = buddy_order(m, pfn);
    move_to_free_list(m, zone, pfn, order, from, to);
    pfn += 1 << order;
  }
  toggle();
  return true;
}

/**
 * `has_unmovable_pages(start_pfn, end_pfn, migratetype, flags)`: the first page of one pageblock
 * that could not be migrated away, or -1. PG_reserved pages are unmovable everywhere; in ZONE_MOVABLE
 * nothing else is considered; elsewhere free pages, LRU folios, movable_ops pages, hugetlb folios,
 * and (offlining) PageOffline and hwpoisoned pages are acceptable, anything else referenced is not.
 */
export function has_unmovable_pages(m: Machine, zone: Zone, start: number, end: number, mode: number): number {
  const mm = m.memmap;
  if (blockMt(m, start) === MIGRATE_CMA && mode !== PB_ISOLATE_MODE.PB_ISOLATE_MODE_CMA_ALLOC) return start;
  const offline = mode === PB_ISOLATE_MODE.PB_ISOLATE_MODE_MEM_OFFLINE;
  for (let pfn = start; pfn < end; pfn++) {
    const f = mm.flags[pfn]!;
    if ((f & (1 << PG.reserved)) !== 0) return pfn;
    if (zone.zid === ZONE.MOVABLE) continue;
    const w = mm.lru[pfn]!;
    const head = (w & 1) !== 0 ? (w >>> 2) - 1 : pfn;
    const hv = mm.mapcount[head]!;
    if ((mm.flags[head]! & (1 << PG.head)) !== 0) {
      const huge = hv < TYPED_LIMIT && hv >>> 24 === PGTY.hugetlb;
      if (!huge && (mm.flags[head]! & (1 << PG.lru)) === 0) return pfn;
      pfn = head + mm.private[head + 1]! - 1;
      continue;
    }
    if (mm.refcount[pfn] === 0) {
      if (mm.mapcount[pfn] === BUDDY) pfn += (1 << mm.private[pfn]!) - 1;
      continue;
    }
    if (offline && (f & (1 << PG.hwpoison)) !== 0) continue;
    if (offline && mm.mapcount[pfn]! < TYPED_LIMIT && mm.mapcount[pfn]! >>> 24 === PGTY.offline) continue;
    if ((f & (1 << PG.lru)) !== 0 || page_has_movable_ops(m, pfn as Pfn)) continue;
    return pfn;
  }
  return -1;
}

/**
 * `set_migratetype_isolate(page, mode, start_pfn, end_pfn)`: isolate one pageblock unless it is
 * isolated already or holds an unmovable page (`-EBUSY`, nothing changed).
 */
export function set_migratetype_isolate(m: Machine, zone: Zone, pfn: number, mode: number): number {
  if (get_pageblock_isolate(m, pfn)) return -EBUSY;
  const start = pfn - (pfn & (pageblock_nr_pages - 1));
  const end = Math.min(start + pageblock_nr_pages, zone.zone_end_pfn);
  if (has_unmovable_pages(m, zone, Math.max(start, zone.zone_start_pfn), end, mode) >= 0) return -EBUSY;
  __move_freepages_block_isolate(m, zone, start, true);
  return 0;
}

/**
 * `unset_migratetype_isolate(page)`: undo one pageblock's isolation. A free block of pageblock order
 * or more whose buddy is not isolated is freed again so that it merges (`__isolate_free_page` +
 * `__putback_isolated_page`); otherwise the free blocks move back to the block's migratetype.
 */
export function unset_migratetype_isolate(m: Machine, zone: Zone, pfn: number): void {
  if (!get_pageblock_isolate(m, pfn)) return;
  const mm = m.memmap;
  if (mm.mapcount[pfn] === BUDDY) {
    const order = buddy_order(m, pfn);
    if (order >= pageblock_order && order < MAX_PAGE_ORDER) {
      const buddy = __find_buddy_pfn(pfn, order);
      if (page_is_buddy(m, pfn, buddy, order) && !get_pageblock_isolate(m, buddy)) {
        del_page_from_free_list(m, zone, pfn, order, MIGRATE_ISOLATE);
        clear_pageblock_isolate(m, pfn);
        __free_one_page(m, pfn, zone, order, blockMt(m, pfn), FPI_NONE);
        return;
      }
    }
  }
  __move_freepages_block_isolate(m, zone, pfn, false);
}

function checkRange(m: Machine, start: number, end: number, fn: string): Zone {
  if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end > start && end <= m.memmap.nrPages)) {
    throw new MmError(EINVAL, `${fn}: range [${start}, ${end})`, { pfn: start, rule: 'a PFN range inside the memmap' });
  }
  if ((start | end) & (pageblock_nr_pages - 1)) {
    throw new MmError(EINVAL, `${fn}: range [${start}, ${end}) is not pageblock-aligned`, { pfn: start, rule: 'isolate whole pageblocks' });
  }
  const zone = m.zoneById[m.memmap.flags[start]! >>> 24];
  if (!zone || m.zoneById[m.memmap.flags[end - 1]! >>> 24] !== zone) {
    throw new MmError(EINVAL, `${fn}: range [${start}, ${end}) is not inside one zone`, { pfn: start, rule: 'a range inside one zone' });
  }
  return zone;
}

/**
 * `start_isolate_page_range(start_pfn, end_pfn, mode)`: isolate every pageblock of the range; if one
 * cannot be (unmovable page, already isolated), undo those done so far and return `-EBUSY`. Returns 0
 * on success. `MmError(EINVAL)` for a range that is not whole pageblocks of one zone.
 */
export function start_isolate_page_range(m: Machine, start: number, end: number, mode: number): number {
  const zone = checkRange(m, start, end, 'start_isolate_page_range');
  for (let pfn = start; pfn < end; pfn += pageblock_nr_pages) {
    if (set_migratetype_isolate(m, zone, pfn, mode) !== 0) {
      for (let p = start; p < pfn; p += pageblock_nr_pages) unset_migratetype_isolate(m, zone, p);
      return -EBUSY;
    }
  }
  return 0;
}

/** `undo_isolate_page_range(start_pfn, end_pfn)`: undo the isolation of every pageblock of the range. */
export function undo_isolate_page_range(m: Machine, start: number, end: number): void {
  const zone = checkRange(m, start, end, 'undo_isolate_page_range');
  for (let pfn = start; pfn < end; pfn += pageblock_nr_pages) unset_migratetype_isolate(m, zone, pfn);
}

/**
 * `test_pages_isolated(start_pfn, end_pfn, mode)`: 0 if every pageblock is isolated and every page is
 * free (in a buddy block) — or, when offlining, hwpoisoned or PageOffline with refcount 0; else
 * `-EBUSY`.
 */
export function test_pages_isolated(m: Machine, start: number, end: number, mode: number): number {
  checkRange(m, start, end, 'test_pages_isolated');
  for (let pfn = start; pfn < end; pfn += pageblock_nr_pages) if (!get_pageblock_isolate(m, pfn)) return -EBUSY;
  const mm = m.memmap;
  const offline = mode === PB_ISOLATE_MODE.PB_ISOLATE_MODE_MEM_OFFLINE;
  let pfn = start;
  while (pfn < end) {
    if (mm.mapcount[pfn] === BUDDY) pfn += 1 << mm.private[pfn]!;
    else if (offline && (mm.flags[pfn]! & (1 << PG.hwpoison)) !== 0) pfn++;
    else if (offline && mm.mapcount[pfn]! < TYPED_LIMIT && mm.mapcount[pfn]! >>> 24 === PGTY.offline && mm.refcount[pfn] === 0) pfn++;
    else break;
  }
  return pfn < end ? -EBUSY : 0;
}
