import { EBUSY, EINVAL, ENOMEM, EOPNOTSUPP, MmError, PAGE_SHIFT, createAddressSpace, folio_mapped, folio_put, type Folio, type Machine } from '@mm/core';
import { folio_set_hugetlb_migratable, folio_test_hugetlb_restore_reserve } from '../folio/hugetlb-flags.js';
import { huge_page_shift, huge_page_size, size_to_hstate, type Hstate } from '../hstate.js';
import { alloc_hugetlb_folio } from '../pool/alloc.js';
import { hugetlb_unreserve_pages } from '../resv/reserve.js';
import { region_del, resv_map_alloc } from '../resv/resv-map.js';
import { hugepage_new_subpool, hugepage_put_subpool } from '../resv/subpool.js';
import { deferred } from '../internal/deferred.js';
import { hugetlbOf } from '../state.js';
import { memparseKernel } from '../sysfs/parse.js';
import { hugetlbfs_aops } from './migrate-folio.js';
import { hugetlb_add_to_page_cache, hugetlb_delete_from_page_cache, hugetlb_vmdelete_list, __unmap_hugepage_range } from './rmap.js';
import { HugetlbfsInode, HugetlbfsSbInfo, MmStruct, VM_HUGETLB, VM_MAYSHARE, VM_SHARED, VmAreaStruct } from './types.js';

/**
 * A minimal hugetlbfs (`fs/hugetlbfs/inode.c`): mounts with `pagesize=`, `size=` and `min_size=`
 * (backed by a subpool), regular files with a page cache and an inode reservation map, truncation,
 * hole punching and preallocation. Directories, permissions, seals, `nr_inodes`, read/write and
 * partial-page zeroing are not modelled.
 *
 * @module
 */

/** Mount options of {@link hugetlbfs_mount} (as `mount -t hugetlbfs -o ...` takes them). */
export interface HugetlbfsMountOptions {
  /** `pagesize=`: bytes or `memparse` text (`"1G"`); default the default hstate. */
  readonly pagesize?: number | string;
  /** `size=`: maximum size, bytes, `memparse` text, or `"<n>%"` of the pool's `max_huge_pages`. */
  readonly size?: number | string;
  /** `min_size=`: guaranteed minimum, same forms; reserved from the pool at mount time. */
  readonly min_size?: number | string;
}

/** `hugetlbfs_size_to_hpages(h, size_opt, val_type)`: bytes, or a percentage of `max_huge_pages`, in huge pages; -1 if unset. */
function size_to_hpages(h: Hstate, opt: number | string | undefined): number {
  if (opt === undefined) return -1;
  if (typeof opt === 'number') return Math.floor(opt / huge_page_size(h));
  const { value, end } = memparseKernel(opt);
  if (opt[end] === '%') return Math.floor((value * h.max_huge_pages) / 100);
  return Math.floor(value / huge_page_size(h));
}

/**
 * Mount hugetlbfs (`hugetlbfs_parse_param`, `hugetlbfs_validate`, `hugetlbfs_fill_super`): `-EINVAL`
 * for an unsupported page size or `min_size > size`; `-ENOMEM` if `min_size` cannot be reserved
 * (`hugepage_new_subpool`). A subpool exists only when `size` or `min_size` is given.
 */
export function hugetlbfs_mount(m: Machine, opts: HugetlbfsMountOptions = {}): HugetlbfsSbInfo | number {
  const pool = hugetlbOf(m);
  let h = pool.default_hstate;
  if (opts.pagesize !== undefined) {
    const found = size_to_hstate(pool, typeof opts.pagesize === 'number' ? opts.pagesize : memparseKernel(opts.pagesize).value);
    if (found === null) return -EINVAL;
    h = found;
  }
  const maxHpages = size_to_hpages(h, opts.size);
  const minHpages = size_to_hpages(h, opts.min_size);
  if (maxHpages !== -1 && minHpages > maxHpages) return -EINVAL;
  return deferred(m, 'hugetlbfs_mount', () => {
    let spool = null;
    if (maxHpages !== -1 || minHpages !== -1) {
      spool = hugepage_new_subpool(m, h, maxHpages, minHpages);
      if (spool === null) return -ENOMEM;
    }
    const sb = new HugetlbfsSbInfo(pool.mounts.length + 1, h, spool);
    pool.mounts.push(sb);
    return sb;
  });
}

