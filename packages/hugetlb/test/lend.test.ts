import { describe, expect, it } from 'vitest';
import { EINVAL, ENOSPC, NR_NODE, folio_order, folio_test_hugetlb, type Folio } from '@mm/core';
import { hugetlbLendFolio, hugetlbReturnFolio, hugetlb_alloc_folio, hugetlbCgroupCreate, hugetlbSysfsWrite } from '@mm/hugetlb';
import { STRATEGIES, boot, counts, expectUnchanged, recordFrees } from './helpers.js';

describe.each(STRATEGIES)('lending hugetlb folios to another owner, as guest_memfd would (%s)', (strategy) => {
  it('allocate, split into base pages, and give back to the pool', () => {
    const { m, pool, h } = boot(strategy, { cmdline: 'hugepages=2' });
    const cg = hugetlbCgroupCreate(pool, 'vm');
    const folio = hugetlb_alloc_folio(m, h, { cgroup: cg, chargeCgroupRsvd: true }) as Folio;
    expect(counts(h)).toEqual({ nr: 2, free: 1, resv: 0, surplus: 0, max: 2 });
    expect([cg.hugepage[h.index]!.usage, cg.rsvd_hugepage[h.index]!.usage]).toEqual([512, 512]);
    expect(m.nodes[0]!.vmstat[NR_NODE.nr_hugetlb]).toBe(512);
    expect(hugetlbLendFolio(m, folio)).toBe(0);
    // 512 order-0 pages now, still counted by the pool and the cgroup.
    expect(folio_test_hugetlb(m, folio)).toBe(false);
    expect(folio_order(m, folio)).toBe(0);
    expect(m.memmap.lru[folio + 1]).toBe(0);
    expect(counts(h)).toEqual({ nr: 2, free: 1, resv: 0, surplus: 0, max: 2 });
    // Giving it back before every page is at refcount 0 is refused.
    expectUnchanged(m, () => expect(() => hugetlbReturnFolio(m, folio)).toThrow(expect.objectContaining({ errno: EINVAL })));
    m.memmap.refcount[folio] = 0; // the borrower dropped its last reference on every piece
    const frees = recordFrees(m);
    hugetlbReturnFolio(m, folio);
    expect(frees).toEqual([{ folio, owner: 'hugetlb' }]);
    expect(counts(h)).toEqual({ nr: 2, free: 2, resv: 0, surplus: 0, max: 2 });
    expect([cg.hugepage[h.index]!.usage, cg.rsvd_hugepage[h.index]!.usage, m.nodes[0]!.vmstat[NR_NODE.nr_hugetlb]]).toEqual([0, 0, 0]);
    expect(() => hugetlbReturnFolio(m, folio)).toThrow(expect.objectContaining({ errno: EINVAL }));
  });

  it('use an existing reservation, or fail with -ENOSPC when none is available', () => {
    const { m, pool, h } = boot(strategy, { cmdline: 'hugepages=1' });
    h.resv_huge_pages = 1; // as if the caller had reserved one (hugetlb_acct_memory)
    expect(hugetlb_alloc_folio(m, h)).toBe(-ENOSPC); // the only free folio is reserved
    const folio = hugetlb_alloc_folio(m, h, { useExistingReservation: true }) as Folio;
    expect(counts(h)).toEqual({ nr: 1, free: 0, resv: 0, surplus: 0, max: 1 });
    expect(() => hugetlb_alloc_folio(m, h, { useExistingReservation: true })).toThrow(expect.objectContaining({ errno: EINVAL }));
    // Surplus when overcommit allows; freeing the reserved one restores the reservation.
    hugetlbSysfsWrite(pool, 'sys/kernel/mm/hugepages/hugepages-2048kB/nr_overcommit_hugepages', '1');
    const extra = hugetlb_alloc_folio(m, h) as Folio;
    expect(counts(h)).toEqual({ nr: 2, free: 0, resv: 0, surplus: 1, max: 1 });
    m.memmap.refcount[extra] = 1;
    m.memmap.refcount[folio] = 1;
    hugetlbLendFolio(m, extra);
    m.memmap.refcount[extra] = 0;
    hugetlbReturnFolio(m, extra); // surplus: back to the buddy allocator
    expect(counts(h)).toEqual({ nr: 1, free: 0, resv: 0, surplus: 0, max: 1 });
  });
});
