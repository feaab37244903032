import { EBUSY, EINVAL, ENODEV, MmError, PAGE_SIZE, PG, type Machine } from '@mm/core';
import { get_next_zpdesc } from './zpdesc.js';
import { async_free_zspage } from './zs-free.js';
import {
  SizeClass,
  ZS_HANDLE_SIZE,
  ZS_INUSE_RATIO_0,
  ZS_MAX_ALLOC_SIZE,
  ZS_MIN_ALLOC_SIZE,
  ZS_OBJS_INUSE,
  ZS_SIZE_CLASSES,
  ZS_SIZE_CLASS_DELTA,
  calculate_zspage_chain_size,
  can_merge,
} from './size-class.js';
import { ZsmallocState } from './zsmalloc-state.js';

/** `struct zs_pool_stats` (`include/linux/zsmalloc.h`). */
export interface ZsPoolStats {
  /** Pages compaction freed. */
  pages_compacted: number;
}

/**
 * `struct zs_pool` (`mm/zsmalloc.c`): a named pool of size classes. Get one with
 * {@link zs_create_pool}; every `zs_*` function takes it with the machine it belongs to. The pool's
 * `lock` and the classes' spinlocks are not modelled (every call is atomic here); the zspage locks
 * are, because readers hold them across calls.
 */
export class ZsPool {
  /** `size_class[ZS_SIZE_CLASSES]`: merged classes share one record. */
  readonly size_class: SizeClass[] = new Array<SizeClass>(ZS_SIZE_CLASSES);
  /** `pages_allocated`: pages of all live zspages. */
  pages_allocated = 0;
  /** `stats`. */
  readonly stats: ZsPoolStats = { pages_compacted: 0 };
  /** `compaction_in_progress`. */
  compaction_in_progress = false;
  /** The deferred-free work (`free_work`) is scheduled and not yet done. */
  free_work_pending = false;
  /** Set by {@link zs_destroy_pool}. */
  destroyed = false;

  /** Use {@link zs_create_pool}. */
  constructor(
    /** @internal The machine's zsmalloc state. */
    readonly st: ZsmallocState,
    /** Pool id, unique on its machine. */
    readonly id: number,
    /** `name` (also the debugfs directory `zsmalloc/<name>`). */
    readonly name: string,
  ) {}
}

/** The zsmalloc state of `m`, or `MmError(ENODEV)` if the plugin is not installed. */
export function zsmallocState(m: Machine): ZsmallocState {
  if (!m.container.isRegistered(ZsmallocState, true)) {
    throw new MmError(ENODEV, 'zsmalloc is not installed on this machine (add zsmallocPlugin())', { rule: 'zsmalloc needs its plugin' });
  }
  return m.container.resolve(ZsmallocState);
}

/** @internal Check that `pool` is a live pool of `m`; returns its state. */
export function assertPool(m: Machine, pool: ZsPool, fn: string): ZsmallocState {
  if (!(pool instanceof ZsPool) || pool.st.m !== m || pool.destroyed) {
    const why = !(pool instanceof ZsPool) ? 'not a zs_pool' : pool.destroyed ? `pool "${pool.name}" was destroyed` : `pool "${pool.name}" belongs to another machine`;
    throw new MmError(EINVAL, `${fn}: ${why}`, { rule: 'a live pool from zs_create_pool on this machine' });
  }
  return pool.st;
}

/**
 * @internal Check that `handle` is a live handle of `pool` (not freed, not another pool's); returns
 * its id. `MmError(EINVAL)` otherwise: the kernel would dereference a stale or foreign slab object.
 */
export function assertHandle(st: ZsmallocState, pool: ZsPool, handle: number, fn: string): number {
  const h = st.handles;
  const id = handle >>> 2;
  if (!(Number.isInteger(handle) && handle > 0 && handle % 4 === 0 && id < h.limit && h.pool[id] !== 0)) {
    const why = Number.isInteger(handle) && handle > 0 && handle % 4 === 0 && id < h.limit ? 'a freed (stale) handle' : 'not a handle zs_malloc returned';
    throw new MmError(EINVAL, `${fn}: ${handle} is ${why}`, { rule: 'a handle from zs_malloc that has not been freed' });
  }
  if (h.pool[id] !== pool.id) {
    const owner = st.pools[h.pool[id]!];
    throw new MmError(EINVAL, `${fn}: handle ${handle} belongs to pool "${owner?.name}", not "${pool.name}"`, {
      rule: 'a handle is used only with the pool it came from',
    });
  }
  return id;
}

