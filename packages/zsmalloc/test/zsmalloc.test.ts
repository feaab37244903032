import {
  EINVAL,
  ENOMEM,
  ENOSPC,
  NR_ZONE,
  PG,
  PGTY,
  PageZsmalloc,
  folio_trylock,
  folio_unlock,
  page_has_movable_ops,
  type Folio,
  type Machine,
  type Pfn,
} from '@mm/core';
import { describe, expect, it } from 'vitest';
import {
  ZS_INUSE_RATIO_0,
  ZS_INUSE_RATIO_100,
  async_free_zspage,
  get_size_class_index,
  zs_create_pool,
  zs_destroy_pool,
  zs_free,
  zs_get_total_pages,
  zs_malloc,
  zs_obj_read_begin,
  zs_obj_read_end,
  zs_pool_stats,
  zsPoolClassStats,
  zsmallocState,
} from '../src/index.js';
import { CONFIGS, freePages, pattern, readObj, writeObj, zsMachine, zspagePagesOf } from './helpers.js';

const zspages = (m: Machine): number => m.zones.reduce((n, z) => n + z.vmstat[NR_ZONE.nr_zspages]!, 0);

describe.each(CONFIGS)('zsmalloc lifecycle (%o)', (cfg) => {
  it('builds a zspage from order-0 pages chained through their struct pages', () => {
    const m = zsMachine(cfg);
    const pool = zs_create_pool(m, 'zram0');
    const free0 = freePages(m);
    const h = zs_malloc(m, pool, 200);
    expect(h).toBeGreaterThan(0);
    expect(h % 4).toBe(0);
    const pages = zspagePagesOf(m, h);
    // 200 + 8 = 208: class 11 chains 3 pages.
    expect(pages).toHaveLength(3);
    expect(zs_get_total_pages(m, pool)).toBe(3);
    expect(zspages(m)).toBe(3);
    expect(freePages(m)).toBe(free0 - 3);
    const zs = m.memmap.private[pages[0]!]! >>> 2;
    pages.forEach((p, i) => {
      expect(PageZsmalloc(m, p as Pfn)).toBe(true);
      expect(page_has_movable_ops(m, p as Pfn)).toBe(true);
      expect(m.memmap.private[p]).toBe(zs * 4);
      expect((m.memmap.flags[p]! & (1 << PG.private)) !== 0).toBe(i === 0);
      expect(m.memmap.refcount[p]).toBe(1);
      // next pointers: (pfn + 1) * 4, NULL at the end.
      expect(m.memmap.index[p]).toBe(i + 1 < pages.length ? (pages[i + 1]! + 1) * 4 : 0);
      expect(m.memmap.lru[p]).toBe(0);
      expect(m.memmap.mapping[p]).toBe(0);
    });
    zs_free(m, pool, h);
    expect(zs_get_total_pages(m, pool)).toBe(0);
    expect(zspages(m)).toBe(0);
    expect(freePages(m)).toBe(free0);
    for (const p of pages) {
      expect(m.memmap.mapcount[p]).toBe(-1);
      expect(m.memmap.refcount[p]).toBe(0);
      expect(m.memmap.private[p]).toBe(0);
    }
    expect(m.nrBadPages).toBe(0);
  });

  it('files zspages by usage ratio and allocates from the fullest', () => {
    const m = zsMachine(cfg);
    const pool = zs_create_pool(m, 'p');
    const cls = pool.size_class[get_size_class_index(208)]!;
    const hs: number[] = [];
    hs.push(zs_malloc(m, pool, 200));
    // 1 of 59 objects: 100 * 1 / 59 = 1 -> group 1 (ZS_INUSE_RATIO_10).
    expect(cls.stats[1]).toBe(1);
    for (let i = 1; i < 30; i++) hs.push(zs_malloc(m, pool, 200));
    // 30 of 59: 100 * 30 / 59 = 50 -> group 50 / 10 + 1 = 6.
    expect(cls.stats[6]).toBe(1);
    for (let i = 30; i < 59; i++) hs.push(zs_malloc(m, pool, 200));
    expect(cls.stats[ZS_INUSE_RATIO_100]).toBe(1);
    expect(zs_get_total_pages(m, pool)).toBe(3);
    // The 60th object needs a second zspage.
    hs.push(zs_malloc(m, pool, 200));
    expect(zs_get_total_pages(m, pool)).toBe(6);
    expect(cls.stats[1]).toBe(1);
    const row = zsPoolClassStats(m, pool).classes.find((c) => c.index === 11)!;
    expect(row.inuse[0]).toBe(1);
    expect(row.inuse[10]).toBe(1);
    expect([row.obj_allocated, row.obj_used, row.pages_used, row.freeable]).toEqual([118, 60, 6, 0]);
    // Free one object of the full zspage: it drops to group 10 (100 * 58 / 59 = 98 -> 9 + 1) and is
    // now the fullest non-full zspage, so the next allocation goes there, not to the one with 1 object.
    zs_free(m, pool, hs[0]!);
    expect(cls.stats[10]).toBe(1);
    const h = zs_malloc(m, pool, 200);
    expect(zspagePagesOf(m, h)).toEqual(zspagePagesOf(m, hs[1]!));
    for (const x of [...hs.slice(1), h]) zs_free(m, pool, x);
    expect(zs_get_total_pages(m, pool)).toBe(0);
  });

  it('stores bytes, including objects that cross a page boundary', () => {
    const m = zsMachine(cfg);
    const pool = zs_create_pool(m, 'p');
    // Class 208: object 19 starts at 19 * 208 = 3952 and crosses into the second page.
    const hs = Array.from({ length: 25 }, () => zs_malloc(m, pool, 200));
    hs.forEach((h, i) => writeObj(m, pool, h, 200, 1000 + i));
    hs.forEach((h, i) => expect(readObj(m, pool, h, 200)).toEqual(pattern(1000 + i, 200)));
    // A spanning object is copied into the caller's buffer, header first, as zs_obj_read_begin does.
    const local = new Uint8Array(208);
    const v = zs_obj_read_begin(m, pool, hs[19]!, 200, local);
    expect(v.buffer).toBe(local.buffer);
    expect(v.byteOffset).toBe(8);
    expect(v).toEqual(pattern(1019, 200));
    expect(new Uint32Array(local.buffer, 0, 2)).toEqual(Uint32Array.from([hs[19]! | 1, 0]));
    zs_obj_read_end(m, pool, hs[19]!, 200, v);
    const big = zs_malloc(m, pool, 4096);
    writeObj(m, pool, big, 4096, 7);
    expect(readObj(m, pool, big, 4096)).toEqual(pattern(7, 4096));
  });

  it('returns -EINVAL, -ENOSPC and -ENOMEM as ERR_PTR values', () => {
    // Filling the machine takes thousands of calls: check the invariants at the milestones only.
    const m = zsMachine({ ...cfg, memory: '16M', debugVm: false });
    const pool = zs_create_pool(m, 'p');
    expect(zs_malloc(m, pool, 0)).toBe(-EINVAL);
    expect(zs_malloc(m, pool, 4097)).toBe(-ENOSPC);
    expect(zs_malloc(m, pool, -1)).toBe(-ENOSPC);
    zs_free(m, pool, -EINVAL); // IS_ERR_OR_NULL handles are ignored, as in the kernel
    zs_free(m, pool, 0);
    const hs: number[] = [];
    for (;;) {
      const h = zs_malloc(m, pool, 4096);
      if (h < 0) {
        expect(h).toBe(-ENOMEM);
        break;
      }
      hs.push(h);
    }
    m.checkInvariants('full');
    const st = zsmallocState(m);
    const handles = st.handles.count;
    // Give one page back, then ask for an 8-page zspage (3624 + 8 = class 225): the allocation
    // fails part way and hands back every page it took.
    zs_free(m, pool, hs.pop()!);
    const free = freePages(m);
    expect(zs_malloc(m, pool, 3624)).toBe(-ENOMEM);
    expect(freePages(m)).toBe(free);
    expect(st.handles.count).toBe(handles - 1);
    expect(m.nrBadPages).toBe(0);
    m.checkInvariants('partial failure');
    for (const h of hs) zs_free(m, pool, h);
    expect(zs_get_total_pages(m, pool)).toBe(0);
    m.checkInvariants('emptied');
  });

  it('defers freeing a zspage whose pages cannot all be locked', () => {
    const m = zsMachine(cfg);
    const pool = zs_create_pool(m, 'p');
    const cls = pool.size_class[get_size_class_index(208)]!;
    const h = zs_malloc(m, pool, 200);
    const pages = zspagePagesOf(m, h);
    // Someone (the migration core, say) holds the second page's lock.
    expect(folio_trylock(m, pages[1]! as Folio)).toBe(true);
    zs_free(m, pool, h);
    expect(zs_get_total_pages(m, pool)).toBe(3);
    expect(cls.stats[ZS_INUSE_RATIO_0]).toBe(1);
    expect(pool.free_work_pending).toBe(true);
    // trylock_zspage unlocked the page it had locked before failing.
    expect(m.memmap.flags[pages[0]!]! & (1 << PG.locked)).toBe(0);
    // The worker cannot lock the page either: the zspage stays queued.
    expect(async_free_zspage(m, pool)).toBe(0);
    expect(pool.free_work_pending).toBe(true);
    // An allocation of that class may reuse the empty zspage meanwhile (find_get_zspage searches down to 0%).
    const again = zs_malloc(m, pool, 200);
    expect(zspagePagesOf(m, again)).toEqual(pages);
    zs_free(m, pool, again);
    folio_unlock(m, pages[1]! as Folio);
    expect(async_free_zspage(m, pool)).toBe(1);
    expect(pool.free_work_pending).toBe(false);
    expect(zs_get_total_pages(m, pool)).toBe(0);
    for (const p of pages) expect(m.memmap.mapcount[p]).toBe(-1);
  });

  it('zs_destroy_pool flushes the deferred-free work, or refuses while a page is locked', () => {
    const m = zsMachine(cfg);
    const pool = zs_create_pool(m, 'p');
    const h = zs_malloc(m, pool, 200);
    const pages = zspagePagesOf(m, h);
    folio_trylock(m, pages[0]! as Folio);
    zs_free(m, pool, h);
    expect(() => zs_destroy_pool(m, pool)).toThrow(/locked page/);
    expect(pool.destroyed).toBe(false);
    folio_unlock(m, pages[0]! as Folio);
    const free = freePages(m);
    zs_destroy_pool(m, pool);
    expect(pool.destroyed).toBe(true);
    expect(freePages(m)).toBe(free + 3);
    for (const p of pages) expect(m.memmap.mapcount[p]).toBe(-1);
  });

  it('keeps pools apart and reports pages_compacted through zs_pool_stats', () => {
    const m = zsMachine(cfg);
    const a = zs_create_pool(m, 'a');
    const b = zs_create_pool(m, 'b');
    const ha = zs_malloc(m, a, 100);
    const hb = zs_malloc(m, b, 100);
    expect(ha).not.toBe(hb);
    expect(zs_get_total_pages(m, a)).toBe(zs_get_total_pages(m, b));
    writeObj(m, a, ha, 100, 1);
    writeObj(m, b, hb, 100, 2);
    expect(readObj(m, a, ha, 100)).toEqual(pattern(1, 100));
    const stats = { pages_compacted: 5 };
    zs_pool_stats(m, a, stats);
    expect(stats.pages_compacted).toBe(5);
    zs_free(m, a, ha);
    zs_free(m, b, hb);
  });
});

describe('sticky PageZsmalloc (series 2)', () => {
  it.each([true, false])('stickyPageTypes %s: who clears the type of a freed zspage page', (sticky) => {
    const m = zsMachine({ stickyPageTypes: sticky });
    const pool = zs_create_pool(m, 'p');
    const h = zs_malloc(m, pool, 500);
    const [p] = zspagePagesOf(m, h);
    // Watch the page at the moment zsmalloc drops its reference: the allocator's free path runs then.
    let typeAtFree: number | null = null;
    m.trace.on('mm_page_free', (e) => {
      if (e.pfn === p) typeAtFree = m.memmap.mapcount[p]! >>> 24;
    });
    zs_free(m, pool, h);
    // v6.17: the page still says PGTY_zsmalloc when the allocator frees it; before, zsmalloc cleared it first.
    expect(typeAtFree).toBe(sticky ? PGTY.zsmalloc : 0xff);
    expect(m.memmap.mapcount[p!]).toBe(-1);
    expect(m.nrBadPages).toBe(0);
  });
});
