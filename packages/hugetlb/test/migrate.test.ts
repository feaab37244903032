import { describe, expect, it } from 'vitest';
import {
  ListHead,
  MIGRATE_MODE,
  MR,
  NR_NODE,
  VM_EVENT,
  alloc_migration_target,
  folio_get_owner_ops,
  folio_mapcount,
  folio_nid,
  folio_put,
  isolate_folio_to_list,
  migrate_pages,
  move_to_new_folio,
  remove_migration_ptes,
  try_to_migrate,
  offline_pages,
  putback_movable_pages,
  ZONE,
  type Folio,
  type Machine,
} from '@mm/core';
import {
  FAULT_FLAG_WRITE,
  folio_test_hugetlb_migratable,
  folio_test_hugetlb_temporary,
  hugetlb_cgroup_from_folio,
  hugetlb_fault,
  hugetlbCgroupCreate,
  hugetlbfs_create,
  hugetlbfs_file_mmap,
  hugetlbfs_mount,
  hugetlbfs_setattr,
  hugetlbNewMm,
  hugetlbExitMm,
  type HugetlbfsSbInfo,
  type VmAreaStruct,
} from '@mm/hugetlb';
import { MB2, STRATEGIES, boot, counts, recordFrees } from './helpers.js';

/**
 * What `unmap_and_move_huge_page` does between getting the target and calling `move_hugetlb_state`,
 * with the core's own steps: the mappings become migration entries (`try_to_migrate`), the page-cache
 * entry and references move (`move_to_new_folio` → hugetlbfs's `migrate_folio`), and the entries become
 * mappings of the destination (`remove_migration_ptes`).
 */
function moveContents(m: Machine, src: Folio, dst: Folio): void {
  const state = try_to_migrate(m, src);
  expect(move_to_new_folio(m, dst, src, MIGRATE_MODE.MIGRATE_SYNC)).toBe(0);
  remove_migration_ptes(m, src, dst, state);
}

