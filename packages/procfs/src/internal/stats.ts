import {
  MAX_NR_ZONES,
  MIGRATE_CMA,
  MIGRATE_ISOLATE,
  MIGRATE_TYPES,
  NR_NODE,
  NR_PAGE_ORDERS,
  NR_ZONE,
  PB_MIGRATETYPE_MASK,
  VM_EVENT,
  ZONE,
  pageblock_nr_pages,
  pageblock_order,
  type Machine,
  type Zone,
} from '@mm/core';

/**
 * Read-only views of the model's counters as the kernel's accessors present them (`zone_page_state`,
 * `node_page_state`, `global_*_page_state`, `zone_managed_pages`, …), including the zones a kernel
 * always has in `node_zones[]` but the model only creates when they have pages.
 *
 * @module
 */

/** `SWAP_CLUSTER_MAX`: the smallest min watermark of ZONE_MOVABLE/highmem zones. */
const SWAP_CLUSTER_MAX = 32;

const zoneIdx = NR_ZONE as Readonly<Record<string, number>>;
const nodeIdx = NR_NODE as Readonly<Record<string, number>>;
const eventIdx = VM_EVENT as Readonly<Record<string, number>>;

/** `NODE_DATA(nid)->node_zones[]`: every zone index of a node, `undefined` where the model has none. */
export function nodeZones(m: Machine, nid: number): (Zone | undefined)[] {
  const node = m.nodes[nid]!;
  const out: (Zone | undefined)[] = [];
  for (let zid = 0; zid < MAX_NR_ZONES; zid++) out.push(node.node_zones[zid] ?? m.zoneById[(nid << 3) | zid]);
  return out;
}

/** `populated_zone(zone)`: the zone has present pages. */
export function populated(z: Zone | undefined): z is Zone {
  return z !== undefined && z.present_pages > 0;
}

/** Every zone of every node (`for_each_zone`), skipping the zone indices the model has no zone for. */
export function allZones(m: Machine): Zone[] {
  const out: Zone[] = [];
  for (let nid = 0; nid < m.nodes.length; nid++) for (const z of nodeZones(m, nid)) if (z) out.push(z);
  return out;
}

/** `zone_page_state(zone, item)` by the kernel's name; 0 for an item the model does not keep. */
export function zoneStat(z: Zone | undefined, name: string): number {
  const i = zoneIdx[name];
  return z === undefined || i === undefined ? 0 : Math.max(0, z.vmstat[i]!);
}

/** `node_page_state(pgdat, item)` by the kernel's name; 0 for an item the model does not keep. */
export function nodeStat(m: Machine, nid: number, name: string): number {
  const i = nodeIdx[name];
  return i === undefined ? 0 : Math.max(0, m.nodes[nid]!.vmstat[i]!);
}

/** `sum_zone_node_page_state(nid, item)`. */
export function nodeZoneStat(m: Machine, nid: number, name: string): number {
  let s = 0;
  for (const z of nodeZones(m, nid)) s += zoneStat(z, name);
  return s;
}

/** `global_zone_page_state(item)`. */
export function globalZoneStat(m: Machine, name: string): number {
  let s = 0;
  for (let nid = 0; nid < m.nodes.length; nid++) s += nodeZoneStat(m, nid, name);
  return s;
}

/** `global_node_page_state(item)`. */
export function globalNodeStat(m: Machine, name: string): number {
  let s = 0;
  for (let nid = 0; nid < m.nodes.length; nid++) s += nodeStat(m, nid, name);
  return s;
}

/** A `vm_event_item` counter by name (`all_vm_events`); 0 for an event the model does not count. */
export function vmEvent(m: Machine, name: string): number {
  const i = eventIdx[name];
  return i === undefined ? 0 : m.vmEvents[i]!;
}

/** `zone_managed_pages(zone)`. */
export function managed(z: Zone | undefined): number {
  return z === undefined ? 0 : z.managed_pages;
}

