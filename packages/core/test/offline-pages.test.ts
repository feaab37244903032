import { describe, expect, it } from 'vitest';
import {
  EBUSY,
  GFP_HIGHUSER_MOVABLE,
  MEM_CANCEL_OFFLINE,
  MEM_GOING_OFFLINE,
  MEM_OFFLINE,
  MmError,
  NR_NODE,
  NR_ZONE,
  PAGES_PER_SECTION,
  PB_ISOLATE_MODE,
  VM_EVENT,
  __SetPageOffline,
  alloc_page,
  anon_vma_alloc,
  frag_show,
  captureMachineState,
  createMachine,
  createAddressSpace,
  diffMachineState,
  drain_all_pages,
  filemap_add_folio,
  folio_alloc,
  folio_put,
  folio_ref_count,
  folio_unlock,
  get_pageblock_isolate,
  lru_add_drain_all,
  offline_pages,
  page_ref_dec,
  pfn_valid,
  start_isolate_page_range,
  test_pages_isolated,
  undo_isolate_page_range,
  type Folio,
  type FreeDispatchStrategy,
  type Machine,
  type Pfn,
} from '@mm/core';
import { anonFolios, machineWithPool, type TestMovablePool } from './migrate-fixtures.js';

const STRATEGIES: FreeDispatchStrategy[] = ['owner-ops', 'mainline'];

/** A 256 MiB machine whose ZONE_MOVABLE is exactly one 128 MiB memory block: PFNs 32768…65535. */
function setup(strategy: FreeDispatchStrategy): { m: Machine; pool: TestMovablePool; start: number } {
  const { m, pool } = machineWithPool({ memory: '256M', movablecore: '128M', strategy });
  const zone = m.zones.find((z) => z.name === 'Movable')!;
  expect([zone.zone_start_pfn, zone.spanned_pages]).toEqual([32768, PAGES_PER_SECTION]);
  return { m, pool, start: zone.zone_start_pfn };
}

/** Folios and pages of every movable kind in the block: anon (order 0 and a THP), page cache, movable_ops. */
function populate(m: Machine, pool: TestMovablePool, start: number): { anon: Folio[]; thp: Folio; file: ReturnType<typeof createAddressSpace>; cached: Folio; pages: Pfn[] } {
  const av = anon_vma_alloc(m);
  const anon = anonFolios(m, 100, 0, av);
  const [thp] = anonFolios(m, 1, 9, av) as [Folio];
  const file = createAddressSpace(m);
  const cached = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0) as Folio;
  filemap_add_folio(m, file, cached, 0);
  folio_unlock(m, cached);
  folio_put(m, cached);
  const pages = Array.from({ length: 10 }, () => pool.take());
  lru_add_drain_all(m);
  for (const f of [...anon, thp, cached, ...pages]) expect(f >= start && f < start + PAGES_PER_SECTION).toBe(true);
  return { anon, thp, file, cached, pages };
}

