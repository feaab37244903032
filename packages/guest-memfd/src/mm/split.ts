import { PAGEFLAGS_MASK, PAGE_FLAGS_SECOND, PG, prep_compound_page, type Folio, type Machine, type Pfn } from '@mm/core';

/**
 * Splitting a large folio into order-0 folios and putting it back together, as memmap rewrites
 * (`__split_folio_to_order()` in `mm/huge_memory.c`; the reverse has no mainline counterpart and
 * follows what the hugetlb-backed guest_memfd series does when it merges a huge folio after
 * conversion). The callers freeze the refcount at the expected value first, so both functions only
 * rewrite struct pages; the page-cache entries are the caller's business.
 *
 * @module
 */

const HEAD = 1 << PG.head;
/** Flags a piece inherits from the head (the subset of the kernel's list that the model uses). */
const INHERITED = (1 << PG.referenced) | (1 << PG.uptodate) | (1 << PG.dirty) | (1 << PG.active) | (1 << PG.workingset) | (1 << PG.unevictable) | (1 << PG.lru);

/**
 * Turn the large folio at `folio` into `folio_nr_pages` order-0 folios. Piece `i` gets the head's
 * mapping word, file index `index + i`, the inherited flags, and `refsPerPiece` references (the head
 * keeps the same count). Page 1's and page 2's large-folio fields become ordinary words again. A
 * folio on the unevictable LRU stays there page by page (that "list" has no links).
 */
export function splitFolioToOrder0(m: Machine, folio: Folio, index: number, refsPerPiece: number): void {
  const mm = m.memmap;
  const order = mm.flags[folio + 1]! & 0xff;
  const n = 1 << order;
  const mapping = mm.mapping[folio]!;
  const keep = mm.flags[folio]! & INHERITED;
  mm.flags[folio + 1]! &= ~PAGE_FLAGS_SECOND;
  for (let i = 1; i < n; i++) {
    const p = folio + i;
    mm.lru[p] = 0;
    mm.lruPrev[p] = 0;
    mm.mapping[p] = mapping;
    mm.index[p] = index + i;
    mm.private[p] = 0;
    mm.refcount[p] = refsPerPiece;
    mm.memcgData[p] = mm.memcgData[folio]!;
    mm.flags[p] = (mm.flags[p]! & ~PAGEFLAGS_MASK) | keep;
  }
  mm.flags[folio]! &= ~HEAD;
  mm.refcount[folio] = refsPerPiece;
}

/**
 * Put `1 << order` order-0 pages starting at `head` back together as one compound folio
 * (`prep_compound_page`): tails lose their own flags, mapping, index and references; the head keeps
 * its words and the caller sets its refcount.
 */
export function mergeOrder0ToFolio(m: Machine, head: Pfn, order: number): void {
  const mm = m.memmap;
  const n = 1 << order;
  for (let i = 1; i < n; i++) {
    const p = head + i;
    mm.refcount[p] = 0;
    mm.index[p] = 0;
    mm.lruPrev[p] = 0;
    mm.flags[p] = mm.flags[p]! & ~PAGEFLAGS_MASK;
  }
  prep_compound_page(m, head, order);
}
