import type { FreeDispatchStrategy, JsonValue, Machine, MachineConfig, Pfn } from '@mm/core';
import type { TaskDef } from '../tasks/task.js';

/**
 * Race scenarios: a machine, a setup that brings it to the state where the race starts, and the
 * tasks that race.
 *
 * @module
 */

/** Parameters of a scenario run (all JSON: they go into the trace header's `pluginOptions.explore`). */
export interface ScenarioParams {
  /** The fix under test on (default) or off, for scenarios with a switch ({@link Scenario.fixSwitch}). */
  readonly fix?: boolean;
  /** Number of RCU walker tasks to inject (spurious `folio_try_get`/`folio_put` on the scenario's walker targets). */
  readonly walkers?: number;
  /** The `__folio_put` strategy of the machine (default 'owner-ops'). */
  readonly strategy?: FreeDispatchStrategy;
  /** Scenario-specific variant (e.g. guest_memfd's conversion design). */
  readonly variant?: string;
}

/** A scenario after its setup: the tasks, and the checks beyond the machine's invariants. */
export interface ScenarioInstance {
  /** The racing tasks. */
  readonly tasks: readonly TaskDef[];
  /** PFNs an injected RCU walker takes spurious references on (walker k takes `walkerTargets[k % n]`). */
  readonly walkerTargets: readonly Pfn[];
  /**
   * The scenario's own rule, checked after every step (after `m.checkInvariants`) with `done` true
   * once every task has finished: throws `VmBugError` (through `m.vmBug`) on a violation.
   */
  check?(m: Machine, done: boolean): void;
  /**
   * Optional: put the scenario's own state (what its closures count or record during a run, outside
   * the machine and its plugins) back to what it was right after the setup. A scenario that has it,
   * and whose machine can be checkpointed after the setup (every plugin's state, including the
   * objects the setup created, is saved and restored in place), is restored to that checkpoint for
   * every execution instead of being set up again; the other scenarios' setup is re-run.
   */
  restart?(): void;
  /** Scenario state outside the memmap that distinguishes states (folded into the state hash). */
  hashExtra?(): number;
  /** What the setup made (the result of the `exploreSetup` trace line). */
  readonly summary: JsonValue;
}

/** A race scenario. */
export interface Scenario {
  /** Its name on the command line (`balloon-deflate`). */
  readonly name: string;
  /** One line: the race. */
  readonly description: string;
  /** The plugins the machine needs, by `meta.name`. */
  readonly plugins: readonly string[];
  /** What `fix: false` switches off (e.g. `"stickyPageTypes"`), or null if the scenario has no switch. */
  readonly fixSwitch: string | null;
  /** Variants (`params.variant`), the first being the default; empty if none. */
  readonly variants: readonly string[];
  /** The machine configuration (without plugins), given the parameters. */
  machine(params: ScenarioParams): Omit<MachineConfig, 'plugins' | 'parentContainer' | 'pluginOptions'>;
  /** Bring a fresh machine to the start of the race and return the tasks. */
  setup(m: Machine, params: ScenarioParams): ScenarioInstance;
}
