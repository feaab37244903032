import { drain_all_pages, drain_local_pages, refresh_cpu_vm_stats } from '../alloc/pcp.js';
import { __alloc_pages, __free_page, __free_pages, alloc_page, alloc_pages, alloc_pages_node, folio_alloc } from '../alloc/page-alloc.js';
import { take_page_off_buddy, takeBlockOffBuddy } from '../alloc/take-page-off-buddy.js';
import { compact_memory, compact_node, compact_nodes } from '../compaction/compact-memory.js';
import { MmError } from '../debug/mm-error.js';
import { assertValidCpu } from '../debug/validate.js';
import { EINVAL } from '../errno.js';
import { folio_lock, folio_trylock, folio_unlock } from '../folio/folio-lock.js';
import { folio_get, folio_put, folio_put_refs, folio_try_get, folios_put, folios_put_refs, get_page, put_page } from '../folio/folio-ref.js';
import { folio_add_lru, folio_isolate_lru, folio_putback_lru, lru_add_drain, lru_add_drain_all, lru_add_drain_cpu } from '../folio/lru.js';
import { folio_ref_freeze, folio_ref_unfreeze } from '../folio/page-ref.js';
import { offline_pages } from '../hotplug/memory-hotplug.js';
import type { Machine } from '../machine/machine.js';
import { MIGRATE_MODE, type MigrateMode } from '../migrate/migrate-mode.js';
import { isolate_movable_ops_page, migrate_movable_ops_page, putback_movable_ops_page } from '../migrate/movable-ops.js';
import { PAGEFLAG_TABLE, pageflags, type FolioFlagOp, type FolioFlagTest } from '../page/page-flags.js';
import type { Zone } from '../alloc/zone.js';
import type { Folio, Pfn } from '../types.js';
import { defineReplayableOperation, type ReplayableOperation, type ReplayArgSpec } from './replayable-operation.js';

/**
 * The core's replayable operations: its public functions that change a machine, each under its
 * kernel name with checked JSON arguments.
 *
 * @module
 */

/**
 * `setCpu(cpu)`: run what follows on `cpu` (the model's stand-in for the scheduler moving the task:
 * the kernel has no such function). Per-CPU page lists and LRU batches follow the current CPU.
 * `MmError(EINVAL)` for a CPU the machine does not have.
 */
export function setCpu(m: Machine, cpu: number): void {
  assertValidCpu(m, cpu, 'setCpu');
  m.cpu = cpu;
}


/**
 * The functions behind the core's typed operations, by operation name (each takes the machine
 * first); {@link CoreOps} derives the recorder's methods from them. `drain_all_pages` and
 * `drain_local_pages` take a zone or null (a zone id in a trace); `lru_add_drain_cpu`, `compact_node`
 * and `migrate_movable_ops_page` check their CPU, node and mode first.
 */
export interface CoreOperationFunctions {
  /** `alloc_pages`. */
  readonly alloc_pages: typeof alloc_pages;
  /** `__alloc_pages`. */
  readonly __alloc_pages: typeof __alloc_pages;
  /** `alloc_pages_node`. */
  readonly alloc_pages_node: typeof alloc_pages_node;
  /** `alloc_page`. */
  readonly alloc_page: typeof alloc_page;
  /** `folio_alloc`. */
  readonly folio_alloc: typeof folio_alloc;
  /** `__free_pages`. */
  readonly __free_pages: typeof __free_pages;
  /** `__free_page`. */
  readonly __free_page: typeof __free_page;
  /** `folio_get`. */
  readonly folio_get: typeof folio_get;
  /** `folio_try_get`. */
  readonly folio_try_get: typeof folio_try_get;
  /** `folio_put`. */
  readonly folio_put: typeof folio_put;
  /** `folio_put_refs`. */
  readonly folio_put_refs: typeof folio_put_refs;
  /** `folios_put`. */
  readonly folios_put: typeof folios_put;
  /** `folios_put_refs`. */
  readonly folios_put_refs: typeof folios_put_refs;
  /** `get_page`. */
  readonly get_page: typeof get_page;
  /** `put_page`. */
  readonly put_page: typeof put_page;
  /** `folio_ref_freeze`. */
  readonly folio_ref_freeze: typeof folio_ref_freeze;
  /** `folio_ref_unfreeze`. */
  readonly folio_ref_unfreeze: typeof folio_ref_unfreeze;
  /** `folio_add_lru`. */
  readonly folio_add_lru: typeof folio_add_lru;
  /** `folio_isolate_lru`. */
  readonly folio_isolate_lru: typeof folio_isolate_lru;
  /** `folio_putback_lru`. */
  readonly folio_putback_lru: typeof folio_putback_lru;
  /** `lru_add_drain`. */
  readonly lru_add_drain: typeof lru_add_drain;
  /** `lru_add_drain_all`. */
  readonly lru_add_drain_all: typeof lru_add_drain_all;
  /** `lru_add_drain_cpu`. */
  readonly lru_add_drain_cpu: (m: Machine, cpu: number) => void;
  /** `drain_all_pages`. */
  readonly drain_all_pages: (m: Machine, zone?: Zone | null) => void;
  /** `drain_local_pages`. */
  readonly drain_local_pages: (m: Machine, zone?: Zone | null) => void;
  /** `refresh_cpu_vm_stats` (the vmstat tick's `decay_pcp_high`) on one CPU, the current one by default. */
  readonly refresh_cpu_vm_stats: (m: Machine, cpu?: number) => boolean;
  /** `folio_lock`. */
  readonly folio_lock: typeof folio_lock;
  /** `folio_trylock`. */
  readonly folio_trylock: typeof folio_trylock;
  /** `folio_unlock`. */
  readonly folio_unlock: typeof folio_unlock;
  /** `take_page_off_buddy`. */
  readonly take_page_off_buddy: typeof take_page_off_buddy;
  /** `takeBlockOffBuddy`. */
  readonly takeBlockOffBuddy: typeof takeBlockOffBuddy;
  /** `isolate_movable_ops_page`. */
  readonly isolate_movable_ops_page: typeof isolate_movable_ops_page;
  /** `putback_movable_ops_page`. */
  readonly putback_movable_ops_page: typeof putback_movable_ops_page;
  /** `migrate_movable_ops_page`. */
  readonly migrate_movable_ops_page: (m: Machine, dst: Pfn, src: Pfn, mode: MigrateMode) => number;
  /** `compact_memory`. */
  readonly compact_memory: (m: Machine, value?: number) => number;
  /** `compact_nodes`. */
  readonly compact_nodes: typeof compact_nodes;
  /** `compact_node`. */
  readonly compact_node: (m: Machine, nid: number) => number[];
  /** `offline_pages`. */
  readonly offline_pages: typeof offline_pages;
  /** `setCpu`. */
  readonly setCpu: typeof setCpu;
}

