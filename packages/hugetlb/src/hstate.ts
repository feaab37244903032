import { EINVAL, MAX_PAGE_ORDER, MmError, PAGE_SHIFT, PageListHeads, folio_test_hugetlb, type Folio, type Machine } from '@mm/core';
import type { HugetlbState } from './state.js';

/**
 * `struct hstate` (`include/linux/hugetlb.h`) and the helpers around it: one per supported huge page
 * size, with the pool counters of kernel-semantics §4.1, global and per node, and the two lists.
 *
 * @module
 */

/** `HUGETLB_PAGE_ORDER` on x86-64: the PMD order, 9 (2 MiB). */
export const HUGETLB_PAGE_ORDER = 9;
/** The PUD order on x86-64: 18 (1 GiB), the gigantic size (`X86_FEATURE_GBPAGES`). */
export const HUGETLB_PUD_ORDER = 18;
/** `HUGE_MAX_HSTATE` on x86-64: two sizes. */
export const HUGE_MAX_HSTATE = 2;

/**
 * `struct hstate`. Counters are plain numbers; per-node counters are typed arrays indexed by node id.
 * The free lists and the active list are {@link PageListHeads} threaded through each folio's
 * `_hugetlb_list` (the words of page 2, see `folio/hugetlb-list.ts`), never through `folio->lru`.
 */
export class Hstate {
  /** The per-machine hugetlb state this hstate belongs to. */
  readonly pool: HugetlbState;
  /** `hstate_index(h)`: position in `hstates[]`. */
  readonly index: number;
  /** `order`: pages per huge page = `1 << order`. */
  readonly order: number;
  /** `name`: `"hugepages-<kB>kB"`. */
  readonly name: string;
  /** `demote_order`: the order `demote` produces, 0 if demotion is impossible. */
  demote_order = 0;
  /** `nr_huge_pages`: every folio of this size hugetlb owns (free, in use, isolated, surplus). */
  nr_huge_pages = 0;
  /** `free_huge_pages`: folios on the free lists. */
  free_huge_pages = 0;
  /** `resv_huge_pages`: reservations not yet consumed. */
  resv_huge_pages = 0;
  /** `surplus_huge_pages`: folios beyond the persistent pool, allocated on demand (overcommit). */
  surplus_huge_pages = 0;
  /** `nr_overcommit_huge_pages`: the surplus limit (sysfs `nr_overcommit_hugepages`). */
  nr_overcommit_huge_pages = 0;
  /** `max_huge_pages`: the persistent pool size last requested (sysfs `nr_hugepages` target). */
  max_huge_pages = 0;
  /** `nr_huge_pages_node[]`. */
  readonly nr_huge_pages_node: Float64Array;
  /** `free_huge_pages_node[]`. */
  readonly free_huge_pages_node: Float64Array;
  /** `surplus_huge_pages_node[]`. */
  readonly surplus_huge_pages_node: Float64Array;
  /** `max_huge_pages_node[]`: boot-time per-node requests (`hugepages=0:N,1:M`). */
  readonly max_huge_pages_node: Float64Array;
  /** `hugepage_freelists[nid]`: list `nid` holds the node's free folios (linked through `_hugetlb_list`). */
  readonly hugepage_freelists: PageListHeads;
  /** `hugepage_activelist`: list 0 holds the folios in use (linked through `_hugetlb_list`). */
  readonly hugepage_activelist: PageListHeads;
  /** `next_nid_to_alloc`: round-robin cursor for growing the pool. */
  next_nid_to_alloc = 0;
  /** `next_nid_to_free`: round-robin cursor for shrinking the pool. */
  next_nid_to_free = 0;
  /** HVO accounting: vmemmap pages currently freed by optimized folios of this size. */
  vmemmap_pages_freed = 0;

  /** `hugetlb_add_hstate(order)`: a new, empty hstate. */
  constructor(pool: HugetlbState, index: number, order: number, nrNodes: number) {
    this.pool = pool;
    this.index = index;
    this.order = order;
    this.name = `hugepages-${(4 << order) >>> 0}kB`;
    this.nr_huge_pages_node = new Float64Array(nrNodes);
    this.free_huge_pages_node = new Float64Array(nrNodes);
    this.surplus_huge_pages_node = new Float64Array(nrNodes);
    this.max_huge_pages_node = new Float64Array(nrNodes);
    this.hugepage_freelists = new PageListHeads(nrNodes);
    this.hugepage_activelist = new PageListHeads(1);
  }
}

/** `huge_page_order(h)`. */
export function huge_page_order(h: Hstate): number {
  return h.order;
}

/** `pages_per_huge_page(h)`: `1 << order`. */
export function pages_per_huge_page(h: Hstate): number {
  return 1 << h.order;
}

/** `huge_page_size(h)` in bytes. */
export function huge_page_size(h: Hstate): number {
  return (1 << h.order) * 4096;
}

/** `huge_page_shift(h)`. */
export function huge_page_shift(h: Hstate): number {
  return h.order + PAGE_SHIFT;
}

/** `hstate_is_gigantic(h)`: the order exceeds MAX_PAGE_ORDER, so the buddy allocator cannot supply it. */
export function hstate_is_gigantic(h: Hstate): boolean {
  return h.order > MAX_PAGE_ORDER;
}

/** `persistent_huge_pages(h)`: `nr_huge_pages - surplus_huge_pages`. */
export function persistent_huge_pages(h: Hstate): number {
  return h.nr_huge_pages - h.surplus_huge_pages;
}

/** `available_huge_pages(h)`: free folios not promised to a reservation. */
export function available_huge_pages(h: Hstate): number {
  return h.free_huge_pages - h.resv_huge_pages;
}

/** `size_to_hstate(size)`: the hstate of `size` bytes, or null. */
export function size_to_hstate(pool: HugetlbState, size: number): Hstate | null {
  for (const h of pool.hstates) if (huge_page_size(h) === size) return h;
  return null;
}

/**
 * `folio_hstate(folio)` (`include/linux/hugetlb.h`): the hstate of a hugetlb folio, found by its size.
 * `MmError(EINVAL)` if the folio is not a hugetlb folio of a known size (the kernel's
 * `VM_BUG_ON_FOLIO(!folio_test_hugetlb(folio))`).
 */
export function folio_hstate(m: Machine, pool: HugetlbState, folio: Folio): Hstate {
  let h: Hstate | null = null;
  if (folio_test_hugetlb(m, folio)) {
    const order = m.memmap.flags[folio + 1]! & 0xff;
    for (const x of pool.hstates) if (x.order === order) h = x;
  }
  if (h === null) throw new MmError(EINVAL, 'folio_hstate: not a hugetlb folio', { pfn: folio, rule: 'VM_BUG_ON_FOLIO(!folio_test_hugetlb(folio))' });
  return h;
}

/** Pretty size of an hstate as hugetlb cgroup file names write it (`mem_fmt`): `2MB`, `1GB`. */
export function mem_fmt(h: Hstate): string {
  const size = huge_page_size(h);
  if (size >= 2 ** 30) return `${size / 2 ** 30}GB`;
  if (size >= 2 ** 20) return `${size / 2 ** 20}MB`;
  return `${size / 1024}KB`;
}
