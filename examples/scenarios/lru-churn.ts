/**
 * A scenario for `mmsim run`, `snapshot`, `stat`: anonymous folios of mixed orders go through the
 * per-CPU lru_add batches onto the LRU, a third are isolated and put back (as reclaim or migration
 * would), half are released in one batch, and a wrong put on a freed folio is rejected (recorded as an
 * `"err"` line when the run is recorded). Run it with
 * `node --import tsx packages/cli/src/bin/mmsim.ts run examples/scenarios/lru-churn.ts`.
 */
import { GFP_HIGHUSER_MOVABLE, MmError, type Folio } from '@mm/core';
import type { Scenario } from '@mm/cli';

export default {
  machine: { memory: '128M', cpus: 2 },
  run(ops) {
    const folios: Folio[] = [];
    for (let i = 0; i < 96; i++) {
      ops.setCpu(i % 2);
      const folio = ops.folio_alloc(GFP_HIGHUSER_MOVABLE, i % 8 === 0 ? 2 : 0);
      if (folio === -1) throw new Error(`folio ${i}: out of memory`);
      ops.__folio_set_swapbacked(folio); // anonymous memory: the anon LRU lists
      ops.folio_add_lru(folio);
      folios.push(folio);
    }
    ops.lru_add_drain_all();
    for (const folio of folios.filter((_, i) => i % 3 === 0)) {
      if (ops.folio_isolate_lru(folio)) ops.folio_putback_lru(folio);
    }
    ops.lru_add_drain_all();
    ops.folios_put(folios.slice(0, 48)); // the last references: freed, leaving the LRU
    try {
      ops.folio_put(folios[0]!); // a put on a free folio: rejected, nothing changes
    } catch (e) {
      if (!(e instanceof MmError)) throw e;
    }
  },
} satisfies Scenario;
