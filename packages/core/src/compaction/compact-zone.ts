import { find_suitable_fallback } from '../alloc/buddy.js';
import { MIGRATE_CMA, MIGRATE_MOVABLE, MIGRATE_TYPES } from '../alloc/migratetype.js';
import { ALLOC_WMARK_MASK, __zone_watermark_ok, wmark_pages } from '../alloc/watermark.js';
import type { Zone } from '../alloc/zone.js';
import { gfp_migratetype } from '../alloc/gfp.js';
import { ENOMEM } from '../errno.js';
import { lru_add_drain } from '../folio/lru.js';
import { drain_local_pages } from '../alloc/pcp.js';
import type { Machine } from '../machine/machine.js';
import { migrate_pages } from '../migrate/migrate-pages.js';
import { MIGRATE_MODE, MR } from '../migrate/migrate-mode.js';
import { putback_movable_pages } from '../migrate/putback.js';
import type { Folio } from '../types.js';
import { VM_EVENT } from '../trace/vmstat.js';
import { PAGE_ALLOC_COSTLY_ORDER, MAX_PAGE_ORDER, pageblock_order } from '../types.js';
import type { CompactControl } from './compact-control.js';
import { COMPACT, COMPACT_MAX_DEFER_SHIFT, SYSCTL_EXTFRAG_THRESHOLD, type CompactResult } from './compact-result.js';
import { fragmentation_index } from './fragmentation.js';
import { compaction_alloc, compaction_free, release_free_list } from './free-scanner.js';
import { ISOLATE_MIGRATE, is_via_compact_memory, isolate_migratepages } from './migrate-scanner.js';
import { __reset_isolation_suitable, pageblock_aligned, pageblock_start_pfn, reset_cached_positions } from './skip-hints.js';

/**
 * `compact_zone()` and its decisions (`mm/compaction.c`, v6.17): whether to compact, when to stop,
 * and when to defer. The capture of a freed page for the direct compactor (`capture_control`) and
 * proactive compaction are not modelled.
 *
 * @module
 */

/** `compact_gap(order)`: free pages compaction needs beyond the watermark: `2 << order`. */
export function compact_gap(order: number): number {
  return 2 << order;
}

/**
 * `__compaction_suitable(zone, order, highest_zoneidx, wmark_target)`: enough free order-0 pages for
 * migration targets: above the min watermark (low for costly orders) plus `compact_gap(order)`.
 */
export function __compaction_suitable(zone: Zone, order: number, highestZoneidx: number): boolean {
  const watermark = (order > PAGE_ALLOC_COSTLY_ORDER ? zone.low_wmark_pages : zone.min_wmark_pages) + compact_gap(order);
  return __zone_watermark_ok(zone, 0, watermark, highestZoneidx, 0);
}

/**
 * `compaction_suitable(zone, order, highest_zoneidx)`: `__compaction_suitable`, and for costly orders
 * a fragmentation index above `vm.extfrag_threshold` (500): a failure must be due to fragmentation,
 * not lack of memory. Traces `mm_compaction_suitable`.
 */
export function compaction_suitable(m: Machine, zone: Zone, order: number, highestZoneidx: number): boolean {
  let suitable = __compaction_suitable(zone, order, highestZoneidx);
  let ret: number = COMPACT.COMPACT_SKIPPED;
  if (suitable) {
    ret = COMPACT.COMPACT_CONTINUE;
    if (order > PAGE_ALLOC_COSTLY_ORDER) {
      const fragindex = fragmentation_index(zone, order);
      if (fragindex >= 0 && fragindex <= SYSCTL_EXTFRAG_THRESHOLD) {
        suitable = false;
        ret = COMPACT.COMPACT_NOT_SUITABLE_ZONE;
      }
    }
  }
  if (m.trace.active) m.trace.emit('mm_compaction_suitable', { nid: zone.nid, zone: zone.name, order, ret });
  return suitable;
}

