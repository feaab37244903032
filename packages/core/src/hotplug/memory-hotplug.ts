import { GFP, GFP_KERNEL } from '../alloc/gfp.js';
import { MIGRATE_ISOLATE, clear_pageblock_isolate } from '../alloc/migratetype.js';
import { del_page_from_free_list } from '../alloc/buddy.js';
import { zone_pcp_disable, zone_pcp_enable } from '../alloc/pcp.js';
import { calculate_min_free_kbytes, setup_pageset_high_and_batch, setup_per_zone_lowmem_reserve, setup_per_zone_wmarks } from '../alloc/watermark.js';
import type { Zone } from '../alloc/zone.js';
import { MmError } from '../debug/mm-error.js';
import { EBUSY, EINTR, EINVAL, ENOENT } from '../errno.js';
import { folio_put, folio_try_get } from '../folio/folio-ref.js';
import { lru_add_drain_all } from '../folio/lru.js';
import { undo_isolate_page_range, start_isolate_page_range, test_pages_isolated, PB_ISOLATE_MODE } from '../isolation/page-isolation.js';
import type { Machine } from '../machine/machine.js';
import { NO_ZONE_FLAGS } from '../page/memmap.js';
import { ListHead } from '../migrate/list-head.js';
import { migrate_pages } from '../migrate/migrate-pages.js';
import { MR, MIGRATE_MODE } from '../migrate/migrate-mode.js';
import { alloc_migration_target, type MigrationTargetControl } from '../migrate/migration-target.js';
import { page_has_movable_ops } from '../migrate/movable-ops.js';
import { isolate_folio_to_list, putback_movable_pages } from '../migrate/putback.js';
import { PG } from '../page/page-flags.js';
import { PGTY } from '../page/page-type.js';
import { type Folio, type Pfn, pageblock_nr_pages } from '../types.js';
import { MEM_CANCEL_OFFLINE, MEM_GOING_OFFLINE, MEM_OFFLINE } from './memory-notify.js';

/**
 * Memory offlining (`mm/memory_hotplug.c`): `offline_pages` isolates a range's pageblocks, migrates
 * everything movable out of it, and removes it from the zone; on failure it undoes the isolation and
 * nothing is lost. Memory blocks are sections of {@link PAGES_PER_SECTION} pages (128 MiB on x86-64).
 * Onlining memory again is not modelled. An offline range keeps no memmap (its struct pages read as a
 * hole: `pfn_valid` is false).
 *
 * @module
 */

/** `PAGES_PER_SECTION` on x86-64: 128 MiB sections. */
export const PAGES_PER_SECTION = 1 << 15;

/**
 * The model cannot take signals: where the kernel's offlining loop retries until the writer of
 * `/sys/devices/system/memory/memoryN/state` is interrupted, the model gives up after this many passes
 * with `-EINTR` ("signal backoff").
 */
export const OFFLINE_MAX_PASSES = 16;

const BUDDY = (PGTY.buddy << 24) | 0;
const TYPED_LIMIT = 0xff000000 | 0;

/**
 * `scan_movable_pages(start, end, &movable_pfn)`: the first PFN from `start` holding an LRU folio, a
 * movable_ops page or a migratable (isolatable) hugetlb folio, in `cursor.pfn`; returns 0 if one was
 * found, `-ENOENT` if none, `-EBUSY` at a PageOffline page that still has references (unmovable).
 */
export function scan_movable_pages(m: Machine, start: number, end: number, cursor: { pfn: number }): number {
  const mm = m.memmap;
  for (let pfn = start; pfn < end; pfn++) {
    const f = mm.flags[pfn]!;
    if (f >>> 24 === 0xff) continue;
    const w = mm.lru[pfn]!;
    const head = (w & 1) !== 0 ? (w >>> 2) - 1 : pfn;
    if ((mm.flags[head]! & (1 << PG.lru)) !== 0 || page_has_movable_ops(m, pfn as Pfn)) {
      cursor.pfn = pfn;
      return 0;
    }
    const v = mm.mapcount[pfn]!;
    if (v < TYPED_LIMIT && v >>> 24 === PGTY.offline && mm.refcount[head]! > 0) return -EBUSY;
    const hv = mm.mapcount[head]!;
    if (!(hv < TYPED_LIMIT && hv >>> 24 === PGTY.hugetlb)) continue;
    // folio_test_hugetlb_migratable(): an in-use hugetlb folio (a free one is dissolved instead).
    if (mm.refcount[head]! > 0) {
      cursor.pfn = pfn;
      return 0;
    }
    pfn = head + mm.private[head + 1]! - 1;
  }
  return -ENOENT;
}

