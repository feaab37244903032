import { inject, injectable } from 'tsyringe';
import type { DependencyContainer } from 'tsyringe';
import { Machine, folio_put, type Folio, type MmPlugin } from '@mm/core';
import { hugetlbLendFolio, hugetlbOf, hugetlbReturnFolio, hugetlb_alloc_folio, size_to_hstate, type Hstate } from '@mm/hugetlb';
import { GmemHugetlbAllocator } from '../gmem/hugetlb-backing.js';

/**
 * guest_memfd's huge pages, from `@mm/hugetlb`: `hugetlb_alloc_folio` (the guest_memfd HugeTLB series'
 * VMA-less allocator, charging the root hugetlb cgroup, without a reservation) followed by
 * `hugetlbLendFolio`; given back with `hugetlbReturnFolio`, which frees the huge folio into the pool.
 */
@injectable()
export class HugetlbGmemAllocator implements GmemHugetlbAllocator {
  private readonly m: Machine;

  /** The allocator of machine `m` (which must run `hugetlbPlugin()`). */
  constructor(@inject(Machine) m: Machine) {
    this.m = m;
  }

  private hstate(order: number): Hstate | undefined {
    return hugetlbOf(this.m).hstates.find((h) => h.order === order);
  }

  /** The order of the hstate of `size` bytes, or -1. */
  orderOf(size: number): number {
    return size_to_hstate(hugetlbOf(this.m), size)?.order ?? -1;
  }

  /** Allocate and lend a huge page: its first PFN (refcount 1, pages order 0), or `-ENOSPC`/`-ENOMEM`. */
  alloc(order: number): Folio | number {
    const h = this.hstate(order)!;
    const folio = hugetlb_alloc_folio(this.m, h);
    if (folio < 0) return folio;
    const rc = hugetlbLendFolio(this.m, folio as Folio);
    if (rc < 0) {
      folio_put(this.m, folio as Folio);
      return rc;
    }
    return folio;
  }

  /** Hand the pages back; hugetlb frees the huge folio into its pool. */
  giveBack(head: Folio): void {
    hugetlbReturnFolio(this.m, head);
  }
}

/**
 * Lets guest_memfd files be backed by hugetlb pages (`kvm_gmem_create(..., { backing: 'hugetlb' })`).
 * Install after `hugetlbPlugin()` and `guestMemfdPlugin()`.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { createMachine } from '@mm/core';
 * import { hugetlbOf, hugetlbPlugin } from '@mm/hugetlb';
 * import { GUEST_MEMFD_FLAG_MMAP, guestMemfdPlugin, kvm_create_vm, kvm_gmem_create, kvm_gmem_get_pfn } from '@mm/guest-memfd';
 * import { guestMemfdHugetlbPlugin } from '@mm/guest-memfd/hugetlb';
 *
 * const m = createMachine({
 *   memory: '256M',
 *   plugins: [hugetlbPlugin({ pools: { '2M': 8 } }), guestMemfdPlugin(), guestMemfdHugetlbPlugin()],
 * });
 * const file = kvm_gmem_create(m, kvm_create_vm(m), 4 << 20, GUEST_MEMFD_FLAG_MMAP, { backing: 'hugetlb' });
 * kvm_gmem_get_pfn(m, file, 0); // the first fault takes a 2 MiB page from the hugetlb pool
 * console.log(hugetlbOf(m).default_hstate.free_huge_pages); // 7
 * ```
 */
export function guestMemfdHugetlbPlugin(): MmPlugin {
  return {
    meta: { name: 'guest-memfd-hugetlb', version: '0.1.0' },
    register(container: DependencyContainer): void {
      container.register(GmemHugetlbAllocator, { useClass: HugetlbGmemAllocator });
    },
  };
}
