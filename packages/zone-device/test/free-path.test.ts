import {
  EBUSY,
  EINVAL,
  ENXIO,
  EOPNOTSUPP,
  MmError,
  NR_ZONE,
  PG,
  folio_get,
  folio_put,
  folio_ref_add,
  folio_unlock,
  folios_put,
  pfn_valid,
  type Folio,
  type Machine,
  type Pfn,
} from '@mm/core';
import { describe, expect, it } from 'vitest';
import {
  DevPagemap,
  MEMORY_DEVICE_COHERENT,
  MEMORY_DEVICE_FS_DAX,
  MEMORY_DEVICE_GENERIC,
  MEMORY_DEVICE_PRIVATE,
  PciP2pdma,
  dax_pgoff_to_phys,
  devm_create_dev_dax,
  get_dev_pagemap,
  is_device_coherent_page,
  is_device_private_page,
  is_pci_p2pdma_page,
  folio_is_device_private,
  memory_failure_dev_pagemap,
  memremap_pages,
  memunmap_pages,
  p2pmem_alloc_mmap,
  pci_alloc_p2pmem,
  pci_free_p2pmem,
  pci_p2pdma_add_resource,
  put_dev_pagemap,
  request_free_mem_region,
  unregister_dev_dax,
  wait_page_idle,
  zone_device_page_init,
} from '../src/index.js';
import { STRATEGIES, changes, machine, recordFrees, snapshot } from './helpers.js';

const f = (n: number): Folio => n as Folio;

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

/** A minimal driver for PRIVATE/COHERENT memory: counts page_free calls per page. */
function driver(m: Machine, type: typeof MEMORY_DEVICE_PRIVATE | typeof MEMORY_DEVICE_COHERENT, nrPages = 512) {
  const freed: number[] = [];
  const range = request_free_mem_region(m, nrPages)!;
  const pgmap = new DevPagemap({ type, ranges: [range], owner: 'test-driver', ops: { page_free: (p) => freed.push(p), migrate_to_ram: () => 0 } });
  memremap_pages(m, pgmap);
  return { pgmap, freed, first: range.start };
}

function totalFree(m: Machine): number {
  return m.zones.reduce((s, z) => s + z.vmstat[NR_ZONE.nr_free_pages]!, 0);
}

/** The observable outcome of a scenario, compared across strategies. */
type Outcome = Record<string, unknown>;

function sameUnderBothStrategies(run: (m: Machine) => Outcome): void {
  const results = STRATEGIES.map((s) => {
    const m = machine(s);
    const frees = recordFrees(m);
    const out = run(m);
    return { ...out, frees };
  });
  expect(results[1]).toEqual(results[0]);
}

describe('PRIVATE and COHERENT: driver allocation and free', () => {
  it.each([MEMORY_DEVICE_PRIVATE, MEMORY_DEVICE_COHERENT] as const)('type %i: allocate, reference, free; page_free once per 1→0 transition, pgmap refs balance', (type) => {
    sameUnderBothStrategies((m) => {
      const { pgmap, freed, first } = driver(m, type);
      const buddyFree = totalFree(m);
      const p = first as Pfn;
      expect(type === MEMORY_DEVICE_PRIVATE ? is_device_private_page(m, p) : is_device_coherent_page(m, p)).toBe(true);
      expect(folio_is_device_private(m, f(p))).toBe(type === MEMORY_DEVICE_PRIVATE);
      zone_device_page_init(m, p);
      // Allocated: refcount 1, locked, one pgmap reference on top of the base one.
      expect([m.memmap.refcount[p], pgmap.ref]).toEqual([1, 2]);
      expect(m.memmap.flags[p]! & (1 << PG.locked)).not.toBe(0);
      folio_unlock(m, f(p));
      folio_get(m, f(p));
      folio_get(m, f(p));
      folio_put(m, f(p));
      folio_put(m, f(p));
      expect(freed).toEqual([]); // 3→2→1: no transition to 0 yet
      folio_put(m, f(p));
      // 1→0: page_free ran once, the page stays at 0 (free in the driver), the allocation's pgmap ref is gone.
      expect(freed).toEqual([p]);
      expect([m.memmap.refcount[p], pgmap.ref]).toEqual([0, 1]);
      // Reallocate and free again: one more callback, never more than one per transition.
      zone_device_page_init(m, p);
      folio_unlock(m, f(p));
      folio_put(m, f(p));
      expect(freed).toEqual([p, p]);
      expect(pgmap.ref).toBe(1);
      // Nothing reached the buddy allocator.
      expect(totalFree(m)).toBe(buddyFree);
      return { freed: [...freed], ref: pgmap.ref };
    });
  });

  it('folios_put frees a batch of device folios, one callback each', () => {
    sameUnderBothStrategies((m) => {
      const { pgmap, freed, first } = driver(m, MEMORY_DEVICE_PRIVATE);
      const folios = [0, 1, 2, 3].map((i) => f(first + i));
      for (const x of folios) {
        zone_device_page_init(m, x);
        folio_unlock(m, x);
      }
      folio_get(m, folios[1]!);
      expect(pgmap.ref).toBe(5);
      folios_put(m, folios);
      expect(freed).toEqual([first, first + 2, first + 3]);
      expect(pgmap.ref).toBe(2);
      folio_put(m, folios[1]!);
      expect(freed).toEqual([first, first + 2, first + 3, first + 1]);
      expect(pgmap.ref).toBe(1);
      return { freed: [...freed] };
    });
  });

  it('memunmap_pages completes only after the last driver-held page is freed', () => {
    sameUnderBothStrategies((m) => {
      const { pgmap, freed, first } = driver(m, MEMORY_DEVICE_PRIVATE);
      for (const i of [0, 1]) {
        zone_device_page_init(m, (first + i) as Pfn);
        folio_unlock(m, f(first + i));
      }
      const done = memunmap_pages(m, pgmap);
      const steps = [done.done];
      expect(pgmap.ref).toBe(2); // base dropped by the kill; two allocated pages remain
      // Dying: no new allocation, no new lookup reference.
      const before = snapshot(m);
      expectErrno(() => zone_device_page_init(m, (first + 2) as Pfn), ENXIO);
      expect(changes(before, m)).toEqual([]);
      expect(get_dev_pagemap(m, first)).toBeNull();
      folio_put(m, f(first));
      steps.push(done.done);
      expect(pfn_valid(m, first + 1)).toBe(true);
      let completedInside = false;
      done.whenDone(() => (completedInside = true));
      folio_put(m, f(first + 1));
      steps.push(done.done);
      expect(completedInside).toBe(true);
      expect(freed).toEqual([first, first + 1]);
      expect(pfn_valid(m, first)).toBe(false); // the struct pages are gone
      return { steps };
    });
  });
});

