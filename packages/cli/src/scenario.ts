import { access, readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  GFP,
  GFP_ATOMIC,
  GFP_DMA32,
  GFP_HIGHUSER,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  GFP_NOWAIT,
  GFP_TRANSHUGE,
  GFP_TRANSHUGE_LIGHT,
  GFP_USER,
  MmError,
  recordOperations,
  type JsonMachineConfig,
  type JsonValue,
  type Machine,
  type MmPlugin,
  type RecordedOps,
  type TraceSink,
} from '@mm/core';
import { CliError } from './cli-error.js';
import { applyMachineFlags, bootMachine, type MachineFlags, type MachineSpec } from './machine-spec.js';

/**
 * Scenarios: small programs a user writes against the public API, run by `mmsim run`, `snapshot` and
 * `stat`. A JSON scenario lists operations; a TypeScript (or JavaScript) scenario is a module whose
 * default export has a `run(ops, m)` function. Running a `.ts` scenario needs a TypeScript loader in
 * Node: run `mmsim` as `node --import tsx …/mmsim.js` (the workspace's `tsx`).
 *
 * @module
 */

/**
 * A scenario module's default export. `ops` is a recorder (`recordOperations`): calls made through it
 * are recorded when `mmsim run --record` asks for a trace; calls made directly on `m` are not.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { GFP_TRANSHUGE } from '@mm/core';
 * import type { Scenario } from '@mm/cli';
 *
 * // A module for `mmsim run my-scenario.ts`: the default export is the scenario.
 * export default {
 *   machine: { memory: '256M' },
 *   plugins: ['balloon'],
 *   run(ops) {
 *     const thp = ops.folio_alloc(GFP_TRANSHUGE, 9);
 *     if (thp !== -1) ops.folio_put(thp);
 *   },
 * } satisfies Scenario;
 * ```
 */
export interface Scenario {
  /** The machine's configuration (`createMachine` input without plugins); default `{}`. */
  readonly machine?: JsonMachineConfig;
  /** Plugins: owner package names (`"hugetlb"`) or plugin objects. Options go in `machine.pluginOptions`. */
  readonly plugins?: readonly (string | MmPlugin)[];
  /** Run the scenario's operations. */
  run(ops: RecordedOps, m: Machine): void | Promise<void>;
}

/** One operation of a JSON scenario. */
export interface JsonScenarioOp {
  /** The operation (`folio_alloc`, a plugin's operation, …). */
  readonly op: string;
  /**
   * Its arguments. A string `"$name"` is the result of an earlier operation saved with `as`; a string
   * of GFP names joined by `|` (`"GFP_KERNEL|__GFP_COMP"`) is that GFP mask; other values pass as is.
   */
  readonly args?: readonly JsonValue[];
  /** Save the result under this name for later `"$name"` arguments. */
  readonly as?: string;
  /** The result the operation must return (the run fails otherwise). */
  readonly expect?: JsonValue;
  /** The errno name (`"EINVAL"`) the operation must be rejected with (the run fails otherwise). */
  readonly expectErr?: string;
}

/** A JSON scenario file. */
export interface JsonScenario {
  /** The machine's configuration. */
  readonly machine?: JsonMachineConfig;
  /** Owner plugins by name. */
  readonly plugins?: readonly string[];
  /** The operations, in order. */
  readonly ops: readonly JsonScenarioOp[];
}

/** GFP names a JSON scenario may use: every `__GFP_*` bit and the common masks. */
const GFP_NAMES: Readonly<Record<string, number>> = {
  ...GFP,
  GFP_ATOMIC,
  GFP_KERNEL,
  GFP_NOWAIT,
  GFP_USER,
  GFP_HIGHUSER,
  GFP_HIGHUSER_MOVABLE,
  GFP_DMA32,
  GFP_TRANSHUGE_LIGHT,
  GFP_TRANSHUGE,
};

function gfpMask(text: string): number | null {
  let mask = 0;
  for (const part of text.split('|')) {
    const v = GFP_NAMES[part.trim()];
    if (v === undefined) return null;
    mask |= v;
  }
  return mask;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Check the shape of a JSON scenario; `CliError` naming the first bad field. */
export function checkJsonScenario(v: unknown, name: string): JsonScenario {
  const bad = (what: string): never => {
    throw new CliError(`scenario ${name}: ${what}`);
  };
  if (!isObject(v)) bad('not a JSON object { "machine": {...}, "plugins": [...], "ops": [...] }');
  const s = v as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!['machine', 'plugins', 'ops'].includes(k)) bad(`unknown field "${k}"`);
  if (s['machine'] !== undefined && !isObject(s['machine'])) bad('"machine" is not an object');
  if (s['plugins'] !== undefined && !(Array.isArray(s['plugins']) && s['plugins'].every((p) => typeof p === 'string'))) bad('"plugins" is not a list of names');
  if (!Array.isArray(s['ops'])) bad('"ops" is not a list');
  (s['ops'] as unknown[]).forEach((o, i) => {
    if (!isObject(o) || typeof o['op'] !== 'string') bad(`ops[${i}] has no "op" name`);
    const op = o as Record<string, unknown>;
    for (const k of Object.keys(op)) if (!['op', 'args', 'as', 'expect', 'expectErr'].includes(k)) bad(`ops[${i}]: unknown field "${k}"`);
    if (op['args'] !== undefined && !Array.isArray(op['args'])) bad(`ops[${i}].args is not a list`);
    if (op['as'] !== undefined && typeof op['as'] !== 'string') bad(`ops[${i}].as is not a name`);
    if (op['expectErr'] !== undefined && typeof op['expectErr'] !== 'string') bad(`ops[${i}].expectErr is not an errno name`);
  });
  return v as unknown as JsonScenario;
}

