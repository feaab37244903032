import { MIGRATE_MOVABLE, PB_COMPACT_SKIP, get_pfnblock_migratetype } from '../alloc/migratetype.js';
import type { Zone } from '../alloc/zone.js';
import type { Machine } from '../machine/machine.js';
import { PGTY } from '../page/page-type.js';
import { PG } from '../page/page-flags.js';
import { MIGRATE_MODE } from '../migrate/migrate-mode.js';
import { PAGE_ALLOC_COSTLY_ORDER, pageblock_nr_pages, pageblock_order } from '../types.js';
import type { CompactControl } from './compact-control.js';

/**
 * Pageblock skip hints and cached scanner positions (`mm/compaction.c`): PB_compact_skip marks
 * pageblocks where isolation recently found nothing, so later runs skip them until the scanners meet
 * and the hints are flushed.
 *
 * @module
 */

/** `pageblock_start_pfn(pfn)`. */
export function pageblock_start_pfn(pfn: number): number {
  return pfn - (pfn & (pageblock_nr_pages - 1));
}

/** `pageblock_end_pfn(pfn)`: the first PFN of the next pageblock. */
export function pageblock_end_pfn(pfn: number): number {
  return pageblock_start_pfn(pfn) + pageblock_nr_pages;
}

/** `pageblock_aligned(pfn)`. */
export function pageblock_aligned(pfn: number): boolean {
  return (pfn & (pageblock_nr_pages - 1)) === 0;
}

/** `get_pageblock_skip(page)`. */
export function get_pageblock_skip(m: Machine, pfn: number): boolean {
  return (m.memmap.pageblock[pfn >>> pageblock_order]! & PB_COMPACT_SKIP) !== 0;
}

/** `set_pageblock_skip(page)`. */
export function set_pageblock_skip(m: Machine, pfn: number): void {
  m.memmap.pageblock[pfn >>> pageblock_order]! |= PB_COMPACT_SKIP;
}

/** `clear_pageblock_skip(page)`. */
export function clear_pageblock_skip(m: Machine, pfn: number): void {
  m.memmap.pageblock[pfn >>> pageblock_order]! &= ~PB_COMPACT_SKIP;
}

/** `isolation_suitable(cc, page)`: the block is not marked skip (or hints are ignored). */
export function isolation_suitable(m: Machine, cc: CompactControl, pfn: number): boolean {
  return cc.ignore_skip_hint || !get_pageblock_skip(m, pfn);
}

/** `reset_cached_positions(zone)`: restart both scanners at the zone's ends. */
export function reset_cached_positions(zone: Zone): void {
  zone.compact.cached_migrate_pfn = zone.zone_start_pfn;
  zone.compact.cached_migrate_pfn_sync = zone.zone_start_pfn;
  zone.compact.cached_free_pfn = pageblock_start_pfn(zone.zone_end_pfn - 1);
}

/**
 * `pageblock_pfn_to_page(start_pfn, end_pfn, zone)`: the block's first page if the first and last
 * PFN of `[start, end)` are online pages of `zone`, else -1.
 */
export function pageblock_pfn_to_page(m: Machine, start: number, end: number, zone: Zone): number {
  const f = m.memmap.flags;
  if (start >= f.length || end - 1 >= f.length) return -1;
  if (f[start]! >>> 24 !== zone.id || f[end - 1]! >>> 24 !== zone.id) return -1;
  return start;
}

/** `pageblock_skip_persistent(page)`: a compound page of at least pageblock order (skipped until freed). */
export function pageblock_skip_persistent(m: Machine, pfn: number): boolean {
  const mm = m.memmap;
  const w = mm.lru[pfn]!;
  const head = (w & 1) !== 0 ? (w >>> 2) - 1 : pfn;
  if ((mm.flags[head]! & (1 << PG.head)) === 0) return false;
  return (mm.flags[head + 1]! & 0xff) >= pageblock_order;
}

