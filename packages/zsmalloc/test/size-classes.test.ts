import { PAGE_SIZE, PG } from '@mm/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  OBJ_INDEX_BITS,
  ZS_HANDLE_SIZE,
  ZS_MIN_ALLOC_SIZE,
  ZS_SIZE_CLASSES,
  ZS_SIZE_CLASS_DELTA,
  calculate_zspage_chain_size,
  get_size_class_index,
  zs_create_pool,
  zs_free,
  zs_huge_class_size,
  zs_lookup_class_index,
  zs_malloc,
  zsPoolClassStats,
  zs_stats_size_show,
  zsmallocState,
} from '../src/index.js';
import { pageOfHandle, zsMachine, zspagePagesOf } from './helpers.js';

describe('size classes (4 KiB pages, x86-64)', () => {
  it('has the kernel constants', () => {
    // MAX_POSSIBLE_PHYSMEM_BITS 52 - PAGE_SHIFT 12 = 40 PFN bits; 64 - 40 = 24 index bits.
    expect(OBJ_INDEX_BITS).toBe(24);
    // MAX(32, 8 << 12 >> 24) = 32.
    expect(ZS_MIN_ALLOC_SIZE).toBe(32);
    // PAGE_SIZE >> CLASS_BITS(8).
    expect(ZS_SIZE_CLASS_DELTA).toBe(16);
    // DIV_ROUND_UP(4096 - 32, 16) + 1.
    expect(ZS_SIZE_CLASSES).toBe(255);
  });

  it('chooses the chain length with the least waste', () => {
    // Sergey Senozhatsky's "zsmalloc: rework zspage chain size selection": class 208 wastes
    // 144 bytes with 1 page, 80 with 2, 16 with 3; 3 is the minimum up to 8 pages.
    expect(calculate_zspage_chain_size(208, 8)).toBe(3);
    for (let s = 32; s <= PAGE_SIZE; s *= 2) expect(calculate_zspage_chain_size(s, 8)).toBe(1);
    // 3632 = 4096 - 464: 8 pages hold 9 objects and waste 80 bytes (32768 - 9 * 3632).
    expect(calculate_zspage_chain_size(3632, 8)).toBe(8);
  });

  it('builds 255 classes, merges equal neighbours and finds huge_class_size', () => {
    const m = zsMachine();
    const pool = zs_create_pool(m, 'zram0');
    for (let i = 0; i < ZS_SIZE_CLASSES; i++) {
      const c = pool.size_class[i]!;
      expect(c.index).toBeGreaterThanOrEqual(i);
      expect(pool.size_class[c.index]).toBe(c);
      if (c.index === i) {
        expect(c.size).toBe(Math.min(32 + 16 * i, PAGE_SIZE));
        expect(c.pages_per_zspage).toBe(calculate_zspage_chain_size(c.size, 8));
        expect(c.objs_per_zspage).toBe(Math.floor((c.pages_per_zspage * PAGE_SIZE) / c.size));
      } else {
        // A merged class chains as many pages and holds as many objects as the record it shares.
        const own = Math.min(32 + 16 * i, PAGE_SIZE);
        expect(calculate_zspage_chain_size(own, 8)).toBe(c.pages_per_zspage);
        expect(Math.floor((c.pages_per_zspage * PAGE_SIZE) / own)).toBe(c.objs_per_zspage);
      }
    }
    // Above 3632 bytes one page holds one object best, so classes 226..254 merge into class 254.
    expect(pool.size_class[225]!.index).toBe(225);
    expect(pool.size_class[225]!.pages_per_zspage).toBe(8);
    expect(pool.size_class[225]!.objs_per_zspage).toBe(9);
    for (let i = 226; i < 255; i++) expect(pool.size_class[i]).toBe(pool.size_class[254]);
    expect(pool.size_class[254]!.huge).toBe(true);
    // "zsmalloc: set default zspage chain size to 8": huge class watermark 3632 bytes; zsmalloc
    // subtracts ZS_HANDLE_SIZE - 1 because zs_malloc adds the handle before the lookup.
    expect(zs_huge_class_size(m, pool)).toBe(3632 - (ZS_HANDLE_SIZE - 1));
    // One debugfs row per distinct class.
    const distinct = new Set(pool.size_class).size;
    expect(zsPoolClassStats(m, pool).classes).toHaveLength(distinct);
    expect(zs_stats_size_show(m, pool).split('\n')).toHaveLength(1 + distinct + 3);
  });

  it('with CONFIG_ZSMALLOC_CHAIN_SIZE=4 the huge watermark is the old 3264 bytes', () => {
    const m = zsMachine({ chainSize: 4 });
    const pool = zs_create_pool(m, 'zram0');
    expect(zs_huge_class_size(m, pool)).toBe(3264 - 7);
  });

  it('zs_lookup_class_index takes the size as is; zs_malloc adds the handle first', () => {
    const m = zsMachine();
    const pool = zs_create_pool(m, 'p');
    expect(zs_lookup_class_index(m, pool, 0)).toBe(0);
    expect(zs_lookup_class_index(m, pool, 32)).toBe(0);
    expect(zs_lookup_class_index(m, pool, 33)).toBe(1);
    expect(zs_lookup_class_index(m, pool, 3632)).toBe(225);
    expect(zs_lookup_class_index(m, pool, 3633)).toBe(254);
    expect(zs_lookup_class_index(m, pool, 100000)).toBe(254);
    const huge = zs_huge_class_size(m, pool);
    const below = zs_malloc(m, pool, huge - 1);
    const at = zs_malloc(m, pool, huge);
    // huge - 1 + 8 = 3632: class 225, a zspage of 8 pages.
    expect(zspagePagesOf(m, below)).toHaveLength(8);
    // huge + 8 = 3633: the huge class, one object in one page whose index word keeps the handle.
    const hp = zspagePagesOf(m, at);
    expect(hp).toHaveLength(1);
    expect(m.memmap.index[hp[0]!]).toBe(at | 1);
    expect(m.memmap.flags[hp[0]!]! & (1 << PG.private)).not.toBe(0);
    zs_free(m, pool, below);
    zs_free(m, pool, at);
  });

  it('every size lands in a class that fits it with its header (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: PAGE_SIZE }), (size) => {
        const idx = get_size_class_index(size + ZS_HANDLE_SIZE);
        const classSize = Math.min(32 + 16 * idx, PAGE_SIZE);
        // Non-huge objects keep their 8-byte header in the object; a huge object owns the page.
        return classSize >= size + ZS_HANDLE_SIZE || classSize === PAGE_SIZE;
      }),
      { seed: 8, numRuns: 2000 },
    );
  });

  it('places objects where the class geometry says (first_obj_offset per page)', () => {
    const m = zsMachine();
    const pool = zs_create_pool(m, 'p');
    const st = zsmallocState(m);
    // 200 + 8 header bytes = 208: class 11 (32 + 11 * 16), 3 pages, 59 objects (12288 / 208).
    const h = zs_malloc(m, pool, 200);
    const cls = pool.size_class[get_size_class_index(208)]!;
    expect([cls.index, cls.size, cls.pages_per_zspage, cls.objs_per_zspage]).toEqual([11, 208, 3, 59]);
    const pages = zspagePagesOf(m, h);
    expect(pages).toHaveLength(3);
    expect(pageOfHandle(m, h)).toBe(pages[0]);
    // Page k's first object starts at the first multiple of the class size at or after k * 4096.
    pages.forEach((p, k) => {
      const first = Math.ceil((k * PAGE_SIZE) / cls.size) * cls.size - k * PAGE_SIZE;
      expect(m.memmap.mapcount[p]! & 0xffffff).toBe(first);
    });
    expect(st.zspages.inuse[m.memmap.private[pages[0]!]! >>> 2]).toBe(1);
    zs_free(m, pool, h);
  });
});
