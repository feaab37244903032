import { LIST_HEAD_PTR, pfn_ptr, ptr_pfn } from '../page/word.js';

/**
 * Doubly linked lists of pages threaded through two memmap words, like `struct list_head` embedded
 * in `struct page` (`lru`, `buddy_list`, `pcp_list`). A set of lists shares one {@link PageListHeads};
 * list `i`'s first and last PFN are `heads[i]` and `tails[i]` (-1: empty). Entries link with page
 * pointers; the last `next` and the first `prev` hold {@link LIST_HEAD_PTR}; an unlinked page has 0
 * in both words (the model's `LIST_POISON`). All operations are O(1) and allocate nothing.
 *
 * @module
 */

/** The heads of a set of page lists. */
export class PageListHeads {
  /** First PFN of each list, -1 if empty. */
  readonly heads: Int32Array;
  /** Last PFN of each list, -1 if empty. */
  readonly tails: Int32Array;
  /** Number of entries on each list. */
  readonly counts: Int32Array;

  /** `n` empty lists. */
  constructor(n: number) {
    this.heads = new Int32Array(n).fill(-1);
    this.tails = new Int32Array(n).fill(-1);
    this.counts = new Int32Array(n);
  }
}

/** `list_add`: insert `pfn` at the front of list `li`. */
export function list_add(next: Uint32Array, prev: Uint32Array, l: PageListHeads, li: number, pfn: number): void {
  const h = l.heads[li]!;
  prev[pfn] = LIST_HEAD_PTR;
  if (h < 0) {
    next[pfn] = LIST_HEAD_PTR;
    l.tails[li] = pfn;
  } else {
    next[pfn] = pfn_ptr(h);
    prev[h] = pfn_ptr(pfn);
  }
  l.heads[li] = pfn;
  l.counts[li]!++;
}

/** `list_add_tail`: append `pfn` to list `li`. */
export function list_add_tail(next: Uint32Array, prev: Uint32Array, l: PageListHeads, li: number, pfn: number): void {
  const t = l.tails[li]!;
  next[pfn] = LIST_HEAD_PTR;
  if (t < 0) {
    prev[pfn] = LIST_HEAD_PTR;
    l.heads[li] = pfn;
  } else {
    prev[pfn] = pfn_ptr(t);
    next[t] = pfn_ptr(pfn);
  }
  l.tails[li] = pfn;
  l.counts[li]!++;
}

/** `list_del`: unlink `pfn` from list `li` and poison its link words (0). */
export function list_del(next: Uint32Array, prev: Uint32Array, l: PageListHeads, li: number, pfn: number): void {
  const n = next[pfn]!;
  const p = prev[pfn]!;
  if (p === LIST_HEAD_PTR) l.heads[li] = n === LIST_HEAD_PTR ? -1 : ptr_pfn(n);
  else next[ptr_pfn(p)] = n;
  if (n === LIST_HEAD_PTR) l.tails[li] = p === LIST_HEAD_PTR ? -1 : ptr_pfn(p);
  else prev[ptr_pfn(n)] = p;
  next[pfn] = 0;
  prev[pfn] = 0;
  l.counts[li]!--;
}

/** The PFN after `pfn` on its list, or -1 at the end (`list_next_entry`). */
export function list_next(next: Uint32Array, pfn: number): number {
  const n = next[pfn]!;
  return n === LIST_HEAD_PTR ? -1 : ptr_pfn(n);
}

/** True if `pfn` is linked on some list through these words (its `next` is a list pointer). */
export function list_linked(next: Uint32Array, pfn: number): boolean {
  const n = next[pfn]!;
  return n !== 0 && (n & 3) === 0;
}
