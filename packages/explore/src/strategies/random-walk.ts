import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { runOnce, sessionOf, type Explorable } from '../engine/session.js';
import type { SearchHooks } from './search.js';

/**
 * Seeded random scheduling: execution `r` draws every step's task uniformly among the runnable ones
 * from `xoroshiro128plus(seed + r)`, so each execution is reproducible from its own seed.
 */
export function randomSearch(explorable: Explorable, seed: number, runs: number, maxSteps: number, hooks: SearchHooks): void {
  const session = sessionOf(explorable);
  for (let r = 0; r < runs; r++) {
    const rng = xoroshiro128plus((seed + r) | 0);
    const res = runOnce(session, (_st, enabled) => enabled[uniformInt(rng, 0, enabled.length - 1)]!, maxSteps);
    if (!hooks.onRun(res)) return;
  }
}