describe.each(STRATEGIES)('other memory types (%s)', (strategy) => {
  it('GENERIC: a put reaching 0 runs the callback once and resets the refcount to 1', () => {
    const m = machine(strategy);
    const frees = recordFrees(m);
    const dax = devm_create_dev_dax(m, 1024, 9);
    const folio = dax_pgoff_to_phys(dax, 700) as Folio;
    expect(folio).toBe(dax.pgmap.ranges[0]!.start + 512);
    expect(m.memmap.refcount[folio]).toBe(1);
    folio_get(m, folio); // a mapping
    folio_put(m, folio); // unmapped
    expect(frees).toEqual([]);
    m.memmap.mapping[folio] = 0x1000; // device-dax keeps its own mapping across the free
    folio_put(m, folio); // the last reference: 1→0
    expect(frees).toEqual([`${folio}:zone_device`]);
    expect(m.memmap.refcount[folio]).toBe(1); // never stays at 0
    expect(m.memmap.mapping[folio]).toBe(0x1000);
    expect(dax.pgmap.ref).toBe(1 + 2);
    // Busy pages block the teardown (EBUSY, nothing changed); idle ones let it complete at once.
    folio_get(m, folio);
    const before = snapshot(m);
    expectErrno(() => unregister_dev_dax(dax), EBUSY);
    expect(changes(before, m)).toEqual([]);
    folio_put(m, folio);
    expect(unregister_dev_dax(dax).done).toBe(true);
  });

  it('FS_DAX: the last put wakes the idle-page waiters', () => {
    const m = machine(strategy);
    const frees = recordFrees(m);
    const r = request_free_mem_region(m, 512)!;
    const pgmap = new DevPagemap({ type: MEMORY_DEVICE_FS_DAX, ranges: [r] });
    memremap_pages(m, pgmap);
    const page = (r.start + 5) as Folio;
    let woke = 0;
    expect(wait_page_idle(m, page, () => woke++)).toBe(true); // idle at 0: runs at once
    folio_ref_add(m, page, 1); // dax_fault_iter: folio_ref_inc for the mapping
    m.memmap.mapping[page] = 0x2000;
    expect(wait_page_idle(m, page, () => woke++)).toBe(false);
    folio_get(m, page); // GUP pin
    folio_put(m, page);
    expect([woke, pgmap.wakeups]).toEqual([1, 0]);
    folio_put(m, page); // unmap: 1→0
    expect([woke, pgmap.wakeups, m.memmap.refcount[page]]).toEqual([2, 1, 0]);
    expect(frees).toEqual([`${page}:zone_device`]);
    expect(m.memmap.mapping[page]).toBe(0x2000); // FS_DAX keeps its mapping
    // A get_dev_pagemap reference pins the pgmap across memunmap_pages.
    const held = get_dev_pagemap(m, page)!;
    const done = memunmap_pages(m, pgmap);
    expect(done.done).toBe(false);
    put_dev_pagemap(m, held);
    expect(done.done).toBe(true);
  });

  it('PCI_P2PDMA: freed pages return to the pool; memunmap waits for the pool', () => {
    const m = machine(strategy);
    const frees = recordFrees(m);
    const p2p = new PciP2pdma(m);
    expect(pci_p2pdma_add_resource(p2p, 512)).toBe(0);
    const pgmap = p2p.pgmaps[0]!;
    expect([p2p.pool.gen_pool_size(), p2p.pool.gen_pool_avail(), pgmap.ref]).toEqual([512, 512, 513]);
    const pages = p2pmem_alloc_mmap(p2p, 4)!;
    expect(is_pci_p2pdma_page(m, pages[0]!)).toBe(true);
    expect(pages.map((p) => m.memmap.refcount[p])).toEqual([1, 1, 1, 1]);
    expect([p2p.pool.gen_pool_avail(), pgmap.ref]).toEqual([508, 517]);
    const kbuf = pci_alloc_p2pmem(p2p, 8) as Pfn;
    expect(kbuf).toBe(pages[3]! + 1); // first fit
    expect([p2p.pool.gen_pool_avail(), pgmap.ref]).toEqual([500, 525]);
    for (const p of pages) folio_put(m, p as Folio);
    expect(frees).toEqual(pages.map((p) => `${p}:zone_device`));
    expect([p2p.pagesFreed, p2p.pool.gen_pool_avail(), pgmap.ref]).toEqual([4, 504, 521]);
    const done = memunmap_pages(m, pgmap);
    expect([done.done, pgmap.ref]).toEqual([false, 8]); // base and up-front refs dropped; the kernel buffer remains
    pci_free_p2pmem(p2p, kbuf, 8);
    expect(done.done).toBe(true);
    // Freeing pool memory twice is rejected.
    expectErrno(() => p2p.pool.gen_pool_free_owner(kbuf, 1), EINVAL);
  });

  it('memory_failure_dev_pagemap: driver handler, else the generic handler', () => {
    const m = machine(strategy);
    const calls: number[] = [];
    const r = request_free_mem_region(m, 1024)!;
    const priv = new DevPagemap({ type: MEMORY_DEVICE_PRIVATE, ranges: [{ start: r.start, nrPages: 512 }], owner: 1, ops: { page_free: () => undefined, migrate_to_ram: () => 0 } });
    const fsdax = new DevPagemap({ type: MEMORY_DEVICE_FS_DAX, ranges: [{ start: r.start + 512, nrPages: 512 }], ops: { memory_failure: (_p, pfn) => (calls.push(pfn), -EOPNOTSUPP) } });
    memremap_pages(m, priv);
    memremap_pages(m, fsdax);
    expect(memory_failure_dev_pagemap(m, r.start as Pfn, 0)).toBe(-ENXIO);
    expect(memory_failure_dev_pagemap(m, (r.start + 600) as Pfn, 0)).toBe(0);
    expect(calls).toEqual([r.start + 600]); // consulted, returned -EOPNOTSUPP, generic handler took over
    expect(m.memmap.flags[r.start + 600]! & (1 << PG.hwpoison)).not.toBe(0);
    expect([priv.ref, fsdax.ref]).toEqual([1, 513]);
  });
});

