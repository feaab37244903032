import { MmError } from '../debug/mm-error.js';
import { assertFolio, assertReferenced } from '../debug/validate.js';
import { EINVAL } from '../errno.js';
import { folio_put_refs } from '../folio/folio-ref.js';
import { folio_add_lru } from '../folio/lru.js';
import type { Machine } from '../machine/machine.js';
import { folio_nr_pages } from '../page/compound.js';
import { PG } from '../page/page-flags.js';
import { PGTY } from '../page/page-type.js';
import { NR_NODE } from '../trace/vmstat.js';
import type { Folio, Pfn } from '../types.js';
import { FOLIO_MAPPING_ANON, __folio_set_anon, type AnonVma } from './anon-vma.js';

/**
 * Reverse-map accounting (`mm/rmap.c`, `include/linux/rmap.h`). Page tables are not modelled: a
 * mapping is counted, not located. Each page keeps its PTE mapcount in `_mapcount` (offset by −1, as
 * with CONFIG_PAGE_MAPCOUNT); a large folio also keeps `_large_mapcount` (every mapping of any page
 * counts 1) and `_entire_mapcount` (PMD / hugetlb mappings). NR_ANON_MAPPED (`nr_anon_pages`) and
 * NR_FILE_MAPPED (`nr_mapped`) count pages with at least one PTE mapping. THPs are mapped by PTEs
 * only (no PMD mappings); hugetlb folios only as a whole.
 *
 * The rmap functions do not touch the reference count, as in the kernel: each mapping holds one
 * reference that the fault path took. The camelCase helpers at the end take and drop those references
 * as a fault and a zap do.
 *
 * @module
 */

const TYPED_LIMIT = 0xff000000 | 0;
const HEAD = 1 << PG.head;

function checkRange(m: Machine, folio: Folio, page: Pfn, nr: number, fn: string): void {
  assertFolio(m, folio, fn);
  const n = folio_nr_pages(m, folio);
  if (!(Number.isInteger(nr) && nr >= 1 && page >= folio && page + nr <= folio + n)) {
    throw new MmError(EINVAL, `${fn}: pages ${page}+${nr} outside the folio's ${n} pages`, { pfn: folio, rule: 'map pages of the folio' });
  }
  const t = m.memmap.mapcount[folio]!;
  if (t < TYPED_LIMIT) {
    throw new MmError(EINVAL, `${fn}: a typed folio (0x${(t >>> 24).toString(16)}) cannot be mapped by PTEs`, { pfn: folio, rule: '§1.6 typed pages are never mapped to user space' });
  }
}

function statItem(m: Machine, folio: Folio): number {
  return (m.memmap.mapping[folio]! & FOLIO_MAPPING_ANON) !== 0 ? NR_NODE.nr_anon_pages : NR_NODE.nr_mapped;
}

function addPtes(m: Machine, folio: Folio, page: Pfn, nr: number): void {
  const mm = m.memmap;
  let first = 0;
  for (let p = page; p < page + nr; p++) if (++mm.mapcount[p]! === 0) first++;
  if ((mm.flags[folio]! & HEAD) !== 0) mm.lruPrev[folio + 1] = ((mm.lruPrev[folio + 1]! | 0) + nr) >>> 0;
  m.nodes[mm.flags[folio]! >>> 27]!.vmstat[statItem(m, folio)]! += first;
}

/**
 * `folio_add_new_anon_rmap(folio, vma, address, RMAP_EXCLUSIVE)` (`mm/rmap.c`): a freshly allocated
 * folio becomes anonymous (`mapping = anon_vma | 1`, `index`, PG_swapbacked) and every page is mapped
 * once, exclusively (PG_anon_exclusive). The caller's allocation reference becomes the mappings'
 * reference; a large folio needs `nr − 1` more (`folio_ref_add`), which {@link faultInAnonFolio} takes.
 */
