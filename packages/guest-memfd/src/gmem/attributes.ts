import { MmError, EAGAIN, EINVAL, folio_nr_pages, lru_add_drain_all, type Folio, type Machine } from '@mm/core';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, type KvmMemoryAttributes2 } from '../uapi.js';
import { GMEM_GUEST_MAPPED, GMEM_PENDING, GMEM_PRIVATE, GMEM_SHARED, type GmemFile } from './gmem-file.js';
import { unmap_mapping_pages } from './mmap.js';
import { NO_FOLIO, folioAt } from './filemap.js';
import { kvm_gmem_make_pending } from './pending.js';
import { hugetlbTryMergeRange, kvm_gmem_split_folio_in_filemap } from './hugetlb-backing.js';

/**
 * Shared↔private conversion of a guest_memfd range: `KVM_SET_MEMORY_ATTRIBUTES2` on the file (the
 * in-place conversion series, §6.3), in either of the two designs a file can use.
 *
 * @module
 */

const PAGE_SIZE = 4096;

/** `kvm_gmem_range_has_attributes(mt, index, nr_pages, attributes)`: every index has the value. */
export function kvm_gmem_range_has_attributes(file: GmemFile, start: number, nr: number, value: number): boolean {
  const a = file.attributes;
  for (let i = start; i < start + nr; i++) if (a[i] !== value) return false;
  return true;
}

/**
 * `kvm_gmem_is_safe_for_conversion(inode, start, nr_pages, &err_index)`: every folio of the range,
 * looked up with a reference of its own (`filemap_get_folios`), must have `refcount == nr_pages + 1`
 * (the page-cache references plus the lookup's). The first time a folio fails, the per-CPU LRU batches
 * are drained once (`lru_add_drain_all`: their references are the usual culprit) and the folio is
 * checked again. Returns -1 if the range is safe, else the index of the offending folio (`folio->index`,
 * which may lie before `start` for a large folio straddling it).
 */
export function kvm_gmem_is_safe_for_conversion(m: Machine, file: GmemFile, start: number, nr: number): number {
  const rc = m.memmap.refcount;
  let drained = false;
  for (let i = start; i < start + nr; ) {
    const f = folioAt(file, i);
    if (f === NO_FOLIO) {
      i++;
      continue;
    }
    const n = folio_nr_pages(m, f as Folio);
    rc[f]!++; // the lookup reference
    let safe = rc[f] === n + 1;
    if (!safe && !drained) {
      lru_add_drain_all(m);
      drained = true;
      safe = rc[f] === n + 1;
    }
    rc[f]!--;
    if (!safe) return m.memmap.index[f]!;
    i = m.memmap.index[f]! + n;
  }
  return -1;
}

/** KVM's invalidation of the range (`kvm_gmem_invalidate_begin/end`): the guest loses its mappings. */
export function kvm_gmem_invalidate(file: GmemFile, start: number, end: number): void {
  const fl = file.indexFlags;
  for (let i = start; i < end; i++) fl[i]! &= ~GMEM_GUEST_MAPPED;
}

function validate(file: GmemFile, a: KvmMemoryAttributes2): void {
  const bad = (what: string, rule: string): never => {
    throw new MmError(EINVAL, `kvm_gmem_set_attributes: ${what}`, { rule });
  };
  if (!file.fdOpen) bad(`guest_memfd ${file.ino} is closed`, 'the ioctl needs an open fd');
  const { offset, size } = a;
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset < 0) bad(`offset ${offset} size ${size}`, 'offset and size are integers, offset ≥ 0');
  if (size === 0) bad('size 0', 'size ≠ 0');
  if (size < 0 || offset % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0) bad(`offset ${offset} size ${size}`, 'offset and size are page aligned');
  if (offset + size > file.size) bad(`range [${offset}, ${offset + size}) past i_size ${file.size}`, 'offset + size ≤ i_size');
  if (a.attributes !== 0 && a.attributes !== KVM_MEMORY_ATTRIBUTE_PRIVATE) bad(`attributes 0x${a.attributes.toString(16)}`, 'attributes ⊆ KVM_MEMORY_ATTRIBUTE_PRIVATE');
  if (a.flags !== 0) bad(`flags 0x${a.flags.toString(16)}`, 'flags = 0');
  if (file.pending.size > 0) {
    const start = offset / PAGE_SIZE;
    const end = start + size / PAGE_SIZE;
    for (let i = start; i < end; i++) {
      if ((file.indexFlags[i]! & GMEM_PENDING) !== 0) {
        bad(`index ${i} has a conversion in flight`, 'a request may not overlap a pending conversion');
      }
    }
  }
}