describe.each(STRATEGIES)('bad input on the free path gives the kernel errno and changes nothing (%s)', (strategy) => {
  it('puts and allocations that break the rules', () => {
    const m = machine(strategy);
    const { pgmap, freed, first } = driver(m, MEMORY_DEVICE_PRIVATE);
    const p = first as Pfn;
    const dax = devm_create_dev_dax(m, 512);
    const check = (fn: () => unknown, errno: number): void => {
      const before = snapshot(m);
      const ref = pgmap.ref;
      expectErrno(fn, errno);
      expect(changes(before, m)).toEqual([]);
      expect([pgmap.ref, freed.length]).toEqual([ref, 0]);
    };
    check(() => folio_put(m, f(p)), EINVAL); // a free device page has no reference to drop
    check(() => folio_get(m, f(p)), EINVAL);
    check(() => zone_device_page_init(m, dax.pgmap.ranges[0]!.start as Pfn), EINVAL); // GENERIC pages are not driver-allocated
    check(() => zone_device_page_init(m, 100 as Pfn), EINVAL); // not ZONE_DEVICE
    zone_device_page_init(m, p);
    check(() => zone_device_page_init(m, p), EINVAL); // already allocated
    folio_unlock(m, f(p));
    check(() => put_dev_pagemap(m, new DevPagemap({ type: MEMORY_DEVICE_GENERIC, ranges: [] })), EINVAL);
    // Freeing a page of a dying pgmap: the allocated page's last put is legal and completes the unmap;
    // a second put of that page, now gone, is rejected.
    const done = memunmap_pages(m, pgmap);
    check(() => memunmap_pages(m, pgmap), EINVAL);
    check(() => zone_device_page_init(m, (p + 1) as Pfn), ENXIO);
    check(() => folio_put(m, f(p + 1)), EINVAL);
    folio_put(m, f(p));
    expect([done.done, freed]).toEqual([true, [p]]);
    freed.length = 0;
    check(() => folio_put(m, f(p)), EINVAL);
    check(() => put_dev_pagemap(m, pgmap), EINVAL);
  });
});
