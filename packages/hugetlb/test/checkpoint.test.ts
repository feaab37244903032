import { captureMachineState, diffMachineState, restoreMachineCheckpoint, saveMachineCheckpoint, type Machine } from '@mm/core';
import {
  FALLOC_FL_KEEP_SIZE,
  FALLOC_FL_PUNCH_HOLE,
  FAULT_FLAG_WRITE,
  do_munmap,
  hugetlbAttachMm,
  hugetlbCgroupCreate,
  hugetlbExitMm,
  hugetlbFork,
  hugetlbNewMm,
  hugetlb_fault,
  hugetlbfs_create,
  hugetlbfs_fallocate,
  hugetlbfs_file_mmap,
  hugetlbfs_mount,
  hugetlbfs_setattr,
  hugetlbfs_unlink,
  type HugetlbState,
  type HugetlbfsInode,
  type HugetlbfsSbInfo,
  type MmStruct,
  type ResvMap,
  type VmAreaStruct,
} from '@mm/hugetlb';
import { describe, expect, it } from 'vitest';
import { MB2, STRATEGIES, boot, hugetlbSnapshot } from './helpers.js';

const W = FAULT_FLAG_WRITE;

const resvOf = (r: ResvMap | null): unknown =>
  r && { regions: r.regions.map((g) => [g.from, g.to, g.cg?.id ?? 0]), adds: r.adds_in_progress, cg: r.reservation_cg?.id ?? 0, pph: r.pages_per_hpage, hidx: r.hstate_index };
const vmaOf = (v: VmAreaStruct): unknown => ({
  mm: v.mm.id,
  file: v.file.ino,
  range: [v.vm_start, v.vm_end, v.vm_pgoff, v.vm_flags],
  resv: resvOf(v.resv_map),
  resv_flags: v.resv_flags,
  ptes: [...v.ptes],
  write: [...v.pteWrite],
  live: v.live,
});
const inodeOf = (i: HugetlbfsInode): unknown => ({
  ino: i.ino,
  sb: i.sb.id,
  mapping: i.i_mapping.id,
  size: [i.i_size, i.i_blocks],
  pageCache: [...i.pageCache],
  i_mmap: [...i.i_mmap].map(vmaOf),
  linked: i.linked,
  evicted: i.evicted,
  resv: resvOf(i.resv_map),
});
const mmOf = (mm: MmStruct): unknown => ({
  id: mm.id,
  cg: mm.cgroup.id,
  vmas: [...mm.vmas].map(vmaOf),
  usage: mm.hugetlb_usage,
  anon: [mm.anon_vma.id, mm.anon_vma.refcount],
  inherited: mm.inheritedAnonVmas.map((a) => [a.id, a.refcount]),
  nextAddr: mm.nextAddr,
  alive: mm.alive,
});

/** Every hugetlbfs object of the pool, and the ones the test kept (they may have left the pool), as plain data. */
function hugetlbfsSnapshot(pool: HugetlbState, kept: { sbs: HugetlbfsSbInfo[]; files: HugetlbfsInode[]; mms: MmStruct[]; vmas: VmAreaStruct[] }): unknown {
  return {
    mounts: pool.mounts.map((sb) => ({ id: sb.id, mounted: sb.mounted, spool: sb.spool?.id ?? 0, inodes: [...sb.inodes].map(inodeOf) })),
    files: [...pool.inodeByMapping].map(([id, i]) => [id, i.ino]),
    mms: pool.mms.map(mmOf),
    next: [pool.nextMmId, pool.nextIno],
    spaces: pool.m.mappings.spaces.map((as) => as?.id ?? -1),
    kept: { sbs: kept.sbs.map((sb) => [sb.mounted, sb.inodes.size]), files: kept.files.map(inodeOf), mms: kept.mms.map(mmOf), vmas: kept.vmas.map(vmaOf) },
  };
}

function everything(m: Machine, pool: HugetlbState, kept: Parameters<typeof hugetlbfsSnapshot>[1]) {
  return { core: captureMachineState(m), pool: hugetlbSnapshot(pool), fs: hugetlbfsSnapshot(pool, kept) };
}

function expectSame(a: ReturnType<typeof everything>, b: ReturnType<typeof everything>): void {
  expect(diffMachineState(a.core, b.core)).toEqual([]);
  expect(b.pool).toEqual(a.pool);
  expect(b.fs).toEqual(a.fs);
}