/**
 * Unmount (`hugetlbfs_kill_sb` → `evict` of every file, `hugetlbfs_put_super` → `hugepage_put_subpool`).
 * `-EBUSY` while any file of the mount is still mapped.
 */
export function hugetlbfs_umount(m: Machine, sb: HugetlbfsSbInfo): number {
  if (!sb.mounted) return -EINVAL;
  for (const inode of sb.inodes) if (inode.i_mmap.size > 0) return -EBUSY;
  return deferred(m, 'hugetlbfs_umount', () => {
    for (const inode of [...sb.inodes]) hugetlbfs_evict_inode(m, inode);
    if (sb.spool !== null) hugepage_put_subpool(m, sb.spool);
    sb.mounted = false;
    const pool = hugetlbOf(m);
    pool.mounts.splice(pool.mounts.indexOf(sb), 1);
    return 0;
  });
}

/**
 * `hugetlbfs_create` → `hugetlbfs_get_inode`: a new empty regular file with its own reservation map and
 * `address_space` (registered in the machine's mapping table, `a_ops` = `hugetlbfs_aops`).
 * `MmError(EINVAL)` on an unmounted hugetlbfs.
 */
export function hugetlbfs_create(m: Machine, sb: HugetlbfsSbInfo, name: string): HugetlbfsInode {
  const pool = hugetlbOf(m);
  if (!sb.mounted) throw new MmError(EINVAL, `hugetlbfs_create("${name}") on an unmounted hugetlbfs`, { rule: 'create files on a mounted hugetlbfs' });
  const resv = resv_map_alloc();
  resv.hstate_index = sb.hstate.index;
  const mapping = createAddressSpace(m, { name: `hugetlbfs:${name}`, a_ops: hugetlbfs_aops });
  const inode = new HugetlbfsInode(pool.nextIno++, sb, name, resv, mapping);
  sb.inodes.add(inode);
  pool.inodeByMapping.set(mapping.id, inode);
  return inode;
}

/** `unlink`: the name goes away; the file is evicted now if nothing maps it, else at its last munmap. */
export function hugetlbfs_unlink(m: Machine, inode: HugetlbfsInode): void {
  inode.linked = false;
  if (inode.i_mmap.size === 0 && !inode.evicted) deferred(m, 'hugetlbfs_unlink', () => hugetlbfs_evict_inode(m, inode));
}

/**
 * `hugetlbfs_evict_inode(inode)`: truncate everything (`remove_inode_hugepages(inode, 0, LLONG_MAX)`)
 * and release the reservation map (deleting its regions uncharges their cgroups).
 */
export function hugetlbfs_evict_inode(m: Machine, inode: HugetlbfsInode): void {
  remove_inode_hugepages(m, inode, 0, Infinity);
  region_del(inode.resv_map, 0, Number.MAX_SAFE_INTEGER);
  inode.evicted = true;
  inode.sb.inodes.delete(inode);
  hugetlbOf(m).inodeByMapping.delete(inode.i_mapping.id);
  m.mappings.spaces[inode.i_mapping.id] = undefined;
}

/**
 * `remove_inode_hugepages(inode, lstart, lend)`: drop the page-cache folios of `[lstart, lend)` (bytes).
 * Truncation (`lend = LLONG_MAX`, here `Infinity`) then gives back every reservation from `lstart` on
 * (`hugetlb_unreserve_pages(inode, start, LONG_MAX, freed)`); a hole punch gives back only the
 * reservation of each page it removes — reserved but never-faulted pages in the hole keep their
 * reservation.
 */
export function remove_inode_hugepages(m: Machine, inode: HugetlbfsInode, lstart: number, lend: number): void {
  const h = inode.sb.hstate;
  const truncate = lend === Infinity;
  const start = Math.floor(lstart / huge_page_size(h));
  const end = truncate ? Infinity : Math.floor(lend / huge_page_size(h));
  let freed = 0;
  const indices = [...inode.pageCache.keys()].filter((i) => i >= start && i < end).sort((a, b) => a - b);
  for (const idx of indices) {
    const folio = inode.pageCache.get(idx)! as Folio;
    if (folio_mapped(m, folio)) {
      // hugetlb_unmap_file_folio(): mapped again after the caller's unmap.
      for (const vma of inode.i_mmap) __unmap_hugepage_range(m, vma, vma.vm_start, vma.vm_end, folio);
    }
    if (folio_test_hugetlb_restore_reserve(m, folio)) m.vmBug('§4.3 reservations', 'page-cache folio with restore_reserve', folio);
    hugetlb_delete_from_page_cache(m, h, inode, idx);
    if (!truncate) hugetlb_unreserve_pages(m, inode, idx, idx + 1, 1);
    freed++;
  }
  if (truncate) hugetlb_unreserve_pages(m, inode, start, Number.MAX_SAFE_INTEGER, freed);
}

