import { balloon_devinfo_init, balloon_page_alloc, balloon_page_dequeue, balloon_page_enqueue, type BalloonDevInfo } from '@mm/balloon';
import {
  ISOLATE_MOVABLE_OPS_STEP_LABELS,
  MOVE_STEP_LABELS,
  PG,
  folio_put_steps,
  mod_isolated,
  page_has_movable_ops,
  type Folio,
  type Machine,
  type Pfn,
} from '@mm/core';
import { migrateOnePageSteps } from '../tasks/migrate-one.js';
import type { TaskSteps } from '../tasks/task.js';
import type { Scenario, ScenarioParams } from './scenario.js';

/**
 * (a) Compaction isolates a balloon page while the balloon deflates and the driver frees it
 * (`mm/balloon.c`, `mm/migrate.c`; series 2 made PageOffline sticky until the page is freed so that
 * `page_has_movable_ops()` stays true on the way to the allocator). One inflated page; task
 * `deflate` runs `balloon_page_dequeue` (one section under `pages_lock`) then the driver's
 * `put_page` (decrement, then the free); task `compaction` isolates the page through
 * `isolate_movable_ops_page`, migrates it with `balloon_mops` (the driver accepts), and puts back
 * what failed. Scenario rule at the end: no isolated page left, no bad page.
 *
 * Fix switch: `stickyPageTypes`. What the stickiness protects (series 2, `mm/migrate.c` of v6.17
 * against v6.16): before the series, the migration core recognised a movable_ops page by
 * `__folio_test_movable()` — the PAGE_MAPPING_MOVABLE bit of `page->mapping`, which
 * `__ClearPageMovable()` deliberately left set when the owner let go of the page, so the bit stayed
 * until the page was freed. Patch "mm/migrate: remove folio_test_movable() and folio_movable_ops()"
 * replaced those tests by `page_has_movable_ops()`, which tests the page type; patches 4–6 made the
 * type sticky until the page is freed so that the answer cannot change while the page races towards
 * the allocator. Without stickiness the balloon clears PageOffline (and PG_movable_ops) in
 * `balloon_page_finalize()`, and two questions the v6.17 core asks again get the wrong answer:
 * - `migrate_folio_done(src)` after a successful `balloon_page_migrate()` (which finalized `src` and
 *   dropped the balloon's reference): `page_has_movable_ops(src)` is false, so the page is taken for an
 *   LRU folio and NR_ISOLATED_FILE (a balloon page is not swap-backed) is decremented although it was
 *   never incremented — it goes to -1;
 * - `isolate_movable_ops_page()` under the page lock: `VM_WARN_ON_ONCE_PAGE(!page_has_movable_ops(page))`
 *   ("once a page has movable_ops, it will stay that way until the page was freed") fires when the
 *   deflate ran between the lockless check and the trylock.
 * The core's own `migrate_folio_done` uses what the unmap step saw instead (a documented model choice
 * that keeps `stickyPageTypes: false` machines consistent), so the compaction task here runs the v6.17
 * decisions itself at those two points (`kernelTypeChecks`): the accounting of
 * `migrate_folio_done` (applied with `mod_isolated`, so the core's §9 NR_ISOLATED check reports the
 * negative counter) and the VM_WARN (reported as a violation). With sticky types both questions get
 * the answer the isolation got, and nothing changes.
 */
export const balloonDeflateScenario: Scenario = {
  name: 'balloon-deflate',
  description: 'compaction isolating a balloon page while the balloon deflates and frees it',
  plugins: ['balloon'],
  fixSwitch: 'stickyPageTypes',
  variants: [],
  machine: (p: ScenarioParams) => ({ memory: '8M', cpus: 4, strategy: p.strategy ?? 'owner-ops', stickyPageTypes: p.fix !== false }),
  setup(m: Machine) {
    const b: BalloonDevInfo = balloon_devinfo_init(m, { name: 'explore', migratepage: () => 0 });
    const page = balloon_page_alloc(m) as Pfn;
    balloon_page_enqueue(m, b, page);
    return {
      summary: { page },
      walkerTargets: [page],
      tasks: [
        {
          name: 'deflate',
          *start(mm: Machine): TaskSteps {
            const p = balloon_page_dequeue(mm, b);
            yield 'balloon_page_dequeue';
            if (p < 0) return -1;
            return yield* folio_put_steps(mm, p as Pfn as Folio);
          },
        },
        { name: 'compaction', start: (mm: Machine) => kernelTypeChecks(mm, page, migrateOnePageSteps(mm, page, true)) },
      ],
      check(mm: Machine, done: boolean) {
        if (mm.nrBadPages !== 0) mm.vmBug('explore: no bad page', `${mm.nrBadPages} bad page(s) freed`, page);
        if (done && b.isolated_pages !== 0) mm.vmBug('explore: balloon isolated_pages', `${b.isolated_pages} page(s) still isolated after every task finished`, page);
      },
      // Nothing of its own to reset: the device is balloon state (checkpointed in place).
      restart: () => undefined,
      hashExtra: () => b.isolated_pages * 31 + b.pages.counts[0]!,
    };
  },
};

const TRYLOCK_LABEL = ISOLATE_MOVABLE_OPS_STEP_LABELS[2]!;
const UNLOCK_SRC_LABEL = MOVE_STEP_LABELS[6]!;

/**
 * Run `steps` (compaction migrating the movable_ops page `page`) and, at the two points where the
 * v6.17 migration core asks `page_has_movable_ops(page)` again, do what that kernel does with the
 * answer (see {@link balloonDeflateScenario}): right after a successful `folio_trylock` in
 * `isolate_movable_ops_page`, `VM_WARN_ON_ONCE_PAGE(!page_has_movable_ops(page))`; in the step after
 * `folio_unlock(src)` of `migrate_folio_move` — `migrate_folio_done(src)` — decrement NR_ISOLATED_* if
 * the page no longer looks like a movable_ops page (the page was isolated as one, so nothing was
 * counted). Each check runs in the same scheduler step as the kernel code it belongs to.
 */
function* kernelTypeChecks(m: Machine, page: Pfn, steps: TaskSteps): TaskSteps {
  let last = '';
  for (;;) {
    if (last === TRYLOCK_LABEL && (m.memmap.flags[page]! & (1 << PG.locked)) !== 0 && !page_has_movable_ops(m, page)) {
      m.vmBug('VM_WARN_ON_ONCE_PAGE(!page_has_movable_ops)', 'isolate_movable_ops_page: the page lost its movable_ops between the lockless check and the page lock', page);
    }
    if (last === UNLOCK_SRC_LABEL && !page_has_movable_ops(m, page)) mod_isolated(m, page as Folio, -1);
    const r = steps.next();
    if (r.done) return r.value;
    last = r.value;
    yield last;
  }
}
