import {
  EINVAL,
  ENOMEM,
  ENXIO,
  FOLIO_OWNER_OPS,
  MmError,
  NR_ZONE,
  PG,
  TAIL_BIT,
  ZONE,
  compound_head,
  createMachine,
  folio_nr_pages,
  folio_order,
  id_ptr,
  is_zone_device_page,
  page_to_nid,
  page_zonenum,
  pfn_to_online_page,
  pfn_valid,
  type Machine,
  type Pfn,
} from '@mm/core';
import { describe, expect, it } from 'vitest';
import {
  DevPagemap,
  MEMORY_DEVICE_COHERENT,
  MEMORY_DEVICE_FS_DAX,
  MEMORY_DEVICE_GENERIC,
  MEMORY_DEVICE_PCI_P2PDMA,
  MEMORY_DEVICE_PRIVATE,
  get_dev_pagemap,
  memremap_pages,
  memunmap_pages,
  page_get_pgmap,
  put_dev_pagemap,
  request_free_mem_region,
  zone_device_pages_have_same_pgmap,
  zoneDeviceState,
  type DevPagemapOps,
  type MemoryType,
} from '../src/index.js';
import { STRATEGIES, changes, machine, snapshot } from './helpers.js';

const ALL_TYPES: readonly MemoryType[] = [MEMORY_DEVICE_PRIVATE, MEMORY_DEVICE_COHERENT, MEMORY_DEVICE_FS_DAX, MEMORY_DEVICE_GENERIC, MEMORY_DEVICE_PCI_P2PDMA];
const OPS: DevPagemapOps = { page_free: () => undefined, migrate_to_ram: () => 0 };

function pgmapAt(type: MemoryType, start: number, nrPages = 512, vmemmap_shift = 0): DevPagemap {
  return new DevPagemap({ type, ranges: [{ start, nrPages }], ops: OPS, owner: 'drv', vmemmap_shift });
}

/** 64 MiB of RAM is 16384 pages; the first free subsection above it starts there. */
const RAM_PAGES = 16384;

function expectErrno(fn: () => unknown, errno: number): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(MmError);
  expect((err as MmError).errno).toBe(errno);
}