interface Entry<F> {
  readonly kinds: readonly ReplayArgSpec[];
  readonly fn: F;
}

function entry<F extends (m: Machine, ...args: never[]) => unknown>(kinds: readonly ReplayArgSpec[], fn: F): Entry<F> {
  return { kinds, fn };
}

/** The core's typed operations, by name: argument kinds and the function. */
const CORE: { readonly [K in keyof CoreOperationFunctions]: Entry<CoreOperationFunctions[K]> } = {
  alloc_pages: entry(['int', 'int'], alloc_pages),
  __alloc_pages: entry(['int', 'int', 'int?'], __alloc_pages),
  alloc_pages_node: entry(['int', 'int', 'int'], alloc_pages_node),
  alloc_page: entry(['int'], alloc_page),
  folio_alloc: entry(['int', 'int', 'int?'], folio_alloc),
  __free_pages: entry(['pfn', 'int'], __free_pages),
  __free_page: entry(['pfn'], __free_page),
  folio_get: entry(['folio'], folio_get),
  folio_try_get: entry(['folio'], folio_try_get),
  folio_put: entry(['folio'], folio_put),
  folio_put_refs: entry(['folio', 'int'], folio_put_refs),
  folios_put: entry(['folio[]'], folios_put),
  folios_put_refs: entry(['folio[]', 'int[]?'], folios_put_refs),
  get_page: entry(['pfn'], get_page),
  put_page: entry(['pfn'], put_page),
  folio_ref_freeze: entry(['folio', 'int'], folio_ref_freeze),
  folio_ref_unfreeze: entry(['folio', 'int'], folio_ref_unfreeze),
  folio_add_lru: entry(['folio'], folio_add_lru),
  folio_isolate_lru: entry(['folio'], folio_isolate_lru),
  folio_putback_lru: entry(['folio'], folio_putback_lru),
  lru_add_drain: entry([], lru_add_drain),
  lru_add_drain_all: entry([], lru_add_drain_all),
  lru_add_drain_cpu: entry(['int'], (m: Machine, cpu: number): void => {
    assertValidCpu(m, cpu, 'lru_add_drain_cpu');
    lru_add_drain_cpu(m, cpu);
  }),
  drain_all_pages: entry(['zone?'], (m: Machine, zone?: Zone | null): void => drain_all_pages(m, zone ?? null)),
  drain_local_pages: entry(['zone?'], (m: Machine, zone?: Zone | null): void => drain_local_pages(m, zone ?? null)),
  refresh_cpu_vm_stats: entry(['int?'], refresh_cpu_vm_stats),
  folio_lock: entry(['folio'], folio_lock),
  folio_trylock: entry(['folio'], folio_trylock),
  folio_unlock: entry(['folio'], folio_unlock),
  take_page_off_buddy: entry(['pfn'], take_page_off_buddy),
  takeBlockOffBuddy: entry(['pfn', 'int'], takeBlockOffBuddy),
  isolate_movable_ops_page: entry(['pfn', 'int'], isolate_movable_ops_page),
  putback_movable_ops_page: entry(['pfn'], putback_movable_ops_page),
  migrate_movable_ops_page: entry(['pfn', 'pfn', 'int'], (m: Machine, dst: Pfn, src: Pfn, mode: MigrateMode): number => {
    if (!(Object.values(MIGRATE_MODE) as number[]).includes(mode)) {
      throw new MmError(EINVAL, `migrate_movable_ops_page: mode ${mode}`, { rule: 'mode is a MIGRATE_MODE value' });
    }
    return migrate_movable_ops_page(m, dst, src, mode);
  }),
  compact_memory: entry(['int?'], (m: Machine, value?: number): number => compact_memory(m, value)),
  compact_nodes: entry([], compact_nodes),
  compact_node: entry(['int'], (m: Machine, nid: number): number[] => {
    if (!(nid >= 0 && nid < m.nodes.length)) throw new MmError(EINVAL, `compact_node: no node ${nid}`, { rule: 'nid is an online node' });
    return compact_node(m, nid);
  }),
  offline_pages: entry(['int', 'int'], offline_pages),
  setCpu: entry(['int'], setCpu),
};

