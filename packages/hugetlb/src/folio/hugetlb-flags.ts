import type { Folio, Machine } from '@mm/core';

/**
 * The hugetlb per-folio flags (`enum hugetlb_page_flags`, `include/linux/hugetlb.h`): bits of the
 * head page's `private` word, generated from one table as the kernel's `HPAGEFLAG()` macro does.
 * `folio_change_private(folio, NULL)` clears them all.
 *
 * @module
 */

/** Bit numbers of the hugetlb folio flags, in the kernel's enum order. */
export const HPG = {
  /** Freeing the folio gives its reservation back (`resv_huge_pages++`). */
  restore_reserve: 0,
  /** The folio may be isolated for migration (set once mapped or in the page cache). */
  migratable: 1,
  /** Not counted as surplus, freed to the buddy allocator when released (migration targets). */
  temporary: 2,
  /** On a free list. */
  freed: 3,
  /** HVO: the folio's vmemmap is optimized. */
  vmemmap_optimized: 4,
  /** The raw hwpoison list is unreliable: the folio can never be freed. */
  raw_hwp_unreliable: 5,
} as const;

/** Name of a hugetlb folio flag. */
export type HpgName = keyof typeof HPG;

/** A hugetlb folio flag helper: takes the machine and the folio. */
export type HugetlbFlagFn<R> = (m: Machine, folio: Folio) => R;

/** The generated `folio_{test,set,clear}_hugetlb_<flag>` helpers, typed by kernel name. */
export type HugetlbFlagHelpers = { [K in HpgName as `folio_test_hugetlb_${K}`]: HugetlbFlagFn<boolean> } & {
  [K in HpgName as `folio_set_hugetlb_${K}` | `folio_clear_hugetlb_${K}`]: HugetlbFlagFn<void>;
};

function generate(): HugetlbFlagHelpers {
  const out: Record<string, unknown> = {};
  for (const [name, bit] of Object.entries(HPG)) {
    const mask = 1 << bit;
    out[`folio_test_hugetlb_${name}`] = (m: Machine, f: Folio): boolean => (m.memmap.private[f]! & mask) !== 0;
    out[`folio_set_hugetlb_${name}`] = (m: Machine, f: Folio): void => {
      m.memmap.private[f]! |= mask;
    };
    out[`folio_clear_hugetlb_${name}`] = (m: Machine, f: Folio): void => {
      m.memmap.private[f]! &= ~mask;
    };
  }
  return out as HugetlbFlagHelpers;
}

/** Every hugetlb folio flag helper, keyed by kernel name (`HPAGEFLAG()` in `include/linux/hugetlb.h`). */
export const hugetlbFlags: HugetlbFlagHelpers = generate();

/** Named exports of the generated helpers: test, set and clear one `HPG_*` bit of the folio's `private`. */
export const {
  /** `folio_test_hugetlb_restore_reserve` (`include/linux/hugetlb.h`): test `HPG_restore_reserve`. */
  folio_test_hugetlb_restore_reserve,
  /** `folio_set_hugetlb_restore_reserve` (`include/linux/hugetlb.h`): set `HPG_restore_reserve`. */
  folio_set_hugetlb_restore_reserve,
  /** `folio_clear_hugetlb_restore_reserve` (`include/linux/hugetlb.h`): clear `HPG_restore_reserve`. */
  folio_clear_hugetlb_restore_reserve,
  /** `folio_test_hugetlb_migratable` (`include/linux/hugetlb.h`): test `HPG_migratable`. */
  folio_test_hugetlb_migratable,
  /** `folio_set_hugetlb_migratable` (`include/linux/hugetlb.h`): set `HPG_migratable`. */
  folio_set_hugetlb_migratable,
  /** `folio_clear_hugetlb_migratable` (`include/linux/hugetlb.h`): clear `HPG_migratable`. */
  folio_clear_hugetlb_migratable,
  /** `folio_test_hugetlb_temporary` (`include/linux/hugetlb.h`): test `HPG_temporary`. */
  folio_test_hugetlb_temporary,
  /** `folio_set_hugetlb_temporary` (`include/linux/hugetlb.h`): set `HPG_temporary`. */
  folio_set_hugetlb_temporary,
  /** `folio_clear_hugetlb_temporary` (`include/linux/hugetlb.h`): clear `HPG_temporary`. */
  folio_clear_hugetlb_temporary,
  /** `folio_test_hugetlb_freed` (`include/linux/hugetlb.h`): test `HPG_freed`. */
  folio_test_hugetlb_freed,
  /** `folio_set_hugetlb_freed` (`include/linux/hugetlb.h`): set `HPG_freed`. */
  folio_set_hugetlb_freed,
  /** `folio_clear_hugetlb_freed` (`include/linux/hugetlb.h`): clear `HPG_freed`. */
  folio_clear_hugetlb_freed,
  /** `folio_test_hugetlb_vmemmap_optimized` (`include/linux/hugetlb.h`): test `HPG_vmemmap_optimized`. */
  folio_test_hugetlb_vmemmap_optimized,
  /** `folio_set_hugetlb_vmemmap_optimized` (`include/linux/hugetlb.h`): set `HPG_vmemmap_optimized`. */
  folio_set_hugetlb_vmemmap_optimized,
  /** `folio_clear_hugetlb_vmemmap_optimized` (`include/linux/hugetlb.h`): clear `HPG_vmemmap_optimized`. */
  folio_clear_hugetlb_vmemmap_optimized,
  /** `folio_test_hugetlb_raw_hwp_unreliable` (`include/linux/hugetlb.h`): test `HPG_raw_hwp_unreliable`. */
  folio_test_hugetlb_raw_hwp_unreliable,
} = hugetlbFlags;
