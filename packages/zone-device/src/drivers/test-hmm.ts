import {
  EINVAL,
  ENOMEM,
  GFP_HIGHUSER,
  GFP_HIGHUSER_MOVABLE,
  MmError,
  PAGE_SIZE,
  __free_page,
  alloc_page,
  folio_lock,
  is_zone_device_page,
  id_ptr,
  pfn_ptr,
  ptr_id,
  ptr_pfn,
  type Folio,
  type Machine,
  type Pfn,
} from '@mm/core';
import { DevPagemap, type DevPagemapOps } from '../memremap/dev-pagemap.js';
import { MEMORY_DEVICE_COHERENT, MEMORY_DEVICE_PRIVATE } from '../memremap/memory-type.js';
import { memremap_pages, memunmap_pages } from '../memremap/memremap-pages.js';
import { page_get_pgmap } from '../memremap/page-pgmap.js';
import { is_device_private_page } from '../memremap/predicates.js';
import { release_mem_region, request_free_mem_region } from '../memremap/request-free-mem-region.js';
import { zone_device_page_init } from '../memremap/zone-device-page-init.js';
import { VM_FAULT_SIGBUS, VM_READ, VM_WRITE, vma_lookup, type MmStruct, type VmFault } from '../mm/mm-struct.js';
import { migrate_device_finalize, migrate_device_pages, migrate_device_range, migrate_vma_finalize, migrate_vma_pages, migrate_vma_setup } from '../migrate/migrate-device.js';
import {
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_VALID,
  MIGRATE_PFN_WRITE,
  MIGRATE_VMA_SELECT_DEVICE_COHERENT,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  MIGRATE_VMA_SELECT_SYSTEM,
  migrateVmaArgs,
  migrate_pfn,
  migrate_pfn_to_page,
  type MigrateVma,
} from '../migrate/migrate-vma.js';

/**
 * A reference driver modelled on the kernel's HMM test driver (`lib/test_hmm.c`, "dmirror"): a
 * device with MEMORY_DEVICE_PRIVATE (or COHERENT) memory in chunks mapped with `memremap_pages`, free
 * device pages on a list linked through `zone_device_data` (the page's second union word), allocation
 * with `zone_device_page_init`, `page_free` putting pages back on the list, migration of a process's
 * anonymous memory to the device and back with `migrate_vma_*`, `migrate_to_ram` on a CPU fault, and
 * chunk eviction with `migrate_device_range` before `memunmap_pages`.
 *
 * As in test_hmm, device-private memory is simulated: each allocated device page is backed by a system
 * page (`zone_device_data` of the device page points at it, and the backing page's `zone_device_data`
 * at the mirror). Data is not modelled. The device page table (`Dmirror.pt`) records the device PFN
 * where test_hmm records the backing page.
 *
 * @module
 */

/** `DEVMEM_CHUNK_SIZE` in test_hmm: 256 MiB, in pages. Tests pass a smaller `chunkPages`. */
export const DEVMEM_CHUNK_PAGES = (256 << 20) / PAGE_SIZE;

/** `struct dmirror_chunk`: one `memremap_pages` range of device memory. */
export class DmirrorChunk {
  /** `pagemap`. */
  readonly pagemap: DevPagemap;
  /** `remove`: the chunk is being torn down; freed pages do not go back on the free list. */
  remove = false;

  /** A chunk around `pagemap`. */
  constructor(pagemap: DevPagemap) {
    this.pagemap = pagemap;
  }
}

/** `struct dmirror_device`: the device, its chunks and its free-page list. */
export class DmirrorDevice {
  /** The machine. */
  readonly m: Machine;
  /** `zone_device_type`: MEMORY_DEVICE_PRIVATE or MEMORY_DEVICE_COHERENT. */
  readonly zone_device_type: typeof MEMORY_DEVICE_PRIVATE | typeof MEMORY_DEVICE_COHERENT;
  /** Pages per chunk. */
  readonly chunkPages: number;
  /** `devmem_chunks[]`. */
  readonly devmem_chunks: DmirrorChunk[] = [];
  /** `free_pages`: head of the free list (a PFN), or -1 for NULL. */
  free_pages = -1;
  /** `calloc`: device pages allocated. */
  calloc = 0;
  /** `cfree`: device pages freed back to the list. */
  cfree = 0;
  /** The mirrors (open files), by id − 1. */
  readonly mirrors: Dmirror[] = [];
  /** `dmirror_devmem_ops`. */
  readonly ops: DevPagemapOps;