/**
 * `KVM_SET_MEMORY_ATTRIBUTES2` on a guest_memfd (`kvm_gmem_set_attributes`): make the byte range
 * `[offset, offset + size)` shared (`attributes` 0) or private (`KVM_MEMORY_ATTRIBUTE_PRIVATE`).
 * Returns 0, or `-EAGAIN` with `args.error_offset` set and no attribute or folio changed.
 *
 * Bad input is rejected with `MmError(EINVAL)` before anything changes (the kernel returns `-EINVAL`):
 * a closed file, an unaligned, empty, negative or out-of-range range, unknown attributes, nonzero
 * flags, or — deferred design — a range that overlaps a conversion still pending.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { EAGAIN, createMachine, type Pfn } from '@mm/core';
 * import {
 *   GUEST_MEMFD_FLAG_INIT_SHARED, GUEST_MEMFD_FLAG_MMAP, KVM_MEMORY_ATTRIBUTE_PRIVATE, guestMemfdPlugin, kvm_create_vm, kvm_gmem_create,
 *   kvm_gmem_mmap, kvm_gmem_set_attributes, pin_user_pages, unpin_user_page, type KvmMemoryAttributes2, type VmAreaStruct,
 * } from '@mm/guest-memfd';
 *
 * const m = createMachine({ memory: '64M', debugVm: true, plugins: [guestMemfdPlugin()] });
 * const file = kvm_gmem_create(m, kvm_create_vm(m), 16 * 4096, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
 * const vma = kvm_gmem_mmap(m, file, 0, 16) as VmAreaStruct; // the host maps the shared memory
 * const pins: Pfn[] = [];
 * pin_user_pages(m, vma, 3, 1, 0, pins); // and pins page 3 (say for DMA)
 * const toPrivate: KvmMemoryAttributes2 = { offset: 0, size: 16 * 4096, attributes: KVM_MEMORY_ATTRIBUTE_PRIVATE, flags: 0 };
 * console.log(kvm_gmem_set_attributes(m, file, toPrivate) === -EAGAIN, toPrivate.error_offset); // true 12288
 * unpin_user_page(m, pins[0]!);
 * console.log(kvm_gmem_set_attributes(m, file, toPrivate)); // 0: the host's PTEs are zapped, the range is private
 * ```
 */
export function kvm_gmem_set_attributes(m: Machine, file: GmemFile, args: KvmMemoryAttributes2): number {
  validate(file, args);
  const start = args.offset / PAGE_SIZE;
  const nr = args.size / PAGE_SIZE;
  const value = args.attributes === 0 ? GMEM_SHARED : GMEM_PRIVATE;
  return m.withChecksDeferred('kvm_gmem_set_attributes', () => __kvm_gmem_set_attributes(m, file, start, nr, value, args));
}

/**
 * `__kvm_gmem_set_attributes(inode, start, nr_pages, attrs, &err_index)`, run under the mapping's
 * `invalidate_lock`: nothing to do if the range already has the value; otherwise convert.
 *
 * **To private.** Zap the host mappings (`unmap_mapping_pages`), then either (synchronous)
 * require {@link kvm_gmem_is_safe_for_conversion} — failing with `-EAGAIN` and the folio's offset — or
 * (deferred) convert the clean folios at once and make the others pending (after one LRU drain, as the
 * synchronous check does, so both designs agree whenever the synchronous one succeeds). Then the guest
 * mappings are invalidated and the attribute stored. The zapped host mappings are not restored on
 * `-EAGAIN`, as in the kernel: user space faults them back in.
 *
 * **To shared.** No reference check. Shared memory is order 0, so every large folio meeting the range
 * is split first (its refcount must be exactly its page-cache references for the split's freeze, else
 * `-EAGAIN` with its offset before anything changed); the guest mappings are invalidated (the
 * arch hook `kvm_arch_gmem_invalidate` has nothing to do in the model) and the attribute stored.
 */
export function __kvm_gmem_set_attributes(m: Machine, file: GmemFile, start: number, nr: number, value: number, args: KvmMemoryAttributes2): number {
  if (kvm_gmem_range_has_attributes(file, start, nr, value)) return 0;
  const end = start + nr;
  const mm = m.memmap;
  if (value === GMEM_SHARED) {
    const large: Folio[] = [];
    for (let i = start; i < end; ) {
      const f = folioAt(file, i);
      if (f === NO_FOLIO) {
        i++;
        continue;
      }
      const n = folio_nr_pages(m, f as Folio);
      if (n > 1) {
        if (mm.refcount[f] !== n) {
          args.error_offset = mm.index[f]! * PAGE_SIZE;
          return -EAGAIN;
        }
        large.push(f as Folio);
      }
      i = mm.index[f]! + n;
    }
    for (const f of large) kvm_gmem_split_folio_in_filemap(m, file, f);
    kvm_gmem_invalidate(file, start, end);
    file.attributes.fill(GMEM_SHARED, start, end);
    return 0;
  }
  unmap_mapping_pages(m, file, start, nr);
  if (file.conversion === 'synchronous') {
    const err = kvm_gmem_is_safe_for_conversion(m, file, start, nr);
    if (err >= 0) {
      args.error_offset = err * PAGE_SIZE;
      return -EAGAIN;
    }
    kvm_gmem_invalidate(file, start, end);
    file.attributes.fill(GMEM_PRIVATE, start, end);
    hugetlbTryMergeRange(m, file, start, end);
    return 0;
  }
  // Deferred: only the shared folios change hands (shared memory is order 0).
  const busy = (): Folio[] => {
    const out: Folio[] = [];
    for (let i = start; i < end; i++) {
      const f = folioAt(file, i);
      if (f !== NO_FOLIO && file.attributes[i] === GMEM_SHARED && mm.refcount[f] !== 1) out.push(f as Folio);
    }
    return out;
  };
  let extra = busy();
  if (extra.length > 0) {
    lru_add_drain_all(m);
    extra = busy();
  }
  kvm_gmem_invalidate(file, start, end);
  file.attributes.fill(GMEM_PRIVATE, start, end);
  for (const f of extra) kvm_gmem_make_pending(m, file, f, mm.index[f]!, 1);
  hugetlbTryMergeRange(m, file, start, end);
  return 0;
}
