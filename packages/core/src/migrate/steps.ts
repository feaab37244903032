import { __folio_put } from '../folio/folio-put.js';
import { folio_put, folio_try_get } from '../folio/folio-ref.js';
import { folio_isolate_lru } from '../folio/lru.js';
import type { Machine } from '../machine/machine.js';
import { folio_nr_pages } from '../page/compound.js';
import type { Folio, Pfn } from '../types.js';
import { assertFolio, assertReferenced } from '../debug/validate.js';
import { MmError } from '../debug/mm-error.js';
import { EAGAIN, EINVAL } from '../errno.js';
import { ListHead, listAdd } from './list-head.js';
import {
  FolioMigration,
  MOVE_STEP_LABELS,
  UNMAP_STEP_LABELS,
  migrate_folio_move_step,
  migrate_folio_undo_dst,
  migrate_folio_undo_src,
  migrate_folio_unmap_step,
  type FreeFolioCallback,
  type NewFolioCallback,
} from './migrate-folio-steps.js';
import { MIGRATEPAGE_UNMAP, type IsolateMode, type MigrateMode, type MigrateReason } from './migrate-mode.js';
import { ISOLATE_MOVABLE_OPS_STEP_LABELS, MovableOpsIsolation, isolate_movable_ops_page_step } from './movable-ops.js';
import { FolioPutback, PUTBACK_STEP_LABELS, assertPutbackList, mod_isolated, putback_folio_step } from './putback.js';
import { STEP_BLOCKED, STEP_DONE, type StepResult } from './step-result.js';

/**
 * Steppable versions of the paths that race in the kernel — isolation, migration (unmap, freeze,
 * move, remap), putback and the free path — for schedulers that interleave several simulated CPUs
 * (the [explore] use). Each is a generator that performs one step between the kernel's lock and atomic
 * operations per `next()` and yields that step's label; its return value is the path's result. The
 * steps are the same step functions the ordinary API runs to completion, so both see identical
 * behaviour; only a stepped run can wait (`STEP_BLOCKED`: it yields `"<label> (blocked)"` and retries
 * the step when resumed).
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import {
 *   EAGAIN, GFP_HIGHUSER_MOVABLE, ListHead, MIGRATE_MODE, MR, anon_vma_alloc, createMachine, faultInAnonFolio, folio_alloc,
 *   folio_isolate_lru, folio_put, folio_try_get, listAddTail, lru_add_drain_all, migrate_folio_steps, mod_isolated, runSteps,
 * } from '@mm/core';
 *
 * const m = createMachine({ memory: '64M' });
 * const folio = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0);
 * if (folio === -1) throw new Error('out of memory');
 * faultInAnonFolio(m, folio, anon_vma_alloc(m), 0);
 * lru_add_drain_all(m);
 * const from = new ListHead();
 * folio_isolate_lru(m, folio);
 * mod_isolated(m, folio, 1);
 * listAddTail(m, from, folio);
 * const failed = new ListHead();
 * const alloc = () => folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0);
 * const a = migrate_folio_steps(m, folio, from, alloc, null, undefined, MIGRATE_MODE.MIGRATE_SYNC, MR.MR_SYSCALL, failed);
 * console.log(a.next().value); // migrate_folio_unmap: folio_ref_count(src) == 1?
 * folio_try_get(m, folio); // another CPU takes a speculative reference …
 * console.log(runSteps(a) === -EAGAIN); // … so the move fails with -EAGAIN (true)
 * folio_put(m, folio);
 * ```
 *
 * @module
 */

/** A steppable kernel path: yields a label after each step, returns the path's result. */
export type KernelSteps<T> = Generator<string, T, void>;

/** Run a steppable path to completion (as the ordinary API does) and return its result. */
export function runSteps<T>(g: KernelSteps<T>): T {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}

/** Drive a step machine: yield the label of each step that ran; retry blocked steps. */
function* drive<S extends { step: number }>(m: Machine, st: S, step: (m: Machine, st: S) => StepResult, labels: readonly string[]): Generator<string, void, void> {
  for (;;) {
    const label = labels[st.step] ?? `step ${st.step}`;
    const r = step(m, st);
    if (r === STEP_DONE) return;
    yield r === STEP_BLOCKED ? `${label} (blocked)` : label;
  }
}

/** `isolate_movable_ops_page(page, mode)`, one step per `next()`; returns true if isolated. */
export function* isolate_movable_ops_page_steps(m: Machine, page: Pfn, mode: IsolateMode): KernelSteps<boolean> {
  const st = new MovableOpsIsolation().reset(page, mode);
  st.canBlock = true;
  yield* drive(m, st, isolate_movable_ops_page_step, ISOLATE_MOVABLE_OPS_STEP_LABELS);
  return st.isolated;
}

