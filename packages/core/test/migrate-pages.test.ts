import { describe, expect, it } from 'vitest';
import {
  ENOMEM,
  GFP_HIGHUSER_MOVABLE,
  ListHead,
  MIGRATE_MODE,
  MR,
  NR_MAX_BATCHED_MIGRATION,
  NR_MAX_MIGRATE_PAGES_RETRY,
  NR_NODE,
  __folio_set_swapbacked,
  folio_add_lru,
  PageBuddy,
  VM_EVENT,
  add_to_swap_cache,
  anon_vma_alloc,
  createAddressSpace,
  createMachine,
  filemap_add_folio,
  filemap_get_folio,
  folio_alloc,
  folio_attach_private,
  folio_get_private,
  folio_mapcount,
  folio_put,
  folio_ref_count,
  folio_set_dirty,
  folio_test_dirty,
  folio_test_lru,
  folio_test_swapcache,
  folio_trylock,
  folio_try_get,
  folio_unlock,
  listFolios,
  lru_add_drain_all,
  mapFolioPtes,
  migrate_folio_steps,
  migrate_pages,
  putback_movable_pages,
  runSteps,
  swap_cache_lookup,
  type Folio,
  type FreeDispatchStrategy,
  type MmMigratePagesEvent,
} from '@mm/core';
import { allocator, anonFolios, isolateAll } from './migrate-fixtures.js';

const STRATEGIES: FreeDispatchStrategy[] = ['owner-ops', 'mainline'];

