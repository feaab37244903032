import type { Zone } from '../alloc/zone.js';
import { MmError } from '../debug/mm-error.js';
import { assertFolio, assertValidPfn } from '../debug/validate.js';
import { EEXIST, EINVAL } from '../errno.js';
import type { Machine } from '../machine/machine.js';
import type { Folio, Pfn } from '../types.js';

/**
 * Operations a trace can name: the unit of record and replay. A trace line says which operation ran
 * (`"op"`), with which arguments (`"args"`, JSON) and what it returned or threw; replaying looks the
 * name up in the machine's table of {@link ReplayableOperation}s — the core's own
 * (`CORE_REPLAYABLE_OPERATIONS`) plus those the machine's plugins register under the
 * {@link ReplayableOperations} token.
 *
 * @module
 */

/** A JSON value, as a trace line holds it. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * One operation that can be recorded and replayed. `apply` must be deterministic given the machine's
 * state and `args` (any randomness comes from the machine's seeded generators), must validate its
 * arguments before changing anything (throwing `MmError`, as the kernel functions do), and returns the
 * result as JSON (`null` for a function that returns nothing), so that replay can check it.
 */
export interface ReplayableOperation {
  /**
   * The name trace lines use: the kernel function's exact name for a kernel function (`folio_put`),
   * camelCase for anything else (`setCpu`).
   */
  readonly name: string;
  /** Apply the operation to `m` with the arguments of a trace line; returns the JSON result. */
  apply(m: Machine, args: readonly JsonValue[]): JsonValue;
}

/**
 * What a plugin contributes to the replay table (DI token and interface share the name). A plugin
 * whose state changes through its own functions (a hugetlb pool resize, a balloon inflate) registers
 * them here so that scenarios can call them through the recorder and traces can replay them:
 *
 * ```ts
 * register(c) {
 *   c.register(ReplayableOperations, {
 *     useValue: {
 *       operations: [
 *         defineReplayableOperation('balloon_page_enqueue', ['int'], (m, dev) => balloon_page_enqueue(m, devices.get(dev))),
 *       ],
 *     },
 *   });
 * }
 * ```
 *
 * Rules for plugin authors: name each operation after the kernel function it calls (camelCase if there
 * is none), take only JSON arguments (refer to plugin objects by a small integer id the plugin hands
 * out deterministically, never by object identity), return JSON, validate before mutating, and do not
 * reuse a name the core or another plugin has (`MmError(EEXIST)` when the table is built).
 */
export interface ReplayableOperations {
  /** The operations this provider adds. */
  readonly operations: readonly ReplayableOperation[];
}

/** DI token for {@link ReplayableOperations} providers. */
export const ReplayableOperations = Symbol('@mm/core:ReplayableOperations');

/**
 * The kind of one argument of a {@link defineReplayableOperation} operation, checked before the
 * operation runs: `int` an integer; `pfn` a PFN with a struct page; `folio` such a PFN that is not a
 * tail page; `zone` a zone's id (the top byte of its pages' flags, `Zone.id`) or null for "every zone";
 * `int[]`, `pfn[]`, `folio[]` arrays of those; `string`, `boolean`; `json` anything. A trailing `?`
 * makes the argument optional (absent or null).
 */
export type ReplayArgKind = 'int' | 'pfn' | 'folio' | 'zone' | 'int[]' | 'pfn[]' | 'folio[]' | 'string' | 'boolean' | 'json';

/** A {@link ReplayArgKind}, optionally followed by `?`. */
export type ReplayArgSpec = ReplayArgKind | `${ReplayArgKind}?`;

/** The TypeScript type of an argument of kind `K` (without `?`). */
export type ReplayKindType<K> = K extends 'int'
  ? number
  : K extends 'pfn'
    ? Pfn
    : K extends 'folio'
      ? Folio
      : K extends 'zone'
        ? Zone | null
        : K extends 'int[]'
          ? number[]
          : K extends 'pfn[]'
            ? Pfn[]
            : K extends 'folio[]'
              ? Folio[]
              : K extends 'string'
                ? string
                : K extends 'boolean'
                  ? boolean
                  : JsonValue;

/** The TypeScript type of an argument of kind `S`. */
export type ReplayArgType<S> = S extends `${infer K}?` ? ReplayKindType<K> | undefined : ReplayKindType<S>;

/** The TypeScript types of a list of argument kinds. */
export type ReplayArgTypes<S extends readonly ReplayArgSpec[]> = { -readonly [I in keyof S]: ReplayArgType<S[I]> };

function badArg(name: string, i: number, spec: string, v: unknown): never {
  throw new MmError(EINVAL, `${name}: argument ${i + 1} is ${JSON.stringify(v) ?? String(v)}, not ${spec}`, { rule: `argument ${i + 1} of ${name} is ${spec}` });
}

