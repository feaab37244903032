import { PG, folio_add_anon_rmap_ptes, folio_remove_rmap_ptes, type Folio, type Machine, type Pfn } from '@mm/core';

/**
 * The single-PTE rmap calls of `include/linux/rmap.h` that device migration makes, on top of the core's
 * counted rmap (`folio_add_anon_rmap_ptes`, `folio_remove_rmap_ptes`, which keep `_mapcount` and
 * `NR_ANON_MAPPED`, device-private folios included, as `__folio_mod_stat` does).
 *
 * @module
 */

/** `RMAP_EXCLUSIVE`: the mapped page is exclusive to this process (PG_anon_exclusive). */
export const RMAP_EXCLUSIVE = 1;

const ANON_EXCLUSIVE = 1 << PG.anon_exclusive;

/** `folio_add_anon_rmap_pte(folio, page, vma, address, flags)`: one more PTE maps the page; `RMAP_EXCLUSIVE` marks it PG_anon_exclusive. */
export function folio_add_anon_rmap_pte(m: Machine, folio: Folio, page: Pfn, flags: number): void {
  folio_add_anon_rmap_ptes(m, folio, page, 1);
  if ((flags & RMAP_EXCLUSIVE) !== 0) m.memmap.flags[page]! |= ANON_EXCLUSIVE;
}

/** `folio_remove_rmap_pte(folio, page, vma)`: one PTE stops mapping the page. */
export function folio_remove_rmap_pte(m: Machine, folio: Folio, page: Pfn): void {
  folio_remove_rmap_ptes(m, folio, page, 1);
}

/**
 * `folio_try_share_anon_rmap_pte(folio, page)`: before a PTE of an exclusive anonymous page is replaced
 * by a migration entry, the page stops being PG_anon_exclusive (the entry remembers it). Always
 * succeeds in the model (there are no GUP pins to detect); returns 0.
 */
export function folio_try_share_anon_rmap_pte(m: Machine, _folio: Folio, page: Pfn): number {
  m.memmap.flags[page]! &= ~ANON_EXCLUSIVE;
  return 0;
}