describe.each(STRATEGIES)('migrate_pages (mm/migrate.c) under %s', (strategy) => {
  it('moves anonymous folios: mappings, references, LRU membership and counters go to the destinations; sources are freed', () => {
    const m = createMachine({ memory: '64M', debugVm: true, strategy });
    const av = anon_vma_alloc(m);
    const src = anonFolios(m, 8, 0, av);
    const node = m.nodes[0]!.vmstat;
    expect(node[NR_NODE.nr_anon_pages]).toBe(8);
    const from = isolateAll(m, src);
    expect(node[NR_NODE.nr_isolated_anon]).toBe(8);
    const events: MmMigratePagesEvent[] = [];
    m.trace.on('mm_migrate_pages', (e) => events.push(e));
    const { alloc, given } = allocator(m);
    const ok = { value: -1 };
    const rc = migrate_pages(m, from, alloc, null, undefined, MIGRATE_MODE.MIGRATE_ASYNC, MR.MR_SYSCALL, ok);
    expect(rc).toBe(0);
    expect(from.empty).toBe(true);
    expect(ok.value).toBe(8);
    expect(m.vmEvents[VM_EVENT.pgmigrate_success]).toBe(8);
    expect(m.vmEvents[VM_EVENT.pgmigrate_fail]).toBe(0);
    expect(events).toEqual([{ succeeded: 8, failed: 0, thp_succeeded: 0, thp_failed: 0, thp_split: 0, large_folio_split: 0, mode: 0, reason: MR.MR_SYSCALL }]);
    lru_add_drain_all(m);
    expect(given).toHaveLength(8);
    for (let i = 0; i < 8; i++) {
      const d = given[i]!;
      // One PTE mapping, so one reference; anonymous with the same anon_vma and index; on the LRU.
      expect(folio_ref_count(m, d)).toBe(1);
      expect(folio_mapcount(m, d)).toBe(1);
      expect(m.memmap.mapping[d]).toBe(av.ptr);
      expect(m.memmap.index[d]).toBe(i);
      expect(folio_test_lru(m, d)).toBe(true);
      // The source was freed: refcount 0, no mapping.
      expect(folio_ref_count(m, src[i]!)).toBe(0);
      expect(m.memmap.mapping[src[i]!]).toBe(0);
    }
    expect(node[NR_NODE.nr_isolated_anon]).toBe(0);
    expect(node[NR_NODE.nr_anon_pages]).toBe(8);
    expect(node[NR_NODE.nr_inactive_anon]).toBe(8);
    expect(m.nrBadPages).toBe(0); // every source passed the free path's bad-page checks
  });

  it('moves a page-cache folio with private data, dirty bit and a mapping across nodes (the cache slot and NR_FILE_PAGES follow)', () => {
    const m = createMachine({ memory: '128M', nodes: 2, debugVm: true, strategy });
    const file = createAddressSpace(m, { name: 'f' });
    const f = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0, 0) as Folio;
    expect(filemap_add_folio(m, file, f, 7)).toBe(0);
    folio_unlock(m, f);
    folio_put(m, f); // the reader's reference; the cache keeps its own
    mapFolioPtes(m, f);
    folio_attach_private(m, f, 0xbeef);
    folio_set_dirty(m, f);
    lru_add_drain_all(m);
    // cache + PTE + PG_private (folio_expected_ref_count) and nothing else
    expect(folio_ref_count(m, f)).toBe(3);
    const from = isolateAll(m, [f]);
    const { alloc, given } = allocator(m, 1);
    expect(migrate_pages(m, from, alloc, null, undefined, MIGRATE_MODE.MIGRATE_SYNC, MR.MR_NUMA_MISPLACED)).toBe(0);
    lru_add_drain_all(m);
    const d = given[0]!;
    expect(m.memmap.flags[d]! >>> 27).toBe(1);
    expect(file.i_pages.get(7)).toBe(d);
    expect(m.memmap.mapping[d]).toBe(file.ptr);
    expect(m.memmap.index[d]).toBe(7);
    expect(folio_get_private(m, d)).toBe(0xbeef);
    expect(folio_test_dirty(m, d)).toBe(true);
    expect(folio_ref_count(m, d)).toBe(3);
    expect(folio_ref_count(m, f)).toBe(0);
    expect([m.nodes[0]!.vmstat[NR_NODE.nr_file_pages], m.nodes[1]!.vmstat[NR_NODE.nr_file_pages]]).toEqual([0, 1]);
    expect([m.nodes[0]!.vmstat[NR_NODE.nr_mapped], m.nodes[1]!.vmstat[NR_NODE.nr_mapped]]).toEqual([0, 1]);
    expect(filemap_get_folio(m, file, 7)).toBe(d);
  });

  it('moves a swap-cache folio: the entry, PG_swapcache and the cache reference go to the destination', () => {
    const m = createMachine({ memory: '64M', debugVm: true, strategy });
    const [f] = anonFolios(m, 1) as [Folio];
    expect(folio_trylock(m, f)).toBe(true);
    expect(add_to_swap_cache(m, f, 100)).toBe(0);
    folio_unlock(m, f);
    expect(folio_ref_count(m, f)).toBe(2); // PTE + swap cache
    const { alloc, given } = allocator(m);
    expect(migrate_pages(m, isolateAll(m, [f]), alloc, null, undefined, MIGRATE_MODE.MIGRATE_SYNC_LIGHT, MR.MR_COMPACTION)).toBe(0);
    lru_add_drain_all(m);
    const d = given[0]!;
    expect(swap_cache_lookup(m, 100)).toBe(d);
    expect(folio_test_swapcache(m, d)).toBe(true);
    expect(m.memmap.private[d]).toBe(100);
    expect(folio_ref_count(m, d)).toBe(2);
    expect(m.nodes[0]!.vmstat[NR_NODE.nr_swapcached]).toBe(1);
  });

  it('moves a PMD-sized THP as one folio: thp_migration_success counts the THP, pgmigrate_success its 512 pages', () => {
    const m = createMachine({ memory: '64M', debugVm: true, strategy });
    const [thp] = anonFolios(m, 1, 9) as [Folio];
    expect(folio_ref_count(m, thp)).toBe(512); // one reference per PTE
    const { alloc, given } = allocator(m);
    expect(migrate_pages(m, isolateAll(m, [thp]), alloc, null, undefined, MIGRATE_MODE.MIGRATE_ASYNC, MR.MR_COMPACTION)).toBe(0);
    const d = given[0]!;
    expect(folio_mapcount(m, d)).toBe(512);
    expect(folio_ref_count(m, d)).toBe(512);
    expect(m.vmEvents[VM_EVENT.thp_migration_success]).toBe(1);
    expect(m.vmEvents[VM_EVENT.pgmigrate_success]).toBe(512);
    expect(m.nodes[0]!.vmstat[NR_NODE.nr_anon_pages]).toBe(512);
  });

  it('a speculative reference taken after isolation makes the move -EAGAIN on every pass; the folio fails and goes back; without it, it migrates', () => {
    const m = createMachine({ memory: '64M', debugVm: true, strategy });
    const [f] = anonFolios(m, 1) as [Folio];
    const from = isolateAll(m, [f]);
    expect(folio_try_get(m, f)).toBe(true); // e.g. a GUP-fast or PFN walker elsewhere
    const { alloc, given } = allocator(m);
    let puts = 0;
    const put = (d: Folio): void => {
      puts++;
      folio_put(m, d);
    };
    // MIGRATE_ASYNC: NR_MAX_MIGRATE_PAGES_RETRY passes of the move phase all see refcount 2 != expected 1.
    expect(migrate_pages(m, from, alloc, put, undefined, MIGRATE_MODE.MIGRATE_ASYNC, MR.MR_SYSCALL)).toBe(1);
    expect(listFolios(m, from)).toEqual([f]);
    expect(given).toHaveLength(1); // the destination stays paired across the move passes
    expect(puts).toBe(1); // and is released once at the end
    expect(m.vmEvents[VM_EVENT.pgmigrate_fail]).toBe(1);
    expect(folio_mapcount(m, f)).toBe(1); // the mapping was restored
    putback_movable_pages(m, from);
    folio_put(m, f); // the speculative reference is dropped
    lru_add_drain_all(m);
    const again = isolateAll(m, [f]);
    expect(migrate_pages(m, again, alloc, put, undefined, MIGRATE_MODE.MIGRATE_ASYNC, MR.MR_SYSCALL)).toBe(0);
    expect(m.vmEvents[VM_EVENT.pgmigrate_success]).toBe(1);
    expect(folio_ref_count(m, f)).toBe(0);
  });

  it('stepped: the reference arrives between unmap and freeze; the pass fails with -EAGAIN and the next pass, without it, succeeds', () => {
    const m = createMachine({ memory: '64M', debugVm: true, strategy });
    const [f] = anonFolios(m, 1) as [Folio];
    const from = isolateAll(m, [f]);
    const failed = new ListHead();
    const { alloc, given } = allocator(m);
    const g = migrate_folio_steps(m, f, from, alloc, null, undefined, MIGRATE_MODE.MIGRATE_SYNC, MR.MR_SYSCALL, failed, 2);
    const labels: string[] = [];
    let r = g.next();
    while (!r.done && r.value !== 'migrate_folio_move: __migrate_folio_extract') {
      labels.push(r.value);
      r = g.next();
    }
    expect(labels).toEqual([
      'migrate_folio_unmap: folio_ref_count(src) == 1?',
      'migrate_folio_unmap: get_new_folio',
      'migrate_folio_unmap: folio_trylock(src)',
      'migrate_folio_unmap: writeback check, folio_get_anon_vma',
      'migrate_folio_unmap: folio_trylock(dst)',
    ]);
    expect(folio_mapcount(m, f)).toBe(0); // unmapped: migration entries
    expect(folio_try_get(m, f)).toBe(true);
    r = g.next();
    expect(r.value).toBe('migrate_folio_move: folio_ref_count(src) == expected?');
    r = g.next(); // pass 1 failed (-EAGAIN); pass 2 starts
    expect(r.value).toBe('migrate_folio_move: __migrate_folio_extract');
    folio_put(m, f); // the other CPU is done with it
    expect(runSteps(g)).toBe(0);
    expect(from.empty && failed.empty).toBe(true);
    expect(folio_mapcount(m, given[0]!)).toBe(1);
  });

  it('-ENOMEM stops early; batches hold NR_MAX_BATCHED_MIGRATION base pages, so a failure in the second batch leaves its folios on from', () => {
    const m = createMachine({ memory: '64M', debugVm: false, strategy });
    const src = anonFolios(m, 600);
    const from = isolateAll(m, src);
    let calls = 0;
    const alloc = (): Folio | -1 => (++calls > NR_MAX_BATCHED_MIGRATION ? -1 : (folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0) as Folio | -1));
    expect(migrate_pages(m, from, alloc, null, undefined, MIGRATE_MODE.MIGRATE_ASYNC, MR.MR_COMPACTION)).toBe(-ENOMEM);
    // The first batch (512 folios) migrated; the second stopped at its first folio.
    expect(m.vmEvents[VM_EVENT.pgmigrate_success]).toBe(512);
    expect(m.vmEvents[VM_EVENT.pgmigrate_fail]).toBe(1);
    expect(from.length).toBe(600 - 512);
    putback_movable_pages(m, from);
    expect(m.nodes[0]!.vmstat[NR_NODE.nr_isolated_anon]).toBe(0);
    m.checkInvariants('after putback');
  });

  it('a locked source cannot be migrated without blocking: every pass allocates and releases a destination, then it fails', () => {
    const m = createMachine({ memory: '64M', debugVm: true, strategy });
    const [f] = anonFolios(m, 1) as [Folio];
    expect(folio_trylock(m, f)).toBe(true); // someone holds the folio lock
    const from = isolateAll(m, [f]);
    const { alloc, given } = allocator(m);
    const freed: Folio[] = [];
    const put = (d: Folio): void => {
      freed.push(d);
      folio_put(m, d);
    };
    expect(migrate_pages(m, from, alloc, put, undefined, MIGRATE_MODE.MIGRATE_ASYNC, MR.MR_COMPACTION)).toBe(1);
    // folio_trylock(src) fails after get_new_folio on each of the NR_MAX_MIGRATE_PAGES_RETRY passes.
    expect(given).toHaveLength(NR_MAX_MIGRATE_PAGES_RETRY);
    expect(freed).toEqual(given);
    expect(listFolios(m, from)).toEqual([f]);
    // MIGRATE_SYNC: 3 asynchronous passes, then 7 synchronous ones (the model cannot sleep on the lock).
    const again = allocator(m);
    expect(migrate_pages(m, from, again.alloc, null, undefined, MIGRATE_MODE.MIGRATE_SYNC, MR.MR_COMPACTION)).toBe(1);
    expect(again.given).toHaveLength(10);
    folio_unlock(m, f);
    putback_movable_pages(m, from);
    expect(PageBuddy(m, again.given[0]!) || folio_ref_count(m, again.given[0]!) === 0).toBe(true);
  });

  it('a folio freed under us (only the isolation reference left) counts as migrated without a destination', () => {
    const m = createMachine({ memory: '64M', debugVm: true, strategy });
    const f = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0) as Folio;
    __folio_set_swapbacked(m, f);
    folio_add_lru(m, f);
    lru_add_drain_all(m);
    const from = isolateAll(m, [f]);
    folio_put(m, f); // the owner's last reference goes while it is isolated
    const { alloc, given } = allocator(m);
    expect(migrate_pages(m, from, alloc, null, undefined, MIGRATE_MODE.MIGRATE_ASYNC, MR.MR_COMPACTION)).toBe(0);
    expect(given).toEqual([]);
    expect(m.vmEvents[VM_EVENT.pgmigrate_success]).toBe(1);
    expect(folio_ref_count(m, f)).toBe(0);
  });
});
