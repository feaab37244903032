import { MmError, EAGAIN, EINVAL, ENODEV, ENOMEM, type Folio, type Machine } from '@mm/core';
import { VmAreaStruct, zap_pte, zap_vma_range, type VmOperationsStruct } from '../mm/vma.js';
import { GUEST_MEMFD_FLAG_MMAP, VM_FAULT_OOM, VM_FAULT_RETRY, VM_FAULT_SIGBUS } from '../uapi.js';
import { GMEM_SHARED, type GmemFile } from './gmem-file.js';
import { gmemMarkUptodate, kvm_gmem_get_folio } from './filemap.js';
import { kvm_gmem_evict_inode } from './truncate.js';

/**
 * Host access to a guest_memfd: `mmap()`, user faults, unmapping.
 *
 * @module
 */

/**
 * `kvm_gmem_fault_user_mapping(vmf)` (`virt/kvm/guest_memfd.c`, with the in-place conversion series'
 * attribute check): SIGBUS at or past `i_size`; SIGBUS for a private index (upstream: `-EACCES` →
 * SIGBUS; before that series, SIGBUS unless the file was INIT_SHARED); otherwise the folio, allocated
 * if needed and marked uptodate. Returns the page with its reference, or `-VM_FAULT_*` (an allocation
 * failure through `vmf_error`: `VM_FAULT_OOM` for `-ENOMEM`, else `VM_FAULT_SIGBUS`). Only shared
 * indices are served, and shared memory is always order 0, so the page is the whole folio.
 */
export function kvm_gmem_fault_user_mapping(m: Machine, vma: VmAreaStruct, pgoff: number): number {
  const file = vma.vm_file as GmemFile;
  if (pgoff < 0 || pgoff >= file.nrPages) return -VM_FAULT_SIGBUS;
  if (file.attributes[pgoff] !== GMEM_SHARED) return -VM_FAULT_SIGBUS;
  const folio = kvm_gmem_get_folio(m, file, pgoff);
  if (folio < 0) return folio === -EAGAIN ? -VM_FAULT_RETRY : folio === -ENOMEM ? -VM_FAULT_OOM : -VM_FAULT_SIGBUS; // vmf_error()
  gmemMarkUptodate(m, folio as Folio);
  return folio + (pgoff - m.memmap.index[folio]!);
}

const kvm_gmem_vm_ops: VmOperationsStruct = { fault: kvm_gmem_fault_user_mapping };

/**
 * `mmap(fd, MAP_SHARED)` of file indices `[pgoff, pgoff + nrPages)` (`kvm_gmem_mmap`): `-ENODEV`
 * unless the file was created with `GUEST_MEMFD_FLAG_MMAP`. The mapping may extend past `i_size`
 * (faults there SIGBUS). The VMA holds a reference on the file: the inode lives until the fd is
 * closed and every VMA is unmapped.
 */
export function kvm_gmem_mmap(m: Machine, file: GmemFile, pgoff: number, nrPages: number): VmAreaStruct | number {
  if (!Number.isInteger(pgoff) || pgoff < 0 || !Number.isInteger(nrPages) || nrPages < 1) {
    throw new MmError(EINVAL, `kvm_gmem_mmap(${pgoff}, ${nrPages})`, { rule: 'a mapping of at least one page at an index ≥ 0' });
  }
  if (!file.fdOpen) throw new MmError(EINVAL, `kvm_gmem_mmap: guest_memfd ${file.ino} is closed`, { rule: 'mmap needs an open fd' });
  if ((file.flags & GUEST_MEMFD_FLAG_MMAP) === 0) return -ENODEV;
  const vma = new VmAreaStruct(file, pgoff, nrPages, kvm_gmem_vm_ops);
  file.vmas.push(vma);
  return vma;
}

/**
 * `vm_munmap()` of a whole guest_memfd VMA: zap every PTE (dropping each PTE's folio reference), then
 * drop the VMA's file reference — the last one evicts the inode if the fd is already closed.
 */
export function vm_munmap(m: Machine, vma: VmAreaStruct): void {
  if (!vma.live) throw new MmError(EINVAL, 'vm_munmap: the VMA is already unmapped', { rule: 'unmap a mapping once' });
  const file = vma.vm_file as GmemFile;
  m.withChecksDeferred('vm_munmap', () => {
    for (let i = 0; i < vma.nrPages; i++) if (vma.ptes[i]! >= 0) zap_pte(m, vma, i);
    vma.live = false;
    file.vmas.splice(file.vmas.indexOf(vma), 1);
    if (!file.fdOpen && file.vmas.length === 0) kvm_gmem_evict_inode(m, file);
  });
}

/**
 * `unmap_mapping_pages(mapping, start, nr, false)` (`mm/memory.c`): zap every host PTE that maps file
 * indices `[start, start + nr)`, in every VMA of the file. The caller defers the `debugVm` checks.
 */
export function unmap_mapping_pages(m: Machine, file: GmemFile, start: number, nr: number): void {
  for (const vma of file.vmas) zap_vma_range(m, vma, start, start + nr);
}
