/**
 * `@mm/hugetlb`: the hugetlb subsystem of the `@mm` model — hstates and their pools (kernel-semantics
 * §4), reservations, surplus pages, a minimal hugetlbfs, demotion, dissolving, migration hooks, hugetlb
 * cgroups and HVO accounting — whose folios are freed through `folio_owner_ops` (series 1, RFC v1
 * patches 6 and 10) or, under the `mainline` strategy, through the explicit hugetlb branch of
 * `__folio_put`.
 *
 * Boot a machine with {@link hugetlbPlugin}; reach its state with {@link hugetlbOf}.
 *
 * @packageDocumentation
 */

export { hugetlbPlugin, parseHugetlbParams, type HugetlbOptions, type ParsedHugetlbParams } from './plugin.js';
export { HugetlbState, HugetlbParams, hugetlbOf, type HugetlbBootParams, type LentFolio } from './state.js';
export {
  Hstate,
  HUGETLB_PAGE_ORDER,
  HUGETLB_PUD_ORDER,
  HUGE_MAX_HSTATE,
  available_huge_pages,
  folio_hstate,
  hstate_is_gigantic,
  huge_page_order,
  huge_page_shift,
  huge_page_size,
  mem_fmt,
  pages_per_huge_page,
  persistent_huge_pages,
  size_to_hstate,
} from './hstate.js';

export * from './folio/hugetlb-flags.js';
export {
  hugetlb_cgroup_from_folio,
  hugetlb_cgroup_from_folio_rsvd,
  hugetlb_folio_subpool,
  hugetlb_list_first,
  hugetlb_list_linked,
  hugetlb_list_next,
} from './folio/hugetlb-fields.js';
export { HugetlbOwnerOps, folio_clear_hugetlb_owner, folio_set_hugetlb_owner } from './folio/owner.js';

export { alloc_contig_pages, htlb_alloc_mask } from './pool/fresh.js';
export { free_huge_folio } from './pool/free-huge-folio.js';
export { alloc_hugetlb_folio, hugetlb_alloc_folio, MAP_CHG_ENFORCED, MAP_CHG_NEEDED, MAP_CHG_REUSE, type HugetlbAllocFolioOptions } from './pool/alloc.js';
export { hugetlb_acct_memory } from './pool/surplus.js';
export { set_max_huge_pages } from './pool/resize.js';
export { demote_pool_huge_page } from './pool/demote.js';
export { alloc_and_dissolve_hugetlb_folio, dissolve_free_hugetlb_folio, dissolve_free_hugetlb_folios, isolate_or_dissolve_huge_folio } from './pool/dissolve.js';
export {
  alloc_hugetlb_folio_nodemask,
  alloc_hugetlb_migration_target,
  folio_isolate_hugetlb,
  folio_putback_hugetlb,
  move_hugetlb_state,
} from './pool/migrate.js';
export { hugetlbLendFolio, hugetlbReturnFolio } from './pool/lend.js';
export {
  HUGETLB_VMEMMAP_RESERVE_PAGES,
  hugetlb_vmemmap_optimizable,
  hugetlb_vmemmap_optimizable_size,
  hugetlb_vmemmap_optimize_folio,
  hugetlb_vmemmap_restore_folio,
} from './pool/vmemmap.js';
export { node_states_memory, nodemask_of_node, type NodeMask } from './pool/nodes.js';

export { ResvMap, region_add, region_chg, region_count, region_del, type FileRegion } from './resv/resv-map.js';
export { HugepageSubpool, hugepage_new_subpool, hugepage_put_subpool, hugepage_subpool_get_pages, hugepage_subpool_put_pages } from './resv/subpool.js';
export { hugetlb_reserve_pages, hugetlb_unreserve_pages, vma_needs_reservation } from './resv/reserve.js';

export * from './fs/types.js';
export {
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  hugetlbfs_create,
  hugetlbfs_evict_inode,
  hugetlbfs_fallocate,
  hugetlbfs_mount,
  hugetlbfs_punch_hole,
  hugetlbfs_setattr,
  hugetlbfs_umount,
  hugetlbfs_unlink,
  type HugetlbfsMountOptions,
} from './fs/hugetlbfs.js';
export { copy_hugetlb_page_range, do_munmap, hugetlbAttachMm, hugetlbExitMm, hugetlbFork, hugetlbNewMm, hugetlbfs_file_mmap, type HugetlbMmapOptions } from './fs/mm.js';
export { FAULT_FLAG_WRITE, hugetlb_fault } from './fs/fault.js';

export { PAGE_COUNTER_MAX, PageCounter } from './cgroup/page-counter.js';
export {
  HUGETLB_MAX,
  HugetlbCgroup,
  hugetlbCgroupCreate,
  hugetlbCgroupFileNames,
  hugetlbCgroupLookup,
  hugetlbCgroupRead,
  hugetlbCgroupRmdir,
  hugetlbCgroupWrite,
  hugetlb_cgroup_css_offline,
} from './cgroup/hugetlb-cgroup.js';

export * from './sysfs/hstate-attrs.js';
export { kstrtoul } from './sysfs/parse.js';
export { HugetlbProcfs, hugetlbFiles, hugetlbSysfsRead, hugetlbSysfsWrite, hugetlb_report_meminfo } from './sysfs/procfs.js';
export { HugetlbInvariants } from './debug/invariants.js';
