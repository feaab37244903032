import { describe, expect, it } from 'vitest';
import { EINVAL, ENOMEM, EOPNOTSUPP, VM_EVENT, folio_mapcount, folio_ref_count, folio_test_anon, type Folio } from '@mm/core';
import {
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FAULT_FLAG_WRITE,
  VM_FAULT,
  do_munmap,
  hugetlb_fault,
  hugetlbFork,
  hugetlbfs_create,
  hugetlbfs_fallocate,
  hugetlbfs_file_mmap,
  hugetlbfs_mount,
  hugetlbfs_punch_hole,
  hugetlbfs_setattr,
  hugetlbfs_umount,
  hugetlbfs_unlink,
  hugetlbNewMm,
  hugetlbSysfsWrite,
  hugetlb_report_meminfo,
  type HugetlbfsSbInfo,
  type VmAreaStruct,
} from '@mm/hugetlb';
import { MB2, STRATEGIES, boot, counts, expectUnchanged } from './helpers.js';

const W = FAULT_FLAG_WRITE;

describe.each(STRATEGIES)('hugetlbfs reservations (%s)', (strategy) => {
  it('a shared mapping reserves at mmap; faulting half consumes half; the file keeps the rest', () => {
    const { m, pool, h } = boot(strategy, { cmdline: 'hugepages=16' }, { memory: '64M' });
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const file = hugetlbfs_create(m, sb, 'shm');
    const mm = hugetlbNewMm(m);
    const vma = hugetlbfs_file_mmap(m, mm, file, { length: 8 * MB2, shared: true }) as VmAreaStruct;
    expect(counts(h)).toEqual({ nr: 16, free: 16, resv: 8, surplus: 0, max: 16 });
    expect(file.i_size).toBe(8 * MB2);
    expect(pool.root_h_cgroup.rsvd_hugepage[h.index]!.usage).toBe(8 * 512);
    for (let i = 0; i < 4; i++) expect(hugetlb_fault(m, vma, vma.vm_start + i * MB2 + 4096, W)).toBe(0);
    // Each fault takes a reserved free folio: free 16 → 12, resv 8 → 4.
    expect(counts(h)).toEqual({ nr: 16, free: 12, resv: 4, surplus: 0, max: 16 });
    expect(hugetlb_report_meminfo(pool, null)).toMatchObject({ HugePages_Total: 16, HugePages_Free: 12, HugePages_Rsvd: 4, HugePages_Surp: 0 });
    expect(pool.root_h_cgroup.hugepage[h.index]!.usage).toBe(4 * 512);
    expect(mm.hugetlb_usage).toBe(4 * 512);
    const folio = vma.ptes[0]! as Folio;
    // The page cache holds one reference per base page, the mapping one more.
    expect(folio_ref_count(m, folio)).toBe(512 + 1);
    expect(folio_mapcount(m, folio)).toBe(1);
    // A second process maps the same page: no allocation, a second mapping.
    const other = hugetlbNewMm(m);
    const vma2 = hugetlbfs_file_mmap(m, other, file, { length: 8 * MB2, shared: true }) as VmAreaStruct;
    expect(h.resv_huge_pages).toBe(4); // region_chg finds all 8 pages in the inode's map
    expect(hugetlb_fault(m, vma2, vma2.vm_start, 0)).toBe(0);
    expect(vma2.ptes[0]).toBe(folio);
    expect([folio_ref_count(m, folio), folio_mapcount(m, folio)]).toEqual([512 + 2, 2]);
    // munmap leaves the folios in the page cache and the reservations in the inode's map.
    expect(do_munmap(m, vma)).toBe(0);
    expect(do_munmap(m, vma2)).toBe(0);
    expect(counts(h)).toEqual({ nr: 16, free: 12, resv: 4, surplus: 0, max: 16 });
    expect(do_munmap(m, vma)).toBe(-EINVAL);
    // Unlink of an unmapped file evicts it: 4 folios back, 8 − 4 reservations returned.
    hugetlbfs_unlink(m, file);
    expect(counts(h)).toEqual({ nr: 16, free: 16, resv: 0, surplus: 0, max: 16 });
    expect(pool.root_h_cgroup.rsvd_hugepage[h.index]!.usage).toBe(0);
    expect(pool.root_h_cgroup.hugepage[h.index]!.usage).toBe(0);
  });

  it('a private mapping reserves the whole range and the owner keeps its pages over CoW', () => {
    const { m, h } = boot(strategy, { cmdline: 'hugepages=4' });
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const file = hugetlbfs_create(m, sb, 'priv');
    const parent = hugetlbNewMm(m);
    const vma = hugetlbfs_file_mmap(m, parent, file, { length: 2 * MB2, shared: false }) as VmAreaStruct;
    expect(counts(h)).toEqual({ nr: 4, free: 4, resv: 2, surplus: 0, max: 4 });
    expect(hugetlb_fault(m, vma, vma.vm_start, W)).toBe(0);
    const folio = vma.ptes[0]! as Folio;
    expect(folio_test_anon(m, folio)).toBe(true);
    expect(counts(h)).toEqual({ nr: 4, free: 3, resv: 1, surplus: 0, max: 4 });
    // fork: the child shares the page read-only and has no reservations of its own.
    const child = hugetlbFork(m, parent);
    const cvma = [...child.vmas][0]!;
    expect([folio_ref_count(m, folio), folio_mapcount(m, folio), vma.pteWrite[0], cvma.pteWrite[0]]).toEqual([2, 2, 0, 0]);
    // The child's write copies into an unreserved free folio (free − resv = 2 available).
    expect(hugetlb_fault(m, cvma, cvma.vm_start, W)).toBe(0);
    expect(cvma.ptes[0]).not.toBe(folio);
    expect(counts(h)).toEqual({ nr: 4, free: 2, resv: 1, surplus: 0, max: 4 });
    expect([folio_ref_count(m, folio), folio_mapcount(m, folio)]).toEqual([1, 1]);
    // The parent, now the only user, reuses its page on write: nothing is allocated.
    expect(hugetlb_fault(m, vma, vma.vm_start, W)).toBe(0);
    expect(vma.ptes[0]).toBe(folio);
    expect(counts(h)).toEqual({ nr: 4, free: 2, resv: 1, surplus: 0, max: 4 });
    // Parent munmap frees its folio and returns its one unconsumed reservation.
    do_munmap(m, vma);
    expect(counts(h)).toEqual({ nr: 4, free: 3, resv: 0, surplus: 0, max: 4 });
    do_munmap(m, cvma);
    expect(counts(h)).toEqual({ nr: 4, free: 4, resv: 0, surplus: 0, max: 4 });
  });

  it('when the owner cannot CoW, the child loses the page and gets SIGBUS', () => {
    const { m, h } = boot(strategy, { cmdline: 'hugepages=2' });
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const file = hugetlbfs_create(m, sb, 'priv');
    const parent = hugetlbNewMm(m);
    const vma = hugetlbfs_file_mmap(m, parent, file, { length: 2 * MB2, shared: false }) as VmAreaStruct;
    hugetlb_fault(m, vma, vma.vm_start, W);
    const folio = vma.ptes[0]! as Folio;
    const child = hugetlbFork(m, parent);
    const cvma = [...child.vmas][0]!;
    expect(counts(h)).toEqual({ nr: 2, free: 1, resv: 1, surplus: 0, max: 2 });
    // The owner's CoW may not use its per-VMA reservation and the one free folio is reserved:
    // the allocation fails, the page is unmapped from the child, and the owner reuses it.
    expect(hugetlb_fault(m, vma, vma.vm_start, W)).toBe(0);
    expect([vma.ptes[0], vma.pteWrite[0], cvma.ptes[0]]).toEqual([folio, 1, -1]);
    expect([folio_ref_count(m, folio), folio_mapcount(m, folio)]).toEqual([1, 1]);
    expect(counts(h)).toEqual({ nr: 2, free: 1, resv: 1, surplus: 0, max: 2 });
    // "PID killed due to inadequate hugepage pool": every later fault of the child is SIGBUS.
    expect(hugetlb_fault(m, cvma, cvma.vm_start, 0)).toBe(VM_FAULT.SIGBUS);
    expect(hugetlb_fault(m, cvma, cvma.vm_start + MB2, 0)).toBe(VM_FAULT.SIGBUS);
    // The owner's second page still has its reservation.
    expect(hugetlb_fault(m, vma, vma.vm_start + MB2, W)).toBe(0);
    expect(counts(h)).toEqual({ nr: 2, free: 0, resv: 0, surplus: 0, max: 2 });
  });

  it('MAP_NORESERVE with an empty pool maps but the fault gets SIGBUS; overcommit makes it work', () => {
    const { m, pool, h } = boot(strategy);
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const file = hugetlbfs_create(m, sb, 'nr');
    const mm = hugetlbNewMm(m);
    // Without MAP_NORESERVE the reservation fails at mmap.
    expectUnchanged(m, () => expect(hugetlbfs_file_mmap(m, mm, file, { length: 2 * MB2, shared: true })).toBe(-ENOMEM));
    const vma = hugetlbfs_file_mmap(m, mm, file, { length: 2 * MB2, shared: true, noreserve: true }) as VmAreaStruct;
    expect(counts(h)).toEqual({ nr: 0, free: 0, resv: 0, surplus: 0, max: 0 });
    // No free page, no overcommit: alloc_hugetlb_folio → -ENOSPC → SIGBUS, nothing changes.
    expectUnchanged(m, () => expect(hugetlb_fault(m, vma, vma.vm_start, W)).toBe(VM_FAULT.SIGBUS));
    hugetlbSysfsWrite(pool, 'sys/kernel/mm/hugepages/hugepages-2048kB/nr_overcommit_hugepages', '1');
    expect(hugetlb_fault(m, vma, vma.vm_start, W)).toBe(0);
    expect(counts(h)).toEqual({ nr: 1, free: 0, resv: 0, surplus: 1, max: 0 });
    expect(m.vmEvents[VM_EVENT.htlb_buddy_alloc_success]).toBe(1);
    // The second page would exceed the overcommit limit.
    expect(hugetlb_fault(m, vma, vma.vm_start + MB2, W)).toBe(VM_FAULT.SIGBUS);
    // munmap keeps the page-cache folio; truncation frees the surplus folio to the buddy allocator.
    do_munmap(m, vma);
    expect(counts(h)).toEqual({ nr: 1, free: 0, resv: 0, surplus: 1, max: 0 });
    hugetlbfs_setattr(m, file, 0);
    expect(counts(h)).toEqual({ nr: 0, free: 0, resv: 0, surplus: 0, max: 0 });
  });

  it('truncate and hole punch give pages and reservations back as the kernel does', () => {
    const { m, h } = boot(strategy, { cmdline: 'hugepages=8' });
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const file = hugetlbfs_create(m, sb, 'f');
    const mm = hugetlbNewMm(m);
    const vma = hugetlbfs_file_mmap(m, mm, file, { length: 4 * MB2, shared: true }) as VmAreaStruct;
    for (const i of [0, 1, 2]) hugetlb_fault(m, vma, vma.vm_start + i * MB2, W);
    expect(counts(h)).toEqual({ nr: 8, free: 5, resv: 1, surplus: 0, max: 8 });
    // Punch pages 1 and 2 (a range that starts and ends mid-page covers only the whole pages).
    expect(hugetlbfs_fallocate(m, mm, file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, MB2 - 4096, 2 * MB2 + 8192)).toBe(0);
    expect([vma.ptes[1], vma.ptes[2]]).toEqual([-1, -1]);
    expect(counts(h)).toEqual({ nr: 8, free: 7, resv: 1, surplus: 0, max: 8 });
    // A hole over page 3 (reserved, never faulted) keeps its reservation.
    hugetlbfs_punch_hole(m, file, 3 * MB2, MB2);
    expect(counts(h)).toEqual({ nr: 8, free: 7, resv: 1, surplus: 0, max: 8 });
    // Page 1 faults again without a reservation, from the unreserved free pages.
    expect(hugetlb_fault(m, vma, vma.vm_start + MB2, W)).toBe(0);
    expect(counts(h)).toEqual({ nr: 8, free: 6, resv: 1, surplus: 0, max: 8 });
    expect(mm.hugetlb_usage).toBe(2 * 512);
    // Truncation unmaps and frees pages 0 and 1 and returns the reservation of page 3.
    expectUnchanged(m, () => expect(hugetlbfs_setattr(m, file, MB2 + 1)).toBe(-EINVAL));
    expect(hugetlbfs_setattr(m, file, 0)).toBe(0);
    expect(counts(h)).toEqual({ nr: 8, free: 8, resv: 0, surplus: 0, max: 8 });
    expect(mm.hugetlb_usage).toBe(0);
    expect([...vma.ptes]).toEqual([-1, -1, -1, -1]);
    // Beyond i_size a fault is SIGBUS.
    expect(hugetlb_fault(m, vma, vma.vm_start, W)).toBe(VM_FAULT.SIGBUS);
    expect(hugetlbfs_fallocate(m, mm, file, FALLOC_FL_PUNCH_HOLE, 0, MB2)).toBe(-EOPNOTSUPP);
  });

  it('fallocate preallocates into the page cache, consuming existing reservations', () => {
    const { m, h } = boot(strategy, { cmdline: 'hugepages=4' });
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const file = hugetlbfs_create(m, sb, 'f');
    const mm = hugetlbNewMm(m);
    const vma = hugetlbfs_file_mmap(m, mm, file, { length: 2 * MB2, shared: true }) as VmAreaStruct;
    expect(hugetlbfs_fallocate(m, mm, file, 0, 0, 3 * MB2)).toBe(0);
    // Pages 0–1 used their reservations, page 2 an unreserved free folio; the file grew.
    expect(counts(h)).toEqual({ nr: 4, free: 1, resv: 0, surplus: 0, max: 4 });
    expect(file.i_size).toBe(3 * MB2);
    expect(file.pageCache.size).toBe(3);
    expect(folio_ref_count(m, file.pageCache.get(0)!)).toBe(512);
    expect(hugetlb_fault(m, vma, vma.vm_start, 0)).toBe(0); // maps the preallocated page
    expect(counts(h)).toEqual({ nr: 4, free: 1, resv: 0, surplus: 0, max: 4 });
    do_munmap(m, vma);
    expect(hugetlbfs_umount(m, sb)).toBe(0);
    expect(counts(h)).toEqual({ nr: 4, free: 4, resv: 0, surplus: 0, max: 4 });
  });

  it('mmap rejects unaligned lengths and offsets with -EINVAL, changing nothing', () => {
    const { m } = boot(strategy, { cmdline: 'hugepages=4' });
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const file = hugetlbfs_create(m, sb, 'f');
    const mm = hugetlbNewMm(m);
    expectUnchanged(m, () => expect(hugetlbfs_file_mmap(m, mm, file, { length: MB2 + 4096, shared: true })).toBe(-EINVAL));
    expectUnchanged(m, () => expect(hugetlbfs_file_mmap(m, mm, file, { length: MB2, offset: 4096, shared: true })).toBe(-EINVAL));
  });
});

