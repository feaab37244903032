import {
  EBUSY,
  EINVAL,
  ENOMEM,
  ENXIO,
  MAX_MEMMAP_PAGES,
  MmError,
  NO_ZONE_FLAGS,
  TAIL_BIT,
  type Machine,
  type PfnRange,
  type Pfn,
} from '@mm/core';
import type { DevPagemap } from './dev-pagemap.js';
import { memmap_init_zone_device } from './memmap-init-zone-device.js';
import { Completion } from './completion.js';
import {
  MEMORY_DEVICE_COHERENT,
  MEMORY_DEVICE_FS_DAX,
  MEMORY_DEVICE_GENERIC,
  MEMORY_DEVICE_PCI_P2PDMA,
  MEMORY_DEVICE_PRIVATE,
  pgmapRefsPerAllocation,
} from './memory-type.js';
import { PAGES_PER_SUBSECTION } from './request-free-mem-region.js';
import { zoneDeviceState } from './zone-device-state.js';

/**
 * `memremap_pages` / `memunmap_pages` (`mm/memremap.c`, v6.17-era): give a device-memory range
 * struct pages in its node's ZONE_DEVICE, and take them away again once nothing references the
 * pgmap.
 *
 * @module
 */

/** Largest `vmemmap_shift` accepted: PUD order (1 GiB folios), the largest device-dax alignment. */
export const MAX_VMEMMAP_SHIFT = 18;

function einval(msg: string, rule: string): never {
  throw new MmError(EINVAL, `memremap_pages: ${msg}`, { rule });
}

/** `pfn_len(pgmap, range_id)`: folios in a range, i.e. the up-front references it takes. */
function pfn_len(pgmap: DevPagemap, r: PfnRange): number {
  return r.nrPages >> pgmap.vmemmap_shift;
}

/** The per-type requirements of `memremap_pages` (each a WARN and -EINVAL in the kernel). */
function checkType(pgmap: DevPagemap): void {
  switch (pgmap.type) {
    case MEMORY_DEVICE_PRIVATE:
      if (!pgmap.ops?.migrate_to_ram) einval('Missing migrate_to_ram method', 'MEMORY_DEVICE_PRIVATE needs ops->migrate_to_ram');
      if (!pgmap.ops.page_free) einval('Missing page_free method', 'MEMORY_DEVICE_PRIVATE needs ops->page_free');
      if (!pgmap.owner) einval('Missing owner', 'MEMORY_DEVICE_PRIVATE needs an owner');
      break;
    case MEMORY_DEVICE_COHERENT:
      if (!pgmap.ops?.page_free) einval('Missing page_free method', 'MEMORY_DEVICE_COHERENT needs ops->page_free');
      if (!pgmap.owner) einval('Missing owner', 'MEMORY_DEVICE_COHERENT needs an owner');
      break;
    case MEMORY_DEVICE_FS_DAX:
    case MEMORY_DEVICE_GENERIC:
    case MEMORY_DEVICE_PCI_P2PDMA:
      break;
    default:
      // The kernel WARNs "Invalid pgmap type" and carries on; the model refuses.
      einval(`Invalid pgmap type ${String(pgmap.type)}`, 'type is one of MEMORY_DEVICE_*');
  }
}

/**
 * The range checks of `pagemap_range` and `__add_pages`, all made before anything changes: a range
 * overlapping another pgmap (or another range of the same pgmap) → ENOMEM ("Conflicting mapping in
 * same section"; the kernel only probes the range's two ends, the model checks the whole range); a
 * range intersecting System RAM (any PFN below `max_pfn`) → ENXIO; beyond the memmap's limit
 * (`mhp_range_allowed`) or not in whole 2 MiB subsections (`check_pfn_span`) or not in whole compound
 * folios → EINVAL.
 */
