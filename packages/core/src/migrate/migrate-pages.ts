import { folio_mapping } from '../mapping/address-space.js';
import { MmError } from '../debug/mm-error.js';
import { assertFolio } from '../debug/validate.js';
import { EAGAIN, EBUSY, EINVAL, ENOMEM } from '../errno.js';
import { folio_put } from '../folio/folio-ref.js';
import { folio_trylock, folio_unlock } from '../folio/folio-lock.js';
import type { Machine } from '../machine/machine.js';
import { folio_mapped } from '../folio/mapcount.js';
import { folio_anon_vma, folio_get_anon_vma, put_anon_vma } from '../mapping/anon-vma.js';
import { remove_migration_ptes, try_to_migrate } from '../mapping/migration-entry.js';
import { folio_nr_pages, folio_order } from '../page/compound.js';
import { PG } from '../page/page-flags.js';
import { PGTY } from '../page/page-type.js';
import { folio_test_hugetlb } from '../page/page-helpers.js';
import { VM_EVENT } from '../trace/vmstat.js';
import { HPAGE_PMD_ORDER, type Folio } from '../types.js';
import { list_add_tail } from '../alloc/page-list.js';
import { ListHead, listCutBefore, listDel, listMoveTail, listNext, listSpliceInit, listSpliceTailInit } from './list-head.js';
import {
  FolioMigration,
  migrate_folio_move,
  migrate_folio_undo_dst,
  migrate_folio_undo_src,
  migrate_folio_unmap,
  type FreeFolioCallback,
  type NewFolioCallback,
} from './migrate-folio-steps.js';
import { move_to_new_folio } from './migrate-folio.js';
import { MIGRATEPAGE_UNMAP, MIGRATE_MODE, MR, type MigrateMode, type MigrateReason } from './migrate-mode.js';
import { PageMovableOpsIsolated, page_has_movable_ops } from './movable-ops.js';

/**
 * `migrate_pages()` (`mm/migrate.c`, latest): migrate a list of isolated folios (LRU folios, hugetlb
 * folios, movable_ops pages) to destinations from `get_new_folio`.
 *
 * @module
 */

/** `NR_MAX_BATCHED_MIGRATION`: `HPAGE_PMD_NR` with THP (512 base pages on x86-64). */
export const NR_MAX_BATCHED_MIGRATION = 1 << HPAGE_PMD_ORDER;
/** `NR_MAX_MIGRATE_PAGES_RETRY`: passes over a batch in MIGRATE_ASYNC (and for hugetlb). */
export const NR_MAX_MIGRATE_PAGES_RETRY = 10;
/** `NR_MAX_MIGRATE_ASYNC_RETRY`: the asynchronous first try of the other modes. */
export const NR_MAX_MIGRATE_ASYNC_RETRY = 3;
/** `NR_MAX_MIGRATE_SYNC_RETRY`: the one-folio-at-a-time synchronous passes. */
export const NR_MAX_MIGRATE_SYNC_RETRY = NR_MAX_MIGRATE_PAGES_RETRY - NR_MAX_MIGRATE_ASYNC_RETRY;

/** `struct migrate_pages_stats`. */
export interface MigratePagesStats {
  /** Base pages migrated. */
  nr_succeeded: number;
  /** Base pages that failed (untried folios are not counted). */
  nr_failed_pages: number;
  /** THPs migrated. */
  nr_thp_succeeded: number;
  /** THPs that failed. */
  nr_thp_failed: number;
  /** THPs split before migrating. */
  nr_thp_split: number;
  /** Large folios split before migrating. */
  nr_split: number;
}

function newStats(): MigratePagesStats {
  return { nr_succeeded: 0, nr_failed_pages: 0, nr_thp_succeeded: 0, nr_thp_failed: 0, nr_thp_split: 0, nr_split: 0 };
}

