import type { Machine } from '../machine/machine.js';
import { NR_PAGE_ORDERS } from '../types.js';
import { ZONE } from '../page/page-zone.js';
import { NR_ZONE } from '../trace/vmstat.js';
import { MIGRATE_HIGHATOMIC, MIGRATE_PCPTYPES, MIGRATE_TYPES } from './migratetype.js';
import { WMARK_HIGH, WMARK_LOW, WMARK_MIN, WMARK_PROMO, __zone_set_pageset_high_and_batch, type Zone } from './zone.js';

/**
 * Watermarks, lowmem reserves and per-CPU list sizes (`mm/page_alloc.c`: `calculate_min_free_kbytes`,
 * `__setup_per_zone_wmarks`, `setup_per_zone_lowmem_reserve`, `zone_batchsize`, `zone_highsize`,
 * `__zone_watermark_ok`). Watermark boosting and kswapd are not modelled.
 *
 * @module
 */

/** `ALLOC_WMARK_MIN`: check against the min watermark. */
export const ALLOC_WMARK_MIN = 0;
/** `ALLOC_WMARK_LOW`. */
export const ALLOC_WMARK_LOW = 1;
/** `ALLOC_WMARK_HIGH`. */
export const ALLOC_WMARK_HIGH = 2;
/** `ALLOC_NO_WATERMARKS`: ignore watermarks (e.g. __GFP_MEMALLOC). */
export const ALLOC_NO_WATERMARKS = 0x04;
/** `ALLOC_WMARK_MASK`. */
export const ALLOC_WMARK_MASK = ALLOC_NO_WATERMARKS - 1;
/** `ALLOC_HIGH` (= __GFP_HIGH): may dip to half the min watermark. */
export const ALLOC_HIGH = 0x20;
/** `ALLOC_NON_BLOCK`: cannot block (atomic), may dip a further quarter. */
export const ALLOC_NON_BLOCK = 0x10;
/** `ALLOC_HIGHATOMIC`: may use the highatomic reserve. */
export const ALLOC_HIGHATOMIC = 0x200;
/** `ALLOC_RESERVES`: any of the flags that allow dipping into reserves. */
export const ALLOC_RESERVES = ALLOC_NON_BLOCK | ALLOC_HIGH | ALLOC_HIGHATOMIC;

/** `sysctl_lowmem_reserve_ratio[]` defaults per zone type (DMA 256, DMA32 256, Normal 32, Movable 0). */
export const LOWMEM_RESERVE_RATIO: readonly number[] = [256, 256, 32, 0, 0];

/** `watermark_scale_factor` default (10 = 0.1% of a zone). */
export const WATERMARK_SCALE_FACTOR = 10;

/**
 * `calculate_min_free_kbytes()`: `int_sqrt(lowmem_kbytes * 16)` clamped to [128, 262144], where
 * lowmem excludes ZONE_MOVABLE (and highmem).
 */
export function calculate_min_free_kbytes(m: Machine): number {
  const lowmemPages = m.zones.filter((z) => z.zid !== ZONE.MOVABLE && z.zid !== ZONE.DEVICE).reduce((s, z) => s + z.managed_pages, 0);
  const v = Math.floor(Math.sqrt(lowmemPages * 4 * 16));
  return Math.min(262144, Math.max(128, v));
}

/**
 * `__setup_per_zone_wmarks()`: split `min_free_kbytes` over lowmem zones by managed pages; ZONE_MOVABLE
 * gets `clamp(managed / 1024, 32, 128)` instead; low = min + tmp, high = min + 2·tmp, promo = min + 3·tmp
 * with tmp = max(share / 4, managed · watermark_scale_factor / 10000), where share is the zone's
 * proportional part of min_free_kbytes (also for ZONE_MOVABLE).
 */
export function setup_per_zone_wmarks(m: Machine): void {
  const pagesMin = m.minFreeKbytes >> 2;
  const buddyZones = m.zones.filter((z) => z.zid !== ZONE.DEVICE);
  const lowmemPages = buddyZones.filter((z) => z.zid !== ZONE.MOVABLE).reduce((s, z) => s + z.managed_pages, 0);
  for (const z of buddyZones) {
    // Each zone's proportional share of min_free_kbytes (computed for ZONE_MOVABLE too, though it
    // gets a small fixed minimum instead); the kswapd gaps derive from the share.
    const share = lowmemPages ? Math.floor((pagesMin * z.managed_pages) / lowmemPages) : 0;
    const min = z.zid === ZONE.MOVABLE ? Math.min(128, Math.max(32, Math.floor(z.managed_pages / 1024))) : share;
    const tmp = Math.max(share >> 2, Math.floor((z.managed_pages * WATERMARK_SCALE_FACTOR) / 10000));
    z.watermark[WMARK_MIN] = min;
    z.watermark[WMARK_LOW] = min + tmp;
    z.watermark[WMARK_HIGH] = min + tmp * 2;
    z.watermark[WMARK_PROMO] = min + tmp * 3;
  }
}

/**
 * `setup_per_zone_lowmem_reserve()`: for each zone i of a node and each higher zone j,
 * `lowmem_reserve[j] = (managed pages of zones i+1..j) / ratio[i]`.
 */
