import { MIGRATE_MOVABLE, PG, pageblock_nr_pages, prep_compound_head, prep_compound_tail, set_pageblock_migratetype, type Machine, type Pfn, type Zone } from '@mm/core';
import type { DevPagemap } from './dev-pagemap.js';
import { MEMORY_DEVICE_GENERIC } from './memory-type.js';
import { page_set_pgmap } from './page-pgmap.js';

/**
 * Initialising the struct pages of a ZONE_DEVICE range (`mm/mm_init.c`): `__init_zone_device_page`,
 * `memmap_init_compound` and `memmap_init_zone_device`.
 *
 * @module
 */

/**
 * `__init_zone_device_page(page, pfn, zone_idx, nid, pgmap)` (`mm/mm_init.c`): `__init_single_page`
 * (node and zone in `flags`, refcount 1, `_mapcount = -1`, every other word cleared — the model's
 * memmap is zeroed as hotplug's `section_activate` leaves it), PG_reserved ("a ZONE_DEVICE page is
 * never freed to the allocator"), the pgmap in the first word (`page_set_pgmap`, tagged under series
 * 1, where this function also installs `free_zone_device_folio` as the pgmap's `folio_ops.free`; in the
 * model the pgmap's `free` is that function already), `zone_device_data = NULL`, and the initial
 * refcount: 0 for PRIVATE, COHERENT, FS_DAX and PCI_P2PDMA (a driver or filesystem hands them out), 1
 * for GENERIC (never free).
 */
export function __init_zone_device_page(m: Machine, pfn: number, zone: Zone, pgmap: DevPagemap): void {
  const mm = m.memmap;
  mm.flags[pfn] = ((zone.id << 24) | (1 << PG.reserved)) >>> 0;
  mm.mapping[pfn] = 0;
  mm.index[pfn] = 0;
  mm.private[pfn] = 0;
  mm.memcgData[pfn] = 0;
  mm.mapcount[pfn] = -1;
  page_set_pgmap(m, pfn as Pfn, pgmap);
  mm.lruPrev[pfn] = 0; // zone_device_data = NULL
  mm.refcount[pfn] = pgmap.type === MEMORY_DEVICE_GENERIC ? 1 : 0;
}

/**
 * `memmap_init_compound(head, head_pfn, zone_idx, nid, pgmap, nr_pages)` (`mm/mm_init.c`): PG_head on
 * the head, then every tail initialised, pointed at the head (`prep_compound_tail`) and set to
 * refcount 0; `prep_compound_head` runs right after the first tail, so that the tail's own
 * initialisation does not overwrite the folio fields it stores.
 */
export function memmap_init_compound(m: Machine, head: number, zone: Zone, pgmap: DevPagemap, nrPages: number): void {
  const mm = m.memmap;
  mm.flags[head]! |= 1 << PG.head;
  for (let pfn = head + 1; pfn < head + nrPages; pfn++) {
    __init_zone_device_page(m, pfn, zone, pgmap);
    prep_compound_tail(m, head as Pfn, pfn - head);
    mm.refcount[pfn] = 0;
    if (pfn === head + 1) prep_compound_head(m, head as Pfn, pgmap.vmemmap_shift);
  }
}

/**
 * `memmap_init_zone_device(zone, start_pfn, nr_pages, pgmap)` (`mm/mm_init.c`): initialise every
 * struct page of the range — one page at a time, or one compound folio of `1 << vmemmap_shift` pages
 * at a time — and mark its pageblocks MIGRATE_MOVABLE (`pageblock_migratetype_init_range`). The
 * kernel's vmemmap-reuse shortcut for compound tails is not modelled: every tail is written.
 */
export function memmap_init_zone_device(m: Machine, zone: Zone, startPfn: number, nrPages: number, pgmap: DevPagemap): void {
  const step = pgmap.vmemmap_nr;
  const end = startPfn + nrPages;
  for (let pfn = startPfn; pfn < end; pfn += step) {
    __init_zone_device_page(m, pfn, zone, pgmap);
    if (step > 1) memmap_init_compound(m, pfn, zone, pgmap, step);
  }
  for (let pfn = startPfn; pfn < end; pfn += pageblock_nr_pages) set_pageblock_migratetype(m, pfn, MIGRATE_MOVABLE);
}
