import { EINVAL, ENOMEM, anon_vma_alloc, folio_anon_vma, folio_get, folio_test_anon, get_anon_vma, hugetlb_add_file_rmap, put_anon_vma, type Folio, type Machine } from '@mm/core';
import type { HugetlbCgroup } from '../cgroup/hugetlb-cgroup.js';
import { huge_page_shift, huge_page_size, pages_per_huge_page } from '../hstate.js';
import { hugetlb_reserve_pages } from '../resv/reserve.js';
import { hugetlbOf } from '../state.js';
import { hugetlbfs_evict_inode } from './hugetlbfs.js';
import { hugetlb_try_dup_anon_rmap, hugetlbUnmapVma } from './rmap.js';
import { deferred } from '../internal/deferred.js';
import { MmStruct, VM_HUGETLB, VM_MAYSHARE, VM_MAYWRITE, VM_NORESERVE, VM_READ, VM_SHARED, VM_WRITE, VmAreaStruct, type HugetlbfsInode } from './types.js';

/**
 * Processes and their hugetlb mappings: `mmap` of a hugetlbfs file (`hugetlbfs_file_mmap`), `munmap`,
 * `fork` (`copy_hugetlb_page_range`) and exit.
 *
 * @module
 */

/** A new process in `cgroup` (default the root hugetlb cgroup). */
export function hugetlbNewMm(m: Machine, cgroup?: HugetlbCgroup): MmStruct {
  const pool = hugetlbOf(m);
  const cg = cgroup ?? pool.root_h_cgroup;
  const mm = new MmStruct(pool.nextMmId++, cg, anon_vma_alloc(m));
  cg.nr_tasks++;
  pool.mms.push(mm);
  return mm;
}

/** Move a process to another hugetlb cgroup (`cgroup.procs` write). Charges already made stay where they are. */
export function hugetlbAttachMm(mm: MmStruct, cgroup: HugetlbCgroup): void {
  mm.cgroup.nr_tasks--;
  mm.cgroup = cgroup;
  cgroup.nr_tasks++;
}

/** `mmap` options of {@link hugetlbfs_file_mmap}. */
export interface HugetlbMmapOptions {
  /** Length in bytes, a multiple of the huge page size. */
  readonly length: number;
  /** File offset in bytes, a multiple of the huge page size. Default 0. */
  readonly offset?: number;
  /** `MAP_SHARED` (true) or `MAP_PRIVATE` (false). */
  readonly shared: boolean;
  /** `MAP_NORESERVE`: no reservation is taken (hugetlb honours it whatever the overcommit policy). */
  readonly noreserve?: boolean;
  /** `PROT_WRITE`. Default true. */
  readonly write?: boolean;
}

/**
 * `mmap` of a hugetlbfs file → `hugetlbfs_file_mmap(file, vma)`: `-EINVAL` unless length and offset
 * are huge-page aligned (`hugetlb_get_unmapped_area` / the `vm_pgoff` check); `-ENOMEM` if
 * `hugetlb_reserve_pages` fails (subpool size, cgroup `rsvd.max`, or not enough free + overcommittable
 * huge pages). A writable mapping extends `i_size` to its end. Returns the new VMA.
 */
export function hugetlbfs_file_mmap(m: Machine, mm: MmStruct, inode: HugetlbfsInode, opts: HugetlbMmapOptions): VmAreaStruct | number {
  const h = inode.sb.hstate;
  const size = huge_page_size(h);
  const offset = opts.offset ?? 0;
  const len = opts.length;
  if (!(Number.isInteger(len) && len > 0 && len % size === 0) || !(Number.isInteger(offset) && offset >= 0 && offset % size === 0)) return -EINVAL;
  if (inode.evicted || !mm.alive) return -EINVAL;
  const flags = vmFlags(opts);
  return deferred(m, 'hugetlbfs_file_mmap', () => {
    const start = Math.ceil(mm.nextAddr / size) * size;
    const vma = new VmAreaStruct(mm, inode, start, start + len, offset / 4096, flags, len / size);
    const shift = huge_page_shift(h);
    if (!hugetlb_reserve_pages(m, inode, offset / 2 ** shift, (offset + len) / 2 ** shift, vma, flags, mm.cgroup)) return -ENOMEM;
    mm.nextAddr = start + len + size;
    if (flags & VM_WRITE && inode.i_size < offset + len) inode.i_size = offset + len;
    mm.vmas.add(vma);
    inode.i_mmap.add(vma);
    return vma;
  });
}

