import type { Machine } from '@mm/core';
import type { DevPagemap } from './dev-pagemap.js';
import { percpu_ref_put_many } from './memremap-pages.js';
import { zoneDeviceState } from './zone-device-state.js';

/**
 * Taking and dropping pgmap references (`mm/memremap.c`, `include/linux/memremap.h`).
 *
 * @module
 */

/** `percpu_ref_tryget_live(&pgmap->ref)`: take a reference unless the pgmap is dying (or unmapped). */
export function percpu_ref_tryget_live(m: Machine, pgmap: DevPagemap): boolean {
  if (pgmap.machine !== m || pgmap.dying) return false;
  pgmap.ref++;
  return true;
}

/**
 * `get_dev_pagemap(pfn)` (`mm/memremap.c`, latest signature without the cached argument): the pgmap
 * that maps `pfn`, with a new live reference, or null if none maps it or it is dying. Release it with
 * {@link put_dev_pagemap}.
 */
export function get_dev_pagemap(m: Machine, pfn: number): DevPagemap | null {
  const pgmap = zoneDeviceState(m).lookup(pfn);
  if (pgmap === null || !percpu_ref_tryget_live(m, pgmap)) return null;
  return pgmap;
}

/**
 * `put_dev_pagemap(pgmap)` (`include/linux/memremap.h`): drop one reference (a no-op for null). The
 * last reference of a dying pgmap completes its `memunmap_pages`. A put without a reference is
 * rejected (`MmError(EINVAL)`).
 */
export function put_dev_pagemap(m: Machine, pgmap: DevPagemap | null): void {
  if (pgmap !== null) percpu_ref_put_many(m, pgmap, 1);
}
