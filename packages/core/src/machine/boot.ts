import { FPI_TO_TAIL, __free_one_page } from '../alloc/buddy.js';
import { MIGRATE_MOVABLE, get_pfnblock_migratetype, set_pageblock_migratetype } from '../alloc/migratetype.js';
import { Zone } from '../alloc/zone.js';
import { calculate_min_free_kbytes, setup_pageset_high_and_batch, setup_per_zone_lowmem_reserve, setup_per_zone_wmarks } from '../alloc/watermark.js';
import { PG } from '../page/page-flags.js';
import { ZONE, zoneFlagsByte } from '../page/page-zone.js';
import { VM_EVENT } from '../trace/vmstat.js';
import { MAX_PAGE_ORDER, pageblock_nr_pages } from '../types.js';
import type { Machine } from './machine.js';
import { PgData } from './pglist-data.js';

/**
 * Boot: lay out nodes and zones (`free_area_init`), initialise every struct page
 * (`memmap_init`), mark memblock reservations (`memmap_init_reserved_pages`), and free every other
 * page into the buddy allocator (`memblock_free_all`), then compute watermarks and per-CPU list sizes.
 * Differences: RAM is contiguous from PFN 0 with no holes, split evenly between nodes; ZONE_DMA is
 * the first 16 MiB, ZONE_DMA32 the rest below 4 GiB, ZONE_NORMAL above, and `movablecore` takes the
 * top of each node.
 *
 * @module
 */

const DMA_END = (16 << 20) >>> 12; // 16 MiB
const DMA32_END = 2 ** 32 / 4096; // 4 GiB

/** `free_area_init()`: create the nodes and their zones. */
export function free_area_init(m: Machine): void {
  const c = m.config;
  const perNode = c.nrPages / c.nodes;
  const movablePerNode = c.movablePages / c.nodes;
  for (let nid = 0; nid < c.nodes; nid++) {
    const start = nid * perNode;
    const end = start + perNode;
    const node = new PgData(nid, start, perNode);
    m.nodes.push(node);
    const movableStart = end - movablePerNode;
    const spans: [number, number, number][] = [
      [ZONE.DMA, c.dmaZone ? start : start, c.dmaZone ? Math.min(DMA_END, movableStart) : start],
      [ZONE.DMA32, c.dmaZone ? Math.max(start, DMA_END) : start, Math.min(DMA32_END, movableStart)],
      [ZONE.NORMAL, Math.max(start, DMA32_END), movableStart],
      [ZONE.MOVABLE, movableStart, end],
    ];
    for (const [zid, s, e] of spans) {
      if (e <= s) continue;
      const zone = new Zone(nid, zid, s, e - s, c.cpus);
      zone.present_pages = e - s;
      node.node_zones[zid] = zone;
      m.zones.push(zone);
      m.zoneById[zone.id] = zone;
    }
  }
}

/**
 * `memmap_init()`: every struct page of a zone gets its node and zone in `flags`, `_mapcount = -1`
 * and refcount 0 (the kernel sets 1 and `__free_pages_core` sets 0 again); every pageblock starts
 * MIGRATE_MOVABLE.
 */
export function memmap_init(m: Machine): void {
  const mm = m.memmap;
  for (const z of m.zones) {
    mm.flags.fill((zoneFlagsByte(z.nid, z.zid) << 24) >>> 0, z.zone_start_pfn, z.zone_end_pfn);
    for (let pfn = z.zone_start_pfn; pfn < z.zone_end_pfn; pfn += pageblock_nr_pages) set_pageblock_migratetype(m, pfn, MIGRATE_MOVABLE);
  }
}

/** `memmap_init_reserved_pages()`: PG_reserved and refcount 1 on every reserved PFN. */
export function memmap_init_reserved_pages(m: Machine): void {
  for (const r of m.config.reserved) {
    for (let pfn = r.start; pfn < r.start + r.nrPages; pfn++) {
      m.memmap.flags[pfn]! |= 1 << PG.reserved;
      m.memmap.refcount[pfn] = 1;
    }
  }
}

/**
 * `memblock_free_all()` → `__free_pages_core()`: free every unreserved page of every zone in the
 * largest aligned blocks that fit, to the tail of the free lists (FPI_TO_TAIL), counting them as
 * managed pages and `pgfree` events.
 */
export function memblock_free_all(m: Machine): void {
  const reservedFlag = 1 << PG.reserved;
  const flags = m.memmap.flags;
  for (const z of m.zones) {
    let pfn = z.zone_start_pfn;
    const end = z.zone_end_pfn;
    while (pfn < end) {
      if ((flags[pfn]! & reservedFlag) !== 0) {
        pfn++;
        continue;
      }
      let order = MAX_PAGE_ORDER;
      while (order > 0 && ((pfn & ((1 << order) - 1)) !== 0 || pfn + (1 << order) > end || overlapsReserved(m, pfn, 1 << order))) order--;
      z.managed_pages += 1 << order;
      m.vmEvents[VM_EVENT.pgfree]! += 1 << order;
      __free_one_page(m, pfn, z, order, get_pfnblock_migratetype(m, pfn), FPI_TO_TAIL);
      pfn += 1 << order;
    }
  }
}

function overlapsReserved(m: Machine, pfn: number, n: number): boolean {
  for (const r of m.config.reserved) if (r.start < pfn + n && pfn < r.start + r.nrPages) return true;
  return false;
}

/** Boot the memory of a machine whose nodes and zones are laid out. */
export function mm_core_init(m: Machine): void {
  free_area_init(m);
  memmap_init(m);
  memmap_init_reserved_pages(m);
  memblock_free_all(m);
  m.minFreeKbytes = m.config.minFreeKbytes ?? calculate_min_free_kbytes(m);
  setup_per_zone_wmarks(m);
  setup_per_zone_lowmem_reserve(m);
  setup_pageset_high_and_batch(m);
}
