import { EINVAL, MmError, type MmPlugin } from '@mm/core';
import { balloonPlugin } from '@mm/balloon';
import { guestMemfdPlugin } from '@mm/guest-memfd';
import { hugetlbPlugin } from '@mm/hugetlb';
import { zoneDevicePlugin } from '@mm/zone-device';
import { zsmallocPlugin } from '@mm/zsmalloc';
import { explorePlugin, type ExplorePluginOptions } from './explore-plugin.js';

/** The plugin factories the explorer knows, by `meta.name`. */
const FACTORIES: Readonly<Record<string, (options: unknown) => MmPlugin>> = {
  balloon: (o) => balloonPlugin(o as Parameters<typeof balloonPlugin>[0]),
  zsmalloc: (o) => zsmallocPlugin(o as Parameters<typeof zsmallocPlugin>[0]),
  hugetlb: (o) => hugetlbPlugin(o as Parameters<typeof hugetlbPlugin>[0]),
  'guest-memfd': () => guestMemfdPlugin(),
  'zone-device': () => zoneDevicePlugin(),
  explore: (o) => explorePlugin(o as ExplorePluginOptions | undefined),
};

/**
 * A `resolvePlugin` for `replayTrace`: the owner plugins and `explore`, built with their
 * `pluginOptions` entry (options undefined: the plugin reads the machine's `pluginOptions`).
 * `MmError(EINVAL)` for another name.
 */
export function resolveExplorePlugin(name: string, options: unknown): MmPlugin {
  const f = Object.hasOwn(FACTORIES, name) ? FACTORIES[name] : undefined;
  if (f === undefined) throw new MmError(EINVAL, `unknown plugin "${name}"`, { rule: `one of ${Object.keys(FACTORIES).join(', ')}` });
  return f(options);
}
