import { MmError } from '../debug/mm-error.js';
import { assertFolio, assertReferenced } from '../debug/validate.js';
import { EEXIST, EINVAL } from '../errno.js';
import { folio_put_refs, folio_try_get } from '../folio/folio-ref.js';
import { folio_add_lru } from '../folio/lru.js';
import { folio_mapped } from '../folio/mapcount.js';
import type { Machine } from '../machine/machine.js';
import { folio_nr_pages } from '../page/compound.js';
import { PG } from '../page/page-flags.js';
import { NR_NODE } from '../trace/vmstat.js';
import type { Folio } from '../types.js';
import { assertAddressSpace, type AddressSpace } from './address-space.js';

/**
 * The page cache (`mm/filemap.c`): insertion, removal and lookup of folios in an
 * {@link AddressSpace}. Every page of a cached folio holds a reference from the cache (counted by
 * `folio_expected_ref_count`); NR_FILE_PAGES (and NR_SHMEM for swap-backed folios) follow.
 *
 * @module
 */

const LOCKED = 1 << PG.locked;
const SWAPBACKED = 1 << PG.swapbacked;

/**
 * `filemap_add_folio(mapping, folio, index, gfp)`: lock a new folio, insert it at `index` (aligned to
 * its size) with a cache reference per page, and queue it for the LRU. As in the kernel the folio is
 * returned **locked** (the caller unlocks it once its contents are read). Returns 0 or `-EEXIST` if an
 * index is taken. `MmError(EINVAL)` for a folio that is locked, already has a mapping, or a misaligned
 * index.
 */
export function filemap_add_folio(m: Machine, mapping: AddressSpace, folio: Folio, index: number): number {
  assertAddressSpace(m, mapping, 'filemap_add_folio');
  assertFolio(m, folio, 'filemap_add_folio');
  assertReferenced(m, folio, 'filemap_add_folio');
  const mm = m.memmap;
  const nr = folio_nr_pages(m, folio);
  if ((mm.flags[folio]! & LOCKED) !== 0 || mm.mapping[folio] !== 0 || mm.mapcount[folio]! < -16777216) {
    throw new MmError(EINVAL, 'filemap_add_folio: folio is locked, typed or already has a mapping', { pfn: folio, rule: 'VM_BUG_ON_FOLIO(folio_test_locked / folio->mapping)' });
  }
  if (!(Number.isInteger(index) && index >= 0 && index % nr === 0 && index + nr <= 2 ** 32)) {
    throw new MmError(EINVAL, `filemap_add_folio: index ${index} not aligned to ${nr} pages`, { pfn: folio, rule: 'VM_BUG_ON_FOLIO(index & (nr - 1))' });
  }
  for (let i = 0; i < nr; i++) if (mapping.i_pages.has(index + i)) return -EEXIST;
  mm.flags[folio]! |= LOCKED; // __folio_set_locked
  mm.refcount[folio]! += nr; // folio_ref_add(folio, nr)
  mm.mapping[folio] = mapping.ptr;
  mm.index[folio] = index;
  for (let i = 0; i < nr; i++) mapping.i_pages.set(index + i, folio);
  mapping.nrpages += nr;
  const node = m.nodes[mm.flags[folio]! >>> 27]!;
  node.vmstat[NR_NODE.nr_file_pages]! += nr;
  if ((mm.flags[folio]! & SWAPBACKED) !== 0) node.vmstat[NR_NODE.nr_shmem]! += nr;
  folio_add_lru(m, folio);
  return 0;
}

/**
 * `filemap_remove_folio(folio)` (truncation): remove a locked, unmapped folio from its mapping
 * (`__filemap_remove_folio`: `mapping = NULL`, counters) and drop the cache's references
 * (`filemap_free_folio`), which may free the folio. `MmError(EINVAL)` if the folio is not locked, not
 * in a page cache, or still mapped.
 */
export function filemap_remove_folio(m: Machine, folio: Folio): void {
  assertFolio(m, folio, 'filemap_remove_folio');
  const mm = m.memmap;
  const w = mm.mapping[folio]!;
  const mapping = w !== 0 && (w & 3) === 0 ? m.mappings.spaces[w >>> 2] : undefined;
  if (mapping === undefined || (mm.flags[folio]! & LOCKED) === 0 || folio_mapped(m, folio)) {
    throw new MmError(EINVAL, 'filemap_remove_folio needs a locked, unmapped page-cache folio', { pfn: folio, rule: 'VM_BUG_ON_FOLIO(!folio_test_locked / folio_mapped)' });
  }
  const nr = folio_nr_pages(m, folio);
  if (mm.refcount[folio]! <= nr) throw new MmError(EINVAL, 'filemap_remove_folio: the caller must hold a reference besides the cache\'s', { pfn: folio, rule: '§2.2 the caller holds a reference' });
  const index = mm.index[folio]!;
  for (let i = 0; i < nr; i++) mapping.i_pages.delete(index + i);
  mapping.nrpages -= nr;
  mm.mapping[folio] = 0;
  const node = m.nodes[mm.flags[folio]! >>> 27]!;
  node.vmstat[NR_NODE.nr_file_pages]! -= nr;
  if ((mm.flags[folio]! & SWAPBACKED) !== 0) node.vmstat[NR_NODE.nr_shmem]! -= nr;
  folio_put_refs(m, folio, nr);
}

/**
 * `filemap_get_folio(mapping, index)` (`__filemap_get_folio` without flags): the folio caching
 * `index`, with a new reference (`folio_try_get`, the speculative lookup of `filemap_get_entry`), or
 * -1 if there is none (or it is frozen, e.g. mid-migration).
 */
export function filemap_get_folio(m: Machine, mapping: AddressSpace, index: number): Folio | -1 {
  const folio = mapping.i_pages.get(index);
  if (folio === undefined) return -1;
  return folio_try_get(m, folio) ? folio : -1;
}
