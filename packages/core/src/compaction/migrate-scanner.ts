import { GFP } from '../alloc/gfp.js';
import { EAGAIN } from '../errno.js';
import { MIGRATE_MOVABLE, get_pfnblock_migratetype, is_migrate_movable } from '../alloc/migratetype.js';
import { folio_get_nontail_page, folio_put } from '../folio/folio-ref.js';
import { folio_trylock, folio_unlock } from '../folio/folio-lock.js';
import { lruvec_del_folio } from '../folio/lru.js';
import type { Machine } from '../machine/machine.js';
import { folio_mapping, mapping_inaccessible } from '../mapping/address-space.js';
import { listAdd } from '../migrate/list-head.js';
import { ISOLATE, MIGRATE_MODE, type IsolateMode } from '../migrate/migrate-mode.js';
import { PageMovableOpsIsolated, isolate_movable_ops_page, page_has_movable_ops } from '../migrate/movable-ops.js';
import { mod_isolated, putback_movable_pages } from '../migrate/putback.js';
import { PG } from '../page/page-flags.js';
import { PGTY } from '../page/page-type.js';
import { NR_NODE, VM_EVENT } from '../trace/vmstat.js';
import { MAX_PAGE_ORDER, pageblock_nr_pages, pageblock_order, type Folio, type Pfn } from '../types.js';
import type { CompactControl } from './compact-control.js';
import { COMPACT_CLUSTER_MAX, SYSCTL_COMPACT_UNEVICTABLE_ALLOWED } from './compact-result.js';
import {
  isolation_suitable,
  pageblock_aligned,
  pageblock_end_pfn,
  pageblock_pfn_to_page,
  pageblock_skip_persistent,
  pageblock_start_pfn,
  set_pageblock_skip,
  test_and_set_skip,
  update_cached_migrate,
} from './skip-hints.js';

/**
 * The migration scanner of compaction (`mm/compaction.c`, v6.17): it walks pageblocks from the bottom
 * of the zone upwards and isolates what can move — LRU folios and movable_ops pages — onto
 * `cc.migratepages`, at most COMPACT_CLUSTER_MAX pages at a time. `fast_find_migrateblock` (a search
 * of the free lists for a block that is already partly free) is not modelled: the scan is linear.
 *
 * @module
 */

const BUDDY = (PGTY.buddy << 24) | 0;
const HEAD = 1 << PG.head;
const F_LRU = 1 << PG.lru;
const TYPED_LIMIT = 0xff000000 | 0;

/** `isolate_migrate_t`: the outcome of `isolate_migratepages`. */
export const ISOLATE_MIGRATE = {
  /** Abort compaction now. */
  ISOLATE_ABORT: 0,
  /** No pages isolated, continue scanning. */
  ISOLATE_NONE: 1,
  /** Pages isolated, migrate them. */
  ISOLATE_SUCCESS: 2,
} as const;

/** `is_via_compact_memory(order)`: order -1 is a full compaction (`/proc/sys/vm/compact_memory`). */
export function is_via_compact_memory(order: number): boolean {
  return order === -1;
}

/**
 * `skip_isolation_on_order(order, target_order)`: folios of the target order or larger are not worth
 * migrating (unless compacting everything), nor are those of pageblock order or more.
 */
export function skip_isolation_on_order(order: number, targetOrder: number): boolean {
  if (!is_via_compact_memory(targetOrder) && order >= targetOrder) return true;
  return order >= pageblock_order;
}

/**
 * `too_many_isolated(cc)`: more than half of the node's LRU pages are isolated (an eighth with
 * __GFP_FS), so isolation should wait.
 */
export function too_many_isolated(m: Machine, cc: CompactControl): boolean {
  const v = m.nodes[cc.zone.nid]!.vmstat;
  let inactive = v[NR_NODE.nr_inactive_file]! + v[NR_NODE.nr_inactive_anon]!;
  let active = v[NR_NODE.nr_active_file]! + v[NR_NODE.nr_active_anon]!;
  const isolated = v[NR_NODE.nr_isolated_file]! + v[NR_NODE.nr_isolated_anon]!;
  if (cc.gfp_mask & GFP.__GFP_FS) {
    inactive = Math.floor(inactive / 8);
    active = Math.floor(active / 8);
  }
  return isolated > (inactive + active) / 2;
}

