import {
  MAINLINE_BRANCH_HUGETLB,
  __folio_clear_hugetlb,
  __folio_set_hugetlb,
  folio_clear_owner_ops,
  folio_set_owner_ops,
  folio_test_hugetlb,
  type Folio,
  type FolioOwnerOps,
  type Machine,
  type MainlineFreeBranch,
} from '@mm/core';
import { __free_huge_folio } from '../pool/free-huge-folio.js';
import { hugetlbOf, type HugetlbState } from '../state.js';

/**
 * hugetlb as a folio owner (series 1, RFC v1 patch 10 "mm: hugetlb: Use owner_ops on folio_put for
 * hugetlb"): the constant `hugetlb_owner_ops` whose `free` is `free_huge_folio`, and the two helpers
 * used wherever the hugetlb type is set or cleared.
 *
 * @module
 */

/**
 * `hugetlb_owner_ops`: `free` is `free_huge_folio`. Under the `mainline` strategy the same object is
 * the explicit hugetlb branch of `__folio_put` (`if (folio_test_hugetlb(folio)) free_huge_folio()`),
 * second after zone device.
 */
export class HugetlbOwnerOps implements FolioOwnerOps {
  /** `"hugetlb"`. */
  readonly name = 'hugetlb';
  /** The mainline branch: claims every folio with the hugetlb page type. */
  readonly mainline: MainlineFreeBranch;
  private readonly pool: HugetlbState;

  /** The ops of one machine's hugetlb. */
  constructor(pool: HugetlbState) {
    this.pool = pool;
    const m = pool.m;
    this.mainline = { order: MAINLINE_BRANCH_HUGETLB, claims: (folio: Folio) => folio_test_hugetlb(m, folio) };
  }

  /** The folio's refcount reached 0: `free_huge_folio(folio)`. */
  free(folio: Folio): void {
    __free_huge_folio(this.pool, folio);
  }
}

/**
 * `folio_set_hugetlb_owner(folio)` (series 1): set the hugetlb page type and, under the owner-ops
 * strategy, tag the lru word with `hugetlb_owner_ops`. Under `mainline` only the type is set (the
 * explicit `__folio_put` branch finds the folio by its type).
 */
export function folio_set_hugetlb_owner(m: Machine, folio: Folio): void {
  __folio_set_hugetlb(m, folio);
  if (m.strategy === 'owner-ops') folio_set_owner_ops(m, folio, hugetlbOf(m).ownerOps);
}

/** `folio_clear_hugetlb_owner(folio)` (series 1): clear the owner-ops tag (owner-ops strategy), then the hugetlb type. */
export function folio_clear_hugetlb_owner(m: Machine, folio: Folio): void {
  if (m.strategy === 'owner-ops') folio_clear_owner_ops(m, folio);
  __folio_clear_hugetlb(m, folio);
}