describe.each(STRATEGIES)('offline_pages (mm/memory_hotplug.c) under %s', (strategy) => {
  it('offlines a ZONE_MOVABLE memory block: everything movable migrates out, owners release PageOffline pages, the block leaves the zone', () => {
    const { m, pool, start } = setup(strategy);
    const { anon, thp, file, cached, pages } = populate(m, pool, start);
    // A PageOffline page whose owner (like virtio-mem) drops its reference at MEM_GOING_OFFLINE.
    const logical = alloc_page(m, GFP_HIGHUSER_MOVABLE) as Pfn;
    __SetPageOffline(m, logical);
    const notes: number[] = [];
    m.hooks.memory_notify = (action, arg) => {
      notes.push(action);
      expect(arg).toEqual({ start_pfn: start, nr_pages: PAGES_PER_SECTION });
      if (action === MEM_GOING_OFFLINE) page_ref_dec(m, logical);
      return 0;
    };
    const zone = m.zones.find((z) => z.name === 'Movable')!;
    const managedBefore = zone.managed_pages;
    const anonMapped = m.nodes[0]!.vmstat[NR_NODE.nr_anon_pages];
    expect(offline_pages(m, start, PAGES_PER_SECTION)).toBe(0);
    expect(notes).toEqual([MEM_GOING_OFFLINE, MEM_OFFLINE]);
    // 100 + 512 anon pages, 1 page-cache page, 10 movable_ops pages.
    expect(m.vmEvents[VM_EVENT.pgmigrate_success]).toBe(100 + 512 + 1 + 10);
    expect(m.vmEvents[VM_EVENT.thp_migration_success]).toBe(1);
    lru_add_drain_all(m);
    // The old PFNs have no memmap any more.
    for (const f of [...anon, thp, cached, ...pages, logical]) expect(pfn_valid(m, f)).toBe(false);
    // Everything lives on elsewhere, mapped and cached as before.
    expect(m.nodes[0]!.vmstat[NR_NODE.nr_anon_pages]).toBe(anonMapped);
    const moved = file.i_pages.get(0)!;
    expect(moved < start && folio_ref_count(m, moved) === 1).toBe(true);
    expect(pool.owned.size).toBe(10);
    expect([...pool.owned].every((p) => p < start && folio_ref_count(m, p as Folio) === 1)).toBe(true);
    // The zone lost the block: all of it was present, all but the PageOffline page managed.
    expect(zone.present_pages).toBe(0);
    expect(zone.spanned_pages).toBe(0);
    expect(managedBefore - zone.managed_pages).toBe(PAGES_PER_SECTION - 1);
    expect(zone.vmstat[NR_ZONE.nr_free_pages]).toBe(0);
    expect(frag_show(m)).not.toContain('Movable'); // an unpopulated zone is not shown
    expect(m.zones.includes(zone)).toBe(false);
    m.checkInvariants('after offline');
    expect(m.nrBadPages).toBe(0);
    // New allocations come from the remaining zones.
    const f = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0) as Folio;
    expect(f >= 0 && f < start).toBe(true);
  });

  it('an unmovable page (PageOffline with a reference, no movable_ops) fails it with -EBUSY: isolation undone, nothing lost', () => {
    const { m, pool, start } = setup(strategy);
    const { anon, thp, pages } = populate(m, pool, start);
    const stuck = alloc_page(m, GFP_HIGHUSER_MOVABLE) as Pfn; // allocated last: above the others
    __SetPageOffline(m, stuck);
    const notes: number[] = [];
    const zone = m.zones.find((z) => z.name === 'Movable')!;
    const pcpDisabled: boolean[] = [];
    m.hooks.memory_notify = (action) => {
      notes.push(action);
      // zone_pcp_disable() holds for the whole offline: high_min = high_max = 0, batch 1, lists empty.
      pcpDisabled.push(zone.per_cpu_pageset.every((p) => p.high_min === 0 && p.high_max === 0 && p.batch === 1 && p.count === 0));
      return 0;
    };
    const present = zone.present_pages;
    const managed = zone.managed_pages;
    const anonMapped = m.nodes[0]!.vmstat[NR_NODE.nr_anon_pages];
    expect(offline_pages(m, start, PAGES_PER_SECTION)).toBe(-EBUSY);
    expect(notes).toEqual([MEM_GOING_OFFLINE, MEM_CANCEL_OFFLINE]);
    expect(pcpDisabled).toEqual([true, true]);
    // zone_pcp_enable() on the failure path gives the lists back their sizes.
    expect(zone.pageset_high_min).toBeGreaterThan(0);
    for (const p of zone.per_cpu_pageset) expect([p.high_min, p.high_max, p.batch]).toEqual([zone.pageset_high_min, zone.pageset_high_max, zone.pageset_batch]);
    // The folios below the stuck page were migrated before it was found; nothing was lost.
    expect(m.vmEvents[VM_EVENT.pgmigrate_success]).toBe(100 + 512 + 1 + 10);
    lru_add_drain_all(m);
    expect(m.nodes[0]!.vmstat[NR_NODE.nr_anon_pages]).toBe(anonMapped);
    expect(pool.owned.size).toBe(10);
    expect(anon.every((f) => folio_ref_count(m, f) === 0)).toBe(true); // their sources were freed
    expect(folio_ref_count(m, thp)).toBe(0);
    expect(pages.every((p) => folio_ref_count(m, p as Folio) === 0)).toBe(true);
    expect(folio_ref_count(m, stuck as Folio)).toBe(1);
    // The isolation is undone: the block is an ordinary part of the zone again.
    for (let pfn = start; pfn < start + PAGES_PER_SECTION; pfn += 512) expect(get_pageblock_isolate(m, pfn)).toBe(false);
    expect([zone.present_pages, zone.managed_pages]).toEqual([present, managed]);
    drain_all_pages(m, null);
    m.checkInvariants('after failed offline');
    const f = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0) as Folio;
    expect(zone.spans(f)).toBe(true); // the block's free pages are allocatable again
  });

  it('a PG_reserved page makes the isolation itself fail (-EBUSY): no page changes', () => {
    // A memblock reservation inside the block (PG_reserved, refcount 1), e.g. firmware data.
    const m = createMachine({ memory: '256M', movablecore: '128M', strategy, debugVm: true, reserved: [{ start: 0, nrPages: 256 }, { start: 32768 + 4000, nrPages: 1 }] });
    const start = 32768;
    anonFolios(m, 10);
    lru_add_drain_all(m);
    drain_all_pages(m, null);
    const before = captureMachineState(m);
    const info = frag_show(m);
    expect(offline_pages(m, start, PAGES_PER_SECTION)).toBe(-EBUSY);
    // Free blocks went to the isolate lists and back, so only list links may differ.
    const diff = diffMachineState(before, captureMachineState(m)).filter((d) => !/^memmap\.(lru|lruPrev)|\.heads|\.tails/.test(d));
    expect(diff).toEqual([]);
    expect(frag_show(m)).toBe(info);
  });

  it('bad input: a range that is not whole memory sections is rejected before anything changes', () => {
    const { m } = setup(strategy);
    const before = captureMachineState(m);
    expect(() => offline_pages(m, 32768 + 512, PAGES_PER_SECTION)).toThrow(MmError);
    expect(() => offline_pages(m, 32768, 512)).toThrow(MmError);
    expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
  });
});

