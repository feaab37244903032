import { EAGAIN, EBUSY, ENOMEM } from '../errno.js';
import { folio_put } from '../folio/folio-ref.js';
import { folio_trylock, folio_unlock } from '../folio/folio-lock.js';
import { folio_add_lru, lru_add_drain } from '../folio/lru.js';
import { folio_expected_ref_count } from '../folio/mapcount.js';
import type { Machine } from '../machine/machine.js';
import { folio_anon_vma, folio_get_anon_vma, put_anon_vma } from '../mapping/anon-vma.js';
import { folio_detach_private } from '../mapping/folio-private.js';
import { PAGE_WAS_MAPPED, PAGE_WAS_MLOCKED, remove_migration_ptes, try_to_migrate } from '../mapping/migration-entry.js';
import { folio_nr_pages } from '../page/compound.js';
import { PG } from '../page/page-flags.js';
import { pfn_ptr, ptr_pfn } from '../page/word.js';
import { NR_NODE } from '../trace/vmstat.js';
import type { Folio } from '../types.js';
import { ListHead, listAddTail, listDel, listMoveTail } from './list-head.js';
import { MIGRATEPAGE_UNMAP, MIGRATE_MODE, MR, type MigrateMode, type MigrateReason } from './migrate-mode.js';
import { migrate_movable_ops_page, page_has_movable_ops } from './movable-ops.js';
import { move_to_new_folio } from './migrate-folio.js';
import { STEP_BLOCKED, STEP_CONTINUE, STEP_DONE, type StepResult } from './step-result.js';

/**
 * The per-folio halves of `migrate_pages_batch` (`mm/migrate.c`): `migrate_folio_unmap` (lock, pin
 * the anon_vma, replace the mappings by migration entries, pair the folio with a destination) and
 * `migrate_folio_move` (move the identity, put the destination on the LRU, restore the mappings, free
 * the source), with their undo paths.
 *
 * Each is a step machine: a state object ({@link FolioMigration}) and a step function. For a stepped
 * run (`canBlock`) the function performs one section between the kernel's lock and atomic operations
 * and returns {@link STEP_CONTINUE}, {@link STEP_DONE} or {@link STEP_BLOCKED}; `migrate/steps.ts` wraps
 * it in generators that yield a label after each step, so a scheduler can interleave other CPUs' steps
 * (the [explore] use). For the ordinary API (`migrate_pages`) the same function runs the same sections
 * straight through to STEP_DONE.
 *
 * Where the kernel would sleep (`folio_lock` in SYNC modes, `folio_wait_writeback`), a machine that
 * cannot block ({@link FolioMigration.canBlock} false, the ordinary API) treats the folio as
 * temporarily unmigratable (`-EAGAIN`): nothing else runs while it waits, so the wait would never end.
 * A stepped run returns STEP_BLOCKED instead and retries the step when scheduled again.
 *
 * @module
 */

/** A `new_folio_t`: allocate the destination for `src`, or return -1 (NULL). */
export type NewFolioCallback<P> = (src: Folio, priv: P) => Folio | -1;
/** A `free_folio_t`: take back a destination that was not used. */
export type FreeFolioCallback<P> = (dst: Folio, priv: P) => void;

/** Model-only bit of `old_page_state`: an anon_vma was pinned (`folio_get_anon_vma`); the kernel records the pointer in `dst->mapping`. */
export const PAGE_ANON_VMA_PINNED = 8;

/** Unmap-phase steps. */
const U_START = 0;
const U_ALLOC = 1;
const U_LOCK_SRC = 2;
const U_WRITEBACK = 3;
const U_LOCK_DST = 4;
const U_UNMAP = 5;
const U_OUT_SRC = 6;
const U_OUT_DST = 7;

/** Labels of the unmap steps, as the stepped API yields them. */
export const UNMAP_STEP_LABELS: readonly string[] = [
  'migrate_folio_unmap: folio_ref_count(src) == 1?',
  'migrate_folio_unmap: get_new_folio',
  'migrate_folio_unmap: folio_trylock(src)',
  'migrate_folio_unmap: writeback check, folio_get_anon_vma',
  'migrate_folio_unmap: folio_trylock(dst)',
  'migrate_folio_unmap: try_to_migrate',
  'migrate_folio_undo_src',
  'migrate_folio_undo_dst',
];

