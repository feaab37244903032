import { describe, expect, it } from 'vitest';
import {
  EINVAL,
  GFP,
  GFP_ATOMIC,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  GFP_NOWAIT,
  MIGRATE_ISOLATE,
  MIGRATE_TYPES,
  set_pageblock_isolate,
  MIGRATE_MOVABLE,
  MIGRATE_UNMOVABLE,
  MmError,
  NR_ZONE,
  PCP_BATCH_SCALE_MAX,
  VM_EVENT,
  WMARK_HIGH,
  WMARK_LOW,
  WMARK_MIN,
  __alloc_pages,
  __free_pages,
  alloc_pages,
  asPfn,
  frag_show,
  captureMachineState,
  createMachine,
  diffMachineState,
  drain_all_pages,
  get_pfnblock_migratetype,
  type Machine,
  type MmPageAllocExtfragEvent,
} from '@mm/core';

const nrFree = (m: Machine, zone: number): number[] => Array.from(m.zones[zone]!.nr_free);
const freePages = (m: Machine): number => m.zones.reduce((s, z) => s + z.vmstat[NR_ZONE.nr_free_pages]!, 0);

describe('boot (memblock_free_all)', () => {
  it('frees every usable page of a default 1 GiB machine into maximal blocks', () => {
    const m = createMachine();
    expect(m.zones.map((z) => z.name)).toEqual(['DMA', 'DMA32']);
    // DMA: PFNs 0-4095 less the reserved first 1 MiB (256 pages): 256@256 (order 8), 512@512 (order 9), 3 × 1024.
    expect(nrFree(m, 0)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3]);
    // DMA32: PFNs 4096-262143 = 258048 pages = 252 order-10 blocks.
    expect(nrFree(m, 1)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 252]);
    expect(m.zones[0]!.managed_pages).toBe(3840);
    expect(m.zones[1]!.managed_pages).toBe(258048);
    expect(freePages(m)).toBe(3840 + 258048);
    expect(frag_show(m)).toBe(
      'Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3 \n' +
        'Node 0, zone    DMA32      0      0      0      0      0      0      0      0      0      0    252 \n',
    );
  });

  it('computes min_free_kbytes and the watermarks as the kernel does', () => {
    const m = createMachine();
    // int_sqrt(261888 pages × 4 KiB × 16) = int_sqrt(16760832) = 4093
    expect(m.minFreeKbytes).toBe(4093);
    const dma32 = m.zones[1]!;
    // pages_min = 4093 / 4 = 1023, split by managed pages: DMA32 gets 1023 × 258048 / 261888 = 1008
    expect(dma32.watermark[WMARK_MIN]).toBe(1008);
    // tmp = max(1008 / 4, 258048 × 10 / 10000) = max(252, 258) = 258
    expect(dma32.watermark[WMARK_LOW]).toBe(1266);
    expect(dma32.watermark[WMARK_HIGH]).toBe(1524);
    // DMA: 1023 × 3840 / 261888 = 15 (exactly)
    expect(m.zones[0]!.watermark[WMARK_MIN]).toBe(15);
    // lowmem_reserve[DMA32] of DMA = 258048 / 256 = 1008
    expect(m.zones[0]!.lowmem_reserve[1]).toBe(1008);
    // zone_batchsize: min(258048 >> 10, 256) / 4 = 63; rounddown_pow_of_two(63 + 31) - 1 = 63
    expect(dma32.per_cpu_pageset[0]!.batch).toBe(63);
  });

  // Model layout: RAM split evenly per node; movablecore takes the top of each node (the kernel carves
  // ZONE_MOVABLE only from the highest zone; see machine/boot.ts).
  it('lays out NUMA nodes and ZONE_MOVABLE', () => {
    const m = createMachine({ memory: '8G', nodes: 2, movablecore: '2G' });
    expect(m.zones.map((z) => `${z.nid}:${z.name}:${z.spanned_pages}`)).toEqual([
      '0:DMA:4096',
      '0:DMA32:782336',
      '0:Movable:262144',
      '1:Normal:786432',
      '1:Movable:262144',
    ]);
  });
});

