import type { Zone } from '../alloc/zone.js';
import { MIGRATE_MOVABLE } from '../alloc/migratetype.js';
import { ListHead } from '../migrate/list-head.js';
import { MIGRATE_MODE, type MigrateMode } from '../migrate/migrate-mode.js';
import { NR_PAGE_ORDERS } from '../types.js';

/**
 * `struct compact_control` (`mm/internal.h`): one compaction run over one zone. `freepages[order]`
 * hold the free blocks the free scanner isolated (refcount 0, off the buddy lists, linked through
 * `lru`, `private` = order); `migratepages` the folios the migration scanner isolated.
 */
export class CompactControl {
  /** `freepages[NR_PAGE_ORDERS]`. */
  readonly freepages: ListHead[] = Array.from({ length: NR_PAGE_ORDERS }, () => new ListHead());
  /** `migratepages`. */
  readonly migratepages = new ListHead();
  /** Base pages on `freepages`. */
  nr_freepages = 0;
  /** Base pages on `migratepages` (not yet given a destination). */
  nr_migratepages = 0;
  /** Where the free scanner is (it moves down). */
  free_pfn = 0;
  /** Where the migration scanner is (it moves up). */
  migrate_pfn = 0;
  /** `fast_start_pfn` (the fast migrate-block search is not modelled; kept for the reset logic). */
  fast_start_pfn = 0;
  /** The zone. */
  zone: Zone;
  /** PFNs the migration scanner looked at. */
  total_migrate_scanned = 0;
  /** PFNs the free scanner looked at. */
  total_free_scanned = 0;
  /** `fast_search_fail`. */
  fast_search_fail = 0;
  /** `search_order`. */
  search_order = 0;
  /** GFP mask of the allocation compacting for. */
  gfp_mask: number;
  /** Target order, or -1 for a full compaction (`compact_memory`). */
  order: number;
  /** Migratetype of the allocation. */
  migratetype = MIGRATE_MOVABLE;
  /** `alloc_flags` of the allocation. */
  alloc_flags = 0;
  /** `highest_zoneidx`. */
  highest_zoneidx = 0;
  /** Migration mode. */
  mode: MigrateMode = MIGRATE_MODE.MIGRATE_ASYNC;
  /** Ignore PB_compact_skip hints. */
  ignore_skip_hint = false;
  /** Do not set skip hints (isolation for alloc_contig). */
  no_set_skip_hint = false;
  /** Scan migration targets in any pageblock. */
  ignore_block_suitable = false;
  /** Direct compaction from the allocator. */
  direct_compaction = false;
  /** Proactive compaction. */
  proactive_compaction = false;
  /** Scan the whole zone, ignoring cached positions. */
  whole_zone = false;
  /** Aborted on contention (never in the model). */
  contended = false;
  /** Finish the current pageblock. */
  finish_pageblock = false;
  /** For `alloc_contig_range`. */
  alloc_contig = false;

  /** A control for compacting `zone` towards `order` (-1: everything). */
  constructor(zone: Zone, order: number, gfpMask: number) {
    this.zone = zone;
    this.order = order;
    this.search_order = order;
    this.gfp_mask = gfpMask;
  }
}