describe.each(STRATEGIES)('memremap_pages (%s)', (strategy) => {
  it.each(ALL_TYPES)('initialises every struct page of a type-%i pgmap as __init_zone_device_page does', (type) => {
    const m = machine(strategy);
    const before = snapshot(m);
    const oldFlags = m.memmap.flags.slice();
    const pgmap = pgmapAt(type, RAM_PAGES + 512);
    expect(memremap_pages(m, pgmap, 0)).toBe(RAM_PAGES + 512);
    // The memmap grew to cover the range; the PFNs that existed are untouched (RAM and the hole before the range).
    expect(m.memmap.nrPages).toBe(RAM_PAGES + 1024);
    expect(Array.from(m.memmap.flags.subarray(0, oldFlags.length))).toEqual(Array.from(oldFlags));
    expect(pfn_valid(m, RAM_PAGES)).toBe(false); // the hole between RAM and the device range
    // The buddy allocator's zones, nodes and counters did not change (only the memmap grew).
    expect(changes(before, m).filter((d) => !d.startsWith('memmap.'))).toEqual([]);
    const tag = strategy === 'owner-ops' ? FOLIO_OWNER_OPS : 0;
    const pfns = Array.from({ length: 512 }, (_, i) => (RAM_PAGES + 512 + i) as Pfn);
    const each = <T,>(fn: (p: Pfn) => T): T[] => pfns.map(fn);
    const all = <T,>(v: T): T[] => pfns.map(() => v);
    expect(each((p) => is_zone_device_page(m, p) && page_zonenum(m, p) === ZONE.DEVICE && page_to_nid(m, p) === 0)).toEqual(all(true));
    expect(each((p) => (m.memmap.flags[p]! & (1 << PG.reserved)) !== 0)).toEqual(all(true));
    // Refcount 0 (free in the driver) for all types but GENERIC, which starts (and stays) at 1.
    expect(each((p) => m.memmap.refcount[p])).toEqual(all(type === MEMORY_DEVICE_GENERIC ? 1 : 0));
    // The first word is the pgmap pointer, tagged with FOLIO_OWNER_OPS under series 1.
    expect(each((p) => m.memmap.lru[p])).toEqual(all(id_ptr(pgmap.id) | tag));
    expect(each((p) => m.memmap.lruPrev[p])).toEqual(all(0)); // zone_device_data = NULL
    expect(each((p) => m.memmap.mapcount[p])).toEqual(all(-1));
    expect(each((p) => page_get_pgmap(m, p))).toEqual(all(pgmap));
    expect(each((p) => pfn_to_online_page(m, p))).toEqual(all(false)); // §11.1: kpageflags/kpagecount read 0 for it
    // One base reference; the types other than PRIVATE/COHERENT also take one per folio up front.
    expect(pgmap.ref).toBe(type === MEMORY_DEVICE_PRIVATE || type === MEMORY_DEVICE_COHERENT ? 1 : 1 + 512);
    // The node's ZONE_DEVICE exists for page_zone() but is not a buddy zone.
    const zone = m.zoneById[(0 << 3) | ZONE.DEVICE]!;
    expect(zone.name).toBe('Device');
    expect(m.nodes[0]!.node_zones[ZONE.DEVICE]).toBe(zone);
    expect(m.zones).not.toContain(zone);
    expect([zone.zone_start_pfn, zone.spanned_pages, zone.present_pages, zone.managed_pages]).toEqual([RAM_PAGES + 512, 512, 0, 0]);
    expect(zone.vmstat[NR_ZONE.nr_free_pages]).toBe(0);
  });

  it('builds compound folios of 2^vmemmap_shift pages, one up-front reference each', () => {
    const m = machine(strategy);
    const pgmap = pgmapAt(MEMORY_DEVICE_GENERIC, RAM_PAGES, 1024, 9);
    memremap_pages(m, pgmap, 0);
    expect(pgmap.ref).toBe(1 + 2); // 1024 pages >> 9 = 2 folios
    for (const head of [RAM_PAGES, RAM_PAGES + 512]) {
      const f = head as Pfn & { readonly __folio: true };
      expect(m.memmap.flags[head]! & (1 << PG.head)).not.toBe(0);
      expect(folio_order(m, f)).toBe(9);
      expect(folio_nr_pages(m, f)).toBe(512);
      expect(m.memmap.refcount[head]).toBe(1);
      for (let t = head + 1; t < head + 512; t++) {
        expect(m.memmap.lru[t]! & TAIL_BIT).toBe(TAIL_BIT);
        expect(compound_head(m, t as Pfn)).toBe(head);
        expect(m.memmap.refcount[t]).toBe(0);
        expect(page_get_pgmap(m, t as Pfn)).toBe(pgmap);
      }
    }
    const fsdax = pgmapAt(MEMORY_DEVICE_FS_DAX, RAM_PAGES + 1024, 512, 3);
    memremap_pages(m, fsdax, 0);
    expect(fsdax.ref).toBe(1 + 64);
    expect(m.memmap.refcount[RAM_PAGES + 1024]).toBe(0);
    expect(zone_device_pages_have_same_pgmap(m, (RAM_PAGES + 3) as Pfn, (RAM_PAGES + 600) as Pfn)).toBe(true);
    expect(zone_device_pages_have_same_pgmap(m, (RAM_PAGES + 3) as Pfn, (RAM_PAGES + 1030) as Pfn)).toBe(false);
    expect(zone_device_pages_have_same_pgmap(m, 300 as Pfn, (RAM_PAGES + 3) as Pfn)).toBe(false);
    expect(zone_device_pages_have_same_pgmap(m, 300 as Pfn, 301 as Pfn)).toBe(true);
  });

  it('get_dev_pagemap takes a live reference; none for unmapped PFNs or dying pgmaps', () => {
    const m = machine(strategy);
    const pgmap = pgmapAt(MEMORY_DEVICE_FS_DAX, RAM_PAGES);
    memremap_pages(m, pgmap);
    expect(get_dev_pagemap(m, RAM_PAGES + 7)).toBe(pgmap);
    expect(pgmap.ref).toBe(514);
    expect(get_dev_pagemap(m, 100)).toBeNull();
    expect(get_dev_pagemap(m, RAM_PAGES + 512)).toBeNull();
    const done = memunmap_pages(m, pgmap);
    // Our reference keeps the pgmap: memunmap_pages waits for it.
    expect(done.done).toBe(false);
    expect(pgmap.state).toBe('dying');
    expect(get_dev_pagemap(m, RAM_PAGES + 7)).toBeNull();
    put_dev_pagemap(m, pgmap);
    expect(done.done).toBe(true);
    expect(pgmap.ref).toBe(0);
    expect(pgmap.state).toBe('unmapped');
  });

  it('memunmap_pages tears the ranges down; the pgmap can be mapped again', () => {
    const m = machine(strategy);
    const pgmap = pgmapAt(MEMORY_DEVICE_PRIVATE, RAM_PAGES, 1024);
    memremap_pages(m, pgmap);
    const id = pgmap.id;
    const done = memunmap_pages(m, pgmap);
    expect(done.done).toBe(true);
    for (const p of [RAM_PAGES, RAM_PAGES + 1023]) expect(pfn_valid(m, p)).toBe(false);
    expect(m.ownerOps.get(id)).toBeUndefined();
    expect(zoneDeviceState(m).pgmaps).toEqual([]);
    expect(m.zoneById[ZONE.DEVICE]!.spanned_pages).toBe(0);
    expectErrno(() => memunmap_pages(m, pgmap), EINVAL);
    memremap_pages(m, pgmap);
    expect(pgmap.ref).toBe(1);
    expect(page_get_pgmap(m, RAM_PAGES as Pfn)).toBe(pgmap);
  });

  it('places pgmaps on the requested node', () => {
    const m = machine(strategy, { nodes: 2 });
    const r = request_free_mem_region(m, 512)!;
    expect(r.start).toBe(RAM_PAGES);
    const pgmap = new DevPagemap({ type: MEMORY_DEVICE_GENERIC, ranges: [r] });
    memremap_pages(m, pgmap, 1);
    expect(page_to_nid(m, r.start as Pfn)).toBe(1);
    expect(m.nodes[1]!.node_zones[ZONE.DEVICE]!.spanned_pages).toBe(512);
    expect(m.nodes[0]!.node_zones[ZONE.DEVICE]).toBeUndefined();
    expect(request_free_mem_region(m, 512)!.start).toBe(RAM_PAGES + 512);
  });
});

