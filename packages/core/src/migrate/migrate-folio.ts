import { EAGAIN, EBUSY, EOPNOTSUPP } from '../errno.js';
import { folio_expected_ref_count } from '../folio/mapcount.js';
import { folio_ref_freeze, folio_ref_unfreeze } from '../folio/page-ref.js';
import type { Machine } from '../machine/machine.js';
import { folio_mapping, mapping_inaccessible, type AddressSpace } from '../mapping/address-space.js';
import { FOLIO_MAPPING_ANON } from '../mapping/anon-vma.js';
import { folio_attach_private, folio_detach_private, folio_get_private } from '../mapping/folio-private.js';
import { folio_nr_pages } from '../page/compound.js';
import { PG } from '../page/page-flags.js';
import { PGTY } from '../page/page-type.js';
import { NR_NODE } from '../trace/vmstat.js';
import type { Folio } from '../types.js';
import { MIGRATE_MODE, type MigrateMode } from './migrate-mode.js';

/**
 * Moving a folio's identity to its destination (`mm/migrate.c`, latest: `__folio_migrate_mapping`,
 * `__migrate_folio`, `folio_migrate_flags`, `move_to_new_folio`). Both folios are locked and the
 * source is unmapped. Contents are not modelled, so `folio_mc_copy` always succeeds.
 *
 * @module
 */

const bit = (b: number): number => 1 << b;
const HEAD = bit(PG.head);
const TYPED_LIMIT = 0xff000000 | 0;

/**
 * `__folio_migrate_mapping(mapping, newfolio, folio, expected_count)`: hand the source's place in its
 * mapping to the destination. Without a mapping (anon, not in the swap cache) only `index`, `mapping`
 * and PG_swapbacked move (a large rmappable folio is frozen and unfrozen around the deferred-split
 * step). With one, the source is frozen at `expected_count` (else `-EAGAIN`, nothing changed): the
 * destination takes a cache reference per page, PG_swapbacked / PG_swapcache / the swap entry / PG_dirty
 * move, every cache slot points at the destination, and the source is unfrozen without its cache
 * references; NR_FILE_PAGES, NR_SHMEM and NR_SWAPCACHE move to the destination's node.
 */
export function __folio_migrate_mapping(m: Machine, mapping: AddressSpace | null, dst: Folio, src: Folio, expected: number): number {
  const mm = m.memmap;
  const sf = mm.flags[src]!;
  if (mapping === null) {
    if ((sf & HEAD) !== 0 && (mm.flags[src + 1]! & bit(PG.large_rmappable)) !== 0) {
      // Take off the deferred split queue while frozen (the model has no such queue).
      if (!folio_ref_freeze(m, src, expected)) return -EAGAIN;
      folio_ref_unfreeze(m, src, expected);
    }
    mm.index[dst] = mm.index[src]!;
    mm.mapping[dst] = mm.mapping[src]!;
    if ((sf & bit(PG.swapbacked)) !== 0) mm.flags[dst]! |= bit(PG.swapbacked);
    return 0;
  }
  if (!folio_ref_freeze(m, src, expected)) return -EAGAIN;
  const nr = folio_nr_pages(m, src);
  mm.index[dst] = mm.index[src]!;
  mm.mapping[dst] = mm.mapping[src]!;
  mm.refcount[dst]! += nr; // folio_ref_add(newfolio, nr): the cache references
  const swapcache = (sf & bit(PG.swapbacked)) !== 0 && (sf & bit(PG.swapcache)) !== 0;
  if ((sf & bit(PG.swapbacked)) !== 0) {
    mm.flags[dst]! |= bit(PG.swapbacked);
    if (swapcache) {
      mm.flags[dst]! |= bit(PG.swapcache);
      mm.private[dst] = mm.private[src]!;
    }
  }
  const dirty = (sf & bit(PG.dirty)) !== 0;
  if (dirty) {
    mm.flags[src]! &= ~bit(PG.dirty);
    mm.flags[dst]! |= bit(PG.dirty);
  }
  const first = swapcache ? mm.private[src]! : mm.index[src]!;
  for (let i = 0; i < nr; i++) mapping.i_pages.set(first + i, dst); // xas_store
  folio_ref_unfreeze(m, src, expected - nr);
  const oldNode = sf >>> 27;
  const newNode = mm.flags[dst]! >>> 27;
  if (oldNode !== newNode) {
    const o = m.nodes[oldNode]!.vmstat;
    const n = m.nodes[newNode]!.vmstat;
    o[NR_NODE.nr_file_pages]! -= nr;
    n[NR_NODE.nr_file_pages]! += nr;
    if ((sf & bit(PG.swapbacked)) !== 0 && !swapcache) {
      o[NR_NODE.nr_shmem]! -= nr;
      n[NR_NODE.nr_shmem]! += nr;
    }
    if (swapcache) {
      o[NR_NODE.nr_swapcached]! -= nr;
      n[NR_NODE.nr_swapcached]! += nr;
    }
  }
  return 0;
}

/**
 * `folio_migrate_mapping(mapping, newfolio, folio, extra_count)`: {@link __folio_migrate_mapping} with
 * the expected count `folio_expected_ref_count + 1 + extra_count`.
 */
export function folio_migrate_mapping(m: Machine, mapping: AddressSpace | null, dst: Folio, src: Folio, extraCount: number): number {
  return __folio_migrate_mapping(m, mapping, dst, src, folio_expected_ref_count(m, src) + 1 + extraCount);
}

