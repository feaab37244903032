import { EINVAL, MmError } from '@mm/core';
import { exhaustiveSearch } from '../strategies/exhaustive.js';
import { pctSearch } from '../strategies/pct.js';
import { randomSearch } from '../strategies/random-walk.js';
import type { SearchHooks, SearchPartition } from '../strategies/search.js';
import { findScenario } from '../scenarios/registry.js';
import type { ScenarioParams } from '../scenarios/scenario.js';
import { counterexampleTrace, minimiseSchedule } from './counterexample.js';
import type { ExploreTarget, RunResult, Violation } from './execution.js';
import { ExploreSession } from './session.js';

/** The search strategies. */
export const EXPLORE_STRATEGIES = ['exhaustive', 'random', 'pct'] as const;

/** A search strategy. */
export type ExploreStrategy = (typeof EXPLORE_STRATEGIES)[number];

/** Options of {@link explore}. */
export interface ExploreOptions {
  /** The strategy (default 'exhaustive'). */
  readonly strategy?: ExploreStrategy;
  /** Exhaustive: the preemption bound (default 2); PCT: the priority-change depth (default 3). */
  readonly bound?: number;
  /** Random and PCT: the seed (default 1); execution `r` uses `seed + r`. */
  readonly seed?: number;
  /** Random and PCT: executions (default 10 000); exhaustive: a cap (default unlimited). */
  readonly runs?: number;
  /** Steps per execution before it is cut off (default 400). */
  readonly maxSteps?: number;
  /** Exhaustive: search only this share (a worker's). */
  readonly partition?: SearchPartition;
  /** Called every `progressEvery` executions with the statistics so far. */
  readonly onProgress?: (s: ExploreStats) => void;
  /** Exhaustive: report each subtree's counts and visited states (`ExploreResult.subtrees`), for merging workers' results. */
  readonly collectSubtrees?: boolean;
  /** How often `onProgress` is called (default 1000). */
  readonly progressEvery?: number;
  /** Skip the minimisation and the trace of a violation (workers report the schedule only). */
  readonly noCounterexample?: boolean;
  /**
   * Restore a checkpoint of the scenario's machine before each execution instead of rebooting it
   * (default true; machines with a plugin that cannot be checkpointed are rebooted anyway).
   */
  readonly checkpoint?: boolean;
  /** The cheap per-step check plus a full check per new end state (default true; false: the full check after every step). */
  readonly scopedChecks?: boolean;
}

/** Counts of a search. */
export interface ExploreStats {
  /** Executions run (complete, pruned, cut off or violating). */
  interleavings: number;
  /** Executions in which every task finished. */
  completed: number;
  /** Executions stopped at a state already visited. */
  pruned: number;
  /** Executions cut off at the step limit. */
  stepLimited: number;
  /** Distinct states (exhaustive; 0 for the others). */
  states: number;
  /** Steps run in all executions. */
  steps: number;
}

/** One subtree of an exhaustive search (the executions whose first step runs task `first`): its counts and visited states. */
export interface SubtreeResult extends Omit<ExploreStats, 'states'> {
  /** The task of the first step. */
  readonly first: number;
  /** True if the search stopped in this subtree at a violation. */
  readonly violation: boolean;
  /** The states it visited (state hashes). */
  readonly keys: readonly number[];
}

/** A violation with the schedule that reaches it and its counterexample trace. */
export interface Counterexample {
  /** The violation. */
  readonly violation: Violation;
  /** The minimised schedule (a task index per step). */
  readonly schedule: readonly number[];
  /** The schedule as first found, before minimisation. */
  readonly found: readonly number[];
  /** The trace (record/replay format, with `task` fields): replays to the same violation. Empty if not asked for. */
  readonly trace: readonly string[];
}

/** What {@link explore} returns. */
export interface ExploreResult extends ExploreStats {
  /** The scenario's name. */
  readonly scenario: string;
  /** Exhaustive search with `collectSubtrees`: each searched subtree of the first scheduling point, in search order. */
  readonly subtrees?: readonly SubtreeResult[];
  /** Its parameters. */
  readonly params: ScenarioParams;
  /** The strategy. */
  readonly strategy: ExploreStrategy;
  /** The bound (exhaustive) or depth (PCT); null for random. */
  readonly bound: number | null;
  /** The seed (random, PCT) or null. */
  readonly seed: number | null;
  /** True if an exhaustive search covered its whole bounded space (no cap hit, no violation). */
  readonly exhausted: boolean;
  /** The first violation found, minimised, or null. */
  readonly counterexample: Counterexample | null;
}

function checkInt(name: string, v: number, min: number): number {
  if (!(Number.isInteger(v) && v >= min)) throw new MmError(EINVAL, `explore: ${name} ${v}`, { rule: `${name} is an integer ≥ ${min}` });
  return v;
}

