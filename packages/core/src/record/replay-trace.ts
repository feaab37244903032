import type { DependencyContainer } from 'tsyringe';
import { MmError, VmBugError } from '../debug/mm-error.js';
import { createMachine } from '../machine/create-machine.js';
import type { Machine } from '../machine/machine.js';
import type { MmPlugin } from '../machine/plugin.js';
import { CORE_REPLAYABLE_OPERATIONS } from './core-operations.js';
import { replayableOperations, type JsonValue, type ReplayableOperation } from './replayable-operation.js';
import { parseTraceHeader, type TraceHeader, type TraceLine } from './trace-format.js';

/**
 * Replay: boot a machine from a trace's header and re-apply its lines, checking every result.
 *
 * @module
 */

/** A trace that does not replay: `line` is the 1-based line number, the message names it. */
export class TraceReplayError extends Error {
  /** The 1-based line of the trace where replay failed. */
  readonly line: number;

  /** An error at `line`; the message reads `trace line <line>: <what>`. */
  constructor(line: number, what: string) {
    super(`trace line ${line}: ${what}`);
    this.name = 'TraceReplayError';
    this.line = line;
  }
}

/** Options of {@link replayTrace} and {@link TraceReplayer}. */
export interface ReplayOptions {
  /**
   * Build the plugin named in the header (`MmPlugin.meta.name`), given its `pluginOptions` entry.
   * Required when the header names plugins (the core does not know the owner packages).
   */
  readonly resolvePlugin?: (name: string, options: unknown) => MmPlugin;
  /** Override the header's `debugVm` (e.g. check every invariant while replaying a counterexample). */
  readonly debugVm?: boolean;
  /** Parent DI container of the new machine's container. */
  readonly parentContainer?: DependencyContainer;
  /** Called with the current line number every `progressEvery` lines (default 65536). */
  readonly onProgress?: (line: number) => void;
  /** How often `onProgress` is called, in lines. */
  readonly progressEvery?: number;
}

/** What {@link replayTrace} returns. */
export interface ReplayResult {
  /** The machine the trace was replayed on, in its final state. */
  readonly machine: Machine;
  /** The trace's header. */
  readonly header: TraceHeader;
  /** How many operations were replayed. */
  readonly operations: number;
  /** How many lines the trace has (blank lines included). */
  readonly lines: number;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

function expected(t: TraceLine): string {
  if (t.err !== undefined) return `threw ${t.err}`;
  if (t.bug !== undefined) return `hit VM_BUG ${t.bug}`;
  return `returned ${JSON.stringify(t.ret ?? null)}`;
}

/**
 * Parse the common shape of an operation line, as `recordOperations` writes it —
 * `{"op":"name","args":[…],"ret":v}` or `{…,"err":"CODE"}` with integers, `null`, `true`, `false`
 * and arrays of those — without `JSON.parse` (three times faster on such lines). Returns null for
 * anything else, which the caller then parses with `JSON.parse`: the result is the same either way.
 */
function parseOperationLine(s: string): TraceLine | null {
  if (!s.startsWith('{"op":"')) return null;
  const q = s.indexOf('"', 7);
  if (q < 0 || !s.startsWith('","args":[', q)) return null;
  const cur = { i: q + 9 };
  const args = parseValue(s, cur);
  if (!Array.isArray(args)) return null;
  const op = s.slice(7, q);
  if (op.includes('\\')) return null; // escapes: JSON.parse decodes them
  let i = cur.i;
  if (s.startsWith(',"ret":', i)) {
    cur.i = i + 7;
    const ret = parseValue(s, cur);
    if (ret === undefined || cur.i !== s.length - 1 || s.charCodeAt(cur.i) !== 125) return null;
    return { op, args, ret };
  }
  if (s.startsWith(',"err":"', i)) {
    i += 8;
    const e = s.indexOf('"', i);
    if (e < 0 || e !== s.length - 2 || s.charCodeAt(e + 1) !== 125) return null;
    const err = s.slice(i, e);
    return err.includes('\\') ? null : { op, args, err };
  }
  return null;
}

/** An integer, `null`, `true`, `false` or an array of those at `cur.i`; undefined if it is anything else. */
function parseValue(s: string, cur: { i: number }): JsonValue | undefined {
  let i = cur.i;
  const c = s.charCodeAt(i);
  if (c === 91 /* [ */) {
    const out: JsonValue[] = [];
    i++;
    if (s.charCodeAt(i) === 93 /* ] */) {
      cur.i = i + 1;
      return out;
    }
    for (;;) {
      cur.i = i;
      const v = parseValue(s, cur);
      if (v === undefined) return undefined;
      out.push(v);
      i = cur.i;
      const d = s.charCodeAt(i);
      if (d === 93) {
        cur.i = i + 1;
        return out;
      }
      if (d !== 44 /* , */) return undefined;
      i++;
    }
  }
  if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
    const start = i;
    if (c === 45) i++;
    const first = s.charCodeAt(i);
    if (!(first >= 48 && first <= 57)) return undefined;
    let v = 0;
    let d = first;
    do {
      v = v * 10 + (d - 48);
      d = s.charCodeAt(++i);
    } while (d >= 48 && d <= 57);
    // Leading zeros, fractions, exponents and integers past 2^53 are left to JSON.parse.
    if (d === 46 || d === 101 || d === 69 || (first === 48 && i - start > (c === 45 ? 2 : 1)) || v > Number.MAX_SAFE_INTEGER) return undefined;
    cur.i = i;
    return c === 45 ? -v : v;
  }
  if (s.startsWith('null', i)) {
    cur.i = i + 4;
    return null;
  }
  if (s.startsWith('true', i)) {
    cur.i = i + 4;
    return true;
  }
  if (s.startsWith('false', i)) {
    cur.i = i + 5;
    return false;
  }
  return undefined;
}