/** Move-phase steps. */
const M_START = 0;
const M_REFCHECK = 1;
const M_MOVE = 2;
const M_ADD_LRU = 3;
const M_REMAP = 4;
const M_UNLOCK_DST = 5;
const M_UNLOCK_SRC = 6;
const M_DONE_SRC = 7;
const M_FAIL_SRC = 8;
const M_FAIL_DST = 9;

/** Labels of the move steps, as the stepped API yields them. */
export const MOVE_STEP_LABELS: readonly string[] = [
  'migrate_folio_move: __migrate_folio_extract',
  'migrate_folio_move: folio_ref_count(src) == expected?',
  'migrate_folio_move: move_to_new_folio (freeze, replace, unfreeze)',
  'migrate_folio_move: folio_add_lru(dst)',
  'migrate_folio_move: remove_migration_ptes(src, dst)',
  'migrate_folio_move: folio_unlock(dst), folio_put(dst)',
  'migrate_folio_move: list_del(src), put_anon_vma, folio_unlock(src)',
  'migrate_folio_done: folio_put(src)',
  'migrate_folio_undo_src',
  'migrate_folio_undo_dst',
];

/**
 * The state of one folio's migration: the locals of `migrate_folio_unmap` / `migrate_folio_move` and
 * the step reached. The ordinary API reuses one instance per phase of a batch.
 */
export class FolioMigration<P = unknown> {
  /** The folio being migrated. */
  src = -1 as Folio;
  /** Its destination, once allocated (-1 before). */
  dst = -1 as Folio | -1;
  /** The list `src` is on. */
  from: ListHead | null = null;
  /** Where a permanently failed `src` goes (`ret`). */
  ret: ListHead | null = null;
  /** The list paired destinations are on (`dst_folios`), or null. */
  dstList: ListHead | null = null;
  /** For the move phase: the destination after `dst` on `dstList` (where a retried `dst` goes back). */
  dstNext = -1;
  /** Migration mode. */
  mode: MigrateMode = MIGRATE_MODE.MIGRATE_ASYNC;
  /** Migration reason. */
  reason: MigrateReason = MR.MR_COMPACTION;
  /** `get_new_folio`. */
  getNew: NewFolioCallback<P> | null = null;
  /** `put_new_folio` (null: `folio_put`). */
  putNew: FreeFolioCallback<P> | null = null;
  /** `private`, passed to the callbacks. */
  priv = undefined as P;
  /** True if the run may wait (stepped runs): blocking points return STEP_BLOCKED. */
  canBlock = false;
  /** Current step. */
  step = 0;
  /** Return code so far. */
  rc = 0;
  /** `old_page_state`. */
  state = 0;
  /** `src` is locked by us. */
  locked = false;
  /** `dst` is locked by us. */
  dstLocked = false;
  /** `src` is an LRU folio (not a movable_ops page). */
  isLru = true;

  /** Prepare for migrating `src` (from `from`) in the unmap phase. */
  resetUnmap(src: Folio, from: ListHead | null, ret: ListHead | null): this {
    this.src = src;
    this.dst = -1;
    this.from = from;
    this.ret = ret;
    this.step = U_START;
    this.rc = -EAGAIN;
    this.state = 0;
    this.locked = false;
    this.dstLocked = false;
    return this;
  }

  /** Prepare for the move phase of `src`, unmapped and paired with `dst`. */
  resetMove(src: Folio, dst: Folio, from: ListHead | null, ret: ListHead | null, dstList: ListHead | null, dstNext: number): this {
    this.src = src;
    this.dst = dst;
    this.from = from;
    this.ret = ret;
    this.dstList = dstList;
    this.dstNext = dstNext;
    this.step = M_START;
    this.rc = 0;
    this.state = 0;
    this.locked = true;
    this.dstLocked = true;
    return this;
  }
}

/** `folio_is_file_lru(folio)`: not swap-backed. */
export function folio_is_file_lru(m: Machine, folio: Folio): boolean {
  return (m.memmap.flags[folio]! & (1 << PG.swapbacked)) === 0;
}

