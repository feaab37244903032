import {
  EINVAL,
  NR_NODE,
  PAGE_SIZE,
  PG,
  folio_get,
  folio_mapcount,
  folio_put,
  is_zone_device_page,
  lru_add_drain_all,
  pfn_valid,
  type Folio,
  type Machine,
  type Pfn,
} from '@mm/core';
import { describe, expect, it } from 'vitest';
import {
  Dmirror,
  FAULT_FLAG_WRITE,
  MEMORY_DEVICE_COHERENT,
  MEMORY_DEVICE_PRIVATE,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_WRITE,
  MIGRATE_VMA_SELECT_SYSTEM,
  MmStruct,
  VM_READ,
  VM_WRITE,
  dmirror_device_init,
  dmirror_device_remove_chunks,
  dmirror_devmem_alloc_page,
  dmirror_migrate_to_device,
  dmirror_migrate_to_system,
  handle_mm_fault,
  is_device_coherent_page,
  is_device_private_page,
  migrate_pfn,
  migrate_vma_finalize,
  migrate_vma_pages,
  migrate_vma_setup,
  migrateVmaArgs,
  mmapAnonymous,
  zap_page_range_single,
  type VmAreaStruct,
} from '../src/index.js';
import { STRATEGIES, changes, machine, recordFrees, snapshot } from './helpers.js';

const BASE = 0x10000000;
const addr = (i: number): number => BASE + i * PAGE_SIZE;

function anonMapped(m: Machine): number {
  return m.nodes[0]!.vmstat[NR_NODE.nr_anon_pages]!;
}

/** A process with `n` populated, writable anonymous pages at BASE, drained onto the LRU. */
function process(m: Machine, n: number): { mm: MmStruct; vma: VmAreaStruct; sys: number[] } {
  const mm = new MmStruct(m);
  const vma = mmapAnonymous(mm, BASE, n, VM_READ | VM_WRITE);
  for (let i = 0; i < n; i++) expect(handle_mm_fault(m, vma, addr(i), FAULT_FLAG_WRITE)).toBe(0);
  lru_add_drain_all(m);
  return { mm, vma, sys: Array.from({ length: n }, (_, i) => vma.pteAt(addr(i)).pfn) };
}

const flag = (m: Machine, p: number, bit: number): boolean => (m.memmap.flags[p]! & (1 << bit)) !== 0;

