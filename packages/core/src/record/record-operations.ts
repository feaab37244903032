import { MmError, VmBugError } from '../debug/mm-error.js';
import { EINVAL } from '../errno.js';
import type { Machine } from '../machine/machine.js';
import { CORE_REPLAYABLE_OPERATIONS, type CoreOps } from './core-operations.js';
import { replayableOperations, type JsonValue, type ReplayableOperation } from './replayable-operation.js';
import { traceHeader } from './trace-format.js';

/**
 * Recording: an ops object whose methods apply an operation to the machine and append one trace line
 * for it (see `trace-format.ts`).
 *
 * @module
 */

/** Where trace lines go, one call per line, without the newline. */
export type TraceSink = (line: string) => void;

/** Options of {@link recordOperations}. */
export interface RecordOptions {
  /**
   * The names (`meta.name`) of the plugins the machine was created with, in order, for the trace
   * header. Replaying resolves them by name and passes each its `pluginOptions[name]`. Default: the
   * machine's own `pluginNames`.
   */
  readonly plugins?: readonly string[];
}

/**
 * The recorder's ops object: every core operation as a method without the machine argument
 * (`ops.folio_put(folio)`), typed as {@link CoreOps}; plugin operations through `call`.
 */
export type RecordedOps = CoreOps & {
  /** The machine the operations act on. */
  readonly machine: Machine;
  /** Every operation this machine can record, by name (the core's and its plugins'). */
  readonly operations: ReadonlyMap<string, ReplayableOperation>;
  /** Apply and record the operation `name` (any operation, including plugins'); returns its JSON result. */
  call(name: string, ...args: JsonValue[]): JsonValue;
  /** Number of operations applied through this object so far. */
  readonly count: number;
};

/**
 * Record operations on `m`: returns an ops object whose calls apply an operation (from the core's
 * table and the machine's plugins' {@link ReplayableOperations}) and write one trace line to `sink`:
 * `{"op","args","ret"}` with the JSON result, or `{"op","args","err"}` with the errno name when the
 * operation threw an `MmError` (the machine is unchanged; the error is rethrown), or
 * `{"op","args","bug"}` with the invariant when it threw a `VmBugError` (rethrown). The trace's header
 * line (the machine's configuration and `options.plugins`) is written at once.
 *
 * Start recording on a freshly created machine and make every change through the ops object: replay
 * boots a new machine from the header and re-applies the lines, so changes made around the recorder
 * are not reproduced. With `sink` null nothing is written (the ops object only applies operations).
 * `MmError(EINVAL)` from a call naming an operation the machine does not have.
 */
export function recordOperations(m: Machine, sink: TraceSink | null, options: RecordOptions = {}): RecordedOps {
  const table = replayableOperations(m, CORE_REPLAYABLE_OPERATIONS);
  if (sink !== null) sink(JSON.stringify(traceHeader(m, options.plugins ?? m.pluginNames)));
  let count = 0;
  const apply = (name: string, args: JsonValue[]): JsonValue => {
    const op = table.get(name);
    if (op === undefined) {
      throw new MmError(EINVAL, `no replayable operation ${JSON.stringify(name)}`, { rule: 'operations come from the core or a plugin of this machine' });
    }
    count++;
    if (sink === null) return op.apply(m, args);
    const head = `{"op":${JSON.stringify(name)},"args":${JSON.stringify(args)},`;
    let ret: JsonValue;
    try {
      ret = op.apply(m, args);
    } catch (e) {
      if (e instanceof MmError) sink(`${head}"err":"${e.code}"}`);
      else if (e instanceof VmBugError) sink(`${head}"bug":${JSON.stringify(e.invariant)}}`);
      throw e;
    }
    sink(`${head}"ret":${JSON.stringify(ret)}}`);
    return ret;
  };
  const ops: Record<string, unknown> = {
    machine: m,
    operations: table,
    call: (name: string, ...args: JsonValue[]) => apply(name, args),
  };
  Object.defineProperty(ops, 'count', { get: () => count, enumerable: true });
  for (const name of table.keys()) {
    if (!(name in ops)) ops[name] = (...args: JsonValue[]) => apply(name, args);
  }
  return ops as RecordedOps;
}
