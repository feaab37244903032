import {
  EBUSY,
  GFP_HIGHUSER_MOVABLE,
  NR_NODE,
  PAGES_PER_SECTION,
  PageOffline,
  VM_EVENT,
  __free_page,
  alloc_page,
  compact_memory,
  drain_all_pages,
  id_ptr,
  offline_pages,
  page_zone,
  pfn_valid,
  type Machine,
  type Pfn,
} from '@mm/core';
import { describe, expect, it } from 'vitest';
import { balloon_devinfo_init, balloon_page_alloc, balloon_page_enqueue, cmm_init, cmmThreadIteration, type BalloonDevInfo } from '../src/index.js';
import { STRATEGIES, balloonStat, boot, freePages, listPfns } from './helpers.js';

/** Inflate `n` pages with a CMM balloon (it adjusts managed pages and always migrates). */
function inflate(m: Machine, n: number): BalloonDevInfo {
  const cmm = cmm_init(m, { min_mem_mb: 0 });
  cmm.simulate_loan_target_kb = n * 4;
  cmmThreadIteration(m, cmm);
  expect(cmm.loaned_pages).toBe(n);
  return cmm.b_dev_info;
}

/**
 * A fragmented 16 MiB debugVm machine (one zone, DMA): every page allocated, then every other page of the
 * top half freed (order-0 holes in movable pageblocks: what the free scanner takes), and the `n`
 * lowest allocated pages inflated into `b` (at the start of the zone: where the migration scanner
 * starts). Compaction does not take targets from pageblocks that are one large free block (the
 * kernel's `suitable_migration_target`), so an empty machine would migrate nothing.
 */
function fragmented(strategy: (typeof STRATEGIES)[number], n: number, migratepage: () => number) {
  const m = boot({ strategy, memory: '16M' });
  const b = balloon_devinfo_init(m, { migratepage, adjust_managed_page_count: true });
  const zone = m.zones[0]!;
  const mid = zone.zone_start_pfn + zone.spanned_pages / 2;
  // Thousands of setup calls: check the invariants once at the end rather than after each.
  const { low, holes } = m.withChecksDeferred('fragment', () => {
    const held: Pfn[] = [];
    for (let p = alloc_page(m, GFP_HIGHUSER_MOVABLE); p !== -1; p = alloc_page(m, GFP_HIGHUSER_MOVABLE)) held.push(p);
    let holes = 0;
    for (const p of held) {
      if (p >= mid && p % 2 === 0) {
        __free_page(m, p);
        holes++;
      }
    }
    drain_all_pages(m, null); // the free scanner takes buddy pages, not per-CPU ones
    const low = held.filter((p) => p < mid).sort((x, y) => x - y).slice(0, n);
    for (const p of low) balloon_page_enqueue(m, b, p);
    return { low, holes };
  });
  expect(holes).toBeGreaterThan(4 * n);
  return { m, b, low };
}

describe.each(STRATEGIES)('balloon pages and compaction (%s)', (strategy) => {
  it('compaction migrates balloon pages: BALLOON_MIGRATE counted, list intact, isolated_pages 0', () => {
    const { m, b, low } = fragmented(strategy, 64, () => 0);
    const free0 = freePages(m);
    expect(compact_memory(m)).toBe(0);
    m.checkInvariants('compact_memory');
    const after = listPfns(m, b.pages);
    // All 64 balloon pages sit below every hole, and there are holes enough: compaction moves them all.
    expect(m.vmEvents[VM_EVENT.balloon_migrate]).toBe(64);
    expect(after).toHaveLength(64);
    expect(after.filter((p) => low.includes(p as Pfn))).toEqual([]);
    expect(Math.min(...after)).toBeGreaterThan(Math.max(...low)); // bottom of the zone → top
    expect(m.vmEvents[VM_EVENT.balloon_deflate]).toBe(0);
    expect(b.isolated_pages).toBe(0);
    expect(balloonStat(m)).toBe(64);
    for (const p of after) expect(m.memmap.private[p]).toBe(id_ptr(b.id));
    for (const p of low) expect(PageOffline(m, p)).toBe(false); // freed: the type went with the free
    expect(freePages(m)).toBe(free0);
  });

  it('pages a driver refuses to migrate are put back by compaction', () => {
    let calls = 0;
    const { m, b, low } = fragmented(strategy, 32, () => {
      calls++;
      return -EBUSY;
    });
    expect(compact_memory(m)).toBe(0);
    m.checkInvariants('compact_memory');
    expect(calls).toBeGreaterThanOrEqual(32); // every page was tried
    expect(m.vmEvents[VM_EVENT.balloon_migrate]).toBe(0);
    expect(new Set(listPfns(m, b.pages))).toEqual(new Set(low));
    expect(b.isolated_pages).toBe(0);
    for (const p of low) expect(m.memmap.refcount[p]).toBe(1);
  });
});

