import { MmError, EINVAL, EOPNOTSUPP, folio_nr_pages, folio_put, folio_put_refs, type Folio, type Machine } from '@mm/core';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE } from '../uapi.js';
import { GMEM_PENDING, type GmemFile } from './gmem-file.js';
import { folioAt, kvm_gmem_get_folio, pageCacheDelete } from './filemap.js';
import { kvm_gmem_invalidate } from './attributes.js';
import { unmap_mapping_pages } from './mmap.js';
import { kvm_gmem_cancel_pending } from './pending.js';
import { hugePageSizeOf, kvm_gmem_split_folio_in_filemap } from './hugetlb-backing.js';

/**
 * Freeing guest_memfd memory: hole punch (`fallocate(PUNCH_HOLE)`), preallocation, and the end of the
 * file (`release` of the fd, eviction of the inode once the last VMA is gone too).
 *
 * @module
 */

const PAGE_SIZE = 4096;

/**
 * `truncate_inode_pages_range(mapping, start, end)` over indices `[start, end)` (`mm/truncate.c`):
 * host mappings are zapped, each folio leaves the page cache and its page-cache references are
 * dropped (the last one frees it: to the allocator, or, for lent hugetlb memory, to guest_memfd's
 * callback, which gives it back to the hugetlb pool); pending conversions in the range are cancelled. A large buddy folio only partly
 * inside the range is split first if nothing else references it; otherwise it stays (the kernel zeroes
 * the partial range instead). The caller defers the `debugVm` checks.
 */
export function truncate_inode_pages_range(m: Machine, file: GmemFile, start: number, end: number): void {
  unmap_mapping_pages(m, file, start, end - start);
  const mm = m.memmap;
  for (let i = start; i < end; ) {
    const f = folioAt(file, i);
    if (f < 0) {
      i++;
      continue;
    }
    const n = folio_nr_pages(m, f as Folio);
    const fi = mm.index[f]!;
    if (fi < start || fi + n > end) {
      if (mm.refcount[f] === n) {
        kvm_gmem_split_folio_in_filemap(m, file, f as Folio);
        continue;
      }
      i = fi + n;
      continue;
    }
    pageCacheDelete(m, file, f as Folio, fi, n);
    folio_put_refs(m, f as Folio, n);
    i = fi + n;
  }
  for (const [index, folio] of [...file.pending]) {
    if (index >= start && index < end) kvm_gmem_cancel_pending(m, file, folio);
  }
}

/**
 * `kvm_gmem_punch_hole(inode, offset, len)`: invalidate the guest's mappings of the range, then
 * truncate it. Attributes are not changed (the maple tree keeps covering the hole).
 */
export function kvm_gmem_punch_hole(m: Machine, file: GmemFile, offset: number, len: number): void {
  const start = offset / PAGE_SIZE;
  const end = Math.min(file.nrPages, (offset + len) / PAGE_SIZE);
  if (start >= end) return;
  kvm_gmem_invalidate(file, start, end);
  truncate_inode_pages_range(m, file, start, end);
}

/**
 * `kvm_gmem_allocate(inode, offset, len)`: populate `[offset, offset + len)` (`fallocate` without
 * PUNCH_HOLE); pending indices are skipped. Returns 0 or `-ENOMEM`.
 */
export function kvm_gmem_allocate(m: Machine, file: GmemFile, offset: number, len: number): number {
  const end = (offset + len) / PAGE_SIZE;
  for (let i = offset / PAGE_SIZE; i < end; ) {
    if ((file.indexFlags[i]! & GMEM_PENDING) !== 0) {
      i++;
      continue;
    }
    const f = kvm_gmem_get_folio(m, file, i);
    if (f < 0) return f;
    i = m.memmap.index[f]! + folio_nr_pages(m, f as Folio);
    folio_put(m, f as Folio);
  }
  return 0;
}

