import { PG, folio_nr_pages, type Folio, type Machine } from '@mm/core';
import { wake_up_var } from './fsdax-wait.js';
import { put_dev_pagemap } from './get-dev-pagemap.js';
import { MEMORY_DEVICE_COHERENT, MEMORY_DEVICE_FS_DAX, MEMORY_DEVICE_GENERIC, MEMORY_DEVICE_PCI_P2PDMA, MEMORY_DEVICE_PRIVATE } from './memory-type.js';
import { page_get_pgmap } from './page-pgmap.js';

const ANON_EXCLUSIVE = 1 << PG.anon_exclusive;

/**
 * `free_zone_device_folio(folio)` (`mm/memremap.c`; series 1 moves it to `mm/mm_init.c` and installs it
 * as every pgmap's `folio_ops.free`): what happens when a ZONE_DEVICE folio's refcount reaches 0. The
 * owner callback of both strategies — reached through the tagged pgmap word under `owner-ops`, through
 * mainline's explicit `folio_is_zone_device` branch under `mainline`.
 *
 * Memcg uncharge; an anon folio loses PG_anon_exclusive on every page; `mapping` is cleared unless
 * FS_DAX or GENERIC (their mapping belongs to the filesystem / device-dax); then per type:
 * - PRIVATE, COHERENT: `ops->page_free(page)` (the driver takes the page back; it stays at refcount
 *   0 = free in the driver), then `put_dev_pagemap` drops the reference `zone_device_page_init` took;
 * - GENERIC: the refcount goes back to 1 (a device-dax page is never free);
 * - FS_DAX: `wake_up_var` wakes whoever waits for the page to become idle;
 * - PCI_P2PDMA: `ops->page_free(page)` returns the page to the provider's pool (which drops the pool's
 *   pgmap reference).
 * The memory never reaches the buddy allocator. A missing `page_free` is the kernel's WARN: nothing
 * more happens.
 */
export function free_zone_device_folio(m: Machine, folio: Folio): void {
  const pgmap = page_get_pgmap(m, folio);
  const mm = m.memmap;
  mm.memcgData[folio] = 0;
  if ((mm.mapping[folio]! & 1) !== 0) {
    const nr = folio_nr_pages(m, folio);
    for (let i = 0; i < nr; i++) mm.flags[folio + i]! &= ~ANON_EXCLUSIVE;
  }
  const type = pgmap.type;
  if (type !== MEMORY_DEVICE_FS_DAX && type !== MEMORY_DEVICE_GENERIC) mm.mapping[folio] = 0;
  switch (type) {
    case MEMORY_DEVICE_PRIVATE:
    case MEMORY_DEVICE_COHERENT:
      if (!pgmap.ops?.page_free) break;
      pgmap.ops.page_free(folio);
      put_dev_pagemap(m, pgmap);
      break;
    case MEMORY_DEVICE_GENERIC:
      mm.refcount[folio] = 1; // folio_set_count(folio, 1)
      break;
    case MEMORY_DEVICE_FS_DAX:
      wake_up_var(m, pgmap, folio);
      break;
    case MEMORY_DEVICE_PCI_P2PDMA:
      if (!pgmap.ops?.page_free) break;
      pgmap.ops.page_free(folio);
      break;
  }
}
