import type { Machine } from '@mm/core';
import { describe, expect, it } from 'vitest';
import { ExploreState, StateTable, StateTracker, createScenarioMachine, findScenario } from '../src/index.js';

/** The balloon-deflate scenario's machine, set up. */
function setUp(): Machine {
  const m = createScenarioMachine({ scenario: findScenario('balloon-deflate'), params: {} });
  m.container.resolve(ExploreState).setup();
  return m;
}

describe('the explorer state covers the machine numbers outside the memmap that steer later steps', () => {
  const changes: [string, (m: Machine, d: number) => void][] = [
    ['nrBadPages', (m, d) => (m.nrBadPages += d)],
    ['managed_pages', (m, d) => (m.zones[0]!.managed_pages += d)],
    ['the min watermark', (m, d) => (m.zones[0]!.watermark[0]! += d)],
    ['a lowmem reserve', (m, d) => (m.zones[0]!.lowmem_reserve[0]! += d)],
    ['compaction deferral', (m, d) => (m.zones[0]!.compact.defer_shift += d)],
    ['pcp high_min', (m, d) => (m.zones[0]!.per_cpu_pageset[0]!.high_min += d)],
    ['pcp high_max', (m, d) => (m.zones[0]!.per_cpu_pageset[1]!.high_max += d)],
  ];
  for (const [what, change] of changes) {
    it(`${what}: a changed value is a new state; changed back, the same state`, () => {
      const m = setUp();
      const t = new StateTracker();
      const table = new StateTable<number>(true);
      t.sync(m);
      t.syncSmall(m, []);
      table.add(t, -1, 1);
      change(m, 1);
      t.sync(m);
      t.syncSmall(m, []);
      expect(table.get(t, -1)).toBeUndefined();
      change(m, -1);
      t.sync(m);
      t.syncSmall(m, []);
      expect(table.get(t, -1)?.value).toBe(1);
    });
  }
});