  /** A device with no memory yet; see {@link dmirror_device_init}. */
  constructor(m: Machine, type: typeof MEMORY_DEVICE_PRIVATE | typeof MEMORY_DEVICE_COHERENT, chunkPages: number) {
    this.m = m;
    this.zone_device_type = type;
    this.chunkPages = chunkPages;
    this.ops = {
      page_free: (page: Pfn) => dmirror_devmem_free(this, page),
      migrate_to_ram: (vmf: VmFault) => dmirror_devmem_fault(this, vmf),
    };
  }

  /** The chunk whose pgmap maps `page` (`dmirror_page_to_chunk`). */
  chunkOf(page: Pfn): DmirrorChunk | undefined {
    const pgmap = page_get_pgmap(this.m, page);
    return this.devmem_chunks.find((c) => c.pagemap === pgmap);
  }

  /** The PFNs on the free list, head first. */
  freeList(): number[] {
    const out: number[] = [];
    for (let p = this.free_pages; p >= 0; p = nextFree(this.m, p)) out.push(p);
    return out;
  }
}

/** `struct dmirror`: one process mirrored by the device (an open file of the character device). */
export class Dmirror {
  /** `mdevice`. */
  readonly mdevice: DmirrorDevice;
  /** `notifier.mm`: the mirrored process. */
  readonly mm: MmStruct;
  /** `pt`: the device page table, page index → device PFN (`write` when mapped writable). */
  readonly pt = new Map<
    number,
    {
      /** The device PFN mapped at this page index. */
      pfn: number;
      /** The entry is mapped writable. */
      write: boolean;
    }
  >();
  /** The mirror's id (what a backing page's `zone_device_data` points at). */
  readonly id: number;

  /** Open the device for `mm` (`dmirror_fops_open`). */
  constructor(mdevice: DmirrorDevice, mm: MmStruct) {
    this.mdevice = mdevice;
    this.mm = mm;
    mdevice.mirrors.push(this);
    this.id = mdevice.mirrors.length;
  }
}

function nextFree(m: Machine, page: number): number {
  const w = m.memmap.lruPrev[page]!;
  return w === 0 ? -1 : ptr_pfn(w);
}

function setZoneDeviceData(m: Machine, page: number, pfn: number): void {
  m.memmap.lruPrev[page] = pfn < 0 ? 0 : pfn_ptr(pfn);
}

/** `BACKING_PAGE(page)`: the system page backing a device-private page, or the page itself (coherent). */
function BACKING_PAGE(m: Machine, page: Pfn): Pfn {
  return is_device_private_page(m, page) ? (ptr_pfn(m.memmap.lruPrev[page]!) as Pfn) : page;
}

/** The migrate flags matching the device's memory (`dmirror_select_device`). */
function dmirror_select_device(mdevice: DmirrorDevice): number {
  return mdevice.zone_device_type === MEMORY_DEVICE_PRIVATE ? MIGRATE_VMA_SELECT_DEVICE_PRIVATE : MIGRATE_VMA_SELECT_DEVICE_COHERENT;
}

/**
 * `dmirror_device_init(mdevice, id)` (`lib/test_hmm.c`): create a device of the given type (default
 * PRIVATE) with `chunkPages` pages per chunk (default `DEVMEM_CHUNK_PAGES`) and map its first chunk.
 */
export function dmirror_device_init(m: Machine, type: typeof MEMORY_DEVICE_PRIVATE | typeof MEMORY_DEVICE_COHERENT = MEMORY_DEVICE_PRIVATE, chunkPages = DEVMEM_CHUNK_PAGES): DmirrorDevice {
  const d = new DmirrorDevice(m, type, chunkPages);
  const ret = dmirror_allocate_chunk(d, false);
  if (ret < 0) throw new MmError(-ret, 'dmirror_device_init: no device memory', { rule: 'the first chunk maps' });
  return d;
}

/**
 * `dmirror_allocate_chunk(mdevice, ppage)` (`lib/test_hmm.c`): claim a free physical range, map it
 * with `memremap_pages` (type, `dmirror_devmem_ops`, owner = the device, current node) and push every
 * page on the free list; with `takeOne`, pop one page for the caller. Returns the popped PFN (or 0
 * without `takeOne`), or -ENOMEM.
 */
export function dmirror_allocate_chunk(d: DmirrorDevice, takeOne: boolean): number {
  const m = d.m;
  const range = request_free_mem_region(m, d.chunkPages);
  if (range === null) return -ENOMEM;
  const pagemap = new DevPagemap({ type: d.zone_device_type, ranges: [range], ops: d.ops, owner: d });
  memremap_pages(m, pagemap, m.numa_node_id());
  d.devmem_chunks.push(new DmirrorChunk(pagemap));
  for (let pfn = range.start; pfn < range.start + range.nrPages; pfn++) {
    setZoneDeviceData(m, pfn, d.free_pages);
    d.free_pages = pfn;
  }
  if (!takeOne) return 0;
  const page = d.free_pages;
  d.free_pages = nextFree(m, page);
  d.calloc++;
  return page;
}

