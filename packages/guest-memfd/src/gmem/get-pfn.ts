import { MmError, EAGAIN, EFAULT, EINVAL, folio_put, type Folio, type Machine } from '@mm/core';
import { GMEM_GUEST_MAPPED, GMEM_PENDING, GMEM_PRIVATE, GMEM_SHARED, type GmemFile } from './gmem-file.js';
import { gmemMarkUptodate, kvm_gmem_get_folio } from './filemap.js';

/**
 * `kvm_gmem_get_pfn(kvm, slot, gfn, &pfn, &page, &max_order)` (`virt/kvm/guest_memfd.c`) for a guest
 * fault on file index `index` (memslots are not modelled: the index is the guest frame number). The
 * folio is found or allocated, marked uptodate, and the index is recorded as mapped into the guest; the
 * reference the lookup took is dropped again, as KVM does once the stage-2 entry is installed
 * (`kvm_release_faultin_page`), so guest mappings hold no references. Returns the PFN, or:
 * - `-EFAULT` for an index at or past the end, a closed file, or a fault whose kind does not match the
 *   index's attribute (a private fault on a shared index or the reverse: KVM exits to user space with
 *   `KVM_EXIT_MEMORY_FAULT`);
 * - `-EAGAIN` while the index's shared→private conversion is pending (deferred design);
 * - `-ENOMEM` if no folio can be allocated.
 */
export function kvm_gmem_get_pfn(m: Machine, file: GmemFile, index: number, isPrivate = true): number {
  if (!Number.isInteger(index)) throw new MmError(EINVAL, `kvm_gmem_get_pfn: index ${index}`, { rule: 'a guest frame number is an integer' });
  if (index < 0 || index >= file.nrPages || !file.fdOpen) return -EFAULT;
  if ((file.indexFlags[index]! & GMEM_PENDING) !== 0) return -EAGAIN;
  if (file.attributes[index] !== (isPrivate ? GMEM_PRIVATE : GMEM_SHARED)) return -EFAULT;
  return m.withChecksDeferred('kvm_gmem_get_pfn', () => {
    const folio = kvm_gmem_get_folio(m, file, index);
    if (folio < 0) return folio;
    gmemMarkUptodate(m, folio as Folio);
    file.indexFlags[index]! |= GMEM_GUEST_MAPPED;
    folio_put(m, folio as Folio);
    return folio + (index - m.memmap.index[folio]!);
  });
}
