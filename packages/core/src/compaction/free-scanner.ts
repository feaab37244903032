import { __move_freepages_block, buddy_order, del_page_from_free_list } from '../alloc/buddy.js';
import { GFP } from '../alloc/gfp.js';
import { MIGRATE_MOVABLE, get_pfnblock_migratetype, is_migrate_isolate, is_migrate_movable, migratetype_is_mergeable } from '../alloc/migratetype.js';
import { __free_pages, free_pages_prepare, prep_new_page } from '../alloc/page-alloc.js';
import { ALLOC_WMARK_MIN, __zone_watermark_ok } from '../alloc/watermark.js';
import { WMARK_MIN, type Zone } from '../alloc/zone.js';
import type { Machine } from '../machine/machine.js';
import { listAdd, listAddTail, listDel, type ListHead } from '../migrate/list-head.js';
import { MIGRATE_MODE } from '../migrate/migrate-mode.js';
import { PG } from '../page/page-flags.js';
import { PGTY } from '../page/page-type.js';
import { VM_EVENT } from '../trace/vmstat.js';
import { MAX_PAGE_ORDER, NR_PAGE_ORDERS, pageblock_nr_pages, pageblock_order, type Folio, type Pfn } from '../types.js';
import type { CompactControl } from './compact-control.js';
import { COMPACT_CLUSTER_MAX } from './compact-result.js';
import { isolation_suitable, pageblock_end_pfn, pageblock_pfn_to_page, pageblock_start_pfn, update_pageblock_skip } from './skip-hints.js';

/**
 * The free scanner of compaction (`mm/compaction.c`, v6.9+ with per-order free lists): it walks
 * MIGRATE_MOVABLE pageblocks from the top of the zone downwards, takes free blocks off the buddy lists
 * (`__isolate_free_page`, `mm/page_alloc.c`) and hands them out as migration destinations
 * (`compaction_alloc`). `fast_isolate_freepages` (a search of the free lists near the scanner) is not
 * modelled: the linear scan finds the same blocks, more slowly.
 *
 * @module
 */

const BUDDY = (PGTY.buddy << 24) | 0;
const HEAD = 1 << PG.head;

/**
 * `__isolate_free_page(page, order)` (`mm/page_alloc.c`): take a free block off its buddy list as an
 * allocation would, obeying the min watermark (raised by the block size) unless the block is isolated;
 * a block of at least half a pageblock claims its pageblock(s) for MIGRATE_MOVABLE. Returns the pages
 * taken (0 if the watermark refused).
 */
export function __isolate_free_page(m: Machine, zone: Zone, pfn: number, order: number): number {
  const mt = get_pfnblock_migratetype(m, pfn);
  if (!is_migrate_isolate(mt)) {
    const watermark = zone.watermark[WMARK_MIN]! + (1 << order);
    if (!__zone_watermark_ok(zone, 0, watermark, 0, ALLOC_WMARK_MIN)) return 0;
  }
  del_page_from_free_list(m, zone, pfn, order, mt);
  if (order >= pageblock_order - 1) {
    const end = pfn + (1 << order) - 1;
    for (let p = pfn; p < end; p += pageblock_nr_pages) {
      const bmt = get_pfnblock_migratetype(m, p);
      if (migratetype_is_mergeable(bmt) && bmt !== MIGRATE_MOVABLE) __move_freepages_block(m, zone, pageblock_start_pfn(p), bmt, MIGRATE_MOVABLE);
    }
  }
  return 1 << order;
}

/** In/out position of {@link isolate_freepages_block} (the kernel's `unsigned long *start_pfn`). */
export interface PfnCursor {
  /** The PFN; updated to where the scan stopped. */
  pfn: number;
}

/**
 * `isolate_freepages_block(cc, &start_pfn, end_pfn, freelist, stride, strict)`: isolate free blocks of
 * `[cursor.pfn, end)` (every `stride`-th PFN) onto `freelist[order]` until there are enough for the
 * folios waiting to migrate. `strict` (for `isolate_freepages_range`) stops at the first PFN that is not
 * free and then returns 0. Returns the base pages isolated; counts COMPACTISOLATED.
 */
