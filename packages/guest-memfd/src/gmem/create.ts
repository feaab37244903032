import { MmError, EINVAL, ENOMEM, GFP_HIGHUSER, MAX_PAGE_ORDER, PAGE_SIZE, createAddressSpace, type AddressSpace, type Folio, type Machine } from '@mm/core';
import { mapping_set_inaccessible } from '../mm/address-space.js';
import type { Kvm } from '../kvm/kvm.js';
import { GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP } from '../uapi.js';
import { GMEM_PRIVATE, GMEM_SHARED, GmemFile, type GmemConversion } from './gmem-file.js';
import { GuestMemfd } from './guest-memfd.js';
import { createHugetlbBacking } from './hugetlb-backing.js';

/**
 * `kvm_gmem_migrate_folio` (`a_ops->migrate_folio`): guest_memfd folios are never migrated — the
 * migration core refuses inaccessible mappings before it gets here (`-EOPNOTSUPP`); reaching it is a
 * bug (the kernel WARNs) and fails with `-EINVAL`.
 */
export function kvm_gmem_migrate_folio(_m: Machine, _mapping: AddressSpace, _dst: Folio, _src: Folio): number {
  return -EINVAL;
}

/** The model's limit on a guest_memfd's size: 2^26 pages (256 GiB), for its per-index arrays. */
export const GMEM_MAX_PAGES = 2 ** 26;

/**
 * Choices the kernel makes elsewhere (per VM, per build, or in series not merged) that the model
 * makes per file.
 */
export interface GmemCreateOptions {
  /** The shared→private design (default `'synchronous'`, what upstream is merging). */
  readonly conversion?: GmemConversion;
  /** `'buddy'` (default) or `'hugetlb'` (needs `@mm/hugetlb` on the machine). */
  readonly backing?: 'buddy' | 'hugetlb';
  /**
   * Buddy backing: the folio order for private memory (default 0, mainline's only order; larger
   * orders follow the THP guest_memfd series).
   */
  readonly order?: number;
  /** Hugetlb backing: the huge page size in bytes (default 2 MiB). */
  readonly hugePageSize?: number;
}

/**
 * `KVM_CREATE_GUEST_MEMFD` (`kvm_gmem_create(kvm, args)`, `virt/kvm/guest_memfd.c`): a new guest_memfd
 * of `size` bytes for `kvm`. The inode's mapping (a core `AddressSpace`, registered on the machine so
 * that migration and compaction find it through `folio->mapping`) gets `GFP_HIGHUSER` (not movable)
 * and is made inaccessible, which also makes it unevictable; every index starts shared with
 * `GUEST_MEMFD_FLAG_INIT_SHARED`, else private. No memory is allocated until it is used.
 *
 * Rejected with `MmError(EINVAL)` (the kernel returns `-EINVAL`): unknown flags, INIT_SHARED on a VM
 * that does not support it, a size that is not a positive multiple of the page size (of the huge page
 * size for hugetlb backing), bad options; `MmError(ENOMEM)` above {@link GMEM_MAX_PAGES}; hugetlb
 * backing without `@mm/hugetlb` or without that huge page size: `MmError(ENODEV)`/`MmError(EINVAL)`.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { createMachine } from '@mm/core';
 * import { GUEST_MEMFD_FLAG_MMAP, KVM_MEMORY_ATTRIBUTE_PRIVATE, guestMemfdPlugin, kvm_create_vm, kvm_gmem_create, kvm_gmem_get_pfn, kvm_gmem_set_attributes } from '@mm/guest-memfd';
 *
 * const m = createMachine({ memory: '64M', debugVm: true, plugins: [guestMemfdPlugin()] });
 * const file = kvm_gmem_create(m, kvm_create_vm(m), 2 << 20, GUEST_MEMFD_FLAG_MMAP); // 2 MiB, private
 * console.log(kvm_gmem_get_pfn(m, file, 0) >= 0); // true: the guest faulted index 0 in
 * // KVM_SET_MEMORY_ATTRIBUTES2: share the first 16 KiB with the host, then make it private again.
 * console.log(kvm_gmem_set_attributes(m, file, { offset: 0, size: 4 * 4096, attributes: 0, flags: 0 })); // 0
 * console.log(kvm_gmem_set_attributes(m, file, { offset: 0, size: 4 * 4096, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: 0 })); // 0
 * ```
 */
export function kvm_gmem_create(m: Machine, kvm: Kvm, size: number, flags: number, options: GmemCreateOptions = {}): GmemFile {
  const gmem = GuestMemfd.of(m);
  const supported = GUEST_MEMFD_FLAG_MMAP | (kvm.supportsInitShared ? GUEST_MEMFD_FLAG_INIT_SHARED : 0);
  if (!Number.isInteger(flags) || (flags & ~supported) !== 0 || flags < 0) {
    throw new MmError(EINVAL, `kvm_gmem_create: flags 0x${flags.toString(16)}`, { rule: 'flags ⊆ kvm_gmem_get_supported_flags(kvm)' });
  }
  if (!Number.isSafeInteger(size) || size <= 0 || size % PAGE_SIZE !== 0) {
    throw new MmError(EINVAL, `kvm_gmem_create: size ${size}`, { rule: 'size > 0 and PAGE_ALIGNED(size)' });
  }
  if (size / PAGE_SIZE > GMEM_MAX_PAGES) throw new MmError(ENOMEM, `kvm_gmem_create: size ${size}`, { rule: `the model holds at most ${GMEM_MAX_PAGES} pages per guest_memfd` });
  const conversion = options.conversion ?? 'synchronous';
  if (conversion !== 'synchronous' && conversion !== 'deferred') throw new MmError(EINVAL, `kvm_gmem_create: conversion ${String(conversion)}`, { rule: "conversion is 'synchronous' or 'deferred'" });
  const backing = options.backing ?? 'buddy';
  if (backing !== 'buddy' && backing !== 'hugetlb') throw new MmError(EINVAL, `kvm_gmem_create: backing ${String(backing)}`, { rule: "backing is 'buddy' or 'hugetlb'" });
  let order = options.order ?? 0;
  if (!Number.isInteger(order) || order < 0 || order > MAX_PAGE_ORDER || (backing === 'hugetlb' && options.order !== undefined)) {
    throw new MmError(EINVAL, `kvm_gmem_create: order ${options.order}`, { rule: 'a buddy order 0..MAX_PAGE_ORDER (hugetlb files take hugePageSize)' });
  }
  const hugetlb = backing === 'hugetlb' ? createHugetlbBacking(m, options.hugePageSize ?? 2 << 20) : null;
  if (hugetlb !== null) {
    order = hugetlb.order;
    if (size % (PAGE_SIZE << order) !== 0) throw new MmError(EINVAL, `kvm_gmem_create: size ${size}`, { rule: 'a hugetlb-backed size is a multiple of the huge page size' });
  }
  const ino = ++gmem.lastIno;
  const mapping = createAddressSpace(m, { name: `kvm-gmem:${ino}`, a_ops: { migrate_folio: kvm_gmem_migrate_folio } });
  mapping_set_inaccessible(mapping);
  const file = new GmemFile({
    gmem,
    ino,
    kvm,
    size,
    flags,
    conversion,
    mapping,
    gfp: GFP_HIGHUSER,
    order,
    hugetlb,
    initialAttribute: (flags & GUEST_MEMFD_FLAG_INIT_SHARED) !== 0 ? GMEM_SHARED : GMEM_PRIVATE,
  });
  gmem.files.add(file);
  return file;
}
