import { PAGE_SIZE, type Machine } from '@mm/core';
import { get_fullness_group, isolate_dst_zspage, isolate_src_zspage, putback_zspage } from './fullness.js';
import { obj_to_idx, obj_to_pfn } from './handle.js';
import { OBJ_ALLOCATED_TAG, ZS_INUSE_RATIO_0, ZS_INUSE_RATIO_100, ZS_OBJS_ALLOCATED, ZS_OBJS_INUSE, ZS_SIZE_CLASSES, type SizeClass } from './size-class.js';
import { get_first_obj_offset, get_next_zpdesc } from './zpdesc.js';
import { obj_malloc } from './zs-malloc.js';
import { free_zspage, obj_free } from './zs-free.js';
import { assertPool, type ZsPool } from './zs-pool.js';
import { zspage_write_trylock, zspage_write_unlock } from './zspage.js';
import type { ZsmallocState } from './zsmalloc-state.js';

/**
 * Pool compaction (`mm/zsmalloc.c`): per class, move objects out of the emptiest zspages into the
 * fullest ones and free the zspages that empty out. Handles do not change; `record_obj` points them
 * at the new locations and the object bytes are copied.
 *
 * @module
 */

/**
 * `zs_can_compact(class)`: pages compaction could free in this class:
 * `((obj_allocated - obj_used) / objs_per_zspage) * pages_per_zspage` (integer division).
 */
export function zs_can_compact(cls: SizeClass): number {
  const allocated = cls.stats[ZS_OBJS_ALLOCATED]!;
  const used = cls.stats[ZS_OBJS_INUSE]!;
  if (allocated <= used) return 0;
  return Math.floor((allocated - used) / cls.objs_per_zspage) * cls.pages_per_zspage;
}

/**
 * `obj_allocated(zpdesc, obj, &handle)`: the handle of the object at byte `off` of `pfn` if it is
 * allocated (its header, or the page's `handle` word on a huge zspage, has OBJ_ALLOCATED_TAG), else 0.
 */
export function obj_allocated(st: ZsmallocState, pfn: number, off: number): number {
  const zs = st.m.memmap.private[pfn]! >>> 2;
  let h: number;
  if (st.zspages.huge[zs] === 1) h = st.m.memmap.index[pfn]!;
  else {
    st.contents.readWord(pfn, off, st.word);
    h = st.word[0]!;
  }
  return (h & OBJ_ALLOCATED_TAG) !== 0 ? (h & ~OBJ_ALLOCATED_TAG) >>> 0 : 0;
}

/**
 * `find_alloced_obj(class, zpdesc, &obj_idx)`: from the `obj_idx`-th object starting in this page,
 * the handle of the first allocated one (0 if none); `st.foundIdx` is left at its in-page index.
 */
function find_alloced_obj(st: ZsmallocState, cls: SizeClass, pfn: number, objIdx: number): number {
  let offset = get_first_obj_offset(st.m, pfn) + cls.size * objIdx;
  let handle = 0;
  while (offset < PAGE_SIZE) {
    handle = obj_allocated(st, pfn, offset);
    if (handle !== 0) break;
    offset += cls.size;
    objIdx++;
  }
  st.foundIdx = objIdx;
  return handle;
}

/** `zs_object_copy(class, dst, src)`: copy `class->size` bytes (header included) between two object locations, page by page. */
export function zs_object_copy(st: ZsmallocState, cls: SizeClass, dst: number, src: number): void {
  let sPage = obj_to_pfn(src);
  let dPage = obj_to_pfn(dst);
  let sOff = (cls.size * obj_to_idx(src)) & (PAGE_SIZE - 1);
  let dOff = (cls.size * obj_to_idx(dst)) & (PAGE_SIZE - 1);
  let left = cls.size;
  while (left > 0) {
    const n = Math.min(left, PAGE_SIZE - sOff, PAGE_SIZE - dOff);
    st.contents.copy(dPage, dOff, sPage, sOff, n);
    left -= n;
    sOff += n;
    dOff += n;
    if (left === 0) break;
    if (sOff === PAGE_SIZE) {
      sPage = get_next_zpdesc(st, sPage);
      sOff = 0;
    }
    if (dOff === PAGE_SIZE) {
      dPage = get_next_zpdesc(st, dPage);
      dOff = 0;
    }
  }
}

