import { describe, expect, it } from 'vitest';
import {
  EAGAIN,
  captureMachineState,
  diffMachineState,
  folio_get,
  folio_get_owner_ops,
  folio_put,
  lru_add_drain_all,
  type Folio,
  type Machine,
  type Pfn,
} from '@mm/core';
import {
  GMEM_PRIVATE,
  GMEM_SHARED,
  GUEST_MEMFD_FLAG_MMAP,
  GUP_PIN_COUNTING_BIAS,
  GuestMemfd,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  VM_FAULT_SIGBUS,
  FOLL_LONGTERM,
  folioAt,
  handle_mm_fault,
  kvm_create_vm,
  kvm_gmem_create,
  kvm_gmem_get_pfn,
  kvm_gmem_mmap,
  kvm_gmem_set_attributes,
  pin_user_pages,
  unpin_user_page,
  type GmemConversion,
  type GmemFile,
  type VmAreaStruct,
  type KvmMemoryAttributes2,
} from '../src/index.js';
import { STRATEGIES, fileState, machine, pendingIndices } from './helpers.js';

const PAGE = 4096;

/** A 16-page private guest_memfd with [4, 8) shared, mapped whole, indices 4 and 5 faulted and pinned. */
function setup(m: Machine, conversion: GmemConversion): { file: GmemFile; vma: VmAreaStruct; pins: Pfn[] } {
  const vm = kvm_create_vm(m);
  const file = kvm_gmem_create(m, vm, 16 * PAGE, GUEST_MEMFD_FLAG_MMAP, { conversion });
  expect(kvm_gmem_set_attributes(m, file, { offset: 4 * PAGE, size: 4 * PAGE, attributes: 0, flags: 0 })).toBe(0);
  const vma = kvm_gmem_mmap(m, file, 0, 16) as VmAreaStruct;
  const pins: Pfn[] = [];
  expect(pin_user_pages(m, vma, 4, 2, FOLL_LONGTERM, pins)).toBe(2);
  return { file, vma, pins };
}

const toPrivate = { offset: 4 * PAGE, size: 4 * PAGE, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: 0 };

