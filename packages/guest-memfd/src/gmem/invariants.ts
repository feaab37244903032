import { inject, injectable } from 'tsyringe';
import { PGTY, PG, folio_get_owner_ops, folio_mapping, folio_nr_pages, mapping_inaccessible, mapping_unevictable, type Folio, type InvariantCheck, type Machine } from '@mm/core';
import { folio_maybe_dma_pinned } from '../mm/gup.js';
import { GMEM_GUEST_MAPPED, GMEM_PENDING, GMEM_PRIVATE, GMEM_SHARED, type GmemFile } from './gmem-file.js';
import { GMEM_MARK_PENDING, GuestMemfd } from './guest-memfd.js';
import { folioAt } from './filemap.js';
import { checkLentHugeFolios } from './hugetlb-backing.js';

const BUDDY = (PGTY.buddy << 24) | 0;

/**
 * The `debugVm` checker for kernel-semantics §13 §6 (guest_memfd), run after every operation:
 * 1. every index of every live file has exactly one attribute, shared or private;
 * 2. a private (or pending) index is never mapped into host user space, and a private folio in the
 *    page cache holds no host mapping and no GUP pin;
 * 3. a pending folio (deferred design) is out of the page cache, unmapped, still referenced, and
 *    marked for the refcount-0 callback (owner ops under series 1, the side table otherwise);
 * 4. page-cache folios stay where guest_memfd put them — never migrated, reclaimed or freed under
 *    it: each is a live folio whose `mapping` is the file's inaccessible, unevictable address_space and
 *    whose `index` covers the entry; buddy folios on the LRU are unevictable;
 * plus the model's own rule that shared memory is order 0, and the bookkeeping of lent hugetlb memory.
 * (§6.3, "SHARED→PRIVATE commits only when every folio has `ref == nr_pages + 1`", is a property of
 * the transition; the conversion tests check it.)
 */
@injectable()
export class GuestMemfdInvariants implements InvariantCheck {
  /** The invariant family. */
  readonly name = '§6 guest_memfd';
  private readonly gmem: GuestMemfd;

  /** Checks the machine's guest_memfd state. */
  constructor(@inject(GuestMemfd) gmem: GuestMemfd) {
    this.gmem = gmem;
  }

  /** Throw `VmBugError` on the first violation. */
  check(m: Machine): void {
    for (const file of this.gmem.files) checkFile(m, this.gmem, file);
    for (const [folio, entry] of this.gmem.pending) {
      const mm = m.memmap;
      if (mm.refcount[folio]! < 1) m.vmBug('§6 pending', 'a pending folio reached refcount 0 without completing', folio);
      if ((this.gmem.marks[folio]! & GMEM_MARK_PENDING) === 0) m.vmBug('§6 pending', 'pending folio not marked for the callback', folio);
      if (m.strategy === 'owner-ops' && folio_get_owner_ops(m, folio as Folio) !== this.gmem) m.vmBug('§6 pending', 'pending folio without guest_memfd owner ops', folio);
      if (mm.mapping[folio] !== 0 || mm.mapcount[folio] !== -1) m.vmBug('§6.2 pending', 'pending folio still in a mapping or mapped', folio);
      const file = entry.file;
      if (file !== null && (folioAt(file, entry.index) === folio || (file.indexFlags[entry.index]! & GMEM_PENDING) === 0)) {
        m.vmBug('§6 pending', `pending folio at index ${entry.index} of guest_memfd ${file.ino} is in the page cache or unflagged`, folio);
      }
    }
    checkLentHugeFolios(m, this.gmem);
  }
}

function checkFile(m: Machine, gmem: GuestMemfd, file: GmemFile): void {
  const mm = m.memmap;
  const { attributes, indexFlags } = file;
  if (attributes.length !== file.nrPages) m.vmBug('§6.1 attributes', `guest_memfd ${file.ino}: attributes cover ${attributes.length} of ${file.nrPages} indices`);
  if (!mapping_inaccessible(file.mapping) || !mapping_unevictable(file.mapping) || m.mappings.spaces[file.mapping.id] !== file.mapping) {
    m.vmBug('§6.4 inaccessible', `guest_memfd ${file.ino}: mapping unregistered or lost AS_INACCESSIBLE/AS_UNEVICTABLE`);
  }
  for (let i = 0; i < file.nrPages; ) {
    const a = attributes[i]!;
    if (a !== GMEM_SHARED && a !== GMEM_PRIVATE) m.vmBug('§6.1 attributes', `guest_memfd ${file.ino} index ${i}: attribute ${a}`);
    const f = folioAt(file, i);
    if (f < 0) {
      if ((indexFlags[i]! & GMEM_GUEST_MAPPED) !== 0) m.vmBug('§6 guest mapping', `guest_memfd ${file.ino} index ${i}: guest mapping of a hole`);
      i++;
      continue;
    }
    if ((mm.lru[f]! & 1) !== 0 || mm.mapcount[f] === BUDDY || folio_mapping(m, f as Folio) !== file.mapping) {
      m.vmBug('§6.4 no migration', `guest_memfd ${file.ino} index ${i}: the page-cache folio was freed, migrated or reused`, f);
    }
    const n = folio_nr_pages(m, f as Folio);
    const fi = mm.index[f]!;
    if (i !== fi || mm.refcount[f]! < n) m.vmBug('§6.4 page cache', `guest_memfd ${file.ino} index ${i}: folio index ${fi}, refcount ${mm.refcount[f]} < ${n}`, f);
    if ((mm.flags[f]! & (1 << PG.lru)) !== 0 && (mm.flags[f]! & (1 << PG.unevictable)) === 0) m.vmBug('§6.4 unevictable', 'guest_memfd folio on an evictable LRU', f);
    let shared = false;
    for (let j = i; j < i + n; j++) {
      if (folioAt(file, j) !== f) m.vmBug('§6 page cache', `guest_memfd ${file.ino}: index ${j} does not point at its folio`, f);
      if (attributes[j] === GMEM_SHARED) shared = true;
    }
    if (shared && n > 1) m.vmBug('§6 shared order 0', `guest_memfd ${file.ino} index ${i}: shared memory in an order-${Math.log2(n)} folio`, f);
    if (!shared && (mm.mapcount[f] !== -1 || folio_maybe_dma_pinned(m, f as Folio))) {
      m.vmBug('§6.2 private unmapped', `guest_memfd ${file.ino} index ${i}: private folio mapped or pinned by the host`, f);
    }
    i += n;
  }
  for (const vma of file.vmas) {
    for (let k = 0; k < vma.nrPages; k++) {
      const page = vma.ptes[k]!;
      if (page < 0) continue;
      const idx = vma.vm_pgoff + k;
      if (idx >= file.nrPages || attributes[idx] !== GMEM_SHARED) m.vmBug('§6.2 private unmapped', `guest_memfd ${file.ino} index ${idx}: a private index is mapped into host user space`, page);
      if (folioAt(file, idx) !== page || mm.mapcount[page]! < 0) m.vmBug('§6.2 host mapping', `guest_memfd ${file.ino} index ${idx}: PTE maps a page that is not the cached one`, page);
    }
  }
  if (gmem.files.has(file) && file.evicted) m.vmBug('§6 files', `guest_memfd ${file.ino} evicted but still listed`);
}
