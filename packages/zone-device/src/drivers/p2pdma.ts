import { EINVAL, ENOMEM, MmError, type Machine, type Pfn } from '@mm/core';
import { DevPagemap } from '../memremap/dev-pagemap.js';
import { percpu_ref_tryget_live } from '../memremap/get-dev-pagemap.js';
import { MEMORY_DEVICE_PCI_P2PDMA } from '../memremap/memory-type.js';
import { memremap_pages, percpu_ref_put_many } from '../memremap/memremap-pages.js';
import { page_get_pgmap } from '../memremap/page-pgmap.js';
import { PAGES_PER_SUBSECTION, request_free_mem_region } from '../memremap/request-free-mem-region.js';
import { GenPool } from './genpool.js';

/**
 * A PCI peer-to-peer DMA provider (`drivers/pci/p2pdma.c`): each BAR range added with
 * `pci_p2pdma_add_resource` becomes a MEMORY_DEVICE_PCI_P2PDMA pgmap whose pages feed one genpool;
 * every page handed out of the pool holds one pgmap reference until it returns, so `memunmap_pages`
 * of the provider's pgmap completes only when the pool is whole again. The BAR's physical address is
 * modelled as a free region above RAM (`request_free_mem_region`); bus offsets, distance checks and
 * sysfs are not modelled.
 */
export class PciP2pdma {
  /** `p2pdma->pool`. */
  readonly pool = new GenPool();
  /** One pgmap per added resource. */
  readonly pgmaps: DevPagemap[] = [];
  /** The machine. */
  readonly m: Machine;
  /** How many pages `p2pdma_page_free` returned to the pool. */
  pagesFreed = 0;

  /** A provider with no memory yet (`pci_p2pdma_setup`). */
  constructor(m: Machine) {
    this.m = m;
  }
}

/**
 * `pci_p2pdma_add_resource(pdev, bar, size, offset)`: map `nrPages` of BAR memory as a P2PDMA pgmap
 * (node `nid`) with `page_free = p2pdma_page_free`, and add it to the pool with the pgmap as owner.
 * Returns 0, or -ENOMEM if no physical range is left; a size that is not whole 2 MiB subsections is
 * `MmError(EINVAL)`.
 */
export function pci_p2pdma_add_resource(p2p: PciP2pdma, nrPages: number, nid = -1): number {
  const m = p2p.m;
  if (!(Number.isInteger(nrPages) && nrPages > 0 && nrPages % PAGES_PER_SUBSECTION === 0)) {
    throw new MmError(EINVAL, `pci_p2pdma_add_resource: ${nrPages} pages`, { rule: 'whole 2 MiB subsections' });
  }
  const range = request_free_mem_region(m, nrPages);
  if (range === null) return -ENOMEM;
  const pgmap = new DevPagemap({
    type: MEMORY_DEVICE_PCI_P2PDMA,
    ranges: [range],
    ops: { page_free: (page: Pfn) => p2pdma_page_free(p2p, page) },
  });
  memremap_pages(m, pgmap, nid);
  p2p.pgmaps.push(pgmap);
  p2p.pool.gen_pool_add_owner(range.start, nrPages, pgmap);
  return 0;
}

/**
 * `pci_alloc_p2pmem(pdev, size)`: `nrPages` contiguous pages from the pool (first fit), each holding a
 * live reference on its pgmap (the kernel takes one for the allocation; `p2pmem_alloc_mmap` takes the
 * rest so each page can be freed alone — the model takes one per page throughout). The pages stay at
 * refcount 0: kernel-internal users do not refcount them. Returns the first PFN, or -1 if the pool is
 * exhausted or the pgmap is dying.
 */
export function pci_alloc_p2pmem(p2p: PciP2pdma, nrPages: number): Pfn | -1 {
  const got = p2p.pool.gen_pool_alloc_owner(nrPages);
  if (got === null) return -1;
  const pgmap = got.owner as DevPagemap;
  if (!percpu_ref_tryget_live(p2p.m, pgmap)) {
    p2p.pool.gen_pool_free_owner(got.pfn, nrPages);
    return -1;
  }
  pgmap.ref += nrPages - 1;
  return got.pfn as Pfn;
}

/** `pci_free_p2pmem(pdev, addr, size)`: return pages to the pool and drop their pgmap references. */
export function pci_free_p2pmem(p2p: PciP2pdma, pfn: Pfn, nrPages: number): void {
  const pgmap = p2p.pool.gen_pool_free_owner(pfn, nrPages) as DevPagemap;
  percpu_ref_put_many(p2p.m, pgmap, nrPages);
}

/**
 * `p2pmem_alloc_mmap(...)` without the VMA: allocate `nrPages` pages from the pool for user space and
 * give each refcount 1 (`set_page_count(page, 1)`); that reference stands for the user mapping, and
 * its `folio_put` reaches `free_zone_device_folio`, whose `page_free` returns the page to the pool.
 * Returns the PFNs, or null if the pool cannot satisfy the request.
 */
export function p2pmem_alloc_mmap(p2p: PciP2pdma, nrPages: number): Pfn[] | null {
  const first = pci_alloc_p2pmem(p2p, nrPages);
  if (first < 0) return null;
  const out: Pfn[] = [];
  for (let i = 0; i < nrPages; i++) {
    p2p.m.memmap.refcount[first + i] = 1;
    out.push((first + i) as Pfn);
  }
  return out;
}

/**
 * `p2pdma_page_free(page)`: the `page_free` op — `gen_pool_free_owner` the page and
 * `percpu_ref_put` the pgmap reference it held.
 */
export function p2pdma_page_free(p2p: PciP2pdma, page: Pfn): void {
  const pgmap = page_get_pgmap(p2p.m, page);
  p2p.pool.gen_pool_free_owner(page, 1);
  p2p.pagesFreed++;
  percpu_ref_put_many(p2p.m, pgmap, 1);
}
