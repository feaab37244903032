import type { RunResult } from '../engine/execution.js';

/**
 * What the strategies share: the hooks the driver (`explore`) gives them.
 *
 * @module
 */

/** A share of an exhaustive search: worker `index` of `count`. */
export interface SearchPartition {
  /** This worker, 0..count-1. */
  readonly index: number;
  /** Number of workers. */
  readonly count: number;
}

/** The driver's side of a search. */
export interface SearchHooks {
  /** Called after every execution; return false to stop the search. */
  onRun(r: RunResult): boolean;
  /** The number of distinct states seen so far (set by strategies that hash states). */
  states: () => number;
  /**
   * Exhaustive search: a subtree of the first scheduling point (the executions whose first step runs
   * task `first`) has ended (searched, or stopped by a violation or the cap); `keys` are the states it
   * visited.
   */
  onSubtree?(first: number, keys: readonly number[]): void;
}
