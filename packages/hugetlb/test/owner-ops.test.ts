import { describe, expect, it } from 'vitest';
import { EINVAL, FOLIO_OWNER_OPS, MmError, PageListHeads, VmBugError, folio_get_owner_ops, folio_put, list_linked, type Folio } from '@mm/core';
import {
  FAULT_FLAG_WRITE,
  do_munmap,
  folio_isolate_hugetlb,
  folio_putback_hugetlb,
  free_huge_folio,
  hugetlb_fault,
  hugetlb_list_first,
  hugetlbfs_create,
  hugetlbfs_file_mmap,
  hugetlbfs_mount,
  hugetlbNewMm,
  type HugetlbfsSbInfo,
  type VmAreaStruct,
} from '@mm/hugetlb';
import { MB2, STRATEGIES, boot, counts, expectUnchanged, recordFrees } from './helpers.js';

describe.each(STRATEGIES)('hugetlb as a folio owner (%s)', (strategy) => {
  it('the owner callback runs exactly once per folio death, never for an isolated folio', () => {
    const { m, pool, h } = boot(strategy, { cmdline: 'hugepages=2' });
    const frees = recordFrees(m);
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const mm = hugetlbNewMm(m);
    const vma = hugetlbfs_file_mmap(m, mm, hugetlbfs_create(m, sb, 'f'), { length: 2 * MB2, shared: false }) as VmAreaStruct;
    hugetlb_fault(m, vma, vma.vm_start, FAULT_FLAG_WRITE);
    hugetlb_fault(m, vma, vma.vm_start + MB2, FAULT_FLAG_WRITE);
    const [a, b] = [vma.ptes[0]! as Folio, vma.ptes[1]! as Folio];
    // Series 1: the lru word of an active hugetlb folio carries hugetlb's owner ops (bit 1).
    expect(folio_get_owner_ops(m, a)).toBe(strategy === 'owner-ops' ? pool.ownerOps : null);
    expect((m.memmap.lru[a]! & 3) === FOLIO_OWNER_OPS).toBe(strategy === 'owner-ops');
    // Isolate a onto a caller's list: owner ops cleared, lru now a list link, extra reference.
    const list = new PageListHeads(1);
    expect(folio_isolate_hugetlb(m, a, list, 0)).toBe(true);
    expect(folio_get_owner_ops(m, a)).toBeNull();
    expect(list_linked(m.memmap.lru, a)).toBe(true);
    expect(m.memmap.refcount[a]).toBe(2);
    // Unmapping drops the mapping's reference; the isolation reference keeps it alive: no free.
    do_munmap(m, vma);
    expect(m.memmap.refcount[a]).toBe(1);
    expect(frees).toEqual([{ folio: b, owner: 'hugetlb' }]);
    // Putback restores the owner ops and drops the isolation reference: now a dies, once.
    folio_putback_hugetlb(m, a, list, 0);
    expect(frees).toEqual([
      { folio: b, owner: 'hugetlb' },
      { folio: a, owner: 'hugetlb' },
    ]);
    expect(list.counts[0]).toBe(0);
    expect(counts(h)).toEqual({ nr: 2, free: 2, resv: 0, surplus: 0, max: 2 });
    // Back in the pool, frozen, owner ops still there (series 1).
    expect(folio_get_owner_ops(m, a)).toBe(strategy === 'owner-ops' ? pool.ownerOps : null);
  });

  it('freeing a pool folio twice is refused with EINVAL and changes nothing', () => {
    const { m, h } = boot(strategy, { cmdline: 'hugepages=1' });
    const free = hugetlb_list_first(h.hugepage_freelists, 0) as Folio;
    expectUnchanged(m, () => {
      expect(() => folio_put(m, free)).toThrow(MmError);
      expect(() => free_huge_folio(m, free)).toThrow(expect.objectContaining({ errno: EINVAL }));
      expect(() => folio_putback_hugetlb(m, free)).toThrow(expect.objectContaining({ errno: EINVAL }));
    });
    // A folio cannot be isolated while free (refcount 0, not migratable).
    expectUnchanged(m, () => expect(folio_isolate_hugetlb(m, free)).toBe(false));
  });

  it('the §13 §4 check catches a corrupted pool', () => {
    const { m, h } = boot(strategy, { cmdline: 'hugepages=2' });
    h.free_huge_pages_node[0]!++;
    expect(() => m.checkInvariants('test')).toThrow(VmBugError);
    h.free_huge_pages_node[0]!--;
    m.checkInvariants('test');
    const f = hugetlb_list_first(h.hugepage_freelists, 0) as Folio;
    m.memmap.refcount[f] = 1; // a "free" folio that is not frozen
    expect(() => m.checkInvariants('test')).toThrow(/FREE folio not frozen/);
    m.memmap.refcount[f] = 0;
    h.resv_huge_pages = 3; // more reservations than free folios
    expect(() => m.checkInvariants('test')).toThrow(/resv_huge_pages 3/);
  });
});
