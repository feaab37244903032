import { MmError } from '../debug/mm-error.js';
import { assertFolio } from '../debug/validate.js';
import { EINVAL } from '../errno.js';
import { folio_put } from '../folio/folio-ref.js';
import { folio_add_lru, folio_isolate_lru } from '../folio/lru.js';
import type { Machine } from '../machine/machine.js';
import { folio_nr_pages } from '../page/compound.js';
import { PG } from '../page/page-flags.js';
import { folio_test_hugetlb } from '../page/page-helpers.js';
import { NR_NODE } from '../trace/vmstat.js';
import type { Folio, Pfn } from '../types.js';
import { ListHead, listAdd, listAddTail, listDel, listNext } from './list-head.js';
import { folio_is_file_lru } from './migrate-folio-steps.js';
import { ISOLATE } from './migrate-mode.js';
import {
  MovableOpsPutback,
  PageMovableOpsIsolated,
  isolate_movable_ops_page,
  page_has_movable_ops,
  putback_movable_ops_page_step,
} from './movable-ops.js';
import { STEP_CONTINUE, STEP_DONE, type StepResult } from './step-result.js';

/**
 * Isolating folios onto, and putting them back from, migration lists (`mm/migrate.c`:
 * `isolate_folio_to_list`, `putback_movable_pages`).
 *
 * @module
 */

/** `node_stat_mod_folio(folio, NR_ISOLATED_ANON + folio_is_file_lru(folio), delta)`. */
export function mod_isolated(m: Machine, folio: Folio, delta: number): void {
  m.nodes[m.memmap.flags[folio]! >>> 27]!.vmstat[folio_is_file_lru(m, folio) ? NR_NODE.nr_isolated_file : NR_NODE.nr_isolated_anon]! += delta;
}

/**
 * `isolate_folio_to_list(folio, list)` (memory hotplug, memory failure): isolate a folio the caller
 * holds a reference on — hugetlb through `folio_isolate_hugetlb`, a movable_ops page through
 * `isolate_movable_ops_page(…, ISOLATE_UNEVICTABLE)`, anything else from the LRU with NR_ISOLATED_* —
 * and add it to `list` (at the front; a hugetlb folio, as `folio_isolate_hugetlb` does, at the end). True on success.
 */
export function isolate_folio_to_list(m: Machine, folio: Folio, list: ListHead): boolean {
  assertFolio(m, folio, 'isolate_folio_to_list');
  if (folio_test_hugetlb(m, folio)) {
    const iso = m.hooks.folio_isolate_hugetlb;
    if (!iso || !iso(folio)) return false;
    listAddTail(m, list, folio); // folio_isolate_hugetlb() does list_move_tail()
    return true;
  }
  const lru = !page_has_movable_ops(m, folio);
  const isolated = lru ? folio_isolate_lru(m, folio) : isolate_movable_ops_page(m, folio as Pfn, ISOLATE.ISOLATE_UNEVICTABLE);
  if (!isolated) return false;
  listAdd(m, list, folio);
  if (lru) mod_isolated(m, folio, folio_nr_pages(m, folio));
  return true;
}

const B_START = 0;
const B_ADD_LRU = 1;
const B_PUT = 2;
const B_MOVABLE = 3;

/** Labels of the putback steps of one folio, as the stepped API yields them. */
export const PUTBACK_STEP_LABELS: readonly string[] = [
  'putback_movable_pages: list_del, NR_ISOLATED_*',
  'folio_putback_lru: folio_add_lru',
  'folio_putback_lru: folio_put',
  'putback_movable_ops_page',
];

/** The state of putting one entry of a migration list back, for the step machine. */
export class FolioPutback {
  /** The folio. */
  folio = -1 as Folio;
  /** The list it is on. */
  list: ListHead | null = null;
  /** Current step. */
  step = B_START;
  /** True if the run may wait for a lock (stepped runs). */
  canBlock = false;
  /** The movable_ops part, when the entry is a movable_ops page. */
  readonly movable = new MovableOpsPutback();

