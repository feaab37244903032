import { MmError } from '../debug/mm-error.js';
import { assertFolio, assertReferenced } from '../debug/validate.js';
import { EEXIST, EINVAL } from '../errno.js';
import type { Machine } from '../machine/machine.js';
import { filemap_migrate_folio, migrate_folio } from '../migrate/migrate-folio.js';
import { folio_nr_pages } from '../page/compound.js';
import { PG, folio_test_swapcache } from '../page/page-flags.js';
import { NR_NODE } from '../trace/vmstat.js';
import type { Folio } from '../types.js';
import { AddressSpace } from './address-space.js';
import { FOLIO_MAPPING_ANON } from './anon-vma.js';

/**
 * The swap cache (`mm/swap_state.c`): anonymous folios being swapped in or out are indexed by their
 * swap entry in one address space (`swap_address_space(entry)`; the kernel has one per 64 MiB of swap).
 * A swap-cache folio has PG_swapcache, `folio->swap` (= `private`) the entry, and one reference per
 * page from the cache, which `folio_expected_ref_count` counts. Swap devices and I/O are not modelled:
 * an entry is any integer the caller chooses.
 *
 * @module
 */

/** Boot-time setup of the machine's swap cache and default `a_ops` (called from `createMachine`). */
export function swap_cache_init(m: Machine): void {
  const t = m.mappings;
  t.defaultAops = { migrate_folio: filemap_migrate_folio };
  const id = t.allocId();
  t.swapper = new AddressSpace(id, 'swapper', 0, { migrate_folio: migrate_folio }); // swap_aops
  t.spaces[id] = t.swapper;
}

/**
 * `add_to_swap_cache(folio, entry, gfp, shadowp)`: insert a locked, swap-backed anonymous folio at
 * `entry` (its pages at `entry … entry + nr − 1`): a cache reference per page, PG_swapcache,
 * `folio->swap = entry`, NR_FILE_PAGES and NR_SWAPCACHE. Returns 0 or `-EEXIST`. Misuse
 * (`VM_BUG_ON_FOLIO`: not locked, not anon swap-backed, already in the swap cache) is `MmError(EINVAL)`.
 */
export function add_to_swap_cache(m: Machine, folio: Folio, entry: number): number {
  assertFolio(m, folio, 'add_to_swap_cache');
  assertReferenced(m, folio, 'add_to_swap_cache');
  const mm = m.memmap;
  const f = mm.flags[folio]!;
  if ((f & (1 << PG.locked)) === 0 || (f & (1 << PG.swapbacked)) === 0 || (mm.mapping[folio]! & FOLIO_MAPPING_ANON) === 0 || folio_test_swapcache(m, folio)) {
    throw new MmError(EINVAL, 'add_to_swap_cache needs a locked, swap-backed anonymous folio not yet in the swap cache', {
      pfn: folio,
      rule: 'VM_BUG_ON_FOLIO(!folio_test_locked || folio_test_swapcache || !folio_test_swapbacked)',
    });
  }
  if (!(Number.isInteger(entry) && entry > 0 && entry < 2 ** 32)) throw new MmError(EINVAL, `swap entry ${entry}`, { pfn: folio, rule: 'a swap entry is a nonzero 32-bit value' });
  const nr = folio_nr_pages(m, folio);
  const sc = m.mappings.swapper;
  for (let i = 0; i < nr; i++) if (sc.i_pages.has(entry + i)) return -EEXIST;
  for (let i = 0; i < nr; i++) sc.i_pages.set(entry + i, folio);
  sc.nrpages += nr;
  mm.refcount[folio]! += nr;
  mm.flags[folio]! |= 1 << PG.swapcache;
  mm.private[folio] = entry;
  const node = m.nodes[mm.flags[folio]! >>> 27]!;
  node.vmstat[NR_NODE.nr_file_pages]! += nr;
  node.vmstat[NR_NODE.nr_swapcached]! += nr;
  return 0;
}

/**
 * `delete_from_swap_cache(folio)`: remove a locked folio from the swap cache and drop the cache's
 * references (the folio may be freed if they were the last). `MmError(EINVAL)` if it is not a locked
 * swap-cache folio.
 */
export function delete_from_swap_cache(m: Machine, folio: Folio): void {
  assertFolio(m, folio, 'delete_from_swap_cache');
  const mm = m.memmap;
  if (!folio_test_swapcache(m, folio) || (mm.flags[folio]! & (1 << PG.locked)) === 0) {
    throw new MmError(EINVAL, 'delete_from_swap_cache needs a locked swap-cache folio', { pfn: folio, rule: 'VM_BUG_ON_FOLIO(!folio_test_locked || !folio_test_swapcache)' });
  }
  const nr = folio_nr_pages(m, folio);
  if (mm.refcount[folio]! <= nr) {
    throw new MmError(EINVAL, 'delete_from_swap_cache: the caller must hold a reference besides the cache\'s', { pfn: folio, rule: '§2.2 the caller holds a reference' });
  }
  const entry = mm.private[folio]!;
  const sc = m.mappings.swapper;
  for (let i = 0; i < nr; i++) sc.i_pages.delete(entry + i);
  sc.nrpages -= nr;
  mm.flags[folio]! &= ~(1 << PG.swapcache);
  mm.private[folio] = 0;
  const node = m.nodes[mm.flags[folio]! >>> 27]!;
  node.vmstat[NR_NODE.nr_file_pages]! -= nr;
  node.vmstat[NR_NODE.nr_swapcached]! -= nr;
  mm.refcount[folio]! -= nr; // folio_ref_sub(folio, nr)
}

/** `swap_cache_get_folio(entry)` without the reference: the folio cached at `entry`, or -1. */
export function swap_cache_lookup(m: Machine, entry: number): Folio | -1 {
  return m.mappings.swapper.i_pages.get(entry) ?? -1;
}