/**
 * `migrate_folio_done(src, reason)`: the source is done with: undo NR_ISOLATED_* (not for movable_ops
 * pages, nor for MR_DEMOTION) and drop the isolation reference (not for MR_MEMORY_FAILURE, whose
 * caller releases the page) — which frees a migrated source. The kernel asks
 * `page_has_movable_ops(src)` again here, which relies on sticky page types; the model passes what the
 * unmap step saw (`isLru`), so that a machine with `stickyPageTypes: false` — whose owner may have
 * cleared the type meanwhile, while pre-6.17 kernels kept PAGE_MAPPING_MOVABLE — keeps its
 * NR_ISOLATED_* counters right.
 */
export function migrate_folio_done(m: Machine, src: Folio, reason: MigrateReason, isLru: boolean): void {
  if (isLru && reason !== MR.MR_DEMOTION) {
    m.nodes[m.memmap.flags[src]! >>> 27]!.vmstat[folio_is_file_lru(m, src) ? NR_NODE.nr_isolated_file : NR_NODE.nr_isolated_anon]! -= folio_nr_pages(m, src);
  }
  if (reason !== MR.MR_MEMORY_FAILURE) folio_put(m, src);
}

/**
 * `migrate_folio_undo_src(src, page_was_mapped, anon_vma, locked, ret)`: restore the source after a
 * failure: its mappings back (`remove_migration_ptes(src, src)`), the anon_vma unpinned, unlocked, and
 * moved from `from` to `ret` if given.
 */
export function migrate_folio_undo_src(m: Machine, src: Folio, state: number, locked: boolean, from: ListHead | null, ret: ListHead | null): void {
  if ((state & PAGE_WAS_MAPPED) !== 0) remove_migration_ptes(m, src, src, state);
  if ((state & PAGE_ANON_VMA_PINNED) !== 0) put_anon_vma(m, folio_anon_vma(m, src)!);
  if (locked) folio_unlock(m, src);
  if (ret !== null && from !== null) listMoveTail(m, src, from, ret);
}

/** `migrate_folio_undo_dst(dst, locked, put_new_folio, private)`: unlock and release an unused destination. */
export function migrate_folio_undo_dst<P>(m: Machine, dst: Folio, locked: boolean, putNew: FreeFolioCallback<P> | null, priv: P): void {
  if (locked) folio_unlock(m, dst);
  if (putNew !== null) putNew(dst, priv);
  else folio_put(m, dst);
}

function uFail<P>(st: FolioMigration<P>, rc: number): void {
  st.rc = rc;
  st.step = U_OUT_SRC;
}

/**
 * One step of `migrate_folio_unmap(get_new_folio, put_new_folio, private, src, &dst, mode, reason,
 * ret)`. The result (in `st.rc`) is 0 (the source was freed under us: done), `MIGRATEPAGE_UNMAP`
 * (`st.dst` is paired and recorded, `st.dst`'s `private` holding `old_page_state`), `-ENOMEM` (no
 * destination), `-EAGAIN` (stays on `from` for another pass) or another negative errno (moved to
 * `ret`).
 */
