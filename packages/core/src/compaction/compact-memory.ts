import { GFP_KERNEL } from '../alloc/gfp.js';
import { EINVAL } from '../errno.js';
import { lru_add_drain_all } from '../folio/lru.js';
import type { Machine } from '../machine/machine.js';
import { MIGRATE_MODE } from '../migrate/migrate-mode.js';
import { CompactControl } from './compact-control.js';
import type { CompactResult } from './compact-result.js';
import { compact_zone } from './compact-zone.js';

/**
 * Whole-node compaction (`mm/compaction.c`): `compact_node`, `compact_nodes` and the
 * `/proc/sys/vm/compact_memory` handler.
 *
 * @module
 */

/**
 * `compact_node(pgdat)`: compact every populated zone of node `nid` fully (order -1, MIGRATE_SYNC,
 * whole zone, skip hints ignored). Returns each zone's `compact_result`, by zone.
 */
export function compact_node(m: Machine, nid: number): CompactResult[] {
  const out: CompactResult[] = [];
  for (const zone of m.nodes[nid]!.node_zones) {
    if (!zone || !zone.populated || zone.managed_pages === 0) continue;
    const cc = new CompactControl(zone, -1, GFP_KERNEL);
    cc.mode = MIGRATE_MODE.MIGRATE_SYNC;
    cc.ignore_skip_hint = true;
    cc.whole_zone = true;
    out.push(compact_zone(m, cc));
  }
  return out;
}

/** `compact_nodes()`: drain the per-CPU LRU batches (`lru_add_drain_all`), then compact every node. */
export function compact_nodes(m: Machine): void {
  lru_add_drain_all(m);
  for (let nid = 0; nid < m.nodes.length; nid++) compact_node(m, nid);
}

/**
 * A write to `/proc/sys/vm/compact_memory` (`sysctl_compaction_handler`): the value must be 1
 * (`-EINVAL` otherwise, nothing done); then every node is compacted. Returns 0 or `-EINVAL`.
 * (Freed pages may wait on per-CPU lists afterwards, as in the kernel: `drain_all_pages` flushes them.)
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import {
 *   GFP_HIGHUSER_MOVABLE, VM_EVENT, anon_vma_alloc, compact_memory, createMachine, drain_all_pages, faultInAnonFolio,
 *   folio_alloc, lru_add_drain_all, zapFolioPtes, type Folio,
 * } from '@mm/core';
 *
 * const m = createMachine({ memory: '64M' });
 * const dma32 = m.zones.find((z) => z.name === 'DMA32')!;
 * const av = anon_vma_alloc(m);
 * const anon: Folio[] = [];
 * for (let f = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0); f !== -1; f = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0)) {
 *   faultInAnonFolio(m, f, av, anon.length); // mapped anonymous memory, on the LRU
 *   anon.push(f);
 * }
 * anon.forEach((f, i) => i % 2 === 0 && zapFolioPtes(m, f)); // unmap every other page: holes everywhere
 * lru_add_drain_all(m);
 * drain_all_pages(m, null);
 * console.log(dma32.nr_free[9]); // 0: no free 2 MiB block
 * compact_memory(m); // echo 1 > /proc/sys/vm/compact_memory
 * drain_all_pages(m, null);
 * console.log(dma32.nr_free[9]! + dma32.nr_free[10]! > 0, m.vmEvents[VM_EVENT.pgmigrate_success]! > 0); // true true
 * ```
 */
export function compact_memory(m: Machine, value = 1): number {
  if (value !== 1) return -EINVAL;
  compact_nodes(m);
  return 0;
}
