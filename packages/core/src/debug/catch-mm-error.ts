import { MmError } from './mm-error.js';

/**
 * Run `fn`, which must be rejected: return the `MmError` it threw. A call that returns normally, or
 * throws anything else, is an error of its own (rethrown). For tests of bad input, together with
 * `captureMachineState`/`diffMachineState` to prove nothing changed:
 *
 * ```ts
 * const before = captureMachineState(m);
 * expect(catchMmError(() => folio_put(m, freeFolio)).errno).toBe(EINVAL);
 * expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
 * ```
 */
export function catchMmError(fn: () => unknown): MmError {
  try {
    fn();
  } catch (e) {
    if (e instanceof MmError) return e;
    throw e;
  }
  throw new Error('expected the call to be rejected with an MmError, but it returned');
}
