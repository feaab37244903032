/**
 * Migration modes, reasons and isolation modes (`include/linux/migrate_mode.h`,
 * `include/linux/mmzone.h`).
 *
 * @module
 */

/** `enum migrate_mode`. */
export const MIGRATE_MODE = {
  /** Never block. */
  MIGRATE_ASYNC: 0,
  /** May block on most locks, not on writeback. */
  MIGRATE_SYNC_LIGHT: 1,
  /** May block, waits for writeback. */
  MIGRATE_SYNC: 2,
} as const;

/** A `migrate_mode` value. */
export type MigrateMode = (typeof MIGRATE_MODE)[keyof typeof MIGRATE_MODE];

/**
 * `MIGRATEPAGE_UNMAP` (`mm/migrate.c`): `migrate_folio_unmap` unmapped the folio and paired it with a
 * destination; the move phase follows. (Success is 0: `MIGRATEPAGE_SUCCESS` was removed in 6.18.)
 */
export const MIGRATEPAGE_UNMAP = 1;

/** `enum migrate_reason`, with the kernel's order. */
export const MR = {
  /** Compaction (`compact_zone`). */
  MR_COMPACTION: 0,
  /** Soft-offlining a page with memory errors. */
  MR_MEMORY_FAILURE: 1,
  /** Memory offlining (`offline_pages`). */
  MR_MEMORY_HOTPLUG: 2,
  /** `migrate_pages(2)` / `move_pages(2)` and cpuset moves. */
  MR_SYSCALL: 3,
  /** `mbind(2)` with MPOL_MF_MOVE. */
  MR_MEMPOLICY_MBIND: 4,
  /** NUMA balancing. */
  MR_NUMA_MISPLACED: 5,
  /** `alloc_contig_range` (CMA, gigantic pages). */
  MR_CONTIG_RANGE: 6,
  /** Moving a page out of ZONE_MOVABLE/CMA before a long-term pin. */
  MR_LONGTERM_PIN: 7,
  /** Demotion to a slower memory tier. */
  MR_DEMOTION: 8,
  /** DAMON-driven migration. */
  MR_DAMON: 9,
} as const;

/** A `migrate_reason` value. */
export type MigrateReason = (typeof MR)[keyof typeof MR];

/** `isolate_mode_t` bits (`include/linux/mmzone.h`). */
export const ISOLATE = {
  /** `ISOLATE_ASYNC_MIGRATE`: isolate for asynchronous migration. */
  ISOLATE_ASYNC_MIGRATE: 0x4,
  /** `ISOLATE_UNEVICTABLE`: unevictable pages may be isolated too. */
  ISOLATE_UNEVICTABLE: 0x8,
} as const;

/** An `isolate_mode_t` value. */
export type IsolateMode = number;

/** Names of the migrate reasons as `/sys/kernel/tracing` prints them (`MIGRATE_REASON` in `include/trace/events/migrate.h`). */
export const MIGRATE_REASON_NAMES: readonly string[] = [
  'compaction',
  'memory_failure',
  'memory_hotplug',
  'syscall_or_cpuset',
  'mempolicy_mbind',
  'numa_misplaced',
  'contig_range',
  'longterm_pin',
  'demotion',
  'damon',
];
