import { describe, expect, it } from 'vitest';
import {
  COMPACT,
  CompactControl,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  GFP_TRANSHUGE,
  MIGRATE_MODE,
  NR_ZONE,
  VM_EVENT,
  anon_vma_alloc,
  frag_show,
  compact_memory,
  compact_zone,
  compaction_suitable,
  createMachine,
  drain_all_pages,
  extfrag_for_order,
  faultInAnonFolio,
  folio_alloc,
  folio_mapcount,
  folio_put,
  folio_ref_count,
  folio_try_get,
  fragmentation_index,
  lru_add_drain_all,
  zapFolioPtes,
  type Folio,
  type FreeDispatchStrategy,
  type Machine,
  type Zone,
} from '@mm/core';
import { machineWithPool } from './migrate-fixtures.js';

const STRATEGIES: FreeDispatchStrategy[] = ['owner-ops', 'mainline'];

/** Fill `zone` with mapped anonymous order-0 folios until allocation fails or leaves the zone. */
function fillZone(m: Machine, zone: Zone): Folio[] {
  return m.withChecksDeferred('fillZone', () => {
    const av = anon_vma_alloc(m);
    const out: Folio[] = [];
    for (;;) {
      const f = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0);
      if (f < 0) break;
      if (!zone.spans(f)) {
        folio_put(m, f as Folio);
        break;
      }
      faultInAnonFolio(m, f as Folio, av, out.length);
      out.push(f as Folio);
    }
    lru_add_drain_all(m);
    return out;
  });
}

/** Unmap every other folio (they are freed), leaving order-0 holes between the survivors. */
function fragment(m: Machine, folios: Folio[]): Folio[] {
  return m.withChecksDeferred('fragment', () => {
    const kept: Folio[] = [];
    folios.forEach((f, i) => (i % 2 ? zapFolioPtes(m, f) : kept.push(f)));
    drain_all_pages(m, null);
    return kept;
  });
}

function buddyLine(m: Machine, zone: Zone): number[] {
  const line = frag_show(m).split('\n').find((l) => l.includes(zone.name.padStart(8)))!;
  return line.trim().split(/\s+/).slice(4).map(Number);
}

const pagesIn = (counts: number[], from = 0): number => counts.reduce((s, c, o) => (o >= from ? s + c * 2 ** o : s), 0);

describe('fragmentation index (mm/vmstat.c)', () => {
  it('is -1000 when a block of the order is free, and 1000 - (1000 + pages·1000/2^order)/blocks otherwise', () => {
    const m = createMachine({ memory: '32M', dmaZone: false, debugVm: true });
    const zone = m.zones[0]!;
    expect(fragmentation_index(zone, 9)).toBe(-1000); // freshly booted: order-10 blocks are free
    const kept = fragment(m, fillZone(m, zone));
    const counts = Array.from(zone.nr_free);
    expect(pagesIn(counts, 9)).toBe(0); // order-0 holes, and a few blocks the watermark kept free
    const blocks = counts.reduce((s, c) => s + c, 0);
    // __fragmentation_index: requested 2^9; no suitable block; free pages and blocks from free_area[].
    expect(fragmentation_index(zone, 9)).toBe(1000 - Math.floor((1000 + Math.floor((pagesIn(counts) * 1000) / 512)) / blocks));
    expect(fragmentation_index(zone, 9)).toBeGreaterThan(900); // failure would be due to fragmentation
    expect(fragmentation_index(zone, 0)).toBe(-1000);
    expect(extfrag_for_order(zone, 9)).toBe(100);
    // Costly orders are compacted only when the index says fragmentation (> vm.extfrag_threshold 500).
    expect(compaction_suitable(m, zone, 9, 2)).toBe(true);
    expect(kept.length).toBeGreaterThan(0);
  });
});

