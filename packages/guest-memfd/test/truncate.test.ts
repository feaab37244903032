import { describe, expect, it } from 'vitest';
import { AS, EAGAIN, VmBugError, folio_nr_pages, lru_add_drain_all, type Folio, type Pfn } from '@mm/core';
import {
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FOLL_LONGTERM,
  GMEM_PRIVATE,
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
  type VmAreaStruct,
  type KvmMemoryAttributes2,
} from '../src/index.js';
import { STRATEGIES, freePages, machine, nodeStat, pendingIndices } from './helpers.js';

const PAGE = 4096;
const PRIVATE = KVM_MEMORY_ATTRIBUTE_PRIVATE;

describe.each(STRATEGIES)('freeing (strategy %s)', (strategy) => {
  it('hole punch frees the range, keeps the attributes; release frees the rest', () => {
    const m = machine(strategy);
    const free0 = freePages(m);
    const file = kvm_gmem_create(m, kvm_create_vm(m), 16 * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
    const vma = kvm_gmem_mmap(m, file, 0, 16) as VmAreaStruct;
    for (let i = 0; i < 16; i++) expect(handle_mm_fault(m, vma, i)).toBe(0);
    expect(nodeStat(m, 'nr_file_pages')).toBe(16);
    expect(nodeStat(m, 'nr_mapped')).toBe(16);
    lru_add_drain_all(m);
    expect(nodeStat(m, 'nr_unevictable')).toBe(16); // AS_UNEVICTABLE mapping: the unevictable LRU
    expect(freePages(m)).toBe(free0 - 16);
    expect(kvm_gmem_set_attributes(m, file, { offset: 0, size: 4 * PAGE, attributes: PRIVATE, flags: 0 })).toBe(0);
    expect(kvm_gmem_fallocate(m, file, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 2 * PAGE, 4 * PAGE)).toBe(0);
    expect(freePages(m)).toBe(free0 - 12);
    expect(folioAt(file, 2)).toBe(-1);
    expect(file.attributes[2]).toBe(GMEM_PRIVATE);
    expect(file.attributes[5]).toBe(0);
    expect(vma.ptes[5]).toBe(-1); // truncation unmapped it
    expect(nodeStat(m, 'nr_mapped')).toBe(16 - 4 - 2); // 0..3 unmapped by the conversion, 4..5 by the hole
    kvm_gmem_release(m, file); // the VMA keeps the inode alive
    expect(file.evicted).toBe(false);
    vm_munmap(m, vma);
    expect(file.evicted).toBe(true);
    expect(freePages(m)).toBe(free0);
    expect(nodeStat(m, 'nr_file_pages')).toBe(0);
    expect(nodeStat(m, 'nr_unevictable')).toBe(0);
    expect(nodeStat(m, 'nr_mapped')).toBe(0);
  });

  it('a pending conversion on a released file is cancelled: the folio is freed at refcount 0', () => {
    const m = machine(strategy);
    const free0 = freePages(m);
    const gmem = m.container.resolve(GuestMemfd);
    const events: string[] = [];
    m.trace.on('kvm_gmem_conversion_cancelled', (e) => events.push(`cancel ${e.index}`));
    m.trace.on('kvm_gmem_conversion_done', (e) => events.push(`done ${e.index}`));
    m.trace.on('folio_freed', (e) => events.push(`freed ${e.owner}`));
    const file = kvm_gmem_create(m, kvm_create_vm(m), 8 * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED, { conversion: 'deferred' });
    const vma = kvm_gmem_mmap(m, file, 0, 8) as VmAreaStruct;
    const pins: Pfn[] = [];
    expect(pin_user_pages(m, vma, 3, 1, FOLL_LONGTERM, pins)).toBe(1);
    vm_munmap(m, vma);
    expect(kvm_gmem_set_attributes(m, file, { offset: 0, size: 8 * PAGE, attributes: PRIVATE, flags: 0 })).toBe(0);
    expect(pendingIndices(file)).toEqual([3]);
    kvm_gmem_release(m, file);
    expect(file.evicted).toBe(true);
    expect(gmem.pending.get(pins[0]!)?.file).toBeNull();
    expect(freePages(m)).toBe(free0 - 1);
    unpin_user_page(m, pins[0]!);
    expect(gmem.pending.size).toBe(0);
    expect(gmem.freeCalls).toBe(1);
    expect(events).toEqual(['cancel 3', 'freed guest_memfd']);
    expect(freePages(m)).toBe(free0);
  });

  it('a hole punched over a pending index cancels it; the index can be reused at once', () => {
    const m = machine(strategy);
    const file = kvm_gmem_create(m, kvm_create_vm(m), 4 * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED, { conversion: 'deferred' });
    const vma = kvm_gmem_mmap(m, file, 0, 4) as VmAreaStruct;
    const pins: Pfn[] = [];
    pin_user_pages(m, vma, 1, 1, 0, pins);
    kvm_gmem_set_attributes(m, file, { offset: PAGE, size: PAGE, attributes: PRIVATE, flags: 0 });
    expect(kvm_gmem_get_pfn(m, file, 1)).toBe(-EAGAIN);
    kvm_gmem_fallocate(m, file, FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE, 0, 4 * PAGE);
    expect(pendingIndices(file)).toEqual([]);
    const pfn = kvm_gmem_get_pfn(m, file, 1);
    expect(pfn).toBeGreaterThan(0);
    expect(pfn).not.toBe(pins[0]);
    const before = freePages(m);
    unpin_user_page(m, pins[0]!);
    expect(freePages(m)).toBe(before + 1);
    expect(folioAt(file, 1)).toBe(pfn);
  });
});

describe.each(STRATEGIES)('large buddy folios (strategy %s)', (strategy) => {
  it('private memory uses order-2 folios; sharing one page splits its folio; the check sees each page', () => {
    const m = machine(strategy);
    const free0 = freePages(m);
    const file = kvm_gmem_create(m, kvm_create_vm(m), 8 * PAGE, GUEST_MEMFD_FLAG_MMAP, { order: 2 });
    const pfn = kvm_gmem_get_pfn(m, file, 5);
    const head = folioAt(file, 4) as Folio;
    expect(pfn).toBe(head + 1);
    expect(folio_nr_pages(m, head)).toBe(4);
    expect(m.memmap.refcount[head]).toBe(4); // one page-cache reference per page; large folios skip the LRU batch
    expect(kvm_gmem_fallocate(m, file, FALLOC_FL_KEEP_SIZE, 0, 8 * PAGE)).toBe(0);
    expect(freePages(m)).toBe(free0 - 8);
    expect(kvm_gmem_set_attributes(m, file, { offset: 6 * PAGE, size: PAGE, attributes: 0, flags: 0 })).toBe(0);
    for (let i = 4; i < 8; i++) {
      expect(folioAt(file, i)).toBe(head + (i - 4));
      expect(m.memmap.refcount[head + (i - 4)]).toBe(1);
    }
    expect(folio_nr_pages(m, folioAt(file, 0) as Folio)).toBe(4); // the other folio is untouched
    const vma = kvm_gmem_mmap(m, file, 0, 8) as VmAreaStruct;
    const pins: Pfn[] = [];
    expect(pin_user_pages(m, vma, 6, 1, 0, pins)).toBe(1);
    const args: KvmMemoryAttributes2 = { offset: 4 * PAGE, size: 4 * PAGE, attributes: PRIVATE, flags: 0 };
    expect(kvm_gmem_set_attributes(m, file, args)).toBe(-EAGAIN);
    expect(args.error_offset).toBe(6 * PAGE); // the pinned page itself, not its former huge folio
    unpin_user_page(m, pins[0]!);
    expect(kvm_gmem_set_attributes(m, file, args)).toBe(0);
    kvm_gmem_release(m, file);
    vm_munmap(m, vma);
    expect(freePages(m)).toBe(free0);
  });

  it('a large folio with an extra reference cannot be split: EAGAIN, nothing changed', () => {
    const m = machine(strategy);
    const file = kvm_gmem_create(m, kvm_create_vm(m), 4 * PAGE, 0, { order: 2 });
    kvm_gmem_get_pfn(m, file, 0);
    const head = folioAt(file, 0) as Folio;
    m.memmap.refcount[head]!++; // a speculative reference
    const args: KvmMemoryAttributes2 = { offset: PAGE, size: PAGE, attributes: 0, flags: 0 };
    expect(kvm_gmem_set_attributes(m, file, args)).toBe(-EAGAIN);
    expect(args.error_offset).toBe(0);
    expect(folio_nr_pages(m, head)).toBe(4);
    expect(file.attributes[1]).toBe(GMEM_PRIVATE);
    m.memmap.refcount[head]!--;
    expect(kvm_gmem_set_attributes(m, file, args)).toBe(0);
  });
});

describe('invariants §13 §6 catch violations', () => {
  it('a private index mapped into host user space', () => {
    const m = machine('owner-ops');
    const file = kvm_gmem_create(m, kvm_create_vm(m), 4 * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
    const vma = kvm_gmem_mmap(m, file, 0, 4) as VmAreaStruct;
    handle_mm_fault(m, vma, 0);
    file.attributes[0] = GMEM_PRIVATE; // bypass the conversion
    expect(() => m.checkInvariants('test')).toThrow(VmBugError);
    expect(() => m.checkInvariants('test')).toThrow(/§6.2/);
  });

  it('an attribute outside {shared, private}', () => {
    const m = machine('mainline');
    const file = kvm_gmem_create(m, kvm_create_vm(m), 4 * PAGE, 0);
    file.attributes[3] = 1;
    expect(() => m.checkInvariants('test')).toThrow(/§6.1/);
  });

  it('a mapping that became migratable (lost AS_INACCESSIBLE)', () => {
    const m = machine('owner-ops');
    const file = kvm_gmem_create(m, kvm_create_vm(m), 4 * PAGE, 0);
    kvm_gmem_get_pfn(m, file, 0);
    file.mapping.flags &= ~AS.AS_INACCESSIBLE;
    expect(() => m.checkInvariants('test')).toThrow(/§6.4/);
  });

  it('a pending folio that lost its owner mark', () => {
    const m = machine('mainline');
    const file = kvm_gmem_create(m, kvm_create_vm(m), 4 * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED, { conversion: 'deferred' });
    const vma = kvm_gmem_mmap(m, file, 0, 4) as VmAreaStruct;
    const pins: Pfn[] = [];
    pin_user_pages(m, vma, 0, 1, 0, pins);
    kvm_gmem_set_attributes(m, file, { offset: 0, size: PAGE, attributes: PRIVATE, flags: 0 });
    m.container.resolve(GuestMemfd).marks[pins[0]!] = 0;
    expect(() => m.checkInvariants('test')).toThrow(/§6 pending/);
  });
});
