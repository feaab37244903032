import { EOPNOTSUPP, MmError, restoreMachineCheckpoint, saveMachineCheckpoint, type Machine, type MachineCheckpoint } from '@mm/core';
import { ExploreState } from './explore-state.js';
import { createScenarioMachine, toViolation, type Chooser, type ExploreTarget, type RunResult, type StepObserver } from './execution.js';
import { StateTable, StateTracker } from './state-tracker.js';
import { stepCheck } from './step-check.js';

/**
 * A search's machine: the explorer boots the scenario's machine once per search and, for every
 * execution after the first, puts it back to the state where the tasks start:
 * - if the scenario can restart (`ScenarioInstance.restart`: its own state outside the machine can be
 *   reset) and every plugin can checkpoint what the setup created, to a checkpoint taken right after
 *   the first execution's setup (the tasks start again over the same setup objects);
 * - else to a checkpoint taken right after boot, and the setup runs again (it creates the JS objects
 *   the tasks' closures capture);
 * - a machine with a plugin that registers no `Checkpointable` is rebooted for every execution
 *   (correct, slower).
 *
 * What is checked when:
 * - after the setup of the first execution: every invariant (`m.checkInvariants`); a restored
 *   machine's setup reaches the same state again;
 * - after every step: the scenario's rule and `stepCheck` (the pages the tasks touch — the
 *   scenario's walker targets and every page a task allocated, freed, froze or changed the refcount
 *   of, found through the tracepoints — and the global counters) plus every plugin's own
 *   `InvariantCheck` (hugetlb, balloon, zsmalloc, guest_memfd rules): its `checkChanged` with the
 *   pages whose memmap words changed since its previous call (found exactly by the
 *   {@link StateTracker}'s shadow comparison) where it has one, else its whole `check`; if any
 *   fails, the full check runs at that point and its violation, if any, is the one reported (as a
 *   replayed trace would);
 * - at the end of every execution (all done, cut off or pruned): every invariant, once per distinct
 *   end state (a state already fully checked at the end of an earlier execution is not checked again;
 *   states are compared exactly, see {@link StateTable}, and without the tasks' progress, which the
 *   invariants do not read: the machine, its counters and the scenario's `hashExtra`).
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
  /** The checkpoint taken right after boot, or null (reboot for every execution). */
  readonly checkpoint: MachineCheckpoint | null;
  /** The checkpoint taken right after the first execution's setup, if the scenario can restart and every plugin could save it; else null. */
  private afterSetup: MachineCheckpoint | null = null;
  /** Pages the per-step check covers (grows as tasks touch pages). */
  readonly tracked = new Set<number>();
  private readonly scoped: boolean;
  /** End states fully checked: the machine's part of the state only (the check does not read the tasks' progress). */
  private readonly fullChecked = new StateTable<true>(true);
  private used = false;
  private stepNo = 0;
  /** The machine's state as the search sees it (shadow memmap, exact state, hash). */
  private readonly tracker = new StateTracker();
  /** `stepNo` (bumped before every setup and step) at the tracker's last memmap look and last whole-state look. */
  private memmapStep = -1;
  private stateStep = -1;
  /** Pages changed since the plugins' checks last ran (each once; `pendingMark` marks them). */
  private readonly pending: number[] = [];
  private pendingMark = new Uint8Array(0);
  /** The plugins' checks cannot be told what changed (first step, a new machine, or a check threw): run them whole. */
  private pluginsStale = true;
  private readonly extra: number[] = [];

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
        this.checkPlugins(mm); // the plugins' own rules (§4–§9), every step
      };
    }
    this.pluginsStale = true;
  }

  /**
   * Every plugin's `InvariantCheck`: `checkChanged` with the pages changed since the checks last ran,
   * or the whole `check` when that is unknown or the plugin has no `checkChanged`.
   */
  private checkPlugins(m: Machine): void {
    this.syncMemmap();
    const whole = this.pluginsStale;
    this.pluginsStale = true;
    for (const c of m.invariantChecks) {
      if (!whole && c.checkChanged !== undefined) c.checkChanged(m, this.pending);
      else c.check(m);
    }
    for (const p of this.pending) this.pendingMark[p] = 0;
    this.pending.length = 0;
    this.pluginsStale = false;
  }

  /** Let the tracker look at the memmap (once per step) and add what changed to `pending`. */
  private syncMemmap(): void {
    if (this.memmapStep === this.stepNo) return;
    this.memmapStep = this.stepNo;
    const t = this.tracker;
    t.sync(this.m);
    const n = this.m.memmap.flags.length;
    if (this.pendingMark.length < n) {
      const grown = new Uint8Array(n);
      grown.set(this.pendingMark);
      this.pendingMark = grown;
    }
    for (const p of t.changed) {
      if (this.pendingMark[p] === 0) {
        this.pendingMark[p] = 1;
        this.pending.push(p);
      }
    }
  }

  /** The tracker, looking at the machine and the tasks' progress now (once per step): its hash and exact state. */
  syncState(): StateTracker {
    if (this.stateStep !== this.stepNo) {
      this.syncMemmap();
      this.stateStep = this.stepNo;
      const extra = this.extra;
      extra.length = 0;
      this.state.tasksState(extra);
      this.tracker.syncSmall(this.m, extra, extra.length - 1); // all but the scenario's hashExtra is the tasks' progress
    }
    return this.tracker;
  }

  /**
   * Bring the machine to the start of the race: the first time, run the setup (and checkpoint the
   * state after it if the scenario can restart); later, restore that checkpoint, or else restore the
   * checkpoint after boot (or reboot) and run the setup again.
   */
  private prepare(): void {
    if (this.used) {
      if (this.afterSetup !== null) {
        restoreMachineCheckpoint(this.m, this.afterSetup); // the explore plugin's part restarts the tasks
        return;
      }
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
    if (first && this.checkpoint !== null && this.state.instance!.restart !== undefined) {
      try {
        this.afterSetup = saveMachineCheckpoint(this.m);
      } catch (e) {
        if (!(e instanceof MmError && e.errno === EOPNOTSUPP)) throw e; // a plugin cannot save what the setup made
      }
    }
  }

  /**
   * The hash of the machine's state and the tasks' progress now (the state {@link StateTracker}
   * covers), kept up to date incrementally; equal states have equal hashes.
   */
  stateKey(): number {
    return this.syncState().hash;
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
      this.stepNo++; // a new machine state from here on (the step's checks already see it)
      try {
        state.step(t);
      } catch (e) {
        this.pluginsStale = true; // a full check may have run: the plugins' checks learnt a state the tracker has not seen
        return { choices, violation: toViolation(e, state.taskName(t)), complete: false, stepLimited: false, pruned: false };
      }
      current = t;
      if (observe !== undefined && !observe(m, state, depth, t)) return this.finish(choices, current, { complete: false, stepLimited: false, pruned: true });
    }
  }

  /** The end of an execution: the full check of a new end state (scoped mode), then the result. */
  private finish(choices: number[], last: number, how: { complete: boolean; stepLimited: boolean; pruned: boolean }): RunResult {
    if (this.scoped) {
      const t = this.syncState();
      if (this.fullChecked.get(t, -1) === undefined) {
        try {
          this.m.checkInvariants('end of execution');
        } catch (e) {
          return { choices, violation: toViolation(e, last >= 0 ? this.state.taskName(last) : 'setup'), complete: false, stepLimited: false, pruned: false };
        }
        this.fullChecked.add(t, -1, true);
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