/**
 * `do_migrate_range(start_pfn, end_pfn)`: isolate every folio of the range that can be
 * (`isolate_folio_to_list` under a speculative reference) and migrate them away with
 * `alloc_migration_target` (another node if there is one; GFP_KERNEL | __GFP_MOVABLE |
 * __GFP_RETRY_MAYFAIL), MIGRATE_SYNC, MR_MEMORY_HOTPLUG; what fails is put back.
 */
export function do_migrate_range(m: Machine, start: number, end: number): void {
  const mm = m.memmap;
  const source = new ListHead();
  for (let pfn = start; pfn < end; pfn++) {
    if (mm.flags[pfn]! >>> 24 === 0xff) continue;
    const w = mm.lru[pfn]!;
    const folio = ((w & 1) !== 0 ? (w >>> 2) - 1 : pfn) as Folio;
    if (mm.refcount[folio] === 0 || !folio_try_get(m, folio)) continue;
    if ((mm.flags[folio]! & (1 << PG.head)) !== 0) pfn = folio + mm.private[folio + 1]! - 1;
    if ((mm.flags[folio]! & (1 << PG.hwpoison)) === 0) isolate_folio_to_list(m, folio, source);
    folio_put(m, folio);
  }
  if (source.empty) return;
  const nid = mm.flags[source.first]! >>> 27;
  const mtc: MigrationTargetControl = {
    nid: m.nodes.length > 1 ? (nid + 1) % m.nodes.length : nid,
    gfp_mask: GFP_KERNEL | GFP.__GFP_MOVABLE | GFP.__GFP_RETRY_MAYFAIL,
    reason: MR.MR_MEMORY_HOTPLUG,
  };
  const ret = migrate_pages(m, source, (src, c: MigrationTargetControl) => alloc_migration_target(m, src, c), null, mtc, MIGRATE_MODE.MIGRATE_SYNC, MR.MR_MEMORY_HOTPLUG);
  if (ret) putback_movable_pages(m, source);
}

/**
 * `dissolve_free_hugetlb_folios(start_pfn, end_pfn)`: hand every hugetlb folio of the range to the
 * `dissolve_free_hugetlb_folio` hook (free ones go back to the buddy allocator). Returns 0 or the
 * hook's error.
 */
export function dissolve_free_hugetlb_folios(m: Machine, start: number, end: number): number {
  const dissolve = m.hooks.dissolve_free_hugetlb_folio;
  if (!dissolve) return 0;
  const mm = m.memmap;
  for (let pfn = start; pfn < end; pfn++) {
    const v = mm.mapcount[pfn]!;
    if (!(v < TYPED_LIMIT && v >>> 24 === PGTY.hugetlb)) continue;
    const nr = mm.private[pfn + 1]!;
    const rc = dissolve(pfn as Folio);
    if (rc) return rc;
    pfn += nr - 1;
  }
  return 0;
}

/**
 * `__offline_isolated_pages(start_pfn, end_pfn)`: take the (now all free) range off the buddy lists;
 * PageOffline pages with refcount 0 are skipped (their owner stopped counting them as managed). Returns
 * the managed pages removed.
 */
