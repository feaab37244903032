import { captureMachineState, diffMachineState, restoreMachineCheckpoint, saveMachineCheckpoint, type Machine, type Pfn } from '@mm/core';
import { describe, expect, it } from 'vitest';
import {
  FOLL_LONGTERM,
  GUEST_MEMFD_FLAG_INIT_SHARED,
  GUEST_MEMFD_FLAG_MMAP,
  GuestMemfd,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  handle_mm_fault,
  kvm_create_vm,
  kvm_gmem_create,
  kvm_gmem_mmap,
  kvm_gmem_punch_hole,
  kvm_gmem_release,
  kvm_gmem_set_attributes,
  pin_user_pages,
  unpin_user_page,
  type GmemFile,
  type VmAreaStruct,
} from '../src/index.js';
import { STRATEGIES, fileState, machine, pendingIndices } from './helpers.js';

const PAGE = 4096;

/** The plugin's tables and every file and VMA the test kept (they may have left the tables), as plain data. */
function gmemSnapshot(m: Machine, g: GuestMemfd, files: GmemFile[], vmas: VmAreaStruct[]): unknown {
  return {
    files: [...g.files].map((f) => f.ino),
    vms: g.vms.map((k) => k.id),
    pending: [...g.pending].map(([folio, e]) => [folio, e.file?.ino ?? null, e.index, e.nrPages]),
    lent: [...g.lent].map(([pfn, r]) => [pfn, r.head, r.split, r.nrFreed, [...r.freed]]),
    marks: [...g.marks],
    counters: [g.freeCalls, g.lastIno],
    kept: files.map((f) => ({ state: fileState(m, f), pending: [...f.pending], vmas: f.vmas.length, open: f.fdOpen, evicted: f.evicted })),
    vmas: vmas.map((v) => ({ ptes: [...v.ptes], present: v.present, live: v.live })),
  };
}

describe.each(STRATEGIES)('guest_memfd checkpoint with files, VMAs and pending conversions (%s)', (strategy) => {
  it('a restore puts back every file, VMA, VM and pending conversion exactly, any number of times', () => {
    const m = machine(strategy);
    const g = m.container.resolve(GuestMemfd);
    // The state saved: a 16-page deferred-conversion file, [4, 8) shared and mapped, 4 and 5 pinned
    // and then converted to private while pinned (pending), 6 faulted.
    const vm = kvm_create_vm(m);
    const file = kvm_gmem_create(m, vm, 16 * PAGE, GUEST_MEMFD_FLAG_MMAP, { conversion: 'deferred' });
    expect(kvm_gmem_set_attributes(m, file, { offset: 4 * PAGE, size: 4 * PAGE, attributes: 0, flags: 0 })).toBe(0);
    const vma = kvm_gmem_mmap(m, file, 0, 16) as VmAreaStruct;
    const pins: Pfn[] = [];
    expect(pin_user_pages(m, vma, 4, 2, FOLL_LONGTERM, pins)).toBe(2);
    expect(handle_mm_fault(m, vma, 6)).toBe(0);
    expect(kvm_gmem_set_attributes(m, file, { offset: 4 * PAGE, size: 2 * PAGE, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: 0 })).toBe(0);
    expect(pendingIndices(file)).toEqual([4, 5]);
    m.checkInvariants('setup');
    const cp = saveMachineCheckpoint(m);
    const kept = { files: [file], vmas: [vma] };
    const everything = () => ({ core: captureMachineState(m), gmem: gmemSnapshot(m, g, kept.files, kept.vmas) });
    const saved = everything();
    const expectSame = (a: typeof saved, b: typeof saved): void => {
      expect(diffMachineState(a.core, b.core)).toEqual([]);
      expect(b.gmem).toEqual(a.gmem);
    };

    // One pending conversion completes, the other is cancelled by a hole punch; a fault, a new VM,
    // file and mapping, and a file released.
    const run = (): typeof saved => {
      unpin_user_page(m, pins[0]!);
      kvm_gmem_punch_hole(m, file, 5 * PAGE, PAGE);
      unpin_user_page(m, pins[1]!);
      expect(kvm_gmem_set_attributes(m, file, { offset: 6 * PAGE, size: PAGE, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: 0 })).toBe(0);
      const other = kvm_gmem_create(m, kvm_create_vm(m), 4 * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED, { conversion: 'synchronous' });
      expect(handle_mm_fault(m, kvm_gmem_mmap(m, other, 0, 4) as VmAreaStruct, 1)).toBe(0);
      const gone = kvm_gmem_create(m, vm, 2 * PAGE, 0, { conversion: 'deferred' });
      kvm_gmem_release(m, gone);
      m.checkInvariants('run');
      return everything();
    };
    const first = run();
    expect(first.gmem).not.toEqual(saved.gmem);
    expect(g.pending.size).toBe(0);

    restoreMachineCheckpoint(m, cp);
    expectSame(saved, everything());
    expect([...g.files]).toEqual([file]);
    expect(g.vms[0]).toBe(vm);
    m.checkInvariants('restored');

    // The restored objects are the ones the machine uses: the same run gives the same state again.
    expectSame(first, run());
    restoreMachineCheckpoint(m, cp);
    expectSame(saved, everything());
  });
});
