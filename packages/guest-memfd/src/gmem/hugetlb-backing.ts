import { MmError, EINVAL, ENODEV, PAGEFLAGS_MASK, PAGE_TYPE_NONE, PG, folio_clear_owner_ops, folio_set_owner_ops, prep_compound_page, type Folio, type Machine, type Pfn } from '@mm/core';
import { mergeOrder0ToFolio, splitFolioToOrder0 } from '../mm/split.js';
import { GMEM_PENDING, GMEM_PRIVATE, GMEM_SHARED, type GmemFile } from './gmem-file.js';
import { GMEM_MARK_HUGETLB, GMEM_MARK_PENDING, type GuestMemfd } from './guest-memfd.js';
import { folioAt, pageCacheInsert } from './filemap.js';

/**
 * Hugetlb backing of a guest_memfd (the guest_memfd HugeTLB series, Ackerley Tng et al., not merged),
 * the scenario series 1's generic refcount-0 callback was meant for (§12.1, David Hildenbrand: the
 * notification is needed "to re-collapse split large folios and return them to their original
 * allocator").
 *
 * A file takes whole huge pages from the hugetlb pool. hugetlb *lends* each one out (it stays counted
 * in the pool — `nr_huge_pages`, its cgroup charge, `NR_HUGETLB` — but leaves hugetlb's lists and loses
 * its hugetlb type and owner ops), and guest_memfd owns it until it is freed: as one compound folio
 * while every index it covers is private, as order-0 *pieces* once part of it is shared
 * (`kvm_gmem_split_folio_in_filemap`: the host maps and pins shared memory page by page, and a
 * conversion must see each page's references on its own). Whatever its shape, every folio of lent
 * memory carries guest_memfd as its owner — owner ops under series 1, the mainline branch's marker
 * otherwise — so that none of it ever reaches the buddy allocator. When every piece is private, in the
 * page cache and referenced by it alone, the pieces are merged back (`kvm_gmem_merge_folio_in_filemap`);
 * in the deferred design this happens in the refcount-0 callback of the last piece whose host
 * references went away. When the memory is truncated, the folio (or each piece) reaches refcount 0 in
 * the callback; once all of it is there, the pages are handed back to hugetlb, which frees the huge
 * folio into its pool.
 *
 * Divergence: in the kernel series the merged folio is a hugetlb folio again while it sits in the page
 * cache; here it stays lent until it is freed, because `@mm/hugetlb` takes lent memory back only to
 * free it (`hugetlbReturnFolio`). Pool counters are the same either way.
 *
 * `@mm/hugetlb` is an optional peer: this module knows it only through {@link GmemHugetlbAllocator},
 * which `guestMemfdHugetlbPlugin()` from `@mm/guest-memfd/hugetlb` provides.
 *
 * @module
 */

/**
 * What guest_memfd needs from hugetlb (DI token and interface share the name); provided by
 * `guestMemfdHugetlbPlugin()` from `@mm/guest-memfd/hugetlb`.
 */
export interface GmemHugetlbAllocator {
  /** The order of the hstate of `size` bytes, or -1 if the machine has none. */
  orderOf(size: number): number;
  /**
   * Allocate a huge page of `order` from the pool (`hugetlb_alloc_folio`) and lend it out: returns its
   * first PFN, the pages order-0 and untyped, the first at refcount 1 and the others at 0; or a
   * negative errno (`-ENOSPC`: pool exhausted, `-ENOMEM`).
   */
  alloc(order: number): Folio | number;
  /** Give lent pages back (all order 0 at refcount 0, untyped, no mapping, no owner tag): hugetlb frees the huge folio into its pool. */
  giveBack(head: Folio): void;
}

/** DI token for {@link GmemHugetlbAllocator}. */
export const GmemHugetlbAllocator = Symbol('@mm/guest-memfd:GmemHugetlbAllocator');

/** The hugetlb backing of one file. */
export interface HugetlbBacking {
  /** The huge page order. */
  readonly order: number;
  /** Where huge pages come from and go back to. */
  readonly allocator: GmemHugetlbAllocator;
}

/** A huge page lent to a guest_memfd: whole, or split into order-0 pieces. */
export interface LentHugeFolio {
  /** The file. */
  readonly file: GmemFile;
  /** First PFN (the head while whole). */
  readonly head: Folio;
  /** File index of the first page. */
  readonly index: number;
  /** The huge page order. */
  readonly order: number;
  /** Split into order-0 pieces. */
  split: boolean;
  /** Per piece (split only): 1 once it reached refcount 0 outside the page cache. */
  readonly freed: Uint8Array;
  /** How many pieces are freed. */
  nrFreed: number;
}

/**
 * The hugetlb backing for a file of huge pages of `size` bytes: `MmError(ENODEV)` without
 * `guestMemfdHugetlbPlugin()` on the machine, `MmError(EINVAL)` if hugetlb has no such size.
 */
