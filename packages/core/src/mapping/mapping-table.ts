import type { AddressSpace, AddressSpaceOperations } from './address-space.js';
import type { AnonVma } from './anon-vma.js';

/**
 * The machine's table of mapping objects (the kernel's `struct address_space` and `struct anon_vma`
 * pointers): ids stand for pointers, so `mapping = id * 4` (file) or `id * 4 | 1` (anon) is a real
 * tagged word in the memmap. Also holds the swap cache's address space and the migration entries of
 * large folios (page-table state, which the model keeps outside the memmap).
 */
export class MappingTable {
  /** Address spaces by id (sparse). */
  readonly spaces: (AddressSpace | undefined)[] = [undefined];
  /** anon_vmas by id (sparse; the id space is shared with `spaces`). */
  readonly anonVmas: (AnonVma | undefined)[] = [undefined];
  /**
   * Migration entries of a large folio being migrated, by source folio: `[entire, p0, p1, …]` where
   * `pi = ptes << 1 | anon_exclusive` for page i (the kernel keeps them in the page tables).
   */
  readonly migrationEntries = new Map<number, Int32Array>();
  /** `swapper_spaces`: the swap cache (index = swap entry). Set by `swap_cache_init`. */
  swapper!: AddressSpace;
  /** The `a_ops` new address spaces get by default. Set by `swap_cache_init`. */
  defaultAops!: AddressSpaceOperations;
  private nextId = 1;

  /**
   * A fresh object id. Id 256 is skipped: `256 * 4` is `TAIL_MAPPING`, the poison tail pages keep in
   * `mapping`, so no mapping object may encode to it.
   */
  allocId(): number {
    let id = this.nextId++;
    if (id === 0x100) id = this.nextId++;
    return id;
  }
}