describe.each(STRATEGIES)('migration of hugetlb folios through the machine hooks (%s)', (strategy) => {
  it('an active folio migrates across nodes: source freed, destination active, counts unchanged', () => {
    const { m, pool, h } = boot(strategy, { cmdline: 'hugepages=0:2,1:2' }, { memory: '64M', nodes: 2 });
    const cg = hugetlbCgroupCreate(pool, 'a');
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const file = hugetlbfs_create(m, sb, 'f');
    const mm = hugetlbNewMm(m, cg);
    const vma = hugetlbfs_file_mmap(m, mm, file, { length: MB2, shared: true }) as VmAreaStruct;
    hugetlb_fault(m, vma, vma.vm_start, FAULT_FLAG_WRITE);
    const src = vma.ptes[0]! as Folio;
    expect(folio_nid(m, src)).toBe(0);
    const before = { c: counts(h), nr: [...h.nr_huge_pages_node], free: [...h.free_huge_pages_node] };
    expect(before.c).toEqual({ nr: 4, free: 3, resv: 0, surplus: 0, max: 4 });
    expect(before.free).toEqual([1, 2]);
    const frees = recordFrees(m);

    expect(m.hooks.folio_isolate_hugetlb!(src)).toBe(true);
    expect(folio_get_owner_ops(m, src)).toBeNull();
    const dst = m.hooks.alloc_hugetlb_migration_target!(src, 1) as Folio;
    expect(folio_nid(m, dst)).toBe(1);
    expect(h.free_huge_pages_node[1]).toBe(1); // an unreserved free folio of node 1 was taken
    moveContents(m, src, dst);
    m.hooks.move_hugetlb_state!(src, dst, MR.MR_COMPACTION);
    folio_put(m, dst); // the migration core drops the target's allocation reference
    m.hooks.folio_putback_hugetlb!(src); // and puts the source back: it dies now

    expect(frees).toEqual([{ folio: src, owner: 'hugetlb' }]);
    expect(counts(h)).toEqual(before.c);
    expect([...h.nr_huge_pages_node]).toEqual(before.nr);
    expect([...h.free_huge_pages_node]).toEqual([2, 1]);
    // The destination is active and migratable, charged to the cgroup, mapped and cached.
    expect(folio_test_hugetlb_migratable(m, dst)).toBe(true);
    expect(hugetlb_cgroup_from_folio(m, dst)).toBe(cg.id);
    expect(cg.hugepage[h.index]!.usage).toBe(512);
    expect([vma.ptes[0], file.pageCache.get(0)]).toEqual([dst, dst]);
    expect([m.memmap.refcount[dst], folio_mapcount(m, dst)]).toEqual([513, 1]);
    expect(folio_get_owner_ops(m, dst)).toBe(strategy === 'owner-ops' ? pool.ownerOps : null);
    expect([m.nodes[0]!.vmstat[NR_NODE.nr_hugetlb], m.nodes[1]!.vmstat[NR_NODE.nr_hugetlb]]).toEqual([0, 512]);
    hugetlbfs_setattr(m, file, 0);
    expect(counts(h)).toEqual({ nr: 4, free: 4, resv: 0, surplus: 0, max: 4 });
  });

  it('with no free folio the target is a temporary one; the source takes over its status and leaves the pool', () => {
    const { m, h } = boot(strategy, { cmdline: 'hugepages=1' });
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const mm = hugetlbNewMm(m);
    const vma = hugetlbfs_file_mmap(m, mm, hugetlbfs_create(m, sb, 'f'), { length: MB2, shared: false }) as VmAreaStruct;
    hugetlb_fault(m, vma, vma.vm_start, FAULT_FLAG_WRITE);
    const src = vma.ptes[0]! as Folio;
    expect(counts(h)).toEqual({ nr: 1, free: 0, resv: 0, surplus: 0, max: 1 });
    expect(m.hooks.folio_isolate_hugetlb!(src)).toBe(true);
    const dst = m.hooks.alloc_hugetlb_migration_target!(src, -1) as Folio;
    expect(dst).toBeGreaterThanOrEqual(0);
    expect(folio_test_hugetlb_temporary(m, dst)).toBe(true);
    expect(counts(h)).toEqual({ nr: 2, free: 0, resv: 0, surplus: 0, max: 1 }); // counted, not surplus
    expect(m.vmEvents[VM_EVENT.htlb_buddy_alloc_success]).toBe(2);
    moveContents(m, src, dst);
    m.hooks.move_hugetlb_state!(src, dst, MR.MR_COMPACTION);
    expect([folio_test_hugetlb_temporary(m, src), folio_test_hugetlb_temporary(m, dst)]).toEqual([true, false]);
    folio_put(m, dst);
    m.hooks.folio_putback_hugetlb!(src); // temporary: freed to the buddy allocator
    expect(counts(h)).toEqual({ nr: 1, free: 0, resv: 0, surplus: 0, max: 1 });
    expect(vma.ptes[0]).toBe(dst);
    expect(m.hooks.folio_isolate_hugetlb!(src)).toBe(false); // not hugetlb any more
  });

  it('a failed migration frees the unused target and puts the source back', () => {
    const { m, h } = boot(strategy, { cmdline: 'hugepages=2' });
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const vma = hugetlbfs_file_mmap(m, hugetlbNewMm(m), hugetlbfs_create(m, sb, 'f'), { length: MB2, shared: true }) as VmAreaStruct;
    hugetlb_fault(m, vma, vma.vm_start, FAULT_FLAG_WRITE);
    const src = vma.ptes[0]! as Folio;
    const nrHugetlb = m.nodes[0]!.vmstat[NR_NODE.nr_hugetlb];
    expect(m.hooks.folio_isolate_hugetlb!(src)).toBe(true);
    const dst = m.hooks.alloc_hugetlb_migration_target!(src, 0) as Folio;
    folio_put(m, dst); // -EAGAIN: the target goes back to the pool
    m.hooks.folio_putback_hugetlb!(src);
    expect(counts(h)).toEqual({ nr: 2, free: 1, resv: 0, surplus: 0, max: 2 });
    expect(folio_test_hugetlb_migratable(m, src)).toBe(true);
    expect(m.nodes[0]!.vmstat[NR_NODE.nr_hugetlb]).toBe(nrHugetlb);
  });
});