/**
 * Isolate an LRU folio onto `list` the way `do_migrate_range` does (`isolate_folio_to_list` for an
 * LRU folio): a speculative `folio_try_get`, then `folio_isolate_lru` (test-and-clear PG_lru and unlink
 * under the lru lock, one step), then `list_add` and NR_ISOLATED_*, then the speculative reference is
 * dropped. Returns true if the folio is now on `list`.
 */
export function* isolate_lru_folio_steps(m: Machine, folio: Folio, list: ListHead): KernelSteps<boolean> {
  assertFolio(m, folio, 'isolate_lru_folio_steps');
  if (!folio_try_get(m, folio)) return false;
  yield 'folio_try_get';
  const ok = folio_isolate_lru(m, folio);
  yield 'folio_isolate_lru (lru_lock)';
  if (ok) {
    listAdd(m, list, folio);
    mod_isolated(m, folio, folio_nr_pages(m, folio));
    yield 'list_add, NR_ISOLATED_*';
  }
  folio_put(m, folio);
  return ok;
}

/**
 * Migrate one isolated folio that is on `from`: the unmap steps, then the move steps, retried up to
 * `nrPass` passes while the move returns `-EAGAIN` (a speculative reference), then undone as
 * `migrate_pages_batch` does (the folio moved to `ret`, the destination released). Returns 0 if the
 * folio was migrated (or freed under us), else the last error; a folio left on `from` (unmap
 * `-EAGAIN`) or moved to `ret` is the caller's to put back.
 */
export function* migrate_folio_steps<P>(
  m: Machine,
  src: Folio,
  from: ListHead,
  getNew: NewFolioCallback<P>,
  putNew: FreeFolioCallback<P> | null,
  priv: P,
  mode: MigrateMode,
  reason: MigrateReason,
  ret: ListHead,
  nrPass = 1,
): KernelSteps<number> {
  assertFolio(m, src, 'migrate_folio_steps');
  if (!(Number.isInteger(nrPass) && nrPass >= 1)) throw new MmError(EINVAL, `migrate_folio_steps: nrPass ${nrPass}`, { rule: 'at least one pass' });
  const st = new FolioMigration<P>();
  st.mode = mode;
  st.reason = reason;
  st.getNew = getNew;
  st.putNew = putNew;
  st.priv = priv;
  st.canBlock = true;
  st.resetUnmap(src, from, ret);
  yield* drive(m, st, migrate_folio_unmap_step, UNMAP_STEP_LABELS);
  if (st.rc !== MIGRATEPAGE_UNMAP) return st.rc;
  const dst = st.dst as Folio;
  for (let pass = 0; pass < nrPass; pass++) {
    st.resetMove(src, dst, from, ret, null, -1);
    st.canBlock = true;
    yield* drive(m, st, migrate_folio_move_step, MOVE_STEP_LABELS);
    if (st.rc !== -EAGAIN) return st.rc;
  }
  // Still -EAGAIN after the passes: the clean-up at `out:` of migrate_pages_batch.
  const state = m.memmap.private[dst]!;
  m.memmap.private[dst] = 0;
  migrate_folio_undo_src(m, src, state, true, from, ret);
  yield 'migrate_folio_undo_src';
  migrate_folio_undo_dst(m, dst, true, putNew, priv);
  return -EAGAIN;
}

/** `putback_movable_pages(list)`, one step per `next()` (validated first, like the ordinary call). */
export function* putback_movable_pages_steps(m: Machine, list: ListHead): KernelSteps<void> {
  assertPutbackList(m, list, 'putback_movable_pages_steps');
  const st = new FolioPutback();
  st.canBlock = true;
  while (!list.empty) {
    st.reset(list.first as Folio, list);
    yield* drive(m, st, putback_folio_step, PUTBACK_STEP_LABELS);
    yield 'putback_movable_pages: next entry';
  }
}

/**
 * The free path of `folio_put(folio)` in two steps: the atomic decrement (`folio_put_testzero`), then,
 * if it reached 0, `__folio_put` (the owner's `free`, or LRU removal, uncharge and the page
 * allocator). Returns true if the folio was freed. Validated as `folio_put` is.
 */
export function* folio_put_steps(m: Machine, folio: Folio): KernelSteps<boolean> {
  assertFolio(m, folio, 'folio_put_steps');
  assertReferenced(m, folio, 'folio_put_steps');
  const zero = --m.memmap.refcount[folio]! === 0;
  yield 'folio_put_testzero';
  if (!zero) return false;
  __folio_put(m, folio);
  if (m.debugVm) m.checkInvariants('folio_put_steps');
  return true;
}
