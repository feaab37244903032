import type { Machine } from '../machine/machine.js';
import type { Folio, Pfn } from '../types.js';
import { TAIL_BIT, ptr_pfn } from './word.js';

/**
 * Page flag bit numbers (`enum pageflags`, `include/linux/page-flags.h`, v6.18, x86-64 with MMU,
 * MEMORY_FAILURE and PAGE_IDLE_FLAG). Aliases share a bit, as in the kernel.
 */
export const PG = {
  /**
   * `PG_locked`: the folio lock (`folio_lock`), held during I/O; it also pins the folio in the page cache.
   */
  locked: 0,
  /** `PG_writeback`: the folio is under writeback. */
  writeback: 1,
  /** `PG_referenced`: recently accessed; a reclaim hint (second chance before activation). */
  referenced: 2,
  /** `PG_uptodate`: the folio's contents are valid. */
  uptodate: 3,
  /** Alias of `uptodate` (CONFIG_MIGRATION): the page has movable_ops (series 2). */
  movable_ops: 3,
  /** Alias of `uptodate` on free buddy pages. */
  reported: 3,
  /** `PG_dirty`: the contents were modified and must be written back before the folio can be reclaimed. */
  dirty: 4,
  /** `PG_lru`: the folio is on one of its node's LRU lists (linked through `folio->lru`). */
  lru: 5,
  /** `PG_head`: head page of a large (compound) folio; must be bit 6. */
  head: 6,
  /** `PG_waiters`: tasks wait on the folio's waitqueue; must be bit 7, in the same byte as `PG_locked`. */
  waiters: 7,
  /** `PG_active`: the folio is on an active LRU list. */
  active: 8,
  /** Page-1 alias of `active`. */
  has_hwpoisoned: 8,
  /** `PG_workingset`: the folio belongs to the workload's working set (refault detection). */
  workingset: 9,
  /** Page-1 alias of `workingset`. */
  large_rmappable: 9,
  /**
   * `PG_owner_priv_1`: for the owner (filesystems: `PG_checked`; swap cache: `PG_swapcache`; Xen:
   * `PG_pinned`).
   */
  owner_priv_1: 10,
  /** Alias of `owner_priv_1`, meaningful only with `swapbacked`. */
  swapcache: 10,
  /** `PG_owner_2`: for the owner (anonymous pages: `PG_anon_exclusive`; filesystems: `PG_mappedtodisk`). */
  owner_2: 11,
  /** Alias of `owner_2` (per page). */
  anon_exclusive: 11,
  /** `PG_arch_1`: architecture-specific; cleared when the folio enters the page cache. */
  arch_1: 12,
  /**
   * `PG_reserved`: a special page outside the page allocator's control (memblock-reserved memory, the
   * kernel image, holes in the memmap); never swapped out.
   */
  reserved: 13,
  /**
   * `PG_private`: `folio->private` holds the owner's data (e.g. buffer heads; zsmalloc sets it on zspage
   * pages).
   */
  private: 14,
  /** `PG_private_2`: auxiliary filesystem data (`PG_fscache`). */
  private_2: 15,
  /**
   * `PG_reclaim`: under writeback for reclaim, so rotate the folio to the LRU tail when writeback ends
   * (alias `PG_readahead`).
   */
  reclaim: 16,
  /** Alias of `reclaim` (CONFIG_MIGRATION): isolated for movable_ops migration (series 2). */
  movable_ops_isolated: 16,
  /** Page-1 alias of `reclaim`. */
  partially_mapped: 16,
  /** `PG_swapbacked`: backed by RAM or swap (anonymous and shmem memory), not by a file. */
  swapbacked: 17,
  /** `PG_unevictable`: the folio is on the unevictable LRU list. */
  unevictable: 18,
  /** `PG_dropbehind`: drop the folio from the page cache once its I/O completes (`RWF_DONTCACHE`). */
  dropbehind: 19,
  /** `PG_mlocked`: mapped in a `VM_LOCKED` vma. */
  mlocked: 20,
  /**
   * `PG_hwpoison`: the memory is hardware-poisoned and must not be touched; survives free and reallocation.
   */
  hwpoison: 21,
  /**
   * `PG_young`: idle page tracking cleared an accessed PTE bit, so reclaim still sees the page as
   * referenced.
   */
  young: 22,
  /**
   * `PG_idle`: idle page tracking: not accessed since it was marked idle
   * (`/sys/kernel/mm/page_idle/bitmap`).
   */
  idle: 23,
} as const;