export function isolate_freepages_block(
  m: Machine,
  cc: CompactControl,
  cursor: PfnCursor,
  end: number,
  freelist: ListHead[],
  stride: number,
  strict: boolean,
): number {
  const mm = m.memmap;
  const flags = mm.flags;
  const mapcount = mm.mapcount;
  const lru = mm.lru;
  let nrScanned = 0;
  let total = 0;
  let pfn = cursor.pfn;
  const start = pfn;
  if (strict) stride = 1;
  for (; pfn < end; pfn += stride) {
    nrScanned++;
    let fail = false;
    if ((flags[pfn]! & HEAD) !== 0 || (lru[pfn]! & 1) !== 0) {
      // Compound: skip it at once (a tail page's compound_order is 0).
      if ((flags[pfn]! & HEAD) !== 0) {
        const order = flags[pfn + 1]! & 0xff;
        if (order <= MAX_PAGE_ORDER) {
          pfn += (1 << order) - 1;
          nrScanned += (1 << order) - 1;
        }
      }
      fail = true;
    } else if (mapcount[pfn] !== BUDDY) {
      fail = true;
    } else {
      const order = buddy_order(m, pfn);
      const isolated = __isolate_free_page(m, cc.zone, pfn, order);
      if (!isolated) break;
      mm.private[pfn] = order; // set_page_private(page, order)
      nrScanned += isolated - 1;
      total += isolated;
      cc.nr_freepages += isolated;
      listAddTail(m, freelist[order]!, pfn as Folio);
      if (!strict && cc.nr_migratepages <= cc.nr_freepages) {
        pfn += isolated;
        break;
      }
      pfn += isolated - 1;
      continue;
    }
    if (fail && strict) break;
  }
  if (pfn > end) pfn = end;
  if (m.trace.active) m.trace.emit('mm_compaction_isolate_freepages', { start_pfn: start, end_pfn: pfn, nr_scanned: nrScanned, nr_taken: total });
  cursor.pfn = pfn;
  if (strict && pfn < end) total = 0;
  cc.total_free_scanned += nrScanned;
  if (total) m.vmEvents[VM_EVENT.compact_isolated]! += total;
  return total;
}

/**
 * `suitable_migration_target(cc, page)`: a block may give destinations unless it starts with a free
 * block of pageblock order or more (nothing to gain); otherwise only MIGRATE_MOVABLE / CMA blocks,
 * unless `ignore_block_suitable`.
 */
export function suitable_migration_target(m: Machine, cc: CompactControl, pfn: number): boolean {
  if (m.memmap.mapcount[pfn] === BUDDY && m.memmap.private[pfn]! >= pageblock_order) return false;
  if (cc.ignore_block_suitable) return true;
  return is_migrate_movable(get_pfnblock_migratetype(m, pfn));
}

/**
 * `isolate_freepages(cc)`: scan pageblocks downwards from `cc.free_pfn` (never below the migration
 * scanner's block) for free pages until `nr_freepages ≥ nr_migratepages`, skipping unsuitable and
 * skip-marked blocks; the stride grows while blocks yield nothing (MIGRATE_ASYNC starts at
 * COMPACT_CLUSTER_MAX). Records where to restart in `cc.free_pfn`.
 */
