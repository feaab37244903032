import { ENOMEM, type Folio, type Machine } from '@mm/core';
import { folio_clear_hugetlb_vmemmap_optimized, folio_set_hugetlb_vmemmap_optimized, folio_test_hugetlb_vmemmap_optimized } from '../folio/hugetlb-flags.js';
import { pages_per_huge_page, type Hstate } from '../hstate.js';

/**
 * HVO, HugeTLB Vmemmap Optimization (`mm/hugetlb_vmemmap.c`), as accounting only: the model's struct
 * pages are not in simulated RAM, so optimizing a folio frees no buddy page here; it records how many
 * vmemmap pages the kernel would have freed (per hstate, `vmemmap_pages_freed`) and sets the folio's
 * `vmemmap_optimized` flag. Restoring can be made to fail with `-ENOMEM`
 * (`HugetlbState.vmemmapRestoreFailures` / `vmemmapRestoreFilter`) to drive the kernel's error paths.
 * Tail struct pages stay writable (no "fake heads").
 *
 * @module
 */

/** `HUGETLB_VMEMMAP_RESERVE_PAGES`: struct pages held by the one vmemmap page kept (PAGE_SIZE / 64). */
export const HUGETLB_VMEMMAP_RESERVE_PAGES = 64;

/**
 * Vmemmap pages freed by optimizing one folio of `h`: the folio's struct pages fill
 * `pages_per_huge_page / 64` vmemmap pages and one is kept — 7 for 2 MiB, 4095 for 1 GiB.
 */
export function hugetlb_vmemmap_optimizable_size(h: Hstate): number {
  return Math.max(0, pages_per_huge_page(h) / HUGETLB_VMEMMAP_RESERVE_PAGES - 1);
}

/** `hugetlb_vmemmap_optimizable(h)`: HVO is on and saves something for this size. */
export function hugetlb_vmemmap_optimizable(h: Hstate): boolean {
  return h.pool.hvo && hugetlb_vmemmap_optimizable_size(h) > 0;
}

/** `hugetlb_vmemmap_optimize_folio(h, folio)`: optimize a fresh pool folio if HVO is on. */
export function hugetlb_vmemmap_optimize_folio(m: Machine, h: Hstate, folio: Folio): void {
  if (!hugetlb_vmemmap_optimizable(h) || folio_test_hugetlb_vmemmap_optimized(m, folio)) return;
  folio_set_hugetlb_vmemmap_optimized(m, folio);
  h.vmemmap_pages_freed += hugetlb_vmemmap_optimizable_size(h);
}

/**
 * `hugetlb_vmemmap_restore_folio(h, folio)`: give the folio its full vmemmap back before it leaves the
 * pool or is demoted; 0, or `-ENOMEM` when the vmemmap pages cannot be allocated (injected failure).
 */
export function hugetlb_vmemmap_restore_folio(m: Machine, h: Hstate, folio: Folio): number {
  if (!folio_test_hugetlb_vmemmap_optimized(m, folio)) return 0;
  const pool = h.pool;
  if (pool.vmemmapRestoreFailures > 0) {
    pool.vmemmapRestoreFailures--;
    return -ENOMEM;
  }
  if (pool.vmemmapRestoreFilter?.(folio)) return -ENOMEM;
  folio_clear_hugetlb_vmemmap_optimized(m, folio);
  h.vmemmap_pages_freed -= hugetlb_vmemmap_optimizable_size(h);
  return 0;
}