/**
 * Explore the interleavings of a race scenario (see `SCENARIOS`) with a strategy; stop at the first
 * violation (a `VmBugError` from an invariant or the scenario's rule, or an error a kernel path
 * threw), minimise its schedule and write it as a replayable trace. Reproducible: the same arguments
 * give the same result. `MmError(EINVAL)` for an unknown scenario or bad option.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { explore } from '@mm/explore';
 *
 * // Every interleaving (up to 2 preemptions) of a folio_try_get racing the final folio_put, with the
 * // kernel's fix disabled: the explorer finds the bug and prints a minimal schedule.
 * const r = explore('tryget-final-put', { fix: false }, { strategy: 'exhaustive', bound: 2 });
 * console.log(r.counterexample !== null); // true
 * console.log(r.counterexample?.trace.join('\n'));
 * ```
 */
export function explore(scenarioName: string, params: ScenarioParams = {}, options: ExploreOptions = {}): ExploreResult {
  const scenario = findScenario(scenarioName);
  const target: ExploreTarget = { scenario, params };
  const strategy = options.strategy ?? 'exhaustive';
  if (!EXPLORE_STRATEGIES.includes(strategy)) throw new MmError(EINVAL, `explore: strategy ${String(strategy)}`, { rule: `one of ${EXPLORE_STRATEGIES.join(', ')}` });
  if (params.fix === false && scenario.fixSwitch === null) throw new MmError(EINVAL, `explore: ${scenario.name} has no fix switch`, { rule: 'fix: false only where a switch exists' });
  if (params.variant !== undefined && !scenario.variants.includes(params.variant)) {
    throw new MmError(EINVAL, `explore: ${scenario.name} has no variant ${JSON.stringify(params.variant)}`, { rule: `one of ${scenario.variants.join(', ') || '(none)'}` });
  }
  checkInt('walkers', params.walkers ?? 0, 0);
  const bound = checkInt('bound', options.bound ?? (strategy === 'pct' ? 3 : 2), strategy === 'pct' ? 1 : 0);
  const seed = checkInt('seed', options.seed ?? 1, 0);
  const runs = checkInt('runs', options.runs ?? (strategy === 'exhaustive' ? Number.MAX_SAFE_INTEGER : 10_000), 1);
  const maxSteps = checkInt('maxSteps', options.maxSteps ?? 400, 1);
  const every = checkInt('progressEvery', options.progressEvery ?? 1000, 1);
  if (options.partition !== undefined) {
    const p = options.partition;
    checkInt('partition.count', p.count, 1);
    if (!(Number.isInteger(p.index) && p.index >= 0 && p.index < p.count)) throw new MmError(EINVAL, `explore: partition index ${p.index}`, { rule: 'index is 0..count-1' });
  }

  const stats: ExploreStats = { interleavings: 0, completed: 0, pruned: 0, stepLimited: 0, states: 0, steps: 0 };
  let found: RunResult | null = null;
  let capped = false;
  const subtrees: SubtreeResult[] = [];
  let mark: ExploreStats = { ...stats };
  const hooks: SearchHooks = {
    states: () => 0,
    onSubtree(first, keys) {
      if (options.collectSubtrees !== true) return;
      const d = (k: Exclude<keyof ExploreStats, 'states'>): number => stats[k] - mark[k];
      subtrees.push({ first, interleavings: d('interleavings'), completed: d('completed'), pruned: d('pruned'), stepLimited: d('stepLimited'), steps: d('steps'), violation: found !== null, keys });
      mark = { ...stats };
    },
    onRun(r) {
      stats.interleavings++;
      stats.steps += r.choices.length;
      if (r.complete) stats.completed++;
      if (r.pruned) stats.pruned++;
      if (r.stepLimited) stats.stepLimited++;
      if (options.onProgress !== undefined && stats.interleavings % every === 0) {
        stats.states = hooks.states();
        options.onProgress({ ...stats });
      }
      if (r.violation !== null) {
        found = r;
        return false;
      }
      if (stats.interleavings >= runs) {
        capped = true;
        return false;
      }
      return true;
    },
  };
  const session = new ExploreSession(target, { checkpoint: options.checkpoint ?? true, scopedChecks: options.scopedChecks ?? true });
  if (strategy === 'exhaustive') exhaustiveSearch(session, bound, maxSteps, hooks, options.partition);
  else if (strategy === 'random') randomSearch(session, seed, runs, maxSteps, hooks);
  else pctSearch(session, seed, bound, runs, maxSteps, hooks);
  stats.states = hooks.states();

  let counterexample: Counterexample | null = null;
  const f = found as RunResult | null;
  if (f !== null && f.violation !== null) {
    const schedule = options.noCounterexample ? [...f.choices] : minimiseSchedule(session, f.choices, f.violation, maxSteps);
    counterexample = {
      violation: f.violation,
      schedule,
      found: [...f.choices],
      trace: options.noCounterexample ? [] : counterexampleTrace(target, schedule),
    };
  }
  return {
    scenario: scenario.name,
    params,
    strategy,
    bound: strategy === 'random' ? null : bound,
    seed: strategy === 'exhaustive' ? null : seed,
    ...stats,
    exhausted: strategy === 'exhaustive' && f === null && !capped,
    counterexample,
    ...(options.collectSubtrees === true ? { subtrees } : {}),
  };
}