/**
 * `isolate_migratepages_block(cc, low_pfn, end_pfn, mode)`: isolate the movable pages of
 * `[low, end)` (one pageblock at most) onto `cc.migratepages`. Per PFN: a free block is skipped whole
 * (order read without the lock, trusted if 0 < order ≤ MAX_PAGE_ORDER); a compound page too large for
 * the target order (or hugetlb) is skipped; a page off the LRU is taken only if it has movable_ops and
 * is not isolated yet (`isolate_movable_ops_page`); an LRU folio is taken with a speculative reference
 * unless it is pinned anon (`refcount − 1 > mapcount`), needs __GFP_FS, is unevictable (without
 * ISOLATE_UNEVICTABLE), under writeback or dirty without `migrate_folio` in async mode, or in an
 * inaccessible mapping; then PG_lru is cleared and it leaves its lruvec with NR_ISOLATED_*. Stops after
 * COMPACT_CLUSTER_MAX pages. Async direct compaction gives up an order-aligned block at the first
 * failure. Sets the skip hint of a block that yielded nothing. Returns 0 or `-EAGAIN` (too many
 * isolated); `cc.migrate_pfn` is where to continue.
 */
export function isolate_migratepages_block(m: Machine, cc: CompactControl, low: number, end: number, mode: IsolateMode): number {
  const mm = m.memmap;
  const flags = mm.flags;
  const mapcount = mm.mapcount;
  const lru = mm.lru;
  const priv = mm.private;
  const zoneStart = cc.zone.zone_start_pfn;
  let nrScanned = 0;
  let nrIsolated = 0;
  let validPage = -1;
  const start = low;
  let skipOnFailure = false;
  let nextSkipPfn = 0;
  let skipUpdated = false;
  cc.migrate_pfn = low;
  if (too_many_isolated(m, cc)) {
    // Reclaim throttling is not modelled: stop here in either mode.
    return -EAGAIN;
  }
  if (cc.direct_compaction && cc.mode === MIGRATE_MODE.MIGRATE_ASYNC) {
    skipOnFailure = true;
    nextSkipPfn = blockEndPfn(low, cc.order);
  }
  let aborted = false;
  for (; low < end; low++) {
    if (skipOnFailure && low >= nextSkipPfn) {
      // The previous order-aligned block was isolated whole: migrate it now.
      if (nrIsolated) break;
      nextSkipPfn = blockEndPfn(low, cc.order);
    }
    nrScanned++;
    if (validPage < 0 && (pageblock_aligned(low) || low === zoneStart)) {
      if (!isolation_suitable(m, cc, low)) {
        low = end;
        aborted = true;
        break;
      }
      validPage = low;
    }
    const v = mapcount[low]!;
    // Skip if free: the order is read without the zone lock.
    if (v === BUDDY) {
      const order = priv[low]!;
      if (order > 0 && order <= MAX_PAGE_ORDER) {
        low += (1 << order) - 1;
        nrScanned += (1 << order) - 1;
      }
      continue;
    }
    const f = flags[low]!;
    if (((f & HEAD) !== 0 || (lru[low]! & 1) !== 0) && !cc.alloc_contig) {
      const order = (f & HEAD) !== 0 ? flags[low + 1]! & 0xff : 0;
      const huge = (f & HEAD) !== 0 && v < TYPED_LIMIT && v >>> 24 === PGTY.hugetlb;
      if (skip_isolation_on_order(order, cc.order) || huge) {
        if (order <= MAX_PAGE_ORDER) {
          low += (1 << order) - 1;
          nrScanned += (1 << order) - 1;
        }
        if (skipOnFailure) ({ low, nextSkipPfn, nrIsolated } = onFail(m, cc, low, nextSkipPfn, nrIsolated));
        continue;
      }
    }
    if ((f & F_LRU) === 0) {
      // Non-LRU movable pages: isolate_movable_ops_page verifies under the page lock.
      if (v < TYPED_LIMIT && page_has_movable_ops(m, low as Pfn) && !PageMovableOpsIsolated(m, low as Pfn) && isolate_movable_ops_page(m, low as Pfn, mode)) {
        listAdd(m, cc.migratepages, low as Folio);
        cc.nr_migratepages += 1;
        nrIsolated += 1;
        if (cc.nr_migratepages >= COMPACT_CLUSTER_MAX && !cc.finish_pageblock && !cc.contended) {
          ++low;
          break;
        }
        continue;
      }
      if (skipOnFailure) ({ low, nextSkipPfn, nrIsolated } = onFail(m, cc, low, nextSkipPfn, nrIsolated));
      continue;
    }
    // Be careful not to clear PG_lru until we are sure the folio is not being freed elsewhere.
    const folio = folio_get_nontail_page(m, low as Pfn);
    if (folio === null) {
      if (skipOnFailure) ({ low, nextSkipPfn, nrIsolated } = onFail(m, cc, low, nextSkipPfn, nrIsolated));
      continue;
    }
    const r = isolateLruFolio(m, cc, folio, mode, validPage, skipUpdated);
    if (r.updatedSkip) skipUpdated = true;
    if (r.abort) {
      folio_put(m, folio);
      low = end;
      aborted = true;
      break;
    }
    if (r.nrPages > 0) {
      // The folio is off the LRU.
      low += r.nrPages - 1;
      listAdd(m, cc.migratepages, folio);
      cc.nr_migratepages += r.nrPages;
      nrIsolated += r.nrPages;
      nrScanned += r.nrPages - 1;
      if (cc.nr_migratepages >= COMPACT_CLUSTER_MAX && !cc.finish_pageblock && !cc.contended) {
        ++low;
        break;
      }
      continue;
    }
    low += r.skip;
    nrScanned += r.skip;
    folio_put(m, folio); // isolate_fail_put
    if (skipOnFailure) ({ low, nextSkipPfn, nrIsolated } = onFail(m, cc, low, nextSkipPfn, nrIsolated));
  }
  if (!aborted && low > end) low = end;
  if (low === end && (!nrIsolated || cc.finish_pageblock)) {
    if (!cc.no_set_skip_hint && validPage >= 0 && !skipUpdated) set_pageblock_skip(m, validPage);
    update_cached_migrate(cc, low);
  }
  if (m.trace.active) m.trace.emit('mm_compaction_isolate_migratepages', { start_pfn: start, end_pfn: low, nr_scanned: nrScanned, nr_taken: nrIsolated });
  cc.total_migrate_scanned += nrScanned;
  if (nrIsolated) m.vmEvents[VM_EVENT.compact_isolated]! += nrIsolated;
  cc.migrate_pfn = low;
  return 0;
}

