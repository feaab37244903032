import { EOPNOTSUPP, MmError, restoreMachineCheckpoint, saveMachineCheckpoint, type Machine, type MachineCheckpoint } from '@mm/core';
import { ExploreState } from './explore-state.js';
import { createScenarioMachine, toViolation, type Chooser, type ExploreTarget, type RunResult, type StepObserver } from './execution.js';
import { StateHashViews, machineStateHash } from './state-hash.js';
import { stepCheck } from './step-check.js';

/**
 * A search's machine: the explorer boots the scenario's machine once per search and, for every
 * execution, puts it back to a checkpoint taken right after boot (before the scenario's setup,
 * because the setup creates the JS objects the tasks' closures capture) and runs the setup again.
 * A machine with a plugin that registers no `Checkpointable` is rebooted for every execution
 * instead (correct, slower).
 *
 * What is checked when:
 * - after the setup of the first execution: every invariant (`m.checkInvariants`); a restored
 *   machine's setup reaches the same state again;
 * - after every step: the scenario's rule and `stepCheck` (the pages the tasks touch — the
 *   scenario's walker targets and every page a task allocated, freed, froze or changed the refcount
 *   of, found through the tracepoints — and the global counters) plus every plugin's own
 *   `InvariantCheck` (hugetlb, balloon, zsmalloc, guest_memfd rules); if any fails, the full check
 *   runs at that point and its violation, if any, is the one reported (as a replayed trace would);
 * - at the end of every execution (all done, cut off or pruned): every invariant, once per distinct
 *   end state (a state already fully checked at the end of an earlier execution is not checked again).
 *
 * @module
 */

/** Options of an {@link ExploreSession}. */
export interface ExploreSessionOptions {
  /** Restore a checkpoint instead of rebooting (default true; falls back to rebooting when the machine cannot be checkpointed). */
  readonly checkpoint?: boolean;
  /** The cheap per-step check (default true); false: the full `m.checkInvariants` after every step. */
  readonly scopedChecks?: boolean;
}

/** One search's machine and its executions (see the module comment). */
export class ExploreSession {
  /** What is explored. */
  readonly target: ExploreTarget;
  /** The current machine. */
  m: Machine;
  /** Its exploration state. */
  state: ExploreState;
  /** The checkpoint restored before each execution, or null (reboot). */
  readonly checkpoint: MachineCheckpoint | null;
  /** Pages the per-step check covers (grows as tasks touch pages). */
  readonly tracked = new Set<number>();
  private readonly scoped: boolean;
  private readonly fullChecked = new Set<number>();
  private used = false;
  private stepNo = 0;
  private keyStep = -1;
  private key = 0;

  /** Boot the scenario's machine (not set up yet). */
  constructor(target: ExploreTarget, options: ExploreSessionOptions = {}) {
    this.target = target;
    this.scoped = options.scopedChecks ?? true;
    this.m = createScenarioMachine(target);
    this.state = this.m.container.resolve(ExploreState);
    let cp: MachineCheckpoint | null = null;
    if (options.checkpoint ?? true) {
      try {
        cp = saveMachineCheckpoint(this.m);
      } catch (e) {
        if (!(e instanceof MmError && e.errno === EOPNOTSUPP)) throw e;
      }
    }
    this.checkpoint = cp;
    this.attach();
  }

  private attach(): void {
    const m = this.m;
    if (this.scoped) {
      const add = (e: { readonly pfn: number }): void => void this.tracked.add(e.pfn);
      m.trace.on('mm_page_alloc', add);
      m.trace.on('mm_page_free', add);
      m.trace.on('mm_page_free_batched', add);
      m.trace.on('page_ref_freeze', add);
      m.trace.on('page_ref_unfreeze', add);
      m.trace.on('page_ref_mod_and_test', add);
      this.state.stepCheck = (mm) => {
        stepCheck(mm, this.tracked);
        for (const c of mm.invariantChecks) c.check(mm); // the plugins' own rules (§4–§9), every step
      };
    }
  }

  /** Put the machine back to its state after boot (restore or reboot) and run the setup. */
  private prepare(): void {
    if (this.used) {
      if (this.checkpoint !== null) {
        restoreMachineCheckpoint(this.m, this.checkpoint); // the explore plugin's part resets the state
      } else {
        this.m = createScenarioMachine(this.target);
        this.state = this.m.container.resolve(ExploreState);
        this.attach();
      }
    }
    const first = !this.used;
    this.used = true;
    this.state.setup(first || !this.scoped);
    for (const p of this.state.instance!.walkerTargets) this.tracked.add(p);
  }

  /** The memmap views the state hash reads, built once per search. */
  private readonly hashViews = new StateHashViews();

  /** The state hash of the machine and the tasks' progress now (`machineStateHash`), computed once per step. */
  stateKey(): number {
    if (this.keyStep !== this.stepNo) {
      this.key = machineStateHash(this.m, this.state.tasksHash(), this.hashViews);
      this.keyStep = this.stepNo;
    }
    return this.key;
  }

  /** Run one execution with `choose` picking every step's task; at most `maxSteps` steps. */
  execute(choose: Chooser, maxSteps: number, observe?: StepObserver): RunResult {
    this.prepare();
    this.stepNo++;
    const { m, state } = this;
    const n = state.nrTasks;
    const choices: number[] = [];
    const enabled: number[] = [];
    let current = -1;
    for (let depth = 0; ; depth++) {
      enabled.length = 0;
      for (let i = 0; i < n; i++) if (state.isEnabled(i)) enabled.push(i);
      if (enabled.length === 0) return this.finish(choices, current, { complete: true, stepLimited: false, pruned: false });
      if (depth >= maxSteps) return this.finish(choices, current, { complete: false, stepLimited: true, pruned: false });
      const t = choose(state, enabled, current, depth);
      choices.push(t);
      try {
        state.step(t);
      } catch (e) {
        return { choices, violation: toViolation(e, state.taskName(t)), complete: false, stepLimited: false, pruned: false };
      } finally {
        this.stepNo++;
      }
      current = t;
      if (observe !== undefined && !observe(m, state, depth, t)) return this.finish(choices, current, { complete: false, stepLimited: false, pruned: true });
    }
  }

  /** The end of an execution: the full check of a new end state (scoped mode), then the result. */
  private finish(choices: number[], last: number, how: { complete: boolean; stepLimited: boolean; pruned: boolean }): RunResult {
    if (this.scoped) {
      const key = this.stateKey();
      if (!this.fullChecked.has(key)) {
        try {
          this.m.checkInvariants('end of execution');
        } catch (e) {
          return { choices, violation: toViolation(e, last >= 0 ? this.state.taskName(last) : 'setup'), complete: false, stepLimited: false, pruned: false };
        }
        this.fullChecked.add(key);
      }
    }
    return { choices, violation: null, ...how };
  }
}

/** What a search runs on: a target (a session is booted for it) or a session of a running search. */
export type Explorable = ExploreTarget | ExploreSession;

/** `x` itself if it is a session, else a new session for the target `x`. */
export function sessionOf(x: Explorable): ExploreSession {
  return x instanceof ExploreSession ? x : new ExploreSession(x);
}

/** Run one execution of `x` with `choose` picking every step's task; at most `maxSteps` steps. */
export function runOnce(x: Explorable, choose: Chooser, maxSteps: number, observe?: StepObserver): RunResult {
  return sessionOf(x).execute(choose, maxSteps, observe);
}
