import { createMachine, recordOperations, type Machine } from '@mm/core';
import { hugetlbPlugin } from '@mm/hugetlb';
import { VizRecorder, type VizTimeline } from '../src/index.js';
import scenario, { HUGE_POOL } from './fixtures/hugetlb-lru.js';

/** The fixture scenario run on a fresh machine, with its timeline recorded. */
export interface FixtureRun {
  /** The machine after the scenario. */
  readonly m: Machine;
  /** Its timeline. */
  readonly timeline: VizTimeline;
}

/** Boot the fixture's machine (hugetlb pool of {@link HUGE_POOL} pages) and run it through a recorder. */
export function runFixture(strategy: 'owner-ops' | 'mainline' = 'owner-ops'): FixtureRun {
  const m = createMachine({ ...scenario.machine, strategy, debugVm: true, plugins: [hugetlbPlugin({ pools: { '2M': HUGE_POOL } })] });
  const rec = new VizRecorder(m);
  scenario.run(recordOperations(m, rec.sink, { plugins: ['hugetlb'] }), m);
  rec.detach();
  return { m, timeline: rec.timeline() };
}
