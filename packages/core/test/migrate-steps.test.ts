import { describe, expect, it } from 'vitest';
import {
  GFP_HIGHUSER_MOVABLE,
  ListHead,
  MIGRATE_MODE,
  MR,
  NR_NODE,
  VM_EVENT,
  createMachine,
  folio_alloc,
  folio_put_steps,
  folio_ref_count,
  folio_trylock,
  folio_unlock,
  isolate_lru_folio_steps,
  listFolios,
  lru_add_drain_all,
  migrate_folio_steps,
  migrate_pages,
  putback_movable_pages_steps,
  runSteps,
  zapFolioPtes,
  type Folio,
  type FolioFreedEvent,
} from '@mm/core';
import { allocator, anonFolios, isolateAll } from './migrate-fixtures.js';

describe('stepped racy paths (the [explore] API)', () => {
  it('a stepped MIGRATE_SYNC migration waits (blocked) on a folio lock held by another CPU, then proceeds', () => {
    const m = createMachine({ memory: '64M', debugVm: true });
    const [f] = anonFolios(m, 1) as [Folio];
    const from = isolateAll(m, [f]);
    expect(folio_trylock(m, f)).toBe(true); // CPU B holds the folio lock
    const { alloc } = allocator(m);
    const a = migrate_folio_steps(m, f, from, alloc, null, undefined, MIGRATE_MODE.MIGRATE_SYNC, MR.MR_SYSCALL, new ListHead());
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) seen.push(a.next().value as string);
    expect(seen.slice(2)).toEqual(Array(3).fill('migrate_folio_unmap: folio_trylock(src) (blocked)'));
    folio_unlock(m, f); // CPU B is done
    expect(runSteps(a)).toBe(0);
    expect(m.vmEvents[VM_EVENT.pgmigrate_success]).toBe(0); // counters belong to migrate_pages(), not to one folio's steps
    expect(folio_ref_count(m, f)).toBe(0);
  });

  it('isolation races with the owner dropping the folio: migration finds it freed under us and needs no destination', () => {
    const m = createMachine({ memory: '64M', debugVm: true });
    const [f] = anonFolios(m, 1) as [Folio];
    const list = new ListHead();
    const a = isolate_lru_folio_steps(m, f, list);
    expect(a.next().value).toBe('folio_try_get');
    zapFolioPtes(m, f); // CPU B unmaps: its reference goes, ours keeps the folio
    expect(runSteps(a)).toBe(true);
    expect(listFolios(m, list)).toEqual([f]);
    expect(folio_ref_count(m, f)).toBe(1); // only the isolation reference
    const { alloc, given } = allocator(m);
    expect(migrate_pages(m, list, alloc, null, undefined, MIGRATE_MODE.MIGRATE_ASYNC, MR.MR_COMPACTION)).toBe(0);
    expect(given).toEqual([]);
    expect(m.vmEvents[VM_EVENT.pgmigrate_success]).toBe(1);
    expect(m.nodes[0]!.vmstat[NR_NODE.nr_isolated_anon]).toBe(0);
  });

  it('putback interleaved with another CPU putting the last mapping: the folio is freed exactly once, by whoever drops the last reference', () => {
    const m = createMachine({ memory: '64M', debugVm: true });
    const [f] = anonFolios(m, 1) as [Folio];
    const list = isolateAll(m, [f]); // refcount 2: the PTE and the isolation
    const freed: FolioFreedEvent[] = [];
    m.trace.on('folio_freed', (e) => freed.push(e));
    const a = putback_movable_pages_steps(m, list);
    expect(a.next().value).toBe('putback_movable_pages: list_del, NR_ISOLATED_*');
    expect(a.next().value).toBe('folio_putback_lru: folio_add_lru'); // refcount 3: + the lru_add batch
    // CPU B: the process unmaps it, dropping the PTE's reference in two steps.
    zapFolioPtes(m, f);
    expect(freed).toEqual([]);
    runSteps(a); // our isolation reference goes: 1 left, the batch's
    expect(freed).toEqual([]);
    lru_add_drain_all(m); // the batch's reference is the last

    expect(freed.map((e) => e.folio)).toEqual([f]);
    expect(folio_ref_count(m, f)).toBe(0);
  });

  it('folio_put_steps: the decrement and __folio_put are separate steps', () => {
    const m = createMachine({ memory: '64M', debugVm: true });
    const f = folio_alloc(m, GFP_HIGHUSER_MOVABLE, 0) as Folio;
    const g = folio_put_steps(m, f);
    expect(g.next().value).toBe('folio_put_testzero');
    expect(folio_ref_count(m, f)).toBe(0); // not freed yet: a folio_try_get now fails
    expect(runSteps(g)).toBe(true);
    expect(m.nrBadPages).toBe(0);
  });
});
