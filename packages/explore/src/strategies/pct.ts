import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { defaultChoice } from '../engine/execution.js';
import { runOnce, sessionOf, type Explorable } from '../engine/session.js';
import type { SearchHooks } from './search.js';

/**
 * PCT, probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010) with priority-change depth
 * `depth`: each execution `r` (seeded with `seed + r`) gives the tasks distinct random priorities
 * `depth … depth+n-1` and picks `depth-1` change points among the first `k` steps (`k` measured by a
 * default run); the runnable task of highest priority runs, and at the j-th change point the running
 * task's priority drops to `depth-1-j`. A bug of depth `d` is found with probability at least
 * `1/(n·k^(d-1))` per execution. A task whose last step blocked yields to runnable ones.
 */
export function pctSearch(explorable: Explorable, seed: number, depth: number, runs: number, maxSteps: number, hooks: SearchHooks): void {
  const session = sessionOf(explorable);
  const probe = runOnce(session, (st, enabled, current) => defaultChoice(st, enabled, current), maxSteps);
  const k = Math.max(1, probe.choices.length);
  for (let r = 0; r < runs; r++) {
    const rng = xoroshiro128plus((seed + r) | 0);
    let prio: number[] = [];
    const changes: number[] = [];
    for (let j = 0; j < depth - 1; j++) changes.push(uniformInt(rng, 1, k));
    const res = runOnce(
      session,
      (st, enabled, current, step) => {
        if (prio.length === 0) {
          const n = st.nrTasks;
          prio = Array.from({ length: n }, (_, i) => depth + i);
          for (let i = n - 1; i > 0; i--) {
            const j = uniformInt(rng, 0, i);
            [prio[i], prio[j]] = [prio[j]!, prio[i]!];
          }
        }
        const cp = changes.indexOf(step);
        if (cp >= 0 && current >= 0) prio[current] = depth - 1 - cp;
        let best = -1;
        for (const i of enabled) {
          if (st.isBlocked(i) && enabled.some((x) => !st.isBlocked(x))) continue;
          if (best < 0 || prio[i]! > prio[best]!) best = i;
        }
        return best;
      },
      maxSteps,
    );
    if (!hooks.onRun(res)) return;
  }
}
