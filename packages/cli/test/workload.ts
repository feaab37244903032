/**
 * A seeded random workload driven through a recorder (`recordOperations`): allocations of mixed
 * orders and GFP masks, gets and puts, batch puts, LRU add/isolate/putback through the per-CPU
 * batches, lock/unlock, freeze/unfreeze, CPU switches, drains, compaction, and calls the model
 * rejects (recorded as `"err"` lines). Used by the record/replay tests and the replay benchmark.
 */
import { GFP_HIGHUSER_MOVABLE, GFP_KERNEL, MmError, asFolio, type Folio, type RecordedOps } from '@mm/core';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** Options of {@link runWorkload}. */
export interface WorkloadOptions {
  /** Operations to attempt (each step makes one or a few recorded calls). */
  readonly steps: number;
  /** Seed of the workload's choices. */
  readonly seed: number;
  /** Keep at most this many folios alive (then only puts). */
  readonly maxLive?: number;
  /** Compact memory every this many steps (0: never). */
  readonly compactEvery?: number;
  /** Steps per thousand that drain every CPU's page lists (`drain_all_pages`). Default 5. */
  readonly drainsPerMille?: number;
  /** Steps per thousand that make a call the model rejects. Default 10. */
  readonly errorsPerMille?: number;
}

interface Live {
  folio: Folio;
  refs: number;
  lru: boolean;
}

const ORDERS = [0, 0, 0, 0, 0, 1, 2, 3, 9] as const;

/** Run the workload; returns how many calls were rejected with an `MmError` (and recorded as such). */
export function runWorkload(ops: RecordedOps, o: WorkloadOptions): number {
  const m = ops.machine;
  const rng = xoroshiro128plus(o.seed);
  const pick = (n: number): number => uniformInt(rng, 0, n - 1);
  const live: Live[] = [];
  const maxLive = o.maxLive ?? 2000;
  const drains = o.drainsPerMille ?? 5;
  const errors = o.errorsPerMille ?? 10;
  let rejected = 0;
  const expectReject = (f: () => unknown): void => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof MmError)) throw e;
      rejected++;
      return;
    }
    throw new Error('workload: a call the model must reject was accepted');
  };
  const drop = (i: number): void => {
    const l = live[i]!;
    ops.folio_put(l.folio);
    if (--l.refs === 0) live.splice(i, 1);
  };
  for (let step = 0; step < o.steps; step++) {
    if (o.compactEvery && step > 0 && step % o.compactEvery === 0) ops.compact_memory(1);
    const r = pick(1000);
    if (live.length === 0 || (r < 300 && live.length < maxLive)) {
      const order = ORDERS[pick(ORDERS.length)]!;
      const f = ops.folio_alloc(r % 2 === 0 ? GFP_HIGHUSER_MOVABLE : GFP_KERNEL, order);
      if (f !== -1) live.push({ folio: f, refs: 1, lru: false });
    } else if (r < 450 || live.length >= maxLive) {
      drop(pick(live.length));
    } else if (r < 550) {
      const l = live[pick(live.length)]!;
      ops.folio_get(l.folio);
      l.refs++;
    } else if (r < 620) {
      const l = live[pick(live.length)]!;
      if (!l.lru) {
        ops.__folio_set_swapbacked(l.folio);
        ops.folio_add_lru(l.folio);
        l.lru = true;
      } else if (ops.folio_isolate_lru(l.folio)) {
        ops.folio_putback_lru(l.folio);
      }
    } else if (r < 660) {
      const chosen = new Set<number>();
      for (let k = 0; k < 4 && chosen.size < live.length; k++) chosen.add(pick(live.length));
      const idx = [...chosen].sort((a, b) => b - a);
      ops.folios_put(idx.map((i) => live[i]!.folio));
      for (const i of idx) if (--live[i]!.refs === 0) live.splice(i, 1);
    } else if (r < 720) {
      const l = live[pick(live.length)]!;
      if (ops.folio_trylock(l.folio)) ops.folio_unlock(l.folio);
    } else if (r < 760) {
      const l = live[pick(live.length)]!;
      const count = m.memmap.refcount[l.folio]!;
      if (ops.folio_ref_freeze(l.folio, count)) ops.folio_ref_unfreeze(l.folio, count);
    } else if (r < 820) {
      ops.setCpu(pick(m.config.cpus));
    } else if (r < 840) {
      ops.lru_add_drain_all();
    } else if (r < 840 + drains) {
      ops.drain_all_pages(null);
    } else if (r < 840 + drains + errors / 2) {
      expectReject(() => ops.folio_put(asFolio(m.max_pfn + 7))); // no struct page
    } else if (r < 840 + drains + errors) {
      const l = live[pick(live.length)]!;
      expectReject(() => ops.folio_ref_unfreeze(l.folio, 1)); // unfreeze of a live folio
    } else {
      const i = pick(live.length);
      const l = live[i]!;
      ops.folio_get(l.folio);
      ops.folio_put_refs(l.folio, 2);
      if (--l.refs === 0) live.splice(i, 1);
    }
  }
  return rejected;
}
