import type { Machine } from '../machine/machine.js';
import type { Pfn } from '../types.js';
import { pageblock_order } from '../types.js';

/**
 * Migratetypes (`enum migratetype`, `include/linux/mmzone.h`, with CONFIG_CMA and
 * CONFIG_MEMORY_ISOLATION) and pageblock flags (`include/linux/pageblock-flags.h`, 6.17: isolation
 * is a standalone bit, `PB_migrate_isolate`, so it no longer overwrites the block's migratetype).
 *
 * @module
 */

/** `MIGRATE_UNMOVABLE`. */
export const MIGRATE_UNMOVABLE = 0;
/** `MIGRATE_MOVABLE`. */
export const MIGRATE_MOVABLE = 1;
/** `MIGRATE_RECLAIMABLE`. */
export const MIGRATE_RECLAIMABLE = 2;
/** `MIGRATE_PCPTYPES`: the number of types with per-CPU lists. */
export const MIGRATE_PCPTYPES = 3;
/** `MIGRATE_HIGHATOMIC` (= MIGRATE_PCPTYPES). */
export const MIGRATE_HIGHATOMIC = 3;
/** `MIGRATE_CMA`. */
export const MIGRATE_CMA = 4;
/** `MIGRATE_ISOLATE`. */
export const MIGRATE_ISOLATE = 5;
/** `MIGRATE_TYPES`. */
export const MIGRATE_TYPES = 6;

/** Names as `/proc/pagetypeinfo` prints them (`migratetype_names[]`, `mm/vmstat.c`). */
export const MIGRATETYPE_NAMES: readonly string[] = ['Unmovable', 'Movable', 'Reclaimable', 'HighAtomic', 'CMA', 'Isolate'];

/** Bits 0–2 of a pageblock's flags byte: the migratetype. */
export const PB_MIGRATETYPE_MASK = 7;
/** `PB_compact_skip` (formerly PB_migrate_skip): compaction skips this block. */
export const PB_COMPACT_SKIP = 1 << 3;
/** `PB_migrate_isolate` (6.17): the block is isolated. */
export const PB_MIGRATE_ISOLATE = 1 << 4;

/**
 * `get_pfnblock_migratetype(page, pfn)` (`mm/page_alloc.c`): MIGRATE_ISOLATE if the block's isolate
 * bit is set, else its stored migratetype.
 */
export function get_pfnblock_migratetype(m: Machine, pfn: Pfn | number): number {
  const b = m.memmap.pageblock[pfn >>> pageblock_order]!;
  return (b & PB_MIGRATE_ISOLATE) !== 0 ? MIGRATE_ISOLATE : b & PB_MIGRATETYPE_MASK;
}

/** `get_pageblock_migratetype(page)`. */
export function get_pageblock_migratetype(m: Machine, pfn: Pfn): number {
  return get_pfnblock_migratetype(m, pfn);
}

/** `set_pageblock_migratetype(page, mt)` (`mm/page_alloc.c`): store a migratetype below MIGRATE_ISOLATE. */
export function set_pageblock_migratetype(m: Machine, pfn: Pfn | number, mt: number): void {
  const i = pfn >>> pageblock_order;
  m.memmap.pageblock[i] = (m.memmap.pageblock[i]! & ~PB_MIGRATETYPE_MASK) | mt;
}

/** `set_pageblock_isolate(page)` (6.17 `mm/page_alloc.c`). */
export function set_pageblock_isolate(m: Machine, pfn: Pfn | number): void {
  m.memmap.pageblock[pfn >>> pageblock_order]! |= PB_MIGRATE_ISOLATE;
}

/** `clear_pageblock_isolate(page)` (6.17 `mm/page_alloc.c`). */
export function clear_pageblock_isolate(m: Machine, pfn: Pfn | number): void {
  m.memmap.pageblock[pfn >>> pageblock_order]! &= ~PB_MIGRATE_ISOLATE;
}

/** `get_pageblock_isolate(page)`: the block's isolate bit. */
export function get_pageblock_isolate(m: Machine, pfn: Pfn | number): boolean {
  return (m.memmap.pageblock[pfn >>> pageblock_order]! & PB_MIGRATE_ISOLATE) !== 0;
}

/** `migratetype_is_mergeable(mt)` (`include/linux/mmzone.h`): below MIGRATE_PCPTYPES. */
export function migratetype_is_mergeable(mt: number): boolean {
  return mt < MIGRATE_PCPTYPES;
}

/** `is_migrate_isolate(mt)`. */
export function is_migrate_isolate(mt: number): boolean {
  return mt === MIGRATE_ISOLATE;
}

/** `is_migrate_movable(mt)`: MOVABLE or CMA. */
export function is_migrate_movable(mt: number): boolean {
  return mt === MIGRATE_MOVABLE || mt === MIGRATE_CMA;
}
