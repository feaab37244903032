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

/** `enum migrate_reason`, with the kernel's order. */
export const MR = {
  MR_COMPACTION: 0,
  MR_MEMORY_FAILURE: 1,
  MR_MEMORY_HOTPLUG: 2,
  MR_SYSCALL: 3,
  MR_MEMPOLICY_MBIND: 4,
  MR_NUMA_MISPLACED: 5,
  MR_CONTIG_RANGE: 6,
  MR_LONGTERM_PIN: 7,
  MR_DEMOTION: 8,
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