/** Number of PG_* bits in the low part of `flags`; the top byte holds node and zone. */
export const NR_PAGEFLAGS = 24;
/** Mask of all PG_* bits. */
export const PAGEFLAGS_MASK = (1 << NR_PAGEFLAGS) - 1;

const bit = (b: number): number => 1 << b;

/**
 * `PAGE_FLAGS_CHECK_AT_FREE`: any of these set when a page is freed is a "bad page"
 * (`include/linux/page-flags.h`). The model has no MGLRU generation bits.
 */
export const PAGE_FLAGS_CHECK_AT_FREE =
  bit(PG.lru) |
  bit(PG.locked) |
  bit(PG.private) |
  bit(PG.private_2) |
  bit(PG.writeback) |
  bit(PG.reserved) |
  bit(PG.active) |
  bit(PG.unevictable) |
  bit(PG.mlocked);

/**
 * `PAGE_FLAGS_CHECK_AT_PREP`: every flag bit except hwpoison must be clear when the allocator hands a
 * page out. Consequently PG_movable_ops and PG_movable_ops_isolated cannot survive free + alloc.
 */
export const PAGE_FLAGS_CHECK_AT_PREP = PAGEFLAGS_MASK & ~bit(PG.hwpoison);

/**
 * `PAGE_FLAGS_SECOND`: what page 1 of a large folio keeps in its flags (the order byte,
 * PG_has_hwpoisoned, PG_large_rmappable, PG_partially_mapped); cleared when the folio is freed.
 */
export const PAGE_FLAGS_SECOND = 0xff | bit(PG.has_hwpoisoned) | bit(PG.large_rmappable) | bit(PG.partially_mapped);

/**
 * Which page of a compound page a flag helper acts on (`PF_*` policies of `page-flags.h`):
 * `any` the page itself, `head` the head page (a tail acts on its head), `second` page 1 of a
 * large folio.
 */
export type PageFlagPolicy = 'any' | 'head' | 'second';

/** One row of the flag table: the bit, the CamelCase name of the `PageX` helpers, the policy. */
export interface PageFlagDef {
  /** Bit number in `flags`. */
  readonly bit: number;
  /** CamelCase name used by `PageX`/`SetPageX`, or `null` if the kernel has folio helpers only. */
  readonly uname: string | null;
  /** Which page the helpers act on. */
  readonly policy: PageFlagPolicy;
}

/**
 * The flag table from which all `folio_test_*`, `folio_set_*`, `PageX`, `SetPageX`… helpers are
 * generated, as `page-flags.h` generates them from `PAGEFLAG()`/`FOLIO_FLAG()` macros.
 * PG_movable_ops and PG_movable_ops_isolated are not here: series 2 gives them only test/set helpers
 * (see `migrate/movable-ops-flags.ts`).
 */
