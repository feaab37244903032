/**
 * `enum memory_type` (`include/linux/memremap.h`): what kind of device memory a `dev_pagemap`
 * describes. 0 is reserved to catch an uninitialised type.
 *
 * @module
 */

/** CPU-inaccessible device memory, mapped through device-private swap-like entries (needs `migrate_to_ram`, `page_free`, an owner). */
export const MEMORY_DEVICE_PRIVATE = 1;
/** CPU-coherent device memory (CXL, some GPUs): migratable, never long-term pinned (needs `page_free`, an owner). */
export const MEMORY_DEVICE_COHERENT = 2;
/** Persistent memory used by a filesystem for DAX. */
export const MEMORY_DEVICE_FS_DAX = 3;
/** Device-dax memory: behaves like System RAM, no driver callbacks. */
export const MEMORY_DEVICE_GENERIC = 4;
/** A PCI BAR used for peer-to-peer DMA, mapped non-cached. */
export const MEMORY_DEVICE_PCI_P2PDMA = 5;

/** One of the `MEMORY_DEVICE_*` values. */
export type MemoryType =
  | typeof MEMORY_DEVICE_PRIVATE
  | typeof MEMORY_DEVICE_COHERENT
  | typeof MEMORY_DEVICE_FS_DAX
  | typeof MEMORY_DEVICE_GENERIC
  | typeof MEMORY_DEVICE_PCI_P2PDMA;

/** Names of the memory types, indexed by value (index 0 is the reserved value). */
export const MEMORY_TYPE_NAMES: readonly string[] = [
  'MEMORY_DEVICE_RESERVED',
  'MEMORY_DEVICE_PRIVATE',
  'MEMORY_DEVICE_COHERENT',
  'MEMORY_DEVICE_FS_DAX',
  'MEMORY_DEVICE_GENERIC',
  'MEMORY_DEVICE_PCI_P2PDMA',
];

/**
 * True for the types whose pages are handed out by a driver allocator one reference at a time and
 * hold one pgmap reference each while allocated (PRIVATE and COHERENT); the other types take their
 * pgmap references up front in `memremap_pages`.
 */
export function pgmapRefsPerAllocation(type: number): boolean {
  return type === MEMORY_DEVICE_PRIVATE || type === MEMORY_DEVICE_COHERENT;
}
