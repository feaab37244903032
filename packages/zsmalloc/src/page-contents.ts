import { PAGE_SHIFT, PAGE_SIZE } from '@mm/core';
import { SlotAllocator } from './slot-allocator.js';

const CHUNK_SHIFT = 8;
const CHUNK_PAGES = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_PAGES - 1;
const CHUNK_BYTES = CHUNK_PAGES * PAGE_SIZE;

/** A saved `PageContents` (opaque): the result of its `save`. */
export interface PageContentsCopy {
  /** The slot of each PFN. */
  readonly slotOf: Int32Array;
  /** How many chunks there were. */
  readonly chunks: number;
  /** The slot allocator. */
  readonly slots: SlotAllocator;
  /** The bytes of the slots handed out, in slot order. */
  readonly bytes: Uint8Array;
}

/**
 * The bytes of the pages zsmalloc owns: what `kmap_local_zpdesc` would map. The memmap says who owns
 * a page; this store holds what is written in it, so that objects, their headers and the in-page free
 * list are real bytes that move when a page is migrated or an object is compacted. A page gets a
 * 4 KiB slot when zsmalloc allocates it (or when migration makes it a zspage page) and gives it up
 * when zsmalloc lets go of it. Slots live in 1 MiB chunks; `u8`/`u32` are views of a chunk and
 * `base(pfn)` the byte offset of the page in it.
 */
export class PageContents {
  /** Slot of each PFN, -1 when the page has none. */
  private slotOf: Int32Array;
  /** Byte views of the chunks. */
  readonly u8: Uint8Array[] = [];
  /** 32-bit views of the same chunks (little-endian words, as on x86-64). */
  readonly u32: Uint32Array[] = [];
  private readonly slots = new SlotAllocator(0);

  /** A store for a machine of `nrPages` PFNs. */
  constructor(nrPages: number) {
    this.slotOf = new Int32Array(nrPages).fill(-1);
  }

  /** Pages that have contents. */
  get count(): number {
    return this.slots.count;
  }

  /** True if `pfn` has contents. */
  has(pfn: number): boolean {
    return pfn < this.slotOf.length && this.slotOf[pfn]! >= 0;
  }

  /**
   * Give `pfn` 4 KiB of contents. They are not cleared: like a page from the allocator without
   * `__GFP_ZERO`, they hold whatever the slot held last (deterministically).
   */
  attach(pfn: number): void {
    if (pfn >= this.slotOf.length) {
      const s = new Int32Array(Math.max(pfn + 1, this.slotOf.length * 2)).fill(-1);
      s.set(this.slotOf);
      this.slotOf = s;
    }
    const slot = this.slots.take();
    if (slot >>> CHUNK_SHIFT === this.u8.length) {
      const buf = new ArrayBuffer(CHUNK_PAGES * PAGE_SIZE);
      this.u8.push(new Uint8Array(buf));
      this.u32.push(new Uint32Array(buf));
    }
    this.slotOf[pfn] = slot;
  }

  /**
   * @internal A copy of the store for a machine checkpoint: the slot table, the slot allocator and
   * the bytes of every slot handed out so far (a slot never handed out holds zeros, so its bytes are
   * not copied).
   */
  save(): PageContentsCopy {
    const n = this.slots.limit;
    const bytes = new Uint8Array(n * PAGE_SIZE);
    for (let c = 0; c * CHUNK_PAGES < n; c++) bytes.set(this.u8[c]!.subarray(0, Math.min(CHUNK_PAGES, n - c * CHUNK_PAGES) * PAGE_SIZE), c * CHUNK_BYTES);
    return { slotOf: this.slotOf.slice(), chunks: this.u8.length, slots: this.slots.copy(), bytes };
  }

  /**
   * @internal Put a save of this store back: the chunks created after it are dropped, the saved
   * bytes written back, and the slots handed out since zeroed.
   */
  restore(s: PageContentsCopy): void {
    const handedOut = this.slots.limit * PAGE_SIZE;
    this.u8.length = Math.min(this.u8.length, s.chunks);
    this.u32.length = this.u8.length;
    while (this.u8.length < s.chunks) {
      const buf = new ArrayBuffer(CHUNK_BYTES);
      this.u8.push(new Uint8Array(buf));
      this.u32.push(new Uint32Array(buf));
    }
    const saved = s.bytes.length;
    for (let c = 0; c < s.chunks; c++) {
      const lo = c * CHUNK_BYTES;
      const chunk = this.u8[c]!;
      if (saved > lo) chunk.set(s.bytes.subarray(lo, Math.min(lo + CHUNK_BYTES, saved)));
      const zeroFrom = Math.max(lo, saved);
      const zeroTo = Math.min(lo + CHUNK_BYTES, handedOut);
      if (zeroTo > zeroFrom) chunk.fill(0, zeroFrom - lo, zeroTo - lo);
    }
    if (this.slotOf.length === s.slotOf.length) this.slotOf.set(s.slotOf);
    else this.slotOf = s.slotOf.slice();
    this.slots.restoreFrom(s.slots);
  }

  /** Drop `pfn`'s contents. */
  detach(pfn: number): void {
    const slot = this.slotOf[pfn]!;
    this.slotOf[pfn] = -1;
    this.slots.give(slot);
  }

  /** Index into {@link u8}/{@link u32} of `pfn`'s chunk. */
  chunk(pfn: number): number {
    return this.slotOf[pfn]! >>> CHUNK_SHIFT;
  }

  /** Byte offset of `pfn`'s contents within its chunk. */
  base(pfn: number): number {
    return (this.slotOf[pfn]! & CHUNK_MASK) << PAGE_SHIFT;
  }

  /** `copy_page(dst, src)`: copy all 4 KiB of `src` into `dst`. */
  copyPage(dst: number, src: number): void {
    const sb = this.base(src);
    this.u8[this.chunk(dst)]!.set(this.u8[this.chunk(src)]!.subarray(sb, sb + PAGE_SIZE), this.base(dst));
  }

  /** `memcpy` of `n` bytes between two pages' contents. */
  copy(dst: number, dstOff: number, src: number, srcOff: number, n: number): void {
    const sb = this.base(src) + srcOff;
    this.u8[this.chunk(dst)]!.set(this.u8[this.chunk(src)]!.subarray(sb, sb + n), this.base(dst) + dstOff);
  }

  /** Read the two 32-bit halves of the 64-bit word at byte `off` of `pfn` into `out` (low, high). */
  readWord(pfn: number, off: number, out: Uint32Array): void {
    const w = (this.base(pfn) + off) >>> 2;
    const a = this.u32[this.chunk(pfn)]!;
    out[0] = a[w]!;
    out[1] = a[w + 1]!;
  }

  /** Write the 64-bit word `hi:lo` at byte `off` of `pfn`. */
  writeWord(pfn: number, off: number, lo: number, hi: number): void {
    const w = (this.base(pfn) + off) >>> 2;
    const a = this.u32[this.chunk(pfn)]!;
    a[w] = lo;
    a[w + 1] = hi;
  }
}
