import type { Folio, Machine } from '@mm/core';
import { hugetlb_cgroup_charge_cgroup_rsvd, hugetlb_cgroup_uncharge_cgroup_rsvd, type HugetlbCgroup } from '../cgroup/hugetlb-cgroup.js';
import { page_counter_uncharge } from '../cgroup/page-counter.js';
import { folio_clear_hugetlb_restore_reserve, folio_set_hugetlb_restore_reserve, folio_test_hugetlb_restore_reserve } from '../folio/hugetlb-flags.js';
import { HPAGE_RESV_OWNER, VM_MAYSHARE, VM_NORESERVE, type HugetlbfsInode, type VmAreaStruct } from '../fs/types.js';
import { huge_page_order, huge_page_size, pages_per_huge_page, type Hstate } from '../hstate.js';
import { deferred } from '../internal/deferred.js';
import { hugetlb_acct_memory } from '../pool/surplus.js';
import { region_abort, region_add, region_chg, region_count, region_del, resv_map_alloc, type ResvMap } from './resv-map.js';
import { hugepage_subpool_get_pages, hugepage_subpool_put_pages } from './subpool.js';

/**
 * Reservations (`mm/hugetlb.c`): taken at mmap (`hugetlb_reserve_pages`), consumed at fault
 * (`vma_needs_reservation` / `vma_commit_reservation`), returned at truncate/hole punch
 * (`hugetlb_unreserve_pages`) and, for private mappings, at the VMA's close. See
 * kernel-semantics §4.3.
 *
 * @module
 */

/** `hstate_vma(vma)`. */
export function hstate_vma(vma: VmAreaStruct): Hstate {
  return vma.file.sb.hstate;
}

/** `vma_hugecache_offset(h, vma, address)`: the file's huge-page index mapped at `address`. */
export function vma_hugecache_offset(h: Hstate, vma: VmAreaStruct, address: number): number {
  return Math.floor((address - vma.vm_start) / huge_page_size(h)) + Math.floor(vma.vm_pgoff / pages_per_huge_page(h));
}

/** `vma_resv_map(vma)`: the inode's map for a shared mapping, the VMA's own map (or null) for a private one. */
export function vma_resv_map(vma: VmAreaStruct): ResvMap | null {
  return vma.vm_flags & VM_MAYSHARE ? vma.file.resv_map : vma.resv_map;
}

/** `is_vma_resv_set(vma, flag)`. */
export function is_vma_resv_set(vma: VmAreaStruct, flag: number): boolean {
  return (vma.resv_flags & flag) !== 0;
}

const VMA_NEEDS_RESV = 0;
const VMA_COMMIT_RESV = 1;
const VMA_END_RESV = 2;
const VMA_ADD_RESV = 3;
const VMA_DEL_RESV = 4;

/**
 * `__vma_reservation_common(h, vma, addr, mode)`: the one-page reservation-map operations. For a
 * private mapping the map's meaning is inverted (an entry = reservation consumed), and so is the
 * result: 1 means "no reservation exists here", 0 "a reservation exists". No map at all → 1.
 */
function vma_reservation_common(h: Hstate, vma: VmAreaStruct, addr: number, mode: number): number {
  const resv = vma_resv_map(vma);
  if (resv === null) return 1;
  const idx = vma_hugecache_offset(h, vma, addr);
  const shared = (vma.vm_flags & VM_MAYSHARE) !== 0;
  let ret: number;
  switch (mode) {
    case VMA_NEEDS_RESV:
      ret = region_chg(resv, idx, idx + 1);
      break;
    case VMA_COMMIT_RESV:
      ret = region_add(resv, idx, idx + 1, null, null);
      break;
    case VMA_END_RESV:
      region_abort(resv, idx, idx + 1);
      ret = 0;
      break;
    case VMA_ADD_RESV:
      if (shared) ret = region_add(resv, idx, idx + 1, null, null);
      else {
        region_abort(resv, idx, idx + 1);
        ret = region_del(resv, idx, idx + 1);
      }
      break;
    default:
      if (shared) {
        region_abort(resv, idx, idx + 1);
        ret = region_del(resv, idx, idx + 1);
      } else ret = region_add(resv, idx, idx + 1, null, null);
  }
  if (shared || mode === VMA_DEL_RESV) return ret;
  return ret > 0 ? 0 : 1;
}