export const PAGEFLAG_TABLE = {
  /** Flag `PG_locked` and its helpers. */
  locked: {
    /** Bit `PG_locked`. */
    bit: PG.locked,
    /** Names `PageLocked`, `SetPageLocked`, `ClearPageLocked`, … */
    uname: 'Locked',
    /** Tail pages act on their head page. */
    policy: 'head',
  },
  /** Flag `PG_waiters` and its helpers. */
  waiters: {
    /** Bit `PG_waiters`. */
    bit: PG.waiters,
    /** Names `PageWaiters`, `SetPageWaiters`, `ClearPageWaiters`, … */
    uname: 'Waiters',
    /** Tail pages act on their head page. */
    policy: 'head',
  },
  /** Flag `PG_referenced` and its helpers. */
  referenced: {
    /** Bit `PG_referenced`. */
    bit: PG.referenced,
    /** Names `PageReferenced`, `SetPageReferenced`, `ClearPageReferenced`, … */
    uname: 'Referenced',
    /** Tail pages act on their head page. */
    policy: 'head',
  },
  /** Flag `PG_dirty` and its helpers. */
  dirty: {
    /** Bit `PG_dirty`. */
    bit: PG.dirty,
    /** Names `PageDirty`, `SetPageDirty`, `ClearPageDirty`, … */
    uname: 'Dirty',
    /** Tail pages act on their head page. */
    policy: 'head',
  },
  /** Flag `PG_lru` and its helpers. */
  lru: {
    /** Bit `PG_lru`. */
    bit: PG.lru,
    /** Names `PageLRU`, `SetPageLRU`, `ClearPageLRU`, … */
    uname: 'LRU',
    /** Tail pages act on their head page. */
    policy: 'head',
  },
  /** Flag `PG_active` and its helpers. */
  active: {
    /** Bit `PG_active`. */
    bit: PG.active,
    /** Names `PageActive`, `SetPageActive`, `ClearPageActive`, … */
    uname: 'Active',
    /** Tail pages act on their head page. */
    policy: 'head',
  },
  /** Flag `PG_workingset` and its helpers. */
  workingset: {
    /** Bit `PG_workingset`. */
    bit: PG.workingset,
    /** Names `PageWorkingset`, `SetPageWorkingset`, `ClearPageWorkingset`, … */
    uname: 'Workingset',
    /** Tail pages act on their head page. */
    policy: 'head',
  },
  /** Flag `PG_owner_priv_1` and its helpers. */
  owner_priv_1: {
    /** Bit `PG_owner_priv_1`. */
    bit: PG.owner_priv_1,
    /** Names `PageOwnerPriv1`, `SetPageOwnerPriv1`, `ClearPageOwnerPriv1`, … */
    uname: 'OwnerPriv1',
    /** Each page, head or tail, has its own bit. */
    policy: 'any',
  },
  /** Flag `PG_owner_2` and its helpers. */
  owner_2: {
    /** Bit `PG_owner_2`. */
    bit: PG.owner_2,
    /** Names `PageOwner2`, `SetPageOwner2`, `ClearPageOwner2`, … */
    uname: 'Owner2',
    /** Each page, head or tail, has its own bit. */
    policy: 'any',
  },
  /** Flag `PG_arch_1` and its helpers. */
  arch_1: {
    /** Bit `PG_arch_1`. */
    bit: PG.arch_1,
    /** Names `PageArch1`, `SetPageArch1`, `ClearPageArch1`, … */
    uname: 'Arch1',
    /** Tail pages act on their head page. */
    policy: 'head',
  },
  /** Flag `PG_reserved` and its helpers. */
  reserved: {
    /** Bit `PG_reserved`. */
    bit: PG.reserved,
    /** Names `PageReserved`, `SetPageReserved`, `ClearPageReserved`, … */
    uname: 'Reserved',
    /** Each page, head or tail, has its own bit. */
    policy: 'any',
  },
  /** Flag `PG_swapbacked` and its helpers. */
  swapbacked: {
    /** Bit `PG_swapbacked`. */
    bit: PG.swapbacked,
    /** Names `PageSwapBacked`, `SetPageSwapBacked`, `ClearPageSwapBacked`, … */
    uname: 'SwapBacked',
    /** Tail pages act on their head page. */
    policy: 'head',
  },
  /** Flag `PG_private` and its helpers. */
  private: {
    /** Bit `PG_private`. */
    bit: PG.private,
    /** Names `PagePrivate`, `SetPagePrivate`, `ClearPagePrivate`, … */
    uname: 'Private',
    /** Each page, head or tail, has its own bit. */
    policy: 'any',
  },
  /** Flag `PG_private_2` and its helpers. */
  private_2: {
    /** Bit `PG_private_2`. */
    bit: PG.private_2,
    /** Names `PagePrivate2`, `SetPagePrivate2`, `ClearPagePrivate2`, … */
    uname: 'Private2',
    /** Each page, head or tail, has its own bit. */
    policy: 'any',
  },
  /** Flag `PG_writeback` and its helpers. */
  writeback: {
    /** Bit `PG_writeback`. */
    bit: PG.writeback,
    /** Names `PageWriteback`, `SetPageWriteback`, `ClearPageWriteback`, … */
    uname: 'Writeback',
    /** Tail pages act on their head page. */
    policy: 'head',
  },
  /** Flag `PG_head` and its helpers. */
  head: {
    /** Bit `PG_head`. */
    bit: PG.head,
    /** Names `PageHead`, `SetPageHead`, `ClearPageHead`, … */
    uname: 'Head',
    /** Each page, head or tail, has its own bit. */
    policy: 'any',
  },
  /** Flag `PG_uptodate` and its helpers. */
  uptodate: {
    /** Bit `PG_uptodate`. */
    bit: PG.uptodate,
    /** Names `PageUptodate`, `SetPageUptodate`, `ClearPageUptodate`, … */
    uname: 'Uptodate',
    /** Tail pages act on their head page. */
    policy: 'head',
  },
  /** Flag `PG_reclaim` and its helpers. */
  reclaim: {
    /** Bit `PG_reclaim`. */
    bit: PG.reclaim,
    /** Names `PageReclaim`, `SetPageReclaim`, `ClearPageReclaim`, … */
    uname: 'Reclaim',
    /** Tail pages act on their head page. */
    policy: 'head',
  },
  /** Flag `PG_unevictable` and its helpers. */
  unevictable: {
    /** Bit `PG_unevictable`. */
    bit: PG.unevictable,
    /** Names `PageUnevictable`, `SetPageUnevictable`, `ClearPageUnevictable`, … */
    uname: 'Unevictable',
    /** Tail pages act on their head page. */
    policy: 'head',
  },
  /** Flag `PG_dropbehind` and its helpers. */
  dropbehind: {
    /** Bit `PG_dropbehind`. */
    bit: PG.dropbehind,
    /** Names `PageDropbehind`, `SetPageDropbehind`, `ClearPageDropbehind`, … */
    uname: 'Dropbehind',
    /** Tail pages act on their head page. */
    policy: 'head',
  },
  /** Flag `PG_mlocked` and its helpers. */
  mlocked: {
    /** Bit `PG_mlocked`. */
    bit: PG.mlocked,
    /** Names `PageMlocked`, `SetPageMlocked`, `ClearPageMlocked`, … */
    uname: 'Mlocked',
    /** Tail pages act on their head page. */
    policy: 'head',
  },
  /** Flag `PG_hwpoison` and its helpers. */
  hwpoison: {
    /** Bit `PG_hwpoison`. */
    bit: PG.hwpoison,
    /** Names `PageHWPoison`, `SetPageHWPoison`, `ClearPageHWPoison`, … */
    uname: 'HWPoison',
    /** Each page, head or tail, has its own bit. */
    policy: 'any',
  },
  /** Flag `PG_young` and its helpers. */
  young: {
    /** Bit `PG_young`. */
    bit: PG.young,
    /** Names `PageYoung`, `SetPageYoung`, `ClearPageYoung`, … */
    uname: 'Young',
    /** Each page, head or tail, has its own bit. */
    policy: 'any',
  },
  /** Flag `PG_idle` and its helpers. */
  idle: {
    /** Bit `PG_idle`. */
    bit: PG.idle,
    /** Names `PageIdle`, `SetPageIdle`, `ClearPageIdle`, … */
    uname: 'Idle',
    /** Each page, head or tail, has its own bit. */
    policy: 'any',
  },
  /** Flag `PG_anon_exclusive` and its helpers. */
  anon_exclusive: {
    /** Bit `PG_anon_exclusive`. */
    bit: PG.anon_exclusive,
    /** Names `PageAnonExclusive`, `SetPageAnonExclusive`, `ClearPageAnonExclusive`, … */
    uname: 'AnonExclusive',
    /** Each page, head or tail, has its own bit. */
    policy: 'any',
  },
  /** Flag `PG_large_rmappable` and its folio helpers. */
  large_rmappable: {
    /** Bit `PG_large_rmappable`. */
    bit: PG.large_rmappable,
    /** `null`: the kernel has folio helpers only. */
    uname: null,
    /** Stored on page 1 of a large folio. */
    policy: 'second',
  },
  /** Flag `PG_partially_mapped` and its folio helpers. */
  partially_mapped: {
    /** Bit `PG_partially_mapped`. */
    bit: PG.partially_mapped,
    /** `null`: the kernel has folio helpers only. */
    uname: null,
    /** Stored on page 1 of a large folio. */
    policy: 'second',
  },
  /** Flag `PG_has_hwpoisoned` and its folio helpers. */
  has_hwpoisoned: {
    /** Bit `PG_has_hwpoisoned`. */
    bit: PG.has_hwpoisoned,
    /** `null`: the kernel has folio helpers only. */
    uname: null,
    /** Stored on page 1 of a large folio. */
    policy: 'second',
  },
} as const satisfies Record<string, PageFlagDef>;

