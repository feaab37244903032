import type { MemoryNotify } from '../hotplug/memory-notify.js';
import type { Folio, Pfn } from '../types.js';

/**
 * Functions one subsystem provides for another, filled in at boot: the migration core provides
 * direct compaction to the allocator; `@mm/hugetlb` provides the hugetlb calls the migration core and
 * offlining make (`folio_isolate_hugetlb`, …). An unset hook means the subsystem is not installed.
 * Packages add hooks by declaration merging.
 */
export interface MachineHooks {
  /**
   * Direct compaction from the allocator's slow path (installed by the migration core at boot:
   * `directCompactHook`); true if the allocation that follows will find a block of `order`.
   */
  direct_compact?: (gfp: number, order: number, nid: number) => boolean;
  /**
   * `folio_isolate_hugetlb(folio, list)`: isolate an active hugetlb folio (true on success): fail
   * unless it is hugetlb, migratable and `folio_try_get` succeeds; clear `migratable`; take it off the
   * active list and clear its owner ops, so that its `lru` word is 0 — the migration core then links it
   * on the caller's list through that word (`list_add`).
   */
  folio_isolate_hugetlb?: (folio: Folio) => boolean;
  /**
   * `folio_putback_hugetlb(folio)`: return an isolated hugetlb folio (already unlinked from the
   * migration list by the core: `lru` word 0) to the active list, set `migratable` and its owner ops
   * again, and drop the isolation reference with `folio_put` (which frees it if that was the last).
   */
  folio_putback_hugetlb?: (folio: Folio) => void;
  /**
   * `dissolve_free_hugetlb_folio(folio)` (memory offlining): 0 if the folio is not hugetlb (any more)
   * or was free and is now back in the buddy allocator; `-EBUSY` if it is in use or cannot be
   * dissolved.
   */
  dissolve_free_hugetlb_folio?: (folio: Folio) => number;
  /** `isolate_or_dissolve_huge_folio(folio)`: 0 or a negative errno. */
  isolate_or_dissolve_huge_folio?: (folio: Folio) => number;
  /**
   * Allocate a hugetlb migration target of `src`'s size on `nid` (`alloc_hugetlb_folio_nodemask`),
   * refcount 1, or -1. Called by `alloc_migration_target`.
   */
  alloc_hugetlb_migration_target?: (src: Folio, nid: number) => Folio | -1;
  /**
   * `move_hugetlb_state(old, new, reason)`: after a successful migration, set `migratable` on `new`
   * and make it active; move temporary/surplus state and the hugetlb cgroup charge from old to new.
   * The core then puts `old` back (`folio_putback_hugetlb`, which frees it) and drops its own
   * reference on `new` (`folio_put`).
   */
  move_hugetlb_state?: (oldFolio: Folio, newFolio: Folio, reason: number) => void;
  /**
   * Release a page the owner holds at refcount 0 (e.g. a PageOffline page) so that offlining can take
   * it: `offline_pages` calls it during MEM_GOING_OFFLINE for each PageOffline page of the range that
   * still has references and no movable_ops; true if the owner dropped its reference (the page is now
   * PageOffline with refcount 0). An owner that must take the page back when offlining is cancelled
   * uses {@link MachineHooks.memory_notify} instead.
   */
  offline_release?: (page: Pfn) => boolean;
  /**
   * The memory notifier chain (`memory_notify(action, arg)`, `drivers/base/memory.c`): called by
   * `offline_pages` with `MEM_GOING_OFFLINE`, then `MEM_OFFLINE` or `MEM_CANCEL_OFFLINE`. Returns 0 or
   * a negative errno (`notifier_to_errno`); a failing MEM_GOING_OFFLINE cancels the offlining. One
   * function: a package that needs several listeners chains them itself.
   */
  memory_notify?: (action: number, arg: MemoryNotify) => number;
  /** `hugetlb_folio_subpool(folio) != NULL`: the hugetlb folio is charged to a hugetlbfs subpool (migration refuses such a folio without a mapping). */
  hugetlb_folio_subpool?: (folio: Folio) => boolean;
}
