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

/** Parsing failed: the line is not in the common shape (the caller falls back to `JSON.parse`). */
const NOT_FAST = Symbol('not fast');

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** The bytes of the ASCII text `lit`. */
function ascii(lit: string): Uint8Array {
  return Uint8Array.from(lit, (c) => c.charCodeAt(0));
}

const RET_PREFIX = ascii(',"ret":');
const ERR_PREFIX = ascii(',"err":"');
const NULL = ascii('null');
const TRUE = ascii('true');
const FALSE = ascii('false');

/** True if `b[i…]` starts with the bytes `lit` (`b` past its end reads as undefined, which matches nothing). */
function bytesAt(b: Uint8Array, i: number, lit: Uint8Array): boolean {
  for (let k = 0; k < lit.length; k++) if (b[i + k] !== lit[k]) return false;
  return true;
}

/**
 * The operations of a replay table in an open-addressing hash table keyed by name, looked up straight
 * from a line's bytes (a hash of the bytes between the quotes, then a byte comparison), so that
 * replaying a line never decodes its operation name.
 */
class OpIndex {
  private readonly names: Uint8Array[] = [];
  private readonly ops: ReplayableOperation[] = [];
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(table: ReadonlyMap<string, ReplayableOperation>) {
    let size = 16;
    while (size < table.size * 4) size *= 2;
    this.slots = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    for (const [name, op] of table) {
      const bytes = utf8.encode(name);
      let h = 0;
      for (let i = 0; i < bytes.length; i++) h = (Math.imul(h, 31) + bytes[i]!) | 0;
      let j = h & this.mask;
      while (this.slots[j]! >= 0) j = (j + 1) & this.mask;
      this.slots[j] = this.names.length;
      this.names.push(bytes);
      this.ops.push(op);
    }
  }

