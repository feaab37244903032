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
 */
export function compact_memory(m: Machine, value = 1): number {
  if (value !== 1) return -EINVAL;
  compact_nodes(m);
  return 0;
}