/** The type of {@link PAGEFLAG_TABLE}. */
export type PageFlagTable = typeof PAGEFLAG_TABLE;
/** The lower-case flag names of {@link PAGEFLAG_TABLE} (`lru`, `locked`, …), as in `folio_test_<name>`. */
export type Lname = keyof PageFlagTable & string;
/** The CamelCase flag names of {@link PAGEFLAG_TABLE} (`LRU`, `Locked`, …), as in `Page<Name>`. */
export type Uname = { [K in Lname]: PageFlagTable[K]['uname'] }[Lname] & string;

/** A flag test: `(m, folio) => boolean`. */
export type FolioFlagTest = (m: Machine, folio: Folio) => boolean;
/** A flag update: `(m, folio) => void`. */
export type FolioFlagOp = (m: Machine, folio: Folio) => void;
/** A page flag test: `(m, pfn) => boolean`. */
export type PageFlagTest = (m: Machine, pfn: Pfn) => boolean;
/** A page flag update: `(m, pfn) => void`. */
export type PageFlagOp = (m: Machine, pfn: Pfn) => void;

/** The generated helpers, typed by name (`folio_test_lru`, `__SetPageReserved`, …). */
export type PageFlagHelpers = {
  [K in Lname as `folio_test_${K}`]: FolioFlagTest;
} & { [K in Lname as `folio_set_${K}` | `__folio_set_${K}` | `folio_clear_${K}` | `__folio_clear_${K}`]: FolioFlagOp } & {
  [K in Lname as `folio_test_set_${K}` | `folio_test_clear_${K}`]: FolioFlagTest;
} & { [U in Uname as `Page${U}` | `TestSetPage${U}` | `TestClearPage${U}`]: PageFlagTest } & {
  [U in Uname as `SetPage${U}` | `__SetPage${U}` | `ClearPage${U}` | `__ClearPage${U}`]: PageFlagOp;
};

