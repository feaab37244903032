import {
  EINVAL,
  ENOMEM,
  ENOSPC,
  GFP,
  MmError,
  PAGE_SHIFT,
  PAGE_SIZE,
  PG,
  SetPageMovableOps,
  __ClearPageZsmalloc,
  __SetPageZsmalloc,
  __free_page,
  alloc_pages_node,
  folio_trylock,
  folio_unlock,
  pfn_ptr,
  id_ptr,
  type Folio,
  type Machine,
  type Pfn,
} from '@mm/core';
import { find_get_zspage, fix_fullness_group, get_fullness_group, insert_zspage } from './fullness.js';
import { location_to_obj } from './handle.js';
import {
  OBJ_ALLOCATED_TAG,
  OBJ_TAG_BITS,
  ZS_HANDLE_SIZE,
  ZS_MAX_ALLOC_SIZE,
  ZS_OBJS_ALLOCATED,
  ZS_OBJS_INUSE,
  get_size_class_index,
  type SizeClass,
} from './size-class.js';
import { get_next_zpdesc, set_first_obj_offset, zpdesc_dec_zone_page_state, zpdesc_inc_zone_page_state } from './zpdesc.js';
import { assertPool, type ZsPool } from './zs-pool.js';
import type { ZsmallocState } from './zsmalloc-state.js';

/** `NUMA_NO_NODE`: let the allocator use the current CPU's node. */
export const NUMA_NO_NODE = -1;

/**
 * The GFP flags zram passes to `zs_malloc`: `GFP_NOIO | __GFP_NOWARN | __GFP_HIGHMEM | __GFP_MOVABLE`
 * (zspage pages may come from ZONE_MOVABLE, since they can be migrated).
 */
export const zramGfp = GFP.__GFP_DIRECT_RECLAIM | GFP.__GFP_KSWAPD_RECLAIM | GFP.__GFP_NOWARN | GFP.__GFP_HIGHMEM | GFP.__GFP_MOVABLE;

const PRIVATE = 1 << PG.private;

/**
 * `create_page_chain(class, zspage, zpdescs)`: every page points at the zspage (`private`), the
 * pages are linked through `next` (`index`), the first gets PG_private and becomes `first_zpdesc`;
 * a class of one object in one page makes the zspage huge.
 */
export function create_page_chain(st: ZsmallocState, cls: SizeClass, zs: number, pages: Int32Array): void {
  const mm = st.m.memmap;
  const zp = id_ptr(zs);
  let prev = -1;
  for (let i = 0; i < cls.pages_per_zspage; i++) {
    const p = pages[i]!;
    mm.private[p] = zp;
    mm.index[p] = 0;
    if (i === 0) {
      st.zspages.first[zs] = p;
      mm.flags[p]! |= PRIVATE;
      if (cls.huge) st.zspages.huge[zs] = 1;
    } else {
      mm.index[prev] = pfn_ptr(p);
    }
    prev = p;
  }
}

/**
 * `init_zspage(class, zspage)`: record in each page where its first object starts and thread every
 * object on the free list: each free object's first word is the index of the next, shifted by
 * `OBJ_TAG_BITS`; the last holds `-1UL << OBJ_TAG_BITS`. The list is written into the page bytes.
 */
export function init_zspage(st: ZsmallocState, cls: SizeClass, zs: number): void {
  const m = st.m;
  const c = st.contents;
  const size = cls.size;
  let freeobj = 1;
  let off = 0;
  let page = st.zspages.first[zs]!;
  while (page >= 0) {
    set_first_obj_offset(m, page, off);
    let link = off;
    while ((off += size) < PAGE_SIZE) {
      c.writeWord(page, link, (freeobj++ << OBJ_TAG_BITS) >>> 0, 0);
      link += size;
    }
    const next = get_next_zpdesc(st, page);
    if (next >= 0) c.writeWord(page, link, (freeobj++ << OBJ_TAG_BITS) >>> 0, 0);
    else c.writeWord(page, link, 0xfffffffe, 0xffffffff);
    page = next;
    off %= PAGE_SIZE;
  }
  st.zspages.freeobj[zs] = 0;
}

/**
 * `alloc_zspage(pool, class, gfp, nid)`: allocate `pages_per_zspage` order-0 pages one by one
 * (`alloc_pages_node`), mark each PageZsmalloc and count it in NR_ZSPAGES, chain them and build the
 * free list. If a page cannot be had, the pages already taken are given back and -1 is returned.
 */
export function alloc_zspage(st: ZsmallocState, pool: ZsPool, cls: SizeClass, gfp: number, nid: number): number {
  const m = st.m;
  const pages = st.pages;
  for (let i = 0; i < cls.pages_per_zspage; i++) {
    const pfn = alloc_pages_node(m, nid, gfp, 0);
    if (pfn === -1) {
      while (--i >= 0) {
        const p = pages[i]!;
        zpdesc_dec_zone_page_state(m, p);
        if (!m.stickyPageTypes) __ClearPageZsmalloc(m, p as Pfn);
        st.contents.detach(p);
        __free_page(m, p as Pfn);
      }
      return -1;
    }
    __SetPageZsmalloc(m, pfn);
    zpdesc_inc_zone_page_state(m, pfn);
    st.contents.attach(pfn);
    pages[i] = pfn;
  }
  const zs = st.zspages.alloc(pool.id, cls.index);
  create_page_chain(st, cls, zs, pages);
  init_zspage(st, cls, zs);
  return zs;
}

