import type { Machine } from '../machine/machine.js';
import { folio_large_mapcount, folio_order } from '../page/compound.js';
import { PG } from '../page/page-flags.js';
import { PGTY } from '../page/page-type.js';
import type { Folio, Pfn } from '../types.js';

/**
 * Mapcounts and the expected reference count (`include/linux/mm.h`). `_mapcount` is stored offset by
 * −1 and shares its word with `page_type`, so a typed page reports mapcount 0.
 *
 * @module
 */

const TYPED_LIMIT = 0xff000000 | 0;

/** `folio_mapcount(folio)`: page-table mappings; 0 for typed small folios; `_large_mapcount + 1` for large ones. */
export function folio_mapcount(m: Machine, folio: Folio): number {
  if ((m.memmap.flags[folio]! & (1 << PG.head)) !== 0) return folio_large_mapcount(m, folio);
  const v = m.memmap.mapcount[folio]!;
  return v < TYPED_LIMIT ? 0 : v + 1;
}

/** `page_mapcount(page)` (CONFIG_PAGE_MAPCOUNT): this page's own PTE mappings, 0 if typed. */
export function page_mapcount(m: Machine, pfn: Pfn): number {
  const v = m.memmap.mapcount[pfn]!;
  return v < TYPED_LIMIT ? 0 : v + 1;
}

/** `folio_mapped(folio)`: mapped into some page table. */
export function folio_mapped(m: Machine, folio: Folio): boolean {
  return folio_mapcount(m, folio) > 0;
}

/** `folio_test_anon(folio)`: bit 0 of `mapping` (FOLIO_MAPPING_ANON). */
export function folio_test_anon(m: Machine, folio: Folio): boolean {
  return (m.memmap.mapping[folio]! & 1) !== 0;
}

/**
 * `folio_expected_ref_count(folio)` (`include/linux/mm.h`, as simplified by series 2 patch 25): the
 * references a folio should have from well-known owners, excluding the caller's own reference and any
 * per-CPU LRU batch reference:
 * typed folios other than hugetlb → 0 (the kernel WARNs);
 * anon → one per page from the swap cache; otherwise one per page from the page cache and one for
 * PG_private; plus one per page-table mapping. Only stable for an unmapped, locked folio.
 */
export function folio_expected_ref_count(m: Machine, folio: Folio): number {
  const mm = m.memmap;
  const order = folio_order(m, folio);
  const t = mm.mapcount[folio]!;
  if (t < TYPED_LIMIT && t >>> 24 !== PGTY.hugetlb) return 0;
  const flags = mm.flags[folio]!;
  const mapping = mm.mapping[folio]!;
  let ref: number;
  if ((mapping & 1) !== 0) {
    const swapcache = (flags & (1 << PG.swapbacked)) !== 0 && (flags & (1 << PG.swapcache)) !== 0;
    ref = swapcache ? 1 << order : 0;
  } else {
    ref = (mapping !== 0 ? 1 : 0) << order;
    if ((flags & (1 << PG.private)) !== 0) ref++;
  }
  return ref + folio_mapcount(m, folio);
}
