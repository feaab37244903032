import { describe, expect, it } from 'vitest';
import { EBUSY, EINVAL, ENOMEM, type Folio } from '@mm/core';
import {
  FAULT_FLAG_WRITE,
  VM_FAULT,
  do_munmap,
  folio_isolate_hugetlb,
  folio_putback_hugetlb,
  hugetlb_cgroup_from_folio,
  hugetlb_fault,
  hugetlbAttachMm,
  hugetlbCgroupCreate,
  hugetlbCgroupRead,
  hugetlbCgroupRmdir,
  hugetlbCgroupWrite,
  hugetlbfs_create,
  hugetlbfs_file_mmap,
  hugetlbfs_mount,
  hugetlbfs_setattr,
  hugetlbNewMm,
  hugetlbFiles,
  type HugetlbfsSbInfo,
  type VmAreaStruct,
} from '@mm/hugetlb';
import { MB2, STRATEGIES, boot, counts, expectUnchanged } from './helpers.js';

const W = FAULT_FLAG_WRITE;

describe.each(STRATEGIES)('hugetlb cgroup (%s)', (strategy) => {
  it('a fault over hugetlb.2MB.max gets SIGBUS and counts a max event', () => {
    const { m, pool, h } = boot(strategy, { cmdline: 'hugepages=8' });
    const a = hugetlbCgroupCreate(pool, 'a');
    expect(hugetlbCgroupWrite(pool, a, 'hugetlb.2MB.max', `${2 * MB2}\n`)).toBe(8);
    expect(hugetlbCgroupRead(pool, a, 'hugetlb.2MB.max')).toBe(`${2 * MB2}\n`);
    expect(hugetlbCgroupRead(pool, a, 'hugetlb.2MB.rsvd.max')).toBe('max\n');
    const mm = hugetlbNewMm(m, a);
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const file = hugetlbfs_create(m, sb, 'f');
    const vma = hugetlbfs_file_mmap(m, mm, file, { length: 4 * MB2, shared: true }) as VmAreaStruct;
    // The 4 reservations are charged to a's rsvd counter (no rsvd limit).
    expect(hugetlbCgroupRead(pool, a, 'hugetlb.2MB.rsvd.current')).toBe(`${4 * MB2}\n`);
    expect(hugetlb_fault(m, vma, vma.vm_start, W)).toBe(0);
    expect(hugetlb_fault(m, vma, vma.vm_start + MB2, W)).toBe(0);
    expect(hugetlbCgroupRead(pool, a, 'hugetlb.2MB.current')).toBe(`${2 * MB2}\n`);
    // The third page would make 3 × 2 MiB > max: -ENOSPC from alloc_hugetlb_folio → SIGBUS.
    const before = counts(h);
    expect(hugetlb_fault(m, vma, vma.vm_start + 2 * MB2, W)).toBe(VM_FAULT.SIGBUS);
    expect(counts(h)).toEqual(before);
    expect(hugetlbCgroupRead(pool, a, 'hugetlb.2MB.events')).toBe('max 1\n');
    expect(hugetlbCgroupRead(pool, a, 'hugetlb.2MB.events.local')).toBe('max 1\n');
    expect(a.hugepage[h.index]!.failcnt).toBe(1);
    // The root holds everything hierarchically.
    expect(pool.root_h_cgroup.hugepage[h.index]!.usage).toBe(2 * 512);
    // Limits cannot go below the usage; bad text, read-only files and the root are refused.
    expectUnchanged(m, () => {
      expect(hugetlbCgroupWrite(pool, a, 'hugetlb.2MB.max', `${MB2}`)).toBe(-EBUSY);
      expect(hugetlbCgroupWrite(pool, a, 'hugetlb.2MB.max', 'lots')).toBe(-EINVAL);
      expect(hugetlbCgroupWrite(pool, a, 'hugetlb.2MB.current', '0')).toBe(-EINVAL);
      expect(hugetlbCgroupWrite(pool, pool.root_h_cgroup, 'hugetlb.2MB.max', '0')).toBe(-EINVAL);
    });
    // A limit is rounded down to whole huge pages: 3 MiB allows 1 page.
    const b = hugetlbCgroupCreate(pool, 'b');
    hugetlbCgroupWrite(pool, b, 'hugetlb.2MB.max', '3M');
    expect(hugetlbCgroupRead(pool, b, 'hugetlb.2MB.max')).toBe(`${MB2}\n`);
    expect(hugetlbFiles(pool)['sys/fs/cgroup/a/hugetlb.2MB.current']).toBe(`${2 * MB2}\n`);
  });

  it('an mmap over hugetlb.2MB.rsvd.max fails with -ENOMEM', () => {
    const { m, pool } = boot(strategy, { cmdline: 'hugepages=8' });
    const b = hugetlbCgroupCreate(pool, 'b');
    hugetlbCgroupWrite(pool, b, 'hugetlb.2MB.rsvd.max', `${MB2}`);
    const mm = hugetlbNewMm(m, b);
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const file = hugetlbfs_create(m, sb, 'f');
    expect(hugetlbfs_file_mmap(m, mm, file, { length: 2 * MB2, shared: false })).toBe(-ENOMEM);
    expect(hugetlbCgroupRead(pool, b, 'hugetlb.2MB.events')).toBe('max 1\n');
    expect(hugetlbfs_file_mmap(m, mm, file, { length: MB2, shared: false })).not.toBeTypeOf('number');
    expect(hugetlbCgroupRead(pool, b, 'hugetlb.2MB.rsvd.current')).toBe(`${MB2}\n`);
  });

  it('a parent limit applies to its children; events go up the hierarchy', () => {
    const { m, pool } = boot(strategy, { cmdline: 'hugepages=8' });
    const p = hugetlbCgroupCreate(pool, 'p');
    const c = hugetlbCgroupCreate(pool, 'c', p);
    expect(c.path).toBe('p/c');
    hugetlbCgroupWrite(pool, p, 'hugetlb.2MB.max', `${MB2}`);
    const mm = hugetlbNewMm(m, c);
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const vma = hugetlbfs_file_mmap(m, mm, hugetlbfs_create(m, sb, 'f'), { length: 2 * MB2, shared: true }) as VmAreaStruct;
    expect(hugetlb_fault(m, vma, vma.vm_start, W)).toBe(0);
    expect(hugetlb_fault(m, vma, vma.vm_start + MB2, W)).toBe(VM_FAULT.SIGBUS);
    expect([hugetlbCgroupRead(pool, c, 'hugetlb.2MB.events'), hugetlbCgroupRead(pool, c, 'hugetlb.2MB.events.local')]).toEqual(['max 1\n', 'max 1\n']);
    expect([hugetlbCgroupRead(pool, p, 'hugetlb.2MB.events'), hugetlbCgroupRead(pool, p, 'hugetlb.2MB.events.local')]).toEqual(['max 1\n', 'max 0\n']);
    expect(p.hugepage[0]!.failcnt + p.hugepage[1]!.failcnt).toBe(1);
  });

  it('rmdir reparents fault charges folio by folio; rsvd charges stay until the reservation goes', () => {
    const { m, pool, h } = boot(strategy, { cmdline: 'hugepages=8' });
    const a = hugetlbCgroupCreate(pool, 'a');
    const mm = hugetlbNewMm(m, a);
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const file = hugetlbfs_create(m, sb, 'f');
    const vma = hugetlbfs_file_mmap(m, mm, file, { length: 4 * MB2, shared: true }) as VmAreaStruct;
    for (let i = 0; i < 3; i++) hugetlb_fault(m, vma, vma.vm_start + i * MB2, W);
    const folios = [0, 1, 2].map((i) => vma.ptes[i]! as Folio);
    expect(folios.map((f) => hugetlb_cgroup_from_folio(m, f))).toEqual([a.id, a.id, a.id]);
    // The cgroup has a task: rmdir is refused.
    expectUnchanged(m, () => expect(hugetlbCgroupRmdir(pool, a)).toBe(-EBUSY));
    hugetlbAttachMm(mm, pool.root_h_cgroup);
    // An isolated folio is off the active list: css_offline cannot move it yet (the kernel would
    // loop until it is put back; the model reports -EBUSY and leaves the cgroup online).
    expect(folio_isolate_hugetlb(m, folios[0]!)).toBe(true);
    expect(hugetlbCgroupRmdir(pool, a)).toBe(-EBUSY);
    expect(a.online).toBe(true);
    expect(a.hugepage[h.index]!.usage).toBe(512); // the two active folios moved already
    expect(hugetlb_cgroup_from_folio(m, folios[1]!)).toBe(pool.root_h_cgroup.id);
    folio_putback_hugetlb(m, folios[0]!);
    expect(hugetlbCgroupRmdir(pool, a)).toBe(0);
    expect(a.online).toBe(false);
    expect(folios.map((f) => hugetlb_cgroup_from_folio(m, f))).toEqual([1, 1, 1]);
    expect(a.hugepage[h.index]!.usage).toBe(0);
    expect(pool.root_h_cgroup.hugepage[h.index]!.usage).toBe(3 * 512); // unchanged by reparenting
    // The offline cgroup keeps its reservation charge (4 pages) until the file goes away.
    expect(a.rsvd_hugepage[h.index]!.usage).toBe(4 * 512);
    do_munmap(m, vma);
    hugetlbfs_setattr(m, file, 0);
    expect(a.rsvd_hugepage[h.index]!.usage).toBe(0);
    expect(pool.root_h_cgroup.hugepage[h.index]!.usage).toBe(0);
    expect(counts(h)).toEqual({ nr: 8, free: 8, resv: 0, surplus: 0, max: 8 });
  });
});
