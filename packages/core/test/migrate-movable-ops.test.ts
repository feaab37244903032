import { describe, expect, it } from 'vitest';
import {
  EAGAIN,
  EBUSY,
  EINVAL,
  ISOLATE,
  ListHead,
  MIGRATE_MODE,
  MR,
  MmError,
  NR_NODE,
  PGTY,
  PageMovableOps,
  PageMovableOpsIsolated,
  VM_EVENT,
  captureMachineState,
  diffMachineState,
  drain_all_pages,
  folio_ref_count,
  folio_trylock,
  folio_unlock,
  isolate_movable_ops_page,
  isolate_movable_ops_page_steps,
  listAddTail,
  listFolios,
  lru_add_drain_all,
  migrate_pages,
  page_get_type,
  page_has_movable_ops,
  putback_movable_ops_page,
  putback_movable_pages,
  runSteps,
  set_movable_ops,
  type Folio,
  type FreeDispatchStrategy,
  type Pfn,
} from '@mm/core';
import { PGTY_TEST, allocator, anonFolios, machineWithPool } from './migrate-fixtures.js';

const STRATEGIES: FreeDispatchStrategy[] = ['owner-ops', 'mainline'];

function isolatedList(m: ReturnType<typeof machineWithPool>['m'], pages: Pfn[]): ListHead {
  const list = new ListHead();
  for (const p of pages) {
    expect(isolate_movable_ops_page(m, p, 0)).toBe(true);
    listAddTail(m, list, p as Folio);
  }
  return list;
}

describe('set_movable_ops registry (mm/migrate.c, v6.17)', () => {
  it('one table per type (EBUSY), null unregisters; only offline, zsmalloc and admitted plugin types (EINVAL); nothing changes on rejection', () => {
    const { m, pool } = machineWithPool();
    expect(m.movableOps[PGTY_TEST]).toBe(pool); // installed at boot from the DI container
    const before = captureMachineState(m);
    const table = m.movableOps.slice();
    const err = (f: () => void): MmError => {
      try {
        f();
      } catch (e) {
        return e as MmError;
      }
      throw new Error('no error');
    };
    expect(err(() => set_movable_ops(m, pool, PGTY_TEST)).errno).toBe(EBUSY);
    for (const t of [PGTY.buddy, PGTY.table, PGTY.hugetlb, PGTY.slab, 0xfa]) {
      const e = err(() => set_movable_ops(m, pool, t));
      expect(e).toBeInstanceOf(MmError);
      expect(e.errno).toBe(EINVAL);
    }
    expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
    expect(m.movableOps).toEqual(table);
    set_movable_ops(m, null, PGTY_TEST);
    expect(m.movableOps[PGTY_TEST]).toBe(null);
    set_movable_ops(m, pool, PGTY.offline); // offline is always allowed
    expect(m.movableOps[PGTY.offline]).toBe(pool);
  });
});

