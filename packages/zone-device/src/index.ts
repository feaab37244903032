/**
 * `@mm/zone-device`: ZONE_DEVICE memory for the `@mm` model — `struct dev_pagemap` and its memory
 * types, `memremap_pages`/`memunmap_pages`, the pgmap accessors and predicates, and
 * `free_zone_device_folio` as the pgmap's `folio_owner_ops.free` (series 1) or mainline's explicit
 * `__folio_put` branch; device-private migration (`migrate_vma_*`, `migrate_to_ram`) over a minimal
 * process-memory model; and three reference drivers: the HMM test driver (dmirror), a PCI P2PDMA
 * provider with its genpool, and a device-dax (GENERIC) region.
 *
 * Register {@link zoneDevicePlugin} with `createMachine({ plugins: [zoneDevicePlugin()] })`.
 *
 * @packageDocumentation
 */

export { zoneDevicePlugin } from './plugin.js';

export {
  MEMORY_DEVICE_PRIVATE,
  MEMORY_DEVICE_COHERENT,
  MEMORY_DEVICE_FS_DAX,
  MEMORY_DEVICE_GENERIC,
  MEMORY_DEVICE_PCI_P2PDMA,
  MEMORY_TYPE_NAMES,
  pgmapRefsPerAllocation,
  type MemoryType,
} from './memremap/memory-type.js';
export { DevPagemap, type DevPagemapOps, type DevPagemapInit } from './memremap/dev-pagemap.js';
export { Completion } from './memremap/completion.js';
export { ZoneDeviceState, zoneDeviceState } from './memremap/zone-device-state.js';
export { request_free_mem_region, release_mem_region, PAGES_PER_SUBSECTION } from './memremap/request-free-mem-region.js';
export { memremap_pages, memunmap_pages, pageunmap_range, percpu_ref_put_many, MAX_VMEMMAP_SHIFT } from './memremap/memremap-pages.js';
export { __init_zone_device_page, memmap_init_compound, memmap_init_zone_device } from './memremap/memmap-init-zone-device.js';
export { get_dev_pagemap, put_dev_pagemap, percpu_ref_tryget_live } from './memremap/get-dev-pagemap.js';
export { page_get_pgmap, page_set_pgmap, page_pgmap } from './memremap/page-pgmap.js';
export {
  is_device_private_page,
  folio_is_device_private,
  is_device_coherent_page,
  folio_is_device_coherent,
  is_pci_p2pdma_page,
  folio_is_fsdax,
  zone_device_pages_have_same_pgmap,
} from './memremap/predicates.js';
export { free_zone_device_folio } from './memremap/free-zone-device-folio.js';
export { zone_device_page_init } from './memremap/zone-device-page-init.js';
export { dax_page_is_idle, wait_page_idle, wake_up_var } from './memremap/fsdax-wait.js';
export { ZoneDeviceBranch } from './memremap/zone-device-branch.js';
export { memory_failure_dev_pagemap } from './memremap/memory-failure.js';
export { ZoneDeviceInvariants } from './debug/zone-device-invariants.js';

export {
  MmStruct,
  VmAreaStruct,
  vma_lookup,
  linear_page_index,
  VM_READ,
  VM_WRITE,
  FAULT_FLAG_WRITE,
  VM_FAULT_OOM,
  VM_FAULT_SIGBUS,
  PTE_KIND,
  PTE_BIT,
  type PteView,
  type VmFault,
} from './mm/mm-struct.js';
export { AnonVmaTable, anonVmaTable, mmapAnonymous } from './mm/anon-vma.js';
export { folio_add_anon_rmap_pte, folio_remove_rmap_pte, folio_try_share_anon_rmap_pte, RMAP_EXCLUSIVE } from './mm/rmap.js';
export { handle_mm_fault, do_anonymous_page, do_swap_page, zap_page_range_single } from './mm/memory.js';

export {
  MIGRATE_PFN_VALID,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_WRITE,
  MIGRATE_PFN_SHIFT,
  MIGRATE_VMA_SELECT_SYSTEM,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  MIGRATE_VMA_SELECT_DEVICE_COHERENT,
  migrate_pfn,
  migrate_pfn_to_page,
  migrateVmaArgs,
  type MigrateVma,
} from './migrate/migrate-vma.js';
export {
  migrate_vma_setup,
  migrate_vma_pages,
  migrate_vma_finalize,
  migrate_device_range,
  migrate_device_pages,
  migrate_device_finalize,
} from './migrate/migrate-device.js';

export {
  DEVMEM_CHUNK_PAGES,
  DmirrorChunk,
  DmirrorDevice,
  Dmirror,
  dmirror_device_init,
  dmirror_allocate_chunk,
  dmirror_devmem_alloc_page,
  dmirror_devmem_free,
  dmirror_migrate_to_device,
  dmirror_migrate_to_system,
  dmirror_devmem_fault,
  dmirror_device_evict_chunk,
  dmirror_device_remove_chunks,
  type DmirrorCmdResult,
} from './drivers/test-hmm.js';
export { GenPool } from './drivers/genpool.js';
export { PciP2pdma, pci_p2pdma_add_resource, pci_alloc_p2pmem, pci_free_p2pmem, p2pmem_alloc_mmap, p2pdma_page_free } from './drivers/p2pdma.js';
export { DevDax, devm_create_dev_dax, dax_pgoff_to_phys, unregister_dev_dax } from './drivers/dev-dax.js';
