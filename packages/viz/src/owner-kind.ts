import { NR_PAGE_ORDERS } from '@mm/core';

/**
 * Owner kinds: what the memory map colours a page by. The core's kinds (holes, buddy free blocks by
 * order, per-CPU lists, LRU anon/file, reserved and typed pages, plain allocations) come first; each
 * {@link PageOwnerDescriber} appends its own.
 *
 * @module
 */

/** One entry of the map's legend. */
export interface PageOwnerKind {
  /** Legend label, in kernel terms (`buddy free order 3`, `hugetlb active`). */
  readonly name: string;
  /** CSS colour (`#rrggbb`). */
  readonly color: string;
  /** Who owns pages of this kind (`page_alloc`, `lru`, `hugetlb`, …). */
  readonly owner: string;
}

/** Buddy orders from light yellow-green (order 0) to dark green (order 10): hue 70°→150°, lightness 82%→22%. */
function buddyColor(order: number): string {
  const t = order / (NR_PAGE_ORDERS - 1);
  const h = 70 + 80 * t;
  const l = 0.82 - 0.6 * t;
  const a = 0.6 * Math.min(l, 1 - l);
  const f = (n: number): string => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1)))).toString(16).padStart(2, '0');
  };
  return `#${f(0)}${f(8)}${f(4)}`;
}

/** Index of the core's kinds in every report's kind table. */
export const CORE_KIND = {
  /** A PFN without a struct page (top byte of `flags` 0xff: a hole). */
  hole: 0,
  /** First of the {@link NR_PAGE_ORDERS} `buddy free order N` kinds: inside a free block of order N. */
  buddy: 1,
  /** On a per-CPU free list (`pcp->lists`). */
  pcp: 1 + NR_PAGE_ORDERS,
  /** An LRU folio with PG_swapbacked (anonymous or shmem). */
  lruAnon: 2 + NR_PAGE_ORDERS,
  /** An LRU folio without PG_swapbacked (page cache). */
  lruFile: 3 + NR_PAGE_ORDERS,
  /** PG_reserved. */
  reserved: 4 + NR_PAGE_ORDERS,
  /** PageOffline that no describer claimed. */
  offline: 5 + NR_PAGE_ORDERS,
  /** PageSlab / PageTable / PageLargeKmalloc and other page types no describer claimed. */
  typed: 6 + NR_PAGE_ORDERS,
  /** Allocated (refcount > 0) with no LRU, type or owner: a plain `alloc_pages` user. */
  allocated: 7 + NR_PAGE_ORDERS,
  /** Refcount 0 but on no free list: frozen, isolated, or lost. */
  unowned: 8 + NR_PAGE_ORDERS,
} as const;

/** The core's kinds, indexed by {@link CORE_KIND}. */
export const CORE_KINDS: readonly PageOwnerKind[] = [
  { name: 'no struct page (hole)', color: '#202020', owner: 'memmap' },
  ...Array.from({ length: NR_PAGE_ORDERS }, (_, o) => ({ name: `buddy free order ${o}`, color: buddyColor(o), owner: 'page_alloc' })),
  { name: 'pcp free (per-CPU list)', color: '#7fd8d0', owner: 'page_alloc' },
  { name: 'LRU anon (swapbacked)', color: '#3b6fd8', owner: 'lru' },
  { name: 'LRU file (page cache)', color: '#f0a030', owner: 'lru' },
  { name: 'PG_reserved', color: '#606060', owner: 'memblock' },
  { name: 'PageOffline', color: '#b070b0', owner: 'offline' },
  { name: 'other page type (slab, table, …)', color: '#c8a070', owner: 'kernel' },
  { name: 'allocated (no LRU, no owner)', color: '#b8b8b8', owner: 'kernel' },
  { name: 'refcount 0, on no free list', color: '#ff60ff', owner: 'none' },
];
