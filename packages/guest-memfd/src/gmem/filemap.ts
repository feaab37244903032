import { ENOMEM, EAGAIN, NR_NODE, PG, filemap_add_folio, folio_alloc, folio_unlock, type Folio, type Machine } from '@mm/core';
import { GMEM_PENDING, GMEM_PRIVATE, type GmemFile } from './gmem-file.js';
import { hugetlbGetFolio } from './hugetlb-backing.js';

/**
 * guest_memfd's page cache, the core's `AddressSpace`: folios are allocated on demand into the
 * file's `i_pages`, each page holding one page-cache reference (`__filemap_add_folio` adds
 * `folio_nr_pages` references), with `folio->mapping` pointing at the file's inaccessible
 * address_space and `folio->index` at the first index. Buddy-backed folios enter through the core's
 * `filemap_add_folio`: counted in `NR_FILE_PAGES`, on the (unevictable) LRU through the per-CPU
 * `lru_add` batch. Hugetlb-backed memory is neither (the hugetlb pool counts it, and hugetlb memory
 * never enters the LRU), so it, and folios coming back from a pending conversion, use the bare
 * insertion below.
 *
 * @module
 */

/** No folio at an index. */
export const NO_FOLIO = -1;

/** The folio covering `index` in the page cache (`filemap_get_entry`, without a reference), or -1. */
export function folioAt(file: GmemFile, index: number): number {
  return file.mapping.i_pages.get(index) ?? NO_FOLIO;
}

/**
 * Enter `folio` into the file's i_pages at `index` (the xarray store and the counters of
 * `__filemap_add_folio`, without the references); the caller adds the page-cache references.
 */
export function pageCacheInsert(m: Machine, file: GmemFile, folio: Folio, index: number, nr: number): void {
  const mm = m.memmap;
  mm.mapping[folio] = file.mapping.ptr;
  mm.index[folio] = index;
  for (let i = index; i < index + nr; i++) file.mapping.i_pages.set(i, folio);
  file.mapping.nrpages += nr;
  if (file.hugetlb === null) m.nodes[mm.flags[folio]! >>> 27]!.vmstat[NR_NODE.nr_file_pages]! += nr;
}

/**
 * Take `folio` out of i_pages (`page_cache_delete`: the entries are erased and `folio->mapping`
 * becomes NULL; `folio->index` is kept). The caller drops the page-cache references.
 */
export function pageCacheDelete(m: Machine, file: GmemFile, folio: Folio, index: number, nr: number): void {
  const mm = m.memmap;
  for (let i = index; i < index + nr; i++) file.mapping.i_pages.delete(i);
  file.mapping.nrpages -= nr;
  mm.mapping[folio] = 0;
  if (file.hugetlb === null) m.nodes[mm.flags[folio]! >>> 27]!.vmstat[NR_NODE.nr_file_pages]! -= nr;
}

/** True if every index of `[start, start + n)` is private, absent from the cache and not pending. */
function rangeEmptyPrivate(file: GmemFile, start: number, n: number): boolean {
  if (start + n > file.nrPages) return false;
  for (let i = start; i < start + n; i++) {
    if (file.attributes[i] !== GMEM_PRIVATE || folioAt(file, i) !== NO_FOLIO || (file.indexFlags[i]! & GMEM_PENDING) !== 0) return false;
  }
  return true;
}

/**
 * `kvm_gmem_get_folio(inode, index)` (`virt/kvm/guest_memfd.c`): the folio covering `index`, allocated
 * into the page cache if absent, returned with one reference for the caller; `-ENOMEM` if allocation
 * fails, `-EAGAIN` if the index belongs to a pending conversion (deferred design only).
 *
 * Folio size: a buddy-backed file allocates a folio of its `order` when the naturally aligned range
 * around `index` is entirely private and empty (falling back to order 0), else order 0 — shared memory
 * is always order 0, because the host maps and pins it page by page and a conversion must be able to
 * check each shared page's references on its own. A hugetlb-backed file always allocates its huge page
 * and splits it at once if part of it is shared. Mainline allocates order 0 only (it WARNs on large
 * folios); the large and hugetlb cases follow the THP and hugetlb guest_memfd series. The kernel
 * returns the folio locked; the model has no concurrency and takes no lock.
 */
export function kvm_gmem_get_folio(m: Machine, file: GmemFile, index: number): Folio | number {
  const f = folioAt(file, index);
  if (f !== NO_FOLIO) {
    m.memmap.refcount[f]!++;
    return f as Folio;
  }
  if ((file.indexFlags[index]! & GMEM_PENDING) !== 0) return -EAGAIN;
  if (file.hugetlb !== null) return hugetlbGetFolio(m, file, index);
  let order = file.order;
  const base = index & ~((1 << order) - 1);
  if (order > 0 && !rangeEmptyPrivate(file, base, 1 << order)) order = 0;
  let folio = folio_alloc(m, file.gfp, order);
  if (folio === -1 && order > 0) {
    order = 0;
    folio = folio_alloc(m, file.gfp, 0);
  }
  if (folio === -1) return -ENOMEM;
  const start = order === 0 ? index : base;
  m.withChecksDeferred('kvm_gmem_get_folio', () => {
    // lru_add() finds the folio unevictable (folio_evictable: the mapping is AS_UNEVICTABLE); the
    // core's LRU does not look at mappings, so the flag is set here.
    m.memmap.flags[folio]! |= 1 << PG.unevictable;
    filemap_add_folio(m, file.mapping, folio, start);
    folio_unlock(m, folio);
  });
  return folio;
}

/** `folio_mark_uptodate()` after the first use cleared the folio (`clear_highpage`). */
export function gmemMarkUptodate(m: Machine, folio: Folio): void {
  m.memmap.flags[folio]! |= 1 << PG.uptodate;
}