describe.each(STRATEGIES)('hugetlb checkpoint with hugetlbfs state (%s)', (strategy) => {
  it('a restore puts back every mount, file, page cache, reservation map, process and VMA exactly, any number of times', () => {
    const { m, pool } = boot(strategy, { cmdline: 'hugepages=16' }, { memory: '64M' });
    // The state saved: a mount with a subpool (size=8M: 4 huge pages) and one without, a shared
    // mapping half faulted, a private mapping half faulted, a forked child sharing the private
    // folios, a preallocated file.
    const sbA = hugetlbfs_mount(m, { size: '8M' }) as HugetlbfsSbInfo;
    const sbB = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const shared = hugetlbfs_create(m, sbA, 'shared');
    const priv = hugetlbfs_create(m, sbB, 'private');
    const prealloc = hugetlbfs_create(m, sbB, 'prealloc');
    const parent = hugetlbNewMm(m);
    const vShared = hugetlbfs_file_mmap(m, parent, shared, { length: 4 * MB2, shared: true }) as VmAreaStruct;
    const vPriv = hugetlbfs_file_mmap(m, parent, priv, { length: 3 * MB2, shared: false }) as VmAreaStruct;
    for (const [v, n] of [[vShared, 2], [vPriv, 2]] as const) for (let i = 0; i < n; i++) expect(hugetlb_fault(m, v, v.vm_start + i * MB2, W)).toBe(0);
    const child = hugetlbFork(m, parent);
    expect(hugetlbfs_fallocate(m, parent, prealloc, 0, 0, 2 * MB2)).toBe(0);
    const kept = { sbs: [sbA, sbB], files: [shared, priv, prealloc], mms: [parent, child], vmas: [vShared, vPriv, ...child.vmas] };
    m.checkInvariants('setup');
    const cp = saveMachineCheckpoint(m);
    const saved = everything(m, pool, kept);

    // Change every kind of object, and create new ones: faults (shared, private, CoW in the child),
    // munmap, a hole punched, a truncation, an unlink, a process exit, a cgroup move, a new mount,
    // file, process and mapping.
    const run = (): ReturnType<typeof everything> => {
      for (let i = 2; i < 4; i++) expect(hugetlb_fault(m, vShared, vShared.vm_start + i * MB2, W)).toBe(0);
      expect(hugetlb_fault(m, vPriv, vPriv.vm_start + 2 * MB2, W)).toBe(0);
      const cv = [...child.vmas].find((v) => v.file === priv)!;
      expect(hugetlb_fault(m, cv, cv.vm_start, W)).toBe(0); // CoW of a shared private folio
      expect(hugetlbfs_fallocate(m, parent, prealloc, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, MB2)).toBe(0);
      expect(hugetlbfs_setattr(m, shared, 3 * MB2)).toBe(0);
      hugetlbfs_unlink(m, priv);
      hugetlbExitMm(m, child);
      expect(do_munmap(m, vPriv)).toBe(0); // the last mapping of the unlinked file: evicted
      hugetlbAttachMm(parent, hugetlbCgroupCreate(pool, 'moved'));
      const sbC = hugetlbfs_mount(m) as HugetlbfsSbInfo;
      const fresh = hugetlbfs_create(m, sbC, 'fresh');
      const other = hugetlbNewMm(m);
      const v = hugetlbfs_file_mmap(m, other, fresh, { length: MB2, shared: true }) as VmAreaStruct;
      expect(hugetlb_fault(m, v, v.vm_start, W)).toBe(0);
      m.checkInvariants('run');
      return everything(m, pool, kept);
    };
    const first = run();
    expect(first.fs).not.toEqual(saved.fs);
    expect(priv.evicted).toBe(true);
    expect(pool.mounts.length).toBe(3);

    restoreMachineCheckpoint(m, cp);
    expectSame(saved, everything(m, pool, kept));
    expect(pool.mounts).toEqual([sbA, sbB]);
    expect(pool.mms[0]).toBe(parent);
    expect(pool.mms[1]).toBe(child);
    expect(pool.inodeByMapping.get(priv.i_mapping.id)).toBe(priv);
    expect(pool.cgroups.length).toBe(2); // the root and index 0: the new cgroup is dropped
    m.checkInvariants('restored');

    // The restored objects are the ones the machine uses: the same run gives the same state again.
    expectSame(first, run());
    restoreMachineCheckpoint(m, cp);
    expectSame(saved, everything(m, pool, kept));
  });
});