describe('device-private migration of anonymous memory and back', () => {
  it.each(STRATEGIES)('step by step, with mapcounts and refcounts at each step (%s)', (strategy) => {
    const m = machine(strategy);
    const frees = recordFrees(m);
    const d = dmirror_device_init(m, MEMORY_DEVICE_PRIVATE, 512);
    const pgmap = d.devmem_chunks[0]!.pagemap;
    const { mm, vma, sys } = process(m, 8);
    const dmirror = new Dmirror(d, mm);
    for (const p of sys) {
      // Mapped once, on the LRU, refcount 1 (the mapping's; the LRU batch reference was dropped by the drain).
      expect([m.memmap.refcount[p], folio_mapcount(m, p as Folio), flag(m, p, PG.lru), flag(m, p, PG.anon_exclusive)]).toEqual([1, 1, true, true]);
    }
    expect(anonMapped(m)).toBe(8);
    const mapping = m.memmap.mapping[sys[0]!];

    // 1. migrate_vma_setup: collected, locked, unmapped, isolated.
    const args = migrateVmaArgs({ vma, start: addr(0), end: addr(4), pgmap_owner: d, flags: MIGRATE_VMA_SELECT_SYSTEM });
    expect(migrate_vma_setup(m, args)).toBe(0);
    expect([args.npages, args.cpages]).toEqual([4, 4]);
    for (let i = 0; i < 4; i++) {
      const p = sys[i]!;
      expect(args.src[i]).toBe(migrate_pfn(p) | MIGRATE_PFN_MIGRATE | MIGRATE_PFN_WRITE);
      // Refcount 1 is the LRU-isolation reference: collect's reference was traded for it, the mapping's dropped.
      expect([m.memmap.refcount[p], folio_mapcount(m, p as Folio), flag(m, p, PG.locked), flag(m, p, PG.lru)]).toEqual([1, 0, true, false]);
      expect(vma.pteAt(addr(i))).toEqual({ kind: 'migration', pfn: p, write: true });
    }
    expect(anonMapped(m)).toBe(4);

    // 2. The driver allocates locked device pages (one pgmap reference each) and "copies".
    const dev: number[] = [];
    for (let i = 0; i < 4; i++) {
      const dp = dmirror_devmem_alloc_page(d) as Pfn;
      dev.push(dp);
      args.dst[i] = migrate_pfn(dp) | MIGRATE_PFN_WRITE;
      expect([m.memmap.refcount[dp], flag(m, dp, PG.locked)]).toEqual([1, true]);
    }
    expect([pgmap.ref, d.calloc]).toEqual([5, 4]);

    // 3. migrate_vma_pages: struct page metadata moves to the device pages.
    migrate_vma_pages(m, args);
    for (let i = 0; i < 4; i++) {
      expect(args.src[i]! & MIGRATE_PFN_MIGRATE).toBe(MIGRATE_PFN_MIGRATE);
      expect([m.memmap.mapping[dev[i]!], m.memmap.index[dev[i]!]]).toEqual([mapping, BASE / PAGE_SIZE + i]);
      expect(flag(m, dev[i]!, PG.swapbacked)).toBe(true);
    }

    // 4. migrate_vma_finalize: device-private entries, sources freed to the buddy allocator.
    migrate_vma_finalize(m, args);
    for (let i = 0; i < 4; i++) {
      const dp = dev[i]!;
      expect(vma.pteAt(addr(i))).toEqual({ kind: 'device_private', pfn: dp, write: true });
      expect([m.memmap.refcount[dp], folio_mapcount(m, dp as Folio), flag(m, dp, PG.locked), flag(m, dp, PG.anon_exclusive)]).toEqual([1, 1, false, true]);
      expect(is_device_private_page(m, dp as Pfn)).toBe(true);
      const p = sys[i]!;
      expect([m.memmap.refcount[p], m.memmap.mapcount[p], m.memmap.mapping[p]]).toEqual([0, -1, 0]);
    }
    expect(anonMapped(m)).toBe(8); // device-private anon pages still count as NR_ANON_MAPPED
    expect(frees.filter((e) => e.endsWith('zone_device'))).toEqual([]);

    // The rest through the driver's own command.
    expect(dmirror_migrate_to_device(dmirror, addr(4), 4)).toEqual({ ret: 0, cpages: 4 });
    expect(pgmap.ref).toBe(9);
    expect(dmirror.pt.size).toBe(4); // only the driver's own command maps pages in the device page table

    // 5. A CPU fault on a device-private entry: migrate_to_ram brings the page back. (The fault handler
    // finds its mirror through the backing page the driver's own command set up, so fault page 4.)
    const dp0 = vma.pteAt(addr(4)).pfn;
    expect(handle_mm_fault(m, vma, addr(4), FAULT_FLAG_WRITE)).toBe(0);
    const back = vma.pteAt(addr(4));
    expect(back.kind).toBe('present');
    expect(is_zone_device_page(m, back.pfn as Pfn)).toBe(false);
    lru_add_drain_all(m);
    expect([m.memmap.refcount[back.pfn], folio_mapcount(m, back.pfn as Folio), flag(m, back.pfn, PG.lru), m.memmap.mapping[back.pfn]]).toEqual([1, 1, true, mapping]);
    // The device page reached 0 exactly once: page_free put it back on the free list, its pgmap ref is gone.
    expect(frees.filter((e) => e.endsWith('zone_device'))).toEqual([`${dp0}:zone_device`]);
    expect([m.memmap.refcount[dp0], m.memmap.mapcount[dp0], d.free_pages, d.cfree, pgmap.ref]).toEqual([0, -1, dp0, 1, 8]);

    expect(dmirror.pt.has(BASE / PAGE_SIZE + 4)).toBe(false);

    // 6. The rest back to system memory (page 4 is already there and not selected).
    expect(dmirror_migrate_to_system(dmirror, addr(0), 8)).toEqual({ ret: 0, cpages: 7 });
    lru_add_drain_all(m);
    for (let i = 0; i < 8; i++) {
      const pte = vma.pteAt(addr(i));
      expect(pte.kind).toBe('present');
      expect([m.memmap.refcount[pte.pfn], folio_mapcount(m, pte.pfn as Folio)]).toEqual([1, 1]);
    }
    expect([pgmap.ref, d.calloc, d.cfree, anonMapped(m)]).toEqual([1, 8, 8, 8]);
    expect(frees.filter((e) => e.endsWith('zone_device')).length).toBe(8);
    // No device page ever reached the buddy allocator: every one is back on the driver's list.
    expect(d.freeList().length).toBe(512);
  });

  it('outcomes are identical under both strategies', () => {
    const run = (strategy: (typeof STRATEGIES)[number]): unknown => {
      const m = machine(strategy);
      const frees = recordFrees(m);
      const d = dmirror_device_init(m, MEMORY_DEVICE_PRIVATE, 512);
      const { mm, vma } = process(m, 8);
      const dmirror = new Dmirror(d, mm);
      const to = dmirror_migrate_to_device(dmirror, addr(0), 8);
      handle_mm_fault(m, vma, addr(3), 0);
      const from = dmirror_migrate_to_system(dmirror, addr(0), 4);
      zap_page_range_single(m, vma, addr(4), 4 * PAGE_SIZE);
      lru_add_drain_all(m);
      return { to, from, frees, ptes: Array.from({ length: 8 }, (_, i) => vma.pteAt(addr(i))), ref: d.devmem_chunks[0]!.pagemap.ref, calloc: d.calloc, cfree: d.cfree, anon: anonMapped(m) };
    };
    const a = run('owner-ops');
    expect(run('mainline')).toEqual(a);
    expect(a).toMatchObject({ to: { ret: 0, cpages: 8 }, from: { ret: 0, cpages: 3 }, ref: 1, calloc: 8, cfree: 8, anon: 4 }); // 1 fault + 3 migrated back + 4 zapped
  });

  it.each(STRATEGIES)('holes are populated with device pages; unmapping frees them through the owner (%s)', (strategy) => {
    const m = machine(strategy);
    const frees = recordFrees(m);
    const d = dmirror_device_init(m, MEMORY_DEVICE_PRIVATE, 512);
    const pgmap = d.devmem_chunks[0]!.pagemap;
    const mm = new MmStruct(m);
    const vma = mmapAnonymous(mm, BASE, 4, VM_READ | VM_WRITE);
    const dmirror = new Dmirror(d, mm);
    expect(dmirror_migrate_to_device(dmirror, BASE, 4)).toEqual({ ret: 0, cpages: 4 });
    const dev = [0, 1, 2, 3].map((i) => vma.pteAt(addr(i)));
    for (const pte of dev) {
      expect(pte.kind).toBe('device_private');
      expect([m.memmap.refcount[pte.pfn], folio_mapcount(m, pte.pfn as Folio)]).toEqual([1, 1]);
    }
    expect([pgmap.ref, anonMapped(m)]).toEqual([5, 4]);
    zap_page_range_single(m, vma, BASE, 4 * PAGE_SIZE);
    expect(frees).toEqual(dev.map((p) => `${p.pfn}:zone_device`));
    expect([pgmap.ref, anonMapped(m), d.cfree]).toEqual([1, 0, 4]);
    for (const pte of dev) expect(m.memmap.refcount[pte.pfn]).toBe(0);
  });

  it.each(STRATEGIES)('a pinned page is not migrated and its mapping is restored (%s)', (strategy) => {
    const m = machine(strategy);
    const d = dmirror_device_init(m, MEMORY_DEVICE_PRIVATE, 512);
    const { mm, vma, sys } = process(m, 2);
    const dmirror = new Dmirror(d, mm);
    folio_get(m, sys[1]! as Folio); // e.g. a GUP pin
    expect(dmirror_migrate_to_device(dmirror, BASE, 2)).toEqual({ ret: 0, cpages: 1 });
    lru_add_drain_all(m);
    expect(vma.pteAt(addr(1))).toEqual({ kind: 'present', pfn: sys[1], write: true });
    expect([m.memmap.refcount[sys[1]!], folio_mapcount(m, sys[1]! as Folio), flag(m, sys[1]!, PG.lru), flag(m, sys[1]!, PG.locked)]).toEqual([2, 1, true, false]);
    expect(flag(m, sys[1]!, PG.anon_exclusive)).toBe(true); // restored from the exclusive migration entry
    expect(d.calloc).toBe(1);
    folio_put(m, sys[1]! as Folio);
  });

  it.each(STRATEGIES)('evicting a chunk migrates its pages home, then memunmap_pages completes (%s)', (strategy) => {
    const m = machine(strategy);
    const d = dmirror_device_init(m, MEMORY_DEVICE_PRIVATE, 512);
    const chunk = d.devmem_chunks[0]!;
    const range = chunk.pagemap.ranges[0]!;
    const { mm, vma } = process(m, 4);
    const dmirror = new Dmirror(d, mm);
    dmirror_migrate_to_device(dmirror, BASE, 4);
    expect(chunk.pagemap.ref).toBe(5);
    expect(dmirror_device_remove_chunks(d)).toBe(true);
    expect(chunk.pagemap.state).toBe('unmapped');
    expect(pfn_valid(m, range.start)).toBe(false);
    lru_add_drain_all(m);
    for (let i = 0; i < 4; i++) {
      const pte = vma.pteAt(addr(i));
      expect(pte.kind).toBe('present');
      expect([is_zone_device_page(m, pte.pfn as Pfn), m.memmap.refcount[pte.pfn], folio_mapcount(m, pte.pfn as Folio)]).toEqual([false, 1, 1]);
    }
    expect(anonMapped(m)).toBe(4);
    expect(d.free_pages).toBe(-1);
  });

  it.each(STRATEGIES)('device-coherent memory is mapped with present PTEs and migrates back (%s)', (strategy) => {
    const m = machine(strategy);
    const d = dmirror_device_init(m, MEMORY_DEVICE_COHERENT, 512);
    const { mm, vma } = process(m, 3);
    const dmirror = new Dmirror(d, mm);
    expect(dmirror_migrate_to_device(dmirror, BASE, 3)).toEqual({ ret: 0, cpages: 3 });
    for (let i = 0; i < 3; i++) {
      const pte = vma.pteAt(addr(i));
      expect(pte.kind).toBe('present');
      expect(is_device_coherent_page(m, pte.pfn as Pfn)).toBe(true);
      expect([m.memmap.refcount[pte.pfn], folio_mapcount(m, pte.pfn as Folio)]).toEqual([1, 1]);
    }
    expect(dmirror_migrate_to_system(dmirror, BASE, 3)).toEqual({ ret: 0, cpages: 3 });
    expect([d.devmem_chunks[0]!.pagemap.ref, d.cfree]).toEqual([1, 3]);
  });

  it.each(STRATEGIES)('migrate_vma_setup rejects bad arguments with -EINVAL and changes nothing (%s)', (strategy) => {
    const m = machine(strategy);
    const d = dmirror_device_init(m, MEMORY_DEVICE_PRIVATE, 512);
    const { vma, sys } = process(m, 2);
    const before = snapshot(m);
    const bad = [
      migrateVmaArgs({ vma: null, start: BASE, end: addr(1), pgmap_owner: d, flags: MIGRATE_VMA_SELECT_SYSTEM }),
      migrateVmaArgs({ vma, start: addr(1), end: addr(1), pgmap_owner: d, flags: MIGRATE_VMA_SELECT_SYSTEM }),
      migrateVmaArgs({ vma, start: addr(1), end: addr(3), pgmap_owner: d, flags: MIGRATE_VMA_SELECT_SYSTEM }),
      migrateVmaArgs({ vma, start: BASE - PAGE_SIZE, end: addr(1), pgmap_owner: d, flags: MIGRATE_VMA_SELECT_SYSTEM }),
      migrateVmaArgs({ vma, start: BASE, end: addr(1), pgmap_owner: d, flags: MIGRATE_VMA_SELECT_SYSTEM, fault_page: sys[0] as Pfn }),
    ];
    for (const args of bad) expect(migrate_vma_setup(m, args)).toBe(-EINVAL);
    expect(changes(before, m)).toEqual([]);
  });
});
