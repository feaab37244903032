import { EINVAL, MmError, ReplayIds, defineReplayableOperation, type Machine, type ReplayableOperation, type ReplayableOperations } from '@mm/core';
import { injectable } from 'tsyringe';
import { zs_compact } from './compact.js';
import { zs_obj_write } from './obj-access.js';
import { async_free_zspage, zs_free } from './zs-free.js';
import { NUMA_NO_NODE, zramGfp, zs_malloc } from './zs-malloc.js';
import { zs_create_pool, zs_destroy_pool, type ZsPool } from './zs-pool.js';

/**
 * zsmalloc's replayable operations (the core's `ReplayableOperations`), so that a recorded scenario
 * can create pools, allocate, write and free objects and compact, and a trace replays it. Pools are
 * named by ids handed out in creation order; objects by their handles (the model's handles are small
 * integers, the same on replay).
 *
 * @module
 */

/**
 * Per machine: the pools the operations created, and the operations: `zs_create_pool(name)` → pool
 * id; `zs_malloc(pool, size, gfp?, nid?)` → handle or negative errno; `zs_obj_write(pool, handle,
 * bytes)` (the bytes as a list of integers 0..255, `mem_len` their count); `zs_free(pool, handle)`;
 * `zs_compact(pool)` → pages freed; `async_free_zspage(pool)` (the deferred-free work) → zspages
 * freed; `zs_destroy_pool(pool)`.
 */
@injectable()
export class ZsmallocReplayOperations implements ReplayableOperations {
  /** Pools created by `zs_create_pool`, by id. */
  readonly pools = new ReplayIds<ZsPool>('zsmalloc pool');
  /** The operations. */
  readonly operations: readonly ReplayableOperation[] = [
    defineReplayableOperation('zs_create_pool', ['string'], (m: Machine, name: string) => this.pools.add(zs_create_pool(m, name))),
    defineReplayableOperation('zs_malloc', ['int', 'int', 'int?', 'int?'], (m: Machine, pool: number, size: number, gfp?: number, nid?: number) =>
      zs_malloc(m, this.pools.get(pool, 'zs_malloc'), size, gfp ?? zramGfp, nid ?? NUMA_NO_NODE),
    ),
    defineReplayableOperation('zs_obj_write', ['int', 'int', 'int[]'], (m: Machine, pool: number, handle: number, bytes: number[]) => {
      const p = this.pools.get(pool, 'zs_obj_write');
      if (!bytes.every((b) => b >= 0 && b <= 255)) throw new MmError(EINVAL, 'zs_obj_write: the data is not a list of bytes', { rule: 'each byte is 0..255' });
      zs_obj_write(m, p, handle, Uint8Array.from(bytes), bytes.length);
    }),
    defineReplayableOperation('zs_free', ['int', 'int'], (m: Machine, pool: number, handle: number) => zs_free(m, this.pools.get(pool, 'zs_free'), handle)),
    defineReplayableOperation('zs_compact', ['int'], (m: Machine, pool: number) => zs_compact(m, this.pools.get(pool, 'zs_compact'))),
    defineReplayableOperation('async_free_zspage', ['int'], (m: Machine, pool: number) => async_free_zspage(m, this.pools.get(pool, 'async_free_zspage'))),
    defineReplayableOperation('zs_destroy_pool', ['int'], (m: Machine, pool: number) => {
      zs_destroy_pool(m, this.pools.get(pool, 'zs_destroy_pool'));
      this.pools.remove(pool);
    }),
  ];
}
