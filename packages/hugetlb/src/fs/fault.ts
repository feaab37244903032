import { EFAULT, ENOMEM, MmError, PG, folio_get, folio_mapcount, folio_put, folio_test_anon, hugetlb_add_file_rmap, hugetlb_remove_rmap, type Folio, type Machine } from '@mm/core';
import { folio_set_hugetlb_migratable } from '../folio/hugetlb-flags.js';
import { huge_page_size, pages_per_huge_page } from '../hstate.js';
import { alloc_hugetlb_folio } from '../pool/alloc.js';
import { hstate_vma, is_vma_resv_set, vma_hugecache_offset } from '../resv/reserve.js';
import { __unmap_hugepage_range, hugetlb_add_to_page_cache, hugetlbNewAnonRmap } from './rmap.js';
import { HPAGE_RESV_OWNER, HPAGE_RESV_UNMAPPED, VM_FAULT, VM_MAYSHARE, VM_SHARED, VM_WRITE, type VmAreaStruct } from './types.js';

/**
 * The hugetlb page-fault path (`mm/hugetlb.c`): `hugetlb_fault` → `hugetlb_no_page` for an empty entry
 * (allocate, add to the page cache or map anonymously) and `hugetlb_wp` for a write to a read-only
 * private entry (copy-on-write, or reuse when the process is the only user). The fault mutex, PTE
 * locks, userfaultfd, hwpoison and migration entries are not modelled.
 *
 * @module
 */

/** `FAULT_FLAG_WRITE`. */
export const FAULT_FLAG_WRITE = 0x1;

function vmf_error(err: number): number {
  return err === -ENOMEM ? VM_FAULT.OOM : VM_FAULT.SIGBUS;
}

/**
 * `unmap_ref_private(mm, vma, folio, address)`: the owner of a private mapping failed to CoW a page it
 * shares with children for want of huge pages; unmap that page from every other private VMA of the file
 * that is not a reservation owner, marking them `HPAGE_RESV_UNMAPPED` (their next fault there is SIGBUS:
 * "PID killed due to inadequate hugepage pool").
 */
export function unmap_ref_private(m: Machine, vma: VmAreaStruct, folio: Folio, address: number): void {
  const h = hstate_vma(vma);
  const idx = vma_hugecache_offset(h, vma, address);
  for (const other of vma.file.i_mmap) {
    if (other === vma || other.vm_flags & VM_MAYSHARE || is_vma_resv_set(other, HPAGE_RESV_OWNER)) continue;
    const start = other.vm_start + (idx - Math.floor(other.vm_pgoff / pages_per_huge_page(h))) * huge_page_size(h);
    if (start < other.vm_start || start >= other.vm_end) continue;
    __unmap_hugepage_range(m, other, start, start + huge_page_size(h), folio);
  }
}

/**
 * `hugetlb_wp(folio, vmf)`: a write to a read-only entry. Shared mappings just become writable. A
 * private anonymous folio mapped only here is reused. Otherwise copy: allocate a new folio — by the
 * reservation owner CoW-ing a page it shares after fork, without using its per-VMA reservation
 * (`cow_from_owner`); if that fails, the page is taken away from the children (`unmap_ref_private`) and
 * the owner retries, now the only user — map the copy writable and drop the old mapping.
 */
export function hugetlb_wp(m: Machine, vma: VmAreaStruct, address: number, i: number, pagecacheFolio: Folio | -1): number {
  const h = hstate_vma(vma);
  if (!(vma.vm_flags & VM_WRITE)) return VM_FAULT.SIGSEGV;
  if (vma.vm_flags & VM_MAYSHARE) {
    vma.pteWrite[i] = 1;
    return 0;
  }
  const haddr = vma.vm_start + i * huge_page_size(h);
  let retried = false;
  for (;;) {
    const old = vma.ptes[i]! as Folio;
    if (folio_mapcount(m, old) === 1 && folio_test_anon(m, old)) {
      m.memmap.flags[old]! |= 1 << PG.anon_exclusive; // folio_move_anon_rmap() + AnonExclusive
      vma.pteWrite[i] = 1;
      return 0;
    }
    const outsideReserve = is_vma_resv_set(vma, HPAGE_RESV_OWNER) && old !== pagecacheFolio;
    folio_get(m, old);
    const nf = alloc_hugetlb_folio(m, vma, haddr, outsideReserve);
    if (nf < 0) {
      folio_put(m, old);
      if (outsideReserve) {
        unmap_ref_private(m, vma, old, haddr);
        if (vma.ptes[i] === old && !retried) {
          retried = true;
          continue; // retry_avoidcopy: now the only user
        }
        return 0;
      }
      return vmf_error(nf);
    }
    const folio = nf as Folio;
    hugetlb_remove_rmap(m, old);
    hugetlbNewAnonRmap(m, folio, vma, haddr);
    vma.ptes[i] = folio;
    vma.pteWrite[i] = 1;
    folio_set_hugetlb_migratable(m, folio);
    folio_put(m, old); // the page table's reference on the old folio
    folio_put(m, old); // our get_page()
    return 0;
  }
}

