import { PAGE_SHIFT, PAGE_SIZE } from '@mm/core';

/**
 * zsmalloc's size classes for 4 KiB pages (`mm/zsmalloc.c`): the constants that shape them, the
 * `struct size_class` record, and the functions that pick a class for a size and a chain length for
 * a class. Facts checked against the kernel source (v6.18-era): `ZS_MIN_ALLOC_SIZE` is 32 on
 * x86-64, `ZS_SIZE_CLASS_DELTA` is 16, giving 255 classes; the chain length of a class is the page
 * count (1..`ZS_MAX_PAGES_PER_ZSPAGE`) with the least tail waste, the smallest such count winning.
 *
 * @module
 */

/** `ZS_ALIGN`: objects and free-list links are 8-byte aligned. */
export const ZS_ALIGN = 8;
/** `ZS_HANDLE_SIZE` (`sizeof(unsigned long)`): the header each non-huge object starts with. */
export const ZS_HANDLE_SIZE = 8;
/** `OBJ_ALLOCATED_TAG`: bit 0 of an object's header word marks it allocated. */
export const OBJ_ALLOCATED_TAG = 1;
/** `OBJ_TAG_BITS`: free-list links are stored shifted left by this much. */
export const OBJ_TAG_BITS = 1;
/** `MAX_POSSIBLE_PHYSMEM_BITS` on x86-64 (5-level paging possible). */
export const MAX_POSSIBLE_PHYSMEM_BITS = 52;
/** `_PFN_BITS = MAX_POSSIBLE_PHYSMEM_BITS - PAGE_SHIFT`. */
export const _PFN_BITS = MAX_POSSIBLE_PHYSMEM_BITS - PAGE_SHIFT;
/** `OBJ_INDEX_BITS = BITS_PER_LONG - _PFN_BITS`: low bits of an encoded location that hold the object index. */
export const OBJ_INDEX_BITS = 64 - _PFN_BITS;
/** `OBJ_INDEX_MASK`. */
export const OBJ_INDEX_MASK = 2 ** OBJ_INDEX_BITS - 1;
/** `CONFIG_ZSMALLOC_CHAIN_SIZE` default (Kconfig range 4..16): the most pages one zspage chains. */
export const CONFIG_ZSMALLOC_CHAIN_SIZE = 8;
/** Smallest and largest chain size Kconfig accepts. */
export const zsmallocChainSizeRange = [4, 16] as const;
/**
 * `ZS_MIN_ALLOC_SIZE = MAX(32, ZS_MAX_PAGES_PER_ZSPAGE << PAGE_SHIFT >> OBJ_INDEX_BITS)`: 32 for every
 * chain size Kconfig allows (16 pages << 12 >> 24 is 0).
 */
export const ZS_MIN_ALLOC_SIZE = 32;
/** `ZS_MAX_ALLOC_SIZE`: `PAGE_SIZE`; `zs_malloc` fails larger requests with `-ENOSPC`. */
export const ZS_MAX_ALLOC_SIZE = PAGE_SIZE;
/** `CLASS_BITS`: width of the zspage's class field minus one. */
export const CLASS_BITS = 8;
/** `ZS_SIZE_CLASS_DELTA = PAGE_SIZE >> CLASS_BITS`: 16 bytes between adjacent classes. */
export const ZS_SIZE_CLASS_DELTA = PAGE_SIZE >> CLASS_BITS;
/** `ZS_SIZE_CLASSES = DIV_ROUND_UP(ZS_MAX_ALLOC_SIZE - ZS_MIN_ALLOC_SIZE, ZS_SIZE_CLASS_DELTA) + 1`: 255. */
export const ZS_SIZE_CLASSES = Math.ceil((ZS_MAX_ALLOC_SIZE - ZS_MIN_ALLOC_SIZE) / ZS_SIZE_CLASS_DELTA) + 1;
/** `ZSPAGE_MAGIC`: the zspage's magic field while it is live. */
export const ZSPAGE_MAGIC = 0x58;

