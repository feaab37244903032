import { describe, expect, it } from 'vitest';
import {
  EINVAL,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  MmError,
  NR_ZONE,
  __folio_set_slab,
  alloc_pages,
  asFolio,
  asPfn,
  captureMachineState,
  createMachine,
  diffMachineState,
  folio_alloc,
  folio_get,
  folio_put,
  folio_put_refs,
  folio_ref_count,
  folio_ref_freeze,
  folio_ref_unfreeze,
  folio_try_get,
  folios_put,
  folios_put_refs,
  get_page,
  put_page,
  folio_get_nontail_page,
  type Folio,
  type Machine,
} from '@mm/core';

const machine = (): Machine => createMachine({ memory: '64M', debugVm: true });
const newFolio = (m: Machine, order = 0): Folio => {
  const f = folio_alloc(m, GFP_HIGHUSER_MOVABLE, order);
  if (f === -1) throw new Error('folio_alloc failed');
  return f;
};
const zoneFree = (m: Machine): number => m.zones.reduce((s, z) => s + z.vmstat[NR_ZONE.nr_free_pages]!, 0);
const pcpPages = (m: Machine): number => m.zones.reduce((s, z) => s + z.per_cpu_pageset.reduce((t, p) => t + p.count, 0), 0);

describe('folio reference counts (include/linux/mm.h, mm/swap.c)', () => {
  it('a new folio has refcount 1; get/put move it; the last put frees it to the allocator', () => {
    const m = machine();
    const freeBefore = zoneFree(m) + pcpPages(m);
    const f = newFolio(m);
    expect(folio_ref_count(m, f)).toBe(1);
    expect(zoneFree(m) + pcpPages(m)).toBe(freeBefore - 1);
    folio_get(m, f);
    expect(folio_ref_count(m, f)).toBe(2);
    folio_put(m, f);
    folio_put(m, f);
    expect(folio_ref_count(m, f)).toBe(0);
    // order-0 pages go back through this CPU's pcp list; free + pcp is what it was.
    expect(zoneFree(m) + pcpPages(m)).toBe(freeBefore);
  });

  it('folio_try_get fails on a free folio and on a frozen one', () => {
    const m = machine();
    const f = newFolio(m);
    folio_get(m, f);
    expect(folio_ref_freeze(m, f, 3)).toBe(false); // count is 2, not 3
    expect(folio_ref_freeze(m, f, 2)).toBe(true);
    expect(folio_try_get(m, f)).toBe(false);
    folio_ref_unfreeze(m, f, 2);
    expect(folio_try_get(m, f)).toBe(true);
    expect(folio_ref_count(m, f)).toBe(3);
    folio_put_refs(m, f, 3);
    expect(folio_try_get(m, f)).toBe(false);
  });

  it('rejects misuse with MmError and leaves the machine unchanged', () => {
    const m = machine();
    const f = newFolio(m, 2);
    const free = newFolio(m);
    folio_put(m, free);
    const before = captureMachineState(m);
    const cases: [string, () => void][] = [
      ['put on a free folio', () => folio_put(m, free)],
      ['get on a free folio', () => folio_get(m, free)],
      ['a tail page where a folio is required', () => folio_put(m, asFolio(f + 1))],
      ['dropping more references than held', () => folio_put_refs(m, f, 2)],
      ['unfreeze of a live folio', () => folio_ref_unfreeze(m, f, 1)],
      ['unfreeze to 0', () => folio_ref_unfreeze(m, free, 0)],
      ['a PFN out of range', () => folio_put(m, asFolio(1 << 30))],
      ['a batch with one free folio', () => folios_put(m, [f, free])],
      ['a batch entry dropping 0 references', () => folios_put_refs(m, [f, f], [1, 0])],
      ['a fractional count', () => folios_put_refs(m, [f, f], [0.5, 0.5])],
      ['counts that do not match the folios', () => folios_put_refs(m, [f], [1, 1])],
    ];
    for (const [what, call] of cases) {
      let err: unknown = null;
      try {
        call();
      } catch (e) {
        err = e;
      }
      expect(err, what).toBeInstanceOf(MmError);
      expect((err as MmError).errno, what).toBe(EINVAL);
      expect(diffMachineState(before, captureMachineState(m)), what).toEqual([]);
    }
  });

  it('get_page/put_page act on the head; slab folios are refused by get_page and ignored by put_page', () => {
    const m = machine();
    const f = newFolio(m, 3);
    get_page(m, asPfn(f + 5));
    expect(folio_ref_count(m, f)).toBe(2);
    expect(m.memmap.refcount[f + 5]).toBe(0);
    put_page(m, asPfn(f + 5));
    expect(folio_ref_count(m, f)).toBe(1);
    const s = asFolio(alloc_pages(m, GFP_KERNEL, 0) as number);
    __folio_set_slab(m, s);
    expect(() => get_page(m, s)).toThrowError(/slab/);
    put_page(m, s);
    expect(folio_ref_count(m, s)).toBe(1);
  });

  it('folio_get_nontail_page takes a reference only on a live non-tail page', () => {
    const m = machine();
    const f = newFolio(m, 1);
    expect(folio_get_nontail_page(m, asPfn(f + 1))).toBeNull(); // tail: own count is 0
    expect(folio_get_nontail_page(m, f)).toBe(f);
    expect(folio_ref_count(m, f)).toBe(2);
  });

  it('folios_put frees every folio that reaches 0 and keeps the others', () => {
    const m = machine();
    const a = newFolio(m);
    const b = newFolio(m, 2);
    const c = newFolio(m);
    folio_get(m, c);
    const freed: number[] = [];
    m.trace.on('mm_page_free_batched', (e) => freed.push(e.pfn));
    folios_put(m, [a, b, c]);
    expect(freed).toEqual([a, b]);
    expect(folio_ref_count(m, c)).toBe(1);
  });
});
