import { GFP_HIGHUSER_MOVABLE, folio_alloc, folio_put_steps, type Folio, type Machine } from '@mm/core';
import type { TaskDef, TaskSteps } from '../tasks/task.js';
import { rcuWalkerTask } from '../tasks/rcu-walker.js';
import type { Scenario, ScenarioParams } from './scenario.js';
import { onScenarioTrace } from './scenario-checks.js';

/**
 * (f) `folio_try_get` races the final `folio_put` (`include/linux/page_ref.h`,
 * `mm/swap.c`): once the count reached zero no speculative reference may succeed, and the folio is
 * freed exactly once. A folio with one reference; task `put` drops it (decrement, then
 * `__folio_put`); tasks `rcu0`, `rcu1` take and drop speculative references. Scenario rule: the
 * `folio_freed` tracepoint fires at most once for the folio, and exactly once when every task has
 * finished. The model's folio has no owner ops (it goes to the page allocator under both
 * strategies): the "callback" counted is `__folio_put`'s free, the same dispatch an owner's `free`
 * goes through. Fix switch: `fix: false` makes the walkers take their reference with a plain
 * increment (`folio_get`, `atomic_inc`) instead of `folio_try_get` (`atomic_inc_not_zero`): the
 * resurrection bug `folio_try_get` exists to prevent.
 */
export const trygetFinalPutScenario: Scenario = {
  name: 'tryget-final-put',
  description: 'folio_try_get racing the final folio_put: nothing resurrected, freed once',
  plugins: [],
  fixSwitch: 'folio_try_get',
  variants: [],
  machine: (p: ScenarioParams) => ({ memory: '8M', cpus: 4, strategy: p.strategy ?? 'owner-ops' }),
  setup(m: Machine, p: ScenarioParams) {
    const folio = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0) as Folio;
    let frees = 0;
    onScenarioTrace(m, 'folio_freed', (e) => {
      if (e.folio === folio) frees++;
    });
    return {
      summary: { folio },
      walkerTargets: [folio],
      tasks: [{ name: 'put', start: (mm: Machine) => folio_put_steps(mm, folio) }, walker('rcu0', folio, p.fix !== false), walker('rcu1', folio, p.fix !== false)],
      check(mm: Machine, done: boolean) {
        if (frees > 1) mm.vmBug('explore: freed once', `folio ${folio} freed ${frees} times`, folio);
        if (done && frees !== 1) mm.vmBug('explore: freed once', `folio ${folio} freed ${frees} times after every task finished`, folio);
      },
      restart: () => {
        frees = 0;
      },
      hashExtra: () => frees,
    };
  },
};

/** An RCU walker; without the fix it takes its reference with an unconditional increment. */
function walker(name: string, folio: Folio, fix: boolean): TaskDef {
  if (fix) return rcuWalkerTask(name, folio);
  return {
    name,
    *start(m: Machine): TaskSteps {
      m.memmap.refcount[folio]!++; // folio_get without the "not zero" check
      yield `folio_get(${folio}) (rcu walker, no try)`;
      return yield* folio_put_steps(m, folio);
    },
  };
}