/**
 * `hugetlbfs_setattr(ATTR_SIZE)` → `hugetlb_vmtruncate(inode, offset)`: set the file size; pages past
 * it are unmapped from every VMA and dropped, their reservations returned. `-EINVAL` if the size is not
 * a multiple of the huge page size (nothing changes). Returns 0.
 */
export function hugetlbfs_setattr(m: Machine, inode: HugetlbfsInode, size: number): number {
  const h = inode.sb.hstate;
  if (!(Number.isInteger(size) && size >= 0) || size % huge_page_size(h) !== 0) return -EINVAL;
  return deferred(m, 'hugetlbfs_setattr', () => {
    inode.i_size = size;
    hugetlb_vmdelete_list(m, inode, size / 2 ** PAGE_SHIFT, 0);
    remove_inode_hugepages(m, inode, size, Infinity);
    return 0;
  });
}

/**
 * `hugetlbfs_punch_hole(inode, offset, len)`: unmap and drop the whole huge pages inside
 * `[offset, offset + len)` (partial pages would be zeroed); each dropped page returns its reservation.
 */
export function hugetlbfs_punch_hole(m: Machine, inode: HugetlbfsInode, offset: number, len: number): number {
  const size = huge_page_size(inode.sb.hstate);
  const holeStart = Math.ceil(offset / size) * size;
  const holeEnd = Math.floor((offset + len) / size) * size;
  if (holeEnd <= holeStart) return 0;
  return deferred(m, 'hugetlbfs_punch_hole', () => {
    hugetlb_vmdelete_list(m, inode, holeStart / 4096, holeEnd / 4096);
    remove_inode_hugepages(m, inode, holeStart, holeEnd);
    return 0;
  });
}

/** `FALLOC_FL_KEEP_SIZE`. */
export const FALLOC_FL_KEEP_SIZE = 0x01;
/** `FALLOC_FL_PUNCH_HOLE`. */
export const FALLOC_FL_PUNCH_HOLE = 0x02;

/**
 * `hugetlbfs_fallocate(file, mode, offset, len)` (with `vfs_fallocate`'s mode checks): punch a hole
 * (`FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE`) or preallocate every missing page of the range into
 * the page cache — through `alloc_hugetlb_folio` on a pseudo shared VMA, so existing reservations are
 * consumed — charging `mm`'s cgroup. `-EOPNOTSUPP` for other modes (or a punch without KEEP_SIZE),
 * `-EINVAL` for a bad range; a failed allocation returns its error (`-ENOSPC`) with the pages already
 * added kept.
 */
export function hugetlbfs_fallocate(m: Machine, mm: MmStruct, inode: HugetlbfsInode, mode: number, offset: number, len: number): number {
  if (!(offset >= 0 && len > 0)) return -EINVAL;
  if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) return -EOPNOTSUPP;
  if (mode & FALLOC_FL_PUNCH_HOLE) {
    if (!(mode & FALLOC_FL_KEEP_SIZE)) return -EOPNOTSUPP;
    return hugetlbfs_punch_hole(m, inode, offset, len);
  }
  const h = inode.sb.hstate;
  const shift = huge_page_shift(h);
  const start = Math.floor(offset / 2 ** shift);
  const end = Math.ceil((offset + len) / 2 ** shift);
  return deferred(m, 'hugetlbfs_fallocate', () => {
    const pseudo = new VmAreaStruct(mm, inode, 0, 0, 0, VM_HUGETLB | VM_MAYSHARE | VM_SHARED, 0);
    for (let idx = start; idx < end; idx++) {
      if (inode.pageCache.has(idx)) continue;
      const folio = alloc_hugetlb_folio(m, pseudo, idx * huge_page_size(h), false);
      if (folio < 0) return folio;
      hugetlb_add_to_page_cache(m, h, folio as Folio, inode, idx);
      folio_set_hugetlb_migratable(m, folio as Folio);
      folio_put(m, folio as Folio); // the allocation reference; the page cache keeps its own
    }
    if (!(mode & FALLOC_FL_KEEP_SIZE) && offset + len > inode.i_size) inode.i_size = offset + len;
    return 0;
  });
}
