import type { AddressSpace, AnonVma, Folio } from '@mm/core';
import type { HugetlbCgroup } from '../cgroup/hugetlb-cgroup.js';
import type { Hstate } from '../hstate.js';
import type { ResvMap } from '../resv/resv-map.js';
import type { HugepageSubpool } from '../resv/subpool.js';

/**
 * The minimal VFS/VM objects hugetlbfs needs to make reservations real: a mount, its files, processes
 * and their hugetlb VMAs with page tables. Addresses are byte addresses; one page-table entry per huge
 * page. PMD sharing, mprotect, mremap, VMA splitting and userfaultfd are not modelled.
 *
 * @module
 */

/** `VM_READ`. */
export const VM_READ = 0x1;
/** `VM_WRITE`. */
export const VM_WRITE = 0x2;
/** `VM_SHARED`. */
export const VM_SHARED = 0x8;
/** `VM_MAYWRITE`. */
export const VM_MAYWRITE = 0x20;
/** `VM_MAYSHARE`. */
export const VM_MAYSHARE = 0x80;
/** `VM_NORESERVE`: no reservation at mmap (MAP_NORESERVE on hugetlbfs). */
export const VM_NORESERVE = 0x00200000;
/** `VM_HUGETLB`. */
export const VM_HUGETLB = 0x00400000;

/** `HPAGE_RESV_OWNER`: this private VMA created the mapping and owns its reservations. */
export const HPAGE_RESV_OWNER = 1;
/** `HPAGE_RESV_UNMAPPED`: a page was unmapped from this VMA after a failed CoW by the owner. */
export const HPAGE_RESV_UNMAPPED = 2;

/** `vm_fault_t` bits (`include/linux/mm_types.h`). */
export const VM_FAULT = {
  /** Out of memory. */
  OOM: 0x000001,
  /** Bad access: the task gets SIGBUS. */
  SIGBUS: 0x000002,
  /** Segmentation fault. */
  SIGSEGV: 0x000040,
} as const;

/** `struct hugetlbfs_sb_info`: one hugetlbfs mount. */
export class HugetlbfsSbInfo {
  /** Mount id. */
  readonly id: number;
  /** `hstate`: the mount's page size (`pagesize=`). */
  readonly hstate: Hstate;
  /** `spool`: the subpool for `size=`/`min_size=`, or null. */
  readonly spool: HugepageSubpool | null;
  /** Files of this mount that are not yet evicted. */
  readonly inodes = new Set<HugetlbfsInode>();
  /** False after unmount. */
  mounted = true;

  /** Build a mount; use `hugetlbfs_mount`. */
  constructor(id: number, h: Hstate, spool: HugepageSubpool | null) {
    this.id = id;
    this.hstate = h;
    this.spool = spool;
  }
}

/** A hugetlbfs regular file: `struct inode` with its `address_space` and `resv_map`. */
export class HugetlbfsInode {
  /** `i_ino`. */
  readonly ino: number;
  /** Its mount. */
  readonly sb: HugetlbfsSbInfo;
  /** File name (for humans). */
  readonly name: string;
  /** `i_mapping->private_data`: the inode's reservation map (shared mappings). */
  readonly resv_map: ResvMap;
  /** `i_mapping`: the core `address_space` (registered in the machine's mapping table) whose id is stored (× 4) in `folio->mapping` of its page-cache folios; its `a_ops.migrate_folio` is `hugetlbfs_migrate_folio`. */
  readonly i_mapping: AddressSpace;
  /** `i_size` in bytes. */
  i_size = 0;
  /** `i_blocks` in 512-byte units. */
  i_blocks = 0;
  /** The page cache: huge-page index → folio (the kernel's multi-index xarray entries; `i_mapping.i_pages` is not used). */
  readonly pageCache = new Map<number, Folio>();
  /** `i_mmap`: every VMA mapping this file, shared or private. */
  readonly i_mmap = new Set<VmAreaStruct>();
  /** False once unlinked; the inode is evicted when it is also unmapped. */
  linked = true;
  /** True once evicted. */
  evicted = false;

  /** Build an inode; use `hugetlbfs_create`. */
  constructor(ino: number, sb: HugetlbfsSbInfo, name: string, resv: ResvMap, mapping: AddressSpace) {
    this.ino = ino;
    this.sb = sb;
    this.name = name;
    this.resv_map = resv;
    this.i_mapping = mapping;
  }
}

/** A process as far as hugetlb cares: `struct mm_struct` plus the task's hugetlb cgroup. */
export class MmStruct {
  /** Id (a pid, for humans). */
  readonly id: number;
  /** The task's hugetlb cgroup (`hugetlb_cgroup_from_task(current)`). */
  cgroup: HugetlbCgroup;
  /** Its hugetlb VMAs. */
  readonly vmas = new Set<VmAreaStruct>();
  /** `hugetlb_usage` in base pages (`HugetlbPages` in /proc/PID/status). */
  hugetlb_usage = 0;
  /** The process's own `anon_vma` (core mapping table): `folio->mapping` of the private folios it faults. */
  readonly anon_vma: AnonVma;
  /** anon_vmas of ancestors whose folios it may still map after `fork` (one reference each, dropped at exit). */
  readonly inheritedAnonVmas: AnonVma[] = [];
  /** Next free virtual address for `mmap`. */
  nextAddr = 2 ** 40;
  /** False after exit. */
  alive = true;

  /** Build a process; use `hugetlbNewMm`. */
  constructor(id: number, cgroup: HugetlbCgroup, anonVma: AnonVma) {
    this.id = id;
    this.cgroup = cgroup;
    this.anon_vma = anonVma;
  }
}

/** A hugetlb `struct vm_area_struct` with its page-table entries. */
export class VmAreaStruct {
  /** Owner process. */
  readonly mm: MmStruct;
  /** `vm_file`. */
  readonly file: HugetlbfsInode;
  /** `vm_start` (bytes). */
  readonly vm_start: number;
  /** `vm_end` (bytes). */
  readonly vm_end: number;
  /** `vm_pgoff` in base pages. */
  readonly vm_pgoff: number;
  /** `vm_flags`. */
  readonly vm_flags: number;
  /** Private mapping: its own reserve map (`vm_private_data`), null for shared or non-owner VMAs. */
  resv_map: ResvMap | null = null;
  /** `HPAGE_RESV_*` bits of `vm_private_data`. */
  resv_flags = 0;
  /** One entry per huge page: the mapped folio, or -1. */
  readonly ptes: Int32Array;
  /** Whether each entry is writable. */
  readonly pteWrite: Uint8Array;
  /** False once unmapped. */
  live = true;

  /** Build a VMA; use `hugetlbfs_file_mmap`. */
  constructor(mm: MmStruct, file: HugetlbfsInode, start: number, end: number, pgoff: number, flags: number, nrHugePages: number) {
    this.mm = mm;
    this.file = file;
    this.vm_start = start;
    this.vm_end = end;
    this.vm_pgoff = pgoff;
    this.vm_flags = flags;
    this.ptes = new Int32Array(nrHugePages).fill(-1);
    this.pteWrite = new Uint8Array(nrHugePages);
  }
}
