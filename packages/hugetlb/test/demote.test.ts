import { describe, expect, it } from 'vitest';
import { EBUSY, ENOMEM, EINVAL, ENOENT, PageBuddy, VM_EVENT, drain_all_pages, folio_order, folio_test_hugetlb, type Folio, type Pfn } from '@mm/core';
import {
  FAULT_FLAG_WRITE,
  do_munmap,
  hugetlbfs_unlink,
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

const G = 'sys/kernel/mm/hugepages/hugepages-1048576kB';
const M2 = 'sys/kernel/mm/hugepages/hugepages-2048kB';
/** 1 GiB of RAM, all of it in DMA32 and none reserved, so that exactly one 1 GiB folio fits. */
const GIGA = { memory: '1G', dmaZone: false, reserved: [] };

describe.each(STRATEGIES)('gigantic folios and demotion (%s)', (strategy) => {
  it('a 1 GiB folio is a contiguous range of free blocks; demote splits it into 512 × 2 MiB', () => {
    const { m, pool, h } = boot(strategy, { cmdline: 'hugepagesz=1G hugepages=1' }, GIGA);
    const g = pool.hstates.find((x) => x.order === HUGETLB_PUD_ORDER)!;
    expect(counts(g)).toEqual({ nr: 1, free: 1, resv: 0, surplus: 0, max: 1 });
    expect(hugetlb_list_first(g.hugepage_freelists, 0)).toBe(0);
    // No 1 GiB-aligned free range is left: a second one cannot be had (gigantic folios do not come
    // from the buddy allocator, so no htlb_buddy_alloc_fail is counted).
    expect(hugetlbSysfsWrite(pool, `${G}/nr_hugepages`, '2')).toBe(1);
    expect(counts(g)).toEqual({ nr: 1, free: 1, resv: 0, surplus: 0, max: 1 });
    expect(m.vmEvents[VM_EVENT.htlb_buddy_alloc_fail]).toBe(0);
    // Reserve the folio: free − resv = 0, so demote does nothing (and still succeeds).
    const sb1g = hugetlbfs_mount(m, { pagesize: '1G' }) as HugetlbfsSbInfo;
    const gfile = hugetlbfs_create(m, sb1g, 'g');
    const gvma = hugetlbfs_file_mmap(m, hugetlbNewMm(m), gfile, { length: 1 << 30, shared: true }) as VmAreaStruct;
    expect(counts(g)).toEqual({ nr: 1, free: 1, resv: 1, surplus: 0, max: 1 });
    expect(hugetlbSysfsRead(pool, `${G}/demote_size`)).toBe('2048kB\n');
    expectUnchanged(m, () => {
      expect(hugetlbSysfsWrite(pool, `${G}/demote`, '1')).toBe(1);
      // demote_size must name an hstate with HUGETLB_PAGE_ORDER ≤ order < 1 GiB's.
      for (const bad of ['4M', '1G', 'abc', '0']) expect(hugetlbSysfsWrite(pool, `${G}/demote_size`, bad)).toBe(-EINVAL);
      expect(hugetlbSysfsWrite(pool, `${G}/demote`, '-1')).toBe(-EINVAL);
      expect(hugetlbSysfsWrite(pool, `${M2}/demote_size`, '2M')).toBe(-ENOENT); // 2 MiB has no demote files
    });
    expect(hugetlbSysfsWrite(pool, `${G}/demote_size`, '2048kB\n')).toBe(7);
    expect(do_munmap(m, gvma)).toBe(0);
    hugetlbfs_unlink(m, gfile);
    expect(counts(g)).toEqual({ nr: 1, free: 1, resv: 0, surplus: 0, max: 1 });
    expect(hugetlbSysfsWrite(pool, `${G}/demote`, '1\n')).toBe(2);
    expect(counts(g)).toEqual({ nr: 0, free: 0, resv: 0, surplus: 0, max: 0 });
    expect(counts(h)).toEqual({ nr: 512, free: 512, resv: 0, surplus: 0, max: 512 });
    // §13 §4.4: Δsrc.max · 2^src.order = −Δdst.max · 2^dst.order.
    expect(-1 * pages_per_huge_page(g)).toBe(-(512 * pages_per_huge_page(h)));
    for (const pfn of [0, 512, 261632]) {
      expect(folio_test_hugetlb(m, pfn as Folio)).toBe(true);
      expect(folio_order(m, pfn as Folio)).toBe(9);
    }
    // Nothing left to demote: the write succeeds and changes nothing.
    expectUnchanged(m, () => expect(hugetlbSysfsWrite(pool, `${G}/demote`, '1')).toBe(1));
    // The demoted folios serve 2 MiB faults like any other.
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const file = hugetlbfs_create(m, sb, 'f');
    const vma = hugetlbfs_file_mmap(m, hugetlbNewMm(m), file, { length: MB2, shared: true }) as VmAreaStruct;
    expect(hugetlb_fault(m, vma, vma.vm_start, FAULT_FLAG_WRITE)).toBe(0);
    expect(counts(h)).toEqual({ nr: 512, free: 511, resv: 0, surplus: 0, max: 512 });
    do_munmap(m, vma);
    hugetlbfs_unlink(m, file);
    // Freeing all 512 to the page allocator (order 9 is a per-CPU-list order: drain them) merges
    // them back into 256 MAX_PAGE_ORDER blocks.
    hugetlbSysfsWrite(pool, `${M2}/nr_hugepages`, '0');
    expect(counts(h)).toEqual({ nr: 0, free: 0, resv: 0, surplus: 0, max: 0 });
    drain_all_pages(m, null);
    expect(m.zones[0]!.nr_free[10]).toBe(256);
  });

  it('a folio whose vmemmap cannot be restored is not demoted (HVO)', () => {
    const { m, pool, h } = boot(strategy, { cmdline: 'hugepagesz=1G hugepages=1', hugetlb_free_vmemmap: true }, GIGA);
    const g = pool.hstates.find((x) => x.order === HUGETLB_PUD_ORDER)!;
    expect(g.vmemmap_pages_freed).toBe(4095); // 2^18 × 64 B = 4096 vmemmap pages, one kept
    pool.vmemmapRestoreFailures = 1;
    expect(hugetlbSysfsWrite(pool, `${G}/demote`, '1')).toBe(-ENOMEM);
    expect(counts(g)).toEqual({ nr: 1, free: 1, resv: 0, surplus: 0, max: 1 });
    expect(counts(h)).toEqual({ nr: 0, free: 0, resv: 0, surplus: 0, max: 0 });
    expect(hugetlbSysfsWrite(pool, `${G}/demote`, '1')).toBe(1);
    expect(counts(h).nr).toBe(512);
    // Every new 2 MiB folio is optimized in turn: 7 vmemmap pages each.
    expect([g.vmemmap_pages_freed, h.vmemmap_pages_freed]).toEqual([0, 512 * 7]);
    expect(m.memmap.private[0]! & (1 << 4)).not.toBe(0);
  });
});

