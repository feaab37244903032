import { ENXIO, EOPNOTSUPP, PG, type Machine, type Pfn } from '@mm/core';
import { get_dev_pagemap, put_dev_pagemap } from './get-dev-pagemap.js';
import { MEMORY_DEVICE_COHERENT, MEMORY_DEVICE_PRIVATE } from './memory-type.js';

/**
 * `memory_failure_dev_pagemap(pfn, flags, pgmap)` as `memory_failure(pfn, flags)` reaches it for a
 * ZONE_DEVICE PFN (`mm/memory-failure.c`): with a live pgmap reference, let the driver handle the error
 * (`ops->memory_failure(pgmap, pfn, 1, flags)`); if it has no handler or returns `-EOPNOTSUPP`, fall
 * back to `mf_generic_kill_procs`, which refuses PRIVATE and COHERENT pages (`-ENXIO`: device-side
 * coordination is a TODO upstream) and otherwise sets PG_hwpoison on the page (killing the processes
 * that map it and unmapping it are not modelled) and returns 0. Returns `-ENXIO` for a PFN no live pgmap
 * maps. DAX folio locking is not modelled.
 */
export function memory_failure_dev_pagemap(m: Machine, pfn: Pfn, flags: number): number {
  const pgmap = get_dev_pagemap(m, pfn);
  if (pgmap === null) return -ENXIO;
  let rc = -EOPNOTSUPP;
  if (pgmap.ops?.memory_failure) rc = pgmap.ops.memory_failure(pgmap, pfn, 1, flags);
  if (rc === -EOPNOTSUPP) {
    if (pgmap.type === MEMORY_DEVICE_PRIVATE || pgmap.type === MEMORY_DEVICE_COHERENT) rc = -ENXIO;
    else {
      m.memmap.flags[pfn]! |= 1 << PG.hwpoison;
      rc = 0;
    }
  }
  put_dev_pagemap(m, pgmap);
  return rc;
}