/**
 * `try_split_folio(folio, split_folios, mode)`: splitting large folios is not modelled, so a large
 * folio whose destination cannot be allocated fails as a whole (counted once, as a THP failure if it
 * is PMD-sized). Returns `-EBUSY`.
 */
export function try_split_folio(_m: Machine, _folio: Folio, _splitFolios: ListHead | null): number {
  return -EBUSY;
}

const HEAD = 1 << PG.head;

function isThp(m: Machine, folio: Folio): number {
  return (m.memmap.flags[folio]! & (1 << PG.head)) !== 0 && folio_order(m, folio) >= HPAGE_PMD_ORDER ? 1 : 0;
}

/**
 * `migrate_pages_batch(from, get_new_folio, put_new_folio, private, mode, reason, ret_folios,
 * split_folios, stats, nr_pass)`: unmap as many folios of `from` as possible (pairing each with a
 * destination), then move the unmapped ones, each phase up to `nr_pass` passes while some folio returns
 * `-EAGAIN`. `-ENOMEM` stops unmapping and moves what was unmapped. Permanent failures go to
 * `ret_folios`; folios still `-EAGAIN` after the passes stay on `from` (unmap phase) or are restored to
 * `ret_folios` (move phase). Returns the number of folios not migrated, or `-ENOMEM`.
 */
export function migrate_pages_batch<P>(
  m: Machine,
  from: ListHead,
  getNew: NewFolioCallback<P>,
  putNew: FreeFolioCallback<P> | null,
  priv: P,
  mode: MigrateMode,
  reason: MigrateReason,
  retFolios: ListHead,
  splitFolios: ListHead | null,
  stats: MigratePagesStats,
  nrPass: number,
): number {
  let retry = 1;
  let thpRetry = 1;
  let nrFailed = 0;
  let nrRetryPages = 0;
  let rcSaved = 0;
  const unmapFolios = new ListHead();
  const dstFolios = new ListHead();
  const nosplit = reason === MR.MR_NUMA_MISPLACED;
  const st = new FolioMigration<P>();
  st.mode = mode;
  st.reason = reason;
  st.getNew = getNew;
  st.putNew = putNew;
  st.priv = priv;
  let gotoMove = false;
  unmap: for (let pass = 0; pass < nrPass && retry; pass++) {
    retry = 0;
    thpRetry = 0;
    nrRetryPages = 0;
    for (let folio = from.first; folio >= 0; ) {
      const next = listNext(m, folio);
      const f = folio as Folio;
      const large = (m.memmap.flags[f]! & HEAD) !== 0;
      const thp = large ? isThp(m, f) : 0;
      const nrPages = large ? folio_nr_pages(m, f) : 1;
      const rc = migrate_folio_unmap(m, st.resetUnmap(f, from, retFolios));
      switch (rc) {
        case -ENOMEM: {
          // When memory is low, don't bother to try to migrate other folios: move the unmapped ones, then exit.
          nrFailed++;
          stats.nr_thp_failed += thp;
          if (large && !nosplit && try_split_folio(m, f, splitFolios) === 0) {
            stats.nr_thp_split += thp;
            stats.nr_split++;
            break;
          }
          stats.nr_failed_pages += nrPages + nrRetryPages;
          stats.nr_thp_failed += thpRetry;
          rcSaved = rc;
          gotoMove = true;
          break unmap;
        }
        case -EAGAIN:
          retry++;
          thpRetry += thp;
          nrRetryPages += nrPages;
          break;
        case 0:
          stats.nr_succeeded += nrPages;
          stats.nr_thp_succeeded += thp;
          break;
        case MIGRATEPAGE_UNMAP:
          listMoveTail(m, f, from, unmapFolios);
          list_add_tail(m.memmap.lru, m.memmap.lruPrev, dstFolios, 0, st.dst); // a fresh destination: its lru word is free
          break;
        default:
          // Permanent failure (-EBUSY, etc.): the folio went to ret_folios and is not retried.
          nrFailed++;
          stats.nr_thp_failed += thp;
          stats.nr_failed_pages += nrPages;
      }
      folio = next;
    }
  }
  if (!gotoMove) {
    nrFailed += retry;
    stats.nr_thp_failed += thpRetry;
    stats.nr_failed_pages += nrRetryPages;
  }
  if (!(gotoMove && unmapFolios.empty)) {
    // move: (the model has no TLB to flush)
    retry = 1;
    for (let pass = 0; pass < nrPass && retry; pass++) {
      retry = 0;
      thpRetry = 0;
      nrRetryPages = 0;
      let dst = dstFolios.first;
      for (let folio = unmapFolios.first; folio >= 0; ) {
        const next = listNext(m, folio);
        const dst2 = listNext(m, dst);
        const f = folio as Folio;
        const large = (m.memmap.flags[f]! & HEAD) !== 0;
        const thp = large ? isThp(m, f) : 0;
        const nrPages = large ? folio_nr_pages(m, f) : 1;
        const rc = migrate_folio_move(m, st.resetMove(f, dst as Folio, unmapFolios, retFolios, dstFolios, dst2));
        switch (rc) {
          case -EAGAIN:
            retry++;
            thpRetry += thp;
            nrRetryPages += nrPages;
            break;
          case 0:
            stats.nr_succeeded += nrPages;
            stats.nr_thp_succeeded += thp;
            break;
          default:
            nrFailed++;
            stats.nr_thp_failed += thp;
            stats.nr_failed_pages += nrPages;
        }
        dst = dst2;
        folio = next;
      }
    }
    nrFailed += retry;
    stats.nr_thp_failed += thpRetry;
    stats.nr_failed_pages += nrRetryPages;
  }
  const rc = rcSaved !== 0 ? rcSaved : nrFailed;
  // out: clean up the folios still unmapped (retried to the end of the move passes).
  let dst = dstFolios.first;
  for (let folio = unmapFolios.first; folio >= 0; ) {
    const next = listNext(m, folio);
    const dst2 = listNext(m, dst);
    const state = m.memmap.private[dst]!; // __migrate_folio_extract
    m.memmap.private[dst] = 0;
    migrate_folio_undo_src(m, folio as Folio, state, true, unmapFolios, retFolios);
    listDel(m, dstFolios, dst);
    migrate_folio_undo_dst(m, dst as Folio, true, putNew, priv);
    dst = dst2;
    folio = next;
  }
  return rc;
}

