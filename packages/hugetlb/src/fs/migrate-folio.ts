import { EAGAIN, folio_expected_ref_count, folio_migrate_flags, folio_nr_pages, folio_ref_freeze, folio_ref_unfreeze, type AddressSpace, type AddressSpaceOperations, type Folio, type Machine, type MigrateMode } from '@mm/core';
import { hugetlb_folio_subpool, hugetlb_set_folio_subpool } from '../folio/hugetlb-fields.js';
import { hugetlbOf } from '../state.js';

/**
 * hugetlbfs's `address_space_operations` for migration (`fs/hugetlbfs/inode.c`, `mm/migrate.c`):
 * the migration core calls `a_ops->migrate_folio` for a page-cache hugetlb folio once it is unmapped.
 *
 * @module
 */

/**
 * `migrate_huge_page_move_mapping(mapping, dst, src)`: require `refcount == expected + 1` (the page
 * cache's references, the mappings, and the isolation reference; else `-EAGAIN`), freeze the source,
 * give the destination its `index`, `mapping` and one page-cache reference per base page, store it in
 * the page cache, and unfreeze the source without those references. Returns 0 or `-EAGAIN`.
 */
export function migrate_huge_page_move_mapping(m: Machine, mapping: AddressSpace, dst: Folio, src: Folio): number {
  const expected = folio_expected_ref_count(m, src) + 1;
  if (m.memmap.refcount[src] !== expected || !folio_ref_freeze(m, src, expected)) return -EAGAIN;
  const nr = folio_nr_pages(m, src);
  m.memmap.index[dst] = m.memmap.index[src]!;
  m.memmap.mapping[dst] = m.memmap.mapping[src]!;
  m.memmap.refcount[dst]! += nr; // folio_ref_add(dst, folio_nr_pages(dst))
  const inode = hugetlbOf(m).inodeByMapping.get(mapping.id);
  if (inode !== undefined) {
    for (const [idx, f] of inode.pageCache) if (f === src) inode.pageCache.set(idx, dst); // xas_store
  }
  folio_ref_unfreeze(m, src, expected - nr);
  return 0;
}

/**
 * `hugetlbfs_migrate_folio(mapping, dst, src, mode)`: move the page-cache entry, then the subpool
 * pointer, then the page flags (`folio_migrate_flags`). 0 or `-EAGAIN`.
 */
export function hugetlbfs_migrate_folio(m: Machine, mapping: AddressSpace, dst: Folio, src: Folio, _mode: MigrateMode): number {
  const rc = migrate_huge_page_move_mapping(m, mapping, dst, src);
  if (rc !== 0) return rc;
  const spool = hugetlb_folio_subpool(m, src);
  if (spool !== 0) {
    hugetlb_set_folio_subpool(m, dst, spool);
    hugetlb_set_folio_subpool(m, src, 0);
  }
  folio_migrate_flags(m, dst, src);
  return 0;
}

/** `hugetlbfs_aops`: the `a_ops` of every hugetlbfs file's `address_space`. */
export const hugetlbfs_aops: AddressSpaceOperations = { migrate_folio: hugetlbfs_migrate_folio };
