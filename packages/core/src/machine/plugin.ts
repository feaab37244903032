import type { DependencyContainer } from 'tsyringe';
import type { Machine } from './machine.js';

/**
 * A plugin is data: its name and version, and a function that registers its providers (for example a
 * `FolioOwnerOps` or `MovableOperations` class) in the machine's own DI container. Registering must
 * not touch global state. `init` runs after every plugin has registered and the core has installed
 * the providers, when the machine is booted (for example to allocate boot-time pools).
 */
export interface MmPlugin {
  /** Who this plugin is. */
  readonly meta: {
    /** Short name (`'hugetlb'`, `'zsmalloc'`); kept in `Machine.pluginNames` and in recorded trace headers. */
    readonly name: string;
    /** The plugin's version string. */
    readonly version: string;
  };
  /** Register providers in the machine's child container. */
  register(container: DependencyContainer): void;
  /** Optional: run once the machine has booted and all providers are installed. */
  init?(machine: Machine): void;
}

/**
 * A consistency check a plugin adds to the `debugVm` checker (DI token and interface share the name):
 * `check` throws `VmBugError` naming the invariant when the machine's state breaks it.
 */
export interface InvariantCheck {
  /** The invariant family, e.g. `"§4 hugetlb"`. */
  readonly name: string;
  /** Throw `VmBugError` if the machine breaks the invariant. */
  check(m: Machine): void;
  /**
   * Optional, for callers that check after every small step (the explorer): the same check, given
   * that since the previous call of `check` or `checkChanged` on this machine only the pages in
   * `changed` had a memmap word written (every other page's words are as they were then; state
   * outside the memmap may have changed in any way). It must throw exactly when `check` would throw
   * (it may report a different first violation); it may keep what it learnt from the previous call,
   * so it must also leave that consistent when it throws. The caller calls `check` instead when it
   * cannot vouch for `changed` (the first call, or after a call that was skipped).
   */
  checkChanged?(m: Machine, changed: readonly number[]): void;
}

/** DI token for {@link InvariantCheck} providers. */
export const InvariantCheck = Symbol('@mm/core:InvariantCheck');
