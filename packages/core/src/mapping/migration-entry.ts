import type { Machine } from '../machine/machine.js';
import { folio_nr_pages } from '../page/compound.js';
import { PG } from '../page/page-flags.js';
import { PGTY } from '../page/page-type.js';
import { NR_NODE, NR_ZONE } from '../trace/vmstat.js';
import type { Folio } from '../types.js';
import { FOLIO_MAPPING_ANON } from './anon-vma.js';

/**
 * Migration entries (`mm/rmap.c` `try_to_migrate`, `mm/migrate.c` `remove_migration_ptes`). While a
 * folio migrates, each of its page-table mappings is replaced by a migration entry that remembers the
 * page and whether it was exclusive; afterwards each entry becomes a mapping of the destination (or,
 * on failure, of the source again). The model has no page tables, so the entries are a count: for a
 * small folio packed into the returned `old_page_state` (which the migration core keeps in the
 * destination's `private`, as the kernel keeps `old_page_state` there); for a large folio in the
 * machine's `migrationEntries` table, per page.
 *
 * `old_page_state` bits: `PAGE_WAS_MAPPED` (1), `PAGE_WAS_MLOCKED` (2), then for a small folio the
 * anon-exclusive bit (4) and the number of entries (`>> 4`); bit 3 is the migration core's (an
 * anon_vma pinned, which the kernel records in the destination's `mapping`).
 *
 * @module
 */

/** `PAGE_WAS_MAPPED` (`mm/migrate.c`). */
export const PAGE_WAS_MAPPED = 1;
/** `PAGE_WAS_MLOCKED` (`mm/migrate.c`). */
export const PAGE_WAS_MLOCKED = 2;
const WAS_EXCLUSIVE = 4;

const HEAD = 1 << PG.head;
const MLOCKED = 1 << PG.mlocked;
const EXCL = 1 << PG.anon_exclusive;
const TYPED_LIMIT = 0xff000000 | 0;

/**
 * `try_to_migrate(folio, flags)`: replace every mapping of a locked folio by a migration entry,
 * removing the rmap and dropping the mappings' references (the caller's isolation reference keeps the
 * folio alive). An mlocked folio is munlocked (its mappings were the VM_LOCKED ones). Returns the
 * `old_page_state` to hand to {@link remove_migration_ptes} (0 if the folio was not mapped).
 */
export function try_to_migrate(m: Machine, folio: Folio): number {
  const mm = m.memmap;
  const f = mm.flags[folio]!;
  let state = 0;
  if ((f & HEAD) === 0) {
    const c = mm.mapcount[folio]! + 1;
    if (!(c > 0) || mm.mapcount[folio]! < TYPED_LIMIT) return 0;
    if ((f & EXCL) !== 0) state |= WAS_EXCLUSIVE;
    mm.mapcount[folio] = -1;
    mm.flags[folio]! &= ~EXCL;
    mm.refcount[folio]! -= c;
    m.nodes[f >>> 27]!.vmstat[(mm.mapping[folio]! & FOLIO_MAPPING_ANON) !== 0 ? NR_NODE.nr_anon_pages : NR_NODE.nr_mapped]! -= 1;
    state |= PAGE_WAS_MAPPED | (c << 4);
  } else {
    const n = folio_nr_pages(m, folio);
    const total = (mm.lruPrev[folio + 1]! | 0) + 1;
    if (total <= 0) return 0;
    const entries = new Int32Array(n + 1);
    const entire = (mm.mapping[folio + 1]! | 0) + 1;
    entries[0] = entire;
    let mappedPages = 0;
    // A hugetlb folio is only ever mapped whole: its head's _mapcount word is the page type, and
    // PageAnonExclusive lives on the head. Keep both; the entries are the entire mappings.
    const hugetlb = isHugetlb(m, folio);
    if (hugetlb) {
      entries[1] = (f & EXCL) !== 0 ? 1 : 0;
      mm.flags[folio]! &= ~EXCL;
    }
    for (let i = 0; i < n && !hugetlb; i++) {
      const p = folio + i;
      const c = mm.mapcount[p]! + 1;
      entries[i + 1] = (c << 1) | ((mm.flags[p]! & EXCL) !== 0 ? 1 : 0);
      if (c > 0) mappedPages++;
      mm.mapcount[p] = -1;
      mm.flags[p]! &= ~EXCL;
    }
    mm.mapping[folio + 1] = 0xffffffff;
    mm.lruPrev[folio + 1] = 0xffffffff;
    mm.refcount[folio]! -= total;
    if (!isHugetlb(m, folio)) {
      m.nodes[f >>> 27]!.vmstat[(mm.mapping[folio]! & FOLIO_MAPPING_ANON) !== 0 ? NR_NODE.nr_anon_pages : NR_NODE.nr_mapped]! -= mappedPages;
    }
    m.mappings.migrationEntries.set(folio, entries);
    state |= PAGE_WAS_MAPPED;
  }
  if ((f & MLOCKED) !== 0) {
    mm.flags[folio]! &= ~MLOCKED;
    m.zoneById[f >>> 24]!.vmstat[NR_ZONE.nr_mlock]! -= folio_nr_pages(m, folio);
    state |= PAGE_WAS_MLOCKED;
  }
  return state;
}

