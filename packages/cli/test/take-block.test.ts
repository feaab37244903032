import { describe, expect, it } from 'vitest';
import {
  EINVAL,
  GFP_KERNEL,
  MmError,
  NR_ZONE,
  __free_pages,
  alloc_pages,
  asPfn,
  captureMachineState,
  createMachine,
  diffMachineState,
  drain_all_pages,
  frag_show,
  freeBlockContaining,
  init_page_count,
  takeBlockOffBuddy,
  take_page_off_buddy,
} from '@mm/core';

// A 24 MiB machine: ZONE_DMA is PFNs 0-0xfff (the first 1 MiB reserved), ZONE_DMA32 0x1000-0x17ff,
// which boot frees as two order-10 blocks (0x1000 and 0x1400).
const machine = () => createMachine({ memory: '24M', debugVm: true });
const dma32 = (m: ReturnType<typeof machine>) => m.zones.find((z) => z.name === 'DMA32')!;

describe('takeBlockOffBuddy (take_page_off_buddy generalised to any order)', () => {
  it('splits the free block that holds the target, leaving one free buddy of each order in between', () => {
    const m = machine();
    const z = dma32(m);
    expect(Array.from(z.nr_free)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    const free = z.vmstat[NR_ZONE.nr_free_pages]!;
    expect(freeBlockContaining(m, 0x1234)).toBe(0x1000);
    expect(takeBlockOffBuddy(m, 0x1234, 2)).toBe(true);
    // break_down_buddy_pages halves the order-10 block at 0x1000 eight times on the way down to the
    // order-2 target, keeping the half without the target each time: 0x1000 (9), 0x1300 (8),
    // 0x1280 (7), 0x1240 (6), 0x1200 (5), 0x1220 (4), 0x1238 (3), 0x1230 (2).
    expect(Array.from(z.nr_free)).toEqual([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    for (const [pfn, order] of [[0x1000, 9], [0x1300, 8], [0x1280, 7], [0x1240, 6], [0x1200, 5], [0x1220, 4], [0x1238, 3], [0x1230, 2]] as const) {
      expect(freeBlockContaining(m, pfn)).toBe(pfn);
      expect(m.memmap.private[pfn], `order of the free block at 0x${pfn.toString(16)}`).toBe(order);
    }
    expect(z.vmstat[NR_ZONE.nr_free_pages]).toBe(free - 4);
    for (let p = 0x1234; p < 0x1238; p++) {
      expect(freeBlockContaining(m, p)).toBe(-1);
      expect(m.memmap.refcount[p]).toBe(0);
    }
    // Handing the block back as an allocation (refcount 1) and freeing it merges everything again.
    const before = frag_show(m);
    init_page_count(m, asPfn(0x1234));
    __free_pages(m, asPfn(0x1234), 2);
    drain_all_pages(m, null);
    expect(frag_show(m)).not.toBe(before);
    expect(Array.from(z.nr_free)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
  });

  it('takes a whole free block as it is, and refuses a block that is not entirely free, changing nothing', () => {
    const m = machine();
    expect(takeBlockOffBuddy(m, 0x1400, 10)).toBe(true);
    expect(Array.from(dma32(m).nr_free)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    const state = captureMachineState(m);
    expect(takeBlockOffBuddy(m, 0x1400, 10)).toBe(false); // taken already
    expect(takeBlockOffBuddy(m, 0x1600, 3)).toBe(false); // inside the taken block
    expect(takeBlockOffBuddy(m, 0x10, 0)).toBe(false); // reserved (the first 1 MiB)
    expect(diffMachineState(state, captureMachineState(m))).toEqual([]);
  });

  it('rejects an unaligned block, an order above MAX_PAGE_ORDER and a PFN without a struct page', () => {
    const m = machine();
    const state = captureMachineState(m);
    for (const [pfn, order] of [[0x1001, 1], [0x1000, 11], [0x1000, -1], [0x6000, 0], [1.5, 0]] as const) {
      try {
        takeBlockOffBuddy(m, pfn, order);
        expect.unreachable();
      } catch (e) {
        expect((e as MmError).errno).toBe(EINVAL);
      }
    }
    expect(diffMachineState(state, captureMachineState(m))).toEqual([]);
  });

  it('take_page_off_buddy finds no page on a per-CPU list until the lists are drained', () => {
    const m = machine();
    const p = alloc_pages(m, GFP_KERNEL, 0);
    expect(p).not.toBe(-1);
    __free_pages(m, p as never, 0); // order 0 goes to this CPU's pcp list, not the buddy lists
    expect(take_page_off_buddy(m, p as number)).toBe(false);
    drain_all_pages(m, null);
    expect(take_page_off_buddy(m, p as number)).toBe(true);
    expect(freeBlockContaining(m, p as number)).toBe(-1);
  });
});
