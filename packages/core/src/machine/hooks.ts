import type { Folio, Pfn } from '../types.js';

/**
 * Functions one subsystem provides for another, filled in at boot: the migration core provides
 * direct compaction to the allocator; `@mm/hugetlb` provides the hugetlb calls the migration core and
 * offlining make (`folio_isolate_hugetlb`, …). An unset hook means the subsystem is not installed.
 * Packages add hooks by declaration merging.
 */
export interface MachineHooks {
  /** Direct compaction from the allocator's slow path; true if it may have made a block of `order`. */
  direct_compact?: (gfp: number, order: number, nid: number) => boolean;
  /** `folio_isolate_hugetlb(folio, list)`: isolate an active hugetlb folio (true on success). */
  folio_isolate_hugetlb?: (folio: Folio) => boolean;
  /** `folio_putback_hugetlb(folio)`: return an isolated hugetlb folio to the active list and drop the isolation reference. */
  folio_putback_hugetlb?: (folio: Folio) => void;
  /** `dissolve_free_hugetlb_folio(folio)`: 0 or a negative errno. */
  dissolve_free_hugetlb_folio?: (folio: Folio) => number;
  /** `isolate_or_dissolve_huge_folio(folio)`: 0 or a negative errno. */
  isolate_or_dissolve_huge_folio?: (folio: Folio) => number;
  /** Allocate a hugetlb migration target for `src` (`alloc_hugetlb_folio_nodemask`), or -1. */
  alloc_hugetlb_migration_target?: (src: Folio, nid: number) => Folio | -1;
  /** `move_hugetlb_state(old, new, reason)`. */
  move_hugetlb_state?: (oldFolio: Folio, newFolio: Folio, reason: number) => void;
  /** Release a page the owner holds at refcount 0 (e.g. a PageOffline page) so that offlining can take it. */
  offline_release?: (page: Pfn) => boolean;
}