function isHugetlb(m: Machine, folio: Folio): boolean {
  const t = m.memmap.mapcount[folio]!;
  return t < TYPED_LIMIT && t >>> 24 === PGTY.hugetlb;
}

/**
 * `remove_migration_ptes(src, dst, flags)`: turn the migration entries recorded for `src` into
 * mappings of `dst` (`dst === src` restores them after a failed migration): each restored mapping
 * adds the rmap and takes a reference on `dst`; an mlocked source makes `dst` mlocked.
 */
export function remove_migration_ptes(m: Machine, src: Folio, dst: Folio, state: number): void {
  if ((state & PAGE_WAS_MAPPED) === 0) return;
  const mm = m.memmap;
  const df = mm.flags[dst]!;
  if ((df & HEAD) === 0) {
    const c = state >>> 4;
    mm.mapcount[dst] = c - 1;
    if ((state & WAS_EXCLUSIVE) !== 0) mm.flags[dst]! |= EXCL;
    mm.refcount[dst]! += c;
    m.nodes[df >>> 27]!.vmstat[(mm.mapping[dst]! & FOLIO_MAPPING_ANON) !== 0 ? NR_NODE.nr_anon_pages : NR_NODE.nr_mapped]! += 1;
  } else {
    const entries = m.mappings.migrationEntries.get(src)!;
    m.mappings.migrationEntries.delete(src);
    const n = entries.length - 1;
    let total = entries[0]!;
    let mappedPages = 0;
    const hugetlb = isHugetlb(m, dst);
    if (hugetlb && (entries[1]! & 1) !== 0) mm.flags[dst]! |= EXCL;
    for (let i = 0; i < n && !hugetlb; i++) {
      const e = entries[i + 1]!;
      const c = e >> 1;
      mm.mapcount[dst + i] = c - 1;
      if ((e & 1) !== 0) mm.flags[dst + i]! |= EXCL;
      if (c > 0) mappedPages++;
      total += c;
    }
    mm.mapping[dst + 1] = (entries[0]! - 1) >>> 0;
    mm.lruPrev[dst + 1] = (total - 1) >>> 0;
    mm.refcount[dst]! += total;
    if (!isHugetlb(m, dst)) {
      m.nodes[df >>> 27]!.vmstat[(mm.mapping[dst]! & FOLIO_MAPPING_ANON) !== 0 ? NR_NODE.nr_anon_pages : NR_NODE.nr_mapped]! += mappedPages;
    }
  }
  if ((state & PAGE_WAS_MLOCKED) !== 0) {
    mm.flags[dst]! |= MLOCKED;
    m.zoneById[df >>> 24]!.vmstat[NR_ZONE.nr_mlock]! += folio_nr_pages(m, dst);
  }
}