describe('split and merge (__rmqueue_smallest, expand, __free_one_page)', () => {
  it('splits an order-10 block down to the request and merges it back on free', () => {
    const m = createMachine({ memory: '64M', debugVm: true });
    const dma32 = m.zones.findIndex((z) => z.name === 'DMA32');
    const before = nrFree(m, dma32);
    // order 4 does not use the pcp lists: straight from the buddy lists
    const p = __alloc_pages(m, GFP_KERNEL, 4);
    expect(p).toBeGreaterThanOrEqual(m.zones[dma32]!.zone_start_pfn);
    const after = nrFree(m, dma32);
    // one order-10 block split: one free block each of orders 4..9 remains
    expect(after.map((n, o) => n - before[o]!)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, -1]);
    __free_pages(m, asPfn(p as number), 4);
    expect(nrFree(m, dma32)).toEqual(before);
  });

  it('order-0 allocations refill the pcp list in batches; drain_all_pages merges everything back', () => {
    const m = createMachine({ memory: '64M', debugVm: true });
    const initial = m.zones.map((z) => Array.from(z.nr_free));
    const pcp = m.zones.find((z) => z.name === 'DMA32')!.per_cpu_pageset[0]!;
    const p = alloc_pages(m, GFP_KERNEL, 0) as number;
    // 64 MiB DMA32 zone: managed 12288 pages → batch = rounddown_pow_of_two(3 + 1) - 1 = 3; refill takes batch blocks.
    expect(pcp.batch).toBe(3);
    expect(pcp.count).toBe(2);
    __free_pages(m, asPfn(p), 0);
    expect(pcp.count).toBe(3);
    drain_all_pages(m, null);
    expect(pcp.count).toBe(0);
    expect(m.zones.map((z) => Array.from(z.nr_free))).toEqual(initial);
  });
});

describe('fallback (__rmqueue_claim / __rmqueue_steal)', () => {
  it('an unmovable request with only movable blocks claims a whole pageblock', () => {
    const m = createMachine({ memory: '64M', debugVm: true });
    const events: MmPageAllocExtfragEvent[] = [];
    m.trace.on('mm_page_alloc_extfrag', (e) => events.push(e));
    const p = __alloc_pages(m, GFP_KERNEL, 4) as number; // GFP_KERNEL is unmovable
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ alloc_order: 4, fallback_order: 10, alloc_migratetype: MIGRATE_UNMOVABLE, fallback_migratetype: MIGRATE_MOVABLE, change_ownership: true });
    expect(get_pfnblock_migratetype(m, p)).toBe(MIGRATE_UNMOVABLE);
    // The other pageblock of the split order-10 block was claimed too (an order ≥ pageblock block changes as a whole).
    expect(get_pfnblock_migratetype(m, p ^ 512)).toBe(MIGRATE_UNMOVABLE);
    // A movable request afterwards uses movable lists without fallback.
    __alloc_pages(m, GFP_HIGHUSER_MOVABLE, 4);
    expect(events).toHaveLength(1);
  });
});

