import {
  EINVAL,
  GFP_HIGHUSER_MOVABLE,
  MmError,
  PAGE_SIZE,
  PG,
  VM_EVENT,
  folio_add_lru,
  folio_add_new_anon_rmap,
  folio_alloc,
  folio_put,
  folio_trylock,
  folio_unlock,
  get_page,
  put_page,
  type Folio,
  type Machine,
  type Pfn,
} from '@mm/core';
import { page_get_pgmap } from '../memremap/page-pgmap.js';
import { FAULT_FLAG_WRITE, PTE_BIT, PTE_KIND, VM_FAULT_OOM, VM_FAULT_SIGBUS, VM_WRITE, linear_page_index, type VmAreaStruct } from './mm-struct.js';
import { folio_remove_rmap_pte } from './rmap.js';

/**
 * Page faults and unmapping for the process-memory stand-in (`mm/memory.c`).
 *
 * @module
 */

function checkAddr(vma: VmAreaStruct, addr: number, fn: string): void {
  if (!(addr >= vma.vm_start && addr < vma.vm_end && addr % PAGE_SIZE === 0)) {
    throw new MmError(EINVAL, `${fn}: address ${addr} outside the VMA or unaligned`, { rule: 'vma->vm_start <= addr < vma->vm_end, page aligned' });
  }
}

/**
 * `do_anonymous_page(vmf)`: the first touch of an anonymous page — allocate a movable folio
 * (`vma_alloc_zeroed_movable_folio`), mark it uptodate, make it exclusive anonymous memory of the VMA
 * (`folio_add_new_anon_rmap`), queue it for the LRU (`folio_add_lru_vma`, which holds a reference until
 * the per-CPU batch drains) and map it writable if the VMA is. The allocation's reference is the
 * mapping's. Returns 0 or `VM_FAULT_OOM`. The zero page is not modelled: read faults allocate too.
 */
export function do_anonymous_page(m: Machine, vma: VmAreaStruct, addr: number): number {
  const folio = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0);
  if (folio < 0) return VM_FAULT_OOM;
  m.memmap.flags[folio]! |= 1 << PG.uptodate; // __folio_mark_uptodate
  folio_add_new_anon_rmap(m, folio as Folio, vma.anon_vma!, linear_page_index(vma, addr));
  folio_add_lru(m, folio as Folio);
  const w = (vma.vm_flags & VM_WRITE) !== 0 ? PTE_BIT.write | PTE_BIT.dirty : 0;
  vma.setPte(addr, PTE_KIND.present, folio, w);
  return 0;
}

/**
 * `do_swap_page(vmf)`, device-private branch: a CPU touched a page that lives in device memory. Lock
 * the page (if another thread holds the lock, return 0 and let the fault retry), take a reference,
 * call the pgmap's `migrate_to_ram`, then unlock and drop the reference. Returns its `vm_fault_t`.
 */
export function do_swap_page(m: Machine, vma: VmAreaStruct, addr: number, flags: number): number {
  const page = vma.pteAt(addr).pfn as Pfn;
  if (!folio_trylock(m, page as Folio)) return 0;
  get_page(m, page);
  const pgmap = page_get_pgmap(m, page);
  const ret = pgmap.ops!.migrate_to_ram!({ vma, address: addr, page, flags });
  folio_unlock(m, page as Folio);
  put_page(m, page);
  return ret;
}

/**
 * `handle_mm_fault(vma, address, flags, regs)`: count a `pgfault` and resolve the entry — `pte_none`
 * → {@link do_anonymous_page}; a device-private entry → {@link do_swap_page}; a present PTE → 0
 * (write-protect faults are not modelled; a write to a read-only VMA is `VM_FAULT_SIGBUS`); a
 * migration entry cannot be met outside a migration call in this sequential model (0).
 */
export function handle_mm_fault(m: Machine, vma: VmAreaStruct, addr: number, flags: number): number {
  return m.withChecksDeferred('handle_mm_fault', () => {
    checkAddr(vma, addr, 'handle_mm_fault');
    m.vmEvents[VM_EVENT.pgfault]!++;
    if ((flags & FAULT_FLAG_WRITE) !== 0 && (vma.vm_flags & VM_WRITE) === 0) return VM_FAULT_SIGBUS;
    const kind = vma.pteBits[vma.slot(addr)]! & 3;
    if (kind === PTE_KIND.none) return do_anonymous_page(m, vma, addr);
    if (kind === PTE_KIND.device_private) return do_swap_page(m, vma, addr, flags);
    return 0;
  });
}

/**
 * `zap_page_range_single(vma, address, size, details)`: unmap `[addr, addr + size)` — each present or
 * device-private entry loses its rmap and its reference (`folio_remove_rmap_pte` + `folio_put`, which
 * the kernel batches through the mmu_gather); migration entries are just cleared.
 */
export function zap_page_range_single(m: Machine, vma: VmAreaStruct, addr: number, size: number): void {
  return m.withChecksDeferred('zap_page_range_single', () => {
    checkAddr(vma, addr, 'zap_page_range_single');
    const end = Math.min(vma.vm_end, addr + size);
    for (let a = addr; a < end; a += PAGE_SIZE) {
      const i = vma.slot(a);
      const kind = vma.pteBits[i]! & 3;
      const pfn = vma.ptePfn[i]!;
      vma.setPte(a, PTE_KIND.none, -1);
      if (kind === PTE_KIND.present || kind === PTE_KIND.device_private) {
        folio_remove_rmap_pte(m, pfn as Folio, pfn as Pfn);
        folio_put(m, pfn as Folio);
      }
    }
  });
}
