import { MmError } from '../debug/mm-error.js';
import { EINVAL } from '../errno.js';

/**
 * Small integer ids for plugin objects in traces: a trace line cannot hold an object (a pool, a
 * device, a file), so the operation that creates one returns its id — handed out in creation order,
 * hence the same when the trace is replayed on a fresh machine — and later operations name it by
 * that id.
 *
 * @module
 */

/** The objects of one kind that a machine's replayable operations created, by id (0, 1, 2, … in creation order). */
export class ReplayIds<T> {
  private readonly items: (T | undefined)[] = [];

  /** Ids of objects called `what` in error messages (`"zsmalloc pool"`). */
  constructor(
    /** What the objects are called in error messages (`"zsmalloc pool"`). */
    readonly what: string,
  ) {}

  /** Give `x` the next id and return it. */
  add(x: T): number {
    this.items.push(x);
    return this.items.length - 1;
  }

  /** The id of `x`, or -1 if it has none. */
  idOf(x: T): number {
    return this.items.indexOf(x);
  }

  /** The object with id `id`; `MmError(EINVAL)` (from operation `fn`) if there is none, or it was removed. */
  get(id: number, fn: string): T {
    const x = Number.isInteger(id) && id >= 0 ? this.items[id] : undefined;
    if (x === undefined) {
      throw new MmError(EINVAL, `${fn}: no ${this.what} ${id}`, { rule: `${this.what} ids come from the operation that created it, in this trace` });
    }
    return x;
  }

  /** Forget the object with id `id` (destroyed): later lookups fail; ids are never reused. */
  remove(id: number): void {
    this.items[id] = undefined;
  }
}