function checkRanges(m: Machine, pgmap: DevPagemap): number {
  const st = zoneDeviceState(m);
  let end = 0;
  pgmap.ranges.forEach((r, i) => {
    if (!(Number.isInteger(r.start) && Number.isInteger(r.nrPages) && r.start >= 0 && r.nrPages > 0)) {
      einval(`range ${i} ${JSON.stringify(r)} is not a PFN range`, 'ranges are [start, start + nrPages) with nrPages > 0');
    }
    const other = st.pgmaps.find((p) => p.ranges.some((q) => q.start < r.start + r.nrPages && r.start < q.start + q.nrPages));
    const self = pgmap.ranges.findIndex((q, j) => j < i && q.start < r.start + r.nrPages && r.start < q.start + q.nrPages);
    if (other !== undefined || self >= 0) {
      throw new MmError(ENOMEM, `memremap_pages: range ${i} conflicts with another dev_pagemap`, {
        pfn: r.start,
        rule: 'Conflicting mapping in same section: pgmap ranges never overlap',
      });
    }
    if (r.start < m.max_pfn) {
      throw new MmError(ENXIO, `memremap_pages attempted on ram region [${r.start}, ${r.start + r.nrPages})`, {
        pfn: r.start,
        rule: 'region_intersects(System RAM) must be REGION_DISJOINT',
      });
    }
    if (r.start + r.nrPages > MAX_MEMMAP_PAGES) einval(`range ${i} ends beyond the memmap limit`, 'mhp_range_allowed: below 2^30 pages');
    if (r.start % PAGES_PER_SUBSECTION !== 0 || r.nrPages % PAGES_PER_SUBSECTION !== 0) {
      einval(`range ${i} is not subsection aligned`, 'check_pfn_span: whole 2 MiB subsections');
    }
    if (r.start % pgmap.vmemmap_nr !== 0 || r.nrPages % pgmap.vmemmap_nr !== 0) {
      einval(`range ${i} is not a whole number of 2^${pgmap.vmemmap_shift}-page folios`, 'ranges hold whole compound folios');
    }
    end = Math.max(end, r.start + r.nrPages);
  });
  return end;
}

/**
 * `memremap_pages(pgmap, nid)` (`mm/memremap.c`): map the pgmap's ranges as ZONE_DEVICE memory of node
 * `nid` (−1: the current CPU's node, `numa_mem_id()`). Validates per type (PRIVATE needs
 * `migrate_to_ram`, `page_free` and an owner; COHERENT `page_free` and an owner) and per range (see the
 * errors below) before changing anything; then initialises the `ref` (one base reference), installs the
 * pgmap in the machine's owner-ops table (its id is the pointer `page_set_pgmap` stores), records it in
 * `pgmap_array`, grows the memmap to cover the ranges (existing PFNs are untouched), initialises every
 * struct page (`memmap_init_zone_device`) and, for the types other than PRIVATE and COHERENT, takes one
 * reference per folio up front (`percpu_ref_get_many(ref, pfn_len)`). Returns the first PFN of range 0
 * (the kernel returns its kernel virtual address).
 *
 * Rejected with `MmError`, nothing changed: no ZONE_DEVICE on the machine (ENXIO); missing ops or
 * owner, no ranges, a bad type, node or `vmemmap_shift`, a pgmap already mapped, misaligned ranges
 * (EINVAL); a range overlapping another pgmap (ENOMEM); a range intersecting System RAM (ENXIO).
 * The device memory's linear map, KASAN shadow and PAT tracking are not modelled; node spans are not
 * widened to include device ranges (the kernel's `resize_pgdat_range`), so node PFN walkers never
 * meet device PFNs.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { createMachine } from '@mm/core';
 * import { DevPagemap, MEMORY_DEVICE_PRIVATE, is_device_private_page, memremap_pages, request_free_mem_region, zoneDevicePlugin } from '@mm/zone-device';
 *
 * const m = createMachine({ memory: '64M', debugVm: true, plugins: [zoneDevicePlugin()] });
 * const range = request_free_mem_region(m, 512); // 2 MiB of physical address space that is not RAM
 * if (range === null) throw new Error('no free region');
 * const pgmap = new DevPagemap({
 *   type: MEMORY_DEVICE_PRIVATE,
 *   ranges: [range],
 *   ops: { page_free: () => undefined, migrate_to_ram: () => 0 }, // the driver's callbacks
 *   owner: 'my-driver',
 * });
 * const first = memremap_pages(m, pgmap); // struct pages for the device memory, in ZONE_DEVICE
 * console.log(first === range.start, is_device_private_page(m, first)); // true true
 * ```
 */