function __reset_isolation_pfn(m: Machine, zone: Zone, pfn: number, checkSource: boolean, checkTarget: boolean): boolean {
  const mm = m.memmap;
  if (pfn < 0 || pfn >= mm.flags.length || mm.flags[pfn]! >>> 24 !== zone.id) return false;
  if (pageblock_skip_persistent(m, pfn)) return false;
  if (checkSource && checkTarget && !get_pageblock_skip(m, pfn)) return true;
  if (!checkSource && checkTarget && get_pfnblock_migratetype(m, pfn) !== MIGRATE_MOVABLE) return false;
  let page = Math.max(pageblock_start_pfn(pfn), zone.zone_start_pfn);
  const endPage = Math.min(pageblock_end_pfn(pfn) - 1, zone.zone_end_pfn - 1);
  if (mm.flags[endPage]! >>> 24 !== zone.id) return false;
  const BUDDY = (PGTY.buddy << 24) | 0;
  do {
    if (checkSource && (mm.flags[page]! & (1 << PG.lru)) !== 0) {
      clear_pageblock_skip(m, page);
      return true;
    }
    if (checkTarget && mm.mapcount[page] === BUDDY) {
      clear_pageblock_skip(m, page);
      return true;
    }
    page += 1 << PAGE_ALLOC_COSTLY_ORDER;
  } while (page <= endPage);
  return false;
}

/**
 * `__reset_isolation_suitable(zone)`: after the scanners met in a direct compaction
 * (`compact_blockskip_flush`), clear the skip hints of blocks that now have LRU or free pages and
 * move the cached scanner positions to the first such blocks from either end.
 */
export function __reset_isolation_suitable(m: Machine, zone: Zone): void {
  const c = zone.compact;
  let migratePfn = zone.zone_start_pfn;
  let freePfn = zone.zone_end_pfn - 1;
  let resetMigrate = freePfn;
  let resetFree = migratePfn;
  let sourceSet = false;
  let freeSet = false;
  if (!c.blockskip_flush) return;
  c.blockskip_flush = false;
  for (; migratePfn < freePfn; migratePfn += pageblock_nr_pages, freePfn -= pageblock_nr_pages) {
    if (__reset_isolation_pfn(m, zone, migratePfn, true, sourceSet) && migratePfn < resetMigrate) {
      sourceSet = true;
      resetMigrate = migratePfn;
      c.init_migrate_pfn = resetMigrate;
      c.cached_migrate_pfn = resetMigrate;
      c.cached_migrate_pfn_sync = resetMigrate;
    }
    if (__reset_isolation_pfn(m, zone, freePfn, freeSet, true) && freePfn > resetFree) {
      freeSet = true;
      resetFree = freePfn;
      c.init_free_pfn = resetFree;
      c.cached_free_pfn = resetFree;
    }
  }
  if (resetMigrate >= resetFree) {
    c.cached_migrate_pfn = migratePfn;
    c.cached_migrate_pfn_sync = migratePfn;
    c.cached_free_pfn = freePfn;
  }
}

/** `test_and_set_skip(cc, page)`: set the block's skip hint; true if it was set already. */
export function test_and_set_skip(m: Machine, cc: CompactControl, pfn: number): boolean {
  if (cc.ignore_skip_hint) return false;
  const skip = get_pageblock_skip(m, pfn);
  if (!skip && !cc.no_set_skip_hint) set_pageblock_skip(m, pfn);
  return skip;
}

/** `update_cached_migrate(cc, pfn)`: advance where async (and sync) compaction restart. */
export function update_cached_migrate(cc: CompactControl, pfn: number): void {
  if (cc.no_set_skip_hint) return;
  const c = cc.zone.compact;
  pfn = pageblock_end_pfn(pfn);
  if (pfn > c.cached_migrate_pfn) c.cached_migrate_pfn = pfn;
  if (cc.mode !== MIGRATE_MODE.MIGRATE_ASYNC && pfn > c.cached_migrate_pfn_sync) c.cached_migrate_pfn_sync = pfn;
}

/** `update_pageblock_skip(cc, page, pfn)`: mark a block the free scanner emptied; move the cached free PFN down. */
export function update_pageblock_skip(m: Machine, cc: CompactControl, page: number, pfn: number): void {
  if (cc.no_set_skip_hint) return;
  set_pageblock_skip(m, page);
  if (pfn < cc.zone.compact.cached_free_pfn) cc.zone.compact.cached_free_pfn = pfn;
}
