import { PG, VmBugError, folio_put, type Folio, type Machine } from '@mm/core';
import { describe, expect, it } from 'vitest';
import { DevPagemap, MEMORY_DEVICE_GENERIC, MEMORY_DEVICE_PRIVATE, ZoneDeviceInvariants, memremap_pages, request_free_mem_region, zone_device_page_init } from '../src/index.js';
import { STRATEGIES, machine } from './helpers.js';

function bug(m: Machine): string | null {
  try {
    new ZoneDeviceInvariants().check(m);
    m.checkInvariants('test');
    return null;
  } catch (e) {
    if (e instanceof VmBugError) return e.invariant;
    throw e;
  }
}

describe.each(STRATEGIES)('§13 §5 zone-device invariants (%s)', (strategy) => {
  function setup(type: typeof MEMORY_DEVICE_PRIVATE | typeof MEMORY_DEVICE_GENERIC) {
    const m = machine(strategy, { debugVm: false });
    const r = request_free_mem_region(m, 512)!;
    const pgmap = new DevPagemap({ type, ranges: [r], owner: 'drv', ops: { page_free: () => undefined, migrate_to_ram: () => 0 } });
    memremap_pages(m, pgmap);
    return { m, pgmap, p: r.start };
  }

  it('holds for freshly mapped pgmaps, for the core checker too', () => {
    expect(bug(setup(MEMORY_DEVICE_PRIVATE).m)).toBeNull();
    expect(bug(setup(MEMORY_DEVICE_GENERIC).m)).toBeNull();
    expect(new ZoneDeviceInvariants().name).toBe('§5 zone device');
  });

  it('the plugin installs the check: debugVm machines run it', () => {
    const m = machine(strategy);
    expect(m.invariantChecks.some((c) => c instanceof ZoneDeviceInvariants)).toBe(true);
  });

  it('detects a wrong pgmap word, a missing PG_reserved, a page type', () => {
    let s = setup(MEMORY_DEVICE_PRIVATE);
    s.m.memmap.lru[s.p + 3] ^= 2; // flip the tag: wrong word for this strategy
    expect(bug(s.m)).toBe('§5.1 pgmap word');
    s = setup(MEMORY_DEVICE_PRIVATE);
    s.m.memmap.flags[s.p + 3]! &= ~(1 << PG.reserved);
    expect(bug(s.m)).toBe('§5.1 reserved');
    s = setup(MEMORY_DEVICE_PRIVATE);
    s.m.memmap.mapcount[s.p + 3] = (0xf0 << 24) | 0; // PageBuddy on a device page
    expect(bug(s.m)).toBe('§5.4 never to buddy');
  });

  it('detects an allocated page without its pgmap reference, and a free page still mapped', () => {
    let s = setup(MEMORY_DEVICE_PRIVATE);
    zone_device_page_init(s.m, s.p as Folio);
    s.pgmap.ref--; // lose the allocation's reference
    expect(bug(s.m)).toBe('§5.2 pgmap refs');
    s = setup(MEMORY_DEVICE_PRIVATE);
    s.m.memmap.mapcount[s.p] = 0;
    expect(bug(s.m)).toBe('§5.2 free device page');
  });

  it('detects a GENERIC page left at refcount 0', () => {
    const s = setup(MEMORY_DEVICE_GENERIC);
    s.m.memmap.refcount[s.p] = 0;
    expect(bug(s.m)).toBe('§5.3 GENERIC at 0');
  });

  it('a debugVm machine stops at the first operation after a corruption', () => {
    const m = machine(strategy);
    const r = request_free_mem_region(m, 512)!;
    const pgmap = new DevPagemap({ type: MEMORY_DEVICE_GENERIC, ranges: [r] });
    memremap_pages(m, pgmap);
    m.memmap.refcount[r.start + 1] = 0;
    expect(() => folio_put(m, r.start as Folio)).toThrow(VmBugError);
  });
});