describe.each(STRATEGIES)('migrate_pages (mm/migrate.c) on hugetlb folios (%s)', (strategy) => {
  it('migration of an active hugetlb folio (source freed, destination active, counts unchanged)', () => {
    const { m, pool, h } = boot(strategy, { cmdline: 'hugepages=0:2,1:2' }, { memory: '64M', nodes: 2 });
    const sb = hugetlbfs_mount(m, { size: 4 * MB2 }) as HugetlbfsSbInfo;
    const file = hugetlbfs_create(m, sb, 'f');
    const mm = hugetlbNewMm(m);
    const shared = hugetlbfs_file_mmap(m, mm, file, { length: MB2, shared: true }) as VmAreaStruct;
    // A private (anonymous) folio from a mount with a subpool would be refused (-EBUSY) by the kernel's
    // unmap_and_move_huge_page subpool check, so the private mapping comes from a mount without one.
    const plain = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const priv = hugetlbfs_file_mmap(m, mm, hugetlbfs_create(m, plain, 'p'), { length: MB2, shared: false }) as VmAreaStruct;
    hugetlb_fault(m, shared, shared.vm_start, FAULT_FLAG_WRITE);
    hugetlb_fault(m, priv, priv.vm_start, FAULT_FLAG_WRITE);
    const [s1, s2] = [shared.ptes[0]! as Folio, priv.ptes[0]! as Folio];
    expect([folio_nid(m, s1), folio_nid(m, s2)]).toEqual([0, 0]);
    const before = { c: counts(h), nr: [...h.nr_huge_pages_node], used: sb.spool!.used_hpages };
    expect(before.c).toEqual({ nr: 4, free: 2, resv: 0, surplus: 0, max: 4 });
    const frees = recordFrees(m);
    const from = new ListHead();
    expect(isolate_folio_to_list(m, s1, from)).toBe(true);
    expect(isolate_folio_to_list(m, s2, from)).toBe(true);
    const mtc = { nid: 1, gfp_mask: 0, reason: MR.MR_SYSCALL };
    const rc = migrate_pages(m, from, (src: Folio) => alloc_migration_target(m, src, mtc), null, undefined, MIGRATE_MODE.MIGRATE_SYNC, MR.MR_SYSCALL);
    expect(rc).toBe(0);
    expect(from.empty).toBe(true);
    const [d1, d2] = [shared.ptes[0]! as Folio, priv.ptes[0]! as Folio];
    // Both moved to node 1's free folios; the sources died once each, back on node 0's free list.
    expect([folio_nid(m, d1), folio_nid(m, d2)]).toEqual([1, 1]);
    expect(frees.map((e) => e.folio).sort()).toEqual([s1, s2].sort());
    expect(frees.every((e) => e.owner === 'hugetlb')).toBe(true);
    expect(counts(h)).toEqual(before.c);
    expect([...h.nr_huge_pages_node]).toEqual(before.nr);
    expect([...h.free_huge_pages_node]).toEqual([2, 0]);
    expect(m.vmEvents[VM_EVENT.pgmigrate_success]).toBe(1024);
    // The destinations are active, migratable, mapped, cached (shared) or anonymous (private).
    expect(file.pageCache.get(0)).toBe(d1);
    expect([m.memmap.refcount[d1], folio_mapcount(m, d1)]).toEqual([513, 1]);
    expect([m.memmap.refcount[d2], folio_mapcount(m, d2)]).toEqual([1, 1]);
    expect(folio_test_hugetlb_migratable(m, d1) && folio_test_hugetlb_migratable(m, d2)).toBe(true);
    expect(sb.spool!.used_hpages).toBe(before.used); // the shared folio's subpool page moved with it
    expect(folio_get_owner_ops(m, d1)).toBe(strategy === 'owner-ops' ? pool.ownerOps : null);
    // Everything still adds up when the mappings go away.
    hugetlbExitMm(m, mm);
    hugetlbfs_setattr(m, file, 0);
    expect(counts(h)).toEqual({ nr: 4, free: 4, resv: 0, surplus: 0, max: 4 });
    expect(sb.spool!.used_hpages).toBe(0);
  });
});

