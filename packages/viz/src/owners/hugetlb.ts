import { folio_test_hugetlb, type Folio, type Machine, type Pfn } from '@mm/core';
import { folio_test_hugetlb_freed } from '@mm/hugetlb';
import type { PageOwnerDescriber } from '../page-owner-describer.js';

/**
 * hugetlb folios: PGTY_hugetlb on the head page; `HPG_freed` (on a free list of its hstate) tells a
 * free pool page from an active one (`include/linux/hugetlb.h`).
 */
export const hugetlbDescriber: PageOwnerDescriber = {
  owner: 'hugetlb',
  kinds: [
    { name: 'hugetlb free (HPG_freed)', color: '#ffd0d0', owner: 'hugetlb' },
    { name: 'hugetlb active', color: '#d02020', owner: 'hugetlb' },
  ],
  classifier(m: Machine) {
    return (head: Pfn) => (folio_test_hugetlb(m, head as Folio) ? (folio_test_hugetlb_freed(m, head as Folio) ? 0 : 1) : -1);
  },
};