/** `block_end_pfn(pfn, order)`: `ALIGN(pfn + 1, 1 << order)` (order ≤ 0 counts as 0). */
function blockEndPfn(pfn: number, order: number): number {
  const n = order > 0 ? 1 << order : 1;
  return Math.ceil((pfn + 1) / n) * n;
}

/**
 * `isolate_fail:` of async direct compaction: release what this order-aligned block isolated (the
 * block cannot become free anyway) and jump to the next block.
 */
function onFail(m: Machine, cc: CompactControl, low: number, nextSkipPfn: number, nrIsolated: number): { low: number; nextSkipPfn: number; nrIsolated: number } {
  if (nrIsolated) {
    putback_movable_pages(m, cc.migratepages);
    cc.nr_migratepages = 0;
    nrIsolated = 0;
  }
  if (low < nextSkipPfn) {
    low = nextSkipPfn - 1;
    nextSkipPfn += 1 << cc.order;
  }
  return { low, nextSkipPfn, nrIsolated };
}

interface LruIsolation {
  /** Pages isolated (0: not isolated). */
  nrPages: number;
  /** PFNs to skip after a failure (a large folio). */
  skip: number;
  /** The skip hint was tested under the lock. */
  updatedSkip: boolean;
  /** Another compaction has the block: abort it. */
  abort: boolean;
}

const NOT_ISOLATED: LruIsolation = { nrPages: 0, skip: 0, updatedSkip: false, abort: false };

