import { EINVAL, ENOMEM, ENOSPC, MmError, NR_NODE, folio_nid, folio_ref_unfreeze, type Folio, type Machine } from '@mm/core';
import {
  hugetlb_cgroup_charge_cgroup,
  hugetlb_cgroup_charge_cgroup_rsvd,
  hugetlb_cgroup_commit_charge,
  hugetlb_cgroup_commit_charge_rsvd,
  hugetlb_cgroup_uncharge_cgroup,
  hugetlb_cgroup_uncharge_cgroup_rsvd,
  hugetlb_cgroup_uncharge_folio_rsvd,
  type HugetlbCgroup,
} from '../cgroup/hugetlb-cgroup.js';
import { folio_set_hugetlb_restore_reserve } from '../folio/hugetlb-flags.js';
import { hugetlb_list_add, hugetlb_set_folio_subpool } from '../folio/hugetlb-fields.js';
import type { VmAreaStruct } from '../fs/types.js';
import { available_huge_pages, pages_per_huge_page, type Hstate } from '../hstate.js';
import { hstate_vma, vma_commit_reservation, vma_end_reservation, vma_needs_reservation } from '../resv/reserve.js';
import { hugepage_subpool_get_pages, hugepage_subpool_put_pages, type HugepageSubpool } from '../resv/subpool.js';
import { deferred } from '../internal/deferred.js';
import { htlb_alloc_mask } from './fresh.js';
import { dequeue_hugetlb_folio_nodemask } from './queue.js';
import { alloc_surplus_hugetlb_folio, hugetlb_acct_memory } from './surplus.js';

/**
 * Allocating a hugetlb folio for use (`mm/hugetlb.c`, v6.14): from a fault (`alloc_hugetlb_folio`,
 * kernel-semantics §4.3) or, for another owner such as guest_memfd, without a VMA
 * (`hugetlb_alloc_folio`, as in the guest_memfd HugeTLB series).
 *
 * @module
 */

/** `map_chg_state` (v6.14): whether the VMA's reservation map has a reservation for the page. */
export const MAP_CHG_REUSE = 0;
/** The page needs a new reservation. */
export const MAP_CHG_NEEDED = 1;
/** CoW by the owner of a private mapping: never use the per-VMA reservation. */
export const MAP_CHG_ENFORCED = 2;

/**
 * `dequeue_hugetlb_folio_vma(h, vma, address, gbl_chg)`: a free folio from the pool, preferring the
 * current CPU's node (default mempolicy). With `gbl_chg` (no reservation) only unreserved free folios
 * may be taken.
 */
export function dequeue_hugetlb_folio_vma(m: Machine, h: Hstate, _vma: VmAreaStruct, _address: number, gblChg: number): Folio | -1 {
  if (gblChg && !(available_huge_pages(h) > 0)) return -1;
  return dequeue_hugetlb_folio_nodemask(m, h, htlb_alloc_mask(h), m.numa_node_id(), null);
}

/** `alloc_buddy_hugetlb_folio_with_mpol(h, vma, addr)`: a surplus folio on the current node (default mempolicy). */
export function alloc_buddy_hugetlb_folio_with_mpol(m: Machine, h: Hstate, _vma: VmAreaStruct, _addr: number): Folio | -1 {
  return alloc_surplus_hugetlb_folio(m, h, htlb_alloc_mask(h), m.numa_node_id());
}

/**
 * `alloc_hugetlb_folio(vma, addr, cow_from_owner)` (v6.14): allocate the folio a fault at `addr` needs.
 *
 * 1. `map_chg`: ENFORCED for a CoW by the owner of a private mapping, else from
 *    `vma_needs_reservation` (NEEDED = no reservation, REUSE = use it).
 * 2. Without a reservation: take a page from the subpool (`-ENOSPC` over its size) and charge the
 *    cgroup's reservation counter.
 * 3. Always charge the fault counter (`-ENOSPC` after unwinding if a limit is hit; the cgroup counts a
 *    `max` event).
 * 4. Dequeue a free folio (only unreserved ones if no reservation covers this page), else allocate a
 *    surplus folio from the buddy allocator; it goes on the active list at refcount 1.
 * 5. If a reservation was consumed: `restore_reserve` and `resv_huge_pages--`.
 * 6. Commit the cgroup charges, set the subpool, commit the reservation map, count NR_HUGETLB.
 *
 * Returns the folio (refcount 1) or a negative errno (`-ENOSPC`, `-ENOMEM`).
 */
