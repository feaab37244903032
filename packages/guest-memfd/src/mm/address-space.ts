import { AS, type AddressSpace } from '@mm/core';

/**
 * The `AS_*` setters of `include/linux/pagemap.h` that guest_memfd uses, on the core's
 * `AddressSpace` (which has the testers, `mapping_inaccessible` and `mapping_unevictable`).
 *
 * @module
 */

/** `mapping_set_unevictable(mapping)`. */
export function mapping_set_unevictable(mapping: AddressSpace): void {
  mapping.flags |= AS.AS_UNEVICTABLE;
}

/**
 * `mapping_set_inaccessible(mapping)`: AS_INACCESSIBLE — no direct access and no migration
 * (`move_to_new_folio` fails with `-EOPNOTSUPP`, compaction's migration scanner skips the folios) —
 * and AS_UNEVICTABLE, which compaction relies on inaccessible mappings to have.
 */
export function mapping_set_inaccessible(mapping: AddressSpace): void {
  mapping.flags |= AS.AS_UNEVICTABLE | AS.AS_INACCESSIBLE;
}