describe.each(STRATEGIES)('compaction (mm/compaction.c) under %s', (strategy) => {
  it('compact_memory on a fragmented ZONE_MOVABLE: folios move up, the freed blocks merge to order 9/10, free pages are conserved', () => {
    const m = createMachine({ memory: '64M', movablecore: '16M', debugVm: true, strategy });
    const zone = m.zones.find((z) => z.name === 'Movable')!;
    const kept = fragment(m, fillZone(m, zone));
    const before = buddyLine(m, zone);
    // Every other page is free: no free block above order 0 except the few pages that never got a folio.
    expect(pagesIn(before, 9)).toBe(0);
    const freeBefore = zone.vmstat[NR_ZONE.nr_free_pages]!;
    expect(compact_memory(m)).toBe(0);
    lru_add_drain_all(m); // folios put back after a failed migration wait in an lru_add batch
    drain_all_pages(m, null); // freed sources wait on per-CPU lists
    const after = buddyLine(m, zone);
    const migrated = m.vmEvents[VM_EVENT.pgmigrate_success]!;
    // Each migration allocates one page and frees one: the zone's free pages are unchanged.
    expect(pagesIn(after)).toBe(pagesIn(before));
    expect(zone.vmstat[NR_ZONE.nr_free_pages]).toBe(freeBefore);
    // Every pageblock of 512 pages held 256 folios: each 256 migrated folios empty one pageblock,
    // which merges into an order-9 block (pairs into order 10). The last block may be partly done.
    expect(migrated).toBeGreaterThan(512);
    expect(pagesIn(after, 9)).toBeGreaterThanOrEqual((Math.floor(migrated / 256) - 1) * 512);
    expect(after[9]! + after[10]!).toBeGreaterThan(0);
    // The folios are all alive and mapped: the migrated ones at new PFNs.
    expect(m.vmEvents[VM_EVENT.compact_isolated]).toBeGreaterThanOrEqual(2 * migrated);
    expect(m.vmEvents[VM_EVENT.compact_migrate_scanned]).toBeGreaterThan(0);
    expect(m.vmEvents[VM_EVENT.compact_free_scanned]).toBeGreaterThan(0);
    const stillHere = kept.filter((f) => folio_ref_count(m, f) === 1 && folio_mapcount(m, f) === 1).length;
    expect(stillHere).toBe(kept.length - migrated);
    expect(m.nrBadPages).toBe(0);
  });

  it('skips pinned folios (refcount - 1 > mapcount) and moves movable_ops pages', () => {
    const { m, pool } = machineWithPool({ memory: '64M', movablecore: '16M', strategy });
    const zone = m.zones.find((z) => z.name === 'Movable')!;
    // The owner's pages come first, at the bottom of the zone where the migration scanner starts.
    const pages = Array.from({ length: 8 }, () => pool.take());
    expect(pages.every((p) => zone.spans(p) && p < zone.zone_start_pfn + 512)).toBe(true);
    const kept = fragment(m, fillZone(m, zone));
    const pinned = kept.find((f) => f >= zone.zone_start_pfn + 1024)!;
    expect(folio_try_get(m, pinned)).toBe(true); // e.g. a long-term GUP pin
    compact_memory(m);
    lru_add_drain_all(m);
    expect(pages.every((p) => folio_ref_count(m, p as Folio) === 0)).toBe(true); // all migrated away
    expect(pool.owned.size).toBe(8);
    expect([...pool.owned].every((p) => p > pages[7]!)).toBe(true);
    expect(folio_ref_count(m, pinned)).toBe(2); // never isolated
    expect(folio_mapcount(m, pinned)).toBe(1);
  });

  it('direct compaction: an order-9 allocation that fails on a fragmented machine compacts (compact_stall, compact_success) and succeeds', () => {
    const m = createMachine({ memory: '32M', dmaZone: false, debugVm: true, strategy });
    const zone = m.zones[0]!;
    fragment(m, fillZone(m, zone));
    expect(pagesIn(Array.from(zone.nr_free), 9)).toBe(0);
    const thp = folio_alloc(m, GFP_TRANSHUGE, 9);
    expect(thp).toBeGreaterThanOrEqual(0);
    expect(m.vmEvents[VM_EVENT.compact_stall]).toBe(1); // the first (async) attempt was enough
    expect(m.vmEvents[VM_EVENT.compact_success]).toBe(1);
    expect(m.vmEvents[VM_EVENT.compact_fail]).toBe(0);
    expect(m.vmEvents[VM_EVENT.pgmigrate_success]).toBeGreaterThanOrEqual(256);
    // A GFP_KERNEL order-9 request without __GFP_IO compacts nothing.
    const before = m.vmEvents[VM_EVENT.compact_stall];
    folio_alloc(m, GFP_KERNEL & ~0x40, 9);
    expect(m.vmEvents[VM_EVENT.compact_stall]).toBe(before);
  });

  it('compact_zone for an order stops as soon as a block of that order is free (COMPACT_SUCCESS), before the scanners meet', () => {
    const m = createMachine({ memory: '32M', dmaZone: false, debugVm: true, strategy });
    const zone = m.zones[0]!;
    fragment(m, fillZone(m, zone));
    const cc = new CompactControl(zone, 9, GFP_HIGHUSER_MOVABLE);
    cc.mode = MIGRATE_MODE.MIGRATE_SYNC_LIGHT;
    cc.whole_zone = true;
    cc.alloc_flags = 1; // ALLOC_WMARK_LOW
    cc.highest_zoneidx = 3;
    expect(compact_zone(m, cc)).toBe(COMPACT.COMPACT_SUCCESS);
    expect(cc.free_pfn >> 9).toBeGreaterThan(cc.migrate_pfn >> 9);
    expect(pagesIn(Array.from(zone.nr_free), 9)).toBeGreaterThanOrEqual(512);
    expect(compact_memory(m, 2)).toBe(-22); // only "1" is accepted
  });
});
