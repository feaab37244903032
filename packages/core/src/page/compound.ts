import type { Machine } from '../machine/machine.js';
import type { Folio, Pfn } from '../types.js';
import { PG } from './page-flags.js';
import { setTailWords, tailTemplates, zeroTailWords } from './tail-words.js';
import { TAIL_BIT, pfn_ptr, ptr_pfn } from './word.js';

/**
 * Compound pages and large folios (`include/linux/page-flags.h`, `include/linux/mm.h`,
 * `mm/page_alloc.c`). A tail page's first union word is `compound_head` with bit 0 set; the head has
 * PG_head; the order lives in the low byte of page 1's flags (`_flags_1`), and `_nr_pages`,
 * `_large_mapcount`, `_entire_mapcount` and `_pincount` live in page 1's words (see {@link Memmap}).
 * HVO "fake heads" are not modelled: every tail's struct page is writable.
 *
 * @module
 */

const HEAD = 1 << PG.head;

/** `TAIL_MAPPING`: the poison `prep_compound_tail` writes into a tail's `mapping` (`REAL_POISON(0x400)`). */
export const TAIL_MAPPING = 0x400;

/** {@link setTailWords} templates of `TAIL_MAPPING` (built once, never written). */
const TAIL_MAPPING_TAILS = tailTemplates(TAIL_MAPPING);

/** `PageTail` (`include/linux/page-flags.h`): bit 0 of the first union word is set. */
export function PageTail(m: Machine, pfn: Pfn): boolean {
  return (m.memmap.lru[pfn]! & TAIL_BIT) !== 0;
}

/** `PageCompound`: PG_head or a tail page. */
export function PageCompound(m: Machine, pfn: Pfn): boolean {
  return (m.memmap.flags[pfn]! & HEAD) !== 0 || (m.memmap.lru[pfn]! & TAIL_BIT) !== 0;
}

/** `compound_head(page)` (`include/linux/page-flags.h`): the head page of a tail, else the page itself. */
export function compound_head(m: Machine, pfn: Pfn): Pfn {
  const w = m.memmap.lru[pfn]!;
  return ((w & TAIL_BIT) !== 0 ? ptr_pfn(w) : pfn) as Pfn;
}

/** `page_folio(page)` (`include/linux/page-flags.h`): the folio a page belongs to. */
export function page_folio(m: Machine, pfn: Pfn): Folio {
  const w = m.memmap.lru[pfn]!;
  return ((w & TAIL_BIT) !== 0 ? ptr_pfn(w) : pfn) as Folio;
}

/** `folio_page(folio, n)` (`include/linux/mm.h`): the n-th page of a folio. */
export function folio_page(folio: Folio, n: number): Pfn {
  return (folio + n) as Pfn;
}

/** `folio_pfn(folio)` (`include/linux/mm.h`). */
export function folio_pfn(folio: Folio): Pfn {
  return folio;
}

/** `folio_test_large` (`include/linux/page-flags.h`): PG_head set on page 0. */
export function folio_test_large(m: Machine, folio: Folio): boolean {
  return (m.memmap.flags[folio]! & HEAD) !== 0;
}

/** `folio_order` (`include/linux/mm.h`): 0 for a small folio, else the low byte of `_flags_1`. */
export function folio_order(m: Machine, folio: Folio): number {
  return (m.memmap.flags[folio]! & HEAD) !== 0 ? m.memmap.flags[folio + 1]! & 0xff : 0;
}

/** `folio_nr_pages` (`include/linux/mm.h`): 1 for a small folio, else `_nr_pages`. */
export function folio_nr_pages(m: Machine, folio: Folio): number {
  return (m.memmap.flags[folio]! & HEAD) !== 0 ? m.memmap.private[folio + 1]! : 1;
}

/** `folio_size` in bytes (`include/linux/mm.h`). */
export function folio_size(m: Machine, folio: Folio): number {
  return folio_nr_pages(m, folio) * 4096;
}

