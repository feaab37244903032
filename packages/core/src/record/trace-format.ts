import { MmError } from '../debug/mm-error.js';
import { EINVAL } from '../errno.js';
import type { MachineConfig } from '../machine/config.js';
import type { Machine } from '../machine/machine.js';
import { PAGE_SIZE } from '../types.js';
import type { JsonValue } from './replayable-operation.js';

/**
 * The trace format: JSON lines. The first line is a {@link TraceHeader} (the machine's configuration
 * and plugins), every other line a {@link TraceLine} (one operation, its arguments and its result or
 * error). Blank lines are ignored. The same format holds recorded sessions (`recordOperations`) and
 * the counterexamples of a model checker, which add a `task` field to each line.
 *
 * ```text
 * {"mmsim":"trace","version":1,"machine":{"memory":"64M","nodes":1,...},"plugins":["balloon"]}
 * {"op":"folio_alloc","args":[1051850,0],"ret":4864}
 * {"op":"folio_put","args":[4864],"ret":null}
 * {"op":"folio_put","args":[4864],"err":"EINVAL"}
 * ```
 *
 * @module
 */

/** The trace format's version; a trace of another version is refused. */
export const TRACE_VERSION = 1;

/** The JSON-serialisable part of a {@link MachineConfig}: everything but plugin objects and containers. */
export type JsonMachineConfig = Omit<MachineConfig, 'plugins' | 'parentContainer'>;

/** The first line of a trace. */
export interface TraceHeader {
  /** Always `"trace"`: marks the file as an mmsim trace. */
  readonly mmsim: 'trace';
  /** {@link TRACE_VERSION}. */
  readonly version: number;
  /** The machine's configuration, defaults filled in (`createMachine` input). */
  readonly machine: JsonMachineConfig;
  /** The plugins' names (`MmPlugin.meta.name`), in registration order; their options are in `machine.pluginOptions`. */
  readonly plugins: readonly string[];
}

/** One operation of a trace. Exactly one of `ret`, `err` and `bug` is present. */
export interface TraceLine {
  /** The operation's name (`folio_put`). */
  readonly op: string;
  /** Its JSON arguments. */
  readonly args: readonly JsonValue[];
  /** What it returned (`null` for nothing). */
  readonly ret?: JsonValue;
  /** The errno name of the `MmError` it threw (`"EINVAL"`): the machine did not change. */
  readonly err?: string;
  /** The invariant of the `VmBugError` it threw (`"§3.4 nr_free"`): the model reached a state the kernel never must. */
  readonly bug?: string;
  /** Which simulated task ran it (written by a model checker's counterexamples; replay ignores it). */
  readonly task?: JsonValue;
}

/** A byte count as `memparse` reads it, with the largest suffix that divides it (`"64M"`, `"16G"`). */
function sizeText(bytes: number): string {
  let i = 0;
  while (i < 6 && bytes !== 0 && bytes % 2 ** (10 * (i + 1)) === 0) i++;
  return `${bytes / 2 ** (10 * i)}${['', 'K', 'M', 'G', 'T', 'P', 'E'][i]}`;
}

/** The JSON configuration `createMachine` needs to boot a machine like `m` (its resolved config, defaults filled in). */
export function machineConfigJson(m: Machine): JsonMachineConfig {
  const c = m.config;
  const pluginOptions = JSON.parse(JSON.stringify(c.pluginOptions)) as Record<string, JsonValue>;
  return {
    memory: sizeText(c.nrPages * PAGE_SIZE),
    nodes: c.nodes,
    cpus: c.cpus,
    movablecore: sizeText(c.movablePages * PAGE_SIZE),
    dmaZone: c.dmaZone,
    reserved: c.reserved.map((r) => ({ start: r.start, nrPages: r.nrPages })),
    strategy: c.strategy,
    debugVm: c.debugVm,
    seed: c.seed,
    ...(c.minFreeKbytes === null ? {} : { minFreeKbytes: c.minFreeKbytes }),
    stickyPageTypes: c.stickyPageTypes,
    experimentalMovableOpsTypes: [...c.experimentalMovableOpsTypes],
    pluginOptions,
  };
}

/** The header line of a trace of `m`, whose plugins are named `plugins`. */
export function traceHeader(m: Machine, plugins: readonly string[]): TraceHeader {
  return { mmsim: 'trace', version: TRACE_VERSION, machine: machineConfigJson(m), plugins: [...plugins] };
}

/** One line of a trace as text (no newline), fields in the order `op`, `args`, result, `task`. */
export function formatTraceLine(line: TraceLine): string {
  const { op, args, ret, err, bug, task } = line;
  const out: Record<string, unknown> = { op, args };
  if (err !== undefined) out['err'] = err;
  else if (bug !== undefined) out['bug'] = bug;
  else out['ret'] = ret === undefined ? null : ret;
  if (task !== undefined) out['task'] = task;
  return JSON.stringify(out);
}

/** True if `line` (a trace's first non-blank line) is an mmsim trace header. */
export function isTraceHeader(line: string): boolean {
  if (!line.trimStart().startsWith('{')) return false;
  try {
    const v = JSON.parse(line) as { mmsim?: unknown };
    return typeof v === 'object' && v !== null && v.mmsim === 'trace';
  } catch {
    return false;
  }
}

/** Parse and check a trace header line; `MmError(EINVAL)` if it is not one this version reads. */
export function parseTraceHeader(line: string): TraceHeader {
  const bad = (why: string): never => {
    throw new MmError(EINVAL, `not an mmsim trace header: ${why}`, { rule: `line 1 is {"mmsim":"trace","version":${TRACE_VERSION},"machine":{...},"plugins":[...]}` });
  };
  let v: Partial<TraceHeader>;
  try {
    v = JSON.parse(line) as Partial<TraceHeader>;
  } catch {
    return bad('not JSON');
  }
  if (typeof v !== 'object' || v === null || v.mmsim !== 'trace') bad('no "mmsim":"trace"');
  if (v.version !== TRACE_VERSION) bad(`version ${String(v.version)}, this reader knows ${TRACE_VERSION}`);
  if (typeof v.machine !== 'object' || v.machine === null || Array.isArray(v.machine)) bad('"machine" is not an object');
  if (!Array.isArray(v.plugins) || !v.plugins.every((p) => typeof p === 'string')) bad('"plugins" is not a list of names');
  return v as TraceHeader;
}