export function isolate_freepages(m: Machine, cc: CompactControl): void {
  const zone = cc.zone;
  const cursor: PfnCursor = { pfn: cc.free_pfn };
  let blockStart = pageblock_start_pfn(cursor.pfn);
  let blockEnd = Math.min(blockStart + pageblock_nr_pages, zone.zone_end_pfn);
  const lowPfn = pageblock_end_pfn(cc.migrate_pfn);
  let stride = cc.mode === MIGRATE_MODE.MIGRATE_ASYNC ? COMPACT_CLUSTER_MAX : 1;
  for (; blockStart >= lowPfn; blockEnd = blockStart, blockStart -= pageblock_nr_pages, cursor.pfn = blockStart) {
    if (pageblock_pfn_to_page(m, blockStart, blockEnd, zone) < 0) continue;
    if (!suitable_migration_target(m, cc, blockStart)) continue;
    if (!isolation_suitable(m, cc, blockStart)) continue;
    const nrIsolated = isolate_freepages_block(m, cc, cursor, blockEnd, cc.freepages, stride, false);
    if (cursor.pfn === blockEnd) update_pageblock_skip(m, cc, blockStart, blockStart - pageblock_nr_pages);
    if (cc.nr_freepages >= cc.nr_migratepages) {
      // Restart at the previous pageblock if this one is used up.
      if (cursor.pfn >= blockEnd) cursor.pfn = blockStart - pageblock_nr_pages;
      break;
    } else if (cursor.pfn < blockEnd) {
      break; // isolation failed early (watermark)
    }
    if (nrIsolated) {
      stride = 1;
      continue;
    }
    stride = Math.min(COMPACT_CLUSTER_MAX, stride << 1);
  }
  cc.free_pfn = cursor.pfn;
}

/**
 * `compaction_alloc(src, data)`: the destination for `src` from the isolated free blocks, of the
 * source's order, splitting a larger block (the rest goes back to `freepages`); isolates more with
 * `isolate_freepages` once if none is left. The page is prepared like an allocation (refcount 1,
 * compound if large). Returns -1 when there is nothing to take (migration then stops with -ENOMEM).
 */
export function compaction_alloc(m: Machine, src: Folio, cc: CompactControl): Folio | -1 {
  const mm = m.memmap;
  const order = (mm.flags[src]! & HEAD) !== 0 ? mm.flags[src + 1]! & 0xff : 0;
  let start = order;
  let isolatedMore = false;
  for (;;) {
    while (start < NR_PAGE_ORDERS && cc.freepages[start]!.empty) start++;
    if (start < NR_PAGE_ORDERS) break;
    if (isolatedMore) return -1;
    isolate_freepages(m, cc);
    isolatedMore = true;
    start = order;
  }
  const list = cc.freepages[start]!;
  const page = list.first;
  listDel(m, list, page);
  let size = 1 << start;
  while (start > order) {
    start--;
    size >>= 1;
    listAdd(m, cc.freepages[start]!, (page + size) as Folio);
    mm.private[page + size] = start;
  }
  prep_new_page(m, page, order, GFP.__GFP_MOVABLE | (order > 0 ? GFP.__GFP_COMP : 0));
  if (order > 1) mm.flags[page + 1]! |= 1 << PG.large_rmappable;
  cc.nr_freepages -= 1 << order;
  cc.nr_migratepages -= 1 << order;
  return page as Folio;
}

/**
 * `compaction_free(dst, data)`: take back an unused destination: if our reference was the last, it
 * is prepared as freed and returns to `freepages` (someone else may have referenced it, then it is
 * theirs to free).
 */
export function compaction_free(m: Machine, dst: Folio, cc: CompactControl): void {
  const mm = m.memmap;
  const order = (mm.flags[dst]! & HEAD) !== 0 ? mm.flags[dst + 1]! & 0xff : 0;
  if (--mm.refcount[dst]! === 0) {
    if (free_pages_prepare(m, dst, order)) {
      mm.private[dst] = order;
      listAdd(m, cc.freepages[order]!, dst);
      cc.nr_freepages += 1 << order;
    }
  }
  cc.nr_migratepages += 1 << order;
}

/**
 * `release_free_list(freepages)`: give every isolated free block back to the page allocator (as an
 * allocated block freed with `__free_pages`). Returns the highest PFN released (0 if none).
 */
export function release_free_list(m: Machine, freepages: ListHead[]): number {
  let high = 0;
  for (let order = 0; order < NR_PAGE_ORDERS; order++) {
    const list = freepages[order]!;
    while (!list.empty) {
      const pfn = list.first;
      listDel(m, list, pfn);
      prep_new_page(m, pfn, order, 0); // mark_allocated()
      __free_pages(m, pfn as Pfn, order);
      if (pfn > high) high = pfn;
    }
  }
  return high;
}
