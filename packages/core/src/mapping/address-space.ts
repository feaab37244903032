import { MmError } from '../debug/mm-error.js';
import { EINVAL } from '../errno.js';
import type { Machine } from '../machine/machine.js';
import type { MigrateMode } from '../migrate/migrate-mode.js';
import { PG } from '../page/page-flags.js';
import { id_ptr } from '../page/word.js';
import type { Folio } from '../types.js';

/**
 * A minimal `struct address_space` (`include/linux/fs.h`): the page cache of one file (or the swap
 * cache), as an index → folio map (`i_pages`, an xarray in the kernel; a large folio occupies every
 * index it covers), its `flags` (`AS_*`) and its `a_ops`. Inodes, writeback and readahead are not
 * modelled. A folio of this mapping stores `id * 4` in `mapping` (low bits clear, as a file folio's
 * `mapping` pointer has them).
 */
export class AddressSpace {
  /** The object id stored (times 4) in the `mapping` word of its folios. */
  readonly id: number;
  /** A name for dumps and messages (the kernel has the inode). */
  readonly name: string;
  /** `flags`: `AS_*` bits. */
  flags: number;
  /** `a_ops`. */
  readonly a_ops: AddressSpaceOperations;
  /** `i_pages`: index → folio, one entry per page index a folio covers. */
  readonly i_pages = new Map<number, Folio>();
  /** `nrpages`: pages in the cache. */
  nrpages = 0;

  /** Created by {@link createAddressSpace}. */
  constructor(id: number, name: string, flags: number, aops: AddressSpaceOperations) {
    this.id = id;
    this.name = name;
    this.flags = flags;
    this.a_ops = aops;
  }

  /** The `mapping` word value of this mapping's folios. */
  get ptr(): number {
    return id_ptr(this.id);
  }
}

/**
 * `struct address_space_operations` (`include/linux/fs.h`), the members migration uses.
 * - `migrate_folio(m, mapping, dst, src, mode)`: move `src` to `dst` (both locked, `src` unmapped);
 *   0 or a negative errno, `-EAGAIN` being temporary. Absent: `fallback_migrate_folio`.
 * - `release_folio(m, folio)`: drop the folio's private data (buffers); true if it is gone.
 */
export interface AddressSpaceOperations {
  /** `a_ops->migrate_folio`. */
  readonly migrate_folio?: (m: Machine, mapping: AddressSpace, dst: Folio, src: Folio, mode: MigrateMode) => number;
  /** `a_ops->release_folio`. */
  readonly release_folio?: (m: Machine, folio: Folio) => boolean;
}

/** `enum mapping_flags` (`include/linux/pagemap.h`), the bits the model uses. */
export const AS = {
  /** `AS_UNEVICTABLE`: e.g. ramdisk, SHM_LOCK. */
  AS_UNEVICTABLE: 1 << 3,
  /** `AS_INACCESSIBLE`: no direct access and no migration (guest_memfd, secretmem). */
  AS_INACCESSIBLE: 1 << 8,
} as const;

/** Options of {@link createAddressSpace}. */
export interface AddressSpaceOptions {
  /** Name for dumps. Default `file<id>`. */
  readonly name?: string;
  /** `AS_*` flags. Default 0. */
  readonly flags?: number;
  /** `a_ops`. Default: `migrate_folio = filemap_migrate_folio`, as most filesystems have. */
  readonly a_ops?: AddressSpaceOperations;
}

/**
 * Create an address space on `m` (the model of an inode's `i_mapping` coming into existence) and
 * register it in the machine's mapping table so that `mapping` words can name it.
 */
export function createAddressSpace(m: Machine, options: AddressSpaceOptions = {}): AddressSpace {
  const id = m.mappings.allocId();
  const as = new AddressSpace(id, options.name ?? `file${id}`, options.flags ?? 0, options.a_ops ?? m.mappings.defaultAops);
  m.mappings.spaces[id] = as;
  return as;
}

/**
 * `folio_mapping(folio)` (`mm/util.c`): the address space a folio belongs to: the swap cache for a
 * swap-cache folio, null for other anon/KSM folios and folios without a mapping.
 */
export function folio_mapping(m: Machine, folio: Folio): AddressSpace | null {
  const f = m.memmap.flags[folio]!;
  if ((f & SWAPCACHE) === SWAPCACHE) return m.mappings.swapper;
  const w = m.memmap.mapping[folio]!;
  if (w === 0 || (w & 3) !== 0) return null;
  return m.mappings.spaces[w >>> 2] ?? null;
}

const SWAPCACHE = (1 << PG.swapcache) | (1 << PG.swapbacked);

/** `mapping_inaccessible(mapping)` (`include/linux/pagemap.h`). */
export function mapping_inaccessible(mapping: AddressSpace): boolean {
  return (mapping.flags & AS.AS_INACCESSIBLE) !== 0;
}

/** `mapping_unevictable(mapping)` (`include/linux/pagemap.h`). */
export function mapping_unevictable(mapping: AddressSpace): boolean {
  return (mapping.flags & AS.AS_UNEVICTABLE) !== 0;
}

/** Throw `MmError(EINVAL)` unless `mapping` is registered on `m`. */
export function assertAddressSpace(m: Machine, mapping: AddressSpace, fn: string): void {
  if (m.mappings.spaces[mapping.id] !== mapping && m.mappings.swapper !== mapping) {
    throw new MmError(EINVAL, `${fn}: address space "${mapping.name}" does not belong to this machine`, { rule: 'create address spaces with createAddressSpace(m)' });
  }
}
