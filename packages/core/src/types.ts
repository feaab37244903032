/**
 * Branded integer types for pages and folios. A page is its page frame number; a folio is the PFN of
 * its head page. They are plain numbers at run time (no allocation), branded only for the type checker.
 *
 * @module
 */

/** A page frame number: the index of a `struct page` in the memmap. */
export type Pfn = number & {
  /** Type-level brand only: no such property exists at run time. */
  readonly __brand: 'Pfn';
};

/**
 * A folio: the PFN of its head page (`struct folio *` in the kernel). Every folio is also a page
 * (`&folio->page`), so a `Folio` may be passed wherever a {@link Pfn} is expected.
 */
export type Folio = Pfn & {
  /** Type-level brand only (a head page's PFN): no such property exists at run time. */
  readonly __folio: true;
};

/** Brand a number as a {@link Pfn}. No check is made: kernel functions validate their arguments. */
export function asPfn(n: number): Pfn {
  return n as Pfn;
}

/**
 * Brand a number as a {@link Folio}. No check is made here; use {@link page_folio} to get the folio a
 * page belongs to.
 */
export function asFolio(n: number): Folio {
  return n as Folio;
}

/** `PAGE_SHIFT` on x86-64: 4 KiB pages. */
export const PAGE_SHIFT = 12;
/** `PAGE_SIZE` in bytes. */
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** `MAX_PAGE_ORDER` (inclusive): the largest buddy block is `1 << 10` pages, 4 MiB. */
export const MAX_PAGE_ORDER = 10;
/** `NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1`. */
export const NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1;
/** `pageblock_order` on x86-64 with hugetlb: 9 (2 MiB pageblocks). */
export const pageblock_order = 9;
/** `pageblock_nr_pages = 1 << pageblock_order`. */
export const pageblock_nr_pages = 1 << pageblock_order;
/** `PAGE_ALLOC_COSTLY_ORDER`: orders above this are "costly". */
export const PAGE_ALLOC_COSTLY_ORDER = 3;
/** `HPAGE_PMD_ORDER` on x86-64: the THP order. */
export const HPAGE_PMD_ORDER = 9;
