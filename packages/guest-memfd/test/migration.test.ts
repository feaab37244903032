import { describe, expect, it } from 'vitest';
import {
  AS,
  EOPNOTSUPP,
  VM_EVENT,
  GFP_HIGHUSER_MOVABLE,
  MIGRATE_MODE,
  compact_node,
  folio_alloc,
  folio_get,
  folio_mapping,
  folio_put,
  lru_add_drain_all,
  mapping_inaccessible,
  mapping_unevictable,
  move_to_new_folio,
  type Folio,
  type Pfn,
} from '@mm/core';
import {
  GUEST_MEMFD_FLAG_INIT_SHARED,
  GUEST_MEMFD_FLAG_MMAP,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  folioAt,
  kvm_create_vm,
  kvm_gmem_create,
  kvm_gmem_get_pfn,
  kvm_gmem_mmap,
  kvm_gmem_set_attributes,
  pin_user_pages,
  unpin_user_page,
  type VmAreaStruct,
} from '../src/index.js';
import { STRATEGIES, machine, pendingIndices } from './helpers.js';

const PAGE = 4096;

describe.each(STRATEGIES)('never migrated (strategy %s)', (strategy) => {
  it('the mapping is inaccessible and unevictable; move_to_new_folio refuses with EOPNOTSUPP', () => {
    const m = machine(strategy);
    const file = kvm_gmem_create(m, kvm_create_vm(m), 4 * PAGE, 0);
    kvm_gmem_get_pfn(m, file, 0);
    const src = folioAt(file, 0) as Folio;
    const mapping = folio_mapping(m, src);
    expect(mapping).toBe(file.mapping);
    expect(mapping_inaccessible(mapping!)).toBe(true);
    expect(mapping_unevictable(mapping!)).toBe(true);
    const dst = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0) as Folio;
    expect(move_to_new_folio(m, dst, src, MIGRATE_MODE.MIGRATE_SYNC)).toBe(-EOPNOTSUPP);
    expect(folioAt(file, 0)).toBe(src);
    folio_put(m, dst);
  });

  it('compaction leaves every guest_memfd folio where it is, including a pending one', () => {
    const m = machine(strategy);
    const file = kvm_gmem_create(m, kvm_create_vm(m), 64 * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED, { conversion: 'deferred' });
    // Interleave guest_memfd pages with freed movable pages, so compaction has work around them.
    const holes: Folio[] = [];
    for (let i = 0; i < 64; i++) {
      holes.push(folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0) as Folio);
      kvm_gmem_get_pfn(m, file, i, false);
    }
    for (const h of holes) folio_put(m, h);
    lru_add_drain_all(m);
    const vma = kvm_gmem_mmap(m, file, 0, 64) as VmAreaStruct;
    const pins: Pfn[] = [];
    pin_user_pages(m, vma, 5, 1, 0, pins);
    const spec = folioAt(file, 6) as Folio;
    folio_get(m, spec); // a speculative reference keeps index 6 pending too
    expect(kvm_gmem_set_attributes(m, file, { offset: 0, size: 8 * PAGE, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: 0 })).toBe(0);
    expect(pendingIndices(file)).toEqual([5, 6]);
    const before = Array.from({ length: 64 }, (_, i) => folioAt(file, i));
    compact_node(m, 0);
    expect(m.vmEvents[VM_EVENT.compact_migrate_scanned]).toBeGreaterThan(0);
    expect(m.vmEvents[VM_EVENT.compact_isolated]).toBe(0); // the only LRU folios are guest_memfd's
    expect(Array.from({ length: 64 }, (_, i) => folioAt(file, i))).toEqual(before);
    expect(pendingIndices(file)).toEqual([5, 6]);
    unpin_user_page(m, pins[0]!);
    folio_put(m, spec);
    expect(pendingIndices(file)).toEqual([]);
    expect(folioAt(file, 5)).toBe(pins[0]);
    expect(folioAt(file, 6)).toBe(spec);
  });

  it('control: without AS_INACCESSIBLE the same folios are isolated for migration', () => {
    const m = machine(strategy, [], { debugVm: false }); // the §6.4 check would object to the cleared flag
    const file = kvm_gmem_create(m, kvm_create_vm(m), 64 * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
    file.mapping.flags &= ~AS.AS_INACCESSIBLE;
    for (let i = 0; i < 64; i++) kvm_gmem_get_pfn(m, file, i, false);
    lru_add_drain_all(m);
    compact_node(m, 0);
    expect(m.vmEvents[VM_EVENT.compact_isolated]).toBeGreaterThan(0);
  });
});
