import { EINVAL, MmError, PAGE_SIZE, type Pfn } from '@mm/core';
import type { VmAreaStruct } from '../mm/mm-struct.js';

/**
 * `struct migrate_vma` and the migrate-PFN encoding (`include/linux/migrate.h`). A migrate PFN is
 * `pfn << MIGRATE_PFN_SHIFT | flags`; the model keeps it in a JS number (exact up to 2^53), so the
 * shift never overflows.
 *
 * @module
 */

/** `MIGRATE_PFN_VALID`: the entry holds a PFN. */
export const MIGRATE_PFN_VALID = 1 << 0;
/** `MIGRATE_PFN_MIGRATE`: the entry will (still) be migrated. */
export const MIGRATE_PFN_MIGRATE = 1 << 1;
/** `MIGRATE_PFN_WRITE`: the page was (and will be) mapped writable. */
export const MIGRATE_PFN_WRITE = 1 << 3;
/** `MIGRATE_PFN_SHIFT`. */
export const MIGRATE_PFN_SHIFT = 6;

/** `MIGRATE_VMA_SELECT_SYSTEM`: collect system-memory pages (and holes). */
export const MIGRATE_VMA_SELECT_SYSTEM = 1 << 0;
/** `MIGRATE_VMA_SELECT_DEVICE_PRIVATE`: collect device-private pages of `pgmap_owner`. */
export const MIGRATE_VMA_SELECT_DEVICE_PRIVATE = 1 << 1;
/** `MIGRATE_VMA_SELECT_DEVICE_COHERENT`: collect device-coherent pages of `pgmap_owner`. */
export const MIGRATE_VMA_SELECT_DEVICE_COHERENT = 1 << 2;

const SCALE = 2 ** MIGRATE_PFN_SHIFT;

/** `migrate_pfn(pfn)`: `pfn << MIGRATE_PFN_SHIFT | MIGRATE_PFN_VALID`. */
export function migrate_pfn(pfn: number): number {
  return pfn * SCALE + MIGRATE_PFN_VALID;
}

/** `migrate_pfn_to_page(mpfn)`: the PFN, or -1 (NULL) without MIGRATE_PFN_VALID. */
export function migrate_pfn_to_page(mpfn: number): Pfn | -1 {
  if ((mpfn & MIGRATE_PFN_VALID) === 0) return -1;
  return Math.floor(mpfn / SCALE) as Pfn;
}

/**
 * `struct migrate_vma`: the arguments and results of `migrate_vma_setup` / `migrate_vma_pages` /
 * `migrate_vma_finalize`. `src[i]` and `dst[i]` are migrate PFNs for the page at `start + i * PAGE_SIZE`.
 */
export interface MigrateVma {
  /** `vma`. */
  vma: VmAreaStruct | null;
  /** `start` (page aligned). */
  start: number;
  /** `end` (exclusive). */
  end: number;
  /** `src[]`: filled by `migrate_vma_setup`. */
  readonly src: number[];
  /** `dst[]`: filled by the driver with `migrate_pfn(new page) [| MIGRATE_PFN_WRITE]`. */
  readonly dst: number[];
  /** `cpages`: entries collected for migration (after unmapping: those still migrating). */
  cpages: number;
  /** `npages`: entries filled in `src`. */
  npages: number;
  /** `pgmap_owner`: only device pages whose pgmap has this owner are selected. */
  pgmap_owner: unknown;
  /** `flags`: `MIGRATE_VMA_SELECT_*`. */
  flags: number;
  /** `fault_page`: the locked device-private page whose CPU fault is being handled, or null. */
  fault_page: Pfn | null;
}

/** A `migrate_vma` for `[start, end)` with `src`/`dst` arrays sized for the range (as drivers declare them on the stack). */
export function migrateVmaArgs(init: {
  vma: VmAreaStruct | null;
  start: number;
  end: number;
  pgmap_owner: unknown;
  flags: number;
  fault_page?: Pfn | null;
}): MigrateVma {
  const n = Math.max(0, Math.floor((init.end - init.start) / PAGE_SIZE));
  if (n > 1 << 20) throw new MmError(EINVAL, 'migrate_vma: more than 2^20 pages at once', { rule: 'drivers migrate in bounded chunks' });
  return {
    vma: init.vma,
    start: init.start,
    end: init.end,
    src: new Array<number>(n).fill(0),
    dst: new Array<number>(n).fill(0),
    cpages: 0,
    npages: 0,
    pgmap_owner: init.pgmap_owner,
    flags: init.flags,
    fault_page: init.fault_page ?? null,
  };
}
