/**
 * `@mm/zsmalloc`: an executable model of zsmalloc (`mm/zsmalloc.c`, `mm/zpdesc.h`,
 * `include/linux/zsmalloc.h`) on `@mm/core`: pools of size classes, zspages chained from order-0
 * pages through their struct page words, handles that survive object moves, object bytes that are
 * really stored, compaction, deferred freeing, and page migration through `zsmalloc_mops` with
 * PageZsmalloc sticky until the page is freed (series 2, v6.17).
 *
 * @packageDocumentation
 */

export { zsmallocPlugin, type ZsmallocPluginOptions } from './plugin.js';
export { ZsmallocState, ZsmallocConfig } from './zsmalloc-state.js';
export { ZsmallocMops, zsPageMigrateContended } from './zsmalloc-mops.js';
export { ZsmallocInvariants } from './invariants.js';
export { ZsmallocProcfs } from './procfs.js';
export { ZsPool, zs_create_pool, zs_destroy_pool, zsmallocState, type ZsPoolStats } from './zs-pool.js';
export { zs_malloc, NUMA_NO_NODE, zramGfp } from './zs-malloc.js';
export { zs_free, async_free_zspage } from './zs-free.js';
export { zs_obj_read_begin, zs_obj_read_end, zs_obj_write } from './obj-access.js';
export { zs_compact, zs_can_compact } from './compact.js';
export {
  zs_get_total_pages,
  zs_pool_stats,
  zs_lookup_class_index,
  zs_huge_class_size,
  zs_stats_size_show,
  zsPoolClassStats,
  type ZsClassStats,
  type ZsPoolClassStats,
} from './stats.js';
export {
  SizeClass,
  calculate_zspage_chain_size,
  get_size_class_index,
  can_merge,
  ZS_ALIGN,
  ZS_HANDLE_SIZE,
  OBJ_ALLOCATED_TAG,
  OBJ_TAG_BITS,
  OBJ_INDEX_BITS,
  OBJ_INDEX_MASK,
  MAX_POSSIBLE_PHYSMEM_BITS,
  _PFN_BITS,
  CONFIG_ZSMALLOC_CHAIN_SIZE,
  zsmallocChainSizeRange,
  ZS_MIN_ALLOC_SIZE,
  ZS_MAX_ALLOC_SIZE,
  CLASS_BITS,
  ZS_SIZE_CLASS_DELTA,
  ZS_SIZE_CLASSES,
  ZSPAGE_MAGIC,
  ZS_INUSE_RATIO_0,
  ZS_INUSE_RATIO_10,
  ZS_INUSE_RATIO_99,
  ZS_INUSE_RATIO_100,
  NR_FULLNESS_GROUPS,
  ZS_OBJS_ALLOCATED,
  ZS_OBJS_INUSE,
  NR_CLASS_STAT_TYPES,
} from './size-class.js';
export { get_fullness_group } from './fullness.js';
export { location_to_obj, obj_to_pfn, obj_to_idx, HandleTable } from './handle.js';
export { ZspageTable } from './zspage.js';
export { PageContents } from './page-contents.js';
export { get_zspage, get_next_zpdesc, get_first_obj_offset, is_first_zpdesc } from './zpdesc.js';