/** `defer_compaction(zone, order)`: after a failure, skip the next `1 << defer_shift` attempts at this order or above. */
export function defer_compaction(m: Machine, zone: Zone, order: number): void {
  const c = zone.compact;
  c.considered = 0;
  c.defer_shift++;
  if (order < c.order_failed) c.order_failed = order;
  if (c.defer_shift > COMPACT_MAX_DEFER_SHIFT) c.defer_shift = COMPACT_MAX_DEFER_SHIFT;
  if (m.trace.active) m.trace.emit('mm_compaction_deferred', { nid: zone.nid, zone: zone.name, order, ret: COMPACT.COMPACT_DEFERRED });
}

/** `compaction_deferred(zone, order)`: true if this attempt should be skipped. */
export function compaction_deferred(zone: Zone, order: number): boolean {
  const c = zone.compact;
  const limit = 1 << c.defer_shift;
  if (order < c.order_failed) return false;
  if (++c.considered >= limit) {
    c.considered = limit;
    return false;
  }
  return true;
}

/** `compaction_defer_reset(zone, order, alloc_success)`: compaction of `order` succeeded (or should). */
export function compaction_defer_reset(zone: Zone, order: number, allocSuccess: boolean): void {
  const c = zone.compact;
  if (allocSuccess) {
    c.considered = 0;
    c.defer_shift = 0;
  }
  if (order >= c.order_failed) c.order_failed = order + 1;
}

/** `compaction_restarting(zone, order)`: restarting after the maximum number of deferrals. */
export function compaction_restarting(zone: Zone, order: number): boolean {
  const c = zone.compact;
  if (order < c.order_failed) return false;
  return c.defer_shift === COMPACT_MAX_DEFER_SHIFT && c.considered >= 1 << c.defer_shift;
}

/** `compact_scanners_met(cc)`: the free scanner reached the migration scanner's pageblock. */
export function compact_scanners_met(cc: CompactControl): boolean {
  return cc.free_pfn >> pageblock_order <= cc.migrate_pfn >> pageblock_order;
}

/**
 * `__compact_finished(cc)`: COMPACT_COMPLETE / PARTIAL_SKIPPED when the scanners met (the cached
 * positions are reset); COMPACT_CONTINUE for a full compaction or mid-pageblock; COMPACT_SUCCESS once a
 * free block of the order exists for the allocation's migratetype (or one it may fall back to);
 * otherwise COMPACT_NO_SUITABLE_PAGE.
 */
export function __compact_finished(m: Machine, cc: CompactControl): CompactResult {
  if (compact_scanners_met(cc)) {
    reset_cached_positions(cc.zone);
    if (cc.direct_compaction) cc.zone.compact.blockskip_flush = true;
    return cc.whole_zone ? COMPACT.COMPACT_COMPLETE : COMPACT.COMPACT_PARTIAL_SKIPPED;
  }
  if (is_via_compact_memory(cc.order)) return COMPACT.COMPACT_CONTINUE;
  if (!pageblock_aligned(cc.migrate_pfn)) return COMPACT.COMPACT_CONTINUE;
  const heads = cc.zone.free_list.heads;
  for (let order = cc.order; order <= MAX_PAGE_ORDER; order++) {
    if (heads[order * MIGRATE_TYPES + cc.migratetype]! >= 0) return COMPACT.COMPACT_SUCCESS;
    if (cc.migratetype === MIGRATE_MOVABLE && heads[order * MIGRATE_TYPES + MIGRATE_CMA]! >= 0) return COMPACT.COMPACT_SUCCESS;
    if (cc.migratetype < 3 && find_suitable_fallback(cc.zone, order, cc.migratetype, true) >= 0) return COMPACT.COMPACT_SUCCESS;
  }
  return cc.contended ? COMPACT.COMPACT_CONTENDED : COMPACT.COMPACT_NO_SUITABLE_PAGE;
}