/**
 * `hugetlb_no_page(mapping, vmf)`: fill an empty entry. SIGBUS if this VMA lost the page to its
 * owner's CoW (`HPAGE_RESV_UNMAPPED`) or the index is past `i_size`. A page-cache folio is mapped with a
 * new reference; otherwise `alloc_hugetlb_folio` (SIGBUS / OOM on failure) and the new folio goes into
 * the page cache (shared) or is mapped anonymously (private). A write to a private mapping then goes
 * through `hugetlb_wp` at once. New folios become `migratable`.
 */
export function hugetlb_no_page(m: Machine, vma: VmAreaStruct, address: number, i: number, flags: number): number {
  const h = hstate_vma(vma);
  const inode = vma.file;
  const haddr = vma.vm_start + i * huge_page_size(h);
  const idx = vma_hugecache_offset(h, vma, haddr);
  if (is_vma_resv_set(vma, HPAGE_RESV_UNMAPPED)) return VM_FAULT.SIGBUS;
  const cached = inode.pageCache.get(idx);
  let folio: Folio;
  let newFolio = false;
  let anonRmap = false;
  if (cached === undefined) {
    if (idx >= Math.floor(inode.i_size / huge_page_size(h))) return VM_FAULT.SIGBUS;
    const nf = alloc_hugetlb_folio(m, vma, haddr, false);
    if (nf < 0) return vmf_error(nf);
    folio = nf as Folio;
    newFolio = true;
    if (vma.vm_flags & VM_MAYSHARE) hugetlb_add_to_page_cache(m, h, folio, inode, idx);
    else anonRmap = true;
  } else {
    folio = cached;
    folio_get(m, folio);
  }
  if (anonRmap) {
    hugetlbNewAnonRmap(m, folio, vma, haddr);
  } else {
    hugetlb_add_file_rmap(m, folio);
  }
  vma.ptes[i] = folio;
  vma.pteWrite[i] = vma.vm_flags & VM_WRITE && vma.vm_flags & VM_SHARED ? 1 : 0;
  vma.mm.hugetlb_usage += pages_per_huge_page(h);
  let ret = 0;
  if (flags & FAULT_FLAG_WRITE && !(vma.vm_flags & VM_SHARED)) ret = hugetlb_wp(m, vma, address, i, folio);
  if (newFolio) folio_set_hugetlb_migratable(m, folio);
  return ret;
}

/**
 * `hugetlb_fault(mm, vma, address, flags)`: a fault at `address` in a hugetlb VMA. Returns 0 or
 * `VM_FAULT_*` bits (`SIGBUS` when no huge page can be had, `OOM`, `SIGSEGV` for a write to a
 * read-only VMA — the arch fault handler's `access_error` in the kernel). `MmError(EFAULT)` for an
 * address outside the VMA or a VMA that is gone.
 */
export function hugetlb_fault(m: Machine, vma: VmAreaStruct, address: number, flags = 0): number {
  if (!vma.live || !(address >= vma.vm_start && address < vma.vm_end)) {
    throw new MmError(EFAULT, `hugetlb_fault: address 0x${address.toString(16)} is not in the VMA`, { rule: 'find_vma(mm, address) is this hugetlb VMA' });
  }
  if (flags & FAULT_FLAG_WRITE && !(vma.vm_flags & VM_WRITE)) return VM_FAULT.SIGSEGV;
  if (m.debugVm) return m.withChecksDeferred('hugetlb_fault', () => handleFault(m, vma, address, flags));
  return handleFault(m, vma, address, flags);
}

function handleFault(m: Machine, vma: VmAreaStruct, address: number, flags: number): number {
  const i = Math.floor((address - vma.vm_start) / huge_page_size(hstate_vma(vma)));
  if (vma.ptes[i]! < 0) return hugetlb_no_page(m, vma, address, i, flags);
  if (flags & FAULT_FLAG_WRITE && !vma.pteWrite[i]) {
    const idx = vma_hugecache_offset(hstate_vma(vma), vma, address);
    return hugetlb_wp(m, vma, address, i, vma.file.pageCache.get(idx) ?? -1);
  }
  return 0;
}