/**
 * `migrate_pages_sync(from, …)`: for MIGRATE_SYNC_LIGHT and MIGRATE_SYNC, first the whole batch
 * asynchronously (`NR_MAX_MIGRATE_ASYNC_RETRY` passes), then every folio that failed, one at a time in
 * the requested mode (`NR_MAX_MIGRATE_SYNC_RETRY` passes). Returns the folios not migrated or `-ENOMEM`.
 */
export function migrate_pages_sync<P>(
  m: Machine,
  from: ListHead,
  getNew: NewFolioCallback<P>,
  putNew: FreeFolioCallback<P> | null,
  priv: P,
  mode: MigrateMode,
  reason: MigrateReason,
  retFolios: ListHead,
  splitFolios: ListHead | null,
  stats: MigratePagesStats,
): number {
  let nrFailed = 0;
  const folios = new ListHead();
  const astats = newStats();
  let rc = migrate_pages_batch(m, from, getNew, putNew, priv, MIGRATE_MODE.MIGRATE_ASYNC, reason, folios, splitFolios, astats, NR_MAX_MIGRATE_ASYNC_RETRY);
  stats.nr_succeeded += astats.nr_succeeded;
  stats.nr_thp_succeeded += astats.nr_thp_succeeded;
  stats.nr_thp_split += astats.nr_thp_split;
  stats.nr_split += astats.nr_split;
  if (rc < 0) {
    stats.nr_failed_pages += astats.nr_failed_pages;
    stats.nr_thp_failed += astats.nr_thp_failed;
    listSpliceTailInit(m, folios, retFolios);
    return rc;
  }
  stats.nr_thp_failed += astats.nr_thp_split;
  // Do not count rc, as the folios are retried below; count nr_split only.
  nrFailed += astats.nr_split;
  // Fall back to migrating every failed folio one by one synchronously.
  listSpliceTailInit(m, folios, from);
  while (!from.empty) {
    listMoveTail(m, from.first, from, folios);
    rc = migrate_pages_batch(m, folios, getNew, putNew, priv, mode, reason, retFolios, splitFolios, stats, NR_MAX_MIGRATE_SYNC_RETRY);
    listSpliceTailInit(m, folios, retFolios);
    if (rc < 0) return rc;
    nrFailed += rc;
  }
  return nrFailed;
}