/** `compound_order(page)` (`include/linux/mm.h`): 0 unless `page` is a head page. Needs no reference. */
export function compound_order(m: Machine, pfn: Pfn): number {
  return (m.memmap.flags[pfn]! & HEAD) !== 0 ? m.memmap.flags[pfn + 1]! & 0xff : 0;
}

/** `compound_nr(page)` (`include/linux/mm.h`): 1 unless `page` is a head page. */
export function compound_nr(m: Machine, pfn: Pfn): number {
  return 1 << compound_order(m, pfn);
}

/** `set_compound_head(tail, head)`: point a tail at its head (word = head pointer | 1). */
export function set_compound_head(m: Machine, tail: Pfn, head: Pfn): void {
  m.memmap.lru[tail] = pfn_ptr(head) | TAIL_BIT;
}

/** `clear_compound_head(page)`: the page is no longer a tail. */
export function clear_compound_head(m: Machine, pfn: Pfn): void {
  m.memmap.lru[pfn] = 0;
}

/** `folio_set_order(folio, order)` (`mm/internal.h`): order in `_flags_1`, `_nr_pages = 1 << order`. */
export function folio_set_order(m: Machine, folio: Folio, order: number): void {
  const p1 = folio + 1;
  m.memmap.flags[p1] = (m.memmap.flags[p1]! & ~0xff) | order;
  m.memmap.private[p1] = order === 0 ? 0 : 1 << order;
}

/** `prep_compound_tail(head, tail_idx)` (`mm/internal.h`): poison mapping, set compound_head, clear private. */
export function prep_compound_tail(m: Machine, head: Pfn, tailIdx: number): void {
  const p = head + tailIdx;
  m.memmap.mapping[p] = TAIL_MAPPING;
  m.memmap.lru[p] = pfn_ptr(head) | TAIL_BIT;
  m.memmap.private[p] = 0;
}

/**
 * `prep_compound_head(page, order)` (`mm/internal.h`): set the order and initialise the large-folio
 * counters on page 1 (`_large_mapcount = -1`, `_entire_mapcount = -1`, `_pincount = 0`) and an empty
 * `_deferred_list` on page 2.
 */
export function prep_compound_head(m: Machine, head: Pfn, order: number): void {
  const mm = m.memmap;
  folio_set_order(m, head as Folio, order);
  mm.lruPrev[head + 1] = 0xffffffff; // _large_mapcount = -1
  mm.mapping[head + 1] = 0xffffffff; // _entire_mapcount = -1
  mm.index[head + 1] = 0; // _pincount
  if (order > 1) {
    mm.lruPrev[head + 2] = 0; // _deferred_list (empty)
    mm.mapping[head + 2] = 0;
  }
}

/**
 * `prep_compound_page(page, order)` (`mm/page_alloc.c`): make `1 << order` pages starting at `head`
 * one compound page: PG_head on the head, every tail pointing at it, the order on page 1.
 */
export function prep_compound_page(m: Machine, head: Pfn, order: number): void {
  const mm = m.memmap;
  mm.flags[head]! |= HEAD;
  // Every tail gets the same three words (prep_compound_tail): written as ranges, not page by page.
  setTailWords(mm.mapping, head, order, TAIL_MAPPING, TAIL_MAPPING_TAILS);
  setTailWords(mm.lru, head, order, pfn_ptr(head) | TAIL_BIT);
  zeroTailWords(mm.private, head, order);
  prep_compound_head(m, head, order);
}

/** `folio_large_mapcount` (`include/linux/mm.h`): `_large_mapcount + 1`. */
export function folio_large_mapcount(m: Machine, folio: Folio): number {
  return (m.memmap.lruPrev[folio + 1]! | 0) + 1;
}

/** `folio_entire_mapcount` (`include/linux/mm.h`): `_entire_mapcount + 1` (PMD mappings). */
export function folio_entire_mapcount(m: Machine, folio: Folio): number {
  return (m.memmap.mapping[folio + 1]! | 0) + 1;
}
