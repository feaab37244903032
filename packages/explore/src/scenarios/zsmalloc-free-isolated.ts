import { PGTY, PageMovableOpsIsolated, NR_ZONE, type Machine, type Pfn } from '@mm/core';
import { async_free_zspage, get_next_zpdesc, get_zspage, obj_to_pfn, zs_create_pool, zs_free, zs_malloc, zsmallocState, type ZsPool } from '@mm/zsmalloc';
import { migrateOnePageSteps } from '../tasks/migrate-one.js';
import { wholePutWalkers } from '../tasks/rcu-walker-whole-put.js';
import type { TaskSteps } from '../tasks/task.js';
import { checkNothingLeaked, freePageCount, guardMovableOps } from './scenario-checks.js';
import type { Scenario, ScenarioParams } from './scenario.js';

/**
 * (b) zsmalloc frees a zspage while one of its pages is isolated for migration (`mm/zsmalloc.c`,
 * `mm/migrate.c`). One object of 200 bytes (class 208: a zspage of several pages); task `free` runs
 * `zs_free` of that last object — one step under the class lock: `obj_free`, the zspage is empty,
 * `free_zspage` trylocks every page (`trylock_zspage`) and, if that works, `__free_zspage` resets each
 * page (`reset_zpdesc`: `zspage` NULL), unlocks it, takes it out of NR_ZSPAGES and drops zsmalloc's
 * reference; if a page lock is held the zspage stays on the 0% list and the deferred-free work
 * (`async_free_zspage`, a kworker) frees it later, sleeping on each page lock (`lock_zspage`: the step
 * blocks while one is held). Task `compaction` isolates the zspage's second page
 * (`isolate_movable_ops_page` → `zs_page_isolate`, refused once `zpdesc->zspage` is NULL), migrates it
 * (`zs_page_migrate`: if the zspage is already gone, succeed without doing anything — the kernel's
 * "TODO: nothing prevents a zspage from getting destroyed while it is isolated" — else zspage write
 * trylock, copy, rewrite the chain) and puts back what failed.
 *
 * What the kernel guarantees: the page lock, held by isolation and by the migration of the page, keeps
 * `free_zspage` away (its trylock fails, the free is deferred); between the two, the zspage may be freed,
 * and then PageZsmalloc — sticky until the page reaches the allocator (series 2) — still routes the
 * isolated page to `zsmalloc_mops`, which sees `zspage == NULL` and lets the core drop the last
 * reference. Scenario rules: the movable_ops are never called on a freed page (the table is wrapped by
 * {@link guardMovableOps}); at the end no page is left isolated, the pool has no pages and no pending
 * work, NR_ZSPAGES and NR_ISOLATED_* are 0, no bad page, and the allocator has exactly the free pages
 * it had before `zs_malloc` (nothing leaked or freed twice). Injected RCU walkers (`params.walkers`)
 * take speculative references on the isolated page and drop them in one step (`rcuWalkerWholePutTask`).
 *
 * Fix switch: `stickyPageTypes`. Off, `reset_zpdesc` clears PageZsmalloc itself (as before v6.17,
 * where `__ClearPageMovable` kept PAGE_MAPPING_MOVABLE for the core to test; series 2's core tests
 * the type instead): when the zspage is freed after the isolation, `migrate_folio_unmap` finds a page
 * without movable_ops at refcount 1 — an LRU folio "freed from under us" — and `migrate_folio_done`
 * gives back NR_ISOLATED_FILE it never took (-1), leaving PG_movable_ops_isolated on a page it frees.
 */
export const zsmallocFreeIsolatedScenario: Scenario = {
  name: 'zsmalloc-free-isolated',
  description: 'zsmalloc freeing a zspage while one of its pages is isolated for migration',
  plugins: ['zsmalloc'],
  fixSwitch: 'stickyPageTypes',
  variants: [],
  machine: (p: ScenarioParams) => ({ memory: '8M', cpus: 4, strategy: p.strategy ?? 'owner-ops', stickyPageTypes: p.fix !== false }),
  setup(m: Machine, p: ScenarioParams) {
    const freeBefore = freePageCount(m);
    const pool: ZsPool = zs_create_pool(m, 'explore');
    const handle = zs_malloc(m, pool, 200);
    const st = zsmallocState(m);
    const first = obj_to_pfn(st.handles.obj[handle >>> 2]!);
    const pages: Pfn[] = [];
    for (let pfn = st.zspages.first[get_zspage(m, first)]!; pfn >= 0; pfn = get_next_zpdesc(st, pfn)) pages.push(pfn as Pfn);
    const page = pages[1]!;
    guardMovableOps(m, PGTY.zsmalloc);
    return {
      summary: { handle, pages },
      walkerTargets: [], // its own walkers: see rcuWalkerWholePutTask
      tasks: [
        {
          name: 'free',
          *start(mm: Machine): TaskSteps {
            zs_free(mm, pool, handle);
            yield 'zs_free (class->lock): obj_free, free_zspage';
            while (pool.free_work_pending) {
              const freed = async_free_zspage(mm, pool);
              yield freed === 0 && pool.free_work_pending ? 'async_free_zspage: lock_zspage (blocked)' : 'async_free_zspage';
            }
            return 0;
          },
        },
        { name: 'compaction', start: (mm: Machine) => migrateOnePageSteps(mm, page, true) },
        ...wholePutWalkers(p.walkers ?? 0, [page]),
      ],
      check(mm: Machine, done: boolean) {
        if (mm.nrBadPages !== 0) mm.vmBug('explore: no bad page', `${mm.nrBadPages} bad page(s) freed`, page);
        if (!done) return;
        for (const p of pages) {
          if (PageMovableOpsIsolated(mm, p)) mm.vmBug('explore: nothing left isolated', `page ${p} still PG_movable_ops_isolated after every task finished`, p);
        }
        if (pool.pages_allocated !== 0 || pool.free_work_pending) {
          mm.vmBug('explore: zspage freed', `pool has ${pool.pages_allocated} page(s), deferred free ${pool.free_work_pending ? 'pending' : 'done'}`, page);
        }
        const zspages = mm.zones.reduce((n, z) => n + z.vmstat[NR_ZONE.nr_zspages]!, 0);
        if (zspages !== 0) mm.vmBug('explore: zspage freed', `NR_ZSPAGES ${zspages} after every task finished`, page);
        checkNothingLeaked(mm, page, freeBefore);
      },
      // Nothing of its own to reset: the pool and its zspage are zsmalloc state (checkpointed in place).
      restart: () => undefined,
      hashExtra: () => pool.pages_allocated * 31 + (pool.free_work_pending ? 7 : 0) + st.zspages.count * 131,
    };
  },
};
