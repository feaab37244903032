import { formatTraceLine, recordOperations, type JsonValue, type TraceLine } from '@mm/core';
import { ExploreState } from './explore-state.js';
import { createScenarioMachine, defaultChoice, sameViolation, scenarioPluginNames, type ExploreTarget, type RunResult, type Violation } from './execution.js';
import { runOnce, sessionOf, type Explorable } from './session.js';

/**
 * Counterexamples: a violating schedule minimised, then written as a trace in the record/replay
 * format (`exploreSetup`, then one `exploreStep` line per step with its `task`), which `replayTrace`
 * (or `mmsim replay`) replays to the same violation.
 *
 * @module
 */

/** Run `target` following `schedule` (a task per step; an entry naming a finished task is skipped), then the default policy. */
export function runGuided(x: Explorable, schedule: readonly number[], maxSteps: number): RunResult {
  let k = 0;
  return runOnce(
    x,
    (st, enabled, current) => {
      while (k < schedule.length) {
        const t = schedule[k++]!;
        if (st.isEnabled(t)) return t;
      }
      return defaultChoice(st, enabled, current);
    },
    maxSteps,
  );
}

/**
 * Shrink the violating schedule `choices` (which ends in `violation`): greedily drop single entries
 * (the task then runs later) and keep a change when the schedule still ends in the same violation in
 * no more steps, until nothing can be dropped or `budget` executions are spent. Returns the executed
 * schedule of the shortest violating run found.
 */
export function minimiseSchedule(x: Explorable, choices: readonly number[], violation: Violation, maxSteps: number, budget = 2000): number[] {
  const session = sessionOf(x);
  let best = [...choices];
  let spent = 0;
  let changed = true;
  while (changed && spent < budget) {
    changed = false;
    for (let i = best.length - 1; i >= 0 && spent < budget; i--) {
      const cand = [...best.slice(0, i), ...best.slice(i + 1)];
      spent++;
      const r = runGuided(session, cand, maxSteps);
      if (r.violation !== null && sameViolation(r.violation, violation) && r.choices.length <= best.length) {
        best = [...r.choices];
        changed = true;
        i = Math.min(i, best.length);
      }
    }
  }
  return best;
}

/**
 * The trace of running `target` with `schedule` (executed exactly, as `runOnce` chose it): the header
 * line, `{"op":"exploreSetup",…}`, then an `exploreStep` line per step with its `task` name; the
 * violating step's line carries `bug` (the invariant) or `err` (the errno).
 */
export function counterexampleTrace(target: ExploreTarget, schedule: readonly number[]): string[] {
  const m = createScenarioMachine(target);
  const raw: string[] = [];
  const rec = recordOperations(m, (l) => raw.push(l), { plugins: scenarioPluginNames(target) });
  rec.call('exploreSetup');
  const st = m.container.resolve(ExploreState);
  const tasks: (string | null)[] = [null, null];
  for (const t of schedule) {
    tasks.push(st.taskName(t));
    try {
      rec.call('exploreStep', t);
    } catch {
      break;
    }
  }
  return raw.map((l, i) => {
    const task = tasks[i];
    if (task === null || task === undefined) return l;
    return formatTraceLine({ ...(JSON.parse(l) as TraceLine), task: task as JsonValue });
  });
}