export function migrate_folio_unmap_step<P>(m: Machine, st: FolioMigration<P>): StepResult {
  const mm = m.memmap;
  const src = st.src;
  // One step per call when stepped; the ordinary API runs straight through (no call per step).
  for (let first = true; ; first = false) {
    if (!first && st.canBlock) return STEP_CONTINUE;
    switch (st.step) {
      case U_START: {
        st.isLru = !page_has_movable_ops(m, src);
        if (st.isLru && mm.refcount[src] === 1) {
          // Folio was freed from under us. So we are done.
          mm.flags[src]! &= ~((1 << PG.active) | (1 << PG.unevictable));
          if (st.from !== null) listDel(m, st.from, src);
          migrate_folio_done(m, src, st.reason, st.isLru);
          st.rc = 0;
          return STEP_DONE;
        }
        st.step = U_ALLOC;
        continue;
      }
      case U_ALLOC: {
        const dst = st.getNew!(src, st.priv);
        if (dst < 0) {
          st.rc = -ENOMEM;
          return STEP_DONE;
        }
        st.dst = dst;
        mm.private[dst] = 0;
        st.step = U_LOCK_SRC;
        continue;
      }
      case U_LOCK_SRC: {
        if (!folio_trylock(m, src)) {
          if (st.mode === MIGRATE_MODE.MIGRATE_ASYNC) {
            uFail(st, -EAGAIN);
            continue;
          }
          // In "light" mode we wait for transient locks, not for I/O.
          if (st.mode === MIGRATE_MODE.MIGRATE_SYNC_LIGHT && (mm.flags[src]! & (1 << PG.uptodate)) === 0) {
            uFail(st, -EAGAIN);
            continue;
          }
          if (st.canBlock) return STEP_BLOCKED; // folio_lock(src)
          uFail(st, -EAGAIN);
          continue;
        }
        st.locked = true;
        st.step = U_WRITEBACK;
        continue;
      }
      case U_WRITEBACK: {
        if ((mm.flags[src]! & (1 << PG.writeback)) !== 0) {
          if (st.mode !== MIGRATE_MODE.MIGRATE_SYNC) {
            uFail(st, -EBUSY);
            continue;
          }
          if (st.canBlock) return STEP_BLOCKED; // folio_wait_writeback(src)
          uFail(st, -EAGAIN);
          continue;
        }
        const w = mm.mapping[src]!;
        if ((w & 3) === 1) {
          const mapped = (mm.flags[src]! & (1 << PG.head)) !== 0 ? (mm.lruPrev[src + 1]! | 0) >= 0 : mm.mapcount[src]! >= 0;
          if (folio_get_anon_vma(m, src, mapped) !== null) st.state |= PAGE_ANON_VMA_PINNED;
        }
        st.step = U_LOCK_DST;
        continue;
      }
      case U_LOCK_DST: {
        if (!folio_trylock(m, st.dst as Folio)) {
            uFail(st, -EAGAIN);
            continue;
          }
        st.dstLocked = true;
        if (!st.isLru) {
          mm.private[st.dst] = st.state; // __migrate_folio_record
          st.rc = MIGRATEPAGE_UNMAP;
          return STEP_DONE;
        }
        st.step = U_UNMAP;
        continue;
      }
      case U_UNMAP: {
        if (mm.mapping[src] === 0) {
          // An orphaned folio with fs-private data: try to free the buffers, and fail.
          if ((mm.flags[src]! & (1 << PG.private)) !== 0) {
            folio_detach_private(m, src); // try_to_free_buffers
            uFail(st, -EAGAIN);
            continue;
          }
        } else {
          st.state |= try_to_migrate(m, src);
        }
        mm.private[st.dst] = st.state; // __migrate_folio_record
        st.rc = MIGRATEPAGE_UNMAP;
        return STEP_DONE;
      }
      case U_OUT_SRC: {
        // A folio that has not been unmapped goes to `ret` unless we want to retry.
        migrate_folio_undo_src(m, src, st.state, st.locked, st.from, st.rc === -EAGAIN ? null : st.ret);
        st.locked = false;
        if (st.dst < 0) return STEP_DONE;
        st.step = U_OUT_DST;
        continue;
      }
      case U_OUT_DST: {
        migrate_folio_undo_dst(m, st.dst as Folio, st.dstLocked, st.putNew, st.priv);
        st.dstLocked = false;
        st.dst = -1;
        return STEP_DONE;
      }
      default:
        throw new Error(`migrate_folio_unmap: bad step ${st.step}`);
    }
  }
}

/** Run `migrate_folio_unmap` to completion (the ordinary API); returns `st.rc`. */
export function migrate_folio_unmap<P>(m: Machine, st: FolioMigration<P>): number {
  while (migrate_folio_unmap_step(m, st) !== STEP_DONE);
  return st.rc;
}

/**
 * One step of `migrate_folio_move(put_new_folio, private, src, dst, mode, reason, ret)`. The result
 * (in `st.rc`) is 0 (migrated: the source is freed, the destination took its place), `-EAGAIN` (both
 * stay paired for another pass; `dst` back on `dstList`) or another negative errno (both restored:
 * `src` to `ret`, `dst` released).
 */