export function __offline_isolated_pages(m: Machine, zone: Zone, start: number, end: number): number {
  const mm = m.memmap;
  let alreadyOffline = 0;
  let pfn = start;
  while (pfn < end) {
    if (mm.mapcount[pfn] !== BUDDY && (mm.flags[pfn]! & (1 << PG.hwpoison)) !== 0) {
      pfn++;
      continue;
    }
    const v = mm.mapcount[pfn]!;
    if (v < TYPED_LIMIT && v >>> 24 === PGTY.offline) {
      alreadyOffline++;
      pfn++;
      continue;
    }
    const order = mm.private[pfn]!;
    del_page_from_free_list(m, zone, pfn, order, MIGRATE_ISOLATE);
    pfn += 1 << order;
  }
  return end - start - alreadyOffline;
}

/**
 * `remove_pfn_range_from_zone(zone, start_pfn, nr_pages)` and the section going offline: the struct
 * pages become a hole (no zone, initial words), the isolate bits are cleared, and the zone's span
 * shrinks if the range was at an end of it.
 */
function remove_pfn_range_from_zone(m: Machine, zone: Zone, start: number, nr: number): void {
  const mm = m.memmap;
  const end = start + nr;
  mm.flags.fill(NO_ZONE_FLAGS, start, end);
  mm.lru.fill(0, start, end);
  mm.lruPrev.fill(0, start, end);
  mm.mapping.fill(0, start, end);
  mm.index.fill(0, start, end);
  mm.private.fill(0, start, end);
  mm.mapcount.fill(-1, start, end);
  mm.refcount.fill(0, start, end);
  mm.memcgData.fill(0, start, end);
  for (let pfn = start; pfn < end; pfn += pageblock_nr_pages) clear_pageblock_isolate(m, pfn);
  // shrink_zone_span(): only the ends of the zone can move.
  let zs = zone.zone_start_pfn;
  let ze = zone.zone_end_pfn;
  while (zs < ze && mm.flags[zs]! >>> 24 !== zone.id) zs += pageblock_nr_pages;
  while (ze > zs && mm.flags[ze - 1]! >>> 24 !== zone.id) ze -= pageblock_nr_pages;
  zone.zone_start_pfn = zs;
  zone.spanned_pages = ze - zs;
}

/**
 * `offline_pages(start_pfn, nr_pages, zone, group)` (`mm/memory_hotplug.c`): take whole sections of
 * one zone offline.
 * 1. Drain the per-CPU LRU batches and page lists (`lru_cache_disable`, `zone_pcp_disable`) and
 *    isolate every pageblock (`start_isolate_page_range`, PB_ISOLATE_MODE_MEM_OFFLINE): `-EBUSY` if a
 *    block holds an unmovable page.
 * 2. `memory_notify(MEM_GOING_OFFLINE)`; owners of PageOffline pages drop their references (the
 *    `memory_notify` and `offline_release` hooks).
 * 3. Loop: find movable pages (`scan_movable_pages`) and migrate them away (`do_migrate_range`);
 *    `-EBUSY` at an unmovable page; dissolve free hugetlb folios; until `test_pages_isolated` finds every
 *    page free, hwpoisoned or PageOffline with refcount 0.
 * 4. Take the free pages off the buddy lists, shrink the zone's managed and present pages, recompute
 *    watermarks, `memory_notify(MEM_OFFLINE)`, and drop the range from the zone; a zone left without
 *    pages is no longer one of the machine's buddy zones (`m.zones`), as it is no longer populated.
 *
 * On failure after isolation the isolation is undone and `MEM_CANCEL_OFFLINE` sent: folios already
 * migrated stay where they went, nothing else changed. Returns 0 or a negative errno: `-EBUSY`
 * (unmovable page or failed isolation), `-EINVAL` (a hole: part of the range is already offline),
 * `-EINTR` (gave up after {@link OFFLINE_MAX_PASSES} passes), or the notifier's or hugetlb's error.
 * `MmError(EINVAL)` for a range that is not whole sections of one zone (the kernel's `WARN_ON_ONCE`).
 */