describe.each(STRATEGIES)('movable_ops pages under %s', (strategy) => {
  it('isolate_movable_ops_page: takes a reference and PG_movable_ops_isolated on success; every failure exit leaves the page as it was', () => {
    const { m, pool } = machineWithPool({ strategy });
    const p = pool.take();
    expect(page_has_movable_ops(m, p)).toBe(true);
    // Locked by someone: trylock fails.
    expect(folio_trylock(m, p as Folio)).toBe(true);
    let before = captureMachineState(m);
    expect(isolate_movable_ops_page(m, p, 0)).toBe(false);
    expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
    folio_unlock(m, p as Folio);
    // The owner refuses.
    pool.refuseIsolate = true;
    before = captureMachineState(m);
    expect(isolate_movable_ops_page(m, p, 0)).toBe(false);
    expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
    pool.refuseIsolate = false;
    // Success.
    expect(isolate_movable_ops_page(m, p, ISOLATE.ISOLATE_UNEVICTABLE)).toBe(true);
    expect(PageMovableOpsIsolated(m, p)).toBe(true);
    expect(folio_ref_count(m, p as Folio)).toBe(2);
    // Already isolated: fails without calling the owner again.
    before = captureMachineState(m);
    const calls = pool.log.length;
    expect(isolate_movable_ops_page(m, p, 0)).toBe(false);
    expect(pool.log.length).toBe(calls);
    expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
    // Not a movable_ops page (an LRU folio): fails before locking.
    const [f] = anonFolios(m, 1) as [Folio];
    before = captureMachineState(m);
    expect(isolate_movable_ops_page(m, f, 0)).toBe(false);
    expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
    putback_movable_ops_page(m, p);
    expect(PageMovableOpsIsolated(m, p)).toBe(false);
    expect(folio_ref_count(m, p as Folio)).toBe(1);
    expect(pool.owned.has(p)).toBe(true);
  });

  it('migrate_pages hands movable_ops pages to the owner: the old page is freed (its sticky type with it), the new one is owned', () => {
    const { m, pool } = machineWithPool({ strategy });
    const pages = [pool.take(), pool.take(), pool.take()];
    const from = isolatedList(m, pages);
    const { alloc, given } = allocator(m);
    expect(migrate_pages(m, from, alloc, null, undefined, MIGRATE_MODE.MIGRATE_SYNC, MR.MR_COMPACTION)).toBe(0);
    expect(m.vmEvents[VM_EVENT.pgmigrate_success]).toBe(3);
    for (let i = 0; i < 3; i++) {
      const old = pages[i]!;
      const d = given[i]!;
      // The type stayed until the allocator freed the page (sticky), then went with PG_movable_ops.
      expect(page_get_type(m, old)).toBe(null);
      expect(PageMovableOps(m, old)).toBe(false);
      expect(folio_ref_count(m, old as Folio)).toBe(0);
      expect(page_get_type(m, d)).toBe(PGTY_TEST);
      expect(page_has_movable_ops(m, d)).toBe(true);
      expect(folio_ref_count(m, d)).toBe(1); // the owner's
      expect(pool.owned.has(d)).toBe(true);
    }
    // movable_ops pages are not counted in NR_ISOLATED_*.
    expect(m.nodes[0]!.vmstat[NR_NODE.nr_isolated_anon]).toBe(0);
  });

  it('an owner error: -EAGAIN is retried on every pass, then the page stays isolated on from and goes back with putback_movable_pages', () => {
    const { m, pool } = machineWithPool({ strategy });
    const p = pool.take();
    const from = isolatedList(m, [p]);
    pool.migrateRc = -EAGAIN;
    const { alloc, given } = allocator(m);
    expect(migrate_pages(m, from, alloc, null, undefined, MIGRATE_MODE.MIGRATE_ASYNC, MR.MR_COMPACTION)).toBe(1);
    expect(pool.log.filter((l) => l.startsWith('migrate')).length).toBe(10); // NR_MAX_MIGRATE_PAGES_RETRY move passes
    expect(given).toHaveLength(1);
    expect(folio_ref_count(m, given[0]!)).toBe(0); // the unused destination was released
    expect(PageMovableOpsIsolated(m, p)).toBe(true);
    expect(listFolios(m, from)).toEqual([p]);
    pool.migrateRc = -EBUSY; // permanent: tried once per call
    expect(migrate_pages(m, from, alloc, null, undefined, MIGRATE_MODE.MIGRATE_ASYNC, MR.MR_COMPACTION)).toBe(1);
    expect(pool.log.filter((l) => l.startsWith('migrate')).length).toBe(11);
    putback_movable_pages(m, from);
    expect(pool.owned.has(p) && !PageMovableOpsIsolated(m, p)).toBe(true);
    expect(folio_ref_count(m, p as Folio)).toBe(1);
    expect(m.vmEvents[VM_EVENT.pgmigrate_fail]).toBe(2);
  });

  it('a page the owner releases while isolated stays typed (sticky) until the isolation reference is dropped', () => {
    const { m, pool } = machineWithPool({ strategy });
    const p = pool.take();
    const from = isolatedList(m, [p]);
    pool.isolated.delete(p);
    pool.release(p); // the owner lets go: refcount 2 -> 1 (ours)
    expect(page_has_movable_ops(m, p)).toBe(true); // still identifiable as movable_ops
    putback_movable_pages(m, from); // the owner's putback is called, then our put frees it
    expect(folio_ref_count(m, p as Folio)).toBe(0);
    expect(page_get_type(m, p)).toBe(null);
  });

  it('stepped isolation interleaved with the owner freeing the page: the speculative reference keeps it alive until our put', () => {
    const { m, pool } = machineWithPool({ strategy });
    const p = pool.take();
    const g = isolate_movable_ops_page_steps(m, p, 0);
    expect(g.next().value).toBe('isolate_movable_ops_page: folio_get_nontail_page');
    pool.release(p); // another CPU: the owner drops its reference (refcount 2 -> 1)
    expect(runSteps(g)).toBe(false); // its isolate_page refuses a page it no longer owns
    expect(folio_ref_count(m, p as Folio)).toBe(0); // our put freed it
    expect(page_get_type(m, p)).toBe(null);
  });
});

describe('bad input is rejected with MmError before anything changes', () => {
  it('migrating a movable_ops page that was not isolated', () => {
    const { m, pool } = machineWithPool();
    const p = pool.take();
    const list = new ListHead();
    listAddTail(m, list, p as Folio);
    const before = captureMachineState(m);
    const { alloc } = allocator(m);
    expect(() => migrate_pages(m, list, alloc, null, undefined, MIGRATE_MODE.MIGRATE_ASYNC, MR.MR_COMPACTION)).toThrow(MmError);
    expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
  });

  it('putting a folio that is still on the LRU on a migration list', () => {
    const { m } = machineWithPool();
    const [f] = anonFolios(m, 1) as [Folio];
    const before = captureMachineState(m);
    expect(() => listAddTail(m, new ListHead(), f)).toThrow(/not isolated/);
    expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
  });

  it('putting back a page that is not isolated', () => {
    const { m, pool } = machineWithPool();
    const p = pool.take();
    lru_add_drain_all(m);
    drain_all_pages(m, null);
    const before = captureMachineState(m);
    expect(() => putback_movable_ops_page(m, p)).toThrow(MmError);
    const list = new ListHead();
    listAddTail(m, list, p as Folio);
    const listed = captureMachineState(m);
    expect(() => putback_movable_pages(m, list)).toThrow(/not isolated/);
    expect(diffMachineState(listed, captureMachineState(m))).toEqual([]);
    expect(diffMachineState(before, captureMachineState(m)).every((d) => d.startsWith('memmap.lru'))).toBe(true);
  });
});
