import type { Machine } from '../machine/machine.js';
import type { Zone } from '../alloc/zone.js';
import type { Folio, Pfn } from '../types.js';

/**
 * Zone and node of a page, from the top byte of `page->flags` (`page_zonenum`, `page_to_nid`,
 * `page_zone` in `include/linux/mm.h`). The model stores `node << 3 | zone index` there; the
 * kernel's field widths depend on the configuration.
 *
 * @module
 */

/** `enum zone_type` (`include/linux/mmzone.h`, x86-64 without HIGHMEM). */
export const ZONE = {
  /** `ZONE_DMA`: the lowest 16 MiB, for ISA-style DMA. */
  DMA: 0,
  /** `ZONE_DMA32`: memory below 4 GiB, for devices that can only address 32 bits. */
  DMA32: 1,
  /** `ZONE_NORMAL`: the rest of ordinary memory. */
  NORMAL: 2,
  /**
   * `ZONE_MOVABLE`: only movable allocations may use it (`movablecore=`, hot-pluggable memory), so its
   * pages can be migrated away and the memory offlined.
   */
  MOVABLE: 3,
  /** `ZONE_DEVICE`: device memory with struct pages (`memremap_pages`); its pages never enter the buddy allocator. */
  DEVICE: 4,
} as const;

/** `MAX_NR_ZONES` in this model (five zone types). */
export const MAX_NR_ZONES = 5;

/** Zone names as `/proc/zoneinfo` and `/proc/buddyinfo` print them (`zone_names[]`, `mm/page_alloc.c`). */
export const ZONE_NAMES: readonly string[] = ['DMA', 'DMA32', 'Normal', 'Movable', 'Device'];

/** Largest node id the flags layout can hold. */
export const MAX_NUMNODES = 32;

/** Value of the top byte of `flags` for node `nid`, zone index `zid`. */
export function zoneFlagsByte(nid: number, zid: number): number {
  return (nid << 3) | zid;
}

/** True if `pfn` has a struct page with a zone (`pfn_valid` in `include/linux/mmzone.h`). */
export function pfn_valid(m: Machine, pfn: number): boolean {
  return Number.isInteger(pfn) && pfn >= 0 && pfn < m.memmap.flags.length && m.memmap.flags[pfn]! >>> 24 !== 0xff;
}

/** `page_zonenum(page)` (`include/linux/mm.h`): the zone index (`ZONE.*`). */
export function page_zonenum(m: Machine, pfn: Pfn): number {
  return (m.memmap.flags[pfn]! >>> 24) & 7;
}

/** `page_to_nid(page)` (`include/linux/mm.h`): the node id. */
export function page_to_nid(m: Machine, pfn: Pfn): number {
  return m.memmap.flags[pfn]! >>> 27;
}

/** `folio_nid(folio)` (`include/linux/mm.h`): the node id of the folio. */
export function folio_nid(m: Machine, folio: Folio): number {
  return m.memmap.flags[folio]! >>> 27;
}

/** `page_zone(page)` (`include/linux/mm.h`): the page's zone. */
export function page_zone(m: Machine, pfn: Pfn): Zone {
  return m.zoneById[m.memmap.flags[pfn]! >>> 24]!;
}

/** `folio_zone(folio)` (`include/linux/mm.h`): the folio's zone. */
export function folio_zone(m: Machine, folio: Folio): Zone {
  return m.zoneById[m.memmap.flags[folio]! >>> 24]!;
}

/** `is_zone_device_page(page)` / `folio_is_zone_device(folio)` (`include/linux/mm.h`). */
export function is_zone_device_page(m: Machine, pfn: Pfn): boolean {
  return ((m.memmap.flags[pfn]! >>> 24) & 7) === ZONE.DEVICE && m.memmap.flags[pfn]! >>> 24 !== 0xff;
}

/** `folio_is_zone_device(folio)` (`include/linux/mm.h`). */
export function folio_is_zone_device(m: Machine, folio: Folio): boolean {
  return is_zone_device_page(m, folio);
}

/**
 * `pfn_to_online_page(pfn)` (`mm/memory_hotplug.c`): true for a valid PFN whose memmap is online,
 * i.e. not ZONE_DEVICE and not a hole. `/proc/kpageflags` reads 0 for the others.
 */
export function pfn_to_online_page(m: Machine, pfn: number): boolean {
  return pfn_valid(m, pfn) && ((m.memmap.flags[pfn]! >>> 24) & 7) !== ZONE.DEVICE;
}