export function offline_pages(m: Machine, startPfn: number, nrPages: number): number {
  const end = startPfn + nrPages;
  const mm = m.memmap;
  if (!(Number.isInteger(startPfn) && Number.isInteger(nrPages) && nrPages > 0 && startPfn >= 0 && end <= mm.nrPages) || startPfn % PAGES_PER_SECTION !== 0 || end % PAGES_PER_SECTION !== 0) {
    throw new MmError(EINVAL, `offline_pages(${startPfn}, ${nrPages}): not whole memory sections`, { pfn: startPfn, rule: 'WARN_ON_ONCE(!nr_pages || !IS_ALIGNED(start_pfn + nr_pages, PAGES_PER_SECTION))' });
  }
  for (let pfn = startPfn; pfn < end; pfn++) if (mm.flags[pfn]! >>> 24 === 0xff) return -EINVAL; // memory holes
  const zone = m.zoneById[mm.flags[startPfn]! >>> 24]!;
  if (m.zoneById[mm.flags[end - 1]! >>> 24] !== zone) {
    throw new MmError(EINVAL, `offline_pages(${startPfn}, ${nrPages}): range spans zones`, { pfn: startPfn, rule: 'WARN_ON_ONCE(page_zone(start) != zone || page_zone(end - 1) != zone)' });
  }
  const run = (): number => __offline_pages(m, zone, startPfn, nrPages);
  return m.debugVm ? m.withChecksDeferred('offline_pages', run) : run();
}

function __offline_pages(m: Machine, zone: Zone, startPfn: number, nrPages: number): number {
  const end = startPfn + nrPages;
  const arg = { start_pfn: startPfn, nr_pages: nrPages };
  lru_add_drain_all(m); // lru_cache_disable()
  zone_pcp_disable(m, zone);
  let ret = start_isolate_page_range(m, startPfn, end, PB_ISOLATE_MODE.PB_ISOLATE_MODE_MEM_OFFLINE);
  if (ret) {
    zone_pcp_enable(zone);
    return ret;
  }
  const fail = (rc: number): number => {
    undo_isolate_page_range(m, startPfn, end);
    m.hooks.memory_notify?.(MEM_CANCEL_OFFLINE, arg);
    zone_pcp_enable(zone);
    return rc;
  };
  ret = m.hooks.memory_notify?.(MEM_GOING_OFFLINE, arg) ?? 0;
  if (ret) return fail(ret);
  const release = m.hooks.offline_release;
  if (release) {
    const mm = m.memmap;
    for (let pfn = startPfn; pfn < end; pfn++) {
      const v = mm.mapcount[pfn]!;
      if (v < TYPED_LIMIT && v >>> 24 === PGTY.offline && mm.refcount[pfn]! > 0 && !page_has_movable_ops(m, pfn as Pfn)) release(pfn as Pfn);
    }
  }
  let passes = 0;
  do {
    const cursor = { pfn: startPfn };
    do {
      if (++passes > OFFLINE_MAX_PASSES) return fail(-EINTR);
      ret = scan_movable_pages(m, cursor.pfn, end, cursor);
      if (!ret) do_migrate_range(m, cursor.pfn, end);
    } while (!ret);
    if (ret !== -ENOENT) return fail(ret); // unmovable page
    ret = dissolve_free_hugetlb_folios(m, startPfn, end);
    if (ret) return fail(ret);
    // Frees since the isolation went straight to the buddy lists (isolated blocks bypass pcp lists).
    ret = test_pages_isolated(m, startPfn, end, PB_ISOLATE_MODE.PB_ISOLATE_MODE_MEM_OFFLINE);
  } while (ret);
  const managed = __offline_isolated_pages(m, zone, startPfn, end);
  zone_pcp_enable(zone);
  zone.managed_pages -= managed;
  zone.present_pages -= nrPages;
  if (m.config.minFreeKbytes === null) m.minFreeKbytes = calculate_min_free_kbytes(m);
  setup_per_zone_wmarks(m);
  setup_per_zone_lowmem_reserve(m);
  setup_pageset_high_and_batch(m);
  m.hooks.memory_notify?.(MEM_OFFLINE, arg);
  remove_pfn_range_from_zone(m, zone, startPfn, nrPages);
  if (!zone.populated) {
    // zone_pcp_reset() + build_all_zonelists(): an empty zone leaves the machine's buddy zones.
    m.zones.splice(m.zones.indexOf(zone), 1);
  }
  m.zonelists.length = 0;
  return 0;
}