/** Resolve the page a policy acts on. */
function policyPage(m: Machine, pfn: number, policy: PageFlagPolicy): number {
  if (policy === 'any') return pfn;
  const w = m.memmap.lru[pfn]!;
  const head = (w & TAIL_BIT) !== 0 ? ptr_pfn(w) : pfn;
  return policy === 'head' ? head : head + 1;
}

function generate(): PageFlagHelpers {
  const out: Record<string, unknown> = {};
  for (const [lname, def] of Object.entries(PAGEFLAG_TABLE) as [Lname, PageFlagDef][]) {
    const mask = 1 << def.bit;
    const off = def.policy === 'second' ? 1 : 0;
    // Folio helpers take the folio (head) and act on page 0, or page 1 for PF_SECOND flags.
    const test = (m: Machine, f: number): boolean => (m.memmap.flags[f + off]! & mask) !== 0;
    const set = (m: Machine, f: number): void => {
      m.memmap.flags[f + off]! |= mask;
    };
    const clear = (m: Machine, f: number): void => {
      m.memmap.flags[f + off]! &= ~mask;
    };
    const testSet = (m: Machine, f: number): boolean => {
      const old = test(m, f);
      set(m, f);
      return old;
    };
    const testClear = (m: Machine, f: number): boolean => {
      const old = test(m, f);
      clear(m, f);
      return old;
    };
    out[`folio_test_${lname}`] = test;
    // The model is sequentially consistent: atomic and non-atomic (`__`) variants are the same.
    out[`folio_set_${lname}`] = out[`__folio_set_${lname}`] = set;
    out[`folio_clear_${lname}`] = out[`__folio_clear_${lname}`] = clear;
    out[`folio_test_set_${lname}`] = testSet;
    out[`folio_test_clear_${lname}`] = testClear;
    if (def.uname !== null) {
      const u = def.uname;
      const pol = def.policy;
      out[`Page${u}`] = (m: Machine, p: number): boolean => test(m, policyPage(m, p, pol));
      out[`SetPage${u}`] = out[`__SetPage${u}`] = (m: Machine, p: number): void => set(m, policyPage(m, p, pol));
      out[`ClearPage${u}`] = out[`__ClearPage${u}`] = (m: Machine, p: number): void => clear(m, policyPage(m, p, pol));
      out[`TestSetPage${u}`] = (m: Machine, p: number): boolean => testSet(m, policyPage(m, p, pol));
      out[`TestClearPage${u}`] = (m: Machine, p: number): boolean => testClear(m, policyPage(m, p, pol));
    }
  }
  return out as PageFlagHelpers;
}

