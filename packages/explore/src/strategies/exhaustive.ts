import { defaultChoice, type RunResult } from '../engine/execution.js';
import { runOnce, sessionOf, type Explorable } from '../engine/session.js';
import { StateTable } from '../engine/state-tracker.js';
import type { SearchHooks, SearchPartition } from './search.js';

/** One scheduling point of the depth-first search. */
interface Frame {
  /** Runnable tasks. */
  readonly enabled: readonly number[];
  /** The task of the previous step (-1 at the start). */
  readonly current: number;
  /** `current` could have run on (not finished, not blocked): switching away is a preemption. */
  readonly currentRunnable: boolean;
  /** Preemptions used before this point. */
  readonly preempt: number;
  /** The choice being explored. */
  chosen: number;
  /** Choices explored so far. */
  readonly tried: number[];
}

function cost(f: Frame, t: number): number {
  return f.currentRunnable && t !== f.current ? 1 : 0;
}

/** Thrown by the chooser when a worker's share of the first scheduling point is empty. */
class EmptyShare extends Error {}

/**
 * Exhaustive search with a preemption bound (stateless depth-first search over schedules, as
 * CHESS does): at every step any runnable task may run, but switching away from a task that could
 * have continued costs one preemption and at most `bound` are spent per execution (switching when a
 * task finishes or blocks is free). A state (machine state, tasks' progress, the running task)
 * already reached with no more preemptions is not explored again (states are compared exactly: a
 * hash collision never prunes a new state).
 *
 * The search is split at the first scheduling point into one subtree per task that runs first, in
 * task order, and each subtree keeps its own visited states: so the subtrees can be searched by
 * separate workers (with a `partition`, only the subtrees `j` with `j % count === index`) and the
 * totals are the same whatever the number of workers. The states counted are the union over the
 * subtrees; `hooks.onSubtree` is told each subtree's visited states when it ends.
 */
export function exhaustiveSearch(explorable: Explorable, bound: number, maxSteps: number, hooks: SearchHooks, partition?: SearchPartition): void {
  const session = sessionOf(explorable);
  let visited = new StateTable<number>();
  const all = new StateTable<true>();
  const stack: Frame[] = [];
  hooks.states = () => all.size;
  const endSubtree = (): void => {
    if (stack.length > 0) hooks.onSubtree?.(stack[0]!.chosen, [...visited.keys()]);
  };
  for (;;) {
    const prefix = stack.length;
    let r: RunResult;
    try {
      r = runOnce(
        session,
        (st, enabled, current, depth) => {
          if (depth < prefix) return stack[depth]!.chosen;
          const before = depth === 0 ? 0 : stack[depth - 1]!.preempt + cost(stack[depth - 1]!, stack[depth - 1]!.chosen);
          let opts = enabled;
          if (depth === 0 && partition !== undefined) opts = enabled.filter((_, j) => j % partition.count === partition.index);
          if (opts.length === 0) throw new EmptyShare();
          const runnable = current >= 0 && st.isEnabled(current) && !st.isBlocked(current);
          let chosen = defaultChoice(st, opts, current);
          if (!opts.includes(chosen)) chosen = opts[0]!;
          stack.push({ enabled: [...opts], current, currentRunnable: runnable, preempt: before, chosen, tried: [chosen] });
          return chosen;
        },
        maxSteps,
        (_m, _st, depth, task) => {
          if (depth < prefix - 1) return true;
          const f = stack[depth]!;
          const used = f.preempt + cost(f, task);
          const t = session.syncState();
          const seen = visited.get(t, task);
          if (seen !== undefined && seen.value <= used) return false;
          if (seen !== undefined) seen.value = used;
          else if (all.get(t, task) === undefined) all.add(t, task, true, visited.add(t, task, used));
          else visited.add(t, task, used);
          return true;
        },
      );
    } catch (e) {
      if (e instanceof EmptyShare) return;
      throw e;
    }
    if (!hooks.onRun(r)) {
      endSubtree();
      return;
    }
    // Backtrack to the deepest point with an untried choice within the bound.
    stack.length = Math.min(stack.length, r.choices.length);
    for (;;) {
      const f = stack[stack.length - 1];
      if (f === undefined) return;
      const alt = f.enabled.find((t) => !f.tried.includes(t) && f.preempt + cost(f, t) <= bound);
      if (alt !== undefined) {
        if (stack.length === 1) {
          // A new first choice: a new subtree with its own visited states.
          endSubtree();
          visited = new StateTable();
        }
        f.chosen = alt;
        f.tried.push(alt);
        break;
      }
      if (stack.length === 1) endSubtree();
      stack.pop();
    }
  }
}