describe('watermarks', () => {
  it('fails ordinary allocations at the min watermark; __GFP_HIGH|atomic may dip lower', () => {
    const m = createMachine({ memory: '32M', dmaZone: false, reserved: [] });
    const z = m.zones[0]!;
    const pcp = z.per_cpu_pageset[0]!;
    const free = (): number => z.vmstat[NR_ZONE.nr_free_pages]!;
    const min = z.watermark[WMARK_MIN]!;
    let n = 0;
    while (alloc_pages(m, GFP_KERNEL, 0) >= 0) n++;
    // GFP_KERNEL's slow path checks the min watermark: it fails once free pages (pcp pages excluded) are ≤ min;
    // the last pcp refill (batch << alloc_factor pages, alloc_factor ≤ PCP_BATCH_SCALE_MAX) took some below it.
    expect(free()).toBeLessThanOrEqual(min);
    expect(free()).toBeGreaterThan(min - (pcp.batch << PCP_BATCH_SCALE_MAX));
    // GFP_ATOMIC: ALLOC_HIGH (min -= min/2) and ALLOC_NON_BLOCK (min -= min/4), integer arithmetic.
    let atomicMin = min - Math.floor(min / 2);
    atomicMin -= Math.floor(atomicMin / 4);
    let atomic = 0;
    while (alloc_pages(m, GFP_ATOMIC, 0) >= 0) atomic++;
    expect(atomic).toBeGreaterThan(0);
    expect(free()).toBeLessThanOrEqual(atomicMin);
    expect(free()).toBeGreaterThan(atomicMin - (pcp.batch << PCP_BATCH_SCALE_MAX));
    expect(m.vmEvents[VM_EVENT.pgalloc_dma32]).toBe(n + atomic);
  });

  it('GFP_NOWAIT gets no access to the min reserve; GFP_ATOMIC does', () => {
    const m = createMachine({ memory: '32M', dmaZone: false, reserved: [] });
    const z = m.zones[0]!;
    // Allocate until GFP_KERNEL fails with nothing left on the per-CPU lists (a drain returns the pages a
    // refill took below the watermark, so repeat until a drain has nothing to return).
    for (;;) {
      while (alloc_pages(m, GFP_KERNEL, 0) >= 0);
      if (z.per_cpu_pageset.every((p) => p.count === 0)) break;
      drain_all_pages(m, null);
    }
    // Free pages now sit at or just below min: a non-blocking request without __GFP_HIGH must fail
    // (mm/page_alloc.c: only ALLOC_MIN_RESERVE callers may dip below min).
    expect(z.vmstat[NR_ZONE.nr_free_pages]).toBeLessThanOrEqual(z.watermark[WMARK_MIN]!);
    expect(alloc_pages(m, GFP_NOWAIT, 0)).toBe(-1);
    expect(alloc_pages(m, GFP_ATOMIC, 0)).toBeGreaterThanOrEqual(0);
  });

  it('frees a block larger than a pageblock one pageblock at a time (split_large_buddy)', () => {
    const m = createMachine({ memory: '64M', debugVm: true });
    const p = __alloc_pages(m, GFP_HIGHUSER_MOVABLE, 10) as number;
    const z = m.zones.find((zz) => zz.spans(p))!;
    const free = z.vmstat[NR_ZONE.nr_free_pages]!;
    set_pageblock_isolate(m, p + 512);
    __free_pages(m, asPfn(p), 10);
    // The isolated half is filed on the Isolate list and not counted as free; the halves do not merge.
    expect(z.vmstat[NR_ZONE.nr_free_pages]! - free).toBe(512);
    expect(m.memmap.private[p]).toBe(9);
    expect(m.memmap.private[p + 512]).toBe(9);
    expect(z.free_list.counts[9 * MIGRATE_TYPES + MIGRATE_ISOLATE]).toBe(1);
  });

  it('rejects an order above MAX_PAGE_ORDER and a double free, changing nothing', () => {
    const m = createMachine({ memory: '64M', debugVm: true });
    const p = asPfn(alloc_pages(m, GFP_KERNEL | GFP.__GFP_COMP, 1) as number);
    __free_pages(m, p, 1);
    const before = captureMachineState(m);
    for (const call of [() => __alloc_pages(m, GFP_KERNEL, 11), () => __free_pages(m, p, 1), () => __alloc_pages(m, GFP_KERNEL, 0, 3)]) {
      expect(call).toThrowError(MmError);
      try {
        call();
      } catch (e) {
        expect((e as MmError).errno).toBe(EINVAL);
      }
      expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
    }
  });
});