/**
 * `migrate_zspage(pool, src_zspage, dst_zspage)`: move allocated objects, in page order, from the
 * source zspage into free slots of the destination until the destination is full or the source is
 * empty. Each move allocates in the destination (rewriting the handle), copies the bytes and frees
 * the source slot.
 */
function migrate_zspage(st: ZsmallocState, pool: ZsPool, src: number, dst: number): void {
  const t = st.zspages;
  const cls = pool.size_class[t.classIdx[src]!]!;
  let sPage = t.first[src]!;
  let objIdx = 0;
  for (;;) {
    const handle = find_alloced_obj(st, cls, sPage, objIdx);
    if (handle === 0) {
      sPage = get_next_zpdesc(st, sPage);
      if (sPage < 0) break;
      objIdx = 0;
      continue;
    }
    objIdx = st.foundIdx;
    const used = st.handles.obj[handle >>> 2]!;
    const free = obj_malloc(st, pool, dst, handle);
    zs_object_copy(st, cls, free, used);
    objIdx++;
    obj_free(st, cls.size, used);
    if (t.inuse[dst] === cls.objs_per_zspage) break;
    if (t.inuse[src] === 0) break;
  }
}

/**
 * `__zs_compact(pool, class)`: while the class has a zspage's worth of free slots, take the fullest
 * zspage as destination and the emptiest as source, move objects (skipping out if the source's
 * zspage lock is held, e.g. by an open reader), free the source if it emptied and count its pages,
 * and change destination once it is full. Returns the pages freed (including zspages whose freeing
 * had to be deferred, as the kernel counts them).
 */
function __zs_compact(st: ZsmallocState, pool: ZsPool, cls: SizeClass): number {
  const t = st.zspages;
  let src = -1;
  let dst = -1;
  let freed = 0;
  while (zs_can_compact(cls) > 0) {
    if (dst < 0) {
      dst = isolate_dst_zspage(t, cls);
      if (dst < 0) break;
    }
    src = isolate_src_zspage(t, cls);
    if (src < 0) break;
    if (!zspage_write_trylock(t, src)) break;
    migrate_zspage(st, pool, src, dst);
    zspage_write_unlock(t, src);
    if (putback_zspage(t, cls, src) === ZS_INUSE_RATIO_0) {
      free_zspage(st, pool, cls, src);
      freed += cls.pages_per_zspage;
    }
    src = -1;
    if (get_fullness_group(t, cls, dst) === ZS_INUSE_RATIO_100) {
      putback_zspage(t, cls, dst);
      dst = -1;
    }
  }
  if (src >= 0) putback_zspage(t, cls, src);
  if (dst >= 0) putback_zspage(t, cls, dst);
  return freed;
}

/**
 * `zs_compact(pool)` (`mm/zsmalloc.c`): compact every class, largest first; one compaction per pool
 * at a time (`compaction_in_progress`). Adds the pages freed to `stats.pages_compacted` and returns
 * them.
 */
export function zs_compact(m: Machine, pool: ZsPool): number {
  const st = assertPool(m, pool, 'zs_compact');
  if (pool.compaction_in_progress) return 0;
  const run = (): number => {
    pool.compaction_in_progress = true;
    let freed = 0;
    for (let i = ZS_SIZE_CLASSES - 1; i >= 0; i--) {
      const cls = pool.size_class[i]!;
      if (cls.index !== i) continue;
      freed += __zs_compact(st, pool, cls);
    }
    pool.stats.pages_compacted += freed;
    pool.compaction_in_progress = false;
    return freed;
  };
  return m.debugVm ? m.withChecksDeferred('zs_compact', run) : run();
}
