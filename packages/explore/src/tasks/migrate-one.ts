import {
  GFP_HIGHUSER_MOVABLE,
  ListHead,
  MIGRATE_MODE,
  MR,
  folio_alloc,
  folio_order,
  isolate_lru_folio_steps,
  isolate_movable_ops_page_steps,
  listAdd,
  migrate_folio_steps,
  putback_movable_pages_steps,
  type Folio,
  type Machine,
  type MigrateMode,
  type MigrateReason,
  type Pfn,
} from '@mm/core';
import type { TaskSteps } from './task.js';

/**
 * Migrating one page the way compaction and offlining do, as a task: isolate it (through its
 * movable_ops if it has them — `isolate_movable_ops_page` — else from the LRU), migrate it to a
 * newly allocated folio (`migrate_folio_steps`: unmap, freeze, move, remap; up to `nrPass` passes
 * while a speculative reference makes the refcount check fail), and put back what did not migrate.
 * Returns 0 if the page migrated (or was freed under us), else the error, -1 if it could not be isolated.
 */
export function* migrateOnePageSteps(
  m: Machine,
  pfn: Pfn,
  movableOps: boolean,
  mode: MigrateMode = MIGRATE_MODE.MIGRATE_ASYNC,
  reason: MigrateReason = MR.MR_COMPACTION,
  nrPass = 1,
): TaskSteps {
  const from = new ListHead();
  const ret = new ListHead();
  if (movableOps) {
    if (!(yield* isolate_movable_ops_page_steps(m, pfn, 0))) return -1;
    listAdd(m, from, pfn as Folio);
    yield 'list_add(isolated page)';
  } else if (!(yield* isolate_lru_folio_steps(m, pfn as Folio, from))) return -1;
  const alloc = (src: Folio): Folio | -1 => folio_alloc(m, GFP_HIGHUSER_MOVABLE, folio_order(m, src)) as Folio | -1;
  const rc = yield* migrate_folio_steps(m, pfn as Folio, from, alloc, null, undefined, mode, reason, ret, nrPass);
  if (!from.empty) yield* putback_movable_pages_steps(m, from);
  if (!ret.empty) yield* putback_movable_pages_steps(m, ret);
  return rc;
}