describe.each(STRATEGIES)('hugetlbfs subpools: size= and min_size= (%s)', (strategy) => {
  it('min_size reserves at mount; size limits reservations and faults', () => {
    const { m, h } = boot(strategy, { cmdline: 'hugepages=8' });
    // min_size=2 pages is reserved globally at mount time.
    const sb = hugetlbfs_mount(m, { size: 3 * MB2, min_size: 2 * MB2 }) as HugetlbfsSbInfo;
    expect(counts(h)).toEqual({ nr: 8, free: 8, resv: 2, surplus: 0, max: 8 });
    expect([sb.spool!.max_hpages, sb.spool!.min_hpages, sb.spool!.rsv_hpages]).toEqual([3, 2, 2]);
    const file = hugetlbfs_create(m, sb, 'f');
    const mm = hugetlbNewMm(m);
    // Reserving 4 pages exceeds size=3: -ENOMEM, nothing changes.
    expectUnchanged(m, () => expect(hugetlbfs_file_mmap(m, mm, file, { length: 4 * MB2, shared: true })).toBe(-ENOMEM));
    // Reserving 3: the subpool's 2 minimum reservations cover two, one more is taken globally.
    const vma = hugetlbfs_file_mmap(m, mm, file, { length: 3 * MB2, shared: true }) as VmAreaStruct;
    expect(counts(h)).toEqual({ nr: 8, free: 8, resv: 3, surplus: 0, max: 8 });
    expect([sb.spool!.used_hpages, sb.spool!.rsv_hpages]).toEqual([3, 0]);
    hugetlb_fault(m, vma, vma.vm_start, W);
    expect(counts(h)).toEqual({ nr: 8, free: 7, resv: 2, surplus: 0, max: 8 });
    // Truncation: the freed folio gives its page back to the subpool (used 3 → 2, not below the
    // minimum, so no reservation is restored), then the 2 unconsumed pages go back too; the subpool,
    // now below its minimum, keeps them as its own reservations: no global reservation is returned.
    do_munmap(m, vma);
    hugetlbfs_setattr(m, file, 0);
    expect([sb.spool!.used_hpages, sb.spool!.rsv_hpages]).toEqual([0, 2]);
    expect(counts(h)).toEqual({ nr: 8, free: 8, resv: 2, surplus: 0, max: 8 });
    // Unmount releases the minimum.
    expect(hugetlbfs_umount(m, sb)).toBe(0);
    expect(counts(h)).toEqual({ nr: 8, free: 8, resv: 0, surplus: 0, max: 8 });
  });

  it('a MAP_NORESERVE fault still counts against size=', () => {
    const { m, h } = boot(strategy, { cmdline: 'hugepages=4' });
    const sb = hugetlbfs_mount(m, { size: MB2 }) as HugetlbfsSbInfo;
    const file = hugetlbfs_create(m, sb, 'f');
    const mm = hugetlbNewMm(m);
    const vma = hugetlbfs_file_mmap(m, mm, file, { length: 2 * MB2, shared: true, noreserve: true }) as VmAreaStruct;
    expect(hugetlb_fault(m, vma, vma.vm_start, W)).toBe(0);
    expectUnchanged(m, () => expect(hugetlb_fault(m, vma, vma.vm_start + MB2, W)).toBe(VM_FAULT.SIGBUS));
    expect(counts(h)).toEqual({ nr: 4, free: 3, resv: 0, surplus: 0, max: 4 });
  });

  it('mount options are validated as hugetlbfs_validate does', () => {
    const { m, h } = boot(strategy, { cmdline: 'hugepages=4' });
    expectUnchanged(m, () => expect(hugetlbfs_mount(m, { size: MB2, min_size: 2 * MB2 })).toBe(-EINVAL));
    expectUnchanged(m, () => expect(hugetlbfs_mount(m, { pagesize: '4M' })).toBe(-EINVAL));
    // min_size above what the pool can reserve: hugepage_new_subpool fails → -ENOMEM.
    expectUnchanged(m, () => expect(hugetlbfs_mount(m, { min_size: 5 * MB2 })).toBe(-ENOMEM));
    // size=50% of max_huge_pages (4) is 2 pages.
    const sb = hugetlbfs_mount(m, { size: '50%' }) as HugetlbfsSbInfo;
    expect(sb.spool!.max_hpages).toBe(2);
    expect(counts(h).resv).toBe(0);
  });
});