export function memremap_pages(m: Machine, pgmap: DevPagemap, nid = -1): Pfn {
  const st = zoneDeviceState(m);
  if (pgmap.machine !== null) einval('the pgmap is already mapped', 'percpu_ref_init on a live ref');
  if (pgmap.nr_range < 1) einval('nr_range must be specified', 'nr_range ≥ 1');
  checkType(pgmap);
  if (!(Number.isInteger(pgmap.vmemmap_shift) && pgmap.vmemmap_shift >= 0 && pgmap.vmemmap_shift <= MAX_VMEMMAP_SHIFT)) {
    einval(`vmemmap_shift ${pgmap.vmemmap_shift}`, `0 ≤ vmemmap_shift ≤ ${MAX_VMEMMAP_SHIFT}`);
  }
  if (nid < 0) nid = m.numa_node_id();
  if (!(Number.isInteger(nid) && nid < m.nodes.length)) einval(`no node ${nid}`, 'nid is an online node');
  const end = checkRanges(m, pgmap);
  return m.withChecksDeferred('memremap_pages', () => {
    pgmap.machine = m;
    pgmap.nid = nid;
    pgmap.ref = 1; // percpu_ref_init: the base reference, dropped by percpu_ref_kill
    pgmap.dying = false;
    pgmap.done = new Completion();
    pgmap.wakeups = 0;
    pgmap.id = m.ownerOps.install(pgmap);
    st.pgmaps.push(pgmap);
    if (end > m.memmap.nrPages) m.memmap.grow(end);
    const zone = st.deviceZone(nid);
    for (const r of pgmap.ranges) {
      memmap_init_zone_device(m, zone, r.start, r.nrPages, pgmap);
      if (!pgmapRefsPerAllocation(pgmap.type)) pgmap.ref += pfn_len(pgmap, r);
    }
    st.resizeZone(nid);
    return pgmap.ranges[0]!.start as Pfn;
  });
}

/**
 * Pages of a GENERIC or FS_DAX pgmap that are still referenced beyond their idle count (1 for
 * GENERIC, 0 for FS_DAX); their references do not pin the pgmap, so they must be gone before
 * `memunmap_pages`.
 */
function busyPage(m: Machine, pgmap: DevPagemap): number {
  const idle = pgmap.type === MEMORY_DEVICE_GENERIC ? 1 : 0;
  const { refcount, lru } = m.memmap;
  for (const r of pgmap.ranges) {
    for (let pfn = r.start; pfn < r.start + r.nrPages; pfn++) {
      if ((lru[pfn]! & TAIL_BIT) === 0 && refcount[pfn] !== idle) return pfn;
    }
  }
  return -1;
}

/**
 * `memunmap_pages(pgmap)` (`mm/memremap.c`): kill the pgmap's `ref` (drop the base reference; from now
 * on `get_dev_pagemap` and `zone_device_page_init` fail), drop the up-front per-folio references of
 * the types that took them, and wait until `ref` reaches 0; then tear the ranges down
 * (`pageunmap_range`: the struct pages go away, the ZONE_DEVICE span shrinks, the pgmap leaves
 * `pgmap_array` and the owner-ops table).
 *
 * The model cannot sleep, so the wait is a pending handle: the returned {@link Completion} (the
 * pgmap's `done`) is already done if nothing else held a reference, and otherwise completes — after the
 * teardown — when the last reference is dropped (the last driver-allocated PRIVATE/COHERENT page freed,
 * the last P2PDMA pool allocation returned, the last `get_dev_pagemap` caller's `put_dev_pagemap`).
 *
 * Rejected with `MmError`, nothing changed: a pgmap not mapped on this machine, or already dying
 * (EINVAL, the kernel's double `percpu_ref_kill` WARN); a GENERIC or FS_DAX page still referenced
 * (EBUSY: those page references do not pin the pgmap, and the kernel relies on device-dax unmapping
 * every mapping and the filesystem breaking every DAX layout first — the model does not wait for them).
 */