export function alloc_hugetlb_folio(m: Machine, vma: VmAreaStruct, addr: number, cowFromOwner: boolean): Folio | number {
  if (m.debugVm) return m.withChecksDeferred('alloc_hugetlb_folio', () => allocHugetlbFolio(m, vma, addr, cowFromOwner));
  return allocHugetlbFolio(m, vma, addr, cowFromOwner);
}

function allocHugetlbFolio(m: Machine, vma: VmAreaStruct, addr: number, cowFromOwner: boolean): Folio | number {
  const h = hstate_vma(vma);
  const spool = vma.file.sb.spool;
  const cg = vma.mm.cgroup;
  const idx = h.index;
  const nr = pages_per_huge_page(h);
  let mapChg: number;
  if (cowFromOwner) mapChg = MAP_CHG_ENFORCED;
  else {
    const retval = vma_needs_reservation(h, vma, addr);
    if (retval < 0) return -ENOMEM;
    mapChg = retval ? MAP_CHG_NEEDED : MAP_CHG_REUSE;
  }
  let gblChg = 0;
  if (mapChg) {
    gblChg = hugepage_subpool_get_pages(spool, 1);
    if (gblChg < 0) return allocFail(m, vma, addr, mapChg, FAIL_END_RESERVATION);
  }
  if (mapChg && hugetlb_cgroup_charge_cgroup_rsvd(cg, idx, nr) < 0) return allocFail(m, vma, addr, mapChg, FAIL_SUBPOOL_PUT);
  if (hugetlb_cgroup_charge_cgroup(cg, idx, nr) < 0) return allocFail(m, vma, addr, mapChg, FAIL_UNCHARGE_RSVD);

  let got = dequeue_hugetlb_folio_vma(m, h, vma, addr, gblChg);
  if (got < 0) {
    got = alloc_buddy_hugetlb_folio_with_mpol(m, h, vma, addr);
    if (got < 0) return allocFail(m, vma, addr, mapChg, FAIL_UNCHARGE);
    hugetlb_list_add(m, h.hugepage_activelist, 0, got as Folio);
    folio_ref_unfreeze(m, got as Folio, 1);
  }
  const folio = got as Folio;
  if (!gblChg) {
    folio_set_hugetlb_restore_reserve(m, folio);
    h.resv_huge_pages--;
  }
  hugetlb_cgroup_commit_charge(m, cg, folio);
  if (mapChg) hugetlb_cgroup_commit_charge_rsvd(m, cg, folio);
  hugetlb_set_folio_subpool(m, folio, spool ? spool.id : 0);
  if (mapChg !== MAP_CHG_ENFORCED) {
    const retval = vma_commit_reservation(h, vma, addr);
    if (mapChg === MAP_CHG_NEEDED && retval === 0) {
      // The page entered the map between needs and commit (a racing reservation): undo the extra one.
      const rsvAdjust = hugepage_subpool_put_pages(m, spool, 1);
      hugetlb_acct_memory(m, h, -rsvAdjust);
      hugetlb_cgroup_uncharge_folio_rsvd(h.pool, h, folio);
    }
  }
  m.nodes[folio_nid(m, folio)]!.vmstat[NR_NODE.nr_hugetlb]! += nr;
  return folio;
}

const FAIL_END_RESERVATION = 0;
const FAIL_SUBPOOL_PUT = 1;
const FAIL_UNCHARGE_RSVD = 2;
const FAIL_UNCHARGE = 3;

/** The error exits of `alloc_hugetlb_folio` (`out_uncharge_cgroup` … `out_end_reservation`), from `stage` down. */
function allocFail(m: Machine, vma: VmAreaStruct, addr: number, mapChg: number, stage: number): number {
  const h = hstate_vma(vma);
  const nr = pages_per_huge_page(h);
  if (stage >= FAIL_UNCHARGE) hugetlb_cgroup_uncharge_cgroup(vma.mm.cgroup, h.index, nr);
  if (stage >= FAIL_UNCHARGE_RSVD && mapChg) hugetlb_cgroup_uncharge_cgroup_rsvd(vma.mm.cgroup, h.index, nr);
  if (stage >= FAIL_SUBPOOL_PUT && mapChg) hugepage_subpool_put_pages(m, vma.file.sb.spool, 1);
  if (mapChg !== MAP_CHG_ENFORCED) vma_end_reservation(h, vma, addr);
  return -ENOSPC;
}