/**
 * `fallocate(fd, mode, offset, len)` on a guest_memfd (`kvm_gmem_fallocate`). `mode` must contain
 * `FALLOC_FL_KEEP_SIZE` and nothing but it and `FALLOC_FL_PUNCH_HOLE` (`MmError(EOPNOTSUPP)`);
 * `offset` and `len` must be page aligned, `len > 0` (`vfs_fallocate`), and a preallocation must stay
 * inside `i_size` (`MmError(EINVAL)`); a hugetlb-backed file punches whole huge pages only
 * (`MmError(EINVAL)`). The kernel returns these errors; the model throws them before changing
 * anything. Returns 0, or `-ENOMEM` from preallocation.
 */
export function kvm_gmem_fallocate(m: Machine, file: GmemFile, mode: number, offset: number, len: number): number {
  if (!file.fdOpen) throw new MmError(EINVAL, `kvm_gmem_fallocate: guest_memfd ${file.ino} is closed`, { rule: 'fallocate needs an open fd' });
  if ((mode & FALLOC_FL_KEEP_SIZE) === 0 || (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) !== 0) {
    throw new MmError(EOPNOTSUPP, `kvm_gmem_fallocate: mode 0x${mode.toString(16)}`, { rule: 'guest_memfd supports KEEP_SIZE, optionally with PUNCH_HOLE' });
  }
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(len) || offset < 0 || len <= 0 || offset % PAGE_SIZE !== 0 || len % PAGE_SIZE !== 0) {
    throw new MmError(EINVAL, `kvm_gmem_fallocate: offset ${offset} len ${len}`, { rule: 'offset ≥ 0, len > 0, both page aligned' });
  }
  const punch = (mode & FALLOC_FL_PUNCH_HOLE) !== 0;
  if (!punch && offset + len > file.size) {
    throw new MmError(EINVAL, `kvm_gmem_fallocate: [${offset}, ${offset + len}) past i_size ${file.size}`, { rule: 'guest_memfd does not grow' });
  }
  const huge = hugePageSizeOf(file);
  if (punch && huge > PAGE_SIZE && (offset % huge !== 0 || (Math.min(offset + len, file.size) - offset) % huge !== 0)) {
    throw new MmError(EINVAL, `kvm_gmem_fallocate: hole [${offset}, ${offset + len}) is not made of whole ${huge}-byte pages`, {
      rule: 'a hugetlb-backed guest_memfd punches whole huge pages',
    });
  }
  if (punch) {
    m.withChecksDeferred('kvm_gmem_punch_hole', () => kvm_gmem_punch_hole(m, file, offset, len));
    return 0;
  }
  return m.withChecksDeferred('kvm_gmem_allocate', () => kvm_gmem_allocate(m, file, offset, len));
}

/**
 * `kvm_gmem_evict_inode` (the inode's last reference is gone: fd closed and no VMA left):
 * `truncate_inode_pages_final` frees every folio, cancels every pending conversion, and the
 * address_space leaves the machine's mapping table (the inode and its `i_data` are freed).
 */
export function kvm_gmem_evict_inode(m: Machine, file: GmemFile): void {
  if (file.evicted) return;
  truncate_inode_pages_range(m, file, 0, file.nrPages);
  file.evicted = true;
  file.gmem.files.delete(file);
  if (m.mappings.spaces[file.mapping.id] === file.mapping) m.mappings.spaces[file.mapping.id] = undefined; // the inode is freed
}

/**
 * `close(fd)` of a guest_memfd (`kvm_gmem_release`): the VM's bindings and guest mappings go away
 * (KVM zaps its SPTEs). The memory lives with the inode: it is freed now if no host VMA still maps the
 * file, else when the last one is unmapped. `MmError(EINVAL)` for a second close.
 */
export function kvm_gmem_release(m: Machine, file: GmemFile): void {
  if (!file.fdOpen) throw new MmError(EINVAL, `kvm_gmem_release: guest_memfd ${file.ino} is already closed`, { rule: 'close an fd once' });
  m.withChecksDeferred('kvm_gmem_release', () => {
    file.fdOpen = false;
    kvm_gmem_invalidate(file, 0, file.nrPages);
    if (file.vmas.length === 0) kvm_gmem_evict_inode(m, file);
  });
}