/** `ZS_INUSE_RATIO_0`: an empty zspage (freed at once, or waiting for deferred freeing). */
export const ZS_INUSE_RATIO_0 = 0;
/** `ZS_INUSE_RATIO_10`: more than 0% and less than 10% of the objects in use (group = ratio / 10 + 1). */
export const ZS_INUSE_RATIO_10 = 1;
/** `ZS_INUSE_RATIO_99`: 90% or more but not full. */
export const ZS_INUSE_RATIO_99 = 10;
/** `ZS_INUSE_RATIO_100`: every object in use. */
export const ZS_INUSE_RATIO_100 = 11;
/** `NR_FULLNESS_GROUPS`. */
export const NR_FULLNESS_GROUPS = 12;
/** `ZS_OBJS_ALLOCATED`: class statistic, objects in all of the class's zspages (after the 12 fullness counts). */
export const ZS_OBJS_ALLOCATED = NR_FULLNESS_GROUPS;
/** `ZS_OBJS_INUSE`: class statistic, objects handed out. */
export const ZS_OBJS_INUSE = NR_FULLNESS_GROUPS + 1;
/** `NR_CLASS_STAT_TYPES`. */
export const NR_CLASS_STAT_TYPES = NR_FULLNESS_GROUPS + 2;

/**
 * `struct size_class` (`mm/zsmalloc.c`): one object size, how many pages one of its zspages chains
 * and how many objects it holds, its fullness lists (heads of zspage lists, -1 when empty; linked
 * through the zspage table) and its statistics (`stats[fg]` zspages per fullness group,
 * `stats[ZS_OBJS_ALLOCATED]`, `stats[ZS_OBJS_INUSE]`). Merged classes share one record, whose
 * `index` is the largest class index of the run.
 */
export class SizeClass {
  /** Heads of the fullness lists, one per group (`fullness_list[]`). */
  readonly fullness_list = new Int32Array(NR_FULLNESS_GROUPS).fill(-1);
  /** `stats.objs[]`: per-group zspage counts, then objects allocated and in use. */
  readonly stats = new Float64Array(NR_CLASS_STAT_TYPES);

  /** A class of `size`-byte objects, `pages_per_zspage` pages and `objs_per_zspage` objects per zspage. */
  constructor(
    /** Object size in bytes, a multiple of `ZS_ALIGN`. */
    readonly size: number,
    /** Objects one zspage holds. */
    readonly objs_per_zspage: number,
    /** Pages one zspage chains. */
    readonly pages_per_zspage: number,
    /** Class index (for merged classes, the largest index sharing this record). */
    readonly index: number,
  ) {}

  /** True for a huge class: one object per one-page zspage, its handle kept in the page, not in the object. */
  get huge(): boolean {
    return this.objs_per_zspage === 1 && this.pages_per_zspage === 1;
  }
}

/**
 * `calculate_zspage_chain_size(class_size)` (`mm/zsmalloc.c`): 1 for a power-of-two size, else the
 * page count from 1 to `maxPages` whose `(i * PAGE_SIZE) % class_size` is least (the first such
 * count wins a tie).
 */
export function calculate_zspage_chain_size(class_size: number, maxPages: number): number {
  let chain = 1;
  if ((class_size & (class_size - 1)) === 0) return chain;
  let minWaste = Number.MAX_SAFE_INTEGER;
  for (let i = 1; i <= maxPages; i++) {
    const waste = (i * PAGE_SIZE) % class_size;
    if (waste < minWaste) {
      minWaste = waste;
      chain = i;
    }
  }
  return chain;
}

/**
 * `get_size_class_index(size)` (`mm/zsmalloc.c`): 0 up to `ZS_MIN_ALLOC_SIZE`, then one class per
 * `ZS_SIZE_CLASS_DELTA` bytes, capped at the last class. `size` already includes the handle header
 * when `zs_malloc` calls it.
 */
export function get_size_class_index(size: number): number {
  let idx = 0;
  if (size > ZS_MIN_ALLOC_SIZE) idx = Math.ceil((size - ZS_MIN_ALLOC_SIZE) / ZS_SIZE_CLASS_DELTA);
  return idx < ZS_SIZE_CLASSES - 1 ? idx : ZS_SIZE_CLASSES - 1;
}

/** `can_merge(prev, pages_per_zspage, objs_per_zspage)`: a class may share the previous (larger) class's record. */
export function can_merge(prev: SizeClass, pages_per_zspage: number, objs_per_zspage: number): boolean {
  return prev.pages_per_zspage === pages_per_zspage && prev.objs_per_zspage === objs_per_zspage;
}
