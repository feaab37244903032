/**
 * `@mm/explore`: a deterministic interleaving explorer for the refcount and isolation races of
 * folio_owner_ops and movable_ops. Tasks are kernel paths written as steps (one lock section or
 * atomic operation per step); a scheduler interleaves them over one machine, checks the invariants
 * after every step and stops at the first violation, which it minimises and prints as a replayable
 * trace. Strategies: exhaustive with a preemption bound and state hashing, seeded random, PCT.
 *
 * Speed: a search boots its machine once and restores a checkpoint (`saveMachineCheckpoint`) before
 * every execution. After every step it runs the scenario's rule and a cheap check of the pages the
 * tasks touch and the global counters (`stepCheck`); every invariant is checked after the first
 * setup, at the end of every execution whose end state was not fully checked before, and whenever
 * the cheap check or the scenario's rule fails (so a violation is reported as a replay, which runs
 * every check after every step, reports it). See `ExploreSession`.
 *
 * The model is sequentially consistent: each step is atomic and every later step sees its writes.
 * Races that need weak memory ordering (a missing barrier, a load reordered before an atomic) are
 * out of its reach: ask herd7 with the Linux-kernel memory model (LKMM, tools/memory-model) instead.
 *
 * @packageDocumentation
 */

export { explore, EXPLORE_STRATEGIES, type ExploreStrategy, type ExploreOptions, type ExploreStats, type ExploreResult, type Counterexample, type SubtreeResult } from './engine/explore.js';
export { ExploreState, ExploreConfig } from './engine/explore-state.js';
export { explorePlugin, type ExplorePluginOptions } from './engine/explore-plugin.js';
export { resolveExplorePlugin } from './engine/plugins.js';
export {
  bootScenario,
  createScenarioMachine,
  defaultChoice,
  sameViolation,
  scenarioPluginNames,
  toViolation,
  type BootedScenario,
  type Chooser,
  type ExploreTarget,
  type RunResult,
  type StepObserver,
  type Violation,
} from './engine/execution.js';
export { counterexampleTrace, minimiseSchedule, runGuided } from './engine/counterexample.js';
export { ExploreSession, runOnce, sessionOf, type Explorable, type ExploreSessionOptions } from './engine/session.js';
export { stepCheck } from './engine/step-check.js';
export { StateTable, StateTracker, type StateDelta, type StateTableEntry } from './engine/state-tracker.js';
export { exhaustiveSearch } from './strategies/exhaustive.js';
export { randomSearch } from './strategies/random-walk.js';
export { pctSearch } from './strategies/pct.js';
export type { SearchHooks, SearchPartition } from './strategies/search.js';
export { SCENARIOS, findScenario } from './scenarios/registry.js';
export type { Scenario, ScenarioInstance, ScenarioParams } from './scenarios/scenario.js';
export { balloonDeflateScenario } from './scenarios/balloon-deflate.js';
export { migrateSpeculativeScenario } from './scenarios/migrate-speculative.js';
export { trygetFinalPutScenario } from './scenarios/tryget-final-put.js';
export { zsmallocFreeIsolatedScenario } from './scenarios/zsmalloc-free-isolated.js';
export { hugetlbIsolationScenario } from './scenarios/hugetlb-isolation.js';
export { gmemConversionScenario } from './scenarios/gmem-conversion.js';
export { checkNothingLeaked, freePageCount, guardMovableOps, isolatedCounts, onScenarioTrace, type IsolatedCounts } from './scenarios/scenario-checks.js';
export { rcuWalkerTask } from './tasks/rcu-walker.js';
export { rcuWalkerWholePutTask, wholePutWalkers } from './tasks/rcu-walker-whole-put.js';
export { migrateOnePageSteps } from './tasks/migrate-one.js';
export { isBlockedLabel, type TaskDef, type TaskSteps } from './tasks/task.js';
export { soak, SOAK_PLUGINS, type SoakOptions, type SoakResult } from './soak/soak.js';
