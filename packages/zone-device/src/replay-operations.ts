import { EINVAL, ENOMEM, MmError, ReplayIds, defineReplayableOperation, type Machine, type Pfn, type ReplayableOperation, type ReplayableOperations } from '@mm/core';
import { injectable } from 'tsyringe';
import { dmirror_device_init, dmirror_device_remove_chunks, dmirror_devmem_alloc_page, type DmirrorDevice } from './drivers/test-hmm.js';
import { PciP2pdma, pci_alloc_p2pmem, pci_free_p2pmem, pci_p2pdma_add_resource } from './drivers/p2pdma.js';
import { DevPagemap } from './memremap/dev-pagemap.js';
import { MEMORY_DEVICE_COHERENT, MEMORY_DEVICE_FS_DAX, MEMORY_DEVICE_GENERIC, MEMORY_DEVICE_PRIVATE } from './memremap/memory-type.js';
import { memremap_pages, memunmap_pages } from './memremap/memremap-pages.js';
import { request_free_mem_region } from './memremap/request-free-mem-region.js';
import { zone_device_page_init } from './memremap/zone-device-page-init.js';

/**
 * ZONE_DEVICE's replayable operations (the core's `ReplayableOperations`), so that a recorded
 * scenario can map device memory, allocate and free device pages and unmap it, and a trace replays
 * it. Pgmaps, P2PDMA providers and HMM test devices are named by ids handed out in creation order.
 *
 * @module
 */

/**
 * Per machine: the pgmaps, P2PDMA providers and dmirror devices the operations created, and the
 * operations:
 * - `memremap_pages(type, nrPages, vmemmap_shift?, nid?)` → pgmap id, or `-ENOMEM` when no physical
 *   range is free: claims a free physical range (`request_free_mem_region`) and maps it as a pgmap of
 *   `type` (MEMORY_DEVICE_GENERIC or MEMORY_DEVICE_FS_DAX: the types that need no driver callbacks; the
 *   kernel function takes a pgmap its driver filled in); `zone_device_page_init(pfn)` (hand out a
 *   device page: refcount 1, locked); `memunmap_pages(pgmap)` → whether the teardown completed (else
 *   it completes when the last reference goes).
 * - `pci_p2pdma_setup()` → provider id; `pci_p2pdma_add_resource(p2p, nrPages, nid?)` → 0 or
 *   negative errno; `pci_alloc_p2pmem(p2p, nrPages)` → PFN or -1; `pci_free_p2pmem(p2p, pfn, nrPages)`.
 * - `dmirror_device_init(type?)` (MEMORY_DEVICE_PRIVATE, the default, or MEMORY_DEVICE_COHERENT) →
 *   device id; `dmirror_devmem_alloc_page(dev)` → device PFN (locked, refcount 1: unlock and put it
 *   with the core's operations to free it) or -1; `dmirror_device_remove_chunks(dev)` → whether every
 *   chunk is gone.
 */
@injectable()
export class ZoneDeviceReplayOperations implements ReplayableOperations {
  /** Pgmaps mapped by `memremap_pages`, by id. */
  readonly pgmaps = new ReplayIds<DevPagemap>('pgmap');
  /** P2PDMA providers, by id. */
  readonly providers = new ReplayIds<PciP2pdma>('P2PDMA provider');
  /** HMM test devices, by id. */
  readonly devices = new ReplayIds<DmirrorDevice>('dmirror device');
  /** The operations. */
  readonly operations: readonly ReplayableOperation[] = [
    defineReplayableOperation('memremap_pages', ['int', 'int', 'int?', 'int?'], (m: Machine, type: number, nrPages: number, shift?: number, nid?: number) => {
      if (type !== MEMORY_DEVICE_GENERIC && type !== MEMORY_DEVICE_FS_DAX) {
        throw new MmError(EINVAL, `memremap_pages: type ${type} needs a driver`, { rule: 'replayed pgmaps are MEMORY_DEVICE_GENERIC or MEMORY_DEVICE_FS_DAX' });
      }
      if (!(Number.isInteger(nrPages) && nrPages > 0)) throw new MmError(EINVAL, `memremap_pages: ${nrPages} pages`, { rule: 'nrPages > 0' });
      const range = request_free_mem_region(m, nrPages);
      if (range === null) return -ENOMEM;
      const pgmap = new DevPagemap({ type, ranges: [range], ...(shift === undefined ? {} : { vmemmap_shift: shift }) });
      memremap_pages(m, pgmap, nid ?? -1);
      return this.pgmaps.add(pgmap);
    }),
    defineReplayableOperation('zone_device_page_init', ['pfn'], (m: Machine, page: Pfn) => zone_device_page_init(m, page)),
    defineReplayableOperation('memunmap_pages', ['int'], (m: Machine, id: number) => {
      const done = memunmap_pages(m, this.pgmaps.get(id, 'memunmap_pages')).done;
      this.pgmaps.remove(id);
      return done;
    }),
    defineReplayableOperation('pci_p2pdma_setup', [], (m: Machine) => this.providers.add(new PciP2pdma(m))),
    defineReplayableOperation('pci_p2pdma_add_resource', ['int', 'int', 'int?'], (m: Machine, p2p: number, nrPages: number, nid?: number) =>
      pci_p2pdma_add_resource(this.providers.get(p2p, 'pci_p2pdma_add_resource'), nrPages, nid ?? -1),
    ),
    defineReplayableOperation('pci_alloc_p2pmem', ['int', 'int'], (m: Machine, p2p: number, nrPages: number) => pci_alloc_p2pmem(this.providers.get(p2p, 'pci_alloc_p2pmem'), nrPages)),
    defineReplayableOperation('pci_free_p2pmem', ['int', 'pfn', 'int'], (m: Machine, p2p: number, pfn: Pfn, nrPages: number) =>
      pci_free_p2pmem(this.providers.get(p2p, 'pci_free_p2pmem'), pfn, nrPages),
    ),
    defineReplayableOperation('dmirror_device_init', ['int?'], (m: Machine, type?: number) => {
      if (type !== undefined && type !== MEMORY_DEVICE_PRIVATE && type !== MEMORY_DEVICE_COHERENT) {
        throw new MmError(EINVAL, `dmirror_device_init: type ${type}`, { rule: 'MEMORY_DEVICE_PRIVATE or MEMORY_DEVICE_COHERENT' });
      }
      return this.devices.add(dmirror_device_init(m, type ?? MEMORY_DEVICE_PRIVATE));
    }),
    defineReplayableOperation('dmirror_devmem_alloc_page', ['int'], (m: Machine, dev: number) => dmirror_devmem_alloc_page(this.devices.get(dev, 'dmirror_devmem_alloc_page'))),
    defineReplayableOperation('dmirror_device_remove_chunks', ['int'], (m: Machine, dev: number) => dmirror_device_remove_chunks(this.devices.get(dev, 'dmirror_device_remove_chunks'))),
  ];
}
