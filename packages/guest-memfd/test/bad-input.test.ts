import { describe, expect, it } from 'vitest';
import { EFAULT, EINVAL, ENODEV, EOPNOTSUPP, ENOMEM, captureMachineState, diffMachineState, createMachine, type Machine } from '@mm/core';
import {
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FOLL_LONGTERM,
  GUEST_MEMFD_FLAG_INIT_SHARED,
  GUEST_MEMFD_FLAG_MMAP,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  VM_FAULT_SIGBUS,
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
  type GmemFile,
  type VmAreaStruct,
} from '../src/index.js';
import { STRATEGIES, expectErrno, fileState, machine } from './helpers.js';

const PAGE = 4096;

/** Expect `fn` to throw `errno` and leave the machine and the file exactly as they were. */
function rejected(m: Machine, file: GmemFile | null, fn: () => unknown, errno: number): void {
  const before = captureMachineState(m);
  const fs = file && fileState(m, file);
  expectErrno(fn, errno);
  expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
  if (file) expect(fileState(m, file)).toEqual(fs);
}

describe.each(STRATEGIES)('bad input (strategy %s)', (strategy) => {
  it('kvm_gmem_create: zero, negative or unaligned size, unknown flags, INIT_SHARED refused by the VM', () => {
    const m = machine(strategy);
    const vm = kvm_create_vm(m);
    rejected(m, null, () => kvm_gmem_create(m, vm, 0, 0), EINVAL);
    rejected(m, null, () => kvm_gmem_create(m, vm, -PAGE, 0), EINVAL);
    rejected(m, null, () => kvm_gmem_create(m, vm, PAGE + 1, 0), EINVAL);
    rejected(m, null, () => kvm_gmem_create(m, vm, PAGE, 1 << 2), EINVAL);
    const coco = kvm_create_vm(m, { supportsInitShared: false });
    rejected(m, null, () => kvm_gmem_create(m, coco, PAGE, GUEST_MEMFD_FLAG_INIT_SHARED), EINVAL);
    rejected(m, null, () => kvm_gmem_create(m, vm, PAGE, 0, { order: 11 }), EINVAL);
    rejected(m, null, () => kvm_gmem_create(m, vm, 2 ** 40, 0), ENOMEM);
    expect(kvm_gmem_create(m, coco, PAGE, GUEST_MEMFD_FLAG_MMAP).size).toBe(PAGE);
  });

  it('kvm_gmem_create needs the plugin', () => {
    const m = createMachine({ memory: '64M', strategy });
    expectErrno(() => kvm_create_vm(m), ENODEV);
  });

  it('set_attributes: unaligned, empty, out-of-range, unknown attributes or flags', () => {
    const m = machine(strategy);
    const file = kvm_gmem_create(m, kvm_create_vm(m), 8 * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
    const P = KVM_MEMORY_ATTRIBUTE_PRIVATE;
    for (const a of [
      { offset: 1, size: PAGE, attributes: P, flags: 0 },
      { offset: 0, size: PAGE + 1, attributes: P, flags: 0 },
      { offset: 0, size: 0, attributes: P, flags: 0 },
      { offset: -PAGE, size: PAGE, attributes: P, flags: 0 },
      { offset: 4 * PAGE, size: 8 * PAGE, attributes: P, flags: 0 },
      { offset: 8 * PAGE, size: PAGE, attributes: P, flags: 0 },
      { offset: 0, size: PAGE, attributes: 1, flags: 0 },
      { offset: 0, size: PAGE, attributes: P, flags: 1 },
    ]) {
      rejected(m, file, () => kvm_gmem_set_attributes(m, file, a), EINVAL);
    }
  });

  it('deferred: a request overlapping a pending conversion is refused in either direction', () => {
    const m = machine(strategy);
    const file = kvm_gmem_create(m, kvm_create_vm(m), 8 * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED, { conversion: 'deferred' });
    const vma = kvm_gmem_mmap(m, file, 0, 8) as VmAreaStruct;
    const pins: number[] = [];
    expect(pin_user_pages(m, vma, 2, 1, FOLL_LONGTERM, pins as never)).toBe(1);
    expect(kvm_gmem_set_attributes(m, file, { offset: 2 * PAGE, size: PAGE, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: 0 })).toBe(0);
    rejected(m, file, () => kvm_gmem_set_attributes(m, file, { offset: 0, size: 4 * PAGE, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: 0 }), EINVAL);
    rejected(m, file, () => kvm_gmem_set_attributes(m, file, { offset: 2 * PAGE, size: PAGE, attributes: 0, flags: 0 }), EINVAL);
    // Outside the pending range requests still work.
    expect(kvm_gmem_set_attributes(m, file, { offset: 4 * PAGE, size: 4 * PAGE, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: 0 })).toBe(0);
    unpin_user_page(m, pins[0]! as never);
    expect(kvm_gmem_set_attributes(m, file, { offset: 0, size: 4 * PAGE, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: 0 })).toBe(0);
  });

  it('faults past the end: SIGBUS inside the VMA, EFAULT outside it and for the guest; nothing changes', () => {
    const m = machine(strategy);
    const file = kvm_gmem_create(m, kvm_create_vm(m), 4 * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
    const vma = kvm_gmem_mmap(m, file, 2, 4) as VmAreaStruct; // indices 2..5, the file has 0..3
    const before = captureMachineState(m);
    expect(handle_mm_fault(m, vma, 4)).toBe(VM_FAULT_SIGBUS);
    expect(kvm_gmem_get_pfn(m, file, 4, false)).toBe(-EFAULT);
    expect(kvm_gmem_get_pfn(m, file, -1, false)).toBe(-EFAULT);
    expect(kvm_gmem_get_pfn(m, file, 0, true)).toBe(-EFAULT); // a private fault on a shared index
    expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
    rejected(m, file, () => handle_mm_fault(m, vma, 1), EFAULT);
    rejected(m, file, () => handle_mm_fault(m, vma, 6), EFAULT);
    rejected(m, file, () => handle_mm_fault(m, vma, 2.5), EINVAL);
    const pages: never[] = [];
    expect(pin_user_pages(m, vma, 4, 1, 0, pages)).toBe(-EFAULT);
    expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
  });

  it('mmap needs GUEST_MEMFD_FLAG_MMAP; fallocate modes, alignment and range; closed files', () => {
    const m = machine(strategy);
    const vm = kvm_create_vm(m);
    const noMmap = kvm_gmem_create(m, vm, 4 * PAGE, 0);
    expect(kvm_gmem_mmap(m, noMmap, 0, 1)).toBe(-ENODEV);
    const file = kvm_gmem_create(m, vm, 4 * PAGE, GUEST_MEMFD_FLAG_MMAP);
    rejected(m, file, () => kvm_gmem_mmap(m, file, -1, 1), EINVAL);
    rejected(m, file, () => kvm_gmem_fallocate(m, file, FALLOC_FL_PUNCH_HOLE, 0, PAGE), EOPNOTSUPP);
    rejected(m, file, () => kvm_gmem_fallocate(m, file, FALLOC_FL_KEEP_SIZE | 0x10, 0, PAGE), EOPNOTSUPP);
    rejected(m, file, () => kvm_gmem_fallocate(m, file, FALLOC_FL_KEEP_SIZE, 1, PAGE), EINVAL);
    rejected(m, file, () => kvm_gmem_fallocate(m, file, FALLOC_FL_KEEP_SIZE, 0, 0), EINVAL);
    rejected(m, file, () => kvm_gmem_fallocate(m, file, FALLOC_FL_KEEP_SIZE, 0, 5 * PAGE), EINVAL);
    const vma = kvm_gmem_mmap(m, file, 0, 4) as VmAreaStruct;
    kvm_gmem_release(m, file);
    rejected(m, file, () => kvm_gmem_release(m, file), EINVAL);
    rejected(m, file, () => kvm_gmem_set_attributes(m, file, { offset: 0, size: PAGE, attributes: 0, flags: 0 }), EINVAL);
    rejected(m, file, () => kvm_gmem_mmap(m, file, 0, 1), EINVAL);
    expect(kvm_gmem_get_pfn(m, file, 0)).toBe(-EFAULT);
    vm_munmap(m, vma);
    expect(file.evicted).toBe(true);
    rejected(m, file, () => vm_munmap(m, vma), EINVAL);
  });

  it('unpin of a page that holds no pin is refused', () => {
    const m = machine(strategy);
    const file = kvm_gmem_create(m, kvm_create_vm(m), 4 * PAGE, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
    const vma = kvm_gmem_mmap(m, file, 0, 4) as VmAreaStruct;
    expect(handle_mm_fault(m, vma, 0)).toBe(0);
    rejected(m, file, () => unpin_user_page(m, vma.ptes[0]! as never), EINVAL);
  });
});
