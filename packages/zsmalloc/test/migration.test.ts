import {
  GFP,
  NR_ZONE,
  PG,
  PageMovableOpsIsolated,
  PageZsmalloc,
  ZONE,
  get_page,
  isolate_movable_ops_page,
  migrate_movable_ops_page,
  MIGRATE_MODE,
  alloc_page,
  folio_put,
  page_has_movable_ops,
  page_zonenum,
  putback_movable_ops_page,
  put_page,
  type Folio,
  type Machine,
  type Pfn,
} from '@mm/core';
import { describe, expect, it } from 'vitest';
import {
  zsPageMigrateContended,
  zs_compact,
  zs_create_pool,
  zs_free,
  zs_get_total_pages,
  zs_malloc,
  zs_obj_read_begin,
  zs_obj_read_end,
  zsmallocState,
} from '../src/index.js';
import { CONFIGS, migrateOnce, pageOfHandle, pattern, readObj, writeObj, zsMachine, zspagePagesOf } from './helpers.js';

const zoneZspages = (m: Machine, zid: number): number => m.zones.find((z) => z.zid === zid)!.vmstat[NR_ZONE.nr_zspages]!;

describe.each(CONFIGS)('zsmalloc_mops (%o)', (cfg) => {
  it('migrates every page of a zspage; handles stay, locations and bytes move', () => {
    const m = zsMachine(cfg);
    const pool = zs_create_pool(m, 'p');
    const st = zsmallocState(m);
    // 59 objects of class 208 fill one 3-page zspage; some cross page boundaries.
    const hs = Array.from({ length: 59 }, () => zs_malloc(m, pool, 200));
    hs.forEach((h, i) => writeObj(m, pool, h, 200, 77 + i));
    const old = zspagePagesOf(m, hs[0]!);
    const offsets = old.map((p) => m.memmap.mapcount[p]! & 0xffffff);
    const moved: number[] = [];
    for (const src of old) {
      const before = hs.filter((h) => pageOfHandle(m, h) === src);
      const { rc, dst } = migrateOnce(m, src);
      expect(rc).toBe(0);
      moved.push(dst);
      // Every object that started in src now starts in dst; the handles did not change.
      for (const h of before) expect(pageOfHandle(m, h)).toBe(dst);
      // The old page went back to the allocator; PageZsmalloc died with it.
      expect(m.memmap.refcount[src]).toBe(0);
      expect(m.memmap.mapcount[src]).toBe(-1);
      expect(m.memmap.flags[src]! & ((1 << PG.movable_ops) | (1 << PG.movable_ops_isolated) | (1 << PG.private))).toBe(0);
      expect(m.memmap.refcount[dst]).toBe(1);
      expect(page_has_movable_ops(m, dst as Pfn)).toBe(true);
    }
    const now = zspagePagesOf(m, hs[0]!);
    expect(now).toEqual(moved);
    expect(now.map((p) => m.memmap.mapcount[p]! & 0xffffff)).toEqual(offsets);
    expect(m.memmap.flags[now[0]!]! & (1 << PG.private)).not.toBe(0);
    expect(st.zspages.first[m.memmap.private[now[0]!]! >>> 2]).toBe(now[0]);
    expect(zs_get_total_pages(m, pool)).toBe(3);
    hs.forEach((h, i) => expect(readObj(m, pool, h, 200)).toEqual(pattern(77 + i, 200)));
    for (const h of hs) zs_free(m, pool, h);
    expect(m.nrBadPages).toBe(0);
  });

  it('moves NR_ZSPAGES when the new page is in another zone', () => {
    const m = zsMachine(cfg);
    const pool = zs_create_pool(m, 'p');
    const h = zs_malloc(m, pool, 3000);
    writeObj(m, pool, h, 3000, 5);
    const [src] = zspagePagesOf(m, h);
    // A 32 MiB machine has DMA (first 16 MiB) and DMA32; zs_malloc's movable gfp prefers DMA32.
    expect(page_zonenum(m, src! as Pfn)).toBe(ZONE.DMA32);
    const before = [zoneZspages(m, ZONE.DMA), zoneZspages(m, ZONE.DMA32)];
    const { rc, dst } = migrateOnce(m, src!, GFP.__GFP_DMA);
    expect(rc).toBe(0);
    expect(page_zonenum(m, dst as Pfn)).toBe(ZONE.DMA);
    expect([zoneZspages(m, ZONE.DMA), zoneZspages(m, ZONE.DMA32)]).toEqual([before[0]! + 1, before[1]! - 1]);
    expect(readObj(m, pool, h, 3000)).toEqual(pattern(5, 3000));
    zs_free(m, pool, h);
  });

  it('migrates a huge zspage with its handle word', () => {
    const m = zsMachine(cfg);
    const pool = zs_create_pool(m, 'p');
    const h = zs_malloc(m, pool, 4000);
    writeObj(m, pool, h, 4000, 9);
    const [src] = zspagePagesOf(m, h);
    expect(m.memmap.index[src!]).toBe(h | 1);
    const { rc, dst } = migrateOnce(m, src!);
    expect(rc).toBe(0);
    expect(m.memmap.index[dst]).toBe(h | 1);
    expect(pageOfHandle(m, h)).toBe(dst);
    expect(readObj(m, pool, h, 4000)).toEqual(pattern(9, 4000));
    zs_free(m, pool, h);
  });

  it('fails with -EINVAL while an object is open for reading, and succeeds on retry', () => {
    const m = zsMachine(cfg);
    const pool = zs_create_pool(m, 'p');
    const h = zs_malloc(m, pool, 1000);
    const other = zs_malloc(m, pool, 1000);
    writeObj(m, pool, h, 1000, 3);
    writeObj(m, pool, other, 1000, 4);
    const src = pageOfHandle(m, other);
    const view = zs_obj_read_begin(m, pool, h, 1000);
    expect(view).toEqual(pattern(3, 1000));
    const first = migrateOnce(m, src);
    expect(first.rc).toBe(zsPageMigrateContended);
    expect(first.rc).toBe(-22);
    // Still isolated, still holding the isolation reference; the destination was released.
    expect(PageMovableOpsIsolated(m, src as Pfn)).toBe(true);
    expect(m.memmap.refcount[src]).toBe(2);
    expect(m.memmap.refcount[first.dst]).toBe(0);
    expect(pageOfHandle(m, other)).toBe(src);
    // The open view still shows the object: nothing moved.
    expect(view).toEqual(pattern(3, 1000));
    zs_obj_read_end(m, pool, h, 1000);
    const second = migrateOnce(m, src);
    expect(second.rc).toBe(0);
    expect(pageOfHandle(m, other)).toBe(second.dst);
    expect(readObj(m, pool, other, 1000)).toEqual(pattern(4, 1000));
    expect(readObj(m, pool, h, 1000)).toEqual(pattern(3, 1000));
    zs_free(m, pool, h);
    zs_free(m, pool, other);
  });

  it('an isolated page can be put back unchanged', () => {
    const m = zsMachine(cfg);
    const pool = zs_create_pool(m, 'p');
    const h = zs_malloc(m, pool, 700);
    const src = pageOfHandle(m, h) as Pfn;
    expect(isolate_movable_ops_page(m, src, 0)).toBe(true);
    // Isolated at most once at a time (§13 §9.1).
    expect(isolate_movable_ops_page(m, src, 0)).toBe(false);
    putback_movable_ops_page(m, src);
    expect(PageMovableOpsIsolated(m, src)).toBe(false);
    expect(m.memmap.refcount[src]).toBe(1);
    expect(pageOfHandle(m, h)).toBe(src);
    zs_free(m, pool, h);
  });
});

