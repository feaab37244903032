import type { AnonVma, Folio } from '@mm/core';
import type { HugetlbCgroup } from '../cgroup/hugetlb-cgroup.js';
import type { FileRegion, ResvMap } from '../resv/resv-map.js';
import type { HugetlbState } from '../state.js';
import type { HugetlbfsInode, HugetlbfsSbInfo, MmStruct, VmAreaStruct } from './types.js';

/**
 * The hugetlbfs part of the hugetlb plugin's machine checkpoint (see `HugetlbCheckpoint`): the
 * mounts, their files (size, blocks, page cache, `i_mmap`, link state, reservation map), the
 * processes (cgroup, VMAs, `hugetlb_usage`, inherited anon_vmas, next address, alive) and their
 * VMAs (page-table entries, write bits, reservation map and flags, live). A restore puts the same
 * objects back with their saved contents — every object reachable from the pool's mounts, processes
 * and files at the save, so the VMAs, files and processes a caller kept (a scenario's closures) are
 * the ones the machine uses again — and drops the objects created after the save from the pool's
 * tables and from the saved objects' sets. The core saves what these objects share with it (the
 * files' `address_space`s in the mapping table, the processes' anon_vmas and their reference
 * counts, every memmap word). Objects already gone at the save (unmounted mounts, evicted files,
 * exited processes, unmapped VMAs: no longer reachable from the pool) are not copied; the
 * operations refuse them, so they do not change.
 *
 * @module
 */

interface SbCopy {
  readonly sb: HugetlbfsSbInfo;
  readonly inodes: readonly HugetlbfsInode[];
  readonly mounted: boolean;
}

interface InodeCopy {
  readonly inode: HugetlbfsInode;
  readonly i_size: number;
  readonly i_blocks: number;
  readonly pageCache: readonly (readonly [number, Folio])[];
  readonly i_mmap: readonly VmAreaStruct[];
  readonly linked: boolean;
  readonly evicted: boolean;
}

interface ResvMapCopy {
  readonly resv: ResvMap;
  /** The region objects (kept: `region_add` extends them in place) and their saved contents. */
  readonly regions: readonly FileRegion[];
  readonly bounds: Float64Array;
  readonly cgs: readonly (HugetlbCgroup | null)[];
  readonly adds_in_progress: number;
  readonly reservation_cg: HugetlbCgroup | null;
  readonly pages_per_hpage: number;
  readonly hstate_index: number;
}

interface MmCopy {
  readonly mm: MmStruct;
  readonly cgroup: HugetlbCgroup;
  readonly vmas: readonly VmAreaStruct[];
  readonly hugetlb_usage: number;
  readonly inheritedAnonVmas: readonly AnonVma[];
  readonly nextAddr: number;
  readonly alive: boolean;
}

interface VmaCopy {
  readonly vma: VmAreaStruct;
  readonly resv_map: ResvMap | null;
  readonly resv_flags: number;
  readonly ptes: Int32Array;
  readonly pteWrite: Uint8Array;
  readonly live: boolean;
}

/** A saved hugetlbfs state (opaque): the result of {@link saveHugetlbfs}. */
export interface HugetlbfsCopy {
  /** The pool's `mounts`. */
  readonly mounts: readonly HugetlbfsSbInfo[];
  /** The pool's `mms`. */
  readonly mms: readonly MmStruct[];
  /** The pool's `inodeByMapping`, in order. */
  readonly inodeByMapping: readonly (readonly [number, HugetlbfsInode])[];
  /** Every mount reachable at the save, with its contents. */
  readonly sbs: readonly SbCopy[];
  /** Every file. */
  readonly inodes: readonly InodeCopy[];
  /** Every reservation map (the files' and the private VMAs'). */
  readonly resvMaps: readonly ResvMapCopy[];
  /** Every process. */
  readonly mmCopies: readonly MmCopy[];
  /** Every VMA. */
  readonly vmas: readonly VmaCopy[];
}

