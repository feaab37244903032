/**
 * `@mm/explore`: a deterministic interleaving explorer for the refcount and isolation races of
 * folio_owner_ops and movable_ops. Tasks are kernel paths written as steps (one lock section or
 * atomic operation per step); a scheduler interleaves them over one machine, checks every invariant
 * after every step and stops at the first violation, which it minimises and prints as a replayable
 * trace. Strategies: exhaustive with a preemption bound and state hashing, seeded random, PCT.
 *
 * The model is sequentially consistent: each step is atomic and every later step sees its writes.
 * Races that need weak memory ordering (a missing barrier, a load reordered before an atomic) are
 * out of its reach: ask herd7 with the Linux-kernel memory model (LKMM, tools/memory-model) instead.
 *
 * @packageDocumentation
 */

export { explore, EXPLORE_STRATEGIES, type ExploreStrategy, type ExploreOptions, type ExploreStats, type ExploreResult, type Counterexample } from './engine/explore.js';
export { ExploreState, ExploreConfig } from './engine/explore-state.js';
export { explorePlugin, type ExplorePluginOptions } from './engine/explore-plugin.js';
export { resolveExplorePlugin } from './engine/plugins.js';
export {
  bootScenario,
  createScenarioMachine,
  defaultChoice,
  runOnce,
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
export { machineStateHash } from './engine/state-hash.js';
export { exhaustiveSearch } from './strategies/exhaustive.js';
export { randomSearch } from './strategies/random-walk.js';
export { pctSearch } from './strategies/pct.js';
export type { SearchHooks, SearchPartition } from './strategies/search.js';
export { SCENARIOS, findScenario } from './scenarios/registry.js';
export type { Scenario, ScenarioInstance, ScenarioParams } from './scenarios/scenario.js';
export { balloonDeflateScenario } from './scenarios/balloon-deflate.js';
export { migrateSpeculativeScenario } from './scenarios/migrate-speculative.js';
export { trygetFinalPutScenario } from './scenarios/tryget-final-put.js';
export { rcuWalkerTask } from './tasks/rcu-walker.js';
export { migrateOnePageSteps } from './tasks/migrate-one.js';
export { isBlockedLabel, type TaskDef, type TaskSteps } from './tasks/task.js';
export { soak, SOAK_PLUGINS, type SoakOptions, type SoakResult } from './soak/soak.js';
