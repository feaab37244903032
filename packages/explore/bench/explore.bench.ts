import 'reflect-metadata';
import { ExploreSession, SCENARIOS, exhaustiveSearch, explore, findScenario, type ExploreResult, type ScenarioParams, type SearchHooks } from '../src/index.js';
import { report, result, skipped, timeNsPerOp, type BenchResult } from '../../core/bench/harness.js';

// explore_rate_<scenario>: the whole exhaustive bound-2 search of a race scenario (`explore(name, params,
// { bound: 2 })`: boot, checkpoint, every execution with its checks and state hashing, no
// counterexample). A search has a fixed cost, paid once whatever the size of the space (`fixedUs`:
// boot the scenario's machine with its plugins and checkpoint it, `new ExploreSession`), and a cost per
// interleaving (restore, setup, steps, per-step checks, state hashes, end-of-execution checks).
// `nsPerOp` is the cost per interleaving: (whole search - fixed cost) / interleavings, on one core;
// `interleavingsPerSec` is its inverse; `wholeSearchPerSec` counts the fixed cost too (interleavings /
// whole search time: what a search of this small a space achieves), `searchMs` is the whole search.
// `walkers: 1` adds one RCU walker task: a larger space of the same race, where the fixed cost weighs
// less.
//
// Floor: the same executions (the schedules the search ran, in order) replayed on an already booted
// session with no checks at all and no state hashing: restore the checkpoint (taken right after the
// setup when the scenario can restart, else after boot, and then run the setup), run the steps; per
// interleaving, the boot excluded as for `nsPerOp`. That is the work any explorer that
// executes these interleavings must do; the ratio is what checking and hashing cost on top. `before` is
// the explorer as it was (a fresh machine booted for every execution, every invariant checked after
// every step), measured in the same run (whole search per interleaving): `speedup` is before / the
// whole search now. The machine is shared and noisy: compare ratios, not absolute figures.
const BENCH: readonly { readonly name: string; readonly scenario: string; readonly params: ScenarioParams; readonly before: boolean }[] = [
  { name: 'explore_rate_balloon_deflate', scenario: 'balloon-deflate', params: {}, before: true },
  { name: 'explore_rate_hugetlb_isolation', scenario: 'hugetlb-isolation', params: {}, before: true },
  { name: 'explore_rate_balloon_deflate_walker', scenario: 'balloon-deflate', params: { walkers: 1 }, before: false },
];

function schedules(scenario: string, params: ScenarioParams): number[][] {
  const out: number[][] = [];
  const hooks: SearchHooks = { states: () => 0, onRun: (r) => (out.push([...r.choices]), true) };
  exhaustiveSearch({ scenario: findScenario(scenario), params }, 2, 400, hooks);
  return out;
}

function floorRun(scenario: string, params: ScenarioParams, runs: readonly number[][]): () => void {
  const s = new ExploreSession({ scenario: findScenario(scenario), params }, { scopedChecks: false });
  s.state.stepCheck = () => undefined;
  return () => {
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
  const search = (): ExploreResult => explore(b.scenario, b.params, { bound: 2, noCounterexample: true });
  const r = search();
  const n = r.interleavings;
  const reps = Math.max(3, Math.ceil(2000 / n));
  const whole = timeNsPerOp(() => void search(), n, reps, 2);
  const fixed = timeNsPerOp(() => void new ExploreSession({ scenario: findScenario(b.scenario), params: b.params }), 1, Math.max(5, reps), 2);
  const now = Math.max(0, whole - fixed / n);
  const before = b.before ? timeNsPerOp(() => void explore(b.scenario, b.params, { bound: 2, noCounterexample: true, checkpoint: false, scopedChecks: false }), n, 3, 1) : null;
  const floor = timeNsPerOp(floorRun(b.scenario, b.params, schedules(b.scenario, b.params)), n, reps, 2);
  out.push(
    result(b.name, now, floor, {
      interleavings: n,
      states: r.states,
      steps: r.steps,
      interleavingsPerSec: Math.round(1e9 / now),
      fixedUs: Math.round(fixed / 1e3),
      wholeSearchPerSec: Math.round(1e9 / whole),
      searchMs: Math.round((whole * n) / 1e4) / 100,
      ...(before === null ? {} : { beforePerSec: Math.round(1e9 / before), speedup: Math.round((before / whole) * 10) / 10 }),
    }),
  );
}
report(out);
