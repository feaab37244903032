import { folio_get_nontail_page, folio_put_steps, type Machine, type Pfn } from '@mm/core';
import type { TaskDef, TaskSteps } from './task.js';

/**
 * A spurious reference: an "RCU walker" (a GUP-fast walk, a page-cache lookup, a PFN scanner like
 * compaction's or memory-failure's) that takes a speculative reference on `pfn` — `folio_try_get`
 * on the page, which fails on a free or tail page (`folio_get_nontail_page` in the model, as the
 * kernel's PFN walkers use `get_page_unless_zero` and re-check the head) — and drops it a step later
 * with `folio_put` (whose final put frees the folio, the owner's `free` or the allocator's path).
 * The walker never looks at what it got: it only perturbs the refcount, which is what every exact
 * refcount check in migration and freeing must tolerate.
 */
export function rcuWalkerTask(name: string, pfn: Pfn): TaskDef {
  return {
    name,
    *start(m: Machine): TaskSteps {
      const folio = folio_get_nontail_page(m, pfn);
      if (folio === null) return false;
      yield `folio_try_get(${pfn}) (rcu walker)`;
      return yield* folio_put_steps(m, folio);
    },
  };
}
