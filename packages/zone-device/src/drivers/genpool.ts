import { EINVAL, MmError } from '@mm/core';

/**
 * `struct gen_pool` (`lib/genalloc.c`) with page granularity (`min_alloc_order = PAGE_SHIFT`): chunks
 * of PFNs, each with an owner and a bitmap, allocated first-fit (`gen_pool_first_fit`, the default
 * algorithm).
 */
export class GenPool {
  private readonly chunks: { start: number; nrPages: number; bits: Uint8Array; owner: unknown }[] = [];
  /** Pages handed out and not yet freed. */
  allocated = 0;

  /** `gen_pool_add_owner(pool, addr, phys, size, nid, owner)` (`lib/genalloc.c`): add a chunk of PFNs. */
  gen_pool_add_owner(start: number, nrPages: number, owner: unknown): void {
    this.chunks.push({ start, nrPages, bits: new Uint8Array(nrPages), owner });
  }

  /** `gen_pool_size(pool)` (`lib/genalloc.c`), in pages. */
  gen_pool_size(): number {
    return this.chunks.reduce((s, c) => s + c.nrPages, 0);
  }

  /** `gen_pool_avail(pool)` (`lib/genalloc.c`), in pages. */
  gen_pool_avail(): number {
    return this.gen_pool_size() - this.allocated;
  }

  /**
   * `gen_pool_alloc_owner(pool, size, &owner)` (`include/linux/genalloc.h`, over
   * `gen_pool_alloc_algo_owner` in `lib/genalloc.c`): first fit of `nrPages` contiguous pages; the start
   * PFN and the chunk's owner, or null.
   */
  gen_pool_alloc_owner(nrPages: number): {
    /** First PFN of the allocated range. */
    pfn: number;
    /** The owner of the chunk it came from (`gen_pool_add_owner`'s `owner`). */
    owner: unknown;
  } | null {
    for (const c of this.chunks) {
      let run = 0;
      for (let i = 0; i < c.nrPages; i++) {
        run = c.bits[i] ? 0 : run + 1;
        if (run === nrPages) {
          const first = i - nrPages + 1;
          c.bits.fill(1, first, i + 1);
          this.allocated += nrPages;
          return { pfn: c.start + first, owner: c.owner };
        }
      }
    }
    return null;
  }

  /**
   * `gen_pool_free_owner(pool, addr, size, &owner)` (`lib/genalloc.c`): give `nrPages` back; returns
   * the chunk's owner. Freeing pages that are not allocated is the kernel's `BUG_ON(remain)`:
   * `MmError(EINVAL)`, nothing changed.
   */
  gen_pool_free_owner(pfn: number, nrPages: number): unknown {
    const c = this.chunks.find((k) => pfn >= k.start && pfn + nrPages <= k.start + k.nrPages);
    const off = c ? pfn - c.start : 0;
    if (!c || !(nrPages > 0) || c.bits.subarray(off, off + nrPages).some((b) => b === 0)) {
      throw new MmError(EINVAL, `gen_pool_free: [${pfn}, +${nrPages}) is not allocated from this pool`, { pfn, rule: 'free only what was allocated' });
    }
    c.bits.fill(0, off, off + nrPages);
    this.allocated -= nrPages;
    return c.owner;
  }

  /** True if `pfn` is allocated from this pool. */
  isAllocated(pfn: number): boolean {
    const c = this.chunks.find((k) => pfn >= k.start && pfn < k.start + k.nrPages);
    return c !== undefined && c.bits[pfn - c.start] === 1;
  }
}
