import type { Folio, FolioOwnerOps, Machine, PfnRange, Pfn } from '@mm/core';
import type { VmFault } from '../mm/mm-struct.js';
import { Completion } from './completion.js';
import { free_zone_device_folio } from './free-zone-device-folio.js';
import type { MemoryType } from './memory-type.js';

/**
 * `struct dev_pagemap_ops` (`include/linux/memremap.h`, v6.17 names): the driver's callbacks.
 *
 * - `page_free(page)`: the page's refcount reached 0 (PRIVATE, COHERENT and P2PDMA): take it back into
 *   the driver's allocator. Renamed `folio_free(folio)` in the latest kernels; same role.
 * - `migrate_to_ram(vmf)`: a CPU faulted on a device-private entry; migrate the page back to system
 *   memory and return a `vm_fault_t` (0 or `VM_FAULT_*`). Required for MEMORY_DEVICE_PRIVATE.
 * - `memory_failure(pgmap, pfn, nr_pages, mf_flags)`: a memory error hit `nr_pages` pages at `pfn`;
 *   return 0 or a negative errno, `-EOPNOTSUPP` to fall back to the generic handler.
 */
export interface DevPagemapOps {
  /** The page's refcount reached 0: take it back. */
  page_free?(page: Pfn): void;
  /** CPU fault on a device-private entry: migrate back to RAM; returns a `vm_fault_t`. */
  migrate_to_ram?(vmf: VmFault): number;
  /** A memory error on `[pfn, pfn + nr_pages)`: 0 or a negative errno. */
  memory_failure?(pgmap: DevPagemap, pfn: number, nr_pages: number, mf_flags: number): number;
}

/** What a driver fills in before `memremap_pages` (the caller-set fields of `struct dev_pagemap`). */
export interface DevPagemapInit {
  /** `type`. */
  readonly type: MemoryType;
  /** `range` / `ranges[nr_range]`, as PFN ranges (the kernel uses inclusive physical byte ranges). */
  readonly ranges: readonly PfnRange[];
  /** `ops`, or null. */
  readonly ops?: DevPagemapOps | null;
  /** `owner`: an opaque value identifying the managing driver (required for PRIVATE and COHERENT). */
  readonly owner?: unknown;
  /** `vmemmap_shift`: struct pages are grouped into compound folios of `1 << vmemmap_shift` pages. Default 0. */
  readonly vmemmap_shift?: number;
}

/**
 * `struct dev_pagemap` (`include/linux/memremap.h`), as series 1 (RFC v1 patch 9) lays it out: its
 * first member is a `struct folio_owner_ops` whose `free` is `free_zone_device_folio`, so the word
 * `page_set_pgmap` stores — the pgmap pointer tagged with bit 1 — is at the same time a valid
 * owner-ops pointer. In the model a `DevPagemap` *is* a {@link FolioOwnerOps}: `memremap_pages`
 * installs it in the machine's owner-ops table and its id is the pointer.
 *
 * The live reference count `ref` models the `percpu_ref` (count, killed state) and `done` the
 * completion its release signals. The altmap (`PGMAP_ALTMAP_VALID`) is not modelled.
 */
export class DevPagemap implements FolioOwnerOps {
  /** Owner name shown in `folio_freed` events and `dump_page` (the same under both strategies). */
  readonly name = 'zone_device';
  /** `type`. */
  readonly type: MemoryType;
  /** `ranges[]`. */
  readonly ranges: readonly PfnRange[];
  /** `ops`. */
  readonly ops: DevPagemapOps | null;
  /** `owner`. */
  readonly owner: unknown;
  /** `vmemmap_shift`. */
  readonly vmemmap_shift: number;
  /** `ref`: the percpu_ref count (0 while unmapped). */
  ref = 0;
  /** `percpu_ref_is_dying(&ref)`: killed by `memunmap_pages`; `tryget_live` fails. */
  dying = false;
  /** `done`: completed when the last reference is gone and `memunmap_pages` has torn the ranges down. */
  done = new Completion();
  /** The machine it is mapped on, or null while unmapped. */
  machine: Machine | null = null;
  /** The node whose ZONE_DEVICE holds its pages. */
  nid = -1;
  /** The pointer value: its id in `m.ownerOps` (0 while unmapped). */
  id = 0;
  /** FS_DAX: how many times `wake_up_var` ran for one of its pages (idle-page notifications). */
  wakeups = 0;
  /** FS_DAX: continuations waiting for a page to become idle, by PFN (`wait_var_event`). */
  readonly waiters = new Map<number, (() => void)[]>();

  /** A pgmap as a driver prepares it; nothing is mapped until `memremap_pages`. */
  constructor(init: DevPagemapInit) {
    this.type = init.type;
    this.ranges = init.ranges.map((r) => ({ start: r.start, nrPages: r.nrPages }));
    this.ops = init.ops ?? null;
    this.owner = init.owner ?? null;
    this.vmemmap_shift = init.vmemmap_shift ?? 0;
  }

  /** `nr_range`. */
  get nr_range(): number {
    return this.ranges.length;
  }

  /** `pgmap_vmemmap_nr(pgmap)`: pages per compound folio. */
  get vmemmap_nr(): number {
    return 1 << this.vmemmap_shift;
  }

  /** Lifecycle: `unmapped` (never mapped or torn down), `live`, or `dying` (killed, waiting for references). */
  get state(): 'unmapped' | 'live' | 'dying' {
    if (this.machine === null) return 'unmapped';
    return this.dying ? 'dying' : 'live';
  }

  /** True if `pfn` lies in one of its ranges (`pgmap_pfn_valid`). */
  contains(pfn: number): boolean {
    for (const r of this.ranges) if (pfn >= r.start && pfn < r.start + r.nrPages) return true;
    return false;
  }

  /** `folio_ops.free`: `free_zone_device_folio(folio)` (installed by `__init_zone_device_page` in series 1). */
  free(folio: Folio): void {
    free_zone_device_folio(this.machine!, folio);
  }
}
