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

/**
 * `isolate_movable_ops_page(page, mode)` (`mm/migrate.c`, v6.17): isolate a movable_ops page for
 * migration. Steps and exits as in the kernel: (1) a speculative reference, failing if the page is
 * being freed; (2) `page_has_movable_ops`, checked before locking; (3) `folio_trylock`; (4) already
 * isolated → fail; (5) the table for its type (missing → fail); (6) the owner's `isolate_page`;
 * (7) set PG_movable_ops_isolated, unlock, keep the reference. Every failure unlocks and drops the
 * reference, which may free the page. Returns true if the page is now isolated.
 */
export function isolate_movable_ops_page(m: Machine, page: Pfn, mode: IsolateMode): boolean {
  assertValidPfn(m, page, 'isolate_movable_ops_page');
  const folio = folio_get_nontail_page(m, page);
  if (folio === null) return false;
  if (!page_has_movable_ops(m, page)) return putAndFail(m, folio, false);
  if (!folio_trylock(m, folio)) return putAndFail(m, folio, false);
  if (PageMovableOpsIsolated(m, page)) return putAndFail(m, folio, true);
  const mops = page_movable_ops(m, page);
  if (mops === null || !mops.isolate_page(page, mode)) return putAndFail(m, folio, true);
  m.memmap.flags[page]! |= ISOLATED;
  folio_unlock(m, folio);
  if (m.debugVm) m.checkInvariants('isolate_movable_ops_page');
  return true;
}

function putAndFail(m: Machine, folio: Folio, locked: boolean): false {
  if (locked) folio_unlock(m, folio);
  folio_put(m, folio);
  return false;
}

function assertIsolated(m: Machine, page: Pfn, fn: string): void {
  assertValidPfn(m, page, fn);
  if (!page_has_movable_ops(m, page) || !PageMovableOpsIsolated(m, page) || page_movable_ops(m, page) === null) {
    throw new MmError(EINVAL, `${fn}: page is not an isolated movable_ops page`, {
      pfn: page,
      rule: '§9.1 only pages isolated by isolate_movable_ops_page',
    });
  }
}

/**
 * `putback_movable_ops_page(page)` (`mm/migrate.c`, static in v6.17): give an isolated page back to
 * its owner: lock, the owner's `putback_page`, clear PG_movable_ops_isolated, unlock, and drop the
 * isolation reference (the page may be freed now). `MmError(EINVAL)` if the page is not isolated.
 */
export function putback_movable_ops_page(m: Machine, page: Pfn): void {
  assertIsolated(m, page, 'putback_movable_ops_page');
  const folio = page as Folio;
  folio_lock(m, folio);
  page_movable_ops(m, page)!.putback_page(page);
  m.memmap.flags[page]! &= ~ISOLATED;
  folio_unlock(m, folio);
  folio_put(m, folio);
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