/**
 * `dmirror_devmem_alloc_page(mdevice)` (`lib/test_hmm.c`): for PRIVATE memory allocate the backing
 * system page (`GFP_HIGHUSER`), take a device page from the free list (or a new chunk),
 * `zone_device_page_init` it (refcount 1, locked, one pgmap reference) and point its
 * `zone_device_data` at the backing page. Returns the device PFN, or -1.
 */
export function dmirror_devmem_alloc_page(d: DmirrorDevice): Pfn | -1 {
  const m = d.m;
  let rpage: number = -1;
  if (d.zone_device_type === MEMORY_DEVICE_PRIVATE) {
    rpage = alloc_page(m, GFP_HIGHUSER);
    if (rpage < 0) return -1;
  }
  let dpage = d.free_pages;
  if (dpage >= 0) {
    d.free_pages = nextFree(m, dpage);
    d.calloc++;
  } else {
    dpage = dmirror_allocate_chunk(d, true);
    if (dpage < 0) {
      if (rpage >= 0) __free_page(m, rpage as Pfn);
      return -1;
    }
  }
  zone_device_page_init(m, dpage as Pfn);
  setZoneDeviceData(m, dpage, rpage);
  return dpage as Pfn;
}

/**
 * `dmirror_devmem_free(page)` (`lib/test_hmm.c`): the `page_free` op — free the backing page (PRIVATE)
 * and, unless the page's chunk is being removed, push the page back on the free list (`cfree++`).
 */
export function dmirror_devmem_free(d: DmirrorDevice, page: Pfn): void {
  const m = d.m;
  const rpage = BACKING_PAGE(m, page);
  if (rpage !== page) __free_page(m, rpage);
  if (d.chunkOf(page)?.remove === false) {
    d.cfree++;
    setZoneDeviceData(m, page, d.free_pages);
    d.free_pages = page;
  }
}

/** `dmirror_migrate_alloc_and_copy(args, dmirror)`: a device page for every collected entry. */
function dmirror_migrate_alloc_and_copy(args: MigrateVma, dmirror: Dmirror): void {
  const d = dmirror.mdevice;
  const m = d.m;
  for (let i = 0; i < args.npages; i++) {
    const src = args.src[i]!;
    if ((src & MIGRATE_PFN_MIGRATE) === 0) continue;
    const spage = migrate_pfn_to_page(src);
    if (spage !== -1 && is_zone_device_page(m, spage)) continue; // "page already in device"
    const dpage = dmirror_devmem_alloc_page(d);
    if (dpage === -1) continue;
    const rpage = BACKING_PAGE(m, dpage);
    m.memmap.lruPrev[rpage] = id_ptr(dmirror.id); // rpage->zone_device_data = dmirror
    let dst = migrate_pfn(dpage);
    if ((src & MIGRATE_PFN_WRITE) !== 0 || (spage === -1 && (args.vma!.vm_flags & VM_WRITE) !== 0)) dst |= MIGRATE_PFN_WRITE;
    args.dst[i] = dst;
  }
}

/** `dmirror_migrate_finalize_and_map(args, dmirror)`: record the migrated pages in the device page table. */
function dmirror_migrate_finalize_and_map(args: MigrateVma, dmirror: Dmirror): void {
  for (let i = 0; i < args.npages; i++) {
    if ((args.src[i]! & MIGRATE_PFN_MIGRATE) === 0) continue;
    const dpage = migrate_pfn_to_page(args.dst[i]!);
    if (dpage < 0) continue;
    dmirror.pt.set(args.start / PAGE_SIZE + i, { pfn: dpage, write: (args.dst[i]! & MIGRATE_PFN_WRITE) !== 0 });
  }
}

/** Result of a dmirror migration command (`struct hmm_dmirror_cmd`). */
export interface DmirrorCmdResult {
  /** 0 or a negative errno. */
  readonly ret: number;
  /** `cpages`: pages that ended up where they were asked to go. */
  readonly cpages: number;
}

