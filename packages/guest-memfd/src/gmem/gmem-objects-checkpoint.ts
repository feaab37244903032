import type { Folio } from '@mm/core';
import type { Kvm } from '../kvm/kvm.js';
import type { VmAreaStruct } from '../mm/vma.js';
import type { GmemFile } from './gmem-file.js';
import type { GuestMemfd, PendingConversion } from './guest-memfd.js';
import type { LentHugeFolio } from './hugetlb-backing.js';

/**
 * The part of the guest_memfd plugin's machine checkpoint that covers its objects (see
 * `GmemCheckpoint`): the files (attributes, per-index flags, VMAs, pending folios by index, open
 * and evicted state), their VMAs (PTEs, present count, live), the VMs, the pending conversions and
 * the lent hugetlb memory (split state, freed pieces). A restore puts the same objects back with
 * their saved contents — every object reachable from the plugin's tables at the save, so the files
 * and VMAs a caller kept (a scenario's closures) are the ones the machine uses again — and drops
 * the objects created after the save from the tables. The core saves what the files share with it
 * (their `address_space`s and page caches, every memmap word). Objects already gone at the save
 * (released files, unmapped VMAs no longer on a file) are not copied; the operations refuse them.
 *
 * @module
 */

interface FileCopy {
  readonly file: GmemFile;
  readonly attributes: Uint8Array;
  readonly indexFlags: Uint8Array;
  readonly vmas: readonly VmAreaStruct[];
  readonly pending: readonly (readonly [number, Folio])[];
  readonly fdOpen: boolean;
  readonly evicted: boolean;
}

interface VmaCopy {
  readonly vma: VmAreaStruct;
  readonly ptes: Int32Array;
  readonly present: number;
  readonly live: boolean;
}

interface PendingCopy {
  readonly entry: PendingConversion;
  readonly file: GmemFile | null;
}

interface LentCopy {
  readonly rec: LentHugeFolio;
  readonly split: boolean;
  readonly freed: Uint8Array;
  readonly nrFreed: number;
}

/** Saved guest_memfd objects (opaque): the result of {@link saveGmemObjects}. */
export interface GmemObjectsCopy {
  /** The plugin's `files`, in order. */
  readonly files: readonly GmemFile[];
  /** The plugin's `vms`. */
  readonly vms: readonly Kvm[];
  /** The plugin's `pending`, in order. */
  readonly pending: readonly (readonly [number, PendingConversion])[];
  /** The plugin's `lent`, in order. */
  readonly lent: readonly (readonly [number, LentHugeFolio])[];
  /** Every file reachable at the save, with its contents. */
  readonly fileCopies: readonly FileCopy[];
  /** Every VMA of those files. */
  readonly vmaCopies: readonly VmaCopy[];
  /** Every pending conversion record. */
  readonly pendingCopies: readonly PendingCopy[];
  /** Every lent huge folio record. */
  readonly lentCopies: readonly LentCopy[];
}

/** Copy every guest_memfd object reachable from `g`'s tables (see the module comment). */
export function saveGmemObjects(g: GuestMemfd): GmemObjectsCopy {
  const files = new Set<GmemFile>(g.files);
  for (const e of g.pending.values()) if (e.file !== null) files.add(e.file);
  const recs = new Set<LentHugeFolio>(g.lent.values());
  for (const r of recs) files.add(r.file);
  const vmas = new Set<VmAreaStruct>();
  for (const f of files) for (const v of f.vmas) vmas.add(v);
  return {
    files: [...g.files],
    vms: [...g.vms],
    pending: [...g.pending],
    lent: [...g.lent],
    fileCopies: [...files].map((file) => ({
      file,
      attributes: file.attributes.slice(),
      indexFlags: file.indexFlags.slice(),
      vmas: [...file.vmas],
      pending: [...file.pending],
      fdOpen: file.fdOpen,
      evicted: file.evicted,
    })),
    vmaCopies: [...vmas].map((vma) => ({ vma, ptes: vma.ptes.slice(), present: vma.present, live: vma.live })),
    pendingCopies: [...new Set(g.pending.values())].map((entry) => ({ entry, file: entry.file })),
    lentCopies: [...recs].map((rec) => ({ rec, split: rec.split, freed: rec.freed.slice(), nrFreed: rec.nrFreed })),
  };
}

/** Make `target` hold exactly the entries `saved`, in order. */
function restoreMap<K, V>(target: Map<K, V>, saved: readonly (readonly [K, V])[]): void {
  if (target.size === saved.length) {
    let i = 0;
    let same = true;
    for (const [k, v] of target) {
      const s = saved[i++]!;
      if (k !== s[0] || v !== s[1]) same = false;
    }
    if (same) return;
  }
  target.clear();
  for (const [k, v] of saved) target.set(k, v);
}

/** Make `target` hold exactly `saved`, in order. */
function restoreArray<T>(target: T[], saved: readonly T[]): void {
  if (target.length !== saved.length) target.length = saved.length;
  for (let i = 0; i < saved.length; i++) if (target[i] !== saved[i]) target[i] = saved[i]!;
}

/** Put the objects `s` (from {@link saveGmemObjects} of the same plugin state) back into `g`. */
export function restoreGmemObjects(g: GuestMemfd, s: GmemObjectsCopy): void {
  let i = 0;
  let same = g.files.size === s.files.length;
  if (same) for (const f of g.files) if (f !== s.files[i++]) same = false;
  if (!same) {
    g.files.clear(); // the same files in the saved (iteration) order
    for (const f of s.files) g.files.add(f);
  }
  restoreArray(g.vms, s.vms);
  restoreMap(g.pending, s.pending);
  restoreMap(g.lent, s.lent);
  for (const c of s.fileCopies) {
    const file = c.file;
    file.attributes.set(c.attributes);
    file.indexFlags.set(c.indexFlags);
    restoreArray(file.vmas, c.vmas);
    restoreMap(file.pending, c.pending);
    file.fdOpen = c.fdOpen;
    file.evicted = c.evicted;
  }
  for (const c of s.vmaCopies) {
    c.vma.ptes.set(c.ptes);
    c.vma.present = c.present;
    c.vma.live = c.live;
  }
  for (const c of s.pendingCopies) c.entry.file = c.file;
  for (const c of s.lentCopies) {
    c.rec.split = c.split;
    c.rec.freed.set(c.freed);
    c.rec.nrFreed = c.nrFreed;
  }
}
