/**
 * The bits of a `/proc/kpageflags` entry: the stable `KPF_*` bits of
 * `include/uapi/linux/kernel-page-flags.h` (0–26) and the kernel-hacking bits of
 * `include/linux/kernel-page-flags.h` (32–42). Bits 27–31 and 43–63 are never set; `tools/mm/page-types`
 * rejects unknown bits.
 *
 * @module
 */

/** `KPF_LOCKED`: PG_locked. */
export const KPF_LOCKED = 0;
/** `KPF_ERROR`: no longer set by any kernel. */
export const KPF_ERROR = 1;
/** `KPF_REFERENCED`: PG_referenced. */
export const KPF_REFERENCED = 2;
/** `KPF_UPTODATE`: PG_uptodate (also PG_movable_ops and PG_reported, which alias it). */
export const KPF_UPTODATE = 3;
/** `KPF_DIRTY`: PG_dirty. */
export const KPF_DIRTY = 4;
/** `KPF_LRU`: PG_lru. */
export const KPF_LRU = 5;
/** `KPF_ACTIVE`: PG_active. */
export const KPF_ACTIVE = 6;
/** `KPF_SLAB`: the folio has the slab page type. */
export const KPF_SLAB = 7;
/** `KPF_WRITEBACK`: PG_writeback. */
export const KPF_WRITEBACK = 8;
/** `KPF_RECLAIM`: PG_reclaim (also PG_movable_ops_isolated, which aliases it). */
export const KPF_RECLAIM = 9;
/** `KPF_BUDDY`: the page lies inside a free buddy block (head or not). */
export const KPF_BUDDY = 10;
/** `KPF_MMAP`: the folio is mapped into some page table. */
export const KPF_MMAP = 11;
/** `KPF_ANON`: anonymous folio (`mapping` bit 0). */
export const KPF_ANON = 12;
/** `KPF_SWAPCACHE`: PG_swapbacked and PG_swapcache both set. */
export const KPF_SWAPCACHE = 13;
/** `KPF_SWAPBACKED`: PG_swapbacked. */
export const KPF_SWAPBACKED = 14;
/** `KPF_COMPOUND_HEAD`: the head page of a compound page. */
export const KPF_COMPOUND_HEAD = 15;
/** `KPF_COMPOUND_TAIL`: a tail page of a compound page. */
export const KPF_COMPOUND_TAIL = 16;
/** `KPF_HUGE`: any page of a hugetlb folio. */
export const KPF_HUGE = 17;
/** `KPF_UNEVICTABLE`: PG_unevictable. */
export const KPF_UNEVICTABLE = 18;
/** `KPF_HWPOISON`: PG_hwpoison (of the head for hugetlb, else of the page). */
export const KPF_HWPOISON = 19;
/** `KPF_NOPAGE`: no struct page — only older kernels report it; current ones write 0 for such PFNs. */
export const KPF_NOPAGE = 20;
/** `KPF_KSM`: KSM folio (both `mapping` tag bits). */
export const KPF_KSM = 21;
/** `KPF_THP`: any page of a large, large-rmappable (non-hugetlb) folio. */
export const KPF_THP = 22;
/** `KPF_OFFLINE`: the folio has the offline page type (balloon, memory offlining). */
export const KPF_OFFLINE = 23;
/** `KPF_ZERO_PAGE`: the shared zero page (the model has none). */
export const KPF_ZERO_PAGE = 24;
/** `KPF_IDLE`: PG_idle. */
export const KPF_IDLE = 25;
/** `KPF_PGTABLE`: the folio has the page-table page type. */
export const KPF_PGTABLE = 26;
/** `KPF_RESERVED`: PG_reserved. */
export const KPF_RESERVED = 32;
/** `KPF_MLOCKED`: PG_mlocked. */
export const KPF_MLOCKED = 33;
/** `KPF_OWNER_2`: PG_owner_2 (formerly KPF_MAPPEDTODISK). */
export const KPF_OWNER_2 = 34;
/** `KPF_PRIVATE`: PG_private. */
export const KPF_PRIVATE = 35;
/** `KPF_PRIVATE_2`: PG_private_2. */
export const KPF_PRIVATE_2 = 36;
/** `KPF_OWNER_PRIVATE`: PG_owner_priv_1. */
export const KPF_OWNER_PRIVATE = 37;
/** `KPF_ARCH`: PG_arch_1. */
export const KPF_ARCH = 38;
/** `KPF_SOFTDIRTY`: pagemap only, never in kpageflags. */
export const KPF_SOFTDIRTY = 40;
/** `KPF_ARCH_2`: PG_arch_2 (not on x86-64). */
export const KPF_ARCH_2 = 41;
/** `KPF_ARCH_3`: PG_arch_3 (not on x86-64). */
export const KPF_ARCH_3 = 42;

/** Every KPF bit a kernel may set in `/proc/kpageflags`, by name: what `page-types` accepts. */
export const KPF_BITS: Readonly<Record<string, number>> = {
  locked: KPF_LOCKED,
  error: KPF_ERROR,
  referenced: KPF_REFERENCED,
  uptodate: KPF_UPTODATE,
  dirty: KPF_DIRTY,
  lru: KPF_LRU,
  active: KPF_ACTIVE,
  slab: KPF_SLAB,
  writeback: KPF_WRITEBACK,
  reclaim: KPF_RECLAIM,
  buddy: KPF_BUDDY,
  mmap: KPF_MMAP,
  anonymous: KPF_ANON,
  swapcache: KPF_SWAPCACHE,
  swapbacked: KPF_SWAPBACKED,
  compound_head: KPF_COMPOUND_HEAD,
  compound_tail: KPF_COMPOUND_TAIL,
  huge: KPF_HUGE,
  unevictable: KPF_UNEVICTABLE,
  hwpoison: KPF_HWPOISON,
  nopage: KPF_NOPAGE,
  ksm: KPF_KSM,
  thp: KPF_THP,
  offline: KPF_OFFLINE,
  zero_page: KPF_ZERO_PAGE,
  idle_page: KPF_IDLE,
  pgtable: KPF_PGTABLE,
  reserved: KPF_RESERVED,
  mlocked: KPF_MLOCKED,
  owner_2: KPF_OWNER_2,
  private: KPF_PRIVATE,
  private_2: KPF_PRIVATE_2,
  owner_private: KPF_OWNER_PRIVATE,
  arch: KPF_ARCH,
  softdirty: KPF_SOFTDIRTY,
  arch_2: KPF_ARCH_2,
  arch_3: KPF_ARCH_3,
};
