import { FOLIO_OWNER_OPS, violatedInvariant, id_ptr, type Machine } from '@mm/core';
import { describe, expect, it } from 'vitest';
import { DevPagemap, MEMORY_DEVICE_PRIVATE, ZoneDeviceInvariants, memremap_pages, request_free_mem_region } from '../src/index.js';
import { STRATEGIES, machine } from './helpers.js';

// checkChanged is told which pages' memmap words changed since the last check; it must throw
// exactly when check does, whether the broken rule is on a changed page or comes from state outside
// the memmap (a pgmap's ranges).
describe.each(STRATEGIES)('ZoneDeviceInvariants.checkChanged (%s)', (strategy) => {
  function setup(): { m: Machine; pgmap: DevPagemap; c: ZoneDeviceInvariants; start: number } {
    const m = machine(strategy, { debugVm: false });
    const r = request_free_mem_region(m, 512)!;
    const pgmap = new DevPagemap({ type: MEMORY_DEVICE_PRIVATE, ranges: [r], owner: 'drv', ops: { page_free: () => undefined, migrate_to_ram: () => 0 } });
    memremap_pages(m, pgmap);
    const c = new ZoneDeviceInvariants();
    c.check(m);
    expect(violatedInvariant(() => c.checkChanged(m, []))).toBeNull(); // nothing changed: passes
    return { m, pgmap, c, start: r.start };
  }

  it('finds a page outside the pgmap that changed to carry it as owner ops, as check does', () => {
    const { m, pgmap, c } = setup();
    const q = 100; // a RAM page, far below the device range
    m.memmap.lru[q] = id_ptr(pgmap.id) | FOLIO_OWNER_OPS;
    expect(violatedInvariant(() => c.checkChanged(m, [q]))).toBe('§5.1 pgmap word');
    expect(violatedInvariant(() => c.check(m))).toBe('§5.1 pgmap word');
  });

  it('finds an unchanged page the pgmap no longer covers (its ranges changed outside the memmap) exactly when check does', () => {
    const { m, pgmap, c, start } = setup();
    (pgmap.ranges as { start: number; nrPages: number }[])[0] = { start, nrPages: 256 }; // the upper half keeps its pgmap words
    // Under mainline the pgmap word is bare (no owner-ops tag) and the rule is about tagged words only: neither reports it.
    const expected = strategy === 'owner-ops' ? '§5.1 pgmap word' : null;
    expect(violatedInvariant(() => c.checkChanged(m, []))).toBe(expected);
    expect(violatedInvariant(() => c.check(m))).toBe(expected);
  });

  it('forgets a page whose owner-ops word was cleared', () => {
    const { m, pgmap, c } = setup();
    const q = 100;
    const old = m.memmap.lru[q]!;
    m.memmap.lru[q] = id_ptr(pgmap.id) | FOLIO_OWNER_OPS;
    expect(violatedInvariant(() => c.checkChanged(m, [q]))).toBe('§5.1 pgmap word');
    m.memmap.lru[q] = old;
    expect(violatedInvariant(() => c.checkChanged(m, [q]))).toBeNull();
    expect(violatedInvariant(() => c.check(m))).toBeNull();
  });
});