  /** The operation named by the bytes `b[from, to)`, whose hash is `h`, or undefined. */
  find(b: Uint8Array, from: number, to: number, h: number): ReplayableOperation | undefined {
    const len = to - from;
    for (let j = h & this.mask; ; j = (j + 1) & this.mask) {
      const k = this.slots[j]!;
      if (k < 0) return undefined;
      const name = this.names[k]!;
      if (name.length === len && bytesAt(b, from, name)) return this.ops[k];
    }
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
}

function expected(ret: JsonValue | undefined, err: string | undefined, bug: string | undefined): string {
  if (err !== undefined) return `threw ${err}`;
  if (bug !== undefined) return `hit VM_BUG ${bug}`;
  return `returned ${JSON.stringify(ret ?? null)}`;
}

function sameJson(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * A trace being replayed line by line: the constructor boots a machine from the header line, each
 * {@link TraceReplayer.step} applies one operation line and checks its result, and
 * {@link TraceReplayer.run} replays every line of a whole text. For callers that stream a trace or
 * interleave it with their own checks; {@link replayTrace} replays a whole trace.
 *
 * Lines in the shape `recordOperations` writes — `{"op":"name","args":[…],"ret":v}` or
 * `{…,"err":"CODE"}`, with integers, `null`, `true`, `false` and arrays of those — are read in place
 * without `JSON.parse`: no substring per line, the operation found by a hash of its name's characters,
 * the expected result compared without building an object. Any other line (a `bug` or `task` field,
 * strings, objects, escapes, fractions, extra spaces) is parsed with `JSON.parse`, with the same result.
 */
export class TraceReplayer {
  /** The replayed machine. */
  readonly machine: Machine;
  /** The trace's header. */
  readonly header: TraceHeader;
  /** Operations replayed so far. */
  operations = 0;
  private readonly table: Map<string, ReplayableOperation>;
  private readonly index: OpIndex;
  /** The parser's cursor in the line being read. */
  private pos = 0;
  /** Where {@link TraceReplayer.step} encodes its line. */
  private scratch = new Uint8Array(256);

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
      this.index = new OpIndex(this.table);
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
    // UTF-8 takes at most 3 bytes per UTF-16 unit; the scratch buffer is reused from line to line,
    // and a newline after the text ends the line for the parser (no byte of an earlier line is read).
    if (this.scratch.length <= text.length * 3) this.scratch = new Uint8Array(text.length * 3 + 1);
    const n = utf8.encodeInto(text, this.scratch).written;
    this.scratch[n] = 10;
    // A text holding a newline is not one line of a file: JSON.parse reads it whole.
    if (text.includes('\n')) this.stepParsed(this.scratch, 0, n, lineNo);
    else this.stepAt(this.scratch, 0, n, lineNo);
  }

  /**
   * Replay every line of the UTF-8 text `bytes` (a trace file as read) from offset `start` — the
   * first of them is line `firstLineNo` — as {@link TraceReplayer.step} would one by one, without
   * decoding or splitting the text. A final newline ends the last line, it does not start another.
   * Calls `onProgress(lineNo)` every `every` lines. Returns the number of the last line read
   * (`firstLineNo - 1` if there is none).
   */
  run(bytes: Uint8Array, start = 0, firstLineNo = 1, onProgress?: (line: number) => void, every = 65536): number {
    // A plain Uint8Array view (not a Buffer subclass), so that every byte access below is monomorphic.
    const b = Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let lineNo = firstLineNo - 1;
    const len = b.length;
    for (let p = start; p < len; ) {
      lineNo++;
      p = this.stepAt(b, p, len, lineNo) + 1;
      if (onProgress !== undefined && lineNo % every === 0) onProgress(lineNo);
    }
    return lineNo;
  }

  /**
   * {@link TraceReplayer.step} on the line that starts at `b[start]` and ends at the next newline or
   * at `len`; returns where it ends. The common shape is parsed in the same pass that finds the end
   * of the line, so each byte is read once.
   */
  private stepAt(b: Uint8Array, start: number, len: number, lineNo: number): number {
    const op = b[start] === 123 /* { */ ? this.opAt(b, start, len) : undefined;
    if (op !== undefined) {
      // `{"op":"name","args":[` has been read; then the arguments, and `,"ret":v}` or `,"err":"CODE"}` end the line.
      const args = this.parseList(b);
      if (args !== NOT_FAST) {
        let p = this.pos;
        if (bytesAt(b, p, RET_PREFIX)) {
          this.pos = p + RET_PREFIX.length;
          const ret = this.parseValue(b);
          p = this.pos;
          if (ret !== NOT_FAST && b[p] === 125 /* } */ && (p + 1 === len || b[p + 1] === 10)) {
            this.check(op, args, ret, undefined, undefined, lineNo);
            return p + 1;
          }
        } else if (bytesAt(b, p, ERR_PREFIX)) {
          // An errno name is upper-case ASCII: anything else (escapes, UTF-8) goes to JSON.parse.
          p += ERR_PREFIX.length;
          let q = p;
          while (b[q]! >= 65 && b[q]! <= 90) q++;
          if (q > p && b[q] === 34 && b[q + 1] === 125 && (q + 2 === len || b[q + 2] === 10)) {
            this.check(op, args, undefined, String.fromCharCode(...b.subarray(p, q)), undefined, lineNo);
            return q + 2;
          }
        }
      }
    }
    let end = start;
    while (end < len && b[end] !== 10 /* \n */) end++;
    this.stepParsed(b, start, end, lineNo);
    return end;
  }

  /**
   * Read `{"op":"name","args":[` at `start`: the operation (the cursor is then after the `[`), or
   * undefined if the line is not in that shape or names no operation of this machine (the slow path
   * then parses it and reports it).
   */
  private opAt(b: Uint8Array, start: number, len: number): ReplayableOperation | undefined {
    // `{"op":"` (checked byte by byte: this runs once per line).
    if (b[start + 1] !== 34 || b[start + 2] !== 111 || b[start + 3] !== 112 || b[start + 4] !== 34 || b[start + 5] !== 58 || b[start + 6] !== 34) return undefined;
    const from = start + 7;
    let h = 0;
    let i = from;
    for (; i < len; i++) {
      const c = b[i]!;
      if (c === 34 /* " */) break;
      if (c === 92 /* \ */ || c === 10) return undefined;
      h = (Math.imul(h, 31) + c) | 0;
    }
    if (i >= len) return undefined; // the line ends inside the name: the bytes after it are another line's
    // `","args":[`
    if (b[i + 1] !== 44 || b[i + 2] !== 34 || b[i + 3] !== 97 || b[i + 4] !== 114 || b[i + 5] !== 103 || b[i + 6] !== 115 || b[i + 7] !== 34 || b[i + 8] !== 58 || b[i + 9] !== 91) return undefined;
    this.pos = i + 10;
    return this.index.find(b, from, i, h);
  }

  /** The elements of a list whose `[` has been read, up to its `]`; NOT_FAST if one is not an integer, null, boolean or list. */
  private parseList(b: Uint8Array): JsonValue[] | typeof NOT_FAST {
    const out: JsonValue[] = [];
    if (b[this.pos] === 93 /* ] */) {
      this.pos++;
      return out;
    }
    for (;;) {
      const v = this.parseValue(b);
      if (v === NOT_FAST) return NOT_FAST;
      out.push(v);
      const d = b[this.pos];
      this.pos++;
      if (d === 93) return out;
      if (d !== 44 /* , */) return NOT_FAST;
    }
  }

  /** An integer, `null`, `true`, `false` or a list of those at the cursor; NOT_FAST if it is anything else. */
  private parseValue(b: Uint8Array): JsonValue | typeof NOT_FAST {
    let i = this.pos;
    const c = b[i]!;
    if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i;
      if (c === 45) i++;
      const first = b[i]!;
      if (!(first >= 48 && first <= 57)) return NOT_FAST;
      let v = 0;
      let d = first;
      do {
        v = v * 10 + (d - 48);
        d = b[++i]!;
      } while (d >= 48 && d <= 57);
      // Leading zeros, fractions, exponents and integers past 2^53 are left to JSON.parse.
      if (d === 46 || d === 101 || d === 69 || (first === 48 && i - start > (c === 45 ? 2 : 1)) || v > Number.MAX_SAFE_INTEGER) return NOT_FAST;
      this.pos = i;
      return c === 45 ? -v : v;
    }
    if (c === 91 /* [ */) {
      this.pos = i + 1;
      return this.parseList(b);
    }
    if (bytesAt(b, i, NULL)) {
      this.pos = i + 4;
      return null;
    }
    if (bytesAt(b, i, TRUE)) {
      this.pos = i + 4;
      return true;
    }
    if (bytesAt(b, i, FALSE)) {
      this.pos = i + 5;
      return false;
    }
    return NOT_FAST;
  }