describe.each(CONFIGS.filter((c) => c.stickyPageTypes))('a zspage freed while one of its pages is isolated (%o)', (cfg) => {
  it('keeps PageZsmalloc on the isolated page; migration then succeeds trivially', () => {
    const m = zsMachine(cfg);
    const pool = zs_create_pool(m, 'p');
    const h = zs_malloc(m, pool, 200);
    const pages = zspagePagesOf(m, h);
    const p = pages[1]! as Pfn;
    expect(isolate_movable_ops_page(m, p, 0)).toBe(true);
    zs_free(m, pool, h);
    // The zspage is gone (the isolated page was not locked, so trylock_zspage succeeded)...
    expect(zs_get_total_pages(m, pool)).toBe(0);
    expect(m.zones.reduce((n, z) => n + z.vmstat[NR_ZONE.nr_zspages]!, 0)).toBe(0);
    expect(m.memmap.refcount[pages[0]!]).toBe(0);
    // ...but the isolated page lives on with the migration core's reference, still identifiable.
    expect(m.memmap.refcount[p]).toBe(1);
    expect(m.memmap.private[p]).toBe(0);
    expect(PageZsmalloc(m, p)).toBe(true);
    expect(page_has_movable_ops(m, p)).toBe(true);
    expect(PageMovableOpsIsolated(m, p)).toBe(true);
    const dst = alloc_page(m, GFP.__GFP_MOVABLE);
    expect(migrate_movable_ops_page(m, dst as Pfn, p, MIGRATE_MODE.MIGRATE_SYNC)).toBe(0);
    // zsmalloc took no reference on dst: the core's put frees it, and src with it.
    expect(m.memmap.refcount[dst]).toBe(1);
    folio_put(m, dst as Folio);
    folio_put(m, p as Folio);
    expect(m.memmap.refcount[p]).toBe(0);
    expect(m.memmap.mapcount[p]).toBe(-1);
    expect(m.nrBadPages).toBe(0);
  });

  it('the putback path frees it too', () => {
    const m = zsMachine(cfg);
    const pool = zs_create_pool(m, 'p');
    const h = zs_malloc(m, pool, 200);
    const p = zspagePagesOf(m, h)[2]! as Pfn;
    expect(isolate_movable_ops_page(m, p, 0)).toBe(true);
    zs_free(m, pool, h);
    putback_movable_ops_page(m, p);
    expect(m.memmap.refcount[p]).toBe(0);
    expect(m.memmap.mapcount[p]).toBe(-1);
  });

  it('isolation of such a page is refused by zsmalloc', () => {
    const m = zsMachine(cfg);
    const pool = zs_create_pool(m, 'p');
    const h = zs_malloc(m, pool, 4096);
    const p = pageOfHandle(m, h) as Pfn;
    // A PFN walker holds a speculative reference while the zspage is freed.
    get_page(m, p);
    zs_free(m, pool, h);
    expect(page_has_movable_ops(m, p)).toBe(true);
    expect(isolate_movable_ops_page(m, p, 0)).toBe(false);
    expect(m.memmap.refcount[p]).toBe(1);
    put_page(m, p);
    expect(m.memmap.mapcount[p]).toBe(-1);
  });
});