/** `vma_needs_reservation(h, vma, addr)`: 1 if a fault at `addr` has no reservation, 0 if it has one. */
export function vma_needs_reservation(h: Hstate, vma: VmAreaStruct, addr: number): number {
  return vma_reservation_common(h, vma, addr, VMA_NEEDS_RESV);
}

/** `vma_commit_reservation(h, vma, addr)`: record the page in the map after allocating it. */
export function vma_commit_reservation(h: Hstate, vma: VmAreaStruct, addr: number): number {
  return vma_reservation_common(h, vma, addr, VMA_COMMIT_RESV);
}

/** `vma_end_reservation(h, vma, addr)`: the allocation did not happen. */
export function vma_end_reservation(h: Hstate, vma: VmAreaStruct, addr: number): void {
  vma_reservation_common(h, vma, addr, VMA_END_RESV);
}

/** `vma_add_reservation(h, vma, addr)`: put a reservation back into the map (error paths). */
export function vma_add_reservation(h: Hstate, vma: VmAreaStruct, addr: number): number {
  return vma_reservation_common(h, vma, addr, VMA_ADD_RESV);
}

/** `vma_del_reservation(h, vma, addr)`: remove an entry from the map (error paths). */
export function vma_del_reservation(h: Hstate, vma: VmAreaStruct, addr: number): number {
  return vma_reservation_common(h, vma, addr, VMA_DEL_RESV);
}

/**
 * `restore_reserve_on_error(h, vma, address, folio)`: a folio from `alloc_hugetlb_folio` is being freed
 * without being instantiated; make the reserve map agree with what `free_huge_folio` will do with the
 * global count.
 */
export function restore_reserve_on_error(m: Machine, h: Hstate, vma: VmAreaStruct, address: number, folio: Folio): void {
  const rc = vma_needs_reservation(h, vma, address);
  if (folio_test_hugetlb_restore_reserve(m, folio)) {
    if (rc < 0) folio_clear_hugetlb_restore_reserve(m, folio);
    else if (rc) vma_add_reservation(h, vma, address);
    else vma_end_reservation(h, vma, address);
  } else if (!rc) {
    if (vma_del_reservation(h, vma, address) < 0) folio_set_hugetlb_restore_reserve(m, folio);
  } else if (rc < 0) {
    if (!(vma.vm_flags & VM_MAYSHARE)) folio_set_hugetlb_restore_reserve(m, folio);
  } else {
    vma_end_reservation(h, vma, address);
  }
}

/**
 * `hugetlb_reserve_pages(inode, from, to, vma, vm_flags)`: reserve huge pages `[from, to)` of the file
 * for a new mapping. `VM_NORESERVE` reserves nothing. A shared mapping needs reservations for the pages
 * not yet in the inode's map (`region_chg`); a private one gets its own map and reserves the whole range
 * (`HPAGE_RESV_OWNER`). The count is charged to `cg`'s reservation counter, taken from the subpool, and
 * accounted globally (`hugetlb_acct_memory`, which may add surplus folios); shared mappings then record
 * the range in the inode's map with the cgroup. Returns true on success; on failure everything is
 * undone (the caller's mmap fails with `-ENOMEM`).
 */
export function hugetlb_reserve_pages(m: Machine, inode: HugetlbfsInode, from: number, to: number, vma: VmAreaStruct | null, vmFlags: number, cg: HugetlbCgroup): boolean {
  return deferred(m, 'hugetlb_reserve_pages', () => reservePages(m, inode, from, to, vma, vmFlags, cg));
}

