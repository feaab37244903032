import { MmError } from '../debug/mm-error.js';
import { assertValidPfn } from '../debug/validate.js';
import { EBUSY, EINVAL } from '../errno.js';
import { folio_get_nontail_page, folio_put } from '../folio/folio-ref.js';
import { folio_lock, folio_trylock, folio_unlock } from '../folio/folio-lock.js';
import type { Machine } from '../machine/machine.js';
import { PG } from '../page/page-flags.js';
import { PGTY } from '../page/page-type.js';
import type { Folio, Pfn } from '../types.js';
import type { IsolateMode, MigrateMode } from './migrate-mode.js';
import { STEP_BLOCKED, STEP_CONTINUE, STEP_DONE, type StepResult } from './step-result.js';

/**
 * `struct movable_operations` (`include/linux/migrate.h`, v6.17): how the owner of a non-folio movable
 * page (balloon, zsmalloc) takes part in migration. `pageType` names the page type the table serves
 * (the core registers it with `set_movable_ops(ops, pageType)`).
 *
 * - `isolate_page(page, mode)`: the page is about to be migrated; return false if it cannot be
 *   (e.g. a balloon page that was already deflated). Called with the page locked.
 * - `migrate_page(dst, src, mode)`: move the contents and ownership from `src` to `dst`; return 0 on
 *   success, `-EAGAIN` for a temporary failure the core retries, any other `-errno` for a permanent
 *   one. On success the owner has taken a reference on `dst` and given up `src`.
 * - `putback_page(page)`: migration gave up; take the page back. Called with the page locked.
 */
export interface MovableOperations {
  /** The PGTY value this table serves (PGTY.offline, PGTY.zsmalloc, or an admitted experimental type). */
  readonly pageType: number;
  /** Prepare `page` for migration; false refuses. */
  isolate_page(page: Pfn, mode: IsolateMode): boolean;
  /** Migrate `src` to `dst`: 0 or a negative errno. */
  migrate_page(dst: Pfn, src: Pfn, mode: MigrateMode): number;
  /** Take back a page that will not be migrated. */
  putback_page(page: Pfn): void;
}

/** DI token for {@link MovableOperations} providers; the core registers each at boot. */
export const MovableOperations = Symbol('@mm/core:MovableOperations');

const MOVABLE_OPS = 1 << PG.movable_ops;
const ISOLATED = 1 << PG.movable_ops_isolated;
const TYPED_LIMIT = 0xff000000 | 0;

/** True if page type `type` may have movable_ops on this machine (offline, zsmalloc, admitted experimental types). */
export function movable_ops_type_allowed(m: Machine, type: number): boolean {
  return type === PGTY.offline || type === PGTY.zsmalloc || m.experimentalMovableOpsTypes.includes(type);
}

/**
 * `set_movable_ops(ops, type)` (`mm/migrate.c`, v6.17 fix for `CONFIG_ZSMALLOC=m`): register the
 * table for page type `type`, or unregister with `null`. `EBUSY` if one is registered already,
 * `EINVAL` for a type that cannot have movable_ops (only PGTY_offline and PGTY_zsmalloc upstream; the
 * machine option `experimentalMovableOpsTypes` admits plugin-defined types — a divergence).
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import {
 *   EBUSY, GFP_KERNEL, ISOLATE, MmError, PGTY, __SetPageZsmalloc, SetPageMovableOps, alloc_pages, createMachine,
 *   isolate_movable_ops_page, putback_movable_ops_page, set_movable_ops, type MovableOperations,
 * } from '@mm/core';
 *
 * // A machine without @mm/zsmalloc: this table stands in for zsmalloc_mops.
 * const log: string[] = [];
 * const mops: MovableOperations = {
 *   pageType: PGTY.zsmalloc,
 *   isolate_page: (page) => (log.push(`isolate ${page}`), true),
 *   migrate_page: () => -EBUSY,
 *   putback_page: (page) => void log.push(`putback ${page}`),
 * };
 * const m = createMachine({ memory: '64M' });
 * set_movable_ops(m, mops, PGTY.zsmalloc);
 * try {
 *   set_movable_ops(m, mops, PGTY.zsmalloc); // one table per page type
 * } catch (e) {
 *   console.log((e as MmError).errno === EBUSY); // true
 * }
 * const page = alloc_pages(m, GFP_KERNEL, 0);
 * if (page === -1) throw new Error('out of memory');
 * __SetPageZsmalloc(m, page); // the owner types its page, then marks it movable
 * SetPageMovableOps(m, page);
 * console.log(isolate_movable_ops_page(m, page, ISOLATE.ISOLATE_ASYNC_MIGRATE)); // true: the core found mops by the page type
 * putback_movable_ops_page(m, page);
 * console.log(log); // [ 'isolate 4096', 'putback 4096' ]
 * ```
 */
