/**
 * `@mm/guest-memfd`: guest_memfd (`virt/kvm/guest_memfd.c`) on the `@mm/core` machine — files whose
 * memory KVM guests use, allocated on demand into an inaccessible page cache, with a per-index
 * shared/private attribute, host mmap/faults/GUP pins on shared memory, and the shared→private
 * conversion in both designs: `synchronous` (the in-place conversion being merged upstream, `-EAGAIN`
 * while the host holds references) and `deferred` (the 2024 plan that motivated folio_owner_ops: the
 * conversion completes in the refcount-0 callback). Backing by the buddy allocator, or by hugetlb
 * pages with `@mm/hugetlb`, split when shared and merged back when private.
 *
 * @packageDocumentation
 */

import './events.js';

export {
  GUEST_MEMFD_FLAG_MMAP,
  GUEST_MEMFD_FLAG_INIT_SHARED,
  GUEST_MEMFD_SUPPORTED_FLAGS,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  VM_FAULT_OOM,
  VM_FAULT_SIGBUS,
  VM_FAULT_RETRY,
  type KvmMemoryAttributes2,
} from './uapi.js';
export type { GmemConversionEvent, GmemHugeFolioEvent } from './events.js';
export { guestMemfdPlugin } from './plugin.js';
export { Kvm, kvm_create_vm, type KvmCreateOptions } from './kvm/kvm.js';
export { mapping_set_inaccessible, mapping_set_unevictable } from './mm/address-space.js';
export { VmAreaStruct, handle_mm_fault, set_pte_range, zap_pte, zap_vma_range, type VmOperationsStruct } from './mm/vma.js';
export {
  GUP_PIN_COUNTING_BIAS,
  FOLL_WRITE,
  FOLL_GET,
  FOLL_LONGTERM,
  FOLL_PIN,
  folio_maybe_dma_pinned,
  try_grab_folio,
  gup_put_folio,
  pin_user_pages,
  unpin_user_page,
  unpin_user_pages,
} from './mm/gup.js';
export { splitFolioToOrder0, mergeOrder0ToFolio } from './mm/split.js';
export { GmemFile, GMEM_SHARED, GMEM_PRIVATE, GMEM_GUEST_MAPPED, GMEM_PENDING, type GmemConversion } from './gmem/gmem-file.js';
export { GuestMemfd, MAINLINE_BRANCH_GUEST_MEMFD, GMEM_MARK_PENDING, GMEM_MARK_HUGETLB, type PendingConversion } from './gmem/guest-memfd.js';
export { kvm_gmem_create, kvm_gmem_migrate_folio, GMEM_MAX_PAGES, type GmemCreateOptions } from './gmem/create.js';
export { kvm_gmem_get_folio, folioAt, NO_FOLIO } from './gmem/filemap.js';
export { kvm_gmem_mmap, kvm_gmem_fault_user_mapping, vm_munmap, unmap_mapping_pages } from './gmem/mmap.js';
export { kvm_gmem_get_pfn } from './gmem/get-pfn.js';
export { kvm_gmem_set_attributes, __kvm_gmem_set_attributes, kvm_gmem_is_safe_for_conversion, kvm_gmem_range_has_attributes, kvm_gmem_invalidate } from './gmem/attributes.js';
export { kvm_gmem_handle_folio_put, kvm_gmem_make_pending, kvm_gmem_cancel_pending } from './gmem/pending.js';
export { kvm_gmem_fallocate, kvm_gmem_punch_hole, kvm_gmem_allocate, kvm_gmem_release, kvm_gmem_evict_inode, truncate_inode_pages_range } from './gmem/truncate.js';
export {
  GmemHugetlbAllocator,
  kvm_gmem_split_folio_in_filemap,
  kvm_gmem_merge_folio_in_filemap,
  type HugetlbBacking,
  type LentHugeFolio,
} from './gmem/hugetlb-backing.js';
export { GuestMemfdInvariants } from './gmem/invariants.js';