/** `compact_finished(cc)`: `__compact_finished`, traced, with NO_SUITABLE_PAGE meaning CONTINUE. */
export function compact_finished(m: Machine, cc: CompactControl): CompactResult {
  const ret = __compact_finished(m, cc);
  if (m.trace.active) m.trace.emit('mm_compaction_finished', { nid: cc.zone.nid, zone: cc.zone.name, order: cc.order, ret });
  return ret === COMPACT.COMPACT_NO_SUITABLE_PAGE ? COMPACT.COMPACT_CONTINUE : ret;
}

/**
 * `compact_zone(cc, capc)`: unless compacting everything (order -1), stop at once if the allocation
 * would already succeed or compaction is unsuitable; position the scanners (the whole zone, or the
 * cached positions); then repeatedly isolate a batch with the migration scanner and `migrate_pages` it
 * to destinations from the free scanner (`compaction_alloc` / `compaction_free`, MR_COMPACTION) until
 * `compact_finished` says stop — the scanners met, or a block of the order is free. Isolated free pages
 * left over go back to the allocator. Counts COMPACTMIGRATE_SCANNED / COMPACTFREE_SCANNED; traces
 * `mm_compaction_begin` / `_end` / `_migratepages`. Returns the `compact_result`.
 */
export function compact_zone(m: Machine, cc: CompactControl): CompactResult {
  if (m.debugVm) return m.withChecksDeferred('compact_zone', () => __compact_zone(m, cc));
  return __compact_zone(m, cc);
}