describe.each(STRATEGIES)('VM lifecycle (strategy %s)', (strategy) => {
  it('serves host faults on shared indices only; a private index gives SIGBUS and changes nothing', () => {
    const m = machine(strategy);
    const { file, vma } = setup(m, 'synchronous');
    const before = captureMachineState(m);
    expect(handle_mm_fault(m, vma, 0)).toBe(VM_FAULT_SIGBUS);
    expect(handle_mm_fault(m, vma, 8)).toBe(VM_FAULT_SIGBUS);
    expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
    expect(folioAt(file, 0)).toBe(-1);
    expect(handle_mm_fault(m, vma, 6)).toBe(0);
    expect(m.memmap.mapcount[vma.ptes[6]!]).toBe(0); // _mapcount is stored offset by -1: one mapping
  });

  it('pins take GUP_PIN_COUNTING_BIAS on small folios: 1 page cache + 1 PTE + 1 LRU batch + 1024', () => {
    const m = machine(strategy);
    const { file, pins } = setup(m, 'synchronous');
    expect(pins).toEqual([folioAt(file, 4), folioAt(file, 5)]);
    // page cache (1 per page) + the PTE's reference + the lru_add batch (not drained: < 31 folios) + the pin
    expect(m.memmap.refcount[pins[0]!]).toBe(1 + 1 + 1 + GUP_PIN_COUNTING_BIAS);
  });

  it('synchronous: EAGAIN at the first pinned folio, nothing converted; success once unpinned', () => {
    const m = machine(strategy);
    const { file, pins } = setup(m, 'synchronous');
    lru_add_drain_all(m);
    const before = fileState(m, file);
    const args: KvmMemoryAttributes2 = { ...toPrivate };
    expect(kvm_gmem_set_attributes(m, file, args)).toBe(-EAGAIN);
    expect(args.error_offset).toBe(4 * PAGE);
    // Attributes and page cache unchanged; the host PTEs were zapped (as the kernel leaves them), so
    // the PTE references are gone: 1 (page cache) + 1024 (pin).
    expect(Array.from(file.attributes.subarray(4, 8))).toEqual([GMEM_SHARED, GMEM_SHARED, GMEM_SHARED, GMEM_SHARED]);
    expect(m.memmap.refcount[pins[0]!]).toBe(1 + GUP_PIN_COUNTING_BIAS);
    expect(fileState(m, file).map((s) => s.split(':').slice(0, 3).join(':'))).toEqual(before.map((s) => s.split(':').slice(0, 3).join(':')));
    unpin_user_page(m, pins[0]!);
    const again: KvmMemoryAttributes2 = { ...toPrivate };
    expect(kvm_gmem_set_attributes(m, file, again)).toBe(-EAGAIN);
    expect(again.error_offset).toBe(5 * PAGE);
    unpin_user_page(m, pins[1]!);
    expect(kvm_gmem_set_attributes(m, file, { ...toPrivate })).toBe(0);
    expect(Array.from(file.attributes)).toEqual(new Array(16).fill(GMEM_PRIVATE));
    expect(m.memmap.refcount[pins[0]!]).toBe(1);
  });

  it('deferred: the pinned folios become pending, complete in the refcount-0 callback', () => {
    const m = machine(strategy);
    const { file, vma, pins } = setup(m, 'deferred');
    const gmem = m.container.resolve(GuestMemfd);
    const freed: string[] = [];
    m.trace.on('folio_freed', (e) => freed.push(`${e.folio}:${e.owner}`));
    expect(kvm_gmem_set_attributes(m, file, { ...toPrivate })).toBe(0);
    expect(pendingIndices(file)).toEqual([4, 5]);
    expect(Array.from(file.attributes.subarray(4, 8))).toEqual(new Array(4).fill(GMEM_PRIVATE));
    // Out of the page cache, only the pin left: the PTE, LRU batch and page-cache references are gone.
    expect(folioAt(file, 4)).toBe(-1);
    expect(m.memmap.refcount[pins[0]!]).toBe(GUP_PIN_COUNTING_BIAS);
    expect(folio_get_owner_ops(m, pins[0]! as Folio)).toBe(strategy === 'owner-ops' ? gmem : null);
    expect(handle_mm_fault(m, vma, 4)).toBe(VM_FAULT_SIGBUS);
    expect(kvm_gmem_get_pfn(m, file, 4)).toBe(-EAGAIN);
    unpin_user_page(m, pins[0]!);
    expect(freed).toEqual([`${pins[0]}:guest_memfd`]);
    expect(pendingIndices(file)).toEqual([5]);
    expect(folioAt(file, 4)).toBe(pins[0]);
    expect(m.memmap.refcount[pins[0]!]).toBe(1);
    expect(folio_get_owner_ops(m, pins[0]! as Folio)).toBeNull();
    expect(kvm_gmem_get_pfn(m, file, 4)).toBe(pins[0]);
    unpin_user_page(m, pins[1]!);
    expect(pendingIndices(file)).toEqual([]);
    expect(gmem.freeCalls).toBe(2);
    expect(freed).toEqual([`${pins[0]}:guest_memfd`, `${pins[1]}:guest_memfd`]);
  });

  it('the callback runs exactly once per 1→0 transition, and only for pending folios', () => {
    const m = machine(strategy);
    const { file, pins } = setup(m, 'deferred');
    const gmem = m.container.resolve(GuestMemfd);
    const calls: number[] = [];
    m.trace.on('folio_freed', (e) => e.owner === 'guest_memfd' && calls.push(e.folio));
    const f = pins[0]! as Folio;
    folio_get(m, f); // a speculative reference, e.g. a PFN walker
    expect(kvm_gmem_set_attributes(m, file, { ...toPrivate })).toBe(0);
    unpin_user_page(m, f);
    expect(calls).toEqual([]); // 1 reference left
    folio_put(m, f);
    expect(calls).toEqual([f]);
    // Make it shared and pending again: a second 1→0 transition gives a second call, not more.
    expect(kvm_gmem_set_attributes(m, file, { offset: 4 * PAGE, size: PAGE, attributes: 0, flags: 0 })).toBe(0);
    folio_get(m, f);
    expect(kvm_gmem_set_attributes(m, file, { offset: 4 * PAGE, size: PAGE, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: 0 })).toBe(0);
    expect(pendingIndices(file)).toEqual([4, 5]);
    folio_put(m, f);
    expect(calls).toEqual([f, f]);
    unpin_user_page(m, pins[1]!);
    expect(calls).toEqual([f, f, pins[1]]);
    expect(gmem.freeCalls).toBe(3);
  });
});

describe('identical final states', () => {
  /** Run the lifecycle to completion with one design; return the final machine state. */
  function run(strategy: (typeof STRATEGIES)[number], conversion: GmemConversion) {
    const m = machine(strategy);
    const { file, pins } = setup(m, conversion);
    const r = kvm_gmem_set_attributes(m, file, { ...toPrivate });
    expect(r).toBe(conversion === 'synchronous' ? -EAGAIN : 0);
    for (const p of pins) unpin_user_page(m, p);
    if (conversion === 'synchronous') expect(kvm_gmem_set_attributes(m, file, { ...toPrivate })).toBe(0);
    lru_add_drain_all(m);
    return { m, file, state: captureMachineState(m) };
  }

  it('both designs under both strategies end in the same machine state', () => {
    const base = run('owner-ops', 'synchronous');
    for (const s of STRATEGIES) {
      for (const c of ['synchronous', 'deferred'] as const) {
        const r = run(s, c);
        expect(diffMachineState(base.state, r.state), `${s}/${c}`).toEqual([]);
        expect(fileState(r.m, r.file)).toEqual(fileState(base.m, base.file));
      }
    }
  });
});
