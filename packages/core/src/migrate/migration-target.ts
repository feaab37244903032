import { GFP, GFP_TRANSHUGE } from '../alloc/gfp.js';
import { folio_alloc } from '../alloc/page-alloc.js';
import type { Machine } from '../machine/machine.js';
import { folio_order, folio_test_large } from '../page/compound.js';
import { ZONE } from '../page/page-zone.js';
import { folio_test_hugetlb } from '../page/page-helpers.js';
import type { Folio } from '../types.js';
import type { MigrateReason } from './migrate-mode.js';

/** `NUMA_NO_NODE`. */
export const NUMA_NO_NODE = -1;

/** `struct migration_target_control` (`mm/internal.h`); node masks are not modelled. */
export interface MigrationTargetControl {
  /** Preferred node, or {@link NUMA_NO_NODE} for the source's node. */
  nid: number;
  /** GFP mask of the destination allocation. */
  gfp_mask: number;
  /** Why (`MR.*`). */
  reason: MigrateReason;
}

const GFP_RECLAIM = GFP.__GFP_DIRECT_RECLAIM | GFP.__GFP_KSWAPD_RECLAIM;

/**
 * `alloc_migration_target(src, private)` (`mm/migrate.c`): allocate a destination like `src` on
 * `mtc.nid` (the source's node for NUMA_NO_NODE): hugetlb through the hook `@mm/hugetlb` fills in
 * (`alloc_hugetlb_folio_nodemask`); a large folio as a THP-style allocation of the same order (without
 * direct reclaim); `__GFP_HIGHMEM` added for sources in ZONE_MOVABLE so the destination may come from
 * there too. Returns the folio (refcount 1) or -1.
 */
export function alloc_migration_target(m: Machine, src: Folio, mtc: MigrationTargetControl): Folio | -1 {
  let gfp = mtc.gfp_mask;
  const nid = mtc.nid === NUMA_NO_NODE ? m.memmap.flags[src]! >>> 27 : mtc.nid;
  if (folio_test_hugetlb(m, src)) {
    const alloc = m.hooks.alloc_hugetlb_migration_target;
    return alloc ? alloc(src, nid) : -1;
  }
  let order = 0;
  if (folio_test_large(m, src)) {
    gfp = (gfp & ~GFP_RECLAIM) | GFP_TRANSHUGE;
    order = folio_order(m, src);
  }
  const zidx = (m.memmap.flags[src]! >>> 24) & 7;
  if (zidx === ZONE.MOVABLE) gfp |= GFP.__GFP_HIGHMEM;
  return folio_alloc(m, gfp, order, nid);
}
