import { directCompactHook } from '../compaction/direct-compact.js';
import { reset_cached_positions } from '../compaction/skip-hints.js';
import type { Machine } from '../machine/machine.js';
import { swap_cache_init } from '../mapping/swap-cache.js';
import { MigrationInvariants } from './migrate-invariants.js';

/**
 * Boot-time setup of the migration core on a machine (called by `createMachine`): the swap cache and
 * default `a_ops`, every zone's compaction scanners at its ends (`reset_cached_positions`; the model's
 * zones may start at PFN 0, where the kernel's zeroed cached free PFN would look valid), direct
 * compaction as the allocator's `direct_compact` hook (CONFIG_COMPACTION), and the migration
 * invariants for `debugVm`.
 */
export function migrationCoreInit(m: Machine): void {
  swap_cache_init(m);
  for (const zone of m.zones) reset_cached_positions(zone);
  m.hooks.direct_compact = directCompactHook(m);
  m.invariantChecks.push(new MigrationInvariants());
}
