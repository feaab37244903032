import { MmError } from '../debug/mm-error.js';
import { EINVAL } from '../errno.js';

/**
 * The memmap: `struct page` for every PFN, stored as one typed array per word (a
 * structure-of-arrays `mem_map`, `include/linux/mm_types.h`).
 *
 * | array | kernel word |
 * | --- | --- |
 * | `flags` | `page->flags`: PG_* bits 0–23; top byte = node id << 3 \| zone index (0xff: no memmap) |
 * | `lru` | first union word: `lru.next`, `compound_head` (bit 0), owner ops (bit 1), `pgmap`, `buddy_list.next`, `pcp_list.next` |
 * | `lruPrev` | second union word: `lru.prev`, `zone_device_data`; on page 1 `_large_mapcount` |
 * | `mapping` | `mapping` (low bits FOLIO_MAPPING_*); on page 1 `_entire_mapcount` |
 * | `index` | `__folio_index`; on page 1 `_pincount` |
 * | `private` | `private` (buddy order, swap entry, owner data); on page 1 `_nr_pages` |
 * | `mapcount` | `_mapcount` (offset by −1) overlaid by `page_type` (top byte PGTY_*) |
 * | `refcount` | `_refcount` |
 * | `memcgData` | `memcg_data` |
 *
 * 36 bytes per page, plus one byte per pageblock. Differences from the kernel: words are 32-bit (pointers are encoded ids, see
 * `page/word.ts`); zone and node live in the top byte of `flags` instead of the kernel's
 * config-dependent field widths.
 */
export class Memmap {
  /** `page->flags`. */
  flags: Uint32Array;
  /**
   * `flags` seen two words per element (a Float64Array over the same buffer, so no extra memory):
   * lets `free_pages_prepare` read a block's tail flag words two at a time. Replaced with `flags`.
   */
  flagPairs: Float64Array;
  /** First word of the main union (`lru.next` / `compound_head` / owner ops / `pgmap`). */
  lru: Uint32Array;
  /** Second word of the main union (`lru.prev` / `zone_device_data`). */
  lruPrev: Uint32Array;
  /** `page->mapping`. */
  mapping: Uint32Array;
  /** `page->__folio_index`. */
  index: Uint32Array;
  /** `page->private`. */
  private: Uint32Array;
  /** `_mapcount` / `page_type` (signed view). */
  mapcount: Int32Array;
  /** `_refcount`. */
  refcount: Int32Array;
  /** `memcg_data`. */
  memcgData: Uint32Array;
  /**
   * Pageblock flags, one byte per pageblock of 512 pages (`pageblock_flags`, kept per memory section
   * with SPARSEMEM): bits 0–2 the migratetype, bit 3 `PB_compact_skip`, bit 4 `PB_migrate_isolate`.
   */
  pageblock: Uint8Array;

  /** Create a memmap of `nrPages` struct pages, all zero except `_mapcount = -1` and no zone. */
  constructor(nrPages: number) {
    this.flags = new Uint32Array(nrPages).fill(NO_ZONE_FLAGS);
    this.flagPairs = new Float64Array(this.flags.buffer, 0, nrPages >> 1);
    this.lru = new Uint32Array(nrPages);
    this.lruPrev = new Uint32Array(nrPages);
    this.mapping = new Uint32Array(nrPages);
    this.index = new Uint32Array(nrPages);
    this.private = new Uint32Array(nrPages);
    this.mapcount = new Int32Array(nrPages).fill(-1);
    this.refcount = new Int32Array(nrPages);
    this.memcgData = new Uint32Array(nrPages);
    this.pageblock = new Uint8Array(Math.ceil(nrPages / 512));
  }

  /** Number of struct pages (one past the highest PFN with a struct page). */
  get nrPages(): number {
    return this.flags.length;
  }

  /** Bytes of typed-array storage per simulated page. */
  static readonly BYTES_PER_PAGE = 36;

  /**
   * Grow the memmap to `nrPages` entries (memory hotplug / `memremap_pages` adding a PFN range, like
   * `sparse_add_section`). Existing entries are copied unchanged; new ones start with no zone.
   */
  grow(nrPages: number): void {
    if (nrPages < this.nrPages || nrPages > MAX_MEMMAP_PAGES) {
      throw new MmError(EINVAL, `memmap cannot grow from ${this.nrPages} to ${nrPages} pages`, {
        rule: 'memmap grows up to 2^30 pages',
      });
    }
    this.flags = growU32(this.flags, nrPages, NO_ZONE_FLAGS);
    this.flagPairs = new Float64Array(this.flags.buffer, this.flags.byteOffset, nrPages >> 1);
    this.lru = growU32(this.lru, nrPages, 0);
    this.lruPrev = growU32(this.lruPrev, nrPages, 0);
    this.mapping = growU32(this.mapping, nrPages, 0);
    this.index = growU32(this.index, nrPages, 0);
    this.private = growU32(this.private, nrPages, 0);
    this.memcgData = growU32(this.memcgData, nrPages, 0);
    const mc = new Int32Array(nrPages).fill(-1);
    mc.set(this.mapcount);
    this.mapcount = mc;
    const rc = new Int32Array(nrPages);
    rc.set(this.refcount);
    this.refcount = rc;
    const pb = new Uint8Array(Math.ceil(nrPages / 512));
    pb.set(this.pageblock);
    this.pageblock = pb;
  }
}

/** `flags` value of a PFN without a memmap (a hole): top byte 0xff. */
export const NO_ZONE_FLAGS = 0xff000000;

/** The most struct pages a memmap may hold: 2^30 (4 TiB of 4 KiB pages), keeping page pointers in 32 bits. */
export const MAX_MEMMAP_PAGES = 2 ** 30;

function growU32(a: Uint32Array, n: number, fill: number): Uint32Array {
  const b = new Uint32Array(n);
  if (fill !== 0) b.fill(fill, a.length);
  b.set(a);
  return b;
}