/**
 * `unmap_and_move_huge_page(get_new_folio, put_new_folio, private, src, force, mode, reason, ret)`:
 * migrate one isolated hugetlb folio through the hooks `@mm/hugetlb` fills in. A source whose
 * refcount is 1 was freed under us (`folio_putback_hugetlb`, success). On success the hugetlb state
 * moves (`move_hugetlb_state`), the source goes back to hugetlb (`folio_putback_hugetlb` drops the
 * isolation reference and frees it) and the destination's allocation reference is dropped
 * (`folio_put`, not `put_new_folio`). `-EAGAIN` keeps the folio on `from`; other errors move it to
 * `ret`. A folio charged to a subpool but without `folio_mapping()` is refused with `-EBUSY`, as in
 * the kernel (through the `hugetlb_folio_subpool` hook). `force` (MIGRATE_SYNC from the fourth
 * pass on) lets the kernel sleep on the source's lock; the model cannot sleep, so a locked source is
 * `-EAGAIN` in every pass.
 */
export function unmap_and_move_huge_page<P>(
  m: Machine,
  getNew: NewFolioCallback<P>,
  putNew: FreeFolioCallback<P> | null,
  priv: P,
  src: Folio,
  _force: boolean,
  mode: MigrateMode,
  reason: MigrateReason,
  from: ListHead,
  ret: ListHead,
): number {
  const hooks = m.hooks;
  if (m.memmap.refcount[src] === 1) {
    // Freed from under us.
    listDel(m, from, src);
    hooks.folio_putback_hugetlb!(src);
    return 0;
  }
  const got = getNew(src, priv);
  if (got < 0) return -ENOMEM;
  const dst = got as Folio;
  let rc = -EAGAIN;
  let state = 0;
  let anonPinned = false;
  if (folio_trylock(m, src)) {
    if (hooks.hugetlb_folio_subpool?.(src) === true && folio_mapping(m, src) === null) {
      // A folio being freed: without folio_mapping() the hugetlbfs move routine is not called and the
      // subpool's usage would leak, so the kernel refuses.
      rc = -EBUSY;
    } else {
      if ((m.memmap.mapping[src]! & 3) === 1) anonPinned = folio_get_anon_vma(m, src, folio_mapped(m, src)) !== null;
      if (folio_trylock(m, dst)) {
        if (folio_mapped(m, src)) state = try_to_migrate(m, src);
        if (!folio_mapped(m, src)) rc = move_to_new_folio(m, dst, src, mode);
        remove_migration_ptes(m, src, rc === 0 ? dst : src, state);
        folio_unlock(m, dst);
      }
      if (anonPinned) put_anon_vma(m, folio_anon_vma(m, src)!);
      if (rc === 0) {
        hooks.move_hugetlb_state?.(src, dst, reason);
        putNew = null;
      }
    }
    folio_unlock(m, src);
  }
  if (rc === 0) {
    listDel(m, from, src);
    hooks.folio_putback_hugetlb!(src);
  } else if (rc !== -EAGAIN) listMoveTail(m, src, from, ret);
  // An unused destination goes back through put_new_folio; a used one just loses our reference.
  if (putNew !== null) putNew(dst, priv);
  else folio_put(m, dst);
  return rc;
}

