import { PG, ProcfsContributor, VmBugError, type Machine } from '@mm/core';
import { describe, expect, it } from 'vitest';
import { ZsmallocProcfs, zs_create_pool, zs_malloc, zs_stats_size_show, zsmallocState, type ZsPool } from '../src/index.js';
import { pageOfHandle, zsMachine, zspagePagesOf } from './helpers.js';

function populated(): { m: Machine; pool: ZsPool; hs: number[] } {
  const m = zsMachine();
  const pool = zs_create_pool(m, 'p');
  const hs = [zs_malloc(m, pool, 200), zs_malloc(m, pool, 200), zs_malloc(m, pool, 4000)];
  m.checkInvariants('populated');
  return { m, pool, hs };
}

function violates(m: Machine, invariant: string): void {
  let err: unknown;
  try {
    m.checkInvariants('corrupted');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(VmBugError);
  expect((err as VmBugError).invariant).toBe(invariant);
}

describe('the §13 §8 checker catches broken states', () => {
  it('§8.1: PG_private on a page other than the first', () => {
    const { m, hs } = populated();
    m.memmap.flags[zspagePagesOf(m, hs[0]!)[1]!]! |= 1 << PG.private;
    violates(m, '§8.1 PG_private');
  });

  it('§8.1: a zspage page without PageZsmalloc', () => {
    const { m, hs } = populated();
    m.memmap.mapcount[zspagePagesOf(m, hs[0]!)[2]!] = -1;
    violates(m, '§8.1 PageZsmalloc');
  });

  it('§8.2: a zspage filed under the wrong fullness group', () => {
    const { m, hs } = populated();
    const st = zsmallocState(m);
    st.zspages.inuse[m.memmap.private[pageOfHandle(m, hs[0]!)]! >>> 2]! += 40;
    violates(m, '§8.2 fullness group');
  });

  it('§8.3: a handle that does not resolve to its object', () => {
    const { m, hs } = populated();
    const st = zsmallocState(m);
    st.handles.obj[hs[1]! >>> 2]! += 1;
    violates(m, '§8.3 handle');
  });

  it('§8.4: pages_allocated out of step with the zspages', () => {
    const { m, pool } = populated();
    pool.pages_allocated += 1;
    violates(m, '§8.4 pages_allocated');
  });
});

describe('debugfs through ProcfsContributor', () => {
  it('contributes zsmalloc/<pool>/classes for each pool name once', () => {
    const m = zsMachine();
    const a = zs_create_pool(m, 'zram0');
    const dup = zs_create_pool(m, 'zram0');
    const b = zs_create_pool(m, 'zswap1');
    zs_malloc(m, dup, 100);
    const mine = m.container.resolveAll<ProcfsContributor>(ProcfsContributor).find((c) => c instanceof ZsmallocProcfs)!;
    const files = mine.files!(m);
    expect(Object.keys(files).sort()).toEqual(['sys/kernel/debug/zsmalloc/zram0/classes', 'sys/kernel/debug/zsmalloc/zswap1/classes']);
    // The second "zram0" gets no directory (debugfs_create_dir fails; zsmalloc only warns).
    expect(files['sys/kernel/debug/zsmalloc/zram0/classes']).toBe(zs_stats_size_show(m, a));
    expect(files['sys/kernel/debug/zsmalloc/zswap1/classes']).toBe(zs_stats_size_show(m, b));
  });
});