/**
 * `dmirror_migrate_to_device(dmirror, cmd)` (`lib/test_hmm.c`, `HMM_DMIRROR_MIGRATE_TO_DEV`): move
 * `npages` pages of the process at `addr` into device memory, 64 at a time: `migrate_vma_setup`
 * (SELECT_SYSTEM), allocate and "copy", `migrate_vma_pages`, map them in the device page table,
 * `migrate_vma_finalize`. `cpages` counts the range's pages now in this device's memory. -EINVAL for a
 * range outside a readable VMA.
 */
export function dmirror_migrate_to_device(dmirror: Dmirror, addr: number, npages: number): DmirrorCmdResult {
  return dmirror.mdevice.m.withChecksDeferred('dmirror_migrate_to_device', () => {
    const m = dmirror.mdevice.m;
    const end = addr + npages * PAGE_SIZE;
    if (addr % PAGE_SIZE !== 0 || end <= addr) return { ret: -EINVAL, cpages: 0 };
    for (let a = addr; a < end; ) {
      const vma = vma_lookup(dmirror.mm, a);
      if (!vma || (vma.vm_flags & VM_READ) === 0) return { ret: -EINVAL, cpages: 0 };
      const next = Math.min(end, a + 64 * PAGE_SIZE, vma.vm_end);
      const args = migrateVmaArgs({ vma, start: a, end: next, pgmap_owner: dmirror.mdevice, flags: MIGRATE_VMA_SELECT_SYSTEM });
      const ret = migrate_vma_setup(m, args);
      if (ret) return { ret, cpages: 0 };
      dmirror_migrate_alloc_and_copy(args, dmirror);
      migrate_vma_pages(m, args);
      dmirror_migrate_finalize_and_map(args, dmirror);
      migrate_vma_finalize(m, args);
      a = next;
    }
    let cpages = 0;
    for (let a = addr; a < end; a += PAGE_SIZE) {
      const pte = vma_lookup(dmirror.mm, a)!.pteAt(a);
      if (pte.pfn >= 0 && is_zone_device_page(m, pte.pfn as Pfn) && page_get_pgmap(m, pte.pfn as Pfn).owner === dmirror.mdevice) cpages++;
    }
    return { ret: 0, cpages };
  });
}

/**
 * `dmirror_devmem_fault_alloc_and_copy(args, dmirror)` (`lib/test_hmm.c`): a system page for every
 * collected device page (`alloc_page_vma(GFP_HIGHUSER_MOVABLE)`, locked), dropping its device
 * page-table entry.
 */
function dmirror_devmem_fault_alloc_and_copy(args: MigrateVma, dmirror: Dmirror): number {
  const m = dmirror.mdevice.m;
  for (let i = 0; i < args.npages; i++) {
    const src = args.src[i]!;
    const spage = migrate_pfn_to_page(src);
    if (spage === -1 || (src & MIGRATE_PFN_MIGRATE) === 0) continue;
    const dpage = alloc_page(m, GFP_HIGHUSER_MOVABLE);
    if (dpage < 0) continue;
    folio_lock(m, dpage as Folio);
    dmirror.pt.delete(args.start / PAGE_SIZE + i);
    args.dst[i] = migrate_pfn(dpage) | (src & MIGRATE_PFN_WRITE);
  }
  return 0;
}

/** Entries that were valid and migrated (`dmirror_successful_migrated_pages`). */
function dmirror_successful_migrated_pages(args: MigrateVma): number {
  let n = 0;
  for (let i = 0; i < args.npages; i++) {
    if ((args.src[i]! & MIGRATE_PFN_VALID) !== 0 && (args.src[i]! & MIGRATE_PFN_MIGRATE) !== 0) n++;
  }
  return n;
}

/**
 * `dmirror_migrate_to_system(dmirror, cmd)` (`lib/test_hmm.c`, `HMM_DMIRROR_MIGRATE_TO_SYS`): bring
 * `npages` pages at `addr` back from this device's memory, 64 at a time. `cpages` counts the pages
 * migrated.
 */
export function dmirror_migrate_to_system(dmirror: Dmirror, addr: number, npages: number): DmirrorCmdResult {
  return dmirror.mdevice.m.withChecksDeferred('dmirror_migrate_to_system', () => {
    const m = dmirror.mdevice.m;
    const end = addr + npages * PAGE_SIZE;
    if (addr % PAGE_SIZE !== 0 || end <= addr) return { ret: -EINVAL, cpages: 0 };
    let cpages = 0;
    for (let a = addr; a < end; ) {
      const vma = vma_lookup(dmirror.mm, a);
      if (!vma || (vma.vm_flags & VM_READ) === 0) return { ret: -EINVAL, cpages };
      const next = Math.min(end, a + 64 * PAGE_SIZE, vma.vm_end);
      const args = migrateVmaArgs({ vma, start: a, end: next, pgmap_owner: dmirror.mdevice, flags: dmirror_select_device(dmirror.mdevice) });
      const ret = migrate_vma_setup(m, args);
      if (ret) return { ret, cpages };
      dmirror_devmem_fault_alloc_and_copy(args, dmirror);
      migrate_vma_pages(m, args);
      cpages += dmirror_successful_migrated_pages(args);
      migrate_vma_finalize(m, args);
      a = next;
    }
    return { ret: 0, cpages };
  });
}

