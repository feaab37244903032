import { EINVAL, ENOMEM, MmError, type Machine, type Pfn } from '@mm/core';
import { DevPagemap } from '../memremap/dev-pagemap.js';
import { MEMORY_DEVICE_GENERIC } from '../memremap/memory-type.js';
import { memremap_pages, memunmap_pages } from '../memremap/memremap-pages.js';
import type { Completion } from '../memremap/completion.js';
import { PAGES_PER_SUBSECTION, request_free_mem_region } from '../memremap/request-free-mem-region.js';

/**
 * A device-dax instance (`drivers/dax/device.c`, `drivers/dax/bus.c`): a MEMORY_DEVICE_GENERIC pgmap
 * whose `vmemmap_shift` is the instance's alignment order (0 for 4 KiB, 9 for 2 MiB, 18 for 1 GiB), so
 * its pages form compound folios of that size from the start. GENERIC pages are never free: they start
 * at refcount 1 and `free_zone_device_folio` puts them back to 1 whenever a put reaches 0. Faults map
 * folios by offset (`dax_pgoff_to_phys`); the region's memory is placed above RAM with
 * `request_free_mem_region`.
 */
export class DevDax {
  /** The GENERIC pgmap. */
  readonly pgmap: DevPagemap;
  /** The machine. */
  readonly m: Machine;

  /** Wrap an unmapped GENERIC pgmap; use {@link devm_create_dev_dax}. */
  constructor(m: Machine, pgmap: DevPagemap) {
    this.m = m;
    this.pgmap = pgmap;
  }

  /** Pages in the instance. */
  get nrPages(): number {
    return this.pgmap.ranges[0]!.nrPages;
  }
}

/**
 * `devm_create_dev_dax(data)`: create and map a device-dax instance of `nrPages` pages aligned to
 * `2^alignOrder` pages on node `nid`. `MmError(EINVAL)` for a size that is not whole subsections or
 * whole aligned folios; `MmError(ENOMEM)` if no physical range is left.
 */
export function devm_create_dev_dax(m: Machine, nrPages: number, alignOrder = 0, nid = -1): DevDax {
  const align = 2 ** alignOrder;
  if (!(Number.isInteger(nrPages) && nrPages > 0 && nrPages % PAGES_PER_SUBSECTION === 0 && nrPages % align === 0)) {
    throw new MmError(EINVAL, `devm_create_dev_dax: ${nrPages} pages with alignment ${align}`, { rule: 'whole subsections of whole aligned folios' });
  }
  const range = request_free_mem_region(m, Math.max(nrPages, align));
  if (range === null) throw new MmError(ENOMEM, 'devm_create_dev_dax: no physical range left', { rule: 'room below the memmap limit' });
  const pgmap = new DevPagemap({ type: MEMORY_DEVICE_GENERIC, ranges: [range], vmemmap_shift: alignOrder });
  memremap_pages(m, pgmap, nid);
  return new DevDax(m, pgmap);
}

/**
 * `dax_pgoff_to_phys(dev_dax, pgoff, size)` in PFN terms: the folio that maps page offset `pgoff`
 * (the head of its aligned compound folio), or -1 past the end.
 */
export function dax_pgoff_to_phys(dax: DevDax, pgoff: number): Pfn | -1 {
  if (!(Number.isInteger(pgoff) && pgoff >= 0 && pgoff < dax.nrPages)) return -1;
  const align = dax.pgmap.vmemmap_nr;
  return (dax.pgmap.ranges[0]!.start + pgoff - (pgoff % align)) as Pfn;
}

/**
 * `kill_dev_dax` + `devm_memunmap_pages`: tear the instance down. Every mapping must be gone already
 * (the kernel's `unmap_mapping_range` in `kill_dev_dax`); a page still referenced is `MmError(EBUSY)`.
 */
export function unregister_dev_dax(dax: DevDax): Completion {
  return memunmap_pages(dax.m, dax.pgmap);
}