/** Copy every hugetlbfs object reachable from `pool`'s mounts, processes and files (see the module comment). */
export function saveHugetlbfs(pool: HugetlbState): HugetlbfsCopy {
  const sbs = new Set<HugetlbfsSbInfo>(pool.mounts);
  const inodes = new Set<HugetlbfsInode>(pool.inodeByMapping.values());
  const mms = new Set<MmStruct>(pool.mms);
  const vmas = new Set<VmAreaStruct>();
  const resvMaps = new Set<ResvMap>();
  // Close the set under the references between the objects (a Set iterates what is added during the loop).
  for (const sb of sbs) for (const inode of sb.inodes) inodes.add(inode);
  for (const mm of mms) for (const vma of mm.vmas) vmas.add(vma);
  for (const inode of inodes) for (const vma of inode.i_mmap) vmas.add(vma);
  for (const vma of vmas) {
    if (!mms.has(vma.mm)) {
      mms.add(vma.mm);
      for (const v of vma.mm.vmas) vmas.add(v);
    }
    if (!inodes.has(vma.file)) {
      inodes.add(vma.file);
      for (const v of vma.file.i_mmap) vmas.add(v);
    }
    if (vma.resv_map !== null) resvMaps.add(vma.resv_map);
  }
  for (const inode of inodes) {
    sbs.add(inode.sb);
    resvMaps.add(inode.resv_map);
  }
  return {
    mounts: [...pool.mounts],
    mms: [...pool.mms],
    inodeByMapping: [...pool.inodeByMapping],
    sbs: [...sbs].map((sb) => ({ sb, inodes: [...sb.inodes], mounted: sb.mounted })),
    inodes: [...inodes].map((inode) => ({
      inode,
      i_size: inode.i_size,
      i_blocks: inode.i_blocks,
      pageCache: [...inode.pageCache],
      i_mmap: [...inode.i_mmap],
      linked: inode.linked,
      evicted: inode.evicted,
    })),
    resvMaps: [...resvMaps].map((resv) => ({
      resv,
      regions: [...resv.regions],
      bounds: Float64Array.from(resv.regions.flatMap((r) => [r.from, r.to])),
      cgs: resv.regions.map((r) => r.cg),
      adds_in_progress: resv.adds_in_progress,
      reservation_cg: resv.reservation_cg,
      pages_per_hpage: resv.pages_per_hpage,
      hstate_index: resv.hstate_index,
    })),
    mmCopies: [...mms].map((mm) => ({
      mm,
      cgroup: mm.cgroup,
      vmas: [...mm.vmas],
      hugetlb_usage: mm.hugetlb_usage,
      inheritedAnonVmas: [...mm.inheritedAnonVmas],
      nextAddr: mm.nextAddr,
      alive: mm.alive,
    })),
    vmas: [...vmas].map((vma) => ({ vma, resv_map: vma.resv_map, resv_flags: vma.resv_flags, ptes: vma.ptes.slice(), pteWrite: vma.pteWrite.slice(), live: vma.live })),
  };
}

/** Make `target` hold exactly `saved`, in `saved`'s order (insertion order is iteration order). */
function restoreSet<T>(target: Set<T>, saved: readonly T[]): void {
  if (target.size === saved.length) {
    let i = 0;
    let same = true;
    for (const x of target) if (x !== saved[i++]) same = false;
    if (same) return;
  }
  target.clear();
  for (const x of saved) target.add(x);
}

/** Make `target` hold exactly `saved`, in order. */
function restoreArray<T>(target: T[], saved: readonly T[]): void {
  if (target.length !== saved.length) target.length = saved.length;
  for (let i = 0; i < saved.length; i++) if (target[i] !== saved[i]) target[i] = saved[i]!;
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

/** Put the hugetlbfs state `s` (from {@link saveHugetlbfs} of the same pool) back into `pool`. */
export function restoreHugetlbfs(pool: HugetlbState, s: HugetlbfsCopy): void {
  restoreArray(pool.mounts, s.mounts);
  restoreArray(pool.mms, s.mms);
  restoreMap(pool.inodeByMapping, s.inodeByMapping);
  for (const c of s.sbs) {
    restoreSet(c.sb.inodes, c.inodes);
    c.sb.mounted = c.mounted;
  }
  for (const c of s.inodes) {
    const inode = c.inode;
    inode.i_size = c.i_size;
    inode.i_blocks = c.i_blocks;
    restoreMap(inode.pageCache, c.pageCache);
    restoreSet(inode.i_mmap, c.i_mmap);
    inode.linked = c.linked;
    inode.evicted = c.evicted;
  }
  for (const c of s.resvMaps) {
    const resv = c.resv;
    restoreArray(resv.regions, c.regions);
    c.regions.forEach((r, i) => {
      r.from = c.bounds[2 * i]!;
      r.to = c.bounds[2 * i + 1]!;
      r.cg = c.cgs[i]!;
    });
    resv.adds_in_progress = c.adds_in_progress;
    resv.reservation_cg = c.reservation_cg;
    resv.pages_per_hpage = c.pages_per_hpage;
    resv.hstate_index = c.hstate_index;
  }
  for (const c of s.mmCopies) {
    const mm = c.mm;
    mm.cgroup = c.cgroup;
    restoreSet(mm.vmas, c.vmas);
    mm.hugetlb_usage = c.hugetlb_usage;
    restoreArray(mm.inheritedAnonVmas, c.inheritedAnonVmas);
    mm.nextAddr = c.nextAddr;
    mm.alive = c.alive;
  }
  for (const c of s.vmas) {
    const vma = c.vma;
    vma.resv_map = c.resv_map;
    vma.resv_flags = c.resv_flags;
    vma.ptes.set(c.ptes);
    vma.pteWrite.set(c.pteWrite);
    vma.live = c.live;
  }
}
