import { describe, expect, it } from 'vitest';
import { EBUSY, ENOMEM, EINVAL, ENOENT, PageBuddy, VM_EVENT, folio_order, folio_test_hugetlb, type Folio, type Pfn } from '@mm/core';
import {
  FAULT_FLAG_WRITE,
  HUGETLB_PUD_ORDER,
  dissolve_free_hugetlb_folio,
  dissolve_free_hugetlb_folios,
  folio_putback_hugetlb,
  hugetlb_fault,
  hugetlb_list_first,
  hugetlbfs_create,
  hugetlbfs_file_mmap,
  hugetlbfs_mount,
  hugetlbNewMm,
  hugetlbSysfsRead,
  hugetlbSysfsWrite,
  isolate_or_dissolve_huge_folio,
  pages_per_huge_page,
  type HugetlbfsSbInfo,
  type VmAreaStruct,
} from '@mm/hugetlb';
import { MB2, STRATEGIES, boot, counts, expectUnchanged } from './helpers.js';

const M2 = 'sys/kernel/mm/hugepages/hugepages-2048kB';

describe.each(STRATEGIES)('dissolving (%s)', (strategy) => {
  it('dissolve_free_hugetlb_folio gives a free, unreserved folio back to the buddy allocator', () => {
    const { m, pool, h } = boot(strategy, { cmdline: 'hugepages=3' });
    const folio = hugetlb_list_first(h.hugepage_freelists, 0) as Folio;
    expect(dissolve_free_hugetlb_folio(m, folio)).toBe(0);
    expect(counts(h)).toEqual({ nr: 2, free: 2, resv: 0, surplus: 0, max: 2 });
    expect(folio_test_hugetlb(m, folio)).toBe(false);
    expect(PageBuddy(m, folio as Pfn) || m.memmap.refcount[folio] === 0).toBe(true);
    expect(dissolve_free_hugetlb_folio(m, folio)).toBe(0); // not hugetlb any more: "already dissolved"
    // Reserve both remaining folios: none is available, dissolving is refused.
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const mm = hugetlbNewMm(m);
    const vma = hugetlbfs_file_mmap(m, mm, hugetlbfs_create(m, sb, 'f'), { length: 2 * MB2, shared: true }) as VmAreaStruct;
    const other = hugetlb_list_first(h.hugepage_freelists, 0) as Folio;
    expectUnchanged(m, () => expect(dissolve_free_hugetlb_folio(m, other)).toBe(-EBUSY));
    hugetlb_fault(m, vma, vma.vm_start, FAULT_FLAG_WRITE);
    expectUnchanged(m, () => expect(dissolve_free_hugetlb_folio(m, vma.ptes[0]! as Folio)).toBe(-EBUSY));
    // The range walk over all memory stops at the first error.
    expect(dissolve_free_hugetlb_folios(m, 0, m.max_pfn)).toBe(-EBUSY);
    void pool;
  });

  it('dissolving a surplus folio adjusts surplus, and a failed vmemmap restore puts it back', () => {
    const { m, pool, h } = boot(strategy, { cmdline: 'hugepages=2', hugetlb_free_vmemmap: true });
    // Shrink to 0 while one folio is reserved: it becomes surplus (see set_max_huge_pages).
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    hugetlbfs_file_mmap(m, hugetlbNewMm(m), hugetlbfs_create(m, sb, 'f'), { length: MB2, shared: true });
    hugetlbSysfsWrite(pool, `${M2}/nr_hugepages`, '0');
    expect(counts(h)).toEqual({ nr: 1, free: 1, resv: 1, surplus: 1, max: 0 });
    hugetlbSysfsWrite(pool, `${M2}/nr_hugepages`, '2'); // 1 surplus → persistent, 1 new
    expect(counts(h)).toEqual({ nr: 2, free: 2, resv: 1, surplus: 0, max: 2 });
    const folio = hugetlb_list_first(h.hugepage_freelists, 0) as Folio;
    pool.vmemmapRestoreFailures = 1;
    expectUnchanged(m, () => expect(dissolve_free_hugetlb_folio(m, folio)).toBe(-ENOMEM));
    expect(dissolve_free_hugetlb_folio(m, folio)).toBe(0);
    expect(counts(h)).toEqual({ nr: 1, free: 1, resv: 1, surplus: 0, max: 1 });
  });

  it('isolate_or_dissolve_huge_folio replaces a free folio and isolates an in-use one', () => {
    const { m, pool, h } = boot(strategy, { cmdline: 'hugepages=2' });
    const free = hugetlb_list_first(h.hugepage_freelists, 0) as Folio;
    const allocs = m.vmEvents[VM_EVENT.htlb_buddy_alloc_success]!;
    expect(isolate_or_dissolve_huge_folio(m, free)).toBe(0);
    // A new folio took its place in the pool; the old one went to the buddy allocator.
    expect(counts(h)).toEqual({ nr: 2, free: 2, resv: 0, surplus: 0, max: 2 });
    expect(folio_test_hugetlb(m, free)).toBe(false);
    expect(m.vmEvents[VM_EVENT.htlb_buddy_alloc_success]).toBe(allocs + 1);
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const vma = hugetlbfs_file_mmap(m, hugetlbNewMm(m), hugetlbfs_create(m, sb, 'f'), { length: MB2, shared: true }) as VmAreaStruct;
    hugetlb_fault(m, vma, vma.vm_start, FAULT_FLAG_WRITE);
    const used = vma.ptes[0]! as Folio;
    const ref = m.memmap.refcount[used]!;
    expect(isolate_or_dissolve_huge_folio(m, used)).toBe(0);
    expect(pool.isolated.has(used)).toBe(true);
    expect(m.memmap.refcount[used]).toBe(ref + 1);
    // Isolated: not migratable any more, so a second isolation fails with -EBUSY.
    expectUnchanged(m, () => expect(isolate_or_dissolve_huge_folio(m, used)).toBe(-EBUSY));
    folio_putback_hugetlb(m, used);
    expect(m.memmap.refcount[used]).toBe(ref);
    expect(isolate_or_dissolve_huge_folio(m, 0 as Folio)).toBe(0); // not hugetlb
  });
});
