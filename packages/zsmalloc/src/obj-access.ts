import { EINVAL, MmError, PAGE_SIZE, type Machine } from '@mm/core';
import { obj_to_idx, obj_to_pfn } from './handle.js';
import { ZS_HANDLE_SIZE } from './size-class.js';
import { get_next_zpdesc, get_zspage } from './zpdesc.js';
import { assertHandle, assertPool, type ZsPool } from './zs-pool.js';
import { zspage_read_lock, zspage_read_unlock } from './zspage.js';
import type { ZsmallocState } from './zsmalloc-state.js';

/**
 * Object access (`mm/zsmalloc.c`, the API that replaced `zs_map_object`): a reader or writer holds
 * the zspage's read lock, which makes page migration and compaction of that zspage fail their
 * trylock, so an open object never moves. An object that crosses a page boundary is copied through
 * a caller's buffer, as the kernel does.
 *
 * @module
 */

/** Check `mem_len` against what the caller asked `zs_malloc` for (the kernel cannot check this). */
function assertLen(st: ZsmallocState, id: number, memLen: number, fn: string, pfn: number): void {
  const size = st.handles.size[id]!;
  if (!(Number.isInteger(memLen) && memLen >= 0 && memLen <= size)) {
    throw new MmError(EINVAL, `${fn}: ${memLen} bytes of a ${size}-byte object`, {
      pfn,
      rule: 'mem_len must not go past the size passed to zs_malloc',
    });
  }
}

/**
 * `zs_obj_read_begin(pool, handle, mem_len, local_copy)`: open the object for reading and return
 * its first `mem_len` bytes. An object inside one page is returned as a view of the page itself
 * (valid until {@link zs_obj_read_end}); one that crosses into the next page is copied into
 * `local_copy` (which must hold `mem_len + ZS_HANDLE_SIZE` bytes, the header included, as in the
 * kernel; a buffer is allocated if none is given). The zspage stays read-locked until
 * `zs_obj_read_end`. `MmError(EINVAL)` for a stale or foreign handle, for `mem_len` beyond the size
 * given to `zs_malloc`, or for a too-small `local_copy`; nothing changes then.
 */
export function zs_obj_read_begin(m: Machine, pool: ZsPool, handle: number, mem_len: number, local_copy?: Uint8Array): Uint8Array {
  const st = assertPool(m, pool, 'zs_obj_read_begin');
  const id = assertHandle(st, pool, handle, 'zs_obj_read_begin');
  const obj = st.handles.obj[id]!;
  const pfn = obj_to_pfn(obj);
  assertLen(st, id, mem_len, 'zs_obj_read_begin', pfn);
  const zs = get_zspage(m, pfn);
  const huge = st.zspages.huge[zs] === 1;
  const hdr = huge ? 0 : ZS_HANDLE_SIZE;
  const len = mem_len + hdr;
  if (local_copy !== undefined && !(local_copy instanceof Uint8Array && local_copy.length >= len)) {
    throw new MmError(EINVAL, `zs_obj_read_begin: local_copy needs ${len} bytes`, { pfn, rule: 'local_copy holds mem_len + ZS_HANDLE_SIZE bytes' });
  }
  zspage_read_lock(st.zspages, zs);
  st.handles.open[id]! += 1;
  const cls = pool.size_class[st.zspages.classIdx[zs]!]!;
  const off = (cls.size * obj_to_idx(obj)) & (PAGE_SIZE - 1);
  const c = st.contents;
  if (off + len <= PAGE_SIZE) {
    const b = c.base(pfn) + off;
    return c.u8[c.chunk(pfn)]!.subarray(b + hdr, b + len);
  }
  const buf = local_copy ?? new Uint8Array(len);
  const first = PAGE_SIZE - off;
  const b0 = c.base(pfn) + off;
  buf.set(c.u8[c.chunk(pfn)]!.subarray(b0, b0 + first), 0);
  const next = get_next_zpdesc(st, pfn);
  const b1 = c.base(next);
  buf.set(c.u8[c.chunk(next)]!.subarray(b1, b1 + len - first), first);
  return buf.subarray(hdr, len);
}

/**
 * `zs_obj_read_end(pool, handle, mem_len, handle_mem)`: close a read opened with
 * {@link zs_obj_read_begin} and drop the zspage read lock. `MmError(EINVAL)` for a handle that is not
 * open.
 */
export function zs_obj_read_end(m: Machine, pool: ZsPool, handle: number, mem_len: number, handle_mem?: Uint8Array): void {
  void mem_len;
  void handle_mem;
  const st = assertPool(m, pool, 'zs_obj_read_end');
  const id = assertHandle(st, pool, handle, 'zs_obj_read_end');
  const pfn = obj_to_pfn(st.handles.obj[id]!);
  if (st.handles.open[id] === 0) {
    throw new MmError(EINVAL, `zs_obj_read_end: object ${handle} is not open`, { pfn, rule: 'zs_obj_read_end pairs with zs_obj_read_begin' });
  }
  st.handles.open[id]! -= 1;
  zspage_read_unlock(st.zspages, get_zspage(m, pfn));
  if (m.debugVm) m.checkInvariants('zs_obj_read_end');
}

/**
 * `zs_obj_write(pool, handle, handle_mem, mem_len)`: copy `mem_len` bytes of `handle_mem` into the
 * object (after its header), across a page boundary if the object crosses one, under the zspage
 * read lock. `MmError(EINVAL)` for a stale or foreign handle, for `mem_len` beyond the size given to
 * `zs_malloc` or beyond `handle_mem`; nothing changes then.
 */
export function zs_obj_write(m: Machine, pool: ZsPool, handle: number, handle_mem: Uint8Array, mem_len: number): void {
  const st = assertPool(m, pool, 'zs_obj_write');
  const id = assertHandle(st, pool, handle, 'zs_obj_write');
  const obj = st.handles.obj[id]!;
  const pfn = obj_to_pfn(obj);
  assertLen(st, id, mem_len, 'zs_obj_write', pfn);
  if (!(handle_mem instanceof Uint8Array) || handle_mem.length < mem_len) {
    throw new MmError(EINVAL, `zs_obj_write: source holds fewer than ${mem_len} bytes`, { pfn, rule: 'handle_mem holds mem_len bytes' });
  }
  const zs = get_zspage(m, pfn);
  zspage_read_lock(st.zspages, zs);
  const cls = pool.size_class[st.zspages.classIdx[zs]!]!;
  let off = (cls.size * obj_to_idx(obj)) & (PAGE_SIZE - 1);
  if (st.zspages.huge[zs] === 0) off += ZS_HANDLE_SIZE;
  const c = st.contents;
  if (off + mem_len <= PAGE_SIZE) {
    c.u8[c.chunk(pfn)]!.set(handle_mem.subarray(0, mem_len), c.base(pfn) + off);
  } else {
    const first = PAGE_SIZE - off;
    c.u8[c.chunk(pfn)]!.set(handle_mem.subarray(0, first), c.base(pfn) + off);
    const next = get_next_zpdesc(st, pfn);
    c.u8[c.chunk(next)]!.set(handle_mem.subarray(first, mem_len), c.base(next));
  }
  zspage_read_unlock(st.zspages, zs);
}
