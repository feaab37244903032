import { Checkpointable, EOPNOTSUPP, Machine, MmError } from '@mm/core';
import { PageContents, type PageContentsCopy } from './page-contents.js';
import type { ZsmallocState } from './zsmalloc-state.js';

type Typed = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

/**
 * A saved value: a primitive, a typed array's copy, the page-contents store's own copy, or an object
 * or array with its saved fields.
 */
type Saved =
  | { readonly kind: 'value'; readonly v: unknown }
  | { readonly kind: 'typed'; readonly copy: Typed }
  | { readonly kind: 'contents'; readonly ref: PageContents; readonly copy: PageContentsCopy }
  | { readonly kind: 'object'; readonly ref: object; readonly fields: Map<string, Saved> };

function isTyped(v: unknown): v is Typed {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

/**
 * Save `v`: typed arrays are copied, the page-contents store copies itself (only the slots in use),
 * arrays and objects (not the machine, not functions) are saved field by field. An object reached
 * twice (a merged size class, a pool's back reference to the state) is saved once (`seen`). A Map or
 * Set (whose entries are not fields) cannot be saved this way: `MmError(EOPNOTSUPP)`.
 */
function save(v: unknown, seen: Map<object, Saved>): Saved {
  if (v === null || typeof v !== 'object' || v instanceof Machine) return { kind: 'value', v };
  const known = seen.get(v);
  if (known !== undefined) return known;
  let s: Saved;
  if (isTyped(v)) s = { kind: 'typed', copy: v.slice() };
  else if (v instanceof PageContents) s = { kind: 'contents', ref: v, copy: v.save() };
  else if (v instanceof Map || v instanceof Set) {
    throw new MmError(EOPNOTSUPP, 'zsmalloc checkpoint: a Map or Set in the state', { rule: 'zsmalloc state is saved field by field' });
  } else {
    const fields = new Map<string, Saved>();
    s = { kind: 'object', ref: v, fields };
    seen.set(v, s);
    for (const k of Object.keys(v)) fields.set(k, save((v as Record<string, unknown>)[k], seen));
    return s;
  }
  seen.set(v, s);
  return s;
}

/**
 * The value `s` restores to: the same object with its saved fields (and an array its saved length),
 * or a copy of a typed array. `done`: what the values already restored in this restore restored to
 * (each is restored once, and a value reached twice is the same value again).
 */
function restore(s: Saved, current: unknown, done: Map<Saved, unknown>): unknown {
  if (s.kind === 'value') return s.v;
  if (done.has(s)) return done.get(s);
  if (s.kind === 'typed') {
    let out: Typed;
    if (isTyped(current) && current.length === s.copy.length && current.constructor === s.copy.constructor) {
      current.set(s.copy as never);
      out = current;
    } else out = s.copy.slice();
    done.set(s, out);
    return out;
  }
  done.set(s, s.ref);
  if (s.kind === 'contents') {
    s.ref.restore(s.copy);
    return s.ref;
  }
  const o = s.ref as Record<string, unknown>;
  if (Array.isArray(o)) o.length = s.fields.size;
  for (const [k, f] of s.fields) {
    const next = restore(f, o[k], done);
    if (o[k] !== next) o[k] = next;
  }
  return o;
}

/**
 * The zsmalloc plugin's side of a machine checkpoint (`saveMachineCheckpoint`): the pool registry
 * and every pool (its size classes with their fullness lists and statistics, counters, deferred-free
 * flag), the zspage and handle tables (their arrays and slot allocators) and the page-contents store
 * (the bytes of the slots in use), saved field by field (typed arrays copied). A restore puts the
 * same objects back with their saved contents (a pool kept by a caller is the machine's pool again)
 * and drops the pools, zspages and handles created after the save.
 */
export class ZsmallocCheckpoint implements Checkpointable {
  /** Covers the `zsmalloc` plugin. */
  readonly plugin = 'zsmalloc';
  private readonly st: ZsmallocState;

  /** For the machine's zsmalloc state. */
  constructor(st: ZsmallocState) {
    this.st = st;
  }

  /** Copy the state. */
  save(): unknown {
    return save(this.st, new Map());
  }

  /** Put a saved state back. */
  restore(saved: unknown): void {
    restore(saved as Saved, this.st, new Map());
  }
}
