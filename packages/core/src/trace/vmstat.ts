/**
 * Counters named as `/proc/vmstat` names them (`mm/vmstat.c` `vmstat_text[]`): per-zone stats
 * (`enum zone_stat_item`), per-node stats (`enum node_stat_item`) and global event counters
 * (`enum vm_event_item`). Only the items the model maintains are listed, in the kernel's order.
 *
 * @module
 */

/** Per-zone counters (`enum zone_stat_item`, `include/linux/mmzone.h`). */
export const ZONE_STAT_ITEMS = [
  'nr_free_pages',
  'nr_zone_inactive_anon',
  'nr_zone_active_anon',
  'nr_zone_inactive_file',
  'nr_zone_active_file',
  'nr_zone_unevictable',
  'nr_zone_write_pending',
  'nr_mlock',
  'nr_bounce',
  'nr_zspages',
  'nr_free_cma',
] as const;

/** Per-node counters (`enum node_stat_item`, `include/linux/mmzone.h`). */
export const NODE_STAT_ITEMS = [
  'nr_inactive_anon',
  'nr_active_anon',
  'nr_inactive_file',
  'nr_active_file',
  'nr_unevictable',
  'nr_isolated_anon',
  'nr_isolated_file',
  'nr_anon_pages',
  'nr_mapped',
  'nr_file_pages',
  'nr_shmem',
  'nr_swapcached',
  'nr_hugetlb',
  'nr_balloon_pages',
] as const;

/** Global event counters (`enum vm_event_item`, `include/linux/vm_event_item.h`). */
export const VM_EVENT_ITEMS = [
  'pgalloc_dma',
  'pgalloc_dma32',
  'pgalloc_normal',
  'pgalloc_movable',
  'pgalloc_device',
  'allocstall_dma',
  'allocstall_dma32',
  'allocstall_normal',
  'allocstall_movable',
  'pgfree',
  'pgactivate',
  'pgdeactivate',
  'pglazyfree',
  'pgfault',
  'pgmajfault',
  'pgmigrate_success',
  'pgmigrate_fail',
  'thp_migration_success',
  'thp_migration_fail',
  'thp_migration_split',
  'compact_migrate_scanned',
  'compact_free_scanned',
  'compact_isolated',
  'compact_stall',
  'compact_fail',
  'compact_success',
  'compact_daemon_wake',
  'compact_daemon_migrate_scanned',
  'compact_daemon_free_scanned',
  'htlb_buddy_alloc_success',
  'htlb_buddy_alloc_fail',
  'balloon_inflate',
  'balloon_deflate',
  'balloon_migrate',
] as const;

/** Name of a per-zone counter. */
export type ZoneStatItem = (typeof ZONE_STAT_ITEMS)[number];
/** Name of a per-node counter. */
export type NodeStatItem = (typeof NODE_STAT_ITEMS)[number];
/** Name of a global event counter. */
export type VmEventItem = (typeof VM_EVENT_ITEMS)[number];

/**
 * The slot of each counter named `T` in its counter array, i.e. the counter's position in the kernel's
 * enum (`NR_ZONE.nr_free_pages` is `NR_FREE_PAGES`). The names are the `/proc/vmstat` names listed in
 * {@link ZONE_STAT_ITEMS}, {@link NODE_STAT_ITEMS} and {@link VM_EVENT_ITEMS}.
 */
export type CounterIndex<T extends string> = { readonly [K in T]: number };

function indexOf<T extends string>(names: readonly T[]): CounterIndex<T> {
  const o: Record<string, number> = {};
  names.forEach((n, i) => (o[n] = i));
  return o as CounterIndex<T>;
}

/** Index of each per-zone counter in `Zone.vmstat`: `NR_ZONE.nr_free_pages`, … */
export const NR_ZONE: CounterIndex<ZoneStatItem> = indexOf(ZONE_STAT_ITEMS);
/** Index of each per-node counter in `PgData.vmstat`. */
export const NR_NODE: CounterIndex<NodeStatItem> = indexOf(NODE_STAT_ITEMS);
/** Index of each event counter in `Machine.vmEvents`. */
export const VM_EVENT: CounterIndex<VmEventItem> = indexOf(VM_EVENT_ITEMS);