export function set_movable_ops(m: Machine, ops: MovableOperations | null, type: number): void {
  if (!movable_ops_type_allowed(m, type)) {
    throw new MmError(EINVAL, `set_movable_ops: page type 0x${type.toString(16)} cannot have movable_ops`, {
      rule: 'movable_ops only for PGTY_offline and PGTY_zsmalloc',
    });
  }
  if (ops !== null && m.movableOps[type] != null) {
    throw new MmError(EBUSY, `set_movable_ops: page type 0x${type.toString(16)} already has movable_ops`, { rule: 'one table per page type' });
  }
  m.movableOps[type] = ops;
}

/**
 * `page_movable_ops(page)` (`mm/migrate.c`): the table registered for the page's type, or null.
 */
export function page_movable_ops(m: Machine, page: Pfn): MovableOperations | null {
  const v = m.memmap.mapcount[page]!;
  if (!(v < TYPED_LIMIT)) return null;
  return m.movableOps[v >>> 24] ?? null;
}

/** `PageMovableOps(page)`: PG_movable_ops (alias of PG_uptodate) on a head/small page. */
export function PageMovableOps(m: Machine, page: Pfn): boolean {
  return (m.memmap.flags[page]! & MOVABLE_OPS) !== 0;
}

/**
 * `SetPageMovableOps(page)`: mark a typed page as having movable_ops. There is no clear operation
 * (series 2): the flag dies when the free path wipes the flags. `MmError(EINVAL)` unless the page's
 * type may have movable_ops (§13 §1.4).
 */
export function SetPageMovableOps(m: Machine, page: Pfn): void {
  assertValidPfn(m, page, 'SetPageMovableOps');
  const v = m.memmap.mapcount[page]!;
  if (!(v < TYPED_LIMIT) || !movable_ops_type_allowed(m, v >>> 24)) {
    throw new MmError(EINVAL, 'SetPageMovableOps on a page whose type cannot have movable_ops', {
      pfn: page,
      rule: '§1.4 PG_movable_ops only on offline/zsmalloc pages',
    });
  }
  m.memmap.flags[page]! |= MOVABLE_OPS;
}

/** `PageMovableOpsIsolated(page)`: PG_movable_ops_isolated (alias of PG_reclaim), owned by the migration core. */
export function PageMovableOpsIsolated(m: Machine, page: Pfn): boolean {
  return (m.memmap.flags[page]! & ISOLATED) !== 0;
}

/**
 * `page_has_movable_ops(page)` (`include/linux/page-flags.h`, renamed from `__PageMovable` in v6.17):
 * PageMovableOps and a type that can have them (PageOffline or PageZsmalloc, or an admitted
 * experimental type).
 */
export function page_has_movable_ops(m: Machine, page: Pfn): boolean {
  if ((m.memmap.flags[page]! & MOVABLE_OPS) === 0) return false;
  const v = m.memmap.mapcount[page]!;
  return v < TYPED_LIMIT && movable_ops_type_allowed(m, v >>> 24);
}

/** The state of one `isolate_movable_ops_page` call, for the step machine. */
export class MovableOpsIsolation {
  /** The page. */
  page = -1 as Pfn;
  /** `isolate_mode_t`. */
  mode: IsolateMode = 0;
  /** The folio we hold a reference on (`folio_get_nontail_page`), or null. */
  folio: Folio | null = null;
  /** Current step. */
  step = 0;
  /** The result once done. */
  isolated = false;
  /** True if the run may wait (never: isolation only trylocks). */
  canBlock = false;