export function memunmap_pages(m: Machine, pgmap: DevPagemap): Completion {
  if (pgmap.machine !== m || pgmap.dying) {
    throw new MmError(EINVAL, `memunmap_pages: pgmap is ${pgmap.machine !== m ? 'not mapped on this machine' : 'already dying'}`, {
      pfn: pgmap.ranges[0]?.start,
      rule: 'memunmap_pages once per successful memremap_pages',
    });
  }
  if (pgmap.type === MEMORY_DEVICE_GENERIC || pgmap.type === MEMORY_DEVICE_FS_DAX) {
    const busy = busyPage(m, pgmap);
    if (busy >= 0) {
      throw new MmError(EBUSY, `memunmap_pages: page still referenced (refcount ${m.memmap.refcount[busy]})`, {
        pfn: busy,
        rule: 'device-dax/fs-dax pages are unmapped (layouts broken) before memunmap_pages',
      });
    }
  }
  pgmap.dying = true; // percpu_ref_kill
  let drop = 1;
  if (!pgmapRefsPerAllocation(pgmap.type)) for (const r of pgmap.ranges) drop += pfn_len(pgmap, r);
  percpu_ref_put_many(m, pgmap, drop);
  return pgmap.done;
}

/**
 * `percpu_ref_put_many(&pgmap->ref, n)`: drop `n` references; at 0 (only possible once killed) the
 * release callback runs. Dropping more than are held is the kernel's percpu_ref underflow WARN:
 * `MmError(EINVAL)`, nothing changed.
 */
export function percpu_ref_put_many(m: Machine, pgmap: DevPagemap, n: number): void {
  if (!(pgmap.machine === m && n > 0 && n <= pgmap.ref)) {
    throw new MmError(EINVAL, `put of ${n} pgmap reference(s) with ${pgmap.ref} held`, {
      pfn: pgmap.ranges[0]?.start,
      rule: '§13 §5.2 pgmap references balance (percpu_ref underflow)',
    });
  }
  pgmap.ref -= n;
  if (pgmap.ref === 0) dev_pagemap_percpu_release(m, pgmap);
}

/**
 * `dev_pagemap_percpu_release(ref)` and the rest of `memunmap_pages` after `wait_for_completion`: the
 * last reference is gone, so tear every range down (`pageunmap_range`), forget the pgmap, and complete
 * `done`.
 */
function dev_pagemap_percpu_release(m: Machine, pgmap: DevPagemap): void {
  const st = zoneDeviceState(m);
  m.withChecksDeferred('memunmap_pages', () => {
    for (const r of pgmap.ranges) pageunmap_range(m, r);
    st.pgmaps.splice(st.pgmaps.indexOf(pgmap), 1);
    m.ownerOps.uninstall(pgmap);
    st.resizeZone(pgmap.nid);
    pgmap.machine = null;
    pgmap.dying = false;
    pgmap.id = 0;
    pgmap.waiters.clear();
  });
  pgmap.done.complete();
}

/**
 * `pageunmap_range(pgmap, range_id)` (`mm/memremap.c`): `remove_pfn_range_from_zone` and
 * `__remove_pages` / `arch_remove_memory` — the range's struct pages go away (the model's memmap
 * cannot shrink, so they become holes again: no zone, every word cleared).
 */
export function pageunmap_range(m: Machine, r: PfnRange): void {
  const mm = m.memmap;
  const s = r.start;
  const e = r.start + r.nrPages;
  mm.flags.fill(NO_ZONE_FLAGS, s, e);
  mm.lru.fill(0, s, e);
  mm.lruPrev.fill(0, s, e);
  mm.mapping.fill(0, s, e);
  mm.index.fill(0, s, e);
  mm.private.fill(0, s, e);
  mm.mapcount.fill(-1, s, e);
  mm.refcount.fill(0, s, e);
  mm.memcgData.fill(0, s, e);
  mm.pageblock.fill(0, s >>> 9, e >>> 9);
}