/**
 * `zone->_watermark[]` (min, low, high, promo). A zone the model did not create has the watermarks
 * `__setup_per_zone_wmarks()` gives an empty zone: 0, except ZONE_MOVABLE, whose min is clamped up to
 * SWAP_CLUSTER_MAX (32) and whose other marks add nothing to it.
 */
export function watermarks(z: Zone | undefined, zid: number): readonly number[] {
  if (z !== undefined) return Array.from(z.watermark);
  const min = zid === ZONE.MOVABLE ? SWAP_CLUSTER_MAX : 0;
  return [min, min, min, min];
}

/** `zone->lowmem_reserve[]` (all 0 for a zone the model did not create). */
export function lowmemReserve(z: Zone | undefined): readonly number[] {
  return z === undefined ? new Array<number>(MAX_NR_ZONES).fill(0) : Array.from(z.lowmem_reserve);
}

/** `totalram_pages()`: managed pages of every zone. */
export function totalram_pages(m: Machine): number {
  let s = 0;
  for (const z of allZones(m)) s += z.managed_pages;
  return s;
}

/**
 * `calculate_totalreserve_pages()` (`mm/page_alloc.c`): for every zone the largest `lowmem_reserve[]`
 * entry from its own index up, plus its high watermark, capped at its managed pages; summed.
 */
export function totalreserve_pages(m: Machine): number {
  let total = 0;
  for (let nid = 0; nid < m.nodes.length; nid++) {
    const zones = nodeZones(m, nid);
    for (let i = 0; i < MAX_NR_ZONES; i++) {
      const z = zones[i];
      const lr = lowmemReserve(z);
      let max = 0;
      for (let j = i; j < MAX_NR_ZONES; j++) max = Math.max(max, lr[j]!);
      max += watermarks(z, i)[2]!;
      total += Math.min(max, managed(z));
    }
  }
  return total;
}

/** Σ `low_wmark_pages(zone)` over every zone of every node (`for_each_zone`). */
export function sumLowWatermarks(m: Machine): number {
  let s = 0;
  for (let nid = 0; nid < m.nodes.length; nid++) nodeZones(m, nid).forEach((z, zid) => (s += watermarks(z, zid)[1]!));
  return s;
}

/**
 * `zone_cma_pages(zone)`: pages in the zone's MIGRATE_CMA pageblocks (the model has no CMA areas of its
 * own; a pageblock marked MIGRATE_CMA counts as one).
 */
export function zone_cma_pages(m: Machine, z: Zone | undefined): number {
  if (z === undefined) return 0;
  const pb = m.memmap.pageblock;
  let n = 0;
  const end = z.zone_start_pfn + z.spanned_pages;
  for (let pfn = z.zone_start_pfn; pfn < end; pfn += pageblock_nr_pages) {
    if ((pb[pfn >>> pageblock_order]! & PB_MIGRATETYPE_MASK) === MIGRATE_CMA) n += Math.min(pageblock_nr_pages, end - pfn);
  }
  return n;
}

/**
 * NR_FREE_PAGES_BLOCKS (v6.15+): free pages in buddy blocks of at least `pageblock_order`, not counting
 * isolated blocks — computed from the free lists, which the model keeps exactly.
 */
export function freePagesBlocks(z: Zone | undefined): number {
  if (z === undefined) return 0;
  let s = 0;
  for (let order = pageblock_order; order < NR_PAGE_ORDERS; order++) {
    for (let mt = 0; mt < MIGRATE_TYPES; mt++) if (mt !== MIGRATE_ISOLATE) s += z.free_list.counts[order * MIGRATE_TYPES + mt]! << order;
  }
  return s;
}

/** `fls(x)`: the 1-based index of the highest set bit, 0 for 0. */
function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

/**
 * `calculate_normal_threshold(zone)` (`mm/vmstat.c`): the per-CPU vmstat drift threshold zoneinfo shows
 * as "vm stats threshold": `2 · fls(cpus) · (1 + fls(managed >> 15))`, at most 125.
 */
export function calculate_normal_threshold(z: Zone, cpus: number): number {
  return Math.min(125, 2 * fls(cpus) * (1 + fls(Math.floor(z.managed_pages / 2 ** 15))));
}
