import { EINVAL, MmError } from '@mm/core';
import { balloonDeflateScenario } from './balloon-deflate.js';
import { gmemConversionScenario } from './gmem-conversion.js';
import { hugetlbIsolationScenario } from './hugetlb-isolation.js';
import { migrateSpeculativeScenario } from './migrate-speculative.js';
import type { Scenario } from './scenario.js';
import { trygetFinalPutScenario } from './tryget-final-put.js';
import { zsmallocFreeIsolatedScenario } from './zsmalloc-free-isolated.js';

/** Every race scenario, by name. */
export const SCENARIOS: readonly Scenario[] = [
  balloonDeflateScenario,
  migrateSpeculativeScenario,
  trygetFinalPutScenario,
  zsmallocFreeIsolatedScenario,
  hugetlbIsolationScenario,
  gmemConversionScenario,
];

/** The scenario named `name`; `MmError(EINVAL)` naming the known ones otherwise. */
export function findScenario(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (s === undefined) throw new MmError(EINVAL, `unknown scenario "${name}"`, { rule: `one of ${SCENARIOS.map((x) => x.name).join(', ')}` });
  return s;
}