describe('pageblock isolation (mm/page_isolation.c)', () => {
  it('isolated free pages leave NR_FREE_PAGES and the allocator; a large buddy is split at the boundary; undo merges them back', () => {
    const { m } = machineWithPool({ memory: '256M', movablecore: '128M' });
    const zone = m.zones.find((z) => z.name === 'Movable')!;
    const free = zone.vmstat[NR_ZONE.nr_free_pages]!;
    const order10 = zone.nr_free[10]!;
    // Isolate one pageblock: its order-10 buddy is split into two order-9 blocks, one isolated.
    expect(start_isolate_page_range(m, 32768, 32768 + 512, PB_ISOLATE_MODE.PB_ISOLATE_MODE_MEM_OFFLINE)).toBe(0);
    expect(zone.vmstat[NR_ZONE.nr_free_pages]).toBe(free - 512);
    expect([zone.nr_free[10], zone.nr_free[9]]).toEqual([order10 - 1, 2]);
    expect(test_pages_isolated(m, 32768, 32768 + 512, PB_ISOLATE_MODE.PB_ISOLATE_MODE_MEM_OFFLINE)).toBe(0);
    expect(start_isolate_page_range(m, 32768, 32768 + 1024, PB_ISOLATE_MODE.PB_ISOLATE_MODE_MEM_OFFLINE)).toBe(-EBUSY); // already isolated
    expect(get_pageblock_isolate(m, 32768 + 512)).toBe(false); // the partial isolation was undone
    undo_isolate_page_range(m, 32768, 32768 + 512);
    expect(zone.vmstat[NR_ZONE.nr_free_pages]).toBe(free);
    expect([zone.nr_free[10], zone.nr_free[9]]).toEqual([order10, 0]);
    m.checkInvariants('after undo');
  });
});