type ArgCheck = (m: Machine, v: unknown) => unknown;

/** Compile the check of one argument kind (once per operation, not per call). */
function argCheck(name: string, i: number, spec: string): ArgCheck {
  const optional = spec.endsWith('?');
  const kind = optional ? spec.slice(0, -1) : spec;
  const check = kindCheck(name, i, kind, spec);
  return (m, v) => {
    if (v === undefined || v === null) {
      if (optional) return undefined;
      if (kind === 'json' || (kind === 'zone' && v === null)) return v;
      badArg(name, i, spec, v);
    }
    return check(m, v);
  };
}

function kindCheck(name: string, i: number, kind: string, spec: string): ArgCheck {
  switch (kind) {
    case 'int':
      return (_m, v) => (Number.isInteger(v) ? v : badArg(name, i, spec, v));
    case 'pfn':
      return (m, v) => {
        assertValidPfn(m, v as number, name);
        return v;
      };
    case 'folio':
      return (m, v) => {
        assertFolio(m, v as number, name);
        return v;
      };
    case 'zone':
      return (m, v) => (Number.isInteger(v) ? m.zoneById[v as number] : undefined) ?? badArg(name, i, 'a zone id', v);
    case 'int[]':
    case 'pfn[]':
    case 'folio[]': {
      const each = kindCheck(name, i, kind.slice(0, -2), spec);
      return (m, v) => {
        if (!Array.isArray(v)) badArg(name, i, spec, v);
        for (const x of v) each(m, x);
        return v;
      };
    }
    case 'string':
    case 'boolean':
      return (_m, v) => (typeof v === kind ? v : badArg(name, i, spec, v));
    default:
      return (_m, v) => v;
  }
}

/**
 * Build a {@link ReplayableOperation} from a function that takes the machine and typed arguments:
 * `apply` checks each argument against `kinds` (`MmError(EINVAL)` before anything changes), calls
 * `fn`, and returns its result as JSON (`undefined` becomes `null`).
 */
export function defineReplayableOperation<const S extends readonly ReplayArgSpec[]>(
  name: string,
  kinds: S,
  fn: (m: Machine, ...args: ReplayArgTypes<S>) => unknown,
): ReplayableOperation {
  const n = kinds.length;
  const call = fn as (m: Machine, ...args: unknown[]) => unknown;
  const checks = kinds.map((k, i) => argCheck(name, i, k));
  const [c0, c1] = checks;
  return {
    name,
    apply(m: Machine, args: readonly JsonValue[]): JsonValue {
      if (args.length > n) {
        throw new MmError(EINVAL, `${name}: ${args.length} arguments, at most ${n}`, { rule: `${name} takes (${kinds.join(', ')})` });
      }
      let r: unknown;
      if (n === 0) r = call(m);
      else if (n === 1) r = call(m, c0!(m, args[0]));
      else if (n === 2) r = call(m, c0!(m, args[0]), c1!(m, args[1]));
      else {
        const a: unknown[] = new Array(n);
        for (let i = 0; i < n; i++) a[i] = checks[i]!(m, args[i]);
        r = call(m, ...a);
      }
      return r === undefined ? null : (r as JsonValue);
    },
  };
}

/**
 * The operations a machine can replay, by name: `core` (the core's table) followed by every
 * {@link ReplayableOperations} provider registered in the machine's container. `MmError(EEXIST)` if
 * two operations share a name.
 */
export function replayableOperations(m: Machine, core: readonly ReplayableOperation[]): Map<string, ReplayableOperation> {
  const table = new Map<string, ReplayableOperation>();
  const add = (op: ReplayableOperation): void => {
    if (table.has(op.name)) {
      throw new MmError(EEXIST, `replayable operation ${op.name} is defined twice`, { rule: 'each replayable operation has one name' });
    }
    table.set(op.name, op);
  };
  core.forEach(add);
  const c = m.container;
  if (c !== undefined && c.isRegistered(ReplayableOperations, true)) {
    for (const p of c.resolveAll<ReplayableOperations>(ReplayableOperations)) p.operations.forEach(add);
  }
  return table;
}

/**
 * A recorded options argument (a `json?` argument of `fn`): `{}` when absent, else the object itself
 * if every key is one of `allowed`; `MmError(EINVAL)` naming `fn` otherwise (nothing has run yet).
 */
export function replayOptions<T extends object>(fn: string, options: JsonValue | undefined, allowed: readonly string[]): T {
  if (options === undefined) return {} as T;
  if (typeof options !== 'object' || options === null || Array.isArray(options) || Object.keys(options).some((k) => !allowed.includes(k))) {
    throw new MmError(EINVAL, `${fn}: options ${JSON.stringify(options)}`, { rule: `options is an object of ${allowed.join(', ')}` });
  }
  return options as T;
}