export function setup_per_zone_lowmem_reserve(m: Machine): void {
  for (const node of m.nodes) {
    for (let i = 0; i < node.node_zones.length; i++) {
      const zi = node.node_zones[i];
      if (!zi) continue;
      zi.lowmem_reserve.fill(0);
      const ratio = LOWMEM_RESERVE_RATIO[i]!;
      let managed = 0;
      for (let j = i + 1; j < node.node_zones.length; j++) {
        managed += node.node_zones[j]?.managed_pages ?? 0;
        zi.lowmem_reserve[j] = ratio ? Math.floor(managed / ratio) : 0;
      }
    }
  }
}

/** `zone_batchsize(zone)`: ~1/1000 of the zone, at most 256 pages, /4, rounded to 2^n − 1. */
export function zone_batchsize(zone: Zone): number {
  let batch = Math.min(zone.managed_pages >> 10, 256);
  batch = Math.floor(batch / 4);
  if (batch < 1) batch = 1;
  const x = batch + (batch >> 1);
  return 2 ** Math.floor(Math.log2(x)) - 1 || 1;
}

/** `MIN_PERCPU_PAGELIST_HIGH_FRACTION`: `high_max` is at most 1/8 of the zone (`mm/page_alloc.c`). */
export const MIN_PERCPU_PAGELIST_HIGH_FRACTION = 8;

/**
 * `zone_highsize(zone, batch, cpu_online, high_fraction)` (`mm/page_alloc.c`): with `high_fraction`
 * 0, the zone's low watermark; otherwise `managed_pages / high_fraction`; split across the node's
 * CPUs, and at least 4 batches. (`cpusOnNode` stands for the kernel's CPU mask weight plus `cpu_online`.)
 */
export function zone_highsize(zone: Zone, batch: number, cpusOnNode: number, highFraction: number): number {
  const total = highFraction === 0 ? zone.low_wmark_pages : Math.floor(zone.managed_pages / highFraction);
  const high = Math.floor(total / Math.max(1, cpusOnNode));
  return Math.max(high, batch << 2);
}

/**
 * `zone_set_pageset_high_and_batch(zone, cpu_online)` for every zone (`mm/page_alloc.c`; `zone_pcp_update`
 * after `setup_per_zone_wmarks`, which the model runs at boot and after `offline_pages`): give every CPU's list the
 * zone's `batch`, `high_min` (the low watermark's share) and `high_max` (1/8 of the zone's share);
 * `high` itself is left to the auto-tuning. The `percpu_pagelist_high_fraction` sysctl is not modelled
 * (it is 0: auto-tuning on).
 */
export function setup_pageset_high_and_batch(m: Machine): void {
  const cpusOnNode = Math.max(1, Math.floor(m.config.cpus / m.nodes.length));
  for (const z of m.zones) {
    const batch = Math.max(1, zone_batchsize(z));
    z.pageset_batch = batch;
    z.pageset_high_min = zone_highsize(z, batch, cpusOnNode, 0);
    z.pageset_high_max = zone_highsize(z, batch, cpusOnNode, MIN_PERCPU_PAGELIST_HIGH_FRACTION);
    __zone_set_pageset_high_and_batch(z, z.pageset_high_min, z.pageset_high_max, batch);
  }
}

/**
 * `__zone_watermark_ok(z, order, mark, highest_zoneidx, alloc_flags, free_pages)`: enough free pages
 * above `mark` (less reserves) and a free block of at least `order` in a usable list.
 */
export function __zone_watermark_ok(z: Zone, order: number, mark: number, highestZoneidx: number, allocFlags: number): boolean {
  let freePages = z.vmstat[NR_ZONE.nr_free_pages]! - ((1 << order) - 1);
  let min = mark;
  if (allocFlags & ALLOC_RESERVES) {
    // __GFP_HIGH (ALLOC_MIN_RESERVE) reaches half the min reserve, and a non-blocking one (GFP_ATOMIC)
    // a quarter more; other non-blocking requests (GFP_NOWAIT) get no access to the min reserve.
    if (allocFlags & ALLOC_HIGH) {
      min -= Math.floor(min / 2);
      if (allocFlags & ALLOC_NON_BLOCK) min -= Math.floor(min / 4);
    }
  } else {
    freePages -= z.nr_reserved_highatomic;
  }
  if (freePages <= min + z.lowmem_reserve[highestZoneidx]!) return false;
  if (order === 0) return true;
  const heads = z.free_list.heads;
  for (let o = order; o < NR_PAGE_ORDERS; o++) {
    if (z.nr_free[o] === 0) continue;
    for (let mt = 0; mt < MIGRATE_PCPTYPES; mt++) if (heads[o * MIGRATE_TYPES + mt]! >= 0) return true;
    if (allocFlags & ALLOC_HIGHATOMIC && heads[o * MIGRATE_TYPES + MIGRATE_HIGHATOMIC]! >= 0) return true;
  }
  return false;
}

/** `zone_watermark_ok(z, order, mark, highest_zoneidx, alloc_flags)`. */
export function zone_watermark_ok(z: Zone, order: number, mark: number, highestZoneidx: number, allocFlags: number): boolean {
  return __zone_watermark_ok(z, order, mark, highestZoneidx, allocFlags);
}

/** The watermark an `alloc_flags` value selects (`wmark_pages(z, alloc_flags & ALLOC_WMARK_MASK)`). */
export function wmark_pages(z: Zone, allocFlags: number): number {
  return z.watermark[allocFlags & ALLOC_WMARK_MASK]!;
}
