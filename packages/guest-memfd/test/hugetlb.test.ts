import { describe, expect, it } from 'vitest';
import { EAGAIN, ENODEV, ENOSPC, folio_get_owner_ops, folio_nr_pages, folio_test_hugetlb, type Folio, type FreeDispatchStrategy, type Pfn } from '@mm/core';
import { hugetlbOf, hugetlbPlugin } from '@mm/hugetlb';
import {
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  GUEST_MEMFD_FLAG_INIT_SHARED,
  GUEST_MEMFD_FLAG_MMAP,
  GuestMemfd,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  folioAt,
  handle_mm_fault,
  kvm_create_vm,
  kvm_gmem_create,
  kvm_gmem_fallocate,
  kvm_gmem_get_pfn,
  kvm_gmem_mmap,
  kvm_gmem_release,
  kvm_gmem_set_attributes,
  pin_user_pages,
  unpin_user_page,
  vm_munmap,
  type GmemConversion,
  type KvmMemoryAttributes2,
  type VmAreaStruct,
} from '../src/index.js';
import { guestMemfdHugetlbPlugin } from '../src/hugetlb.js';
import { STRATEGIES, expectErrno, machine, pendingIndices } from './helpers.js';

const PAGE = 4096;
const HPAGE = 2 << 20;
const NR = 512; // pages per 2 MiB huge page

function boot(strategy: FreeDispatchStrategy, pool = 4) {
  const m = machine(strategy, [hugetlbPlugin({ pools: { '2M': pool } }), guestMemfdHugetlbPlugin()], { memory: '64M' });
  const h = hugetlbOf(m).default_hstate;
  const gmem = m.container.resolve(GuestMemfd);
  const events: string[] = [];
  for (const e of ['kvm_gmem_huge_folio_split', 'kvm_gmem_huge_folio_merge', 'kvm_gmem_huge_folio_release'] as const) {
    m.trace.on(e, (x) => events.push(`${e.slice(20)} ${x.index}`));
  }
  return { m, h, gmem, events };
}

