import { free_frozen_pages } from '../alloc/page-alloc.js';
import type { Machine } from '../machine/machine.js';
import { folio_order } from '../page/compound.js';
import { FOLIO_OWNER_OPS, PTR_TAG_MASK, ptr_id } from '../page/word.js';
import type { Folio } from '../types.js';
import { page_cache_release } from './lru.js';
import type { FolioOwnerOps } from './owner-ops.js';

/**
 * How `__folio_put` finds who frees a folio whose refcount reached 0:
 * - `owner-ops`: series 1 (RFC v1 patch 7): if bit 1 of the lru word is set, call that owner's
 *   `free`, else free to the page allocator.
 * - `mainline`: upstream `mm/swap.c`: an explicit branch per owner (zone device, then hugetlb), else
 *   the page allocator.
 * Both give the same observable result for the owners this project models; tests run both.
 */
export type FreeDispatchStrategy = 'owner-ops' | 'mainline';

/**
 * `__folio_put(folio)` (`mm/swap.c`): called exactly once when a folio's refcount drops to 0.
 * Dispatch follows the machine's {@link FreeDispatchStrategy}; the default path is
 * `page_cache_release` (leave the LRU), memcg uncharge (`memcg_data = 0`), and
 * `free_frozen_pages(folio, order)`. Deferred THP split queues are not modelled.
 */
export function __folio_put(m: Machine, folio: Folio): void {
  const owner = ownerOf(m, folio);
  if (owner !== null) {
    if (m.trace.active) m.trace.emit('folio_freed', { folio, owner: owner.name, strategy: m.strategy });
    owner.free(folio);
    return;
  }
  if (m.trace.active) m.trace.emit('folio_freed', { folio, owner: 'page_alloc', strategy: m.strategy });
  free_folio_to_allocator(m, folio);
}

/** The owner whose `free` takes this folio under the machine's strategy, or null for the allocator. */
function ownerOf(m: Machine, folio: Folio): FolioOwnerOps | null {
  if (m.strategy === 'owner-ops') {
    const w = m.memmap.lru[folio]!;
    if ((w & PTR_TAG_MASK) !== FOLIO_OWNER_OPS) return null;
    return m.ownerOps.get(ptr_id(w)) ?? null;
  }
  const branches = m.mainlineBranches;
  for (let i = 0; i < branches.length; i++) {
    const b = branches[i]!;
    if (b.mainline!.claims(folio)) return b;
  }
  return null;
}

/** The default end of `__folio_put`: leave the LRU, uncharge, free to the page allocator. */
export function free_folio_to_allocator(m: Machine, folio: Folio): void {
  page_cache_release(m, folio);
  m.memmap.memcgData[folio] = 0;
  free_frozen_pages(m, folio, folio_order(m, folio));
}

/**
 * The freeing half of `folios_put_refs` (`mm/swap.c`): drop each folio's references; owners get their
 * callback as they reach 0 (the series 1 check comes first, then mainline's zone-device and hugetlb
 * branches); the rest leave the LRU and go to the allocator together (`free_unref_folios`), each
 * traced as `mm_page_free_batched`. Arguments are validated by the caller.
 */
export function folios_put_refs_free(m: Machine, folios: readonly Folio[], refs?: readonly number[]): void {
  const rc = m.memmap.refcount;
  let batch: Folio[] | null = null;
  for (let i = 0; i < folios.length; i++) {
    const folio = folios[i]!;
    const n = refs ? refs[i]! : 1;
    rc[folio]! -= n;
    if (rc[folio] !== 0) continue;
    const owner = ownerOf(m, folio);
    if (owner !== null) {
      if (m.trace.active) m.trace.emit('folio_freed', { folio, owner: owner.name, strategy: m.strategy });
      owner.free(folio);
      continue;
    }
    if (m.trace.active) m.trace.emit('folio_freed', { folio, owner: 'page_alloc', strategy: m.strategy });
    page_cache_release(m, folio);
    (batch ??= []).push(folio);
  }
  if (batch === null) return;
  // free_unref_folios(): uncharge, then free each folio.
  for (const folio of batch) {
    m.memmap.memcgData[folio] = 0;
    if (m.trace.active) m.trace.emit('mm_page_free_batched', { pfn: folio });
    free_frozen_pages(m, folio, folio_order(m, folio));
  }
}
