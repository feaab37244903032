import { GFP, gfp_migratetype, gfp_zone } from '../alloc/gfp.js';
import { MIGRATE_MOVABLE } from '../alloc/migratetype.js';
import { gfp_to_alloc_flags } from '../alloc/page-alloc.js';
import { __zone_watermark_ok, wmark_pages } from '../alloc/watermark.js';
import type { Zone } from '../alloc/zone.js';
import type { Machine } from '../machine/machine.js';
import { MIGRATE_MODE } from '../migrate/migrate-mode.js';
import { MAX_NR_ZONES } from '../page/page-zone.js';
import { VM_EVENT } from '../trace/vmstat.js';
import { PAGE_ALLOC_COSTLY_ORDER } from '../types.js';
import { CompactControl } from './compact-control.js';
import { COMPACT, COMPACT_PRIO, DEF_COMPACT_PRIORITY, INIT_COMPACT_PRIORITY, MIN_COMPACT_PRIORITY, type CompactResult } from './compact-result.js';
import { compact_zone, compaction_defer_reset, compaction_deferred, defer_compaction } from './compact-zone.js';

/**
 * Direct compaction from the allocator's slow path (`mm/page_alloc.c`, `mm/compaction.c`):
 * `try_to_compact_pages` over the zonelist and `__alloc_pages_direct_compact`, installed as the
 * machine hook `direct_compact`. Reclaim is not modelled, so the slow path compacts at most twice
 * (once asynchronously first for costly or non-movable orders, then at the default priority) and never
 * retries with a higher priority.
 *
 * @module
 */

/** The zones an allocation may use, best first (the allocator's `ZONELIST_FALLBACK` / `NOFALLBACK`). */
function zonelistFor(m: Machine, gfp: number, nid: number): Zone[] {
  const highest = gfp_zone(gfp);
  const out: Zone[] = [];
  const n = m.nodes.length;
  const thisNode = (gfp & GFP.__GFP_THISNODE) !== 0;
  for (let k = 0; k < (thisNode ? 1 : n); k++) {
    const node = m.nodes[(nid + k) % n]!;
    for (let zid = Math.min(highest, MAX_NR_ZONES - 1); zid >= 0; zid--) {
      const z = node.node_zones[zid];
      if (z && z.managed_pages > 0) out.push(z);
    }
  }
  return out;
}

/**
 * `compact_zone_order(zone, order, gfp_mask, prio, alloc_flags, highest_zoneidx, capture)`: one direct
 * compaction of `zone` (MIGRATE_ASYNC for COMPACT_PRIO_ASYNC, else MIGRATE_SYNC_LIGHT; the whole zone,
 * ignoring skip hints and block suitability, at MIN_COMPACT_PRIORITY).
 */
export function compact_zone_order(m: Machine, zone: Zone, order: number, gfp: number, prio: number, allocFlags: number, highestZoneidx: number): CompactResult {
  const cc = new CompactControl(zone, order, gfp);
  cc.mode = prio === COMPACT_PRIO.COMPACT_PRIO_ASYNC ? MIGRATE_MODE.MIGRATE_ASYNC : MIGRATE_MODE.MIGRATE_SYNC_LIGHT;
  cc.alloc_flags = allocFlags;
  cc.highest_zoneidx = highestZoneidx;
  cc.direct_compaction = true;
  cc.whole_zone = prio === MIN_COMPACT_PRIORITY;
  cc.ignore_skip_hint = prio === MIN_COMPACT_PRIORITY;
  cc.ignore_block_suitable = prio === MIN_COMPACT_PRIORITY;
  return compact_zone(m, cc);
}

/**
 * `try_to_compact_pages(gfp_mask, order, alloc_flags, ac, prio, capture)`: compact each zone of the
 * zonelist (skipping deferred ones above MIN_COMPACT_PRIORITY) until one reports COMPACT_SUCCESS;
 * defer zones where a synchronous run completed without success. Needs __GFP_IO (else
 * COMPACT_SKIPPED). Returns the best `compact_result`.
 */