function reservePages(m: Machine, inode: HugetlbfsInode, from: number, to: number, vma: VmAreaStruct | null, vmFlags: number, cg: HugetlbCgroup): boolean {
  const h = inode.sb.hstate;
  const spool = inode.sb.spool;
  if (from > to) return false;
  if (vmFlags & VM_NORESERVE) return true;
  const shared = vma === null || (vma.vm_flags & VM_MAYSHARE) !== 0;
  let resv: ResvMap;
  let chg: number;
  if (shared) {
    resv = inode.resv_map;
    chg = region_chg(resv, from, to);
  } else {
    resv = resv_map_alloc();
    chg = to - from;
    vma!.resv_map = resv;
    vma!.resv_flags |= HPAGE_RESV_OWNER;
  }
  const undoMap = (): void => {
    if (shared) region_abort(resv, from, to);
    else {
      vma!.resv_map = null;
      vma!.resv_flags &= ~HPAGE_RESV_OWNER;
    }
  };
  const nr = chg * pages_per_huge_page(h);
  if (hugetlb_cgroup_charge_cgroup_rsvd(cg, h.index, nr) < 0) {
    undoMap();
    return false;
  }
  if (!shared) {
    // resv_map_set_hugetlb_cgroup_uncharge_info(): a private map remembers the cgroup to uncharge at close.
    resv.reservation_cg = cg;
    resv.pages_per_hpage = pages_per_huge_page(h);
    resv.hstate_index = h.index;
  }
  const gbl = hugepage_subpool_get_pages(spool, chg);
  if (gbl < 0) {
    hugetlb_cgroup_uncharge_cgroup_rsvd(cg, h.index, nr);
    undoMap();
    return false;
  }
  if (hugetlb_acct_memory(m, h, gbl) < 0) {
    hugepage_subpool_put_pages(m, spool, chg);
    hugetlb_cgroup_uncharge_cgroup_rsvd(cg, h.index, nr);
    undoMap();
    return false;
  }
  if (shared) region_add(resv, from, to, h, cg);
  return true;
}

/**
 * `hugetlb_unreserve_pages(inode, start, end, freed)`: pages `[start, end)` of the file are gone
 * (`freed` of them were instantiated): delete the range from the inode's map (uncharging the cgroups
 * recorded on it) and give back `chg − freed` reservations through the subpool and
 * `hugetlb_acct_memory`. Returns 0.
 */
export function hugetlb_unreserve_pages(m: Machine, inode: HugetlbfsInode, start: number, end: number, freed: number): number {
  return deferred(m, 'hugetlb_unreserve_pages', () => unreservePages(m, inode, start, end, freed));
}

function unreservePages(m: Machine, inode: HugetlbfsInode, start: number, end: number, freed: number): number {
  const h = inode.sb.hstate;
  const chg = region_del(inode.resv_map, start, end);
  inode.i_blocks -= (huge_page_size(h) / 512) * freed;
  const gbl = hugepage_subpool_put_pages(m, inode.sb.spool, chg - freed);
  hugetlb_acct_memory(m, h, -gbl);
  return 0;
}

/**
 * `hugetlb_vm_op_close(vma)`: a private mapping's owner VMA goes away — its unconsumed reservations
 * (`size − region_count`) go back through the subpool and `hugetlb_acct_memory`, its cgroup
 * reservation charge for the whole range is dropped (`hugetlb_cgroup_uncharge_counter`), and its map is
 * released.
 */
export function hugetlb_vm_op_close(m: Machine, vma: VmAreaStruct): void {
  const resv = vma.resv_map;
  if (resv === null || !is_vma_resv_set(vma, HPAGE_RESV_OWNER)) return;
  const h = hstate_vma(vma);
  const start = vma_hugecache_offset(h, vma, vma.vm_start);
  const end = vma_hugecache_offset(h, vma, vma.vm_end);
  const reserve = end - start - region_count(resv, start, end);
  if (resv.reservation_cg !== null) {
    page_counter_uncharge(resv.reservation_cg.rsvd_hugepage[resv.hstate_index]!, (end - start) * resv.pages_per_hpage);
  }
  if (reserve) {
    const gbl = hugepage_subpool_put_pages(m, vma.file.sb.spool, reserve);
    hugetlb_acct_memory(m, h, -gbl);
  }
  region_del(resv, 0, Number.MAX_SAFE_INTEGER);
  vma.resv_map = null;
}

/** Huge-page index of `address` within the file, for a page-cache `folio->index` in base pages. */
export function hugetlbIndexToPgoff(h: Hstate, idx: number): number {
  return idx * 2 ** huge_page_order(h);
}
