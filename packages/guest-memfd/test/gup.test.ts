import { describe, expect, it } from 'vitest';
import { EINVAL, GFP_HIGHUSER, folio_alloc, folio_put, type Folio, type Pfn } from '@mm/core';
import {
  FOLL_GET,
  FOLL_PIN,
  GMEM_GUEST_MAPPED,
  GUEST_MEMFD_FLAG_MMAP,
  GUP_PIN_COUNTING_BIAS,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  folioAt,
  folio_maybe_dma_pinned,
  gup_put_folio,
  handle_mm_fault,
  kvm_create_vm,
  kvm_gmem_create,
  kvm_gmem_get_pfn,
  kvm_gmem_mmap,
  kvm_gmem_set_attributes,
  try_grab_folio,
  unpin_user_page,
  unpin_user_pages,
  vm_munmap,
  type VmAreaStruct,
} from '../src/index.js';
import { STRATEGIES, expectErrno, machine, nodeStat } from './helpers.js';

const PAGE = 4096;

describe.each(STRATEGIES)('GUP pins and mappings (strategy %s)', (strategy) => {
  it('a pin on a large folio counts in _pincount and takes one reference; a small one takes the bias', () => {
    const m = machine(strategy);
    const large = folio_alloc(m, GFP_HIGHUSER, 2) as Folio;
    expect(folio_maybe_dma_pinned(m, large)).toBe(false);
    expect(try_grab_folio(m, large, 1, FOLL_PIN)).toBe(0);
    expect(m.memmap.refcount[large]).toBe(2);
    expect(m.memmap.index[large + 1]).toBe(1); // _pincount lives on page 1
    expect(folio_maybe_dma_pinned(m, large)).toBe(true);
    unpin_user_page(m, (large + 3) as Pfn); // any page of the folio
    expect(m.memmap.refcount[large]).toBe(1);
    expect(m.memmap.index[large + 1]).toBe(0);
    expectErrno(() => unpin_user_page(m, large), EINVAL);

    const small = folio_alloc(m, GFP_HIGHUSER, 0) as Folio;
    expect(try_grab_folio(m, small, 2, FOLL_PIN)).toBe(0);
    expect(m.memmap.refcount[small]).toBe(1 + 2 * GUP_PIN_COUNTING_BIAS);
    expectErrno(() => unpin_user_pages(m, [small, small, small]), EINVAL); // only two pins held
    unpin_user_pages(m, [small, small]);
    expect(m.memmap.refcount[small]).toBe(1);
    expect(try_grab_folio(m, small, 1, FOLL_GET)).toBe(0);
    gup_put_folio(m, small, 1, FOLL_GET);
    folio_put(m, small);
    folio_put(m, large);
  });

  it('host mmap/munmap move folio_mapcount and NR_FILE_MAPPED; guest mappings are invalidated by conversions', () => {
    const m = machine(strategy);
    const file = kvm_gmem_create(m, kvm_create_vm(m), 4 * PAGE, GUEST_MEMFD_FLAG_MMAP);
    expect(kvm_gmem_set_attributes(m, file, { offset: 0, size: 2 * PAGE, attributes: 0, flags: 0 })).toBe(0);
    const a = kvm_gmem_mmap(m, file, 0, 4) as VmAreaStruct;
    const b = kvm_gmem_mmap(m, file, 0, 2) as VmAreaStruct;
    expect(handle_mm_fault(m, a, 0)).toBe(0);
    expect(handle_mm_fault(m, b, 0)).toBe(0);
    const f = folioAt(file, 0);
    expect(m.memmap.mapcount[f]! + 1).toBe(2); // two PTEs map the page
    expect(nodeStat(m, 'nr_mapped')).toBe(1); // NR_FILE_MAPPED counts pages, not PTEs
    vm_munmap(m, b);
    expect(m.memmap.mapcount[f]! + 1).toBe(1);
    vm_munmap(m, a);
    expect(m.memmap.mapcount[f]).toBe(-1);
    expect(nodeStat(m, 'nr_mapped')).toBe(0);

    expect(kvm_gmem_get_pfn(m, file, 3)).toBeGreaterThan(0);
    expect(kvm_gmem_get_pfn(m, file, 1, false)).toBe(folioAt(file, 1));
    expect(file.indexFlags[3]! & GMEM_GUEST_MAPPED).toBe(GMEM_GUEST_MAPPED);
    expect(m.memmap.refcount[folioAt(file, 3)]).toBe(2); // page cache + lru_add batch: the guest mapping holds none
    kvm_gmem_set_attributes(m, file, { offset: 2 * PAGE, size: 2 * PAGE, attributes: 0, flags: 0 });
    kvm_gmem_set_attributes(m, file, { offset: 0, size: 2 * PAGE, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: 0 });
    expect(Array.from(file.indexFlags)).toEqual([0, 0, 0, 0]);
  });
});