export function folio_add_new_anon_rmap(m: Machine, folio: Folio, av: AnonVma, index: number): void {
  checkRange(m, folio, folio, 1, 'folio_add_new_anon_rmap');
  const mm = m.memmap;
  const n = folio_nr_pages(m, folio);
  for (let p = folio; p < folio + n; p++) {
    if (mm.mapcount[p] !== -1) throw new MmError(EINVAL, 'folio_add_new_anon_rmap on a mapped folio', { pfn: p, rule: 'a new anon folio is not mapped yet' });
  }
  if (mm.mapping[folio] !== 0) throw new MmError(EINVAL, 'folio_add_new_anon_rmap on a folio with a mapping', { pfn: folio, rule: 'a new anon folio has no mapping' });
  mm.flags[folio]! |= 1 << PG.swapbacked;
  __folio_set_anon(m, folio, av, index);
  addPtes(m, folio, folio as Pfn, n);
  for (let p = folio; p < folio + n; p++) mm.flags[p]! |= 1 << PG.anon_exclusive;
}

/** `folio_add_anon_rmap_ptes(folio, page, nr, vma, address, flags)`: map `nr` pages of an anon folio once more (not exclusive). */
export function folio_add_anon_rmap_ptes(m: Machine, folio: Folio, page: Pfn, nr: number): void {
  checkRange(m, folio, page, nr, 'folio_add_anon_rmap_ptes');
  if ((m.memmap.mapping[folio]! & FOLIO_MAPPING_ANON) === 0) {
    throw new MmError(EINVAL, 'folio_add_anon_rmap_ptes on a folio that is not anonymous', { pfn: folio, rule: 'VM_BUG_ON_FOLIO(!folio_test_anon(folio))' });
  }
  for (let p = page; p < page + nr; p++) m.memmap.flags[p]! &= ~(1 << PG.anon_exclusive);
  addPtes(m, folio, page, nr);
}

/** `folio_add_file_rmap_ptes(folio, page, nr, vma)`: map `nr` pages of a page-cache folio. */
export function folio_add_file_rmap_ptes(m: Machine, folio: Folio, page: Pfn, nr: number): void {
  checkRange(m, folio, page, nr, 'folio_add_file_rmap_ptes');
  if ((m.memmap.mapping[folio]! & FOLIO_MAPPING_ANON) !== 0) {
    throw new MmError(EINVAL, 'folio_add_file_rmap_ptes on an anonymous folio', { pfn: folio, rule: 'VM_BUG_ON_FOLIO(folio_test_anon(folio))' });
  }
  addPtes(m, folio, page, nr);
}

/**
 * `folio_remove_rmap_ptes(folio, page, nr, vma)`: unmap `nr` PTE-mapped pages. `MmError(EINVAL)` if a
 * page is not mapped. The references are the caller's to drop.
 */
export function folio_remove_rmap_ptes(m: Machine, folio: Folio, page: Pfn, nr: number): void {
  checkRange(m, folio, page, nr, 'folio_remove_rmap_ptes');
  const mm = m.memmap;
  for (let p = page; p < page + nr; p++) {
    if (mm.mapcount[p]! < 0) throw new MmError(EINVAL, 'folio_remove_rmap_ptes of an unmapped page', { pfn: p, rule: 'mapcount underflow' });
  }
  let last = 0;
  for (let p = page; p < page + nr; p++) {
    if (--mm.mapcount[p]! === -1) {
      last++;
      mm.flags[p]! &= ~(1 << PG.anon_exclusive);
    }
  }
  if ((mm.flags[folio]! & HEAD) !== 0) mm.lruPrev[folio + 1] = ((mm.lruPrev[folio + 1]! | 0) - nr) >>> 0;
  m.nodes[mm.flags[folio]! >>> 27]!.vmstat[statItem(m, folio)]! -= last;
}

