import { ENOMEM, type Machine } from '@mm/core';
import type { Hstate } from '../hstate.js';
import { hugetlb_acct_memory } from '../pool/surplus.js';

/**
 * `struct hugepage_subpool` (`mm/hugetlb.c`): the per-mount accounting behind hugetlbfs `size=`
 * (`max_hpages`) and `min_size=` (`min_hpages`, backed by global reservations taken at mount time).
 * `-1` means "no limit" / "no minimum", as in the kernel.
 *
 * @module
 */

/** `struct hugepage_subpool`. */
export class HugepageSubpool {
  /** Id stored (× 4) in a folio's `_hugetlb_subpool` word. */
  readonly id: number;
  /** `hstate`. */
  readonly hstate: Hstate;
  /** `count`: references (the mount). */
  count = 1;
  /** `max_hpages`: the mount's size limit in huge pages, or -1. */
  readonly max_hpages: number;
  /** `used_hpages`: pages used or reserved against `max_hpages`. */
  used_hpages = 0;
  /** `min_hpages`: the guaranteed minimum, or -1. */
  readonly min_hpages: number;
  /** `rsv_hpages`: global reservations the subpool holds for its minimum and has not handed out. */
  rsv_hpages = 0;
  /** True once released (`kfree(spool)`): the id is no longer valid. */
  released = false;

  /** Build a subpool; use {@link hugepage_new_subpool}. */
  constructor(id: number, h: Hstate, maxHpages: number, minHpages: number) {
    this.id = id;
    this.hstate = h;
    this.max_hpages = maxHpages;
    this.min_hpages = minHpages;
  }
}

/**
 * `hugepage_new_subpool(h, max_hpages, min_hpages)`: a new subpool; its minimum is reserved globally at
 * once (`hugetlb_acct_memory`). Returns null if that reservation fails (the mount then fails with
 * `-ENOMEM`).
 */
export function hugepage_new_subpool(m: Machine, h: Hstate, maxHpages: number, minHpages: number): HugepageSubpool | null {
  if (minHpages !== -1 && hugetlb_acct_memory(m, h, minHpages) < 0) return null;
  const spool = new HugepageSubpool(h.pool.subpools.length, h, maxHpages, minHpages);
  spool.rsv_hpages = minHpages;
  h.pool.subpools.push(spool);
  return spool;
}

function subpool_is_free(spool: HugepageSubpool): boolean {
  if (spool.count) return false;
  if (spool.max_hpages !== -1) return spool.used_hpages === 0;
  if (spool.min_hpages !== -1) return spool.rsv_hpages === spool.min_hpages;
  return true;
}

/** `unlock_or_release_subpool()`: free an unreferenced, unused subpool and give back its minimum's reservations. */
function unlock_or_release_subpool(m: Machine, spool: HugepageSubpool): void {
  if (!subpool_is_free(spool)) return;
  if (spool.min_hpages !== -1) hugetlb_acct_memory(m, spool.hstate, -spool.min_hpages);
  spool.released = true;
  spool.hstate.pool.subpools[spool.id] = undefined;
}

/** `hugepage_put_subpool(spool)`: drop the mount's reference (unmount). */
export function hugepage_put_subpool(m: Machine, spool: HugepageSubpool): void {
  spool.count--;
  unlock_or_release_subpool(m, spool);
}

/**
 * `hugepage_subpool_get_pages(spool, delta)`: account `delta` pages against the subpool. Returns
 * `-ENOMEM` over `max_hpages`, else how many of them need a new global reservation (fewer than
 * `delta` when the subpool's own minimum reservations cover them). A null subpool returns `delta`.
 */
export function hugepage_subpool_get_pages(spool: HugepageSubpool | null, delta: number): number {
  let ret = delta;
  if (spool === null) return ret;
  if (spool.max_hpages !== -1) {
    if (spool.used_hpages + delta <= spool.max_hpages) spool.used_hpages += delta;
    else return -ENOMEM;
  }
  if (spool.min_hpages !== -1 && spool.rsv_hpages) {
    if (delta > spool.rsv_hpages) {
      ret = delta - spool.rsv_hpages;
      spool.rsv_hpages = 0;
    } else {
      ret = 0;
      spool.rsv_hpages -= delta;
    }
  }
  return ret;
}

/**
 * `hugepage_subpool_put_pages(spool, delta)`: give `delta` pages back to the subpool. Returns how many
 * global reservations the caller must drop (fewer than `delta` when the subpool keeps them to stay at
 * its minimum). A null subpool returns `delta`.
 */
export function hugepage_subpool_put_pages(m: Machine, spool: HugepageSubpool | null, delta: number): number {
  let ret = delta;
  if (spool === null) return delta;
  if (spool.max_hpages !== -1) spool.used_hpages -= delta;
  if (spool.min_hpages !== -1 && spool.used_hpages < spool.min_hpages) {
    if (spool.rsv_hpages + delta <= spool.min_hpages) ret = 0;
    else ret = spool.rsv_hpages + delta - spool.min_hpages;
    spool.rsv_hpages += delta;
    if (spool.rsv_hpages > spool.min_hpages) spool.rsv_hpages = spool.min_hpages;
  }
  unlock_or_release_subpool(m, spool);
  return ret;
}