/** The LRU-folio part of `isolate_migratepages_block` (after `folio_get_nontail_page`). */
function isolateLruFolio(m: Machine, cc: CompactControl, folio: Folio, mode: IsolateMode, validPage: number, skipUpdated: boolean): LruIsolation {
  const mm = m.memmap;
  const w = mm.mapping[folio]!;
  const anonNoCache = (w & 1) !== 0 && (mm.flags[folio]! & ((1 << PG.swapcache) | (1 << PG.swapbacked))) !== ((1 << PG.swapcache) | (1 << PG.swapbacked));
  const hasMapping = !anonNoCache && w !== 0;
  // Migration fails if an anonymous folio is pinned: avoid isolating it (racy check).
  if (!hasMapping) {
    const mc = (mm.flags[folio]! & HEAD) !== 0 ? (mm.lruPrev[folio + 1]! | 0) + 1 : mm.mapcount[folio]! + 1;
    if (mm.refcount[folio]! - 1 > mc) return NOT_ISOLATED;
  }
  // Only anonymous folios may be migrated in GFP_NOFS context.
  if ((cc.gfp_mask & GFP.__GFP_FS) === 0 && hasMapping) return NOT_ISOLATED;
  const f = mm.flags[folio]!;
  if ((f & F_LRU) === 0) return NOT_ISOLATED;
  const unevictable = (f & (1 << PG.unevictable)) !== 0;
  if ((mode & ISOLATE.ISOLATE_UNEVICTABLE) === 0 && unevictable) return NOT_ISOLATED;
  if ((mode & ISOLATE.ISOLATE_ASYNC_MIGRATE) !== 0 && (f & (1 << PG.writeback)) !== 0) return NOT_ISOLATED;
  const dirty = (f & (1 << PG.dirty)) !== 0;
  if (((mode & ISOLATE.ISOLATE_ASYNC_MIGRATE) !== 0 && dirty) || (hasMapping && unevictable)) {
    if (!folio_trylock(m, folio)) return NOT_ISOLATED;
    const mapping = folio_mapping(m, folio);
    const migrateDirty = !((mode & ISOLATE.ISOLATE_ASYNC_MIGRATE) !== 0 && dirty) || mapping === null || mapping.a_ops.migrate_folio !== undefined;
    const inaccessible = mapping !== null && mapping_inaccessible(mapping);
    folio_unlock(m, folio);
    if (!migrateDirty || inaccessible) return NOT_ISOLATED;
  }
  // Try to isolate the folio: folio_test_clear_lru() and the lruvec under its lock.
  let updatedSkip = false;
  if (!skipUpdated && validPage >= 0) {
    updatedSkip = true;
    if (test_and_set_skip(m, cc, validPage) && !cc.finish_pageblock) return { nrPages: 0, skip: 0, updatedSkip, abort: true };
  }
  const order = (f & HEAD) !== 0 ? mm.flags[folio + 1]! & 0xff : 0;
  if (skip_isolation_on_order(order, cc.order)) return { nrPages: 0, skip: (1 << order) - 1, updatedSkip, abort: false };
  lruvec_del_folio(m, folio);
  mm.flags[folio]! &= ~F_LRU;
  const nr = 1 << order;
  mod_isolated(m, folio, nr);
  return { nrPages: nr, skip: 0, updatedSkip, abort: false };
}

/**
 * `suitable_migration_source(cc, page)`: not a block held by a pageblock-sized compound page; async
 * direct compaction only scans blocks of its own migratetype (movable/CMA for movable requests).
 */
export function suitable_migration_source(m: Machine, cc: CompactControl, pfn: number): boolean {
  if (pageblock_skip_persistent(m, pfn)) return false;
  if (cc.mode !== MIGRATE_MODE.MIGRATE_ASYNC || !cc.direct_compaction) return true;
  const mt = get_pfnblock_migratetype(m, pfn);
  if (cc.migratetype === MIGRATE_MOVABLE) return is_migrate_movable(mt);
  return mt === cc.migratetype;
}

/**
 * `isolate_migratepages(cc)`: from `cc.migrate_pfn`, find the first suitable pageblock below the free
 * scanner and isolate from it (`isolate_migratepages_block` with ISOLATE_UNEVICTABLE as
 * `compact_unevictable_allowed` says, and ISOLATE_ASYNC_MIGRATE unless MIGRATE_SYNC). Returns an
 * {@link ISOLATE_MIGRATE} value.
 */
export function isolate_migratepages(m: Machine, cc: CompactControl): number {
  const isolateMode = (SYSCTL_COMPACT_UNEVICTABLE_ALLOWED ? ISOLATE.ISOLATE_UNEVICTABLE : 0) | (cc.mode !== MIGRATE_MODE.MIGRATE_SYNC ? ISOLATE.ISOLATE_ASYNC_MIGRATE : 0);
  let low = cc.migrate_pfn; // fast_find_migrateblock() is not modelled
  let blockStart = pageblock_start_pfn(low);
  if (blockStart < cc.zone.zone_start_pfn) blockStart = cc.zone.zone_start_pfn;
  let blockEnd = pageblock_end_pfn(low);
  for (; blockEnd <= cc.free_pfn; cc.migrate_pfn = low = blockEnd, blockStart = blockEnd, blockEnd += pageblock_nr_pages) {
    if (pageblock_pfn_to_page(m, blockStart, blockEnd, cc.zone) < 0) continue;
    if ((pageblock_aligned(low) || low === cc.zone.zone_start_pfn) && !isolation_suitable(m, cc, blockStart)) continue;
    if (!suitable_migration_source(m, cc, blockStart)) {
      update_cached_migrate(cc, blockEnd);
      continue;
    }
    if (isolate_migratepages_block(m, cc, low, blockEnd, isolateMode)) return ISOLATE_MIGRATE.ISOLATE_ABORT;
    break;
  }
  return cc.nr_migratepages ? ISOLATE_MIGRATE.ISOLATE_SUCCESS : ISOLATE_MIGRATE.ISOLATE_NONE;
}