export function createHugetlbBacking(m: Machine, size: number): HugetlbBacking {
  if (!m.container.isRegistered(GmemHugetlbAllocator, true)) {
    throw new MmError(ENODEV, 'hugetlb-backed guest_memfd needs @mm/hugetlb', { rule: 'add hugetlbPlugin() and guestMemfdHugetlbPlugin() to the machine' });
  }
  const allocator = m.container.resolve<GmemHugetlbAllocator>(GmemHugetlbAllocator);
  const order = allocator.orderOf(size);
  if (order <= 0) throw new MmError(EINVAL, `no hugetlb hstate of ${size} bytes`, { rule: 'hugePageSize names a booted hstate' });
  return { order, allocator };
}

/** Bytes per allocation unit of the file: the huge page size, or 4096. */
export function hugePageSizeOf(file: GmemFile): number {
  return file.hugetlb === null ? 4096 : 4096 * 2 ** file.hugetlb.order;
}

/**
 * The huge folio covering `index`, allocated from the pool into the page cache (one reference per
 * page, no LRU, no `NR_FILE_PAGES`: the pool counts it) and split at once if part of its range is
 * shared. Returns the folio holding `index` with one reference for the caller, or a negative errno.
 */
export function hugetlbGetFolio(m: Machine, file: GmemFile, index: number): Folio | number {
  const backing = file.hugetlb!;
  const gmem = file.gmem;
  const order = backing.order;
  const n = 1 << order;
  const base = index & ~(n - 1);
  const head = backing.allocator.alloc(order);
  if (head < 0) return head;
  return m.withChecksDeferred('kvm_gmem_get_folio', () => {
    prep_compound_page(m, head as Pfn, order);
    const rec: LentHugeFolio = { file, head: head as Folio, index: base, order, split: false, freed: new Uint8Array(n), nrFreed: 0 };
    for (let i = 0; i < n; i++) {
      gmem.mark(head + i, GMEM_MARK_HUGETLB);
      gmem.lent.set(head + i, rec);
    }
    if (m.strategy === 'owner-ops') folio_set_owner_ops(m, head as Folio, gmem);
    pageCacheInsert(m, file, head as Folio, base, n);
    m.memmap.refcount[head]! += n - 1; // the allocation's reference becomes one of the page-cache ones
    for (let i = base; i < base + n; i++) {
      if (file.attributes[i] === GMEM_SHARED) {
        kvm_gmem_split_folio_in_filemap(m, file, head as Folio);
        break;
      }
    }
    const f = folioAt(file, index);
    m.memmap.refcount[f]!++;
    return f as Folio;
  });
}

/**
 * `kvm_gmem_split_folio_in_filemap(inode, folio)` (hugetlb guest_memfd series): split a large folio of
 * the page cache into order-0 folios, each keeping one page-cache reference and its own `i_pages`
 * entry; lent hugetlb pieces each become a guest_memfd-owned folio. The caller checked that nothing but
 * the page cache references the folio.
 */
export function kvm_gmem_split_folio_in_filemap(m: Machine, file: GmemFile, folio: Folio): void {
  const index = m.memmap.index[folio]!;
  const n = 1 << (m.memmap.flags[folio + 1]! & 0xff);
  const rec = file.gmem.lent.get(folio);
  if (rec !== undefined && m.strategy === 'owner-ops') folio_clear_owner_ops(m, folio);
  splitFolioToOrder0(m, folio, index, 1);
  for (let i = 0; i < n; i++) file.mapping.i_pages.set(index + i, (folio + i) as Folio);
  if (rec === undefined) return;
  rec.split = true;
  if (m.strategy === 'owner-ops') for (let i = 0; i < n; i++) folio_set_owner_ops(m, (folio + i) as Folio, file.gmem);
  if (m.trace.active) m.trace.emit('kvm_gmem_huge_folio_split', { ino: file.ino, index, folio, order: rec.order });
}

/**
 * `kvm_gmem_merge_folio_in_filemap(inode, first_folio)`: if every piece of `rec` is private, in the
 * page cache, not pending and referenced by the page cache alone, merge them back into the huge folio,
 * which keeps their page-cache references. Returns true if merged.
 */
export function kvm_gmem_merge_folio_in_filemap(m: Machine, file: GmemFile, rec: LentHugeFolio): boolean {
  const n = 1 << rec.order;
  const mm = m.memmap;
  if (!rec.split) return false;
  for (let i = 0; i < n; i++) {
    const idx = rec.index + i;
    if (folioAt(file, idx) !== rec.head + i || file.attributes[idx] !== GMEM_PRIVATE || (file.indexFlags[idx]! & GMEM_PENDING) !== 0) return false;
    if (mm.refcount[rec.head + i] !== 1) return false;
  }
  if (m.strategy === 'owner-ops') for (let i = 0; i < n; i++) folio_clear_owner_ops(m, (rec.head + i) as Folio);
  mergeOrder0ToFolio(m, rec.head, rec.order);
  if (m.strategy === 'owner-ops') folio_set_owner_ops(m, rec.head, file.gmem);
  mm.refcount[rec.head] = n;
  for (let i = 0; i < n; i++) file.mapping.i_pages.set(rec.index + i, rec.head);
  rec.split = false;
  if (m.trace.active) m.trace.emit('kvm_gmem_huge_folio_merge', { ino: file.ino, index: rec.index, folio: rec.head, order: rec.order });
  return true;
}

