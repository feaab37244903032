import { VM_EVENT, compact_memory, type Machine } from '@mm/core';
import { describe, expect, it } from 'vitest';
import { zs_create_pool, zs_free, zs_get_total_pages, zs_malloc, zs_obj_read_begin, zs_obj_read_end, type ZsPool } from '../src/index.js';
import { CONFIGS, pageOfHandle, pattern, readObj, writeObj, zsMachine } from './helpers.js';

const SIZES = [4096, 3000, 1500, 700];

/**
 * Fill the machine with objects until zs_malloc fails, then free every other one: the zones are
 * left with single free pages between zspage pages, which is what the compaction free scanner
 * takes (it leaves wholly free pageblocks alone).
 */
function fragmented(m: Machine, pool: ZsPool): number[] {
  const hs: number[] = [];
  for (let i = 0; ; i++) {
    const h = zs_malloc(m, pool, SIZES[i % 4]!);
    if (h < 0) break;
    hs.push(h);
  }
  hs.forEach((h, i) => (i % 2 ? zs_free(m, pool, h) : writeObj(m, pool, h, SIZES[i % 4]!, i + 1)));
  return hs.map((h, i) => (i % 2 ? -1 : h));
}

// Both page-type rules: the model's migrate_folio_done() keeps what the unmap step saw (movable_ops,
// not LRU), so NR_ISOLATED_* stays right even when zsmalloc clears PageZsmalloc before the free.
describe.each(CONFIGS)('core compaction migrates zsmalloc pages (%o)', (cfg) => {
  it('compact_memory moves zspage pages through zsmalloc_mops; objects keep their bytes', () => {
    const m = zsMachine({ ...cfg, debugVm: false });
    const pool = zs_create_pool(m, 'zram0');
    const hs = fragmented(m, pool);
    const live = hs.flatMap((h, i) => (h > 0 ? [i] : []));
    const where = live.map((i) => pageOfHandle(m, hs[i]!));
    const pages = zs_get_total_pages(m, pool);
    m.checkInvariants('fragmented');
    // Keep one object open: its zspage cannot be migrated (zs_page_migrate returns -EINVAL).
    const held = hs[live[0]!]!;
    zs_obj_read_begin(m, pool, held, SIZES[0]!);
    const success = m.vmEvents[VM_EVENT.pgmigrate_success]!;
    expect(compact_memory(m)).toBe(0);
    expect(m.vmEvents[VM_EVENT.pgmigrate_success]! - success).toBeGreaterThan(0);
    expect(m.vmEvents[VM_EVENT.pgmigrate_fail]).toBeGreaterThan(0);
    expect(pageOfHandle(m, held)).toBe(where[0]);
    zs_obj_read_end(m, pool, held, SIZES[0]!);
    const moved = live.filter((i, k) => pageOfHandle(m, hs[i]!) !== where[k]);
    expect(moved.length).toBeGreaterThan(0);
    // Migration moves pages, it does not free them: the pool is as large as before.
    expect(zs_get_total_pages(m, pool)).toBe(pages);
    m.checkInvariants('compacted');
    expect(live.filter((i) => Buffer.compare(readObj(m, pool, hs[i]!, SIZES[i % 4]!), pattern(i + 1, SIZES[i % 4]!)) !== 0)).toEqual([]);
    for (const i of live) zs_free(m, pool, hs[i]!);
    expect(zs_get_total_pages(m, pool)).toBe(0);
    expect(m.nrBadPages).toBe(0);
    m.checkInvariants('emptied');
  });
});