export function migrate_folio_move_step<P>(m: Machine, st: FolioMigration<P>): StepResult {
  const mm = m.memmap;
  const src = st.src;
  const dst = st.dst as Folio;
  // One step per call when stepped; the ordinary API runs straight through (no call per step).
  for (let first = true; ; first = false) {
    if (!first && st.canBlock) return STEP_CONTINUE;
    switch (st.step) {
      case M_START: {
        st.state = mm.private[dst]!; // __migrate_folio_extract
        mm.private[dst] = 0;
        if (st.dstList !== null) listDel(m, st.dstList, dst);
        st.isLru = !page_has_movable_ops(m, src);
        // The separate reference check only matters to stepped runs: __migrate_folio() checks again.
        st.step = st.isLru && st.canBlock ? M_REFCHECK : M_MOVE;
        continue;
      }
      case M_REFCHECK: {
        // __migrate_folio() checks for extra references before doing more work: a speculative
        // folio_try_get() since the unmap makes this folio -EAGAIN.
        if (mm.refcount[src] !== folio_expected_ref_count(m, src) + 1) {
          st.rc = -EAGAIN;
          st.step = M_FAIL_SRC;
          continue;
        }
        st.step = M_MOVE;
        continue;
      }
      case M_MOVE: {
        const rc = st.isLru ? move_to_new_folio(m, dst, src, st.mode) : migrate_movable_ops_page(m, dst, src, st.mode);
        if (rc !== 0) {
          st.rc = rc;
          st.step = M_FAIL_SRC;
          continue;
        }
        st.step = st.isLru ? M_ADD_LRU : M_UNLOCK_DST;
        continue;
      }
      case M_ADD_LRU: {
        // Push dst to the LRU at once, so an mlocked folio gets its mlock_count from the remap.
        folio_add_lru(m, dst);
        if ((st.state & PAGE_WAS_MLOCKED) !== 0) lru_add_drain(m);
        st.step = M_REMAP;
        continue;
      }
      case M_REMAP: {
        remove_migration_ptes(m, src, dst, st.state);
        st.step = M_UNLOCK_DST;
        continue;
      }
      case M_UNLOCK_DST: {
        folio_unlock(m, dst);
        st.dstLocked = false;
        // The new owner holds its own references: this does not free dst.
        folio_put(m, dst);
        st.step = M_UNLOCK_SRC;
        continue;
      }
      case M_UNLOCK_SRC: {
        if (st.from !== null) listDel(m, st.from, src);
        if ((st.state & PAGE_ANON_VMA_PINNED) !== 0) put_anon_vma(m, folio_anon_vma(m, src)!);
        folio_unlock(m, src);
        st.locked = false;
        st.step = M_DONE_SRC;
        continue;
      }
      case M_DONE_SRC: {
        migrate_folio_done(m, src, st.reason, st.isLru);
        st.rc = 0;
        return STEP_DONE;
      }
      case M_FAIL_SRC: {
        if (st.rc === -EAGAIN) {
          // Retry later: dst goes back where it was and keeps the record.
          if (st.dstList !== null) insertBefore(m, st.dstList, dst, st.dstNext);
          mm.private[dst] = st.state;
          return STEP_DONE;
        }
        migrate_folio_undo_src(m, src, st.state, true, st.from, st.ret);
        st.locked = false;
        st.step = M_FAIL_DST;
        continue;
      }
      case M_FAIL_DST: {
        migrate_folio_undo_dst(m, dst, true, st.putNew, st.priv);
        st.dstLocked = false;
        return STEP_DONE;
      }
      default:
        throw new Error(`migrate_folio_move: bad step ${st.step}`);
    }
  }
}

/** Run `migrate_folio_move` to completion (the ordinary API); returns `st.rc`. */
export function migrate_folio_move<P>(m: Machine, st: FolioMigration<P>): number {
  while (migrate_folio_move_step(m, st) !== STEP_DONE);
  return st.rc;
}

/** `list_add(&dst->lru, prev)`: put `dst` back before `next` (-1: at the end). */
function insertBefore(m: Machine, list: ListHead, dst: Folio, next: number): void {
  if (next < 0) {
    listAddTail(m, list, dst);
    return;
  }
  const { lru, lruPrev } = m.memmap;
  const prevWord = lruPrev[next]!;
  lru[dst] = pfn_ptr(next);
  lruPrev[dst] = prevWord;
  lruPrev[next] = pfn_ptr(dst);
  if (list.heads[0] === next) list.heads[0] = dst;
  else lru[ptr_pfn(prevWord)] = pfn_ptr(dst);
  list.counts[0]!++;
}