/**
 * `migrate_hugetlbs(from, …, stats, ret_folios)`: migrate the hugetlb folios of `from` first, up to
 * `NR_MAX_MIGRATE_PAGES_RETRY` passes (forcing the source lock from the fourth pass in MIGRATE_SYNC).
 * Returns the hugetlb folios not migrated, or `-ENOMEM`.
 */
export function migrate_hugetlbs<P>(
  m: Machine,
  from: ListHead,
  getNew: NewFolioCallback<P>,
  putNew: FreeFolioCallback<P> | null,
  priv: P,
  mode: MigrateMode,
  reason: MigrateReason,
  stats: MigratePagesStats,
  retFolios: ListHead,
): number {
  let retry = 1;
  let nrFailed = 0;
  let nrRetryPages = 0;
  for (let pass = 0; pass < NR_MAX_MIGRATE_PAGES_RETRY && retry; pass++) {
    retry = 0;
    nrRetryPages = 0;
    for (let folio = from.first; folio >= 0; ) {
      const next = listNext(m, folio);
      const f = folio as Folio;
      if (folio_test_hugetlb(m, f)) {
        const nrPages = folio_nr_pages(m, f);
        const rc = unmap_and_move_huge_page(m, getNew, putNew, priv, f, pass > 2, mode, reason, from, retFolios);
        switch (rc) {
          case -ENOMEM:
            stats.nr_failed_pages += nrPages + nrRetryPages;
            return -ENOMEM;
          case -EAGAIN:
            retry++;
            nrRetryPages += nrPages;
            break;
          case 0:
            stats.nr_succeeded += nrPages;
            break;
          default:
            nrFailed++;
            stats.nr_failed_pages += nrPages;
        }
      }
      folio = next;
    }
  }
  nrFailed += retry;
  stats.nr_failed_pages += nrRetryPages;
  return nrFailed;
}

/**
 * Check a `from` list before anything changes: every entry is a folio with a reference, and
 * isolated — a hugetlb folio, a movable_ops page with PG_movable_ops_isolated, or an LRU folio without
 * PG_lru (its list link proves it is off the LRU). `MmError(EINVAL)` names the first bad entry.
 */
function assertIsolatedList(m: Machine, from: ListHead, fn: string): void {
  const mm = m.memmap;
  const { flags, lru, refcount, mapcount } = mm;
  const nrPages = flags.length;
  let n = 0;
  for (let f = from.first; f >= 0; f = listNext(m, f)) {
    if (++n > from.length) throw new MmError(EINVAL, `${fn}: the list is corrupted (loops)`, { pfn: f, rule: 'a list_head is a simple cycle' });
    if (f >= nrPages || flags[f]! >>> 24 === 0xff || (lru[f]! & 1) !== 0) assertFolio(m, f, fn);
    let why: string | null = null;
    const t = mapcount[f]!;
    if (refcount[f]! <= 0) why = 'folio on the list has no reference (free or frozen)';
    else if (t < TYPED_LIMIT && t >>> 24 === PGTY.hugetlb) {
      if (!m.hooks.folio_putback_hugetlb) why = 'hugetlb folio but no hugetlb support is installed';
    } else if ((flags[f]! & MOVABLE_OPS) !== 0 && page_has_movable_ops(m, f as Folio)) {
      if (!PageMovableOpsIsolated(m, f as Folio)) why = 'movable_ops page that was not isolated (PG_movable_ops_isolated clear)';
    } else if ((flags[f]! & (1 << PG.lru)) !== 0) why = 'folio is still on the LRU (PG_lru set): it was not isolated';
    if (why !== null) throw new MmError(EINVAL, `${fn}: ${why}`, { pfn: f, rule: '§9.2 only isolated folios may be migrated' });
  }
}