  /** The slow path: the line `b[start, end)` as `JSON.parse` reads it; a blank line is skipped. */
  private stepParsed(b: Uint8Array, start: number, end: number, lineNo: number): void {
    const text = utf8Decoder.decode(b.subarray(start, end));
    if (text.trim().length === 0) return;
    let t: TraceLine;
    try {
      t = JSON.parse(text) as TraceLine;
    } catch {
      throw new TraceReplayError(lineNo, 'not JSON');
    }
    if (typeof t !== 'object' || t === null || typeof t.op !== 'string' || !Array.isArray(t.args)) {
      throw new TraceReplayError(lineNo, 'not an operation line {"op":"...","args":[...],...}');
    }
    const op = this.table.get(t.op);
    if (op === undefined) throw new TraceReplayError(lineNo, `unknown operation ${JSON.stringify(t.op)} (not in the core or this machine's plugins)`);
    this.check(op, t.args, t.ret, t.err, t.bug, lineNo);
  }

  /** Apply `op` to `args` and compare the outcome with the trace's: result `ret`, or errno `err`, or invariant `bug`. */
  private check(op: ReplayableOperation, args: readonly JsonValue[], ret0: JsonValue | undefined, err: string | undefined, bug: string | undefined, lineNo: number): void {
    this.operations++;
    let ret: JsonValue;
    try {
      ret = op.apply(this.machine, args);
    } catch (e) {
      if (e instanceof MmError && err === e.code) return;
      if (e instanceof VmBugError && bug === e.invariant) return;
      throw new TraceReplayError(lineNo, `${op.name} threw ${firstLine(e)}; the trace says it ${expected(ret0, err, bug)}`);
    }
    if (err !== undefined || bug !== undefined || !sameJson(ret, ret0 ?? null)) {
      throw new TraceReplayError(lineNo, `${op.name} returned ${JSON.stringify(ret)}; the trace says it ${expected(ret0, err, bug)}`);
    }
  }
}

/**
 * Replay a trace — its lines (e.g. `text.split('\n')`), or its whole text as one string or as the
 * UTF-8 bytes of a file, read in place without splitting (a final newline ends the last line): boot a
 * machine with the header's configuration and plugins, re-apply every operation line and check each
 * result (see {@link TraceReplayer.step}). Replaying a trace recorded by `recordOperations` reproduces
 * the recorded machine's state exactly. Throws {@link TraceReplayError} with the line number at the
 * first difference.
 */
export function replayTrace(lines: Iterable<string> | string | Uint8Array, options: ReplayOptions = {}): ReplayResult {
  let replayer: TraceReplayer | null = null;
  let lineNo = 0;
  const every = options.progressEvery ?? 65536;
  const progress = options.onProgress;
  if (typeof lines === 'string' || lines instanceof Uint8Array) {
    const bytes = typeof lines === 'string' ? utf8.encode(lines) : lines;
    let p = 0;
    while (replayer === null && p < bytes.length) {
      let e = bytes.indexOf(10, p);
      if (e < 0) e = bytes.length;
      lineNo++;
      const line = utf8Decoder.decode(bytes.subarray(p, e));
      if (line.trim().length > 0) replayer = new TraceReplayer(line, options, lineNo);
      p = e + 1;
    }
    if (replayer !== null) lineNo = replayer.run(bytes, p, lineNo + 1, progress, every);
  } else {
    for (const text of lines) {
      lineNo++;
      if (replayer !== null) {
        replayer.step(text, lineNo);
        if (progress !== undefined && lineNo % every === 0) progress(lineNo);
      } else if (text.trim().length > 0) {
        replayer = new TraceReplayer(text, options, lineNo);
      }
    }
  }
  if (replayer === null) throw new TraceReplayError(Math.max(lineNo, 1), 'empty trace: no header line');
  return { machine: replayer.machine, header: replayer.header, operations: replayer.operations, lines: lineNo };
}