describe.each(STRATEGIES)('balloon pages and memory offlining (%s)', (strategy) => {
  it('offlining a memory block migrates its inflated pages away', () => {
    // 512 MiB with 256 MiB of ZONE_MOVABLE: sections 2 and 3 (128 MiB each) are movable, and
    // balloon_page_alloc's GFP_HIGHUSER_MOVABLE puts balloon pages there first.
    const m = boot({ strategy, memory: '512M', movablecore: '256M', debugVm: false });
    const b = inflate(m, 64);
    const inSection = (p: number, s: number) => Math.floor(p / PAGES_PER_SECTION) === s;
    const pages = listPfns(m, b.pages);
    const section = [2, 3].reduce((best, s) => (pages.filter((p) => inSection(p, s)).length > pages.filter((p) => inSection(p, best)).length ? s : best));
    const moving = pages.filter((p) => inSection(p, section));
    expect(moving.length).toBeGreaterThan(0);
    expect(page_zone(m, pages[0]! as never).name).toBe('Movable');
    m.checkInvariants('before offlining');
    expect(offline_pages(m, section * PAGES_PER_SECTION, PAGES_PER_SECTION)).toBe(0);
    m.checkInvariants('after offlining');
    const after = listPfns(m, b.pages);
    expect(after).toHaveLength(64);
    expect(after.filter((p) => inSection(p, section))).toEqual([]);
    expect(pfn_valid(m, section * PAGES_PER_SECTION)).toBe(false);
    expect(m.vmEvents[VM_EVENT.balloon_migrate]).toBe(moving.length);
    expect(b.isolated_pages).toBe(0);
    // NR_BALLOON_PAGES is not moved by migration: the node keeps its count (one node here).
    expect(m.nodes[0]!.vmstat[NR_NODE.nr_balloon_pages]).toBe(64);
  });

  it('without balloon migration inflated pages are unmovable: offlining fails with -EBUSY and nothing is lost', () => {
    const m = boot({ strategy, memory: '384M', debugVm: false }, { migration: false });
    const b = balloon_devinfo_init(m);
    // Section 0 spans DMA and DMA32 and cannot be offlined: fill it, so the balloon's pages come from section 1.
    const filler: Pfn[] = [];
    let p = balloon_page_alloc(m);
    for (; p !== -1 && p < PAGES_PER_SECTION; p = balloon_page_alloc(m)) filler.push(p);
    expect(p).not.toBe(-1);
    const pages = [p as Pfn];
    for (let i = 0; i < 7; i++) pages.push(balloon_page_alloc(m) as Pfn);
    for (const q of pages) balloon_page_enqueue(m, b, q);
    expect(pages.every((q) => Math.floor(q / PAGES_PER_SECTION) === 1)).toBe(true);
    m.checkInvariants('inflated');
    expect(offline_pages(m, PAGES_PER_SECTION, PAGES_PER_SECTION)).toBe(-EBUSY);
    m.checkInvariants('after failed offlining');
    expect(new Set(listPfns(m, b.pages))).toEqual(new Set(pages));
    expect(pfn_valid(m, pages[0]!)).toBe(true);
    for (const q of pages) expect(m.memmap.refcount[q]).toBe(1); // never a refcount-0 PageOffline page
    expect(filler.length).toBeGreaterThan(0);
  });
});
