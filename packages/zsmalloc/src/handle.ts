import { SlotAllocator, grown } from './slot-allocator.js';
import { OBJ_INDEX_BITS } from './size-class.js';

/** `2 ** OBJ_INDEX_BITS`: multiplier of the PFN in an encoded object location. */
const OBJ_PFN_UNIT = 2 ** OBJ_INDEX_BITS;

/**
 * `location_to_obj(zpdesc, obj_idx)` (`mm/zsmalloc.c`): encode an object's location as
 * `(pfn << OBJ_INDEX_BITS) | obj_idx`, where `pfn` is the page the object starts in and `obj_idx`
 * its index within the zspage. The value can exceed 32 bits, so it is computed with floating-point
 * arithmetic (exact below 2^53: PFNs stay below 2^29).
 */
export function location_to_obj(pfn: number, obj_idx: number): number {
  return pfn * OBJ_PFN_UNIT + obj_idx;
}

/** `obj_to_zpdesc(obj)`: the PFN of an encoded object location. */
export function obj_to_pfn(obj: number): number {
  return Math.floor(obj / OBJ_PFN_UNIT);
}

/** The object index of an encoded object location (the second half of `obj_to_location`). */
export function obj_to_idx(obj: number): number {
  return obj % OBJ_PFN_UNIT;
}

/**
 * The machine's handles (the kernel's `zs_handle` kmem_cache, shared by every pool): a handle is
 * `id * 4` (ids >= 1, so bits 0 and 1 are clear and `handle | OBJ_ALLOCATED_TAG` marks an object
 * header, as a slab address does in the kernel). The word it points to, `obj[id]`, holds the encoded
 * location; `record_obj` rewrites it when the object moves, the handle never changes. The model also
 * remembers, for checks the kernel cannot make, the owning pool (0: free), the size asked of
 * `zs_malloc` and how many `zs_obj_read_begin` calls are open on it.
 */
export class HandleTable {
  /** `*(unsigned long *)handle`: the encoded location, by id. */
  obj = new Float64Array(256);
  /** Owning pool id, 0 when the handle is free. */
  pool = new Uint32Array(256);
  /** The size passed to `zs_malloc`. */
  size = new Uint16Array(256);
  /** Open `zs_obj_read_begin` calls. */
  open = new Uint16Array(256);
  private readonly slots = new SlotAllocator(1);

  /** Handles in use. */
  get count(): number {
    return this.slots.count;
  }

  /** One past the highest id ever handed out. */
  get limit(): number {
    return this.slots.limit;
  }

  /** `cache_alloc_handle`: a new handle owned by `poolId` for a `size`-byte object. */
  alloc(poolId: number, size: number): number {
    const id = this.slots.take();
    if (id === this.pool.length) this.grow();
    this.pool[id] = poolId;
    this.size[id] = size;
    this.open[id] = 0;
    this.obj[id] = 0;
    return id * 4;
  }

  /** `cache_free_handle`: the handle's slot may be handed out again. */
  free(handle: number): void {
    const id = handle >>> 2;
    this.pool[id] = 0;
    this.slots.give(id);
  }

  private grow(): void {
    const n = this.pool.length * 2;
    this.obj = grown(this.obj, n);
    this.pool = grown(this.pool, n);
    this.size = grown(this.size, n);
    this.open = grown(this.open, n);
  }
}