/**
 * Every flag helper generated from {@link PAGEFLAG_TABLE}, keyed by its kernel name; each is also a
 * named export of `page/page-helpers.ts` (generated by `scripts/gen-page-helpers.ts`). Models the `FOLIO_FLAG`/`PAGEFLAG` macro families
 * of `include/linux/page-flags.h`; atomic and `__` non-atomic variants behave alike because the model
 * is sequentially consistent.
 */
export const pageflags: PageFlagHelpers = generate();


/**
 * `folio_test_swapcache`: PG_swapcache is PG_owner_priv_1 and only means "in the swap cache" together
 * with PG_swapbacked (`include/linux/page-flags.h`).
 */
export function folio_test_swapcache(m: Machine, folio: Folio): boolean {
  const f = m.memmap.flags[folio]!;
  return (f & (1 << PG.swapbacked)) !== 0 && (f & (1 << PG.swapcache)) !== 0;
}

/** `folio_set_swapcache` (`include/linux/page-flags.h`): set PG_swapcache (caller ensures swapbacked). */
export function folio_set_swapcache(m: Machine, folio: Folio): void {
  m.memmap.flags[folio]! |= 1 << PG.swapcache;
}

/** `folio_clear_swapcache` (`include/linux/page-flags.h`). */
export function folio_clear_swapcache(m: Machine, folio: Folio): void {
  m.memmap.flags[folio]! &= ~(1 << PG.swapcache);
}