/**
 * `dmirror_devmem_fault(vmf)` (`lib/test_hmm.c`): the `migrate_to_ram` op — find the mirror through
 * the backing page, migrate the one faulting page back with `fault_page` set (the page is locked and
 * referenced by `do_swap_page`), and return 0, or `VM_FAULT_SIGBUS` if `migrate_vma_setup` fails.
 */
export function dmirror_devmem_fault(d: DmirrorDevice, vmf: VmFault): number {
  const m = d.m;
  const rpage = BACKING_PAGE(m, vmf.page);
  const dmirror = d.mirrors[ptr_id(m.memmap.lruPrev[rpage]!) - 1];
  if (dmirror === undefined) return VM_FAULT_SIGBUS;
  const args = migrateVmaArgs({
    vma: vmf.vma,
    start: vmf.address,
    end: vmf.address + PAGE_SIZE,
    pgmap_owner: d,
    flags: dmirror_select_device(d),
    fault_page: vmf.page,
  });
  if (migrate_vma_setup(m, args)) return VM_FAULT_SIGBUS;
  const ret = dmirror_devmem_fault_alloc_and_copy(args, dmirror);
  if (ret) return ret;
  migrate_vma_pages(m, args);
  migrate_vma_finalize(m, args);
  return 0;
}

/**
 * `dmirror_device_evict_chunk(chunk)` (`lib/test_hmm.c`): migrate every allocated page of the chunk
 * back to system memory (`migrate_device_range`, a new locked system page each,
 * `migrate_device_pages`, `migrate_device_finalize`), wherever it is mapped.
 */
export function dmirror_device_evict_chunk(d: DmirrorDevice, chunk: DmirrorChunk): void {
  const m = d.m;
  const r = chunk.pagemap.ranges[0]!;
  const src = new Array<number>(r.nrPages).fill(0);
  const dst = new Array<number>(r.nrPages).fill(0);
  migrate_device_range(m, src, r.start, r.nrPages);
  for (let i = 0; i < r.nrPages; i++) {
    const spage = migrate_pfn_to_page(src[i]!);
    if (spage === -1 || (src[i]! & MIGRATE_PFN_MIGRATE) === 0) continue;
    const dpage = alloc_page(m, GFP_HIGHUSER_MOVABLE); // __GFP_NOFAIL in the kernel
    if (dpage < 0) continue;
    folio_lock(m, dpage as Folio);
    dst[i] = migrate_pfn(dpage) | (src[i]! & MIGRATE_PFN_WRITE);
  }
  migrate_device_pages(m, src, dst, r.nrPages);
  migrate_device_finalize(m, src, dst, r.nrPages);
}

/**
 * `dmirror_device_remove_chunks(mdevice)` (`lib/test_hmm.c`, `HMM_DMIRROR_RELEASE`): for every chunk,
 * mark it removed, take its free pages off the free list, evict its allocated pages, and
 * `memunmap_pages` it; once an unmap completes, the chunk leaves the device and its physical range is
 * released. Returns whether every unmap completed at once (it does unless some page could not be
 * evicted, e.g. for lack of system memory; such a chunk goes when its last page is freed).
 */
export function dmirror_device_remove_chunks(d: DmirrorDevice): boolean {
  return d.m.withChecksDeferred('dmirror_device_remove_chunks', () => {
    const m = d.m;
    let all = true;
    for (const chunk of [...d.devmem_chunks]) {
      chunk.remove = true;
      const keep = d.freeList().filter((p) => !chunk.pagemap.contains(p));
      d.free_pages = -1;
      for (let i = keep.length - 1; i >= 0; i--) {
        setZoneDeviceData(m, keep[i]!, d.free_pages);
        d.free_pages = keep[i]!;
      }
      dmirror_device_evict_chunk(d, chunk);
      const r = chunk.pagemap.ranges[0]!;
      const done = memunmap_pages(m, chunk.pagemap);
      done.whenDone(() => {
        d.devmem_chunks.splice(d.devmem_chunks.indexOf(chunk), 1);
        release_mem_region(m, r);
      });
      all &&= done.done;
    }
    return all;
  });
}