/**
 * `munmap` of a whole hugetlb VMA: zap its entries (each mapped folio loses a reference; private folios
 * are freed), then `hugetlb_vm_op_close` returns a private owner's unconsumed reservations. `-EINVAL`
 * if the VMA is already gone.
 */
export function do_munmap(m: Machine, vma: VmAreaStruct): number {
  if (!vma.live) return -EINVAL;
  return deferred(m, 'do_munmap', () => {
    hugetlbUnmapVma(m, vma, (inode) => hugetlbfs_evict_inode(m, inode));
    return 0;
  });
}

/**
 * `fork` for one hugetlb VMA: `vm_area_dup` + `hugetlb_dup_vma_private` (a private mapping's reserve map
 * is not inherited: the child's faults are not guaranteed) + `copy_hugetlb_page_range`: every mapped
 * folio gains a mapping and a reference; private (CoW) mappings are write-protected in both processes
 * and their anon folios lose AnonExclusive. Returns the child's VMA.
 */
export function copy_hugetlb_page_range(m: Machine, dst: MmStruct, srcVma: VmAreaStruct): VmAreaStruct {
  const h = srcVma.file.sb.hstate;
  return deferred(m, 'copy_hugetlb_page_range', () => {
    const vma = new VmAreaStruct(dst, srcVma.file, srcVma.vm_start, srcVma.vm_end, srcVma.vm_pgoff, srcVma.vm_flags, srcVma.ptes.length);
    const cow = (srcVma.vm_flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
    for (let i = 0; i < srcVma.ptes.length; i++) {
      const folio = srcVma.ptes[i]!;
      if (folio < 0) continue;
      folio_get(m, folio as Folio);
      if (folio_test_anon(m, folio as Folio)) {
        hugetlb_try_dup_anon_rmap(m, folio as Folio);
        const av = folio_anon_vma(m, folio as Folio);
        if (av !== null && av !== dst.anon_vma && !dst.inheritedAnonVmas.includes(av)) {
          get_anon_vma(av); // the child's VMA is chained to the anon_vma of the pages it shares
          dst.inheritedAnonVmas.push(av);
        }
      } else hugetlb_add_file_rmap(m, folio as Folio);
      if (cow) srcVma.pteWrite[i] = 0;
      vma.ptes[i] = folio;
      vma.pteWrite[i] = srcVma.pteWrite[i]!;
      dst.hugetlb_usage += pages_per_huge_page(h);
    }
    dst.vmas.add(vma);
    srcVma.file.i_mmap.add(vma);
    if (dst.nextAddr < vma.vm_end + huge_page_size(h)) dst.nextAddr = vma.vm_end + huge_page_size(h);
    return vma;
  });
}

/** `fork()` of a process: a child in the same cgroup with a copy of every hugetlb VMA. */
export function hugetlbFork(m: Machine, parent: MmStruct): MmStruct {
  const child = hugetlbNewMm(m, parent.cgroup);
  for (const vma of [...parent.vmas]) copy_hugetlb_page_range(m, child, vma);
  return child;
}

/** Process exit: unmap every hugetlb VMA and leave the cgroup. */
export function hugetlbExitMm(m: Machine, mm: MmStruct): void {
  if (!mm.alive) return;
  deferred(m, 'exit_mmap', () => {
    for (const vma of [...mm.vmas]) do_munmap(m, vma);
    mm.alive = false;
    mm.cgroup.nr_tasks--;
    for (const av of [mm.anon_vma, ...mm.inheritedAnonVmas]) put_anon_vma(m, av); // unlink_anon_vmas()
    const pool = hugetlbOf(m);
    pool.mms.splice(pool.mms.indexOf(mm), 1);
  });
}

/** The `vm_flags` an `mmap` of a hugetlbfs file gets (`calc_vm_prot_bits`, `calc_vm_flag_bits`, `VM_HUGETLB`). */
function vmFlags(opts: HugetlbMmapOptions): number {
  let flags = VM_HUGETLB | VM_READ;
  if (opts.write ?? true) flags |= VM_WRITE | VM_MAYWRITE;
  if (opts.shared) flags |= VM_SHARED | VM_MAYSHARE;
  if (opts.noreserve) flags |= VM_NORESERVE;
  return flags;
}
