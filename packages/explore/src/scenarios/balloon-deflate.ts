import { balloon_devinfo_init, balloon_page_alloc, balloon_page_dequeue, balloon_page_enqueue, type BalloonDevInfo } from '@mm/balloon';
import { folio_put_steps, type Folio, type Machine, type Pfn } from '@mm/core';
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
 * Fix switch: `stickyPageTypes`.
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
        { name: 'compaction', start: (mm: Machine) => migrateOnePageSteps(mm, page, true) },
      ],
      check(mm: Machine, done: boolean) {
        if (mm.nrBadPages !== 0) mm.vmBug('explore: no bad page', `${mm.nrBadPages} bad page(s) freed`, page);
        if (done && b.isolated_pages !== 0) mm.vmBug('explore: balloon isolated_pages', `${b.isolated_pages} page(s) still isolated after every task finished`, page);
      },
      hashExtra: () => b.isolated_pages * 31 + b.pages.counts[0]!,
    };
  },
};
