import { folio_get_nontail_page, folio_put, type Machine, type Pfn } from '@mm/core';
import type { TaskDef, TaskSteps } from './task.js';

/**
 * The RCU walker of `rcuWalkerTask` (a speculative `folio_try_get` on `pfn`, dropped a step later)
 * whose `folio_put` is one step — the decrement and, if it was the last reference, `__folio_put` —
 * instead of two. For scenarios whose owners' invariants (hugetlb §4.1, guest_memfd §6, zsmalloc
 * §8.1) reject the state between the two: an owned page at refcount 0 whose free has not run yet. In
 * the kernel that state exists for a moment on the CPU doing the put; the owners' checks would have to
 * know that a put is in flight to accept it. The scenario injects these itself (`params.walkers` of
 * them, on its own targets) and gives the explorer no `walkerTargets`.
 */
export function rcuWalkerWholePutTask(name: string, pfn: Pfn): TaskDef {
  return {
    name,
    *start(m: Machine): TaskSteps {
      const folio = folio_get_nontail_page(m, pfn);
      if (folio === null) return false;
      yield `folio_try_get(${pfn}) (rcu walker)`;
      folio_put(m, folio);
      return true;
    },
  };
}

/** `walkers` whole-put RCU walkers (`rcu-walker0`, …), walker k on `targets[k % targets.length]`. */
export function wholePutWalkers(walkers: number, targets: readonly Pfn[]): TaskDef[] {
  const out: TaskDef[] = [];
  for (let k = 0; k < walkers && targets.length > 0; k++) out.push(rcuWalkerWholePutTask(`rcu-walker${k}`, targets[k % targets.length]!));
  return out;
}
