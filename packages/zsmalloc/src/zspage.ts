import { ZSPAGE_MAGIC } from './size-class.js';
import { SlotAllocator, grown } from './slot-allocator.js';

/**
 * `struct zspage` (`mm/zsmalloc.c`) for every zspage of a machine, stored as one typed array per
 * field (a slab of zspages, like the kernel's `zspage` kmem_cache). A zspage is its id (>= 1); the
 * `private` word of each of its pages holds `id * 4` (the `zpdesc->zspage` pointer, see
 * `page/word.ts` in `@mm/core`). Fields: the bitfields `huge`, `fullness`, `class` and `magic`,
 * `inuse`, `freeobj` (head of the in-zspage free list), `first_zpdesc` (a PFN), `pool` (pool id),
 * the zspage lock (`zsl.cnt`: 0 unlocked, n > 0 readers, -1 the writer) and the `list` node of its
 * fullness list (ids, -1 for none).
 */
export class ZspageTable {
  /** `magic`: `ZSPAGE_MAGIC` while live, 0 once freed. */
  magic = new Uint8Array(64);
  /** `huge`: one object per one-page zspage; the handle lives in the page's `index` word. */
  huge = new Uint8Array(64);
  /** `fullness`: the fullness group the zspage is filed under. */
  fullness = new Uint8Array(64);
  /** `class`: index of its size class. */
  classIdx = new Uint16Array(64);
  /** `inuse`: objects handed out. */
  inuse = new Uint16Array(64);
  /** `freeobj`: index of the first free object (0xffffffff: none). */
  freeobj = new Uint32Array(64);
  /** `first_zpdesc`: PFN of the first page. */
  first = new Int32Array(64);
  /** `pool`: id of the owning pool. */
  pool = new Uint32Array(64);
  /** `zsl.cnt`: 0 unlocked, n > 0 readers, -1 write-locked. */
  lock = new Int32Array(64);
  /** `list.next` on its fullness list (-1: last or not listed). */
  next = new Int32Array(64);
  /** `list.prev` on its fullness list (-1: first or not listed). */
  prev = new Int32Array(64);
  private readonly slots = new SlotAllocator(1);

  /** Live zspages. */
  get count(): number {
    return this.slots.count;
  }

  /** One past the highest id ever handed out (ids below it are live or free). */
  get limit(): number {
    return this.slots.limit;
  }

  /** `cache_alloc_zspage`: a zeroed zspage with its magic set; returns its id. */
  alloc(poolId: number, classIdx: number): number {
    const id = this.slots.take();
    if (id === this.magic.length) this.grow();
    this.magic[id] = ZSPAGE_MAGIC;
    this.huge[id] = 0;
    this.fullness[id] = 0;
    this.classIdx[id] = classIdx;
    this.inuse[id] = 0;
    this.freeobj[id] = 0;
    this.first[id] = -1;
    this.pool[id] = poolId;
    this.lock[id] = 0;
    this.next[id] = -1;
    this.prev[id] = -1;
    return id;
  }

  /** `cache_free_zspage`: the id may be handed out again. */
  free(id: number): void {
    this.magic[id] = 0;
    this.pool[id] = 0;
    this.slots.give(id);
  }

  private grow(): void {
    const n = this.magic.length * 2;
    this.magic = grown(this.magic, n);
    this.huge = grown(this.huge, n);
    this.fullness = grown(this.fullness, n);
    this.classIdx = grown(this.classIdx, n);
    this.inuse = grown(this.inuse, n);
    this.freeobj = grown(this.freeobj, n);
    this.first = grown(this.first, n);
    this.pool = grown(this.pool, n);
    this.lock = grown(this.lock, n);
    this.next = grown(this.next, n);
    this.prev = grown(this.prev, n);
  }
}

/** `zspage_read_lock(zspage)`: one more reader; migration and compaction of this zspage now fail their trylock. */
export function zspage_read_lock(t: ZspageTable, zs: number): void {
  t.lock[zs]!++;
}

/** `zspage_read_unlock(zspage)`. */
export function zspage_read_unlock(t: ZspageTable, zs: number): void {
  t.lock[zs]!--;
}

/** `zspage_write_trylock(zspage)`: take the lock for writing if nobody holds it; true on success. */
export function zspage_write_trylock(t: ZspageTable, zs: number): boolean {
  if (t.lock[zs] !== 0) return false;
  t.lock[zs] = -1;
  return true;
}

/** `zspage_write_unlock(zspage)`. */
export function zspage_write_unlock(t: ZspageTable, zs: number): void {
  t.lock[zs] = 0;
}