  /** Prepare for putting back `folio` from `list`. */
  reset(folio: Folio, list: ListHead): this {
    this.folio = folio;
    this.list = list;
    this.step = B_START;
    return this;
  }
}

/**
 * One step of putting back one entry of a migration list (the loop body of `putback_movable_pages`):
 * a hugetlb folio goes back through `folio_putback_hugetlb`; otherwise the entry leaves the list, and
 * a movable_ops page goes through `putback_movable_ops_page`, an LRU folio gives back NR_ISOLATED_*
 * and goes through `folio_putback_lru` (`folio_add_lru`, then `folio_put` of the isolation reference,
 * which may free it).
 */
export function putback_folio_step(m: Machine, st: FolioPutback): StepResult {
  const folio = st.folio;
  switch (st.step) {
    case B_START:
      listDel(m, st.list!, folio);
      if (folio_test_hugetlb(m, folio)) {
        m.hooks.folio_putback_hugetlb!(folio);
        return STEP_DONE;
      }
      if (page_has_movable_ops(m, folio)) {
        st.movable.reset(folio);
        st.movable.canBlock = st.canBlock;
        st.step = B_MOVABLE;
        return STEP_CONTINUE;
      }
      mod_isolated(m, folio, -folio_nr_pages(m, folio));
      st.step = B_ADD_LRU;
      return STEP_CONTINUE;
    case B_ADD_LRU:
      folio_add_lru(m, folio);
      st.step = B_PUT;
      return STEP_CONTINUE;
    case B_PUT:
      folio_put(m, folio);
      return STEP_DONE;
    case B_MOVABLE:
      return putback_movable_ops_page_step(m, st.movable);
  }
  throw new Error(`putback_movable_pages: bad step ${st.step}`);
}

/**
 * Check a list before putting it back: every entry is isolated (see `migrate_pages`). `MmError(EINVAL)`
 * names the first entry that is not, before anything changes.
 */
export function assertPutbackList(m: Machine, list: ListHead, fn: string): void {
  let n = 0;
  for (let f = list.first; f >= 0; f = listNext(m, f)) {
    if (++n > list.length) throw new MmError(EINVAL, `${fn}: the list is corrupted (loops)`, { pfn: f, rule: 'a list_head is a simple cycle' });
    assertFolio(m, f, fn);
    let why: string | null = null;
    if (m.memmap.refcount[f]! <= 0) why = 'entry has no reference (free or frozen)';
    else if (folio_test_hugetlb(m, f as Folio)) {
      if (!m.hooks.folio_putback_hugetlb) why = 'hugetlb folio but no hugetlb support is installed';
    } else if (page_has_movable_ops(m, f as Folio)) {
      if (!PageMovableOpsIsolated(m, f as Folio)) why = 'movable_ops page that is not isolated';
    } else if ((m.memmap.flags[f]! & (1 << PG.lru)) !== 0) why = 'folio is on the LRU: it is not isolated';
    if (why !== null) throw new MmError(EINVAL, `${fn}: ${why}`, { pfn: f, rule: '§9.2 only isolated folios are put back' });
  }
}

/**
 * `putback_movable_pages(list)` (`mm/migrate.c`): put every entry of a migration list back where it
 * was isolated from (see {@link putback_folio_step}); the list ends up empty. Bad input
 * (`MmError(EINVAL)`, nothing changed): an entry that is not isolated.
 */
export function putback_movable_pages(m: Machine, list: ListHead): void {
  assertPutbackList(m, list, 'putback_movable_pages');
  const run = (): void => {
    const st = new FolioPutback();
    while (!list.empty) {
      st.reset(list.first as Folio, list);
      while (putback_folio_step(m, st) !== STEP_DONE);
    }
  };
  if (m.debugVm) m.withChecksDeferred('putback_movable_pages', run);
  else run();
}
