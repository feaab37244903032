import { PG, folio_put, folio_put_refs, hugetlb_add_file_rmap, hugetlb_add_new_anon_rmap, hugetlb_remove_rmap, type Folio, type Machine } from '@mm/core';
import { folio_clear_hugetlb_restore_reserve } from '../folio/hugetlb-flags.js';
import { huge_page_size, pages_per_huge_page, type Hstate } from '../hstate.js';
import { hugetlbIndexToPgoff, hugetlb_vm_op_close } from '../resv/reserve.js';
import { HPAGE_RESV_UNMAPPED, type HugetlbfsInode, type VmAreaStruct } from './types.js';

/**
 * hugetlb rmap and page-cache primitives (`include/linux/rmap.h`, `mm/hugetlb.c`, `mm/filemap.c`):
 * a hugetlb folio is always mapped whole, so a mapping counts in `_entire_mapcount` and
 * `_large_mapcount` (page 1), and holds one folio reference; the page cache holds one reference per
 * base page (v6.7+, "mm/filemap: remove hugetlb special casing", index in base pages), matching
 * `folio_expected_ref_count`.
 *
 * @module
 */

/**
 * `hugetlb_add_new_anon_rmap(folio, vma, address)` (v6.14 form): the first mapping of a new private
 * folio — `restore_reserve` cleared (the reservation is consumed for good), then the core's rmap:
 * `mapping` = the process's anon_vma | FOLIO_MAPPING_ANON, `index` = the linear page index, mapcounts
 * 0 → 1, PageAnonExclusive on the head.
 */
export function hugetlbNewAnonRmap(m: Machine, folio: Folio, vma: VmAreaStruct, address: number): void {
  folio_clear_hugetlb_restore_reserve(m, folio);
  hugetlb_add_new_anon_rmap(m, folio, vma.mm.anon_vma, Math.floor((address - vma.vm_start) / 4096) + vma.vm_pgoff);
}

/**
 * `hugetlb_try_dup_anon_rmap(folio, vma)` (fork): the child maps the parent's private folio too —
 * AnonExclusive is cleared (the folio is now shared and must be CoW'd) and the mapcounts grow.
 */
export function hugetlb_try_dup_anon_rmap(m: Machine, folio: Folio): number {
  m.memmap.flags[folio]! &= ~(1 << PG.anon_exclusive);
  hugetlb_add_file_rmap(m, folio);
  return 0;
}

/**
 * `hugetlb_add_to_page_cache(folio, mapping, idx)`: insert a new folio into the file at huge-page index
 * `idx` — `mapping`/`index` set, one reference per base page, `restore_reserve` cleared (the
 * reservation now lives in the inode's map), dirty, `i_blocks` grows.
 */
export function hugetlb_add_to_page_cache(m: Machine, h: Hstate, folio: Folio, inode: HugetlbfsInode, idx: number): void {
  inode.pageCache.set(idx, folio);
  m.memmap.mapping[folio] = inode.i_mapping.ptr;
  m.memmap.index[folio] = hugetlbIndexToPgoff(h, idx);
  m.memmap.refcount[folio]! += pages_per_huge_page(h);
  folio_clear_hugetlb_restore_reserve(m, folio);
  m.memmap.flags[folio]! |= 1 << PG.dirty;
  inode.i_blocks += huge_page_size(h) / 512;
}

/**
 * `hugetlb_delete_from_page_cache(folio)` → `filemap_remove_folio`: out of the page cache, `mapping`
 * cleared, the page cache's references dropped (`folio_put_refs(folio, nr_pages)`), which frees the
 * folio if nothing else holds it.
 */
export function hugetlb_delete_from_page_cache(m: Machine, h: Hstate, inode: HugetlbfsInode, idx: number): void {
  const folio = inode.pageCache.get(idx)!;
  inode.pageCache.delete(idx);
  m.memmap.mapping[folio] = 0;
  folio_put_refs(m, folio, pages_per_huge_page(h));
}

/**
 * `__unmap_hugepage_range(tlb, vma, start, end, ref_folio, zap_flags)`: clear the page-table entries of
 * `[start, end)`: each mapped folio loses a mapping and the reference it held (the kernel batches the
 * puts in the mmu_gather; the model puts at once), the process's `hugetlb_usage` shrinks. With
 * `refFolio`, only that folio is unmapped and the VMA is marked `HPAGE_RESV_UNMAPPED` (its later
 * faults there get SIGBUS).
 */
export function __unmap_hugepage_range(m: Machine, vma: VmAreaStruct, start: number, end: number, refFolio: Folio | -1): void {
  const h = vma.file.sb.hstate;
  const size = huge_page_size(h);
  const first = Math.max(0, Math.floor((start - vma.vm_start) / size));
  const last = Math.min(vma.ptes.length, Math.ceil((end - vma.vm_start) / size));
  for (let i = first; i < last; i++) {
    const folio = vma.ptes[i]!;
    if (folio < 0) continue;
    if (refFolio >= 0) {
      if (folio !== refFolio) continue;
      vma.resv_flags |= HPAGE_RESV_UNMAPPED;
    }
    vma.ptes[i] = -1;
    vma.pteWrite[i] = 0;
    vma.mm.hugetlb_usage -= pages_per_huge_page(h);
    hugetlb_remove_rmap(m, folio as Folio);
    folio_put(m, folio as Folio);
    if (refFolio >= 0) break;
  }
}

/**
 * `hugetlb_vmdelete_list(root, start, end, zap_flags)`: unmap base-page offsets `[start, end)` of the
 * file (end 0: to the end) from every VMA mapping it, shared or private (private CoW copies included).
 */
export function hugetlb_vmdelete_list(m: Machine, inode: HugetlbfsInode, start: number, end: number): void {
  for (const vma of inode.i_mmap) {
    const vStart = vma.vm_pgoff < start ? (start - vma.vm_pgoff) * 4096 : 0;
    let vEnd = end === 0 ? vma.vm_end : (end - vma.vm_pgoff) * 4096 + vma.vm_start;
    if (vEnd > vma.vm_end) vEnd = vma.vm_end;
    if (vma.vm_start + vStart < vEnd) __unmap_hugepage_range(m, vma, vma.vm_start + vStart, vEnd, -1);
  }
}

/**
 * The hugetlb part of `munmap` of a whole VMA (`unmap_vmas` → `__unmap_hugepage_range_final`, then
 * `remove_vma` → `hugetlb_vm_op_close`): zap every entry, then return a private owner's unconsumed
 * reservations; the VMA leaves its process and file, and an unlinked, unmapped file is evicted.
 */
export function hugetlbUnmapVma(m: Machine, vma: VmAreaStruct, evict: (inode: HugetlbfsInode) => void): void {
  __unmap_hugepage_range(m, vma, vma.vm_start, vma.vm_end, -1);
  hugetlb_vm_op_close(m, vma);
  vma.live = false;
  vma.mm.vmas.delete(vma);
  vma.file.i_mmap.delete(vma);
  if (!vma.file.linked && vma.file.i_mmap.size === 0 && !vma.file.evicted) evict(vma.file);
}
