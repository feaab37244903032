import { PageListHeads } from '../alloc/page-list.js';
import type { Zone } from '../alloc/zone.js';
import { MAX_NR_ZONES } from '../page/page-zone.js';
import { NODE_STAT_ITEMS } from '../trace/vmstat.js';

/** `enum lru_list` (`include/linux/mmzone.h`). */
export const LRU = {
  /** `LRU_INACTIVE_ANON`: anonymous and shmem (swap-backed) folios not recently used. */
  INACTIVE_ANON: 0,
  /** `LRU_ACTIVE_ANON`: swap-backed folios with PG_active. */
  ACTIVE_ANON: 1,
  /** `LRU_INACTIVE_FILE`: page-cache folios not recently used; reclaimed first. */
  INACTIVE_FILE: 2,
  /** `LRU_ACTIVE_FILE`: page-cache folios with PG_active. */
  ACTIVE_FILE: 3,
  /** `LRU_UNEVICTABLE`: folios reclaim must skip (PG_unevictable: mlocked, ramfs, SHM_LOCK). */
  UNEVICTABLE: 4,
} as const;

/** `NR_LRU_LISTS`. */
export const NR_LRU_LISTS = 5;

/**
 * `pg_data_t` / `struct pglist_data` (`include/linux/mmzone.h`): one NUMA node with its zones, its
 * LRU lists (the node's `lruvec`; memcg lruvecs are not modelled) and per-node counters.
 */
export class PgData {
  /** `node_id`. */
  readonly node_id: number;
  /** `node_zones[]`, indexed by zone index; `undefined` for zones the node does not have. */
  readonly node_zones: (Zone | undefined)[] = new Array(MAX_NR_ZONES).fill(undefined);
  /** `node_start_pfn`. */
  node_start_pfn: number;
  /** `node_spanned_pages`. */
  node_spanned_pages: number;
  /** The node's `lruvec.lists[]`, linked through `folio->lru`. */
  readonly lruvec = new PageListHeads(NR_LRU_LISTS);
  /** `vm_stat[]` of the node, indexed by `NR_NODE.*`. */
  readonly vmstat = new Float64Array(NODE_STAT_ITEMS.length);

  /** A node spanning `[start, start + spanned)`. */
  constructor(nid: number, start: number, spanned: number) {
    this.node_id = nid;
    this.node_start_pfn = start;
    this.node_spanned_pages = spanned;
  }

  /** `node_present_pages`: the sum over its zones. */
  get node_present_pages(): number {
    return this.node_zones.reduce((s, z) => s + (z ? z.present_pages : 0), 0);
  }
}