describe.each(STRATEGIES)('hugetlb-backed guest_memfd (strategy %s)', (strategy) => {
  describe.each(['synchronous', 'deferred'] as GmemConversion[])('%s conversion', (conversion) => {
    it('splits a huge page when part of it is shared, merges it when private again, frees it to the pool', () => {
      const { m, h, gmem, events } = boot(strategy);
      expect([h.nr_huge_pages, h.free_huge_pages]).toEqual([4, 4]);
      const file = kvm_gmem_create(m, kvm_create_vm(m), 2 * HPAGE, GUEST_MEMFD_FLAG_MMAP, { backing: 'hugetlb', conversion });
      const pfn = kvm_gmem_get_pfn(m, file, 3);
      const head = folioAt(file, 0) as Folio;
      expect(pfn).toBe(head + 3);
      expect(folio_nr_pages(m, head)).toBe(NR);
      expect(m.memmap.refcount[head]).toBe(NR); // one page-cache reference per page
      expect([h.nr_huge_pages, h.free_huge_pages]).toEqual([4, 3]); // in use, lent to guest_memfd
      expect(hugetlbOf(m).lent.has(head)).toBe(true);
      expect(folio_test_hugetlb(m, head)).toBe(false);
      expect(folio_get_owner_ops(m, head)).toBe(strategy === 'owner-ops' ? gmem : null);

      // Share two pages: the huge folio is split into 512 order-0 pieces, each guest_memfd's.
      expect(kvm_gmem_set_attributes(m, file, { offset: 10 * PAGE, size: 2 * PAGE, attributes: 0, flags: 0 })).toBe(0);
      expect(events).toEqual(['split 0']);
      for (const i of [0, 10, 511]) {
        expect(folioAt(file, i)).toBe(head + i);
        expect(folio_nr_pages(m, (head + i) as Folio)).toBe(1);
        expect(m.memmap.refcount[head + i]).toBe(1);
        expect(gmem.claims((head + i) as Folio)).toBe(true);
        if (strategy === 'owner-ops') expect(folio_get_owner_ops(m, (head + i) as Folio)).toBe(gmem);
      }
      const vma = kvm_gmem_mmap(m, file, 0, 1024) as VmAreaStruct;
      const pins: Pfn[] = [];
      expect(pin_user_pages(m, vma, 10, 1, 0, pins)).toBe(1);
      expect(pins).toEqual([head + 10]);
      expect(handle_mm_fault(m, vma, 11)).toBe(0);
      expect(h.free_huge_pages).toBe(3);

      const args: KvmMemoryAttributes2 = { offset: 10 * PAGE, size: 2 * PAGE, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: 0 };
      if (conversion === 'synchronous') {
        expect(kvm_gmem_set_attributes(m, file, args)).toBe(-EAGAIN);
        expect(args.error_offset).toBe(10 * PAGE);
        expect(events).toEqual(['split 0']);
        unpin_user_page(m, pins[0]!);
        expect(kvm_gmem_set_attributes(m, file, args)).toBe(0);
      } else {
        expect(kvm_gmem_set_attributes(m, file, args)).toBe(0);
        expect(pendingIndices(file)).toEqual([10]);
        expect(events).toEqual(['split 0']); // piece 10 is still referenced: no merge yet
        unpin_user_page(m, pins[0]!); // its callback completes the conversion, then the merge
        expect(pendingIndices(file)).toEqual([]);
      }
      expect(events).toEqual(['split 0', 'merge 0']);
      expect(folio_nr_pages(m, head)).toBe(NR);
      expect(m.memmap.refcount[head]).toBe(NR);
      expect(folioAt(file, 10)).toBe(head);
      expect([h.nr_huge_pages, h.free_huge_pages]).toEqual([4, 3]);

      // Truncate: the whole huge page goes back to the pool.
      expect(kvm_gmem_fallocate(m, file, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, HPAGE)).toBe(0);
      expect(events).toEqual(['split 0', 'merge 0', 'release 0']);
      expect([h.nr_huge_pages, h.free_huge_pages]).toEqual([4, 4]);
      expect(hugetlbOf(m).lent.size).toBe(0);
      expect(gmem.lent.size).toBe(0);
      vm_munmap(m, vma);
      kvm_gmem_release(m, file);
    });
  });

  it('truncating a split huge page with a pinned piece: the pool gets it back when the pin goes', () => {
    const { m, h, gmem, events } = boot(strategy);
    const file = kvm_gmem_create(m, kvm_create_vm(m), HPAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED, { backing: 'hugetlb' });
    const vma = kvm_gmem_mmap(m, file, 0, NR) as VmAreaStruct;
    const pins: Pfn[] = [];
    expect(pin_user_pages(m, vma, 7, 1, 0, pins)).toBe(1); // a shared fault allocates and splits at once
    expect(events).toEqual(['split 0']);
    expect(h.free_huge_pages).toBe(3);
    vm_munmap(m, vma);
    const calls0 = gmem.freeCalls;
    kvm_gmem_release(m, file);
    expect(gmem.freeCalls - calls0).toBe(NR - 1); // every piece but the pinned one reached 0
    expect(h.free_huge_pages).toBe(3);
    unpin_user_page(m, pins[0]!);
    expect(gmem.freeCalls - calls0).toBe(NR);
    expect(events).toEqual(['split 0', 'release 0']);
    expect([h.nr_huge_pages, h.free_huge_pages]).toEqual([4, 4]);
  });

  it('a deferred conversion pending on a piece of a released file is cancelled; the pool still gets the page back', () => {
    const { m, h } = boot(strategy);
    const file = kvm_gmem_create(m, kvm_create_vm(m), HPAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED, { backing: 'hugetlb', conversion: 'deferred' });
    const vma = kvm_gmem_mmap(m, file, 0, NR) as VmAreaStruct;
    const pins: Pfn[] = [];
    pin_user_pages(m, vma, 0, 1, 0, pins);
    vm_munmap(m, vma);
    expect(kvm_gmem_set_attributes(m, file, { offset: 0, size: HPAGE, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: 0 })).toBe(0);
    expect(pendingIndices(file)).toEqual([0]);
    kvm_gmem_release(m, file);
    expect(h.free_huge_pages).toBe(3);
    unpin_user_page(m, pins[0]!);
    expect([h.nr_huge_pages, h.free_huge_pages]).toEqual([4, 4]);
  });

  it('an exhausted pool fails the fault with ENOSPC; unaligned sizes and holes are refused', () => {
    const { m, h } = boot(strategy, 1);
    const vm = kvm_create_vm(m);
    expectErrno(() => kvm_gmem_create(m, vm, HPAGE + PAGE, 0, { backing: 'hugetlb' }), 22);
    expectErrno(() => kvm_gmem_create(m, vm, HPAGE, 0, { backing: 'hugetlb', hugePageSize: 4 << 20 }), 22);
    const file = kvm_gmem_create(m, vm, 2 * HPAGE, 0, { backing: 'hugetlb' });
    expect(kvm_gmem_get_pfn(m, file, 0)).toBeGreaterThan(0);
    expect(h.free_huge_pages).toBe(0);
    expect(kvm_gmem_get_pfn(m, file, NR)).toBe(-ENOSPC);
    expectErrno(() => kvm_gmem_fallocate(m, file, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, PAGE), 22);
    kvm_gmem_release(m, file);
    expect(h.free_huge_pages).toBe(1);
  });
});

it('hugetlb backing needs guestMemfdHugetlbPlugin', () => {
  const m = machine('owner-ops');
  expectErrno(() => kvm_gmem_create(m, kvm_create_vm(m), HPAGE, 0, { backing: 'hugetlb' }), ENODEV);
});