  /** Prepare for isolating `page`. */
  reset(page: Pfn, mode: IsolateMode): this {
    this.page = page;
    this.mode = mode;
    this.folio = null;
    this.step = I_GET;
    this.isolated = false;
    return this;
  }
}

const I_GET = 0;
const I_CHECK = 1;
const I_TRYLOCK = 2;
const I_ISOLATE = 3;
const I_UNLOCK_FAIL = 4;
const I_PUT_FAIL = 5;

/** Labels of the `isolate_movable_ops_page` steps, as the stepped API yields them. */
export const ISOLATE_MOVABLE_OPS_STEP_LABELS: readonly string[] = [
  'isolate_movable_ops_page: folio_get_nontail_page',
  'isolate_movable_ops_page: page_has_movable_ops?',
  'isolate_movable_ops_page: folio_trylock',
  'isolate_movable_ops_page: mops->isolate_page, SetPageMovableOpsIsolated, folio_unlock',
  'isolate_movable_ops_page: folio_unlock (failed)',
  'isolate_movable_ops_page: folio_put (failed)',
];

/**
 * One step of `isolate_movable_ops_page(page, mode)` (`mm/migrate.c`, v6.17), with the kernel's
 * steps and exits: (1) a speculative reference, failing if the page is being freed; (2)
 * `page_has_movable_ops`, checked before locking (owners set flags non-atomically on fresh pages, and
 * the sticky page type keeps it true until the page is freed); (3) `folio_trylock`; (4) already
 * isolated → fail; the table for its type (missing → fail); the owner's `isolate_page`; set
 * PG_movable_ops_isolated, unlock, keep the reference. Failures unlock and drop the reference, which
 * may free the page.
 */
export function isolate_movable_ops_page_step(m: Machine, st: MovableOpsIsolation): StepResult {
  switch (st.step) {
    case I_GET: {
      st.folio = folio_get_nontail_page(m, st.page);
      if (st.folio === null) return STEP_DONE;
      st.step = I_CHECK;
      return STEP_CONTINUE;
    }
    case I_CHECK:
      st.step = page_has_movable_ops(m, st.page) ? I_TRYLOCK : I_PUT_FAIL;
      return STEP_CONTINUE;
    case I_TRYLOCK:
      st.step = folio_trylock(m, st.folio!) ? I_ISOLATE : I_PUT_FAIL;
      return STEP_CONTINUE;
    case I_ISOLATE: {
      const mops = PageMovableOpsIsolated(m, st.page) ? null : page_movable_ops(m, st.page);
      if (mops === null || !mops.isolate_page(st.page, st.mode)) {
        st.step = I_UNLOCK_FAIL;
        return STEP_CONTINUE;
      }
      m.memmap.flags[st.page]! |= ISOLATED;
      folio_unlock(m, st.folio!);
      st.isolated = true;
      return STEP_DONE;
    }
    case I_UNLOCK_FAIL:
      folio_unlock(m, st.folio!);
      st.step = I_PUT_FAIL;
      return STEP_CONTINUE;
    case I_PUT_FAIL:
      folio_put(m, st.folio!);
      st.folio = null;
      return STEP_DONE;
  }
  throw new Error(`isolate_movable_ops_page: bad step ${st.step}`);
}

/**
 * `isolate_movable_ops_page(page, mode)` (`mm/migrate.c`, v6.17): isolate a movable_ops page for
 * migration (see {@link isolate_movable_ops_page_step} for the steps). Returns true if the page is now
 * isolated: PG_movable_ops_isolated set and one extra reference held for the isolator.
 */
export function isolate_movable_ops_page(m: Machine, page: Pfn, mode: IsolateMode): boolean {
  assertValidPfn(m, page, 'isolate_movable_ops_page');
  const st = new MovableOpsIsolation().reset(page, mode);
  while (isolate_movable_ops_page_step(m, st) !== STEP_DONE);
  if (m.debugVm) m.checkInvariants('isolate_movable_ops_page');
  return st.isolated;
}

