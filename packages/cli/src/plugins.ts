import type { MmPlugin } from '@mm/core';
import { CliError } from './cli-error.js';

/**
 * The owner packages `--plugins` names resolve to. Each package exports a plugin factory
 * (`hugetlbPlugin(options)`); it is loaded when a machine names it, so a package that is missing or
 * exports no factory makes only that name fail.
 *
 * @module
 */

/** A plugin factory: `hugetlbPlugin(options)`. */
export type PluginFactory = (options?: unknown) => MmPlugin;

/** Where each plugin name comes from: the package and the factory's export name. */
export const PLUGIN_PACKAGES: Readonly<
  Record<
    string,
    {
      /** The npm package that provides the plugin (`@mm/hugetlb`). */
      readonly pkg: string;
      /** Name of the package's export that builds the plugin (`hugetlbPlugin`). */
      readonly factory: string;
    }
  >
> = {
  hugetlb: { pkg: '@mm/hugetlb', factory: 'hugetlbPlugin' },
  'zone-device': { pkg: '@mm/zone-device', factory: 'zoneDevicePlugin' },
  'guest-memfd': { pkg: '@mm/guest-memfd', factory: 'guestMemfdPlugin' },
  balloon: { pkg: '@mm/balloon', factory: 'balloonPlugin' },
  zsmalloc: { pkg: '@mm/zsmalloc', factory: 'zsmallocPlugin' },
};

/**
 * Load the factories of the named plugins. `CliError` (one line) for a name that is not a known
 * plugin, a package that does not load, or a package that exports no factory.
 */
export async function loadPluginFactories(names: readonly string[]): Promise<Map<string, PluginFactory>> {
  const out = new Map<string, PluginFactory>();
  for (const name of names) {
    if (out.has(name)) throw new CliError(`plugin "${name}" is named twice`);
    const where = Object.hasOwn(PLUGIN_PACKAGES, name) ? PLUGIN_PACKAGES[name] : undefined;
    if (where === undefined) throw new CliError(`unknown plugin "${name}" (known: ${Object.keys(PLUGIN_PACKAGES).join(', ')})`);
    let mod: Record<string, unknown>;
    try {
      // A variable specifier: the package is loaded only when named, and a package that does not
      // build yet fails here, for this name only.
      const spec: string = where.pkg;
      mod = (await import(spec)) as Record<string, unknown>;
    } catch (e) {
      throw new CliError(`plugin "${name}": ${where.pkg} does not load (${(e instanceof Error ? e.message : String(e)).split('\n')[0]})`);
    }
    const factory = mod[where.factory];
    if (typeof factory !== 'function') throw new CliError(`plugin "${name}": ${where.pkg} exports no ${where.factory} (not available yet)`);
    out.set(name, factory as PluginFactory);
  }
  return out;
}

/**
 * A resolver for `replayTrace`: the plugin `name` built by its factory with its `pluginOptions`
 * entry. The factories must have been loaded ({@link loadPluginFactories}).
 */
export function pluginResolver(factories: ReadonlyMap<string, PluginFactory>): (name: string, options: unknown) => MmPlugin {
  return (name, options) => {
    const f = factories.get(name);
    if (f === undefined) throw new CliError(`plugin "${name}" was not loaded`);
    return f(options);
  };
}