/**
 * `zs_create_pool(name)` (`mm/zsmalloc.c`): a pool with the kernel's size classes. Classes are built
 * from the largest down: class `i` holds objects of `ZS_MIN_ALLOC_SIZE + i * ZS_SIZE_CLASS_DELTA`
 * bytes (at most `PAGE_SIZE`), chains `calculate_zspage_chain_size` pages, and shares the record of
 * the class above it when both chain as many pages and hold as many objects. The first class met
 * with more than one page and more than one object sets the module's `huge_class_size` (its size
 * minus `ZS_HANDLE_SIZE - 1`) if it is not set yet. The shrinker and the debugfs directory are not
 * created; the statistics are available through {@link zs_stats_size_show}.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { createMachine } from '@mm/core';
 * import { zs_create_pool, zs_free, zs_get_total_pages, zs_malloc, zs_obj_write, zsmallocPlugin } from '@mm/zsmalloc';
 *
 * const m = createMachine({ memory: '64M', debugVm: true, plugins: [zsmallocPlugin()] });
 * const pool = zs_create_pool(m, 'zram0');
 * const handles: number[] = [];
 * for (let i = 0; i < 8; i++) {
 *   const handle = zs_malloc(m, pool, 1000); // a page compressed to 1000 bytes
 *   if (handle < 0) throw new Error(`zs_malloc: ${handle}`);
 *   zs_obj_write(m, pool, handle, new Uint8Array(1000).fill(i), 1000);
 *   handles.push(handle);
 * }
 * console.log(zs_get_total_pages(m, pool)); // pages of the pool's zspages: fewer than 8
 * for (const handle of handles) zs_free(m, pool, handle);
 * console.log(zs_get_total_pages(m, pool)); // 0: empty zspages are freed
 * ```
 */
export function zs_create_pool(m: Machine, name: string): ZsPool {
  const st = zsmallocState(m);
  if (typeof name !== 'string' || name.length === 0) {
    throw new MmError(EINVAL, 'zs_create_pool: the pool needs a name', { rule: 'zs_create_pool(name) with a non-empty name' });
  }
  const pool = new ZsPool(st, st.pools.length, name);
  let prev: SizeClass | null = null;
  for (let i = ZS_SIZE_CLASSES - 1; i >= 0; i--) {
    const size = Math.min(ZS_MIN_ALLOC_SIZE + i * ZS_SIZE_CLASS_DELTA, ZS_MAX_ALLOC_SIZE);
    const pages = calculate_zspage_chain_size(size, st.maxPagesPerZspage);
    const objs = Math.floor((pages * PAGE_SIZE) / size);
    if (pages !== 1 && objs !== 1 && st.huge_class_size === 0) st.huge_class_size = size - (ZS_HANDLE_SIZE - 1);
    if (prev !== null && can_merge(prev, pages, objs)) {
      pool.size_class[i] = prev;
      continue;
    }
    prev = new SizeClass(size, objs, pages, i);
    pool.size_class[i] = prev;
  }
  st.pools.push(pool);
  return pool;
}

/**
 * `zs_destroy_pool(pool)` (`mm/zsmalloc.c`): flush the deferred-free work, then release the pool.
 * The kernel reports a class that still has zspages (`pr_err`) and leaks them; the model refuses
 * instead, with `MmError(EBUSY)` and nothing changed, when objects are still allocated or open, or
 * when a zspage waiting for deferred freeing has a page locked (the kernel's flush would wait).
 */
export function zs_destroy_pool(m: Machine, pool: ZsPool): void {
  const st = assertPool(m, pool, 'zs_destroy_pool');
  const t = st.zspages;
  for (let i = 0; i < ZS_SIZE_CLASSES; i++) {
    const cls = pool.size_class[i]!;
    if (cls.index !== i) continue;
    if (cls.stats[ZS_OBJS_INUSE]! > 0) {
      throw new MmError(EBUSY, `zs_destroy_pool: class ${cls.size} still holds ${cls.stats[ZS_OBJS_INUSE]} objects`, {
        rule: 'free every object before destroying the pool (the kernel leaks the zspages)',
      });
    }
    for (let zs = cls.fullness_list[ZS_INUSE_RATIO_0]!; zs >= 0; zs = t.next[zs]!) {
      for (let p = t.first[zs]!; p >= 0; p = get_next_zpdesc(st, p)) {
        if ((m.memmap.flags[p]! & (1 << PG.locked)) !== 0) {
          throw new MmError(EBUSY, 'zs_destroy_pool: a zspage waiting for deferred freeing has a locked page', {
            pfn: p,
            rule: 'flush_work(&pool->free_work) waits for the page lock; the model cannot wait',
          });
        }
      }
    }
  }
  const run = (): void => {
    async_free_zspage(m, pool);
    pool.destroyed = true;
    st.pools[pool.id] = undefined;
  };
  if (m.debugVm) m.withChecksDeferred('zs_destroy_pool', run);
  else run();
}