function checkHugetlb(m: Machine, folio: Folio, fn: string): void {
  assertFolio(m, folio, fn);
  const t = m.memmap.mapcount[folio]!;
  if (!(t < TYPED_LIMIT && t >>> 24 === PGTY.hugetlb)) throw new MmError(EINVAL, `${fn} on a folio that is not hugetlb`, { pfn: folio, rule: 'hugetlb rmap is for hugetlb folios' });
}

/** `hugetlb_add_new_anon_rmap(folio, vma, address)`: a new anonymous hugetlb folio, mapped once as a whole. */
export function hugetlb_add_new_anon_rmap(m: Machine, folio: Folio, av: AnonVma, index: number): void {
  checkHugetlb(m, folio, 'hugetlb_add_new_anon_rmap');
  __folio_set_anon(m, folio, av, index);
  hugetlb_add_file_rmap(m, folio);
  m.memmap.flags[folio]! |= 1 << PG.anon_exclusive;
}

/** `hugetlb_add_file_rmap(folio)` / `hugetlb_add_anon_rmap`: one more whole-folio mapping (`_entire_mapcount`, `_large_mapcount`). */
export function hugetlb_add_file_rmap(m: Machine, folio: Folio): void {
  checkHugetlb(m, folio, 'hugetlb_add_file_rmap');
  const mm = m.memmap;
  mm.mapping[folio + 1] = ((mm.mapping[folio + 1]! | 0) + 1) >>> 0;
  mm.lruPrev[folio + 1] = ((mm.lruPrev[folio + 1]! | 0) + 1) >>> 0;
}

/** `hugetlb_remove_rmap(folio)`: drop one whole-folio mapping. */
export function hugetlb_remove_rmap(m: Machine, folio: Folio): void {
  checkHugetlb(m, folio, 'hugetlb_remove_rmap');
  const mm = m.memmap;
  if ((mm.mapping[folio + 1]! | 0) < 0) throw new MmError(EINVAL, 'hugetlb_remove_rmap of an unmapped folio', { pfn: folio, rule: 'mapcount underflow' });
  mm.mapping[folio + 1] = ((mm.mapping[folio + 1]! | 0) - 1) >>> 0;
  mm.lruPrev[folio + 1] = ((mm.lruPrev[folio + 1]! | 0) - 1) >>> 0;
}

/**
 * What an anonymous page fault does with a freshly allocated folio (`do_anonymous_page`, without page
 * tables): `folio_ref_add(nr − 1)` so that every PTE holds a reference (the allocation reference
 * becomes the first), `folio_add_new_anon_rmap`, and `folio_add_lru`. The folio ends up mapped once
 * per page, anonymous and on its way to the LRU.
 */
export function faultInAnonFolio(m: Machine, folio: Folio, av: AnonVma, index: number): void {
  assertFolio(m, folio, 'faultInAnonFolio');
  assertReferenced(m, folio, 'faultInAnonFolio');
  folio_add_new_anon_rmap(m, folio, av, index);
  m.memmap.refcount[folio]! += folio_nr_pages(m, folio) - 1;
  folio_add_lru(m, folio);
}

/**
 * Map `nr` pages of a folio once more (a fault on a page-cache folio, `finish_fault` → `set_pte_range`,
 * or a fork sharing an anon folio): take one reference per PTE and add the rmap.
 */
export function mapFolioPtes(m: Machine, folio: Folio, page: Pfn = folio, nr = 1): void {
  assertReferenced(m, folio, 'mapFolioPtes');
  if ((m.memmap.mapping[folio]! & FOLIO_MAPPING_ANON) !== 0) folio_add_anon_rmap_ptes(m, folio, page, nr);
  else folio_add_file_rmap_ptes(m, folio, page, nr);
  m.memmap.refcount[folio]! += nr;
}

/**
 * Unmap `nr` pages (`zap_present_ptes`): remove the rmap and drop one reference per PTE, which may
 * free the folio.
 */
export function zapFolioPtes(m: Machine, folio: Folio, page: Pfn = folio, nr = 1): void {
  folio_remove_rmap_ptes(m, folio, page, nr);
  folio_put_refs(m, folio, nr);
}