function sameJson(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * A trace being replayed line by line: the constructor boots a machine from the header line, each
 * {@link TraceReplayer.step} applies one operation line and checks its result. For callers that
 * stream a trace or interleave it with their own checks; {@link replayTrace} replays a whole trace.
 */
export class TraceReplayer {
  /** The replayed machine. */
  readonly machine: Machine;
  /** The trace's header. */
  readonly header: TraceHeader;
  /** Operations replayed so far. */
  operations = 0;
  private readonly table: Map<string, ReplayableOperation>;

  /**
   * Boot the machine of the header line `headerText` (line `lineNo`). Throws
   * {@link TraceReplayError} for a bad header, a plugin that cannot be resolved or a configuration
   * `createMachine` refuses.
   */
  constructor(headerText: string, options: ReplayOptions = {}, lineNo = 1) {
    try {
      this.header = parseTraceHeader(headerText);
      const h = this.header;
      if (h.plugins.length > 0 && options.resolvePlugin === undefined) {
        throw new Error(`the trace needs plugins (${h.plugins.join(', ')}) and no resolvePlugin was given`);
      }
      const pluginOptions = (h.machine.pluginOptions ?? {}) as Record<string, unknown>;
      const plugins = h.plugins.map((name) => options.resolvePlugin!(name, pluginOptions[name]));
      this.machine = createMachine({
        ...h.machine,
        ...(options.debugVm === undefined ? {} : { debugVm: options.debugVm }),
        plugins,
        ...(options.parentContainer ? { parentContainer: options.parentContainer } : {}),
      });
      this.table = replayableOperations(this.machine, CORE_REPLAYABLE_OPERATIONS);
    } catch (e) {
      throw new TraceReplayError(lineNo, firstLine(e));
    }
  }

  /**
   * Apply the operation line `text` (line `lineNo`) and check its outcome against the trace: the same
   * JSON result, the same `MmError` errno, or the same `VmBugError` invariant. Blank lines are
   * skipped. Throws {@link TraceReplayError} naming the line on any difference.
   */
  step(text: string, lineNo: number): void {
    if (text.length === 0 || (text.charCodeAt(0) !== 123 && text.trim().length === 0)) return;
    let t = parseOperationLine(text);
    if (t === null) {
      try {
        t = JSON.parse(text) as TraceLine;
      } catch {
        throw new TraceReplayError(lineNo, 'not JSON');
      }
    }
    if (typeof t !== 'object' || t === null || typeof t.op !== 'string' || !Array.isArray(t.args)) {
      throw new TraceReplayError(lineNo, 'not an operation line {"op":"...","args":[...],...}');
    }
    const op = this.table.get(t.op);
    if (op === undefined) throw new TraceReplayError(lineNo, `unknown operation ${JSON.stringify(t.op)} (not in the core or this machine's plugins)`);
    this.operations++;
    let ret: JsonValue;
    try {
      ret = op.apply(this.machine, t.args);
    } catch (e) {
      if (e instanceof MmError && t.err === e.code) return;
      if (e instanceof VmBugError && t.bug === e.invariant) return;
      throw new TraceReplayError(lineNo, `${t.op} threw ${firstLine(e)}; the trace says it ${expected(t)}`);
    }
    if (t.err !== undefined || t.bug !== undefined || !sameJson(ret, t.ret ?? null)) {
      throw new TraceReplayError(lineNo, `${t.op} returned ${JSON.stringify(ret)}; the trace says it ${expected(t)}`);
    }
  }
}

/**
 * Replay a trace (its lines, e.g. `text.split('\n')`): boot a machine with the header's configuration
 * and plugins, re-apply every operation line and check each result (see {@link TraceReplayer.step}).
 * Replaying a trace recorded by `recordOperations` reproduces the recorded machine's state exactly.
 * Throws {@link TraceReplayError} with the line number at the first difference.
 */
export function replayTrace(lines: Iterable<string>, options: ReplayOptions = {}): ReplayResult {
  let replayer: TraceReplayer | null = null;
  let lineNo = 0;
  const every = options.progressEvery ?? 65536;
  const progress = options.onProgress;
  for (const text of lines) {
    lineNo++;
    if (replayer !== null) {
      replayer.step(text, lineNo);
      if (progress !== undefined && lineNo % every === 0) progress(lineNo);
    } else if (text.trim().length > 0) {
      replayer = new TraceReplayer(text, options, lineNo);
    }
  }
  if (replayer === null) throw new TraceReplayError(Math.max(lineNo, 1), 'empty trace: no header line');
  return { machine: replayer.machine, header: replayer.header, operations: replayer.operations, lines: lineNo };
}
