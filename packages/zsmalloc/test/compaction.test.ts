import { NR_ZONE, folio_trylock, folio_unlock, type Folio, type Machine } from '@mm/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ZS_SIZE_CLASSES,
  async_free_zspage,
  zs_can_compact,
  zs_compact,
  zs_create_pool,
  zs_free,
  zs_get_total_pages,
  zs_malloc,
  zsPoolClassStats,
  zs_stats_size_show,
  zsmallocState,
  type ZsPool,
} from '../src/index.js';
import { CONFIGS, migrateOnce, pattern, readObj, writeObj, zsMachine, zspagePagesOf } from './helpers.js';

const N = 3000;
// Seeded object sizes (1..4096 bytes, half of them small, as compressed pages tend to be) and contents.
const SIZES = fc.sample(fc.oneof(fc.integer({ min: 1, max: 600 }), fc.integer({ min: 1, max: 4096 })), { seed: 20250704, numRuns: N });
const SEEDS = fc.sample(fc.integer({ min: 1, max: 0x7fffffff }), { seed: 6, numRuns: N });
const FREE = fc.sample(fc.boolean(), { seed: 17, numRuns: N });

function totals(m: Machine, pool: ZsPool): void {
  const s = zsPoolClassStats(m, pool);
  let pages = 0;
  let used = 0;
  for (const c of s.classes) {
    pages += c.pages_used;
    used += c.obj_used;
  }
  // The pool's totals are the sums over its classes, and NR_ZSPAGES counts the same pages.
  expect(zs_get_total_pages(m, pool)).toBe(pages);
  expect(s.total.pages_used).toBe(pages);
  expect(s.total.obj_used).toBe(used);
  expect(m.zones.reduce((n, z) => n + z.vmstat[NR_ZONE.nr_zspages]!, 0)).toBe(pages);
}

/** Indices of live objects whose bytes differ from what was written. */
function corrupted(m: Machine, pool: ZsPool, hs: number[], live: number[]): number[] {
  return live.filter((i) => Buffer.compare(readObj(m, pool, hs[i]!, SIZES[i]!), pattern(SEEDS[i]!, SIZES[i]!)) !== 0);
}

describe.each(CONFIGS)('compaction and migration of a populated pool (%o)', (cfg) => {
  it('keeps every surviving object byte for byte', () => {
    // Thousands of calls: invariants are checked at each phase boundary rather than after every call.
    const m = zsMachine({ ...cfg, memory: '64M', debugVm: false });
    const pool = zs_create_pool(m, 'zram0');
    const hs = SIZES.map((size) => zs_malloc(m, pool, size));
    expect(hs.every((h) => h > 0)).toBe(true);
    hs.forEach((h, i) => writeObj(m, pool, h, SIZES[i]!, SEEDS[i]!));
    totals(m, pool);
    m.checkInvariants('filled');

    const live: number[] = [];
    hs.forEach((h, i) => (FREE[i] ? zs_free(m, pool, h) : live.push(i)));
    expect(live.length).toBeGreaterThan(N / 3);
    totals(m, pool);
    m.checkInvariants('half freed');

    const before = zs_get_total_pages(m, pool);
    const freeable = zsPoolClassStats(m, pool).total.freeable;
    expect(freeable).toBeGreaterThan(0);
    const freed = zs_compact(m, pool);
    // Compaction stops only when no class has a zspage's worth of free slots left, i.e. when each
    // class is down to ceil(used / objs_per_zspage) zspages: it frees exactly what was freeable.
    expect(freed).toBe(freeable);
    expect(zs_get_total_pages(m, pool)).toBe(before - freed);
    expect(pool.stats.pages_compacted).toBe(freed);
    for (let i = 0; i < ZS_SIZE_CLASSES; i++) expect(zs_can_compact(pool.size_class[i]!)).toBe(0);
    expect(zs_compact(m, pool)).toBe(0);
    totals(m, pool);
    m.checkInvariants('compacted');
    expect(corrupted(m, pool, hs, live)).toEqual([]);

    // Now migrate every page of every zspage through the migration core.
    const st = zsmallocState(m);
    const pages: number[] = [];
    for (let p = 0; p < m.memmap.nrPages; p++) if (m.memmap.private[p] !== 0 && st.contents.has(p)) pages.push(p);
    expect(pages).toHaveLength(zs_get_total_pages(m, pool));
    const moves = pages.map((p) => migrateOnce(m, p));
    expect(moves.filter((r) => r.rc !== 0)).toEqual([]);
    // Each page went to its own destination, and the zspages are now made of exactly those pages.
    const now: number[] = [];
    for (let p = 0; p < m.memmap.nrPages; p++) if (m.memmap.private[p] !== 0 && st.contents.has(p)) now.push(p);
    expect(now).toEqual(moves.map((r) => r.dst).sort((a, b) => a - b));
    expect(zs_get_total_pages(m, pool)).toBe(before - freed);
    totals(m, pool);
    m.checkInvariants('migrated');
    expect(corrupted(m, pool, hs, live)).toEqual([]);

    for (const i of live) zs_free(m, pool, hs[i]!);
    expect(zs_get_total_pages(m, pool)).toBe(0);
    expect(m.nrBadPages).toBe(0);
    m.checkInvariants('emptied');
  });
});

describe('compaction details', () => {
  it('counts a source zspage whose freeing is deferred, as the kernel does', () => {
    const m = zsMachine();
    const pool = zs_create_pool(m, 'p');
    const hs = Array.from({ length: 118 }, () => zs_malloc(m, pool, 200));
    // Keep 2 objects in the first zspage (the source: emptiest) and 40 in the second (destination).
    hs.forEach((h, i) => {
      if (!(i < 2 || (i >= 59 && i < 99))) zs_free(m, pool, h);
    });
    // Someone else holds the lock of a page of the source zspage.
    const srcPage = zspagePagesOf(m, hs[0]!)[1]! as Folio;
    expect(folio_trylock(m, srcPage)).toBe(true);
    expect(zs_compact(m, pool)).toBe(3);
    // The emptied source waits on the 0% list for the deferred-free work.
    expect(zs_get_total_pages(m, pool)).toBe(6);
    expect(pool.free_work_pending).toBe(true);
    // The two objects now live in the destination zspage.
    expect(zspagePagesOf(m, hs[0]!)).toEqual(zspagePagesOf(m, hs[59]!));
    folio_unlock(m, srcPage);
    expect(async_free_zspage(m, pool)).toBe(1);
    expect(zs_get_total_pages(m, pool)).toBe(3);
  });

  it('prints zsmalloc/<pool>/classes as the kernel does', () => {
    const m = zsMachine();
    const pool = zs_create_pool(m, 'zram0');
    const hs = Array.from({ length: 60 }, () => zs_malloc(m, pool, 200));
    zs_free(m, pool, hs[0]!);
    const text = zs_stats_size_show(m, pool);
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      ' class  size       10%       20%       30%       40%       50%       60%       70%       80%       90%       99%      100% obj_allocated   obj_used pages_used pages_per_zspage freeable',
    );
    // Class 11 (208 bytes): one zspage at 58/59 (99% group), one at 1/59 (10% group).
    expect(lines.find((l) => l.startsWith('    11   208 '))).toBe(
      '    11   208         1         0         0         0         0         0         0         0         0         1         0           118         59          6                3        3',
    );
    expect(lines.at(-3)).toBe('');
    expect(lines.at(-2)).toBe(
      ' Total               1         0         0         0         0         0         0         0         0         1         0           118         59          6                         3',
    );
    expect(lines.at(-1)).toBe('');
  });
});