export function try_to_compact_pages(m: Machine, gfp: number, order: number, allocFlags: number, nid: number, prio: number): CompactResult {
  if ((gfp & GFP.__GFP_IO) === 0) return COMPACT.COMPACT_SKIPPED;
  const highest = gfp_zone(gfp);
  let rc: CompactResult = COMPACT.COMPACT_SKIPPED;
  for (const zone of zonelistFor(m, gfp, nid)) {
    if (prio > MIN_COMPACT_PRIORITY && compaction_deferred(zone, order)) {
      rc = Math.max(COMPACT.COMPACT_DEFERRED, rc) as CompactResult;
      continue;
    }
    const status = compact_zone_order(m, zone, order, gfp, prio, allocFlags, highest);
    rc = Math.max(status, rc) as CompactResult;
    if (status === COMPACT.COMPACT_SUCCESS) {
      compaction_defer_reset(zone, order, false);
      break;
    }
    if (prio !== COMPACT_PRIO.COMPACT_PRIO_ASYNC && (status === COMPACT.COMPACT_COMPLETE || status === COMPACT.COMPACT_PARTIAL_SKIPPED)) defer_compaction(m, zone, order);
  }
  return rc;
}

/**
 * `__alloc_pages_direct_compact(gfp_mask, order, alloc_flags, ac, prio, compact_result)` without the
 * allocation itself: compact, count COMPACTSTALL unless skipped, and predict the allocation that the
 * allocator makes next with `get_page_from_freelist` (the same watermark check): on success reset the
 * zone's deferral and count COMPACTSUCCESS, else COMPACTFAIL. Returns true if that allocation will
 * succeed.
 */
export function __alloc_pages_direct_compact(m: Machine, gfp: number, order: number, nid: number, prio: number): boolean {
  if (!order) return false;
  const allocFlags = gfp_to_alloc_flags(gfp);
  const result = try_to_compact_pages(m, gfp, order, allocFlags, nid, prio);
  if (result === COMPACT.COMPACT_SKIPPED) return false;
  m.vmEvents[VM_EVENT.compact_stall]!++;
  const highest = gfp_zone(gfp);
  for (const zone of zonelistFor(m, gfp, nid)) {
    if (__zone_watermark_ok(zone, order, wmark_pages(zone, allocFlags), highest, allocFlags)) {
      zone.compact.blockskip_flush = false;
      compaction_defer_reset(zone, order, true);
      m.vmEvents[VM_EVENT.compact_success]!++;
      return true;
    }
  }
  m.vmEvents[VM_EVENT.compact_fail]!++;
  return false;
}

/**
 * The `direct_compact` hook the allocator's slow path calls (`__alloc_pages_slowpath`'s compaction
 * attempts): first asynchronously for costly or non-movable orders (a costly `__GFP_NORETRY` request
 * stops there), then at DEF_COMPACT_PRIORITY. Nested calls (an allocation made while compacting,
 * PF_MEMALLOC in the kernel) do not compact.
 */
export function directCompactHook(m: Machine): (gfp: number, order: number, nid: number) => boolean {
  let inCompaction = false;
  return (gfp, order, nid) => {
    if (inCompaction) return false;
    inCompaction = true;
    try {
      const costly = order > PAGE_ALLOC_COSTLY_ORDER;
      if (costly || (order > 0 && gfp_migratetype(gfp) !== MIGRATE_MOVABLE)) {
        if (__alloc_pages_direct_compact(m, gfp, order, nid, INIT_COMPACT_PRIORITY)) return true;
        if (costly && (gfp & GFP.__GFP_NORETRY) !== 0) return false;
      }
      return __alloc_pages_direct_compact(m, gfp, order, nid, DEF_COMPACT_PRIORITY);
    } finally {
      inCompaction = false;
    }
  };
}
