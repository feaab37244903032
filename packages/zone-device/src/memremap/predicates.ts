import { is_zone_device_page, type Folio, type Machine, type Pfn } from '@mm/core';
import { MEMORY_DEVICE_COHERENT, MEMORY_DEVICE_FS_DAX, MEMORY_DEVICE_PCI_P2PDMA, MEMORY_DEVICE_PRIVATE } from './memory-type.js';
import { page_get_pgmap } from './page-pgmap.js';

/**
 * ZONE_DEVICE predicates (`include/linux/memremap.h`, `include/linux/mmzone.h`). `folio_is_zone_device`
 * and `is_zone_device_page` (zone id == ZONE_DEVICE) are in `@mm/core`.
 *
 * @module
 */

function hasType(m: Machine, page: Pfn, type: number): boolean {
  return is_zone_device_page(m, page) && page_get_pgmap(m, page).type === type;
}

/** `is_device_private_page(page)`: a ZONE_DEVICE page of a MEMORY_DEVICE_PRIVATE pgmap. */
export function is_device_private_page(m: Machine, page: Pfn): boolean {
  return hasType(m, page, MEMORY_DEVICE_PRIVATE);
}

/** `folio_is_device_private(folio)`. */
export function folio_is_device_private(m: Machine, folio: Folio): boolean {
  return hasType(m, folio, MEMORY_DEVICE_PRIVATE);
}

/** `is_device_coherent_page(page)`: a ZONE_DEVICE page of a MEMORY_DEVICE_COHERENT pgmap. */
export function is_device_coherent_page(m: Machine, page: Pfn): boolean {
  return hasType(m, page, MEMORY_DEVICE_COHERENT);
}

/** `folio_is_device_coherent(folio)`. */
export function folio_is_device_coherent(m: Machine, folio: Folio): boolean {
  return hasType(m, folio, MEMORY_DEVICE_COHERENT);
}

/** `is_pci_p2pdma_page(page)`: a ZONE_DEVICE page of a MEMORY_DEVICE_PCI_P2PDMA pgmap. */
export function is_pci_p2pdma_page(m: Machine, page: Pfn): boolean {
  return hasType(m, page, MEMORY_DEVICE_PCI_P2PDMA);
}

/** `folio_is_fsdax(folio)`: a ZONE_DEVICE folio of a MEMORY_DEVICE_FS_DAX pgmap. */
export function folio_is_fsdax(m: Machine, folio: Folio): boolean {
  return hasType(m, folio, MEMORY_DEVICE_FS_DAX);
}

/**
 * `zone_device_pages_have_same_pgmap(a, b)`: false if only one of them is ZONE_DEVICE, true if
 * neither is, else whether both have the same pgmap (pages may only be merged, e.g. into one bio
 * segment, if this holds).
 */
export function zone_device_pages_have_same_pgmap(m: Machine, a: Pfn, b: Pfn): boolean {
  const za = is_zone_device_page(m, a);
  if (za !== is_zone_device_page(m, b)) return false;
  if (!za) return true;
  return page_get_pgmap(m, a) === page_get_pgmap(m, b);
}
