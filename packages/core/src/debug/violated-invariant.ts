import { VmBugError } from './mm-error.js';

/**
 * Run `fn` (an invariant check, or an operation on a `debugVm` machine): return the name of the
 * invariant its `VmBugError` names (e.g. `'§7.2 balloon private'`), or `null` if it returned
 * normally. Anything else it throws is rethrown. For tests of invariant checks:
 *
 * ```ts
 * expect(violatedInvariant(() => check.check(m))).toBe('§5.1 pgmap word');
 * ```
 */
export function violatedInvariant(fn: () => unknown): string | null {
  try {
    fn();
  } catch (e) {
    if (e instanceof VmBugError) return e.invariant;
    throw e;
  }
  return null;
}