const TYPED_LIMIT = 0xff000000 | 0;
const MOVABLE_OPS = 1 << PG.movable_ops;

/**
 * `migrate_pages(from, get_new_folio, put_new_folio, private, mode, reason, ret_succeeded)`
 * (`mm/migrate.c`): migrate the isolated folios on `from` — hugetlb folios first
 * (`migrate_hugetlbs`), then the rest in batches of up to `NR_MAX_BATCHED_MIGRATION` base pages (the
 * folio that crosses the limit is included), MIGRATE_ASYNC batch-wise and the other modes through
 * `migrate_pages_sync`. Folios not migrated are back on `from` (the caller then calls
 * `putback_movable_pages`); `put_new_folio` (null: `folio_put`) takes back unused destinations.
 *
 * Returns the number of folios not migrated (0 if `from` ends up empty) or a negative errno
 * (`-ENOMEM`: stopped early). Counts PGMIGRATE_SUCCESS / PGMIGRATE_FAIL (base pages) and
 * THP_MIGRATION_SUCCESS / _FAIL / _SPLIT, and traces `mm_migrate_pages_start` and `mm_migrate_pages`.
 * `retSucceeded.value` receives the base pages migrated.
 *
 * Bad input (`MmError(EINVAL)`, nothing changed): an entry that is not an isolated folio.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import {
 *   GFP_HIGHUSER_MOVABLE, ListHead, MIGRATE_MODE, MR, anon_vma_alloc, createMachine, faultInAnonFolio, folio_alloc,
 *   folio_isolate_lru, folio_nr_pages, folio_order, listAddTail, lru_add_drain_all, migrate_pages, mod_isolated, type Folio,
 * } from '@mm/core';
 *
 * const m = createMachine({ memory: '64M', debugVm: true });
 * const folio = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0);
 * if (folio === -1) throw new Error('out of memory');
 * faultInAnonFolio(m, folio, anon_vma_alloc(m), 0); // a mapped anonymous page
 * lru_add_drain_all(m); // now on the LRU
 * // The caller isolates what it wants moved (as move_pages(2) does) ...
 * const from = new ListHead();
 * folio_isolate_lru(m, folio);
 * mod_isolated(m, folio, folio_nr_pages(m, folio));
 * listAddTail(m, from, folio);
 * // ... and says where each folio goes: here, any free page.
 * const getNew = (src: Folio): Folio | -1 => folio_alloc(m, GFP_HIGHUSER_MOVABLE, folio_order(m, src));
 * const moved = { value: 0 };
 * console.log(migrate_pages(m, from, getNew, null, undefined, MIGRATE_MODE.MIGRATE_SYNC, MR.MR_SYSCALL, moved), moved.value); // 0 1
 * ```
 */
export function migrate_pages<P>(
  m: Machine,
  from: ListHead,
  getNew: NewFolioCallback<P>,
  putNew: FreeFolioCallback<P> | null,
  priv: P,
  mode: MigrateMode,
  reason: MigrateReason,
  retSucceeded?: { value: number },
): number {
  assertIsolatedList(m, from, 'migrate_pages');
  if (!m.debugVm) return __migrate_pages(m, from, getNew, putNew, priv, mode, reason, retSucceeded);
  return m.withChecksDeferred('migrate_pages', () => {
    const rc = __migrate_pages(m, from, getNew, putNew, priv, mode, reason, retSucceeded);
    // §13 §9.2: what was not migrated is back on `from`, still isolated, and counted by the result
    // (the model never splits, so each failed folio counts once).
    if (rc >= 0 && rc !== from.length) m.vmBug('§9.2 migrate_pages result', `returned ${rc} with ${from.length} folios left on the list`);
    try {
      assertIsolatedList(m, from, 'migrate_pages');
    } catch (e) {
      m.vmBug('§9.2 migrate_pages result', `a folio left on the list is not isolated: ${(e as Error).message}`);
    }
    return rc;
  });
}

