/**
 * The user-visible ABI of guest_memfd (`include/uapi/linux/kvm.h`), with the kernel's bit values,
 * and the fault results the model returns (`enum vm_fault_reason`, `include/linux/mm_types.h`).
 *
 * @module
 */

/** `GUEST_MEMFD_FLAG_MMAP` (`1ULL << 0`): host user space may `mmap()` the file. */
export const GUEST_MEMFD_FLAG_MMAP = 1 << 0;
/** `GUEST_MEMFD_FLAG_INIT_SHARED` (`1ULL << 1`): every index starts shared (else private). */
export const GUEST_MEMFD_FLAG_INIT_SHARED = 1 << 1;
/**
 * The flags `kvm_gmem_get_supported_flags()` (`include/linux/kvm_host.h`) reports for a VM whose
 * architecture supports INIT_SHARED (advertised as `KVM_CAP_GUEST_MEMFD_FLAGS`).
 */
export const GUEST_MEMFD_SUPPORTED_FLAGS = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED;

/** `KVM_MEMORY_ATTRIBUTE_PRIVATE` (`1ULL << 3`): the only memory attribute; 0 means shared. */
export const KVM_MEMORY_ATTRIBUTE_PRIVATE = 1 << 3;

/**
 * `struct kvm_memory_attributes2`, the argument of the guest_memfd ioctl `KVM_SET_MEMORY_ATTRIBUTES2`
 * of the in-place conversion series (linux-next, not in a released kernel): `offset` and `size` in
 * bytes into the file, `attributes` 0 (shared) or {@link KVM_MEMORY_ATTRIBUTE_PRIVATE}, `flags` 0.
 * On `-EAGAIN` the kernel writes `error_offset`, the byte offset of the folio that is still in use.
 * `reserved[11]` is not modelled.
 */
export interface KvmMemoryAttributes2 {
  /** Byte offset into the guest_memfd (page aligned). */
  offset: number;
  /** Length in bytes (page aligned, not 0). */
  size: number;
  /** 0 (shared) or `KVM_MEMORY_ATTRIBUTE_PRIVATE`. */
  attributes: number;
  /** Must be 0. */
  flags: number;
  /** Out: byte offset of the folio that made the request fail with `-EAGAIN`. */
  error_offset?: number;
}

/** `FALLOC_FL_KEEP_SIZE` (`include/uapi/linux/falloc.h`): guest_memfd requires it. */
export const FALLOC_FL_KEEP_SIZE = 0x01;
/** `FALLOC_FL_PUNCH_HOLE` (`include/uapi/linux/falloc.h`): free the range. */
export const FALLOC_FL_PUNCH_HOLE = 0x02;

/** `VM_FAULT_OOM` (`enum vm_fault_reason`): the fault could not allocate memory. */
export const VM_FAULT_OOM = 0x000001;
/** `VM_FAULT_SIGBUS`: the fault is refused with SIGBUS. */
export const VM_FAULT_SIGBUS = 0x000002;
/** `VM_FAULT_RETRY`: the fault should be retried. */
export const VM_FAULT_RETRY = 0x000400;
