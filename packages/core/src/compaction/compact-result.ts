/**
 * Compaction results and priorities (`include/linux/compaction.h`).
 *
 * @module
 */

/** `enum compact_result`, in the kernel's order (higher is "more successful" for `max()`). */
export const COMPACT = {
  /** The zone cannot be compacted for this allocation (fragmentation index says: lack of memory). */
  COMPACT_NOT_SUITABLE_ZONE: 0,
  /** Compaction did not start: not enough free pages (or not allowed). */
  COMPACT_SKIPPED: 1,
  /** Compaction was deferred after recent failures. */
  COMPACT_DEFERRED: 2,
  /** Internal to `__compact_finished`: no page of the order yet. */
  COMPACT_NO_SUITABLE_PAGE: 3,
  /** Keep going. */
  COMPACT_CONTINUE: 4,
  /** The scanners met after scanning the whole zone. */
  COMPACT_COMPLETE: 5,
  /** The scanners met, but not over the whole zone (cached positions were used). */
  COMPACT_PARTIAL_SKIPPED: 6,
  /** Aborted: lock contention, a signal, or no memory for migration targets. */
  COMPACT_CONTENDED: 7,
  /** A page of the requested order is available (or the fragmentation goal was met). */
  COMPACT_SUCCESS: 8,
} as const;

/** A `compact_result` value. */
export type CompactResult = (typeof COMPACT)[keyof typeof COMPACT];

/** `enum compact_priority`: how hard direct compaction tries (lower is harder). */
export const COMPACT_PRIO = {
  /** `COMPACT_PRIO_SYNC_FULL` (= MIN_COMPACT_PRIORITY): synchronous, whole zone, ignoring skip hints. */
  COMPACT_PRIO_SYNC_FULL: 0,
  /** `COMPACT_PRIO_SYNC_LIGHT` (= MIN_COMPACT_COSTLY_PRIORITY = DEF_COMPACT_PRIORITY). */
  COMPACT_PRIO_SYNC_LIGHT: 1,
  /** `COMPACT_PRIO_ASYNC` (= INIT_COMPACT_PRIORITY). */
  COMPACT_PRIO_ASYNC: 2,
} as const;

/** `MIN_COMPACT_PRIORITY`. */
export const MIN_COMPACT_PRIORITY = COMPACT_PRIO.COMPACT_PRIO_SYNC_FULL;
/** `DEF_COMPACT_PRIORITY`. */
export const DEF_COMPACT_PRIORITY = COMPACT_PRIO.COMPACT_PRIO_SYNC_LIGHT;
/** `INIT_COMPACT_PRIORITY`. */
export const INIT_COMPACT_PRIORITY = COMPACT_PRIO.COMPACT_PRIO_ASYNC;

/** `COMPACT_CLUSTER_MAX` (= `SWAP_CLUSTER_MAX`): pages isolated per migration batch. */
export const COMPACT_CLUSTER_MAX = 32;
/** `COMPACT_MAX_DEFER_SHIFT`: compaction is skipped at most `1 << 6` times after failures. */
export const COMPACT_MAX_DEFER_SHIFT = 6;
/** `sysctl_extfrag_threshold` default (`vm.extfrag_threshold`). */
export const SYSCTL_EXTFRAG_THRESHOLD = 500;
/** `sysctl_compact_unevictable_allowed` default (CONFIG_COMPACT_UNEVICTABLE_DEFAULT, 1 without PREEMPT_RT). */
export const SYSCTL_COMPACT_UNEVICTABLE_ALLOWED = 1;
