import { describe, expect, it } from 'vitest';
import {
  EINVAL,
  GFP_HIGHUSER_MOVABLE,
  LRU,
  MmError,
  NR_NODE,
  __folio_set_active,
  __folio_set_swapbacked,
  createMachine,
  folio_add_lru,
  folio_alloc,
  folio_isolate_lru,
  folio_put,
  folio_putback_lru,
  folio_ref_count,
  folio_test_lru,
  lru_add_drain,
  lru_add_drain_all,
  FOLIO_BATCH_SIZE,
  PG,
  folio_test_active,
  folio_test_unevictable,
  type Folio,
  type Machine,
} from '@mm/core';

const anon = (m: Machine, order = 0): Folio => {
  const f = folio_alloc(m, GFP_HIGHUSER_MOVABLE, order) as Folio;
  __folio_set_swapbacked(m, f);
  return f;
};

describe('LRU lists (mm/swap.c, mm/vmscan.c)', () => {
  it('folio_add_lru queues on a per-CPU batch that holds a reference until drained', () => {
    const m = createMachine({ memory: '64M', debugVm: true });
    const f = anon(m);
    folio_add_lru(m, f);
    expect(folio_ref_count(m, f)).toBe(2); // caller + lru_add batch
    expect(folio_test_lru(m, f)).toBe(false);
    lru_add_drain(m);
    expect(folio_ref_count(m, f)).toBe(1);
    expect(folio_test_lru(m, f)).toBe(true);
    expect(m.nodes[0]!.vmstat[NR_NODE.nr_inactive_anon]).toBe(1);
    expect(m.nodes[0]!.lruvec.heads[LRU.INACTIVE_ANON]).toBe(f);
  });

  it('a full batch of FOLIO_BATCH_SIZE drains by itself; large folios drain at once', () => {
    const m = createMachine({ memory: '64M', debugVm: true });
    const folios = Array.from({ length: FOLIO_BATCH_SIZE }, () => anon(m));
    folios.forEach((f) => folio_add_lru(m, f));
    expect(folios.every((f) => folio_test_lru(m, f))).toBe(true);
    const thp = anon(m, 9);
    __folio_set_active(m, thp);
    folio_add_lru(m, thp);
    expect(folio_test_lru(m, thp)).toBe(true);
    expect(m.nodes[0]!.vmstat[NR_NODE.nr_active_anon]).toBe(512);
    expect(m.nodes[0]!.vmstat[NR_NODE.nr_inactive_anon]).toBe(FOLIO_BATCH_SIZE);
  });

  it('isolate takes a reference and unlinks; putback relinks and drops it; the last put leaves the LRU', () => {
    const m = createMachine({ memory: '64M', debugVm: true });
    const f = anon(m);
    folio_add_lru(m, f);
    lru_add_drain_all(m);
    expect(folio_isolate_lru(m, f)).toBe(true);
    expect(folio_ref_count(m, f)).toBe(2);
    expect(folio_test_lru(m, f)).toBe(false);
    expect(folio_isolate_lru(m, f)).toBe(false); // not on an LRU any more
    folio_putback_lru(m, f);
    lru_add_drain_all(m);
    expect(folio_ref_count(m, f)).toBe(1);
    expect(folio_test_lru(m, f)).toBe(true);
    folio_put(m, f); // __folio_put → page_cache_release
    expect(m.nodes[0]!.vmstat[NR_NODE.nr_inactive_anon]).toBe(0);
    expect(m.nodes[0]!.lruvec.heads[LRU.INACTIVE_ANON]).toBe(-1);
  });

  it('lru_add re-tests evictability: an mlocked folio goes to the unevictable list and loses PG_active', () => {
    const m = createMachine({ memory: '64M', debugVm: true });
    const f = anon(m);
    __folio_set_active(m, f);
    m.memmap.flags[f]! |= 1 << PG.mlocked;
    folio_add_lru(m, f);
    lru_add_drain(m);
    expect(folio_test_unevictable(m, f)).toBe(true);
    expect(folio_test_active(m, f)).toBe(false);
    expect(m.nodes[0]!.vmstat[NR_NODE.nr_unevictable]).toBe(1);
    expect(m.nodes[0]!.vmstat[NR_NODE.nr_active_anon]).toBe(0);
  });

  it('refuses to add a folio that is already on an LRU', () => {
    const m = createMachine({ memory: '64M', debugVm: true });
    const f = anon(m);
    folio_add_lru(m, f);
    expect(() => folio_add_lru(m, f)).toThrowError(MmError);
    lru_add_drain(m);
    try {
      folio_add_lru(m, f);
    } catch (e) {
      expect((e as MmError).errno).toBe(EINVAL);
    }
  });
});
