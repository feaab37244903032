import { NR_PAGE_ORDERS } from '../types.js';
import { MIGRATE_TYPES } from './migratetype.js';
import { PageListHeads } from './page-list.js';
import { ZONE_STAT_ITEMS } from '../trace/vmstat.js';
import { MAX_NR_ZONES, ZONE_NAMES, zoneFlagsByte } from '../page/page-zone.js';

/** Watermark indices (`enum zone_watermarks`, `include/linux/mmzone.h`). */
export const WMARK_MIN = 0;
/** `WMARK_LOW`. */
export const WMARK_LOW = 1;
/** `WMARK_HIGH`. */
export const WMARK_HIGH = 2;
/** `WMARK_PROMO`. */
export const WMARK_PROMO = 3;

/** `enum zone_flags` bit: `ZONE_BOOSTED_WATERMARK` (watermark boosting is not modelled; never set). */
export const ZONE_BOOSTED_WATERMARK = 0;
/** `ZONE_RECLAIM_ACTIVE`: kswapd is scanning the zone (kswapd is not modelled; never set). */
export const ZONE_RECLAIM_ACTIVE = 1;
/** `ZONE_BELOW_HIGH`: an allocation found the zone below its high watermark; cleared by a pcp drain that lifts it. */
export const ZONE_BELOW_HIGH = 2;

/** `NR_LOWORDER_PCP_LISTS = MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1)`. */
export const NR_LOWORDER_PCP_LISTS = 12;
/** `NR_PCP_LISTS`: the low-order lists plus two THP lists (movable and not). */
export const NR_PCP_LISTS = NR_LOWORDER_PCP_LISTS + 2;

/** `PCPF_PREV_FREE_HIGH_ORDER` (`include/linux/mmzone.h`): the previous free on this list was of order 1–3. */
export const PCPF_PREV_FREE_HIGH_ORDER = 1 << 0;
/**
 * `PCPF_FREE_HIGH_BATCH`: the CPU's cache slice is large enough to keep a batch of high-order pages
 * (set from the cache topology, `setup_pcp_cacheinfo`). The model has no caches and never sets it.
 */
export const PCPF_FREE_HIGH_BATCH = 1 << 1;

/**
 * `struct per_cpu_pages` (`include/linux/mmzone.h`): one CPU's cache of free pages for one zone,
 * lists indexed by `order_to_pindex(migratetype, order)`, with the 6.7+ auto-tuned `high` between
 * `high_min` and `high_max` (see `nr_pcp_high`, `nr_pcp_alloc` and `decay_pcp_high` in pcp.ts).
 */
export class PerCpuPages {
  /** Pages on all lists (in base pages). */
  count = 0;
  /** A free drains once `count` reaches this; tuned between `high_min` and `high_max` (0 until first used, as after `memset`). */
  high = 0;
  /** Lower bound of `high`: the zone's low watermark shared by the node's CPUs (`zone_highsize`). */
  high_min = 0;
  /** Upper bound of `high`: 1/`MIN_PERCPU_PAGELIST_HIGH_FRACTION` of the zone shared by the node's CPUs. */
  high_max = 0;
  /** Chunk size for refills and drains. */
  batch = 1;
  /** Batch scaling of order-0 refills (`alloc_factor`): grows on refills, halves on every free. */
  alloc_factor = 0;
  /** `free_count`: pages freed in a row (halved on every allocation); sizes the next drain. */
  free_count = 0;
  /** `flags`: `PCPF_*`. */
  flags = 0;
  /** The lists, linked through `pcp_list` (the `lru` words). */
  readonly lists = new PageListHeads(NR_PCP_LISTS);
}

/**
 * `__zone_set_pageset_high_and_batch(zone, high_min, high_max, batch)` (`mm/page_alloc.c`): give
 * every CPU's list of `zone` these bounds and batch (`pageset_update`); `high` is left to the tuning.
 */
export function __zone_set_pageset_high_and_batch(zone: Zone, highMin: number, highMax: number, batch: number): void {
  for (const pcp of zone.per_cpu_pageset) {
    pcp.high_min = highMin;
    pcp.high_max = highMax;
    pcp.batch = batch;
  }
}

/**
 * `struct zone` (`include/linux/mmzone.h`): a range of one node's memory with its buddy free
 * lists, watermarks, per-CPU caches and counters.
 */
