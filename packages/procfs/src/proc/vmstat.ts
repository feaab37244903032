import type { Machine, Zone } from '@mm/core';
import { freePagesBlocks, globalNodeStat, nodeStat, nodeZones, vmEvent, zoneStat } from '../internal/stats.js';

/**
 * `/proc/vmstat` (`mm/vmstat.c` `vmstat_text[]`, `vmstat_start`, `vmstat_show`) for v6.18 on x86-64
 * with the configuration of `meminfo-fields.ts` (ZONE_DMA, ZONE_DMA32, ZONE_DEVICE, NUMA,
 * NUMA_BALANCING, ZSMALLOC, CMA, MIGRATION, COMPACTION, HUGETLB_PAGE, TRANSPARENT_HUGEPAGE,
 * MEMORY_BALLOON with BALLOON_COMPACTION, SWAP, KSM, ZSWAP, IOMMU_SUPPORT). Every name the kernel
 * prints is printed; a counter the model does not keep prints 0. Items the model keeps that v6.18 no
 * longer prints (`nr_bounce`) are left out.
 *
 * @module
 */

/** `enum zone_stat_item` names. */
export const ZONE_STAT_TEXT: readonly string[] = [
  'nr_free_pages',
  'nr_free_pages_blocks',
  'nr_zone_inactive_anon',
  'nr_zone_active_anon',
  'nr_zone_inactive_file',
  'nr_zone_active_file',
  'nr_zone_unevictable',
  'nr_zone_write_pending',
  'nr_mlock',
  'nr_zspages',
  'nr_free_cma',
];

/** `enum numa_stat_item` names (the model keeps no NUMA allocation statistics: all 0). */
export const NUMA_STAT_TEXT: readonly string[] = ['numa_hit', 'numa_miss', 'numa_foreign', 'numa_interleave', 'numa_local', 'numa_other'];

/** `enum node_stat_item` names. */
export const NODE_STAT_TEXT: readonly string[] = [
  'nr_inactive_anon',
  'nr_active_anon',
  'nr_inactive_file',
  'nr_active_file',
  'nr_unevictable',
  'nr_slab_reclaimable',
  'nr_slab_unreclaimable',
  'nr_isolated_anon',
  'nr_isolated_file',
  'workingset_nodes',
  'workingset_refault_anon',
  'workingset_refault_file',
  'workingset_activate_anon',
  'workingset_activate_file',
  'workingset_restore_anon',
  'workingset_restore_file',
  'workingset_nodereclaim',
  'nr_anon_pages',
  'nr_mapped',
  'nr_file_pages',
  'nr_dirty',
  'nr_writeback',
  'nr_shmem',
  'nr_shmem_hugepages',
  'nr_shmem_pmdmapped',
  'nr_file_hugepages',
  'nr_file_pmdmapped',
  'nr_anon_transparent_hugepages',
  'nr_vmscan_write',
  'nr_vmscan_immediate_reclaim',
  'nr_dirtied',
  'nr_written',
  'nr_throttled_written',
  'nr_kernel_misc_reclaimable',
  'nr_foll_pin_acquired',
  'nr_foll_pin_released',
  'nr_kernel_stack',
  'nr_page_table_pages',
  'nr_sec_page_table_pages',
  'nr_iommu_pages',
  'nr_swapcached',
  'pgpromote_success',
  'pgpromote_candidate',
  'pgpromote_candidate_nrl',
  'pgdemote_kswapd',
  'pgdemote_direct',
  'pgdemote_khugepaged',
  'pgdemote_proactive',
  'nr_hugetlb',
  'nr_balloon_pages',
  'nr_kernel_file_pages',
];

/** Node items printed in units of PMD-sized THPs (`vmstat_item_print_in_thp`). */
const PRINT_IN_THP = new Set(['nr_shmem_hugepages', 'nr_shmem_pmdmapped', 'nr_file_hugepages', 'nr_file_pmdmapped', 'nr_anon_transparent_hugepages']);

/** `enum vm_stat_item` names (global, computed at read time; the model computes none: all 0). */
export const VM_STAT_TEXT: readonly string[] = ['nr_dirty_threshold', 'nr_dirty_background_threshold', 'nr_memmap_pages', 'nr_memmap_boot_pages'];

const zones5 = (p: string): string[] => ['dma', 'dma32', 'normal', 'movable', 'device'].map((z) => `${p}_${z}`);

