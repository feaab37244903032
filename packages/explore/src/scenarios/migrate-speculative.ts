import { GFP_HIGHUSER_MOVABLE, MIGRATE_MODE, MR, NR_NODE, anon_vma_alloc, faultInAnonFolio, folio_alloc, lru_add_drain_all, type Folio, type Machine } from '@mm/core';
import { rcuWalkerTask } from '../tasks/rcu-walker.js';
import { migrateOnePageSteps } from '../tasks/migrate-one.js';
import type { Scenario, ScenarioParams } from './scenario.js';

/**
 * (e) Migration freezes a folio while a speculative reference comes and goes (`mm/migrate.c`:
 * `folio_ref_freeze` in `__folio_migrate_mapping` succeeds only at the expected count, else
 * `-EAGAIN` and a retry). An anonymous folio mapped once, on the LRU; task `migrate` isolates it,
 * migrates it (MIGRATE_SYNC, three passes as `migrate_pages` makes) and puts it back if that fails;
 * task `rcu` takes a speculative `folio_try_get` and drops it. Scenario rule at the end: nothing is
 * left isolated (NR_ISOLATED_ANON 0), no bad page. No fix switch.
 */
export const migrateSpeculativeScenario: Scenario = {
  name: 'migrate-speculative',
  description: 'migration freezing a folio while a speculative reference comes and goes',
  plugins: [],
  fixSwitch: null,
  variants: [],
  machine: (p: ScenarioParams) => ({ memory: '8M', cpus: 4, strategy: p.strategy ?? 'owner-ops' }),
  setup(m: Machine) {
    const folio = m.withChecksDeferred('setup', () => {
      const f = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0) as Folio;
      faultInAnonFolio(m, f, anon_vma_alloc(m), 0);
      lru_add_drain_all(m);
      return f;
    });
    return {
      summary: { folio },
      walkerTargets: [folio],
      tasks: [
        { name: 'migrate', start: (mm: Machine) => migrateOnePageSteps(mm, folio, false, MIGRATE_MODE.MIGRATE_SYNC, MR.MR_SYSCALL, 3) },
        rcuWalkerTask('rcu', folio),
      ],
      check(mm: Machine, done: boolean) {
        if (mm.nrBadPages !== 0) mm.vmBug('explore: no bad page', `${mm.nrBadPages} bad page(s) freed`, folio);
        const iso = mm.nodes[0]!.vmstat[NR_NODE.nr_isolated_anon]!;
        if (done && iso !== 0) mm.vmBug('explore: nothing left isolated', `NR_ISOLATED_ANON ${iso} after every task finished`, folio);
      },
    };
  },
};