describe.each(STRATEGIES)('memremap_pages rejects bad input with the kernel errno and changes nothing (%s)', (strategy) => {
  function rejects(m: Machine, pgmap: DevPagemap, errno: number, nid = -1): void {
    const before = snapshot(m);
    const pgmaps = [...zoneDeviceState(m).pgmaps];
    const owners = m.ownerOps.all().length;
    expectErrno(() => memremap_pages(m, pgmap, nid), errno);
    expect(changes(before, m)).toEqual([]);
    expect(zoneDeviceState(m).pgmaps).toEqual(pgmaps);
    expect(m.ownerOps.all().length).toBe(owners);
    expect(pgmap.state).toBe('unmapped');
  }

  it('missing ops or owner → EINVAL', () => {
    const m = machine(strategy);
    const r = [{ start: RAM_PAGES, nrPages: 512 }];
    rejects(m, new DevPagemap({ type: MEMORY_DEVICE_PRIVATE, ranges: r, ops: { page_free: () => undefined }, owner: 1 }), EINVAL);
    rejects(m, new DevPagemap({ type: MEMORY_DEVICE_PRIVATE, ranges: r, ops: { migrate_to_ram: () => 0 }, owner: 1 }), EINVAL);
    rejects(m, new DevPagemap({ type: MEMORY_DEVICE_PRIVATE, ranges: r, ops: OPS }), EINVAL);
    rejects(m, new DevPagemap({ type: MEMORY_DEVICE_PRIVATE, ranges: r, owner: 1 }), EINVAL);
    rejects(m, new DevPagemap({ type: MEMORY_DEVICE_COHERENT, ranges: r, owner: 1 }), EINVAL);
    rejects(m, new DevPagemap({ type: MEMORY_DEVICE_COHERENT, ranges: r, ops: OPS }), EINVAL);
    rejects(m, new DevPagemap({ type: 9 as MemoryType, ranges: r }), EINVAL);
    rejects(m, new DevPagemap({ type: MEMORY_DEVICE_GENERIC, ranges: [] }), EINVAL);
  });

  it('overlap with another pgmap → ENOMEM', () => {
    const m = machine(strategy);
    memremap_pages(m, pgmapAt(MEMORY_DEVICE_GENERIC, RAM_PAGES, 1024));
    rejects(m, pgmapAt(MEMORY_DEVICE_FS_DAX, RAM_PAGES + 512, 1024), ENOMEM);
    rejects(m, pgmapAt(MEMORY_DEVICE_FS_DAX, RAM_PAGES, 512), ENOMEM);
    // Two ranges of the same pgmap may not overlap either.
    rejects(m, new DevPagemap({ type: MEMORY_DEVICE_GENERIC, ranges: [{ start: RAM_PAGES + 2048, nrPages: 1024 }, { start: RAM_PAGES + 2560, nrPages: 512 }] }), ENOMEM);
  });

  it('a range on System RAM → ENXIO', () => {
    const m = machine(strategy);
    rejects(m, pgmapAt(MEMORY_DEVICE_GENERIC, 4096), ENXIO);
    rejects(m, pgmapAt(MEMORY_DEVICE_GENERIC, RAM_PAGES - 512, 1024), ENXIO); // straddles max_pfn
  });

  it('misaligned ranges, bad nodes, bad vmemmap_shift, a pgmap already mapped → EINVAL', () => {
    const m = machine(strategy);
    rejects(m, pgmapAt(MEMORY_DEVICE_GENERIC, RAM_PAGES + 1, 512), EINVAL);
    rejects(m, pgmapAt(MEMORY_DEVICE_GENERIC, RAM_PAGES, 100), EINVAL);
    rejects(m, pgmapAt(MEMORY_DEVICE_GENERIC, RAM_PAGES, 512, 10), EINVAL); // 512 pages are not whole 1024-page folios
    rejects(m, pgmapAt(MEMORY_DEVICE_GENERIC, RAM_PAGES, 512, 19), EINVAL);
    rejects(m, pgmapAt(MEMORY_DEVICE_GENERIC, RAM_PAGES), EINVAL, 3);
    rejects(m, pgmapAt(MEMORY_DEVICE_GENERIC, 2 ** 30), EINVAL); // beyond the memmap limit
    const p = pgmapAt(MEMORY_DEVICE_GENERIC, RAM_PAGES);
    memremap_pages(m, p);
    const before = snapshot(m);
    expectErrno(() => memremap_pages(m, p), EINVAL);
    expect(changes(before, m)).toEqual([]);
  });

  it('a machine without the plugin has no ZONE_DEVICE → ENXIO', () => {
    const m = createMachine({ memory: '64M', strategy, debugVm: true });
    const before = snapshot(m);
    expectErrno(() => memremap_pages(m, pgmapAt(MEMORY_DEVICE_GENERIC, RAM_PAGES)), ENXIO);
    expect(changes(before, m)).toEqual([]);
  });
});
