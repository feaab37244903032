import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { runOnce, type ExploreTarget } from '../engine/execution.js';
import type { SearchHooks } from './search.js';

/**
 * Seeded random scheduling: execution `r` draws every step's task uniformly among the runnable ones
 * from `xoroshiro128plus(seed + r)`, so each execution is reproducible from its own seed.
 */
export function randomSearch(target: ExploreTarget, seed: number, runs: number, maxSteps: number, hooks: SearchHooks): void {
  for (let r = 0; r < runs; r++) {
    const rng = xoroshiro128plus((seed + r) | 0);
    const res = runOnce(target, (_st, enabled) => enabled[uniformInt(rng, 0, enabled.length - 1)]!, maxSteps);
    if (!hooks.onRun(res)) return;
  }
}