describe('without sticky page types (before v6.17)', () => {
  it('the owner cannot be identified once zsmalloc has released the isolated page', () => {
    const m = zsMachine({ stickyPageTypes: false });
    const pool = zs_create_pool(m, 'p');
    const h = zs_malloc(m, pool, 200);
    const p = zspagePagesOf(m, h)[1]! as Pfn;
    expect(isolate_movable_ops_page(m, p, 0)).toBe(true);
    zs_free(m, pool, h);
    // zsmalloc cleared PageZsmalloc itself: page_has_movable_ops() no longer finds zsmalloc_mops,
    // which is why series 2 made the type sticky until the page is freed.
    expect(PageZsmalloc(m, p)).toBe(false);
    expect(page_has_movable_ops(m, p)).toBe(false);
    expect(m.memmap.refcount[p]).toBe(1);
  });
});

describe('compaction and readers', () => {
  it('zs_compact skips a zspage whose lock a reader holds', () => {
    const m = zsMachine();
    const pool = zs_create_pool(m, 'p');
    // Two zspages of class 208, each left with one object: compaction would free one of them.
    const hs = Array.from({ length: 118 }, () => zs_malloc(m, pool, 200));
    const keep = [hs[0]!, hs[117]!];
    for (const h of hs) if (!keep.includes(h)) zs_free(m, pool, h);
    expect(zs_get_total_pages(m, pool)).toBe(6);
    for (const k of keep) zs_obj_read_begin(m, pool, k, 200);
    expect(zs_compact(m, pool)).toBe(0);
    expect(zs_get_total_pages(m, pool)).toBe(6);
    for (const k of keep) zs_obj_read_end(m, pool, k, 200);
    expect(zs_compact(m, pool)).toBe(3);
    expect(zs_get_total_pages(m, pool)).toBe(3);
    expect(pool.stats.pages_compacted).toBe(3);
  });
});