/** Throw `MmError(EINVAL)` unless `page` is a movable_ops page isolated by `isolate_movable_ops_page` (with a registered table). */
export function assertIsolated(m: Machine, page: Pfn, fn: string): void {
  assertValidPfn(m, page, fn);
  if (!page_has_movable_ops(m, page) || !PageMovableOpsIsolated(m, page) || page_movable_ops(m, page) === null) {
    throw new MmError(EINVAL, `${fn}: page is not an isolated movable_ops page`, {
      pfn: page,
      rule: '§9.1 only pages isolated by isolate_movable_ops_page',
    });
  }
}

const P_LOCK = 0;
const P_PUTBACK = 1;
const P_PUT = 2;

/** Labels of the `putback_movable_ops_page` steps, as the stepped API yields them. */
export const PUTBACK_MOVABLE_OPS_STEP_LABELS: readonly string[] = [
  'putback_movable_ops_page: folio_lock',
  'putback_movable_ops_page: mops->putback_page, ClearPageMovableOpsIsolated, folio_unlock',
  'putback_movable_ops_page: folio_put',
];

/** The state of one `putback_movable_ops_page` call, for the step machine. */
export class MovableOpsPutback {
  /** The page. */
  page = -1 as Pfn;
  /** Current step. */
  step = 0;
  /** True if the run may wait for the page lock (stepped runs). */
  canBlock = false;

  /** Prepare for putting back `page`. */
  reset(page: Pfn): this {
    this.page = page;
    this.step = P_LOCK;
    return this;
  }
}

/**
 * One step of `putback_movable_ops_page(page)`: lock, the owner's `putback_page`, clear
 * PG_movable_ops_isolated, unlock, and drop the isolation reference (the page may be freed now). The
 * lock is `folio_lock`: a run that cannot block finds it held only if someone else holds it forever,
 * and then throws (`folio_lock` of the model); a stepped run waits (STEP_BLOCKED).
 */
export function putback_movable_ops_page_step(m: Machine, st: MovableOpsPutback): StepResult {
  const folio = st.page as Folio;
  switch (st.step) {
    case P_LOCK:
      if (st.canBlock) {
        if (!folio_trylock(m, folio)) return STEP_BLOCKED;
      } else folio_lock(m, folio);
      st.step = P_PUTBACK;
      return STEP_CONTINUE;
    case P_PUTBACK:
      page_movable_ops(m, st.page)!.putback_page(st.page);
      m.memmap.flags[st.page]! &= ~ISOLATED;
      folio_unlock(m, folio);
      st.step = P_PUT;
      return STEP_CONTINUE;
    case P_PUT:
      folio_put(m, folio);
      return STEP_DONE;
  }
  throw new Error(`putback_movable_ops_page: bad step ${st.step}`);
}

/**
 * `putback_movable_ops_page(page)` (`mm/migrate.c`, static in v6.17): give an isolated page back to
 * its owner (see {@link putback_movable_ops_page_step}). `MmError(EINVAL)` if the page is not an
 * isolated movable_ops page; nothing changes then.
 */
export function putback_movable_ops_page(m: Machine, page: Pfn): void {
  assertIsolated(m, page, 'putback_movable_ops_page');
  const st = new MovableOpsPutback().reset(page);
  while (putback_movable_ops_page_step(m, st) !== STEP_DONE);
}

/**
 * `migrate_movable_ops_page(dst, src, mode)` (`mm/migrate.c`, factored out in series 2): ask the
 * owner to migrate `src` to `dst`; on success clear `src`'s isolated flag. On failure `src` stays
 * isolated for a retry or a putback. Returns 0 or a negative errno. `MmError(EINVAL)` if `src` is not
 * isolated.
 */
export function migrate_movable_ops_page(m: Machine, dst: Pfn, src: Pfn, mode: MigrateMode): number {
  assertIsolated(m, src, 'migrate_movable_ops_page');
  assertValidPfn(m, dst, 'migrate_movable_ops_page');
  const rc = page_movable_ops(m, src)!.migrate_page(dst, src, mode);
  if (rc === 0) m.memmap.flags[src]! &= ~ISOLATED;
  return rc;
}
