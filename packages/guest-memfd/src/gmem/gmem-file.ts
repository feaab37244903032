import type { AddressSpace, Folio } from '@mm/core';
import type { VmAreaStruct } from '../mm/vma.js';
import type { Kvm } from '../kvm/kvm.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE } from '../uapi.js';
import type { GuestMemfd } from './guest-memfd.js';
import type { HugetlbBacking } from './hugetlb-backing.js';

/**
 * How a guest_memfd completes a shared→private conversion while the host still holds references:
 * - `synchronous`: the in-place conversion being merged upstream (§6.3): the request fails with
 *   `-EAGAIN` and `error_offset`, nothing changes, and user space retries after dropping its pins.
 * - `deferred`: the 2024 plan behind folio_owner_ops (§6.2): the request succeeds, the busy folios
 *   become *conversion pending*, and guest_memfd's refcount-0 callback completes them.
 */
export type GmemConversion = 'synchronous' | 'deferred';

/** The attribute of a shared index (the maple tree's value 0). */
export const GMEM_SHARED = 0;
/** The attribute of a private index (`KVM_MEMORY_ATTRIBUTE_PRIVATE`). */
export const GMEM_PRIVATE = KVM_MEMORY_ATTRIBUTE_PRIVATE;

/** `indexFlags` bit: the guest has this index mapped (a stage-2 / SPTE mapping; holds no reference). */
export const GMEM_GUEST_MAPPED = 1;
/** `indexFlags` bit: the index belongs to a folio whose shared→private conversion is pending. */
export const GMEM_PENDING = 2;

/**
 * One guest_memfd: the model folds the kernel's `struct gmem_file` (a VM's view), `struct gmem_inode`
 * (flags, the storage) and the inode's `address_space` into one object, as each file here is bound to
 * one VM.
 *
 * The per-index attribute is upstream's per-inode maple tree (§6.3), which stores ranges of equal
 * value and covers the whole file. The model keeps one byte per index instead (a run-length view is
 * what `mt_for_each` would iterate); the value is exactly what the tree stores: 0 for shared,
 * `KVM_MEMORY_ATTRIBUTE_PRIVATE` for private.
 */
export class GmemFile {
  /** Inode number (unique per machine). */
  readonly ino: number;
  /** The VM the file was created for. */
  readonly kvm: Kvm;
  /** `i_size` in bytes. */
  readonly size: number;
  /** `i_size >> PAGE_SHIFT`. */
  readonly nrPages: number;
  /** `GMEM_I(inode)->flags`: `GUEST_MEMFD_FLAG_*`. */
  readonly flags: number;
  /** The conversion design this file uses. */
  readonly conversion: GmemConversion;
  /** `inode->i_mapping`: inaccessible and unevictable (the core's address_space). */
  readonly mapping: AddressSpace;
  /** `mapping_gfp_mask(inode->i_mapping)`: `GFP_HIGHUSER` (the core's address_space has no gfp mask). */
  readonly gfp: number;
  /** Largest folio order used for private memory (0, or the huge page order with hugetlb backing). */
  readonly order: number;
  /** Present when the file is backed by hugetlb pages. */
  readonly hugetlb: HugetlbBacking | null;
  /** The maple tree `attributes`: {@link GMEM_SHARED} or {@link GMEM_PRIVATE} per index. */
  readonly attributes: Uint8Array;
  /** {@link GMEM_GUEST_MAPPED} and {@link GMEM_PENDING} bits per index. */
  readonly indexFlags: Uint8Array;
  /** Host VMAs mapping the file (each holds a file reference). */
  readonly vmas: VmAreaStruct[] = [];
  /** Pending conversions of this file: first index → folio. */
  readonly pending = new Map<number, Folio>();
  /** The per-machine guest_memfd state. */
  readonly gmem: GuestMemfd;
  /** False once user space closed the fd (`kvm_gmem_release`). */
  fdOpen = true;
  /** True once the inode was evicted: every folio was truncated. */
  evicted = false;

  /** Built by `kvm_gmem_create`. */
  constructor(init: {
    gmem: GuestMemfd;
    ino: number;
    kvm: Kvm;
    size: number;
    flags: number;
    conversion: GmemConversion;
    mapping: AddressSpace;
    gfp: number;
    order: number;
    hugetlb: HugetlbBacking | null;
    initialAttribute: number;
  }) {
    this.gmem = init.gmem;
    this.ino = init.ino;
    this.kvm = init.kvm;
    this.size = init.size;
    this.nrPages = init.size / 4096;
    this.flags = init.flags;
    this.conversion = init.conversion;
    this.mapping = init.mapping;
    this.gfp = init.gfp;
    this.order = init.order;
    this.hugetlb = init.hugetlb;
    this.attributes = new Uint8Array(this.nrPages).fill(init.initialAttribute);
    this.indexFlags = new Uint8Array(this.nrPages);
  }
}