/** Options of {@link hugetlb_alloc_folio}. */
export interface HugetlbAllocFolioOptions {
  /** Preferred node (default: the current CPU's). */
  readonly nid?: number;
  /** The cgroup to charge (default: the root). */
  readonly cgroup?: HugetlbCgroup;
  /** Also charge the cgroup's reservation counter and record it on the folio. */
  readonly chargeCgroupRsvd?: boolean;
  /** Consume one of `resv_huge_pages` (the caller reserved it earlier); the folio gets `restore_reserve`. */
  readonly useExistingReservation?: boolean;
  /** A subpool the caller already took a page from, recorded on the folio (freeing gives the page back). */
  readonly subpool?: HugepageSubpool;
}

/**
 * `hugetlb_alloc_folio(h, mpol, nid, nodemask, charge_cgroup_rsvd, use_existing_reservation)` (the
 * guest_memfd HugeTLB series' VMA-less allocator): charge the cgroup, dequeue a free folio (any free
 * one when consuming an existing reservation, else only unreserved ones) or allocate a surplus one,
 * put it on the active list at refcount 1 and count NR_HUGETLB. Returns the folio or `-ENOSPC`.
 * `MmError(EINVAL)` when asked to consume a reservation that does not exist.
 */
export function hugetlb_alloc_folio(m: Machine, h: Hstate, opts: HugetlbAllocFolioOptions = {}): Folio | number {
  const useResv = opts.useExistingReservation === true;
  if (useResv && h.resv_huge_pages <= 0) {
    throw new MmError(EINVAL, 'hugetlb_alloc_folio: use_existing_reservation without a reservation', { rule: 'resv_huge_pages > 0' });
  }
  return deferred(m, 'hugetlb_alloc_folio', () => hugetlbAllocFolio(m, h, opts, useResv));
}

function hugetlbAllocFolio(m: Machine, h: Hstate, opts: HugetlbAllocFolioOptions, useResv: boolean): Folio | number {
  const cg = opts.cgroup ?? h.pool.root_h_cgroup;
  const nr = pages_per_huge_page(h);
  const rsvd = opts.chargeCgroupRsvd === true;
  const nid = opts.nid ?? m.numa_node_id();
  if (rsvd && hugetlb_cgroup_charge_cgroup_rsvd(cg, h.index, nr) < 0) return -ENOSPC;
  if (hugetlb_cgroup_charge_cgroup(cg, h.index, nr) < 0) {
    if (rsvd) hugetlb_cgroup_uncharge_cgroup_rsvd(cg, h.index, nr);
    return -ENOSPC;
  }
  let got: Folio | -1 = -1;
  if (useResv || available_huge_pages(h) > 0) got = dequeue_hugetlb_folio_nodemask(m, h, htlb_alloc_mask(h), nid, null);
  if (got < 0) {
    got = alloc_surplus_hugetlb_folio(m, h, htlb_alloc_mask(h), nid);
    if (got < 0) {
      hugetlb_cgroup_uncharge_cgroup(cg, h.index, nr);
      if (rsvd) hugetlb_cgroup_uncharge_cgroup_rsvd(cg, h.index, nr);
      return -ENOSPC;
    }
    hugetlb_list_add(m, h.hugepage_activelist, 0, got as Folio);
    folio_ref_unfreeze(m, got as Folio, 1);
  }
  const folio = got as Folio;
  if (useResv) {
    folio_set_hugetlb_restore_reserve(m, folio);
    h.resv_huge_pages--;
  }
  hugetlb_cgroup_commit_charge(m, cg, folio);
  if (rsvd) hugetlb_cgroup_commit_charge_rsvd(m, cg, folio);
  if (opts.subpool) hugetlb_set_folio_subpool(m, folio, opts.subpool.id);
  m.nodes[folio_nid(m, folio)]!.vmstat[NR_NODE.nr_hugetlb]! += nr;
  return folio;
}