/**
 * A kernel function `(m, ...args) => R` as a recorder's method `(...args) => R`, with `void` results
 * returned as `null` (the JSON a trace line holds).
 */
export type OpMethod<F> = F extends (m: Machine, ...args: infer A) => infer R ? (...args: A) => R extends void ? null : R : never;

/** The generated folio flag helpers that change a flag (`folio_set_lru`, `__folio_clear_active`, `folio_test_set_dirty`, …). */
export type FolioFlagOpName = {
  [K in keyof typeof pageflags]: K extends `${'folio_set_' | '__folio_set_' | 'folio_clear_' | '__folio_clear_' | 'folio_test_set_' | 'folio_test_clear_'}${string}` ? K : never;
}[keyof typeof pageflags];

/**
 * The core's operations as methods without the machine argument (`ops.folio_put(folio)`), as a
 * recorder (`recordOperations`) exposes them; a function that returns nothing returns `null` there.
 */
export type CoreOps = { readonly [K in keyof CoreOperationFunctions]: OpMethod<CoreOperationFunctions[K]> } & {
  readonly [K in FolioFlagOpName]: (folio: Folio) => (typeof pageflags)[K] extends FolioFlagTest ? boolean : null;
};

function flagOperations(): ReplayableOperation[] {
  const out: ReplayableOperation[] = [];
  for (const lname of Object.keys(PAGEFLAG_TABLE)) {
    for (const prefix of ['folio_set_', '__folio_set_', 'folio_clear_', '__folio_clear_', 'folio_test_set_', 'folio_test_clear_']) {
      const name = `${prefix}${lname}`;
      const fn = (pageflags as unknown as Record<string, FolioFlagOp | FolioFlagTest>)[name]!;
      out.push(defineReplayableOperation(name, ['folio'], fn));
    }
  }
  return out;
}

/**
 * The core's replayable operations: allocation and freeing (`alloc_pages`, `__alloc_pages`,
 * `alloc_pages_node`, `alloc_page`, `folio_alloc`, `__free_pages`, `__free_page`), references
 * (`folio_get`, `folio_try_get`, `folio_put`, `folio_put_refs`, `folios_put`, `folios_put_refs`,
 * `get_page`, `put_page`, `folio_ref_freeze`, `folio_ref_unfreeze`), LRU (`folio_add_lru`,
 * `folio_isolate_lru`, `folio_putback_lru`, `lru_add_drain`, `lru_add_drain_all`,
 * `lru_add_drain_cpu`), per-CPU lists (`drain_all_pages`, `drain_local_pages`, taking a zone id or
 * null; `refresh_cpu_vm_stats`, the vmstat tick that decays their `high`), the folio lock (`folio_lock`, `folio_trylock`, `folio_unlock`), taking free blocks
 * (`take_page_off_buddy`, `takeBlockOffBuddy`), movable_ops isolation and migration
 * (`isolate_movable_ops_page`, `putback_movable_ops_page`, `migrate_movable_ops_page`), compaction
 * (`compact_memory`, `compact_nodes`, `compact_node`), memory offlining (`offline_pages`), the folio
 * flag setters generated from the flag table (`folio_set_swapbacked`, `__folio_clear_active`,
 * `folio_test_set_dirty`, …) and `setCpu`.
 */
export const CORE_REPLAYABLE_OPERATIONS: readonly ReplayableOperation[] = [
  ...Object.entries(CORE).map(([name, e]) =>
    defineReplayableOperation(name, e.kinds, e.fn as unknown as (m: Machine, ...args: unknown[]) => unknown),
  ),
  ...flagOperations(),
];
