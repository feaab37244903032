import { MmError, EFAULT, EINVAL, folio_add_file_rmap_ptes, folio_put, folio_remove_rmap_ptes, page_folio, type Machine, type Pfn } from '@mm/core';

/**
 * Host user mappings of a file (`struct vm_area_struct`, `mm/memory.c`), reduced to what the
 * page-ownership model needs: which page each page of the VMA maps and the folio reference every
 * present PTE holds; the mapcounts and `NR_FILE_MAPPED` are the core's rmap. There are no page tables,
 * addresses or mm_structs: a VMA is a window `[vm_pgoff, vm_pgoff + nrPages)` of file indices, always
 * `MAP_SHARED`.
 *
 * @module
 */

/**
 * `struct vm_operations_struct`, the one member the model uses. `fault` finds (or allocates) the folio
 * for file index `pgoff` and returns the page to map with one reference held on its folio (the
 * reference the PTE will keep), or `-VM_FAULT_*` (negative) when the fault is refused.
 */
export interface VmOperationsStruct {
  /** `->fault(vmf)`: a page (≥ 0, referenced) or a negated `VM_FAULT_*` code. */
  fault(m: Machine, vma: VmAreaStruct, pgoff: number): number;
}

/** A host `MAP_SHARED` mapping of a file. */
export class VmAreaStruct {
  /** `vm_pgoff`: the file index of the VMA's first page. */
  readonly vm_pgoff: number;
  /** Length in pages (`vma_pages(vma)`). */
  readonly nrPages: number;
  /** `vm_ops`. */
  readonly vm_ops: VmOperationsStruct;
  /** `vm_file`: the mapped file (opaque to the mm layer). */
  readonly vm_file: unknown;
  /** The "page table": for each page of the VMA, the PFN its PTE maps, or -1. */
  readonly ptes: Int32Array;
  /** Present PTEs. */
  present = 0;
  /** False once `vm_munmap` has run. */
  live = true;

  /** A VMA over file indices `[pgoff, pgoff + nrPages)`. */
  constructor(file: unknown, pgoff: number, nrPages: number, ops: VmOperationsStruct) {
    this.vm_file = file;
    this.vm_pgoff = pgoff;
    this.nrPages = nrPages;
    this.vm_ops = ops;
    this.ptes = new Int32Array(nrPages).fill(-1);
  }

  /** True if file index `pgoff` lies inside the VMA. */
  covers(pgoff: number): boolean {
    return pgoff >= this.vm_pgoff && pgoff < this.vm_pgoff + this.nrPages;
  }
}

/**
 * `set_pte_range()` for one page (`mm/memory.c`): the PTE keeps the fault's folio reference, and
 * `folio_add_file_rmap_ptes()` counts the mapping (`_mapcount`, a large folio's `_large_mapcount`,
 * `NR_FILE_MAPPED`).
 */
export function set_pte_range(m: Machine, vma: VmAreaStruct, pgoff: number, page: Pfn): void {
  folio_add_file_rmap_ptes(m, page_folio(m, page), page, 1);
  vma.ptes[pgoff - vma.vm_pgoff] = page;
  vma.present++;
}

/**
 * Zap one present PTE (`zap_present_ptes()` → `folio_remove_rmap_ptes()`, then the TLB-batched
 * `folio_put`): the rmap counts go down and the PTE's folio reference is dropped, which may free the
 * folio (its owner's callback runs if it has one).
 */
export function zap_pte(m: Machine, vma: VmAreaStruct, i: number): void {
  const page = vma.ptes[i]! as Pfn;
  const folio = page_folio(m, page);
  folio_remove_rmap_ptes(m, folio, page, 1);
  vma.ptes[i] = -1;
  vma.present--;
  folio_put(m, folio);
}

/**
 * `zap_page_range_single()` over file indices `[start, end)` of one VMA (the part that overlaps).
 * The caller defers the `debugVm` checks.
 */
export function zap_vma_range(m: Machine, vma: VmAreaStruct, start: number, end: number): void {
  if (vma.present === 0) return;
  const from = Math.max(start, vma.vm_pgoff) - vma.vm_pgoff;
  const to = Math.min(end, vma.vm_pgoff + vma.nrPages) - vma.vm_pgoff;
  for (let i = from; i < to; i++) if (vma.ptes[i]! >= 0) zap_pte(m, vma, i);
}

/**
 * `handle_mm_fault()` for a host access to file index `pgoff` through `vma` (the fault path of
 * `mm/memory.c`: `__do_fault` → `vma->vm_ops->fault` → `finish_fault`). Returns 0 when the page is
 * mapped (or already was), else the `VM_FAULT_*` code the handler gave (e.g. `VM_FAULT_SIGBUS`); a
 * refused fault changes nothing. An index outside the VMA has no mapping at all: `MmError(EFAULT)`
 * (the kernel delivers SIGSEGV).
 */
export function handle_mm_fault(m: Machine, vma: VmAreaStruct, pgoff: number): number {
  if (!Number.isInteger(pgoff)) throw new MmError(EINVAL, `handle_mm_fault: index ${pgoff}`, { rule: 'a page index is an integer' });
  if (!vma.live || !vma.covers(pgoff)) {
    throw new MmError(EFAULT, `handle_mm_fault: index ${pgoff} is outside the VMA [${vma.vm_pgoff}, ${vma.vm_pgoff + vma.nrPages})`, {
      rule: 'a user access needs a VMA (else SIGSEGV)',
    });
  }
  if (vma.ptes[pgoff - vma.vm_pgoff]! >= 0) return 0;
  const page = vma.vm_ops.fault(m, vma, pgoff);
  if (page < 0) return -page;
  set_pte_range(m, vma, pgoff, page as Pfn);
  if (m.debugVm) m.checkInvariants('handle_mm_fault');
  return 0;
}
