import { ReplayIds, defineReplayableOperation, replayOptions, type JsonValue, type Machine, type Pfn, type ReplayableOperation, type ReplayableOperations } from '@mm/core';
import { injectable } from 'tsyringe';
import { kvm_gmem_create, type GmemCreateOptions } from './gmem/create.js';
import type { GmemFile } from './gmem/gmem-file.js';
import { kvm_gmem_get_pfn } from './gmem/get-pfn.js';
import { kvm_gmem_set_attributes } from './gmem/attributes.js';
import { kvm_gmem_mmap, vm_munmap } from './gmem/mmap.js';
import { kvm_gmem_fallocate, kvm_gmem_release } from './gmem/truncate.js';
import { kvm_create_vm, type Kvm } from './kvm/kvm.js';
import { pin_user_pages, unpin_user_page, unpin_user_pages } from './mm/gup.js';
import { handle_mm_fault, type VmAreaStruct } from './mm/vma.js';
import type { KvmMemoryAttributes2 } from './uapi.js';

/**
 * guest_memfd's replayable operations (the core's `ReplayableOperations`), so that a recorded
 * scenario can create VMs and guest_memfd files, fault, convert, pin and unpin, and a trace replays
 * it. VMs, files and VMAs are named by ids handed out in creation order.
 *
 * @module
 */

const CREATE_OPTIONS = ['conversion', 'backing', 'order', 'hugePageSize'];

/**
 * Per machine: the VMs, files and VMAs the operations created, and the operations:
 * `kvm_create_vm(supportsInitShared?)` → VM id; `kvm_gmem_create(vm, size, flags, options?)` → file
 * id (`options` a JSON object with `kvm_gmem_create`'s options: `conversion`, `backing`, `order`,
 * `hugePageSize`); `kvm_gmem_get_pfn(file, index, isPrivate?)` → PFN or negative errno (a guest
 * fault); `kvm_gmem_set_attributes(file, offset, size, attributes, flags)` → 0, or
 * `[-EAGAIN, error_offset]` (a conversion); `kvm_gmem_mmap(file, pgoff, nrPages)` → VMA id or
 * negative errno; `handle_mm_fault(vma, pgoff)` → 0 or `VM_FAULT_*` (a host fault through a VMA of a
 * guest_memfd: the operation name is this package's); `pin_user_pages(vma, pgoff, nrPages, gupFlags)`
 * → the pinned PFNs, or a negative errno; `unpin_user_page(pfn)`; `unpin_user_pages(pfns)`;
 * `vm_munmap(vma)`; `kvm_gmem_fallocate(file, mode, offset, len)` → 0 or negative errno (allocate,
 * or punch a hole with FALLOC_FL_PUNCH_HOLE); `kvm_gmem_release(file)`.
 */
@injectable()
export class GuestMemfdReplayOperations implements ReplayableOperations {
  /** VMs created by `kvm_create_vm`, by id. */
  readonly vms = new ReplayIds<Kvm>('KVM VM');
  /** Files created by `kvm_gmem_create`, by id. */
  readonly files = new ReplayIds<GmemFile>('guest_memfd file');
  /** VMAs created by `kvm_gmem_mmap`, by id. */
  readonly vmas = new ReplayIds<VmAreaStruct>('guest_memfd VMA');
  /** The operations. */
  readonly operations: readonly ReplayableOperation[] = [
    defineReplayableOperation('kvm_create_vm', ['boolean?'], (m: Machine, supportsInitShared?: boolean) =>
      this.vms.add(kvm_create_vm(m, supportsInitShared === undefined ? {} : { supportsInitShared })),
    ),
    defineReplayableOperation('kvm_gmem_create', ['int', 'int', 'int', 'json?'], (m: Machine, vm: number, size: number, flags: number, options?: JsonValue) => {
      const kvm = this.vms.get(vm, 'kvm_gmem_create');
      return this.files.add(kvm_gmem_create(m, kvm, size, flags, replayOptions<GmemCreateOptions>('kvm_gmem_create', options, CREATE_OPTIONS)));
    }),
    defineReplayableOperation('kvm_gmem_get_pfn', ['int', 'int', 'boolean?'], (m: Machine, file: number, index: number, isPrivate?: boolean) =>
      kvm_gmem_get_pfn(m, this.files.get(file, 'kvm_gmem_get_pfn'), index, isPrivate ?? true),
    ),
    defineReplayableOperation('kvm_gmem_set_attributes', ['int', 'int', 'int', 'int', 'int'], (m: Machine, file: number, offset: number, size: number, attributes: number, flags: number) => {
      const args: KvmMemoryAttributes2 = { offset, size, attributes, flags };
      const ret = kvm_gmem_set_attributes(m, this.files.get(file, 'kvm_gmem_set_attributes'), args);
      return ret === 0 ? 0 : [ret, args.error_offset ?? null];
    }),
    defineReplayableOperation('kvm_gmem_mmap', ['int', 'int', 'int'], (m: Machine, file: number, pgoff: number, nrPages: number) => {
      const vma = kvm_gmem_mmap(m, this.files.get(file, 'kvm_gmem_mmap'), pgoff, nrPages);
      return typeof vma === 'number' ? vma : this.vmas.add(vma);
    }),
    defineReplayableOperation('handle_mm_fault', ['int', 'int'], (m: Machine, vma: number, pgoff: number) => handle_mm_fault(m, this.vmas.get(vma, 'handle_mm_fault'), pgoff)),
    defineReplayableOperation('pin_user_pages', ['int', 'int', 'int', 'int'], (m: Machine, vma: number, pgoff: number, nrPages: number, gupFlags: number) => {
      const pages: Pfn[] = [];
      const n = pin_user_pages(m, this.vmas.get(vma, 'pin_user_pages'), pgoff, nrPages, gupFlags, pages);
      return n < 0 ? n : pages;
    }),
    defineReplayableOperation('unpin_user_page', ['pfn'], (m: Machine, page: Pfn) => unpin_user_page(m, page)),
    defineReplayableOperation('unpin_user_pages', ['pfn[]'], (m: Machine, pages: Pfn[]) => unpin_user_pages(m, pages)),
    defineReplayableOperation('vm_munmap', ['int'], (m: Machine, vma: number) => {
      vm_munmap(m, this.vmas.get(vma, 'vm_munmap'));
      this.vmas.remove(vma);
    }),
    defineReplayableOperation('kvm_gmem_fallocate', ['int', 'int', 'int', 'int'], (m: Machine, file: number, mode: number, offset: number, len: number) =>
      kvm_gmem_fallocate(m, this.files.get(file, 'kvm_gmem_fallocate'), mode, offset, len),
    ),
    defineReplayableOperation('kvm_gmem_release', ['int'], (m: Machine, file: number) => {
      kvm_gmem_release(m, this.files.get(file, 'kvm_gmem_release'));
      this.files.remove(file);
    }),
  ];
}
