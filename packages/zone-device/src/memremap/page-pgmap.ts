import { EINVAL, FOLIO_OWNER_OPS, MmError, TAIL_BIT, id_ptr, is_zone_device_page, ptr_id, ptr_pfn, type Machine, type Pfn } from '@mm/core';
import type { DevPagemap } from './dev-pagemap.js';

/**
 * The pgmap accessors. Series 1 (RFC v1 patch 8) introduced `page_get_pgmap`/`page_set_pgmap` so that
 * patch 9 could tag the stored pointer with bit 1 (`FOLIO_OWNER_OPS`); upstream got
 * `page_pgmap()`/`folio->pgmap` in v6.15 without a tag. The pgmap lives in the first word of the
 * folio's head page (the word `lru` and `compound_head` share); a tail page reaches it through its
 * head, as `page_pgmap` does since compound device folios.
 *
 * Under the `owner-ops` strategy the word is `pgmap | FOLIO_OWNER_OPS`; under `mainline` it is the
 * bare pointer (`folio->pgmap`).
 *
 * @module
 */

/**
 * `page_set_pgmap(page, pgmap)` (series 1 patch 9): store the pgmap in the head page's first word,
 * tagged with bit 1 under the `owner-ops` strategy (so it doubles as the owner-ops pointer), untagged
 * under `mainline`. The pgmap must be mapped (have an id).
 */
export function page_set_pgmap(m: Machine, page: Pfn, pgmap: DevPagemap): void {
  m.memmap.lru[page] = id_ptr(pgmap.id) | (m.strategy === 'owner-ops' ? FOLIO_OWNER_OPS : 0);
}

/**
 * `page_get_pgmap(page)` (series 1 patch 8/9; `page_pgmap(page)` upstream): the pgmap of a ZONE_DEVICE
 * page, with the tag bit masked off. The kernel WARNs for a page outside ZONE_DEVICE; the model throws
 * `MmError(EINVAL)`.
 */
export function page_get_pgmap(m: Machine, page: Pfn): DevPagemap {
  if (!is_zone_device_page(m, page)) {
    throw new MmError(EINVAL, 'page_get_pgmap on a page outside ZONE_DEVICE', { pfn: page, rule: '§13 §5.1 page_pgmap only for ZONE_DEVICE pages' });
  }
  const lru = m.memmap.lru;
  const w = lru[page]!;
  const head = (w & TAIL_BIT) !== 0 ? ptr_pfn(w) : page;
  return m.ownerOps.get(ptr_id(lru[head]!)) as DevPagemap;
}

/** `page_pgmap(page)` (`include/linux/mmzone.h`, v6.15+): the upstream name of {@link page_get_pgmap}. */
export function page_pgmap(m: Machine, page: Pfn): DevPagemap {
  return page_get_pgmap(m, page);
}