export class Zone {
  /** Index into `Machine.zoneById`: the top byte of its pages' flags. */
  readonly id: number;
  /** Node id. */
  readonly nid: number;
  /** Zone index (`ZONE.*`). */
  readonly zid: number;
  /** Zone name (`DMA32`, `Normal`, …). */
  readonly name: string;
  /** `zone_start_pfn`. */
  zone_start_pfn: number;
  /** `spanned_pages`. */
  spanned_pages: number;
  /** `present_pages`. */
  present_pages = 0;
  /** `managed_pages`: present pages handed to the buddy allocator. */
  managed_pages = 0;
  /** `free_area[order].free_list[migratetype]`, list index `order * MIGRATE_TYPES + mt`. */
  readonly free_list = new PageListHeads(NR_PAGE_ORDERS * MIGRATE_TYPES);
  /** `free_area[order].nr_free`: free blocks of each order, all migratetypes. */
  readonly nr_free = new Int32Array(NR_PAGE_ORDERS);
  /** `_watermark[WMARK_*]`. */
  readonly watermark = new Float64Array(4);
  /** `lowmem_reserve[zone index]`. */
  readonly lowmem_reserve = new Float64Array(MAX_NR_ZONES);
  /** `flags`: bits `ZONE_*` of `enum zone_flags`. */
  flags = 0;
  /** `pageset_high_min`: the `high_min` every CPU's list of this zone was given. */
  pageset_high_min = 0;
  /** `pageset_high_max`: the `high_max` every CPU's list of this zone was given. */
  pageset_high_max = 0;
  /** `pageset_batch`: the `batch` every CPU's list of this zone was given. */
  pageset_batch = 0;
  /** `nr_reserved_highatomic`. */
  nr_reserved_highatomic = 0;
  /** `per_cpu_pageset`, one per CPU. */
  readonly per_cpu_pageset: PerCpuPages[];
  /** `vm_stat[]`: counters indexed by `NR_ZONE.*`. */
  readonly vmstat = new Float64Array(ZONE_STAT_ITEMS.length);
  /**
   * Compaction state (`struct zone`, CONFIG_COMPACTION): `compact_cached_migrate_pfn[0]` (async; `[1]`
   * sync is `cached_migrate_pfn_sync`), `compact_cached_free_pfn`, `compact_init_migrate_pfn`,
   * `compact_init_free_pfn`, `compact_blockskip_flush` and the deferral state (`compact_considered`,
   * `compact_defer_shift`, `compact_order_failed`).
   */
  readonly compact = {
    /** `compact_cached_migrate_pfn[0]`: where the async migration scanner resumes. */
    cached_migrate_pfn: 0,
    /** `compact_cached_migrate_pfn[1]`: where the sync migration scanner resumes. */
    cached_migrate_pfn_sync: 0,
    /** `compact_cached_free_pfn`: where the free scanner (moving down from the zone end) resumes. */
    cached_free_pfn: 0,
    /** `compact_init_migrate_pfn`: where the migration scanner restarts after the skip hints are reset. */
    init_migrate_pfn: 0,
    /** `compact_init_free_pfn`: where the free scanner restarts after the skip hints are reset. */
    init_free_pfn: 0,
    /** `compact_blockskip_flush`: the scanners met, so the PG_migrate_skip hints should be cleared. */
    blockskip_flush: false,
    /** `compact_considered`: attempts counted by `compaction_deferred` since the last `defer_compaction`. */
    considered: 0,
    /** `compact_defer_shift`: skip up to `1 << defer_shift` attempts (at most `COMPACT_MAX_DEFER_SHIFT`). */
    defer_shift: 0,
    /** `compact_order_failed`: lowest order that failed; only orders at or above it can be deferred. */
    order_failed: 0,
  };

  /** An empty zone; the machine fills in its span and frees its pages at boot. */
  constructor(nid: number, zid: number, startPfn: number, spanned: number, nrCpus: number) {
    this.id = zoneFlagsByte(nid, zid);
    this.nid = nid;
    this.zid = zid;
    this.name = ZONE_NAMES[zid]!;
    this.zone_start_pfn = startPfn;
    this.spanned_pages = spanned;
    this.per_cpu_pageset = Array.from({ length: nrCpus }, () => new PerCpuPages());
  }

  /** `zone_end_pfn(zone)`. */
  get zone_end_pfn(): number {
    return this.zone_start_pfn + this.spanned_pages;
  }

  /** `populated_zone(zone)`: has present pages. */
  get populated(): boolean {
    return this.present_pages > 0;
  }

  /** `zone_intersects`/`zone_spans_pfn(zone, pfn)`. */
  spans(pfn: number): boolean {
    return pfn >= this.zone_start_pfn && pfn < this.zone_start_pfn + this.spanned_pages;
  }

  /** `min_wmark_pages(z)`. */
  get min_wmark_pages(): number {
    return this.watermark[WMARK_MIN]!;
  }
  /** `low_wmark_pages(z)`. */
  get low_wmark_pages(): number {
    return this.watermark[WMARK_LOW]!;
  }
  /** `high_wmark_pages(z)`. */
  get high_wmark_pages(): number {
    return this.watermark[WMARK_HIGH]!;
  }
}
