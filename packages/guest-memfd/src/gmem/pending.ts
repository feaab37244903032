import { folio_clear_owner_ops, folio_put_refs, folio_ref_unfreeze, folio_set_owner_ops, free_folio_to_allocator, type Folio, type Machine } from '@mm/core';
import { GMEM_PENDING, type GmemFile } from './gmem-file.js';
import { GMEM_MARK_HUGETLB, GMEM_MARK_PENDING, GuestMemfd } from './guest-memfd.js';
import { pageCacheDelete, pageCacheInsert } from './filemap.js';
import { hugetlbLentFreed, hugetlbTryMerge } from './hugetlb-backing.js';

/**
 * The deferred conversion design (the 2024 plan behind series 1, kernel-semantics §6.2):
 *
 * ```
 * SHARED --(request; unmap from host; refs == expected)--> PRIVATE             [at once]
 * SHARED --(request; unmap from host; refs  > expected)--> PENDING_PRIVATE
 * PENDING_PRIVATE --(last foreign reference dropped: refcount-0 callback)--> PRIVATE
 * ```
 *
 * The page cache itself holds references (one per page), so a folio that stays in the cache never
 * reaches refcount 0. A pending folio therefore leaves the shared view: it is erased from `i_pages`
 * (its `mapping` becomes NULL, as `filemap_remove_folio` leaves it) and the file's own references are
 * dropped, so that only the foreign ones (GUP pins, speculative references, an LRU batch) remain. Its
 * owner is marked — `folio_set_owner_ops(folio, guest_memfd)` under series 1, the side table the
 * mainline branch tests otherwise — and the put that takes the count from 1 to 0 calls
 * {@link kvm_gmem_handle_folio_put} exactly once. That callback owns the folio at refcount 0 (it is
 * not freed): it unfreezes it with the page-cache references and stores it back into `i_pages` as
 * private, which is the same final state the synchronous design reaches when its check passes. The
 * folio stays on the unevictable LRU throughout. While pending, the index is private for the host
 * (faults SIGBUS), guest faults get `-EAGAIN`, nothing can be allocated there, and a new conversion
 * request overlapping it is refused. A hole punch or the file's release cancels the conversion: the
 * folio is then freed at refcount 0 instead of being re-inserted (reviewers of the series' callback
 * pointed out that `folio->mapping` is gone by then, which is why the model records the file and index
 * beside the folio).
 *
 * @module
 */

/**
 * Make a shared folio whose references exceed the expected ones *conversion pending*: mark the owner,
 * take it out of the page cache and drop the page-cache references. The attribute of its indices is
 * already private. The caller defers the `debugVm` checks.
 */
export function kvm_gmem_make_pending(m: Machine, file: GmemFile, folio: Folio, index: number, nr: number): void {
  const gmem = file.gmem;
  const lent = (gmem.marks[folio]! & GMEM_MARK_HUGETLB) !== 0;
  gmem.pending.set(folio, { file, index, nrPages: nr });
  file.pending.set(index, folio);
  for (let i = index; i < index + nr; i++) file.indexFlags[i]! |= GMEM_PENDING;
  gmem.mark(folio, GMEM_MARK_PENDING);
  // Lent hugetlb memory carries guest_memfd's owner ops for its whole life already.
  if (m.strategy === 'owner-ops' && !lent) folio_set_owner_ops(m, folio, gmem);
  pageCacheDelete(m, file, folio, index, nr);
  if (m.trace.active) m.trace.emit('kvm_gmem_conversion_pending', { ino: file.ino, index, folio, nr_pages: nr });
  folio_put_refs(m, folio, nr);
}

/**
 * Cancel the pending conversion of `folio` (its range is being truncated or the file released): the
 * index range forgets it, and the refcount-0 callback will free the folio instead of re-inserting it.
 */
export function kvm_gmem_cancel_pending(m: Machine, file: GmemFile, folio: Folio): void {
  const entry = file.gmem.pending.get(folio)!;
  entry.file = null;
  file.pending.delete(entry.index);
  for (let i = entry.index; i < entry.index + entry.nrPages; i++) file.indexFlags[i]! &= ~GMEM_PENDING;
  if (m.trace.active) m.trace.emit('kvm_gmem_conversion_cancelled', { ino: file.ino, index: entry.index, folio, nr_pages: entry.nrPages });
}

/**
 * `kvm_gmem_handle_folio_put(folio)` (the refcount-0 handler of the guest_memfd mmap series, a
 * placeholder in v7 that never shipped), reached through `folio_owner_ops.free` or the mainline
 * branch. Runs exactly once per 1→0 transition of a pending folio or of lent hugetlb memory:
 * - pending, not cancelled: complete the conversion — unfreeze with the page-cache references and put
 *   the folio back into `i_pages`, now private; for a hugetlb piece, try to merge its huge folio;
 * - otherwise (a cancelled conversion, truncated hugetlb memory): free it — a buddy folio to the
 *   allocator, hugetlb memory back to hugetlb once all of its huge page is at refcount 0.
 */
export function kvm_gmem_handle_folio_put(m: Machine, folio: Folio): void {
  handleFolioPut(GuestMemfd.of(m), folio);
}

/** {@link kvm_gmem_handle_folio_put} with the machine's guest_memfd state at hand (`GuestMemfd.free`). */
export function handleFolioPut(gmem: GuestMemfd, folio: Folio): void {
  gmem.freeCalls++;
  if (gmem.m.debugVm) gmem.m.withChecksDeferred('kvm_gmem_handle_folio_put', () => completeOrFree(gmem, folio));
  else completeOrFree(gmem, folio);
}

function completeOrFree(gmem: GuestMemfd, folio: Folio): void {
  const m = gmem.m;
  const marks = gmem.marks[folio]!;
  const lent = (marks & GMEM_MARK_HUGETLB) !== 0;
  const entry = (marks & GMEM_MARK_PENDING) !== 0 ? gmem.pending.get(folio) : undefined;
  if (entry !== undefined) {
    gmem.pending.delete(folio);
    gmem.unmark(folio, GMEM_MARK_PENDING);
    if (m.strategy === 'owner-ops' && !lent) folio_clear_owner_ops(m, folio);
    const file = entry.file;
    if (file !== null) {
      file.pending.delete(entry.index);
      for (let i = entry.index; i < entry.index + entry.nrPages; i++) file.indexFlags[i]! &= ~GMEM_PENDING;
      folio_ref_unfreeze(m, folio, entry.nrPages);
      pageCacheInsert(m, file, folio, entry.index, entry.nrPages);
      if (m.trace.active) m.trace.emit('kvm_gmem_conversion_done', { ino: file.ino, index: entry.index, folio, nr_pages: entry.nrPages });
      if (lent) hugetlbTryMerge(m, file, folio);
      return;
    }
  }
  if (lent) hugetlbLentFreed(m, gmem, folio);
  else free_folio_to_allocator(m, folio);
}
