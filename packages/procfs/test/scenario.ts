import {
  GFP,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  GFP_TRANSHUGE,
  PG,
  __folio_set_active,
  __folio_set_swapbacked,
  __free_pages,
  alloc_pages_node,
  createMachine,
  drain_all_pages,
  folio_add_lru,
  folio_alloc,
  lru_add_drain_all,
  type FreeDispatchStrategy,
  type Folio,
  type Machine,
  type MmPlugin,
  type Pfn,
} from '@mm/core';
import { balloonPlugin, virtballoon_changed, virtballoon_probe } from '@mm/balloon';
import { zsmallocPlugin, zs_create_pool, zs_malloc } from '@mm/zsmalloc';

/** Both `__folio_put` dispatch strategies: every scenario runs under each. */
export const STRATEGIES: readonly FreeDispatchStrategy[] = ['owner-ops', 'mainline'];

/** What the scenario built, for the tests to check against the snapshot. */
export interface ScenarioFacts {
  /** A THP (order 9, large-rmappable, anon, on the active LRU). */
  readonly thp: Folio;
  /** A compound order-3 kernel allocation (not rmappable: neither THP nor huge). */
  readonly compound: Pfn;
  /** Order-0 folios on the inactive file LRU. */
  readonly lruFolios: readonly Folio[];
  /** Pages freed last, left on a per-CPU list (free, but not in the buddy allocator). */
  readonly pcpPages: readonly Pfn[];
  /** A page given PG_hwpoison while allocated. */
  readonly poisoned: Pfn;
  /** Pages the balloon holds. */
  readonly balloonPages: number;
  /** zsmalloc objects allocated. */
  readonly zsObjects: number;
}

function must<T>(x: T | -1, what: string): T {
  if (x === -1) throw new Error(`scenario: ${what} failed`);
  return x;
}

/**
 * A 2-node, 128 MiB machine (16 MiB of ZONE_MOVABLE, 2 CPUs, debugVm) with: node 0's DMA32 zone
 * fragmented (every other page of 1200 single-page kernel allocations freed, then the per-CPU lists
 * drained), a few pages left on a per-CPU list, a THP and order-0 file folios on the LRU, a
 * non-rmappable compound allocation, a hwpoisoned page, a virtio balloon inflated by 300 pages
 * (@mm/balloon) and a zsmalloc pool with 200 objects of 1000 bytes (@mm/zsmalloc). Extra plugins
 * (e.g. a test ProcfsContributor) are added after those.
 */
export function buildScenario(strategy: FreeDispatchStrategy, extra: readonly MmPlugin[] = []): { m: Machine; facts: ScenarioFacts } {
  const m = createMachine({ memory: '128M', nodes: 2, cpus: 2, movablecore: '16M', strategy, debugVm: true, plugins: [balloonPlugin(), zsmallocPlugin(), ...extra] });
  const held: Pfn[] = [];
  // Bulk steps check the invariants once at their end (debugVm), not after every call.
  m.withChecksDeferred('scenario: fragment', () => {
    for (let i = 0; i < 1200; i++) held.push(must(alloc_pages_node(m, 0, GFP_KERNEL, 0), 'allocation'));
    for (let i = 0; i < held.length; i += 2) __free_pages(m, held[i]!, 0);
    drain_all_pages(m, null);
  });
  const pcpPages = held.slice(1, 9).filter((_, i) => i % 2 === 0);
  for (const p of pcpPages) __free_pages(m, p, 0);

  const thp = must(folio_alloc(m, GFP_TRANSHUGE, 9, 1), 'THP allocation');
  __folio_set_swapbacked(m, thp);
  __folio_set_active(m, thp);
  folio_add_lru(m, thp);
  const lruFolios: Folio[] = [];
  m.withChecksDeferred('scenario: lru', () => {
    for (let i = 0; i < 40; i++) {
      const f = must(folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0, i % 2), 'folio allocation');
      folio_add_lru(m, f);
      lruFolios.push(f);
    }
    lru_add_drain_all(m);
  });
  const compound = must(alloc_pages_node(m, 0, GFP_KERNEL | GFP.__GFP_COMP, 3), 'compound allocation');
  const poisoned = must(alloc_pages_node(m, 1, GFP_KERNEL, 0), 'allocation');
  m.memmap.flags[poisoned]! |= 1 << PG.hwpoison;

  const vb = virtballoon_probe(m);
  vb.host.num_pages = 300;
  m.withChecksDeferred('scenario: balloon', () => virtballoon_changed(m, vb));
  const pool = zs_create_pool(m, 'zram0');
  m.withChecksDeferred('scenario: zsmalloc', () => {
    for (let i = 0; i < 200; i++) if (zs_malloc(m, pool, 1000) <= 0) throw new Error('scenario: zs_malloc failed');
  });
  return { m, facts: { thp, compound, lruFolios, pcpPages, poisoned, balloonPages: 300, zsObjects: 200 } };
}
