import { EBUSY, MmError, PAGE_SIZE, folio_put, folio_unlock, type Folio, type Machine } from '@mm/core';
import { fix_fullness_group, remove_zspage } from './fullness.js';
import { obj_to_idx, obj_to_pfn } from './handle.js';
import { OBJ_TAG_BITS, ZS_INUSE_RATIO_0, ZS_OBJS_ALLOCATED, ZS_OBJS_INUSE, ZS_SIZE_CLASSES, type SizeClass } from './size-class.js';
import { get_next_zpdesc, get_zspage, reset_zpdesc, trylock_zspage, zpdesc_dec_zone_page_state } from './zpdesc.js';
import { assertHandle, assertPool, type ZsPool } from './zs-pool.js';
import type { ZsmallocState } from './zsmalloc-state.js';

/** `MAX_ERRNO`: handles from -4095 to -1 are `ERR_PTR` values (`IS_ERR_VALUE`). */
const MAX_ERRNO = 4095;

/**
 * `obj_free(class_size, obj)`: put the object back on its zspage's free list (its first word now
 * links to the old head; on a huge zspage the page's `handle` word is cleared) and decrement `inuse`.
 */
export function obj_free(st: ZsmallocState, classSize: number, obj: number): void {
  const t = st.zspages;
  const pfn = obj_to_pfn(obj);
  const idx = obj_to_idx(obj);
  const zs = get_zspage(st.m, pfn);
  if (t.huge[zs] === 0) {
    const head = t.freeobj[zs]!;
    st.contents.writeWord(pfn, (classSize * idx) & (PAGE_SIZE - 1), (head << OBJ_TAG_BITS) >>> 0, head >>> 31);
  } else {
    st.m.memmap.index[pfn] = 0;
  }
  t.freeobj[zs] = idx;
  t.inuse[zs]! -= 1;
}

/**
 * `__free_zspage(pool, class, zspage)`: with every page locked, reset each page, unlock it, take it
 * out of NR_ZSPAGES and drop zsmalloc's reference (the page goes back to the allocator unless
 * someone, e.g. the migration core, still holds one). Then free the zspage and uncount it.
 */
export function __free_zspage(st: ZsmallocState, pool: ZsPool, cls: SizeClass, zs: number): void {
  const m = st.m;
  let page = st.zspages.first[zs]!;
  while (page >= 0) {
    const next = get_next_zpdesc(st, page);
    reset_zpdesc(st, page);
    folio_unlock(m, page as Folio);
    zpdesc_dec_zone_page_state(m, page);
    folio_put(m, page as Folio);
    page = next;
  }
  st.zspages.free(zs);
  cls.stats[ZS_OBJS_ALLOCATED]! -= cls.objs_per_zspage;
  pool.pages_allocated -= cls.pages_per_zspage;
}

/**
 * `free_zspage(pool, class, zspage)`: free an empty zspage now if all its pages can be trylocked;
 * otherwise leave it on the 0% list and schedule the pool's deferred-free work
 * (`kick_deferred_free`, see {@link async_free_zspage}).
 */
export function free_zspage(st: ZsmallocState, pool: ZsPool, cls: SizeClass, zs: number): void {
  if (!trylock_zspage(st, zs)) {
    pool.free_work_pending = true;
    return;
  }
  remove_zspage(st.zspages, cls, zs);
  __free_zspage(st, pool, cls, zs);
}

/**
 * `zs_free(pool, handle)` (`mm/zsmalloc.c`): free the object. Like the kernel, 0 and `ERR_PTR`
 * values (-4095..-1) are ignored. The zspage moves to the fullness list its usage now calls for and
 * is freed when it becomes empty. `MmError(EINVAL)` for a stale or foreign handle (a double free
 * included) and `MmError(EBUSY)` for an object still open with `zs_obj_read_begin`; nothing changes.
 */
export function zs_free(m: Machine, pool: ZsPool, handle: number): void {
  const st = assertPool(m, pool, 'zs_free');
  if (handle === 0 || (handle < 0 && handle >= -MAX_ERRNO)) return;
  const id = assertHandle(st, pool, handle, 'zs_free');
  if (st.handles.open[id] !== 0) {
    throw new MmError(EBUSY, `zs_free: object ${handle} is open (zs_obj_read_begin without zs_obj_read_end)`, {
      pfn: obj_to_pfn(st.handles.obj[id]!),
      rule: 'end every read before freeing the object',
    });
  }
  if (m.debugVm) m.withChecksDeferred('zs_free', () => __zs_free(st, pool, handle));
  else __zs_free(st, pool, handle);
}

function __zs_free(st: ZsmallocState, pool: ZsPool, handle: number): void {
  const obj = st.handles.obj[handle >>> 2]!;
  const zs = get_zspage(st.m, obj_to_pfn(obj));
  const cls = pool.size_class[st.zspages.classIdx[zs]!]!;
  cls.stats[ZS_OBJS_INUSE]! -= 1;
  obj_free(st, cls.size, obj);
  if (fix_fullness_group(st.zspages, cls, zs) === ZS_INUSE_RATIO_0) free_zspage(st, pool, cls, zs);
  st.handles.free(handle);
}

/**
 * `async_free_zspage(work)` (`mm/zsmalloc.c`), the pool's deferred-free work, run now: every empty
 * zspage left on a 0% list because `zs_free` could not lock all its pages is freed. The kernel's
 * worker sleeps on each page lock (`lock_zspage`); the model cannot sleep, so a zspage whose pages
 * are still locked stays queued and the work stays pending. Returns the number of zspages freed.
 */
export function async_free_zspage(m: Machine, pool: ZsPool): number {
  const st = assertPool(m, pool, 'async_free_zspage');
  return m.debugVm ? m.withChecksDeferred('async_free_zspage', () => __async_free_zspage(st, pool)) : __async_free_zspage(st, pool);
}

function __async_free_zspage(st: ZsmallocState, pool: ZsPool): number {
  let freed = 0;
  let left = false;
  const t = st.zspages;
  for (let i = 0; i < ZS_SIZE_CLASSES; i++) {
    const cls = pool.size_class[i]!;
    if (cls.index !== i) continue;
    for (let zs = cls.fullness_list[ZS_INUSE_RATIO_0]!; zs >= 0; ) {
      const next = t.next[zs]!;
      if (trylock_zspage(st, zs)) {
        remove_zspage(t, cls, zs);
        __free_zspage(st, pool, cls, zs);
        freed++;
      } else left = true;
      zs = next;
    }
  }
  pool.free_work_pending = left;
  return freed;
}
