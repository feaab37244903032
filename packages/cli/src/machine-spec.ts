import { createMachine, resolveMachineConfig, type JsonMachineConfig, type Machine, type MmPlugin } from '@mm/core';
import { CliError } from './cli-error.js';
import { loadPluginFactories } from './plugins.js';

/**
 * What a machine is booted from: its JSON configuration (as `createMachine` takes it) and its
 * plugins, by name (resolved to the owner packages' factories) or as plugin objects.
 *
 * @module
 */

/** A machine to boot: configuration and plugins. Plugin options live in `machine.pluginOptions[name]`. */
export interface MachineSpec {
  /** The `createMachine` configuration, without plugins. */
  readonly machine: JsonMachineConfig;
  /** Plugins in registration order: names of owner packages' plugins, or plugin objects. */
  readonly plugins: readonly (string | MmPlugin)[];
}

/** Command-line flags that change a machine spec (each overrides the spec's value when given). */
export interface MachineFlags {
  /** `--memory`: RAM, e.g. `16G`. */
  readonly memory?: string;
  /** `--nodes`. */
  readonly nodes?: number;
  /** `--cpus`. */
  readonly cpus?: number;
  /** `--movablecore`. */
  readonly movablecore?: string;
  /** `--strategy`: `owner-ops` or `mainline`. */
  readonly strategy?: string;
  /** `--plugins a,b`. */
  readonly plugins?: readonly string[];
  /** `--plugin-opt name.key=value`, repeatable. */
  readonly pluginOpt?: readonly string[];
  /** `--seed`. */
  readonly seed?: number;
  /** `--debug-vm`. */
  readonly debugVm?: boolean;
}

/** A booted machine and the names of its plugins (for a trace header). */
export interface BootedMachine {
  /** The machine. */
  readonly machine: Machine;
  /** Its plugins' names, in order. */
  readonly plugins: readonly string[];
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown, text: string): void {
  let o = target;
  for (const key of path.slice(0, -1)) {
    const next = o[key];
    if (next === undefined) o = o[key] = {} as Record<string, unknown>;
    else if (typeof next === 'object' && next !== null && !Array.isArray(next)) o = next as Record<string, unknown>;
    else throw new CliError(`--plugin-opt ${text}: ${key} is already a value`);
  }
  o[path[path.length - 1]!] = value;
}

/**
 * Parse `--plugin-opt` entries `plugin.key=value` (nested keys with dots: `hugetlb.pools.2M=512`)
 * into `pluginOptions`. A value is read as JSON when it parses (numbers, booleans, objects), else as
 * a string. `CliError` for an entry without a plugin, key or `=`.
 */
export function parsePluginOptions(entries: readonly string[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const e of entries) {
    const eq = e.indexOf('=');
    const path = (eq < 0 ? '' : e.slice(0, eq)).split('.');
    if (eq < 0 || path.length < 2 || path.some((k) => k.length === 0)) {
      throw new CliError(`--plugin-opt ${e}: expected <plugin>.<key>=<value>, e.g. hugetlb.cmdline="hugepages=16"`);
    }
    const raw = e.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    setPath(out, path, value, e);
  }
  return out;
}

/** `spec` with the given flags applied (plugin options merged per plugin, flags winning). */
export function applyMachineFlags(spec: MachineSpec, f: MachineFlags): MachineSpec {
  const machine: Record<string, unknown> = { ...spec.machine };
  if (f.memory !== undefined) machine['memory'] = f.memory;
  if (f.nodes !== undefined) machine['nodes'] = f.nodes;
  if (f.cpus !== undefined) machine['cpus'] = f.cpus;
  if (f.movablecore !== undefined) machine['movablecore'] = f.movablecore;
  if (f.strategy !== undefined) machine['strategy'] = f.strategy;
  if (f.seed !== undefined) machine['seed'] = f.seed;
  if (f.debugVm !== undefined) machine['debugVm'] = f.debugVm;
  if (f.pluginOpt !== undefined && f.pluginOpt.length > 0) {
    const given = parsePluginOptions(f.pluginOpt);
    const base = (spec.machine.pluginOptions ?? {}) as Record<string, Record<string, unknown>>;
    const merged: Record<string, unknown> = { ...base };
    for (const [name, o] of Object.entries(given)) merged[name] = { ...(base[name] ?? {}), ...o };
    machine['pluginOptions'] = merged;
  }
  return { machine: machine as JsonMachineConfig, plugins: f.plugins ?? spec.plugins };
}

/**
 * Boot a machine from a spec: check the configuration first (`MmError(EINVAL)`, one line, for a bad
 * size, node count, strategy, …), load the named plugins (`CliError` for an unknown or unavailable
 * one), build each with its `pluginOptions` entry, then `createMachine`.
 */
export async function bootMachine(spec: MachineSpec): Promise<BootedMachine> {
  resolveMachineConfig(spec.machine);
  const names = spec.plugins.filter((p): p is string => typeof p === 'string');
  const factories = await loadPluginFactories(names);
  const options = (spec.machine.pluginOptions ?? {}) as Record<string, unknown>;
  const plugins = spec.plugins.map((p) => (typeof p === 'string' ? factories.get(p)!(options[p]) : p));
  for (const name of Object.keys(options)) {
    if (!plugins.some((p) => p.meta.name === name)) throw new CliError(`options given for plugin "${name}", which the machine does not load`);
  }
  const machine = createMachine({ ...spec.machine, plugins });
  return { machine, plugins: plugins.map((p) => p.meta.name) };
}
