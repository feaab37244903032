import { MmError, VmBugError, createMachine, type Machine } from '@mm/core';
import type { Scenario, ScenarioParams } from '../scenarios/scenario.js';
import { ExploreState } from './explore-state.js';
import { explorePlugin } from './explore-plugin.js';
import { resolveExplorePlugin } from './plugins.js';

/**
 * One execution of a scenario under a scheduler (run by `ExploreSession.execute`): bring the
 * scenario's machine to its state after boot, run its setup, then let a chooser pick the task of
 * every step until all tasks finish, a step throws (the violation) or the step limit is reached. The model is sequentially consistent: a step is atomic and every later
 * step sees all its writes, so the explorer finds the races of lock sections and atomic operations,
 * not those of weak memory ordering (for those use herd7 with the Linux-kernel memory model, LKMM).
 *
 * @module
 */

/** What is explored: a scenario and its parameters. */
export interface ExploreTarget {
  /** The scenario. */
  readonly scenario: Scenario;
  /** Its parameters. */
  readonly params: ScenarioParams;
}

/** A violation found by a step: the error it threw. */
export interface Violation {
  /** `bug`: a `VmBugError` (an invariant or the scenario's rule); `error`: an `MmError` from a kernel path; `exception`: anything else. */
  readonly kind: 'bug' | 'error' | 'exception';
  /** The invariant (`bug`), the errno name (`error`) or the error's name (`exception`): what a replay must hit again. */
  readonly key: string;
  /** The first line of the error's message. */
  readonly message: string;
  /** The task whose step threw. */
  readonly task: string;
}

/** The result of one execution. */
export interface RunResult {
  /** The task chosen at each step, in order (the schedule that replays this execution). */
  readonly choices: readonly number[];
  /** The violation that ended it, or null. */
  readonly violation: Violation | null;
  /** True if every task finished. */
  readonly complete: boolean;
  /** True if it stopped at the step limit (a task kept blocking). */
  readonly stepLimited: boolean;
  /** True if the search stopped it early (a state already visited). */
  readonly pruned: boolean;
}

/**
 * Chooses the task of step `depth` among `enabled` (tasks not finished); `current` is the task of the
 * previous step (-1 at the start).
 */
export type Chooser = (st: ExploreState, enabled: readonly number[], current: number, depth: number) => number;

/** Called after each step; return false to stop the execution (pruned). */
export type StepObserver = (m: Machine, st: ExploreState, depth: number, task: number) => boolean;

/** A booted scenario: the machine and its exploration state, set up. */
export interface BootedScenario {
  /** The machine. */
  readonly m: Machine;
  /** Its exploration state. */
  readonly state: ExploreState;
}

/** The names of the plugins of a scenario's machine, in order (the owner plugins, then `explore`). */
export function scenarioPluginNames(target: ExploreTarget): string[] {
  return [...target.scenario.plugins, 'explore'];
}

/**
 * Create the machine of `target` (the scenario's configuration, `debugVm` off: the explorer checks
 * the invariants after every step itself) with its plugins and `pluginOptions.explore`; not set up yet.
 */
export function createScenarioMachine(target: ExploreTarget): Machine {
  const { scenario, params } = target;
  return createMachine({
    ...scenario.machine(params),
    debugVm: false,
    plugins: [...scenario.plugins.map((n) => resolveExplorePlugin(n, undefined)), explorePlugin()],
    pluginOptions: { explore: { scenario: scenario.name, params: { ...params } } },
  });
}

/** Create the machine of `target` and run the scenario's setup. */
export function bootScenario(target: ExploreTarget): BootedScenario {
  const m = createScenarioMachine(target);
  const state = m.container.resolve(ExploreState);
  state.setup();
  return { m, state };
}

/** The default scheduler choice: keep running `current` unless it finished or blocked; else the lowest runnable task. */
export function defaultChoice(st: ExploreState, enabled: readonly number[], current: number): number {
  if (current >= 0 && st.isEnabled(current) && !st.isBlocked(current)) return current;
  for (const i of enabled) if (!st.isBlocked(i)) return i;
  return enabled[0]!;
}

/** The violation `e` (thrown by task `task`'s step) describes. */
export function toViolation(e: unknown, task: string): Violation {
  const message = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
  if (e instanceof VmBugError) return { kind: 'bug', key: e.invariant, message, task };
  if (e instanceof MmError) return { kind: 'error', key: e.code, message, task };
  return { kind: 'exception', key: e instanceof Error ? e.name : 'throw', message, task };
}

/** True if `a` and `b` are the same violation (same kind and key). */
export function sameViolation(a: Violation, b: Violation): boolean {
  return a.kind === b.kind && a.key === b.key;
}
