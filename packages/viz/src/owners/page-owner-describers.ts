import type { Machine } from '@mm/core';
import { PageOwnerDescriber } from '../page-owner-describer.js';

/**
 * The describers of a machine: one per owner plugin of this repository that the machine has (loaded
 * only then, so a user without an owner package never loads it), followed by those its plugins
 * registered under the {@link PageOwnerDescriber} token.
 *
 * guest-memfd comes before hugetlb, so hugetlb memory lent to a guest_memfd shows as guest memory.
 *
 * @module
 */

/** Builtin describers, by plugin name (`meta.name`), in the order they are asked. */
const BUILTIN: readonly [string, () => Promise<PageOwnerDescriber>][] = [
  ['guest-memfd', async () => (await import('./guest-memfd.js')).guestMemfdDescriber],
  ['hugetlb', async () => (await import('./hugetlb.js')).hugetlbDescriber],
  ['zone-device', async () => (await import('./zone-device.js')).zoneDeviceDescriber],
  ['balloon', async () => (await import('./balloon.js')).balloonDescriber],
  ['zsmalloc', async () => (await import('./zsmalloc.js')).zsmallocDescriber],
];

/**
 * The {@link PageOwnerDescriber}s for `m`: the builtin one of each owner plugin it was created with
 * (hugetlb, zone-device, guest-memfd, balloon, zsmalloc), then every describer registered in its
 * container (a third-party plugin's) whose owner has no builtin one here.
 */
export async function pageOwnerDescribers(m: Machine): Promise<PageOwnerDescriber[]> {
  const out: PageOwnerDescriber[] = [];
  for (const [name, load] of BUILTIN) if (m.pluginNames.includes(name)) out.push(await load());
  if (m.container.isRegistered(PageOwnerDescriber, true)) {
    for (const d of m.container.resolveAll<PageOwnerDescriber>(PageOwnerDescriber)) {
      if (!out.some((o) => o.owner === d.owner)) out.push(d);
    }
  }
  return out;
}
