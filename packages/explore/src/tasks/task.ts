import type { Machine } from '@mm/core';

/**
 * Tasks: the simulated CPUs of an exploration. A task is a kernel path written as steps — a generator
 * that performs one atomic section (a lock section, an atomic operation) per `next()` and yields that
 * section's label, as the core's steppable paths (`migrate/steps.ts`) do. A label ending in
 * `"(blocked)"` means the step would sleep and changed nothing; the scheduler runs it again later.
 *
 * @module
 */

/** The steps of one task: yields a label per step; its return value is the path's result. */
export type TaskSteps = Generator<string, unknown, void>;

/** One task of a scenario: a name (the `task` field of counterexample lines) and how to start it. */
export interface TaskDef {
  /** The task's name (`"deflate"`, `"compaction"`). */
  readonly name: string;
  /** Start the path on `m`; nothing runs until the first `next()`. */
  start(m: Machine): TaskSteps;
}

/** True if `label` is the label of a step that would have slept (`"… (blocked)"`). */
export function isBlockedLabel(label: string): boolean {
  return label.endsWith('(blocked)');
}