/**
 * `folio_migrate_flags(newfolio, folio)`: copy PG_referenced, uptodate, workingset, checked,
 * mappedtodisk, dirty, young, idle and readahead; move PG_active (or PG_unevictable); clear the
 * source's PG_swapcache, PG_private and `private` (kept on hugetlb folios, whose flags live there);
 * move the memcg charge (`mem_cgroup_migrate`, not for hugetlb). NUMA cpupid, KSM, page_owner and
 * allocation tags are not modelled.
 */
export function folio_migrate_flags(m: Machine, dst: Folio, src: Folio): void {
  const mm = m.memmap;
  let sf = mm.flags[src]!;
  let df = mm.flags[dst]!;
  const copy = bit(PG.referenced) | bit(PG.uptodate) | bit(PG.workingset) | bit(PG.owner_priv_1) | bit(PG.owner_2) | bit(PG.dirty) | bit(PG.young) | bit(PG.idle) | bit(PG.reclaim);
  df |= sf & copy;
  if ((sf & bit(PG.active)) !== 0) {
    sf &= ~bit(PG.active);
    df |= bit(PG.active);
  } else if ((sf & bit(PG.unevictable)) !== 0) {
    sf &= ~bit(PG.unevictable);
    df |= bit(PG.unevictable);
  }
  if ((sf & bit(PG.swapbacked)) !== 0) sf &= ~bit(PG.swapcache); // folio_clear_swapcache
  sf &= ~bit(PG.private);
  mm.flags[src] = sf;
  mm.flags[dst] = df;
  const t = mm.mapcount[src]!;
  const hugetlb = t < TYPED_LIMIT && t >>> 24 === PGTY.hugetlb;
  if (!hugetlb) {
    mm.private[src] = 0;
    mm.memcgData[dst] = mm.memcgData[src]!;
    mm.memcgData[src] = 0;
  }
}

/**
 * `__migrate_folio(mapping, dst, src, src_private, mode)`: require `refcount == expected + 1` (a
 * speculative reference makes this `-EAGAIN`), copy, migrate the mapping, move the private data
 * (`folio_attach_private(dst, folio_detach_private(src))`), then the flags.
 */
export function __migrate_folio(m: Machine, mapping: AddressSpace | null, dst: Folio, src: Folio, srcPrivate: number, _mode: MigrateMode): number {
  const expected = folio_expected_ref_count(m, src) + 1;
  if (m.memmap.refcount[src] !== expected) return -EAGAIN;
  const rc = __folio_migrate_mapping(m, mapping, dst, src, expected);
  if (rc !== 0) return rc;
  if (srcPrivate !== 0) folio_attach_private(m, dst, folio_detach_private(m, src));
  folio_migrate_flags(m, dst, src);
  return 0;
}

/** `migrate_folio(mapping, dst, src, mode)`: simple migration of a folio without private data (anon, swap cache, shmem). */
export function migrate_folio(m: Machine, mapping: AddressSpace | null, dst: Folio, src: Folio, mode: MigrateMode): number {
  return __migrate_folio(m, mapping, dst, src, 0, mode);
}

/** `filemap_migrate_folio(mapping, dst, src, mode)`: migration for page-cache folios that may carry private data. */
export function filemap_migrate_folio(m: Machine, mapping: AddressSpace | null, dst: Folio, src: Folio, mode: MigrateMode): number {
  return __migrate_folio(m, mapping, dst, src, folio_get_private(m, src), mode);
}

/**
 * `fallback_migrate_folio(mapping, dst, src, mode)`: for mappings without `migrate_folio`. A dirty
 * folio would need writeback, which the model lacks: `-EBUSY` in every mode (the kernel writes it out
 * first in MIGRATE_SYNC). Private data must be released (`a_ops->release_folio`), else `-EAGAIN` in
 * MIGRATE_SYNC and `-EBUSY` otherwise.
 */
export function fallback_migrate_folio(m: Machine, mapping: AddressSpace, dst: Folio, src: Folio, mode: MigrateMode): number {
  const f = m.memmap.flags[src]!;
  if ((f & bit(PG.dirty)) !== 0) return -EBUSY;
  if ((f & bit(PG.private)) !== 0 && !(mapping.a_ops.release_folio?.(m, src) ?? false)) return mode === MIGRATE_MODE.MIGRATE_SYNC ? -EAGAIN : -EBUSY;
  return migrate_folio(m, mapping, dst, src, mode);
}

/**
 * `move_to_new_folio(dst, src, mode)` (v6.17: movable_ops pages no longer come here): migrate
 * through the mapping's `migrate_folio` (`migrate_folio` without a mapping, `-EOPNOTSUPP` for an
 * inaccessible mapping such as guest_memfd's, `fallback_migrate_folio` without the callback); on
 * success a non-anon source loses its `mapping`.
 */
export function move_to_new_folio(m: Machine, dst: Folio, src: Folio, mode: MigrateMode): number {
  const mapping = folio_mapping(m, src);
  let rc: number;
  if (mapping === null) rc = migrate_folio(m, null, dst, src, mode);
  else if (mapping_inaccessible(mapping)) rc = -EOPNOTSUPP;
  else if (mapping.a_ops.migrate_folio) rc = mapping.a_ops.migrate_folio(m, mapping, dst, src, mode);
  else rc = fallback_migrate_folio(m, mapping, dst, src, mode);
  if (rc === 0 && (m.memmap.mapping[src]! & FOLIO_MAPPING_ANON) === 0) m.memmap.mapping[src] = 0;
  return rc;
}
