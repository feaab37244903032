import { PageListHeads, list_add, list_add_tail, list_del, list_next } from '../alloc/page-list.js';
import { MmError } from '../debug/mm-error.js';
import { assertFolio } from '../debug/validate.js';
import { EINVAL } from '../errno.js';
import type { Machine } from '../machine/machine.js';
import { LIST_HEAD_PTR, pfn_ptr, ptr_pfn } from '../page/word.js';
import type { Folio } from '../types.js';

/**
 * `struct list_head` of isolated folios (`LIST_HEAD(folios)` in `mm/migrate.c`, `mm/compaction.c`):
 * the migration core's lists are threaded through `folio->lru` exactly as in the kernel, i.e. through
 * the memmap's `lru`/`lruPrev` words, so a folio's list membership is visible in its struct page and
 * list operations are O(1) and allocate nothing. A folio (or movable_ops page) can be on one such
 * list only while it is isolated: its `lru` word is then free (PG_lru clear, no owner ops).
 *
 * The kernel's `list_*` calls map to the functions of this module: `list_add_tail(&folio->lru, head)`
 * is {@link listAddTail}, `list_del` {@link listDel}, `list_move_tail` {@link listMoveTail},
 * `list_splice_tail_init` {@link listSpliceTailInit}, `list_first_entry` `head.first`.
 */
export class ListHead extends PageListHeads {
  /** An empty list. */
  constructor() {
    super(1);
  }

  /** Number of entries (`list_count_nodes`). */
  get length(): number {
    return this.counts[0]!;
  }

  /** `list_empty(head)`. */
  get empty(): boolean {
    return this.heads[0]! < 0;
  }

  /** `list_first_entry(head)`: the first folio, or -1 if empty. */
  get first(): number {
    return this.heads[0]!;
  }

  /** `list_last_entry(head)`: the last folio, or -1 if empty. */
  get last(): number {
    return this.tails[0]!;
  }
}

/**
 * `list_add_tail(&folio->lru, head)`: append an isolated folio. `MmError(EINVAL)` if the folio is a
 * tail page or its `lru` word is in use (still on an LRU or another list, or carrying owner ops): only
 * isolated folios may be put on a migration list.
 */
export function listAddTail(m: Machine, head: ListHead, folio: Folio): void {
  assertFree(m, folio, 'list_add_tail');
  list_add_tail(m.memmap.lru, m.memmap.lruPrev, head, 0, folio);
}

/** `list_add(&folio->lru, head)`: insert an isolated folio at the front (checks as {@link listAddTail}). */
export function listAdd(m: Machine, head: ListHead, folio: Folio): void {
  assertFree(m, folio, 'list_add');
  list_add(m.memmap.lru, m.memmap.lruPrev, head, 0, folio);
}

function assertFree(m: Machine, folio: number, fn: string): void {
  assertFolio(m, folio, fn);
  if (m.memmap.lru[folio] !== 0) {
    throw new MmError(EINVAL, `${fn}: folio is not isolated (its lru word is in use: on an LRU or another list, or owner ops)`, {
      pfn: folio,
      rule: '§9.2 only isolated folios go on a migration list',
    });
  }
}

/** `list_del(&folio->lru)`: unlink a folio from `head` (the caller knows it is there). */
export function listDel(m: Machine, head: ListHead, folio: number): void {
  list_del(m.memmap.lru, m.memmap.lruPrev, head, 0, folio);
}

/** `list_move_tail(&folio->lru, to)`: move a folio from `from` to the end of `to`. */
export function listMoveTail(m: Machine, folio: number, from: ListHead, to: ListHead): void {
  list_del(m.memmap.lru, m.memmap.lruPrev, from, 0, folio);
  list_add_tail(m.memmap.lru, m.memmap.lruPrev, to, 0, folio);
}

/** `list_next_entry(folio, lru)`: the folio after `folio`, or -1 at the end. */
export function listNext(m: Machine, folio: number): number {
  return list_next(m.memmap.lru, folio);
}

/** `list_splice_tail_init(list, head)`: move every entry of `list` to the end of `head`, in O(1). */
export function listSpliceTailInit(m: Machine, list: ListHead, head: ListHead): void {
  if (list.empty) return;
  const { lru, lruPrev } = m.memmap;
  const first = list.heads[0]!;
  const last = list.tails[0]!;
  if (head.empty) {
    head.heads[0] = first;
  } else {
    const t = head.tails[0]!;
    lru[t] = pfn_ptr(first);
    lruPrev[first] = pfn_ptr(t);
  }
  head.tails[0] = last;
  head.counts[0]! += list.counts[0]!;
  list.heads[0] = -1;
  list.tails[0] = -1;
  list.counts[0] = 0;
}

/** `list_splice_init(list, head)`: move every entry of `list` to the front of `head`, in O(1). */
export function listSpliceInit(m: Machine, list: ListHead, head: ListHead): void {
  if (list.empty) return;
  const { lru, lruPrev } = m.memmap;
  const first = list.heads[0]!;
  const last = list.tails[0]!;
  if (head.empty) {
    head.tails[0] = last;
  } else {
    const h = head.heads[0]!;
    lru[last] = pfn_ptr(h);
    lruPrev[h] = pfn_ptr(last);
  }
  head.heads[0] = first;
  head.counts[0]! += list.counts[0]!;
  list.heads[0] = -1;
  list.tails[0] = -1;
  list.counts[0] = 0;
}

/**
 * `list_cut_before(list, head, entry)`: move the entries of `head` before `entry` (`nr` of them, which
 * the caller counted while walking) to the empty `list`.
 */
export function listCutBefore(m: Machine, list: ListHead, head: ListHead, entry: number, nr: number): void {
  if (entry === head.heads[0]) return;
  const { lru, lruPrev } = m.memmap;
  const first = head.heads[0]!;
  const last = ptr_pfn(lruPrev[entry]!);
  list.heads[0] = first;
  list.tails[0] = last;
  list.counts[0] = nr;
  lru[last] = LIST_HEAD_PTR;
  lruPrev[entry] = LIST_HEAD_PTR;
  head.heads[0] = entry;
  head.counts[0]! -= nr;
}

/** The entries of a list, in order (for tests and dumps). */
export function listFolios(m: Machine, head: ListHead): Folio[] {
  const out: Folio[] = [];
  for (let f = head.first; f >= 0; f = list_next(m.memmap.lru, f)) out.push(f as Folio);
  return out;
}
