import { describe, expect, it } from 'vitest';
import {
  EINVAL,
  GFP_KERNEL,
  GFP,
  MmError,
  PG,
  PGTY,
  PAGE_TYPE_NONE,
  __SetPageOffline,
  __SetPageZsmalloc,
  __ClearPageOffline,
  PageOffline,
  PageTail,
  PageHead,
  TAIL_MAPPING,
  alloc_pages,
  asFolio,
  asPfn,
  captureMachineState,
  compound_head,
  compound_order,
  createMachine,
  diffMachineState,
  folio_nr_pages,
  folio_order,
  folio_mapcount,
  folio_test_large,
  page_folio,
  page_get_type,
  page_has_type,
  pageflags,
  pageTypeData,
  setPageTypeData,
  __free_pages,
  folio_test_locked,
  folio_set_locked,
  folio_clear_locked,
  PageLocked,
  folio_test_set_locked,
  dump_page,
  pfn_ptr,
  TAIL_BIT,
} from '@mm/core';

const machine = () => createMachine({ memory: '64M', debugVm: true });

describe('page flags (include/linux/page-flags.h)', () => {
  it('keep the kernel bit numbers and aliases', () => {
    expect([PG.locked, PG.uptodate, PG.lru, PG.head, PG.reserved, PG.private, PG.reclaim, PG.hwpoison]).toEqual([0, 3, 5, 6, 13, 14, 16, 21]);
    expect(PG.movable_ops).toBe(PG.uptodate);
    expect(PG.movable_ops_isolated).toBe(PG.reclaim);
    expect(PG.swapcache).toBe(PG.owner_priv_1);
  });

  it('generates folio_* and Page* helpers from one table, with PF_HEAD acting on the head', () => {
    const m = machine();
    const f = alloc_pages(m, GFP_KERNEL | GFP.__GFP_COMP, 2);
    if (f < 0) throw new Error('alloc');
    const folio = asFolio(f);
    expect(folio_test_locked(m, folio)).toBe(false);
    expect(folio_test_set_locked(m, folio)).toBe(false);
    expect(PageLocked(m, asPfn(f + 3))).toBe(true); // a tail reads its head's PG_locked
    expect(m.memmap.flags[f + 3]! & 1).toBe(0);
    folio_clear_locked(m, folio);
    expect(PageLocked(m, folio)).toBe(false);
    folio_set_locked(m, folio);
    folio_clear_locked(m, folio);
    expect(typeof pageflags.__SetPageReserved).toBe('function');
    expect(typeof pageflags.folio_test_clear_lru).toBe('function');
    __free_pages(m, folio, 2);
  });
});

describe('page types (page_type overlays _mapcount)', () => {
  it('set and clear follow the kernel rules; the low 24 bits belong to the owner', () => {
    const m = machine();
    const p = alloc_pages(m, GFP_KERNEL, 0) as number;
    const pfn = asPfn(p);
    expect(m.memmap.mapcount[p]).toBe(PAGE_TYPE_NONE);
    __SetPageOffline(m, pfn);
    expect(page_has_type(m, pfn)).toBe(true);
    expect(page_get_type(m, pfn)).toBe(PGTY.offline);
    expect(m.memmap.mapcount[p]! >>> 0).toBe(0xf1000000);
    __SetPageOffline(m, pfn); // setting the same type again is a no-op
    setPageTypeData(m, pfn, 0x123456);
    expect(pageTypeData(m, pfn)).toBe(0x123456);
    expect(PageOffline(m, pfn)).toBe(true);
    // A typed page reports mapcount 0.
    expect(folio_mapcount(m, asFolio(p))).toBe(0);
    // Setting a second type is refused and changes nothing.
    const before = captureMachineState(m);
    const err = (() => {
      try {
        __SetPageZsmalloc(m, pfn);
      } catch (e) {
        return e as MmError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(MmError);
    expect(err!.errno).toBe(EINVAL);
    expect(err!.pfn).toBe(p);
    expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
    __ClearPageOffline(m, pfn);
    expect(m.memmap.mapcount[p]).toBe(PAGE_TYPE_NONE); // leftover low bits never survive a clear
    __free_pages(m, pfn, 0);
  });

  it('the allocator clears any page type on free (series 2, sticky until freed)', () => {
    const m = machine();
    const p = asPfn(alloc_pages(m, GFP_KERNEL, 0) as number);
    __SetPageOffline(m, p);
    __free_pages(m, p, 0);
    expect(page_has_type(m, p)).toBe(false);
    expect(m.nrBadPages).toBe(0);
  });

  it('without sticky page types a typed page reaching the allocator is a bad page (pre-6.17)', () => {
    const m = createMachine({ memory: '64M', stickyPageTypes: false });
    const p = asPfn(alloc_pages(m, GFP_KERNEL, 0) as number);
    const bad: string[] = [];
    m.trace.on('bad_page', (e) => bad.push(e.reason));
    __SetPageOffline(m, p);
    __free_pages(m, p, 0);
    expect(bad).toEqual(['nonzero mapcount']);
    expect(m.nrBadPages).toBe(1);
    expect(m.memmap.refcount[p]).toBe(0); // leaked: on no free list
  });
});

describe('compound pages (prep_compound_page)', () => {
  it('tails point at the head with bit 0; order and nr_pages live on page 1', () => {
    const m = machine();
    const h = alloc_pages(m, GFP_KERNEL | GFP.__GFP_COMP, 3) as number;
    const folio = asFolio(h);
    expect(folio_test_large(m, folio)).toBe(true);
    expect(folio_order(m, folio)).toBe(3);
    expect(folio_nr_pages(m, folio)).toBe(8);
    expect(compound_order(m, folio)).toBe(3);
    expect(PageHead(m, folio)).toBe(true);
    for (let i = 1; i < 8; i++) {
      const t = asPfn(h + i);
      expect(PageTail(m, t)).toBe(true);
      expect(m.memmap.lru[t]).toBe(pfn_ptr(h) | TAIL_BIT);
      expect(compound_head(m, t)).toBe(h);
      expect(page_folio(m, t)).toBe(h);
      expect(m.memmap.refcount[t]).toBe(0);
      if (i >= 3) expect(m.memmap.mapping[t]).toBe(TAIL_MAPPING);
    }
    expect(m.memmap.flags[h + 1]! & 0xff).toBe(3);
    expect(dump_page(m, h + 2)).toContain('head: pfn:0x' + h.toString(16) + ' order:3');
    __free_pages(m, folio, 3);
    for (let i = 1; i < 8; i++) expect(PageTail(m, asPfn(h + i))).toBe(false);
    expect(folio_test_large(m, folio)).toBe(false);
  });

  it('freeing a compound page with the wrong order is rejected and changes nothing', () => {
    const m = machine();
    const h = asPfn(alloc_pages(m, GFP_KERNEL | GFP.__GFP_COMP, 2) as number);
    const before = captureMachineState(m);
    expect(() => __free_pages(m, h, 1)).toThrowError(/compound page of order 2/);
    expect(() => __free_pages(m, asPfn(h + 1), 0)).toThrowError(/tail page/);
    expect(diffMachineState(before, captureMachineState(m))).toEqual([]);
  });
});