describe.each(STRATEGIES)('unmap_and_move_huge_page refuses an anonymous folio charged to a subpool (%s)', (strategy) => {
  it('returns it unmigrated (-EBUSY, counted as one failure) and putback_movable_pages restores it', () => {
    const { m, h } = boot(strategy, { cmdline: 'hugepages=0:2,1:2' }, { memory: '64M', nodes: 2 });
    const sb = hugetlbfs_mount(m, { size: 4 * MB2 }) as HugetlbfsSbInfo;
    const mm = hugetlbNewMm(m);
    const priv = hugetlbfs_file_mmap(m, mm, hugetlbfs_create(m, sb, 'p'), { length: MB2, shared: false }) as VmAreaStruct;
    hugetlb_fault(m, priv, priv.vm_start, FAULT_FLAG_WRITE);
    const src = priv.ptes[0]! as Folio;
    const before = { c: counts(h), ref: m.memmap.refcount[src] };
    const from = new ListHead();
    expect(isolate_folio_to_list(m, src, from)).toBe(true);
    const mtc = { nid: 1, gfp_mask: 0, reason: MR.MR_SYSCALL };
    // mm/migrate.c: hugetlb_folio_subpool(src) && !folio_mapping(src) (anonymous) → -EBUSY, a permanent failure.
    expect(migrate_pages(m, from, (s: Folio) => alloc_migration_target(m, s, mtc), null, undefined, MIGRATE_MODE.MIGRATE_SYNC, MR.MR_SYSCALL)).toBe(1);
    expect(m.vmEvents[VM_EVENT.pgmigrate_fail]).toBe(512);
    expect(m.vmEvents[VM_EVENT.pgmigrate_success]).toBe(0);
    putback_movable_pages(m, from);
    expect(priv.ptes[0]).toBe(src);
    expect(m.memmap.refcount[src]).toBe(before.ref);
    expect(folio_test_hugetlb_migratable(m, src)).toBe(true);
    expect(counts(h)).toEqual(before.c); // the unused target went back to the pool
    hugetlbExitMm(m, mm);
  });
});

describe.each(STRATEGIES)('memory offlining (offline_pages) with hugetlb folios in the range (%s)', (strategy) => {
  it('migrates the in-use folio out, dissolves the free ones', () => {
    // ZONE_MOVABLE is the top 128 MiB (one memory section); 2 MiB pool folios come from it first.
    const { m, h } = boot(strategy, { cmdline: 'hugepages=4' }, { memory: '256M', movablecore: '128M' });
    const movable = m.nodes[0]!.node_zones[ZONE.MOVABLE]!;
    const sb = hugetlbfs_mount(m) as HugetlbfsSbInfo;
    const file = hugetlbfs_create(m, sb, 'f');
    const vma = hugetlbfs_file_mmap(m, hugetlbNewMm(m), file, { length: MB2, shared: true }) as VmAreaStruct;
    hugetlb_fault(m, vma, vma.vm_start, FAULT_FLAG_WRITE);
    const src = vma.ptes[0]! as Folio;
    expect(movable.spans(src)).toBe(true);
    expect(counts(h)).toEqual({ nr: 4, free: 3, resv: 0, surplus: 0, max: 4 });
    expect(offline_pages(m, movable.zone_start_pfn, movable.spanned_pages)).toBe(0);
    // The free folios of the isolated range cannot serve as targets, so the in-use one went to a
    // fresh temporary folio outside it and the source (now temporary) left the pool; the three free
    // folios were dissolved (each lowering max_huge_pages).
    const dst = vma.ptes[0]! as Folio;
    expect(movable.spans(dst)).toBe(false);
    expect(file.pageCache.get(0)).toBe(dst);
    expect(counts(h)).toEqual({ nr: 1, free: 0, resv: 0, surplus: 0, max: 1 });
    expect(m.memmap.flags[src]! >>> 24).toBe(0xff); // the offline section has no zone any more
  });
});