function __compact_zone(m: Machine, cc: CompactControl): CompactResult {
  const zone = cc.zone;
  const startPfn = zone.zone_start_pfn;
  const endPfn = zone.zone_end_pfn;
  const sync = cc.mode !== MIGRATE_MODE.MIGRATE_ASYNC;
  cc.total_migrate_scanned = 0;
  cc.total_free_scanned = 0;
  cc.nr_migratepages = 0;
  cc.nr_freepages = 0;
  cc.migratetype = gfp_migratetype(cc.gfp_mask);
  if (!is_via_compact_memory(cc.order)) {
    const watermark = wmark_pages(zone, cc.alloc_flags & ALLOC_WMARK_MASK);
    if (__zone_watermark_ok(zone, cc.order, watermark, cc.highest_zoneidx, cc.alloc_flags)) return COMPACT.COMPACT_SUCCESS;
    if (!compaction_suitable(m, zone, cc.order, cc.highest_zoneidx)) return COMPACT.COMPACT_SKIPPED;
  }
  if (compaction_restarting(zone, cc.order)) __reset_isolation_suitable(m, zone);
  const c = zone.compact;
  cc.fast_start_pfn = 0;
  if (cc.whole_zone) {
    cc.migrate_pfn = startPfn;
    cc.free_pfn = pageblock_start_pfn(endPfn - 1);
  } else {
    cc.migrate_pfn = sync ? c.cached_migrate_pfn_sync : c.cached_migrate_pfn;
    cc.free_pfn = c.cached_free_pfn;
    if (cc.free_pfn < startPfn || cc.free_pfn >= endPfn) {
      cc.free_pfn = pageblock_start_pfn(endPfn - 1);
      c.cached_free_pfn = cc.free_pfn;
    }
    if (cc.migrate_pfn < startPfn || cc.migrate_pfn >= endPfn) {
      cc.migrate_pfn = startPfn;
      c.cached_migrate_pfn = cc.migrate_pfn;
      c.cached_migrate_pfn_sync = cc.migrate_pfn;
    }
    if (cc.migrate_pfn <= c.init_migrate_pfn) cc.whole_zone = true;
  }
  let lastMigratedPfn = 0;
  let updateCached = !sync && c.cached_migrate_pfn === c.cached_migrate_pfn_sync;
  if (m.trace.active) m.trace.emit('mm_compaction_begin', { zone_start: startPfn, migrate_pfn: cc.migrate_pfn, free_pfn: cc.free_pfn, zone_end: endPfn, sync });
  lru_add_drain(m);
  const alloc = (src: Folio, data: CompactControl): Folio | -1 => compaction_alloc(m, src, data);
  const free = (dst: Folio, data: CompactControl): void => compaction_free(m, dst, data);
  const succeeded = { value: 0 };
  let ret: CompactResult;
  out: while ((ret = compact_finished(m, cc)) === COMPACT.COMPACT_CONTINUE) {
    const iterationStart = cc.migrate_pfn;
    if (m.debugVm && cc.migrate_pfn > cc.free_pfn + (1 << pageblock_order)) {
      m.vmBug('§10.1 scanners', `migration scanner ${cc.migrate_pfn} passed the free scanner ${cc.free_pfn}`);
    }
    cc.finish_pageblock = pageblock_start_pfn(lastMigratedPfn) === pageblock_start_pfn(iterationStart);
    for (;;) {
      // rescan:
      const isolated = isolate_migratepages(m, cc);
      if (isolated === ISOLATE_MIGRATE.ISOLATE_ABORT) {
        ret = COMPACT.COMPACT_CONTENDED;
        putback_movable_pages(m, cc.migratepages);
        cc.nr_migratepages = 0;
        break out;
      }
      if (isolated === ISOLATE_MIGRATE.ISOLATE_NONE) {
        if (updateCached) c.cached_migrate_pfn_sync = c.cached_migrate_pfn;
        break; // check_drain
      }
      updateCached = false;
      lastMigratedPfn = Math.max(zone.zone_start_pfn, pageblock_start_pfn(cc.migrate_pfn - 1));
      const nr = cc.migratepages.length;
      const err = migrate_pages(m, cc.migratepages, alloc, free, cc, cc.mode, MR.MR_COMPACTION, succeeded);
      if (m.trace.active) m.trace.emit('mm_compaction_migratepages', { nr_migratepages: nr, nr_failed: nr - Math.min(nr, succeeded.value) });
      cc.nr_migratepages = 0;
      if (err) {
        putback_movable_pages(m, cc.migratepages);
        // migrate_pages() may return -ENOMEM when the scanners meet: let compact_finished() see it.
        if (err === -ENOMEM && !compact_scanners_met(cc)) {
          ret = COMPACT.COMPACT_CONTENDED;
          break out;
        }
        // An ASYNC or SYNC_LIGHT failure within a pageblock: finish scanning that block.
        if (!pageblock_aligned(cc.migrate_pfn) && !cc.ignore_skip_hint && !cc.finish_pageblock && cc.mode < MIGRATE_MODE.MIGRATE_SYNC) {
          cc.finish_pageblock = true;
          if (cc.order === pageblock_order) lastMigratedPfn = 0;
          continue; // goto rescan
        }
      }
      break;
    }
    // check_drain: flush what was freed once the scanner left the order-aligned block.
    if (cc.order > 0 && lastMigratedPfn) {
      const currentBlockStart = cc.migrate_pfn - (cc.migrate_pfn % (1 << cc.order));
      if (lastMigratedPfn < currentBlockStart) {
        lru_add_drain(m); // lru_add_drain_cpu_zone()
        drain_local_pages(m, zone);
        lastMigratedPfn = 0;
      }
    }
  }
  if (cc.nr_freepages > 0) {
    let freePfn = release_free_list(m, cc.freepages);
    cc.nr_freepages = 0;
    freePfn = pageblock_start_pfn(freePfn);
    if (freePfn > c.cached_free_pfn) c.cached_free_pfn = freePfn;
  }
  m.vmEvents[VM_EVENT.compact_migrate_scanned]! += cc.total_migrate_scanned;
  m.vmEvents[VM_EVENT.compact_free_scanned]! += cc.total_free_scanned;
  if (m.trace.active) m.trace.emit('mm_compaction_end', { zone_start: startPfn, migrate_pfn: cc.migrate_pfn, free_pfn: cc.free_pfn, zone_end: endPfn, sync, status: ret });
  return ret;
}
