import { EINVAL, Machine, MmError, type JsonValue } from '@mm/core';
import { inject, injectable } from 'tsyringe';
import type { Scenario, ScenarioInstance, ScenarioParams } from '../scenarios/scenario.js';
import { rcuWalkerTask } from '../tasks/rcu-walker.js';
import { isBlockedLabel, type TaskDef, type TaskSteps } from '../tasks/task.js';

/** DI token for the scenario a machine explores and its parameters (see `explorePlugin`). */
export const ExploreConfig = Symbol('@mm/explore:ExploreConfig');

/** What {@link ExploreConfig} holds. */
export interface ExploreConfig {
  /** The scenario. */
  readonly scenario: Scenario;
  /** Its parameters. */
  readonly params: ScenarioParams;
}

/** One running task. */
interface RunningTask {
  readonly def: TaskDef;
  gen: TaskSteps | null;
  done: boolean;
  /** Steps that did something (blocked retries not counted). */
  progress: number;
  /** The last step would have slept. */
  blocked: boolean;
  /** FNV hash of the last label. */
  labelHash: number;
}

function strHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The per-machine state of an exploration: the scenario set up on this machine and its running
 * tasks (scenario tasks first, then the injected RCU walkers). `step(i)` runs one step of task `i`
 * on CPU `i % cpus`, then checks every invariant of the machine (or, during a search, the cheaper
 * {@link ExploreState.stepCheck}) and the scenario's own rule: the unit that the scheduler
 * interleaves and that a counterexample's `exploreStep` lines replay (with every invariant).
 */
@injectable()
export class ExploreState {
  /** The machine. */
  readonly m: Machine;
  /** The scenario and its parameters. */
  readonly config: ExploreConfig;
  /** The scenario after setup (null before {@link ExploreState.setup}). */
  instance: ScenarioInstance | null = null;
  /**
   * The check `step` runs after each step in place of the full `m.checkInvariants` (null: the full
   * check, as a replayed trace does). The explorer sets a cheaper one (`stepCheck` on the pages the
   * tasks touch and the global counters); it throws `VmBugError`.
   */
  stepCheck: ((m: Machine) => void) | null = null;
  private tasks: RunningTask[] = [];
  private running = 0;

  /** Built by the machine's container. */
  constructor(@inject(Machine) m: Machine, @inject(ExploreConfig) config: ExploreConfig) {
    this.m = m;
    this.config = config;
  }

  /**
   * Forget the scenario's setup and tasks (the machine is being restored to a checkpoint taken
   * before the setup, or after a setup that cannot restart; see `ExploreSession`).
   */
  reset(): void {
    this.instance = null;
    this.tasks = [];
    this.running = 0;
  }

  /**
   * Run the scenario's setup and create its tasks; `MmError(EINVAL)` if it already ran. Returns the
   * setup's summary. With `check` false the invariants are not checked after the setup (the explorer
   * checks the first setup of a search only: a restored machine's setup reaches the same state).
   */
  setup(check = true): JsonValue {
    if (this.instance !== null) throw new MmError(EINVAL, 'exploreSetup: the scenario is already set up', { rule: 'one exploreSetup per machine' });
    const { scenario, params } = this.config;
    const inst = scenario.setup(this.m, params);
    this.startTasks(inst);
    if (check) this.m.checkInvariants('exploreSetup');
    return inst.summary;
  }

  /**
   * Start the tasks of `inst` again from their beginning, on a machine restored to a checkpoint
   * taken right after `inst`'s setup (see {@link ScenarioInstance.restart}, which this calls).
   * `MmError(EINVAL)` if the scenario cannot restart.
   */
  restart(inst: ScenarioInstance): void {
    if (inst.restart === undefined) throw new MmError(EINVAL, 'exploreState.restart: the scenario cannot restart', { rule: 'a ScenarioInstance with restart()' });
    inst.restart();
    this.startTasks(inst);
  }

  /** Make `inst` the current setup and create its tasks (the scenario's, then the RCU walkers) at their start. */
  private startTasks(inst: ScenarioInstance): void {
    this.instance = inst;
    const defs = [...inst.tasks];
    const walkers = this.config.params.walkers ?? 0;
    for (let k = 0; k < walkers && inst.walkerTargets.length > 0; k++) {
      defs.push(rcuWalkerTask(`rcu-walker${k}`, inst.walkerTargets[k % inst.walkerTargets.length]!));
    }
    this.tasks = defs.map((def) => ({ def, gen: null, done: false, progress: 0, blocked: false, labelHash: 0 }));
    this.running = defs.length;
  }

  /** True if the scenario is set up and no task has run a step yet (the start of the race). */
  get atStart(): boolean {
    return this.instance !== null && this.tasks.every((t) => t.gen === null);
  }

  /** Number of tasks. */
  get nrTasks(): number {
    return this.tasks.length;
  }

  /** Name of task `i`. */
  taskName(i: number): string {
    return this.tasks[i]!.def.name;
  }

  /** True once every task has finished. */
  get allDone(): boolean {
    return this.running === 0;
  }

  /** True if task `i` has not finished. */
  isEnabled(i: number): boolean {
    return !this.tasks[i]!.done;
  }

  /** True if task `i`'s last step would have slept. */
  isBlocked(i: number): boolean {
    return this.tasks[i]!.blocked;
  }

  /**
   * Run one step of task `i` and check the invariants (the machine's, then the scenario's). Returns
   * the step's label (`"<name>: return"` for the last segment of the path). Throws what the step or
   * a check throws (`VmBugError`, `MmError`); `MmError(EINVAL)` for a finished or unknown task.
   */
  step(i: number): string {
    const t = this.tasks[i];
    if (!Number.isInteger(i) || t === undefined || t.done || this.instance === null) {
      throw new MmError(EINVAL, `exploreStep(${i}): no such runnable task`, { rule: `a task 0..${this.tasks.length - 1} that has not finished, after exploreSetup` });
    }
    const m = this.m;
    m.cpu = i % m.config.cpus;
    if (t.gen === null) t.gen = t.def.start(m);
    let label: string;
    try {
      const r = t.gen.next();
      if (r.done) {
        t.done = true;
        this.running--;
        label = `${t.def.name}: return ${JSON.stringify(r.value ?? null)}`;
      } else label = r.value;
    } catch (e) {
      t.done = true;
      this.running--;
      throw e;
    }
    t.blocked = isBlockedLabel(label);
    if (!t.blocked) t.progress++;
    t.labelHash = strHash(label);
    try {
      if (this.stepCheck === null) m.checkInvariants(`${t.def.name}: ${label}`);
      else this.stepCheck(m);
      this.instance.check?.(m, this.running === 0);
    } catch (e) {
      // A cheaper check failed: report what the full check (a replay's) finds first, if anything.
      if (this.stepCheck !== null) m.checkInvariants(`${t.def.name}: ${label}`);
      throw e;
    }
    return label;
  }

  /**
   * The tasks' progress as numbers, appended to `out` (the tasks' part of the search's state): the
   * scenario's extra state (`hashExtra`), then per task its steps done × 2 + 1 if finished, and the
   * FNV hash of its last label.
   */
  tasksState(out: number[]): void {
    out.push(this.instance?.hashExtra?.() ?? 0);
    for (const t of this.tasks) out.push(t.progress * 2 + (t.done ? 1 : 0), t.labelHash);
  }
}