/** `enum vm_event_item` names. */
export const VM_EVENT_TEXT: readonly string[] = [
  'pgpgin',
  'pgpgout',
  'pswpin',
  'pswpout',
  ...zones5('pgalloc'),
  ...zones5('allocstall'),
  ...zones5('pgskip'),
  'pgfree',
  'pgactivate',
  'pgdeactivate',
  'pglazyfree',
  'pgfault',
  'pgmajfault',
  'pglazyfreed',
  'pgrefill',
  'pgreuse',
  'pgsteal_kswapd',
  'pgsteal_direct',
  'pgsteal_khugepaged',
  'pgsteal_proactive',
  'pgscan_kswapd',
  'pgscan_direct',
  'pgscan_khugepaged',
  'pgscan_proactive',
  'pgscan_direct_throttle',
  'pgscan_anon',
  'pgscan_file',
  'pgsteal_anon',
  'pgsteal_file',
  'zone_reclaim_success',
  'zone_reclaim_failed',
  'pginodesteal',
  'slabs_scanned',
  'kswapd_inodesteal',
  'kswapd_low_wmark_hit_quickly',
  'kswapd_high_wmark_hit_quickly',
  'pageoutrun',
  'pgrotated',
  'drop_pagecache',
  'drop_slab',
  'oom_kill',
  'numa_pte_updates',
  'numa_huge_pte_updates',
  'numa_hint_faults',
  'numa_hint_faults_local',
  'numa_pages_migrated',
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
  'cma_alloc_success',
  'cma_alloc_fail',
  'unevictable_pgs_culled',
  'unevictable_pgs_scanned',
  'unevictable_pgs_rescued',
  'unevictable_pgs_mlocked',
  'unevictable_pgs_munlocked',
  'unevictable_pgs_cleared',
  'unevictable_pgs_stranded',
  'thp_fault_alloc',
  'thp_fault_fallback',
  'thp_fault_fallback_charge',
  'thp_collapse_alloc',
  'thp_collapse_alloc_failed',
  'thp_file_alloc',
  'thp_file_fallback',
  'thp_file_fallback_charge',
  'thp_file_mapped',
  'thp_split_page',
  'thp_split_page_failed',
  'thp_deferred_split_page',
  'thp_underused_split_page',
  'thp_split_pmd',
  'thp_scan_exceed_none_pte',
  'thp_scan_exceed_swap_pte',
  'thp_scan_exceed_share_pte',
  'thp_split_pud',
  'thp_zero_page_alloc',
  'thp_zero_page_alloc_failed',
  'thp_swpout',
  'thp_swpout_fallback',
  'balloon_inflate',
  'balloon_deflate',
  'balloon_migrate',
  'swap_ra',
  'swap_ra_hit',
  'swpin_zero',
  'swpout_zero',
  'ksm_swpin_copy',
  'cow_ksm',
  'zswpin',
  'zswpout',
  'zswpwb',
  'direct_map_level2_splits',
  'direct_map_level3_splits',
  'direct_map_level2_collapses',
  'direct_map_level3_collapses',
];

/** `zone_page_state(zone, item)` for a zoneinfo/vmstat zone item (NR_FREE_PAGES_BLOCKS from the free lists). */
export function zoneItem(z: Zone | undefined, name: string): number {
  return name === 'nr_free_pages_blocks' ? freePagesBlocks(z) : zoneStat(z, name);
}

/** A node item as zoneinfo and vmstat print it (THP items in units of 512 pages). */
export function nodeItem(m: Machine, nid: number | null, name: string): number {
  const v = nid === null ? globalNodeStat(m, name) : nodeStat(m, nid, name);
  return PRINT_IN_THP.has(name) ? Math.floor(v / 512) : v;
}

/** Every `/proc/vmstat` value by name, in the kernel's order (`vmstat_start`). */
export function vmstatValues(m: Machine): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of ZONE_STAT_TEXT) {
    let s = 0;
    for (let nid = 0; nid < m.nodes.length; nid++) for (const z of nodeZones(m, nid)) s += zoneItem(z, n);
    out.set(n, s);
  }
  for (const n of NUMA_STAT_TEXT) out.set(n, 0);
  for (const n of NODE_STAT_TEXT) out.set(n, nodeItem(m, null, n));
  for (const n of VM_STAT_TEXT) out.set(n, 0);
  for (const n of VM_EVENT_TEXT) {
    const v = vmEvent(m, n);
    out.set(n, n === 'pgpgin' || n === 'pgpgout' ? Math.floor(v / 2) : v); // sectors → kB
  }
  return out;
}

/**
 * `vmstat_start()` + `vmstat_show()` (`mm/vmstat.c`): the text of `/proc/vmstat`, `name value` per
 * line, followed by the deprecated `nr_unstable 0`.
 */
export function vmstat_show(m: Machine): string {
  let out = '';
  for (const [n, v] of vmstatValues(m)) out += `${n} ${v}\n`;
  return out + 'nr_unstable 0\n';
}