/** A {@link Scenario} that runs a JSON scenario's operations (see {@link JsonScenarioOp}). */
export function jsonScenario(s: JsonScenario, name: string): Scenario {
  return {
    ...(s.machine === undefined ? {} : { machine: s.machine }),
    ...(s.plugins === undefined ? {} : { plugins: s.plugins }),
    run(ops: RecordedOps): void {
      const saved = new Map<string, JsonValue>();
      s.ops.forEach((o, i) => {
        const where = `scenario ${name}: ops[${i}] ${o.op}`;
        const args = (o.args ?? []).map((a) => {
          if (typeof a !== 'string') return a;
          if (a.startsWith('$')) {
            if (!saved.has(a.slice(1))) throw new CliError(`${where}: ${a} names no earlier result (set one with "as")`);
            return saved.get(a.slice(1))!;
          }
          return gfpMask(a) ?? a;
        });
        let ret: JsonValue;
        try {
          ret = ops.call(o.op, ...args);
        } catch (e) {
          if (e instanceof MmError && o.expectErr !== undefined) {
            if (e.code !== o.expectErr) throw new CliError(`${where}: expected ${o.expectErr}, got ${e.message}`);
            return;
          }
          if (e instanceof MmError) throw new CliError(`${where}: ${e.message}`);
          throw e;
        }
        if (o.expectErr !== undefined) throw new CliError(`${where}: expected ${o.expectErr}, returned ${JSON.stringify(ret)}`);
        if (o.expect !== undefined && JSON.stringify(o.expect) !== JSON.stringify(ret)) {
          throw new CliError(`${where}: expected ${JSON.stringify(o.expect)}, returned ${JSON.stringify(ret)}`);
        }
        if (o.as !== undefined) saved.set(o.as, ret);
      });
    },
  };
}

/** A loaded scenario and the file it came from. */
export interface LoadedScenario {
  /** The scenario file's path as given. */
  readonly name: string;
  /** The scenario. */
  readonly scenario: Scenario;
}

/**
 * Load a scenario file: `.json` is a {@link JsonScenario}; `.ts`, `.mts`, `.js`, `.mjs` a module
 * whose default export is a {@link Scenario} (loaded with a dynamic import; `.ts` needs Node to run
 * with a TypeScript loader such as `--import tsx`). `CliError` for a missing or malformed file.
 */
export async function loadScenario(path: string, cwd: string = process.cwd()): Promise<LoadedScenario> {
  const full = resolve(cwd, path);
  const ext = extname(path);
  if (ext === '.json') {
    let text: string;
    try {
      text = await readFile(full, 'utf8');
    } catch (e) {
      throw new CliError(`cannot read scenario ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new CliError(`scenario ${path}: not JSON (${(e as Error).message.split('\n')[0]})`);
    }
    return { name: path, scenario: jsonScenario(checkJsonScenario(v, path), path) };
  }
  if (!['.ts', '.mts', '.js', '.mjs'].includes(ext)) throw new CliError(`scenario ${path}: expected a .json, .ts, .mts, .js or .mjs file`);
  try {
    await access(full);
  } catch (e) {
    throw new CliError(`cannot read scenario ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(full).href)) as { default?: unknown };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_UNKNOWN_FILE_EXTENSION') throw new CliError(`scenario ${path}: Node cannot load ${ext} files; run mmsim with node --import tsx`);
    throw new CliError(`scenario ${path} does not load: ${(err.message ?? String(e)).split('\n')[0]}`);
  }
  const s = mod.default as Partial<Scenario> | undefined;
  if (!isObject(s) || typeof s.run !== 'function') throw new CliError(`scenario ${path}: its default export has no run(ops, m) function`);
  return { name: path, scenario: s as Scenario };
}

/** What {@link runScenario} returns. */
export interface ScenarioRun {
  /** The machine after the scenario. */
  readonly machine: Machine;
  /** Its plugins' names. */
  readonly plugins: readonly string[];
  /** Operations run through the recorder. */
  readonly operations: number;
}

/**
 * Boot the scenario's machine (with `flags` overriding its configuration) and run it through a
 * recorder writing to `sink` (null: no trace).
 */
export async function runScenario(scenario: Scenario, flags: MachineFlags = {}, sink: TraceSink | null = null): Promise<ScenarioRun> {
  const spec: MachineSpec = applyMachineFlags({ machine: scenario.machine ?? {}, plugins: scenario.plugins ?? [] }, flags);
  const { machine, plugins } = await bootMachine(spec);
  const ops = recordOperations(machine, sink, { plugins });
  await scenario.run(ops, machine);
  return { machine, plugins, operations: ops.count };
}
