import {
  PG,
  NR_ZONE,
  __ClearPageZsmalloc,
  folio_trylock,
  folio_unlock,
  pageTypeData,
  page_zone,
  setPageTypeData,
  type Folio,
  type Machine,
  type Pfn,
} from '@mm/core';
import type { ZsmallocState } from './zsmalloc-state.js';

/**
 * `struct zpdesc` (`mm/zpdesc.h`): zsmalloc's view of the `struct page` words of its pages. The
 * model keeps the kernel's overlay: `next` (or, on a huge zspage's page, `handle`) is the `index`
 * word, `zspage` is the `private` word (`id * 4`, 0 for none), `first_obj_offset` is the low 24 bits
 * of `page_type` (whose top byte is PGTY_zsmalloc), PG_private marks the first page, `_refcount` and
 * the lock bit are the page's own. The `lru` and `mapping` words stay 0.
 *
 * @module
 */

const PRIVATE = 1 << PG.private;

/** `get_zspage(zpdesc)`: the id of the zspage the page belongs to, 0 if none (`zpdesc->zspage == NULL`). */
export function get_zspage(m: Machine, pfn: number): number {
  return m.memmap.private[pfn]! >>> 2;
}

/** `get_next_zpdesc(zpdesc)`: the next page of the chain, -1 at the end or on a huge zspage (whose `next` is its handle). */
export function get_next_zpdesc(st: ZsmallocState, pfn: number): number {
  const m = st.m;
  if (st.zspages.huge[m.memmap.private[pfn]! >>> 2] === 1) return -1;
  const w = m.memmap.index[pfn]!;
  return w === 0 ? -1 : (w >>> 2) - 1;
}

/** `get_first_obj_offset(zpdesc)`: offset of the first object that starts in this page. */
export function get_first_obj_offset(m: Machine, pfn: number): number {
  return pageTypeData(m, pfn as Pfn);
}

/** `set_first_obj_offset(zpdesc, offset)`: store it in the low 24 bits of `page_type`. */
export function set_first_obj_offset(m: Machine, pfn: number, offset: number): void {
  setPageTypeData(m, pfn as Pfn, offset);
}

/** `is_first_zpdesc(zpdesc)`: PG_private marks a zspage's first page. */
export function is_first_zpdesc(m: Machine, pfn: number): boolean {
  return (m.memmap.flags[pfn]! & PRIVATE) !== 0;
}

/** `zpdesc_inc_zone_page_state(zpdesc)`: one more NR_ZSPAGES in the page's zone. */
export function zpdesc_inc_zone_page_state(m: Machine, pfn: number): void {
  page_zone(m, pfn as Pfn).vmstat[NR_ZONE.nr_zspages]! += 1;
}

/** `zpdesc_dec_zone_page_state(zpdesc)`. */
export function zpdesc_dec_zone_page_state(m: Machine, pfn: number): void {
  page_zone(m, pfn as Pfn).vmstat[NR_ZONE.nr_zspages]! -= 1;
}

/**
 * `reset_zpdesc(zpdesc)`: the page leaves its zspage: PG_private cleared, `zspage` and `next` NULL.
 * PageZsmalloc stays until the allocator frees the page (series 2, v6.17); on a machine with
 * `stickyPageTypes: false` zsmalloc clears it here itself, as kernels before v6.17 did. The model
 * also drops the page's contents.
 */
export function reset_zpdesc(st: ZsmallocState, pfn: number): void {
  const mm = st.m.memmap;
  mm.flags[pfn]! &= ~PRIVATE;
  mm.private[pfn] = 0;
  mm.index[pfn] = 0;
  if (!st.m.stickyPageTypes) __ClearPageZsmalloc(st.m, pfn as Pfn);
  st.contents.detach(pfn);
}

/**
 * `trylock_zspage(zspage)`: take the lock of every page of the zspage, or of none (zs_free cannot
 * sleep). True if all are now locked.
 */
export function trylock_zspage(st: ZsmallocState, zs: number): boolean {
  const m = st.m;
  const first = st.zspages.first[zs]!;
  for (let p = first; p >= 0; p = get_next_zpdesc(st, p)) {
    if (!folio_trylock(m, p as Folio)) {
      for (let q = first; q !== p; q = get_next_zpdesc(st, q)) folio_unlock(m, q as Folio);
      return false;
    }
  }
  return true;
}
