import 'reflect-metadata';
import { ExploreSession, SCENARIOS, exhaustiveSearch, explore, findScenario, type SearchHooks } from '../src/index.js';
import { report, result, skipped, timeNsPerOp, type BenchResult } from '../../core/bench/harness.js';

// explore_rate_<scenario>: the whole exhaustive bound-2 search of a race scenario (`explore(name, {},
// { bound: 2 })`: boot, checkpoint, every execution with its checks and state hashing, no
// counterexample), in ns per interleaving on one core; `interleavingsPerSec` is its inverse, `states`
// the distinct states, `searchMs` the time for the whole bound-2 space.
//
// Floor: the same executions (the schedules the search ran, in order) replayed on the same restored
// machine with no checks at all and no state hashing: restore the checkpoint, run the setup, run the
// steps. That is the work any explorer that executes these interleavings must do; the ratio is what
// checking and hashing cost on top. `before` is the explorer as it was (a fresh machine booted for
// every execution, every invariant checked after every step), measured in the same run: `speedup` is
// before / now. The machine is shared and noisy: compare ratios, not absolute figures.
const BENCH: readonly { readonly name: string; readonly scenario: string }[] = [
  { name: 'explore_rate_balloon_deflate', scenario: 'balloon-deflate' },
  { name: 'explore_rate_hugetlb_isolation', scenario: 'hugetlb-isolation' },
];

function schedules(scenario: string): number[][] {
  const out: number[][] = [];
  const hooks: SearchHooks = { states: () => 0, onRun: (r) => (out.push([...r.choices]), true) };
  exhaustiveSearch({ scenario: findScenario(scenario), params: {} }, 2, 400, hooks);
  return out;
}

function floorRun(scenario: string, runs: readonly number[][]): () => void {
  return () => {
    const s = new ExploreSession({ scenario: findScenario(scenario), params: {} }, { scopedChecks: false });
    s.state.stepCheck = () => undefined;
    for (const sched of runs) s.execute((_st, _en, _cur, depth) => sched[depth]!, sched.length);
  };
}

const out: BenchResult[] = [];
for (const b of BENCH) {
  if (skipped(b.name)) continue;
  if (!SCENARIOS.some((s) => s.name === b.scenario)) {
    console.log(`${b.name}: skipped (scenario "${b.scenario}" is not registered)`);
    continue;
  }
  const r = explore(b.scenario, {}, { bound: 2, noCounterexample: true });
  const n = r.interleavings;
  const reps = Math.max(3, Math.ceil(2000 / n));
  const now = timeNsPerOp(() => void explore(b.scenario, {}, { bound: 2, noCounterexample: true }), n, reps, 2);
  const before = timeNsPerOp(() => void explore(b.scenario, {}, { bound: 2, noCounterexample: true, checkpoint: false, scopedChecks: false }), n, 3, 1);
  const floor = timeNsPerOp(floorRun(b.scenario, schedules(b.scenario)), n, reps, 2);
  out.push(
    result(b.name, now, floor, {
      interleavings: n,
      states: r.states,
      steps: r.steps,
      interleavingsPerSec: Math.round(1e9 / now),
      searchMs: Math.round((now * n) / 1e4) / 100,
      beforePerSec: Math.round(1e9 / before),
      speedup: Math.round((before / now) * 10) / 10,
    }),
  );
}
report(out);