/** After a piece became private in the cache: try to merge its huge folio. */
export function hugetlbTryMerge(m: Machine, file: GmemFile, piece: Folio): void {
  const rec = file.gmem.lent.get(piece);
  if (rec !== undefined) kvm_gmem_merge_folio_in_filemap(m, file, rec);
}

/** After `[start, end)` became private: try to merge every split huge folio meeting it. */
export function hugetlbTryMergeRange(m: Machine, file: GmemFile, start: number, end: number): void {
  if (file.hugetlb === null || file.gmem.lent.size === 0) return;
  const n = 1 << file.hugetlb.order;
  for (let base = start & ~(n - 1); base < end; base += n) {
    const f = folioAt(file, base);
    if (f >= 0) hugetlbTryMerge(m, file, f as Folio);
  }
}

/**
 * Lent memory reached refcount 0 outside the page cache (truncated, or a cancelled pending piece):
 * guest_memfd keeps it at 0. A whole huge folio goes back to hugetlb at once; a piece waits for the
 * others. The last one hands the pages back (order 0, untyped, no owner tag), and hugetlb frees the
 * huge folio into its pool through its own refcount-0 path (`free_huge_folio`).
 */
export function hugetlbLentFreed(m: Machine, gmem: GuestMemfd, folio: Folio): void {
  const rec = gmem.lent.get(folio)!;
  const n = 1 << rec.order;
  if (rec.split) {
    rec.freed[folio - rec.head] = 1;
    if (++rec.nrFreed < n) return;
  }
  const mm = m.memmap;
  for (let i = 0; i < n; i++) {
    const p = rec.head + i;
    gmem.unmark(p, GMEM_MARK_HUGETLB);
    gmem.lent.delete(p);
    mm.flags[p] = mm.flags[p]! & ~PAGEFLAGS_MASK;
    mm.lru[p] = 0;
    mm.lruPrev[p] = 0;
    mm.mapping[p] = 0;
    mm.index[p] = 0;
    mm.private[p] = 0;
    mm.mapcount[p] = PAGE_TYPE_NONE;
    mm.refcount[p] = 0;
  }
  if (m.trace.active) m.trace.emit('kvm_gmem_huge_folio_release', { ino: rec.file.ino, index: rec.index, folio: rec.head, order: rec.order });
  rec.file.hugetlb!.allocator.giveBack(rec.head);
}

/**
 * The hugetlb part of the §13 §6 check: lent memory is marked as guest_memfd's on every page; a whole
 * huge folio is compound with guest_memfd's owner ops (series 1) and referenced; a piece of a split
 * one is an order-0 folio with its own owner ops, at refcount 0 with no mapping once freed, else
 * referenced and in its file's page cache at its index, or pending.
 */
export function checkLentHugeFolios(m: Machine, gmem: GuestMemfd): void {
  const mm = m.memmap;
  const seen = new Set<LentHugeFolio>();
  const ownerOps = m.strategy === 'owner-ops';
  for (const rec of gmem.lent.values()) {
    if (seen.has(rec)) continue;
    seen.add(rec);
    const n = 1 << rec.order;
    for (let i = 0; i < n; i++) {
      const p = rec.head + i;
      if ((gmem.marks[p]! & GMEM_MARK_HUGETLB) === 0 || gmem.lent.get(p) !== rec) m.vmBug('§6 hugetlb', 'lent hugetlb memory lost its guest_memfd mark', p);
    }
    if (!rec.split) {
      if ((mm.flags[rec.head + 1]! & 0xff) !== rec.order || mm.refcount[rec.head]! < 1) m.vmBug('§6 hugetlb', 'a lent huge folio is not whole or not referenced', rec.head);
      if (ownerOps && (mm.lru[rec.head]! & 3) !== 2) m.vmBug('§6 hugetlb', 'a lent huge folio without owner ops', rec.head);
      continue;
    }
    for (let i = 0; i < n; i++) {
      const p = rec.head + i;
      if ((mm.lru[p]! & 1) !== 0 || (mm.flags[p]! & (1 << PG.head)) !== 0) m.vmBug('§6 hugetlb', 'a piece of a split huge folio is compound', p);
      if (ownerOps && (mm.lru[p]! & 3) !== 2) m.vmBug('§6 hugetlb', 'a piece without owner ops', p);
      if (rec.freed[i]) {
        if (mm.refcount[p] !== 0 || mm.mapping[p] !== 0) m.vmBug('§6 hugetlb', 'a freed piece is referenced or in a mapping', p);
        continue;
      }
      if (mm.refcount[p]! < 1) m.vmBug('§6 hugetlb', 'a piece at refcount 0 that was not freed', p);
      const pending = (gmem.marks[p]! & GMEM_MARK_PENDING) !== 0;
      if (!pending && folioAt(rec.file, rec.index + i) !== p && mm.mapping[p] !== 0) m.vmBug('§6 hugetlb', 'a piece outside the page cache keeps its mapping', p);
    }
  }
}