function __migrate_pages<P>(
  m: Machine,
  from: ListHead,
  getNew: NewFolioCallback<P>,
  putNew: FreeFolioCallback<P> | null,
  priv: P,
  mode: MigrateMode,
  reason: MigrateReason,
  retSucceeded?: { value: number },
): number {
  if (m.trace.active) m.trace.emit('mm_migrate_pages_start', { mode, reason });
  const stats = newStats();
  const folios = new ListHead();
  const retFolios = new ListHead();
  const splitFolios = new ListHead();
  let rcGather = 0;
  let hasHugetlb = false;
  for (let f = from.first; f >= 0 && !hasHugetlb; f = listNext(m, f)) hasHugetlb = folio_test_hugetlb(m, f as Folio);
  if (hasHugetlb) rcGather = migrate_hugetlbs(m, from, getNew, putNew, priv, mode, reason, stats, retFolios);
  if (rcGather >= 0) {
    while (!from.empty) {
      let nrPages = 0;
      let cut = -1;
      let counted = 0;
      for (let f = from.first; f >= 0; ) {
        const next = listNext(m, f);
        // Retried hugetlb folios are kept on the list.
        if (hasHugetlb && folio_test_hugetlb(m, f as Folio)) {
          listMoveTail(m, f, from, retFolios);
          f = next;
          continue;
        }
        nrPages += folio_nr_pages(m, f as Folio);
        counted++;
        if (nrPages >= NR_MAX_BATCHED_MIGRATION) {
          cut = next;
          break;
        }
        f = next;
      }
      if (cut >= 0) listCutBefore(m, folios, from, cut, counted);
      else listSpliceInit(m, from, folios);
      const rc =
        mode === MIGRATE_MODE.MIGRATE_ASYNC
          ? migrate_pages_batch(m, folios, getNew, putNew, priv, mode, reason, retFolios, splitFolios, stats, NR_MAX_MIGRATE_PAGES_RETRY)
          : migrate_pages_sync(m, folios, getNew, putNew, priv, mode, reason, retFolios, splitFolios, stats);
      listSpliceTailInit(m, folios, retFolios);
      if (rc < 0) {
        rcGather = rc;
        listSpliceTailInit(m, splitFolios, retFolios);
        break;
      }
      if (!splitFolios.empty) {
        // Split folios are retried once, asynchronously; their failure was counted already.
        migrate_pages_batch(m, splitFolios, getNew, putNew, priv, MIGRATE_MODE.MIGRATE_ASYNC, reason, retFolios, null, stats, 1);
        listSpliceTailInit(m, splitFolios, retFolios);
      }
      rcGather += rc;
    }
  }
  // Put the permanent failures back on the migration list; the caller puts them back.
  listSpliceInit(m, retFolios, from);
  if (from.empty) rcGather = 0;
  const ev = m.vmEvents;
  ev[VM_EVENT.pgmigrate_success]! += stats.nr_succeeded;
  ev[VM_EVENT.pgmigrate_fail]! += stats.nr_failed_pages;
  ev[VM_EVENT.thp_migration_success]! += stats.nr_thp_succeeded;
  ev[VM_EVENT.thp_migration_fail]! += stats.nr_thp_failed;
  ev[VM_EVENT.thp_migration_split]! += stats.nr_thp_split;
  if (m.trace.active) {
    m.trace.emit('mm_migrate_pages', {
      succeeded: stats.nr_succeeded,
      failed: stats.nr_failed_pages,
      thp_succeeded: stats.nr_thp_succeeded,
      thp_failed: stats.nr_thp_failed,
      thp_split: stats.nr_thp_split,
      large_folio_split: stats.nr_split,
      mode,
      reason,
    });
  }
  if (retSucceeded) retSucceeded.value = stats.nr_succeeded;
  return rcGather;
}
