import { Checkpointable, EOPNOTSUPP, Machine, MmError } from '@mm/core';
import type { ZsmallocState } from './zsmalloc-state.js';

type Typed = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array;

/** A saved value: a primitive, a typed array's copy, or an object or array with its saved fields. */
type Saved = { readonly kind: 'value'; readonly v: unknown } | { readonly kind: 'typed'; readonly copy: Typed } | { readonly kind: 'object'; readonly ref: object; readonly fields: Map<string, Saved> };

function isTyped(v: unknown): v is Typed {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

/** Save `v`: typed arrays are copied, arrays and objects (not the machine, not functions) saved field by field. */
function save(v: unknown): Saved {
  if (isTyped(v)) return { kind: 'typed', copy: v.slice() };
  if (v === null || typeof v !== 'object' || v instanceof Machine) return { kind: 'value', v };
  const fields = new Map<string, Saved>();
  for (const k of Object.keys(v)) fields.set(k, save((v as Record<string, unknown>)[k]));
  return { kind: 'object', ref: v, fields };
}

/** The value `s` restores to: the same object with its saved fields (and an array its saved length), or a copy of a typed array. */
function restore(s: Saved, current: unknown): unknown {
  if (s.kind === 'value') return s.v;
  if (s.kind === 'typed') {
    if (isTyped(current) && current.length === s.copy.length && current.constructor === s.copy.constructor) {
      current.set(s.copy as never);
      return current;
    }
    return s.copy.slice();
  }
  const o = s.ref as Record<string, unknown>;
  if (Array.isArray(o)) o.length = s.fields.size;
  for (const [k, f] of s.fields) {
    const next = restore(f, o[k]);
    if (o[k] !== next) o[k] = next;
  }
  return o;
}

/**
 * The zsmalloc plugin's side of a machine checkpoint (`saveMachineCheckpoint`): the pool registry,
 * the zspage and handle tables (their arrays and slot allocators) and the page-contents store,
 * saved field by field (typed arrays copied). A restore puts the same table objects back with their
 * saved contents and drops the pools, zspages and handles created after the save. `save` throws
 * `MmError(EOPNOTSUPP)` if a pool exists (a checkpoint is meant to be taken right after boot).
 */
export class ZsmallocCheckpoint implements Checkpointable {
  /** Covers the `zsmalloc` plugin. */
  readonly plugin = 'zsmalloc';
  private readonly st: ZsmallocState;

  /** For the machine's zsmalloc state. */
  constructor(st: ZsmallocState) {
    this.st = st;
  }

  /** Copy the state; `MmError(EOPNOTSUPP)` if a pool exists. */
  save(): unknown {
    if (this.st.pools.some((p) => p !== undefined)) {
      throw new MmError(EOPNOTSUPP, 'zsmalloc checkpoint: a pool exists', { rule: 'checkpoint zsmalloc before creating pools' });
    }
    return save(this.st);
  }

  /** Put a saved state back. */
  restore(saved: unknown): void {
    restore(saved as Saved, this.st);
  }
}