/**
 * `obj_malloc(pool, zspage, handle)`: take the zspage's first free object, store
 * `handle | OBJ_ALLOCATED_TAG` in its header (in the page's `handle` word on a huge zspage), and
 * record the object's location in the handle. Returns the encoded location.
 */
export function obj_malloc(st: ZsmallocState, pool: ZsPool, zs: number, handle: number): number {
  const t = st.zspages;
  const cls = pool.size_class[t.classIdx[zs]!]!;
  const obj = t.freeobj[zs]!;
  const offset = obj * cls.size;
  const nr = offset >>> PAGE_SHIFT;
  const mOff = offset & (PAGE_SIZE - 1);
  let page = t.first[zs]!;
  for (let i = 0; i < nr; i++) page = get_next_zpdesc(st, page);
  const w = st.word;
  st.contents.readWord(page, mOff, w);
  t.freeobj[zs] = ((w[0]! >>> OBJ_TAG_BITS) | (w[1]! << 31)) >>> 0;
  if (t.huge[zs] === 0) st.contents.writeWord(page, mOff, (handle | OBJ_ALLOCATED_TAG) >>> 0, 0);
  else st.m.memmap.index[t.first[zs]!] = (handle | OBJ_ALLOCATED_TAG) >>> 0;
  t.inuse[zs]! += 1;
  const loc = location_to_obj(page, obj);
  st.handles.obj[handle >>> 2] = loc;
  return loc;
}

/**
 * `SetZsPageMovable(pool, zspage)`: mark every page of a fully set-up zspage as having movable_ops,
 * under its page lock. From here on the migration core may isolate them.
 */
export function SetZsPageMovable(st: ZsmallocState, zs: number): void {
  const m = st.m;
  for (let p = st.zspages.first[zs]!; p >= 0; p = get_next_zpdesc(st, p)) {
    const locked = folio_trylock(m, p as Folio);
    SetPageMovableOps(m, p as Pfn);
    if (locked) folio_unlock(m, p as Folio);
  }
}

/**
 * `zs_malloc(pool, size, gfp, nid)` (`mm/zsmalloc.c`): allocate a `size`-byte object; returns its
 * handle, or, as the kernel's `ERR_PTR` values do, a negative errno: `-EINVAL` for size 0,
 * `-ENOSPC` above `ZS_MAX_ALLOC_SIZE` (a negative size counts as huge, as a `size_t` would),
 * `-ENOMEM` when pages cannot be had. The object takes `size + ZS_HANDLE_SIZE` bytes of its class;
 * the fullest non-full zspage of the class is used, else a new zspage is allocated on node `nid`
 * (`NUMA_NO_NODE`: the current CPU's) with `gfp`, added to `pages_allocated`, and made movable.
 * `MmError(EINVAL)` for a size that is not an integer or a node that does not exist.
 */
export function zs_malloc(m: Machine, pool: ZsPool, size: number, gfp: number = zramGfp, nid: number = NUMA_NO_NODE): number {
  const st = assertPool(m, pool, 'zs_malloc');
  if (!Number.isInteger(size)) throw new MmError(EINVAL, `zs_malloc: size ${size} is not an integer`, { rule: 'size_t size' });
  if (!(nid === NUMA_NO_NODE || (Number.isInteger(nid) && nid >= 0 && nid < m.nodes.length))) {
    throw new MmError(EINVAL, `zs_malloc: no node ${nid}`, { rule: 'nid is NUMA_NO_NODE or an online node' });
  }
  if (size === 0) return -EINVAL;
  if (size < 0 || size > ZS_MAX_ALLOC_SIZE) return -ENOSPC;
  const node = nid === NUMA_NO_NODE ? m.numa_node_id() : nid;
  if (m.debugVm) return m.withChecksDeferred('zs_malloc', () => __zs_malloc(st, pool, size, gfp, node));
  return __zs_malloc(st, pool, size, gfp, node);
}

function __zs_malloc(st: ZsmallocState, pool: ZsPool, size: number, gfp: number, nid: number): number {
  const handle = st.handles.alloc(pool.id, size);
  const cls = pool.size_class[get_size_class_index(size + ZS_HANDLE_SIZE)]!;
  let zs = find_get_zspage(cls);
  if (zs >= 0) {
    obj_malloc(st, pool, zs, handle);
    fix_fullness_group(st.zspages, cls, zs);
    cls.stats[ZS_OBJS_INUSE]! += 1;
    return handle;
  }
  zs = alloc_zspage(st, pool, cls, gfp, nid);
  if (zs < 0) {
    st.handles.free(handle);
    return -ENOMEM;
  }
  obj_malloc(st, pool, zs, handle);
  insert_zspage(st.zspages, cls, zs, get_fullness_group(st.zspages, cls, zs));
  pool.pages_allocated += cls.pages_per_zspage;
  cls.stats[ZS_OBJS_ALLOCATED]! += cls.objs_per_zspage;
  cls.stats[ZS_OBJS_INUSE]! += 1;
  SetZsPageMovable(st, zs);
  return handle;
}

