import type { Machine } from '@mm/core';

/**
 * Run a multi-step operation with the `debugVm` checks held back until it is complete
 * (`Machine.withChecksDeferred`); without `debugVm` it is a plain call.
 */
export function deferred<T>(m: Machine, where: string, fn: () => T): T {
  return m.debugVm ? m.withChecksDeferred(where, fn) : fn();
}
