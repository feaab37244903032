/**
 * Results of one step of a steppable kernel path (see `migrate/steps.ts`).
 *
 * @module
 */

/** The step ran; more follow. */
export const STEP_CONTINUE = 0;
/** The step ran and the path is complete (its result is in the state object). */
export const STEP_DONE = 1;
/** The step would sleep (a lock or writeback wait): nothing changed; run it again later. */
export const STEP_BLOCKED = 2;

/** What a step function returns. */
export type StepResult = typeof STEP_CONTINUE | typeof STEP_DONE | typeof STEP_BLOCKED;
